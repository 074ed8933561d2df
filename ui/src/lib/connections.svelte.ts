import { api } from "./api";
import type { ConnectionsOverview } from "./bindings/ConnectionsOverview";
import type { ProviderConnections } from "./bindings/ProviderConnections";
import type { Provider } from "./bindings/Provider";
import type { SignInTarget } from "./bindings/SignInTarget";
import { reportingFailures } from "./notices.svelte";

let overview = $state<ConnectionsOverview | null>(null);

/** Sign-ins and connections of every provider, as Rust last reported them. */
export const connections = {
  get loaded(): boolean {
    return overview !== null;
  },
  get providers(): readonly ProviderConnections[] {
    return overview?.providers ?? [];
  },
  get secretLocation(): string {
    return overview?.secret_location ?? "";
  },
  /** A sandbox registration takes sign-ins or holds a connection. */
  get anySandbox(): boolean {
    return this.providers.some(
      (entry) =>
        entry.sign_ins.some((signIn) => signIn.registration.sandbox) ||
        entry.connections.some((connection) => connection.registration.sandbox),
    );
  },
  /** Open Humans has no registration and no connection yet: the first-run offer shows. */
  get firstRun(): boolean {
    const openHumans = this.providers.find((entry) => entry.provider === "openhumans");
    return this.loaded && (!openHumans || (openHumans.sign_ins.length === 0 && openHumans.connections.length === 0));
  },
  async load(): Promise<void> {
    this.apply(await api.listConnections());
  },
  /**
   * Applies an overview from a command result or a "connections-changed" event, unless a newer
   * one is already shown: the two can arrive in either order.
   */
  apply(fresh: ConnectionsOverview): void {
    if (overview === null || fresh.revision >= overview.revision) overview = fresh;
  },
  reset(): void {
    overview = null;
  },
};

/**
 * Runs a command that answers with a fresh overview and applies it; a failure becomes a notice.
 * True when it succeeded.
 */
export async function updating(action: () => Promise<ConnectionsOverview>): Promise<boolean> {
  const fresh = await reportingFailures(action);
  if (fresh) connections.apply(fresh);
  return fresh !== undefined;
}

/** Signs in for `target`: the system browser, or for Human API its Connect window. */
export function signIn(provider: Provider, target: SignInTarget): Promise<boolean> {
  return updating(() => (provider === "humanapi" ? api.hapiOpenConnect(target) : api.connect(target)));
}
