// Test doubles for the Tauri bridge: commands answered by handlers, events emitted by hand.
import { invoke } from "@tauri-apps/api/core";
import { listen, type Event, type EventCallback } from "@tauri-apps/api/event";
import { vi } from "vitest";
import defaults from "./settings-defaults.json";
import type { AppError } from "../lib/api";
import type { ConnectionState } from "../lib/bindings/ConnectionState";
import type { ConnectionView } from "../lib/bindings/ConnectionView";
import type { ConnectionsOverview } from "../lib/bindings/ConnectionsOverview";
import type { Provider } from "../lib/bindings/Provider";
import type { RegistrationDefaults } from "../lib/bindings/RegistrationDefaults";
import type { RegistrationSummary } from "../lib/bindings/RegistrationSummary";
import type { SignInState } from "../lib/bindings/SignInState";
import type { SignInView } from "../lib/bindings/SignInView";
import type { MemberFile } from "../lib/bindings/MemberFile";
import type { MemberOverview } from "../lib/bindings/MemberOverview";

type Handler = (args: Record<string, unknown> | undefined) => unknown;

export const invokeMock = vi.mocked(invoke);

/** Answers each command with its handler; an unknown command rejects like Rust would. */
export function answerCommands(handlers: Record<string, Handler>): void {
  invokeMock.mockImplementation(async (command: string, args?: unknown) => {
    const handler = handlers[command];
    if (!handler) throw { code: "internal", message: `unexpected command ${command}` };
    return handler(args as Record<string, unknown> | undefined);
  });
}

export function callsOf(command: string): unknown[] {
  return invokeMock.mock.calls.filter(([name]) => name === command).map(([, args]) => args);
}

const listeners = new Map<string, EventCallback<unknown>[]>();

/** Records `listen` subscriptions so `emit` can deliver to them. */
export function captureEvents(): void {
  listeners.clear();
  vi.mocked(listen).mockImplementation(async (event, handler) => {
    const list = listeners.get(event) ?? [];
    list.push(handler as EventCallback<unknown>);
    listeners.set(event, list);
    return () => {
      listeners.set(event, (listeners.get(event) ?? []).filter((existing) => existing !== handler));
    };
  });
}

export function emit(event: string, payload: unknown): void {
  for (const handler of listeners.get(event) ?? []) {
    handler({ event, id: 1, payload } as Event<unknown>);
  }
}

/** Delivers `update` on the progress channel passed with the latest call of `command`. */
export function sendProgress(command: string, update: unknown, channel = "onProgress"): void {
  const calls = callsOf(command) as Record<string, { onmessage: (update: unknown) => void }>[];
  const latest = calls.at(-1);
  if (!latest) throw new Error(`${command} was not called`);
  latest[channel].onmessage(update);
}

/** The arguments of each call of `command`, without its progress channel. */
export function argsOf(command: string, channel = "onProgress"): unknown[] {
  return callsOf(command).map((args) => {
    const { [channel]: _channel, ...rest } = args as Record<string, unknown>;
    return rest;
  });
}

export const NOW = Math.floor(Date.now() / 1000);

export const SECRET_LOCATION = "OS keyring (Secret Service)";

/** The person's own registration of `provider` (id 1 unless overridden). */
export function registration(overrides: Partial<RegistrationSummary> = {}): RegistrationSummary {
  return {
    id: 1,
    provider: "openhumans",
    server: "https://www.openhumans.org",
    client_id: "abc123",
    sandbox: false,
    retired: false,
    ...overrides,
  };
}

/** The built-in sandbox's registration of `provider`. */
export function sandboxRegistration(provider: Provider = "openhumans", id = 2): RegistrationSummary {
  return registration({ id, provider, server: "built-in sandbox", client_id: "sandbox-client", sandbox: true });
}

export function signInView(
  registrationSummary: RegistrationSummary = registration(),
  state: SignInState = { kind: "ready" },
  lastError: AppError | null = null,
): SignInView {
  return { registration: registrationSummary, state, last_error: lastError };
}

export function connectionView(state: ConnectionState, overrides: Partial<ConnectionView> = {}): ConnectionView {
  const provider = overrides.provider ?? overrides.registration?.provider ?? "openhumans";
  return {
    id: 1,
    provider,
    registration: registration({ provider }),
    account: { account_id: "12345678", username: "alice", connected_at: NOW - 3600 },
    credential: "o_auth",
    state,
    token_expires_at: state.kind === "connected" ? NOW + 36000 : null,
    last_error: null,
    ...overrides,
  };
}

type Entries = Partial<Record<Provider, { sign_ins?: SignInView[]; connections?: ConnectionView[] }>>;

let lastRevision = 0;

/**
 * An overview with every provider, in the order Rust lists them; those not given are not set up.
 * Each is numbered after the one before, as Rust numbers them.
 */
export function overview(entries: Entries = {}): ConnectionsOverview {
  const providers: Provider[] = ["openhumans", "opencollective", "humanapi"];
  lastRevision += 1;
  return {
    revision: lastRevision,
    providers: providers.map((provider) => ({
      provider,
      sign_ins: entries[provider]?.sign_ins ?? [],
      connections: entries[provider]?.connections ?? [],
    })),
    secret_location: SECRET_LOCATION,
  };
}

export function memberFiles(count: number, source: string): MemberFile[] {
  return Array.from({ length: count }, (_, index) => ({
    id: index + 1,
    basename: `${source}-file-${index + 1}.json`,
    created: "2024-05-01T10:00:00Z",
    description: index === 0 ? "First export" : null,
    tags: index === 0 ? ["steps", "daily"] : [],
  }));
}

export function memberOverview(groups: Record<string, number>): MemberOverview {
  const fileGroups = Object.entries(groups).map(([source, count]) => ({
    source,
    files: memberFiles(count, source),
  }));
  return {
    project_member_id: "12345678",
    username: "alice",
    created: "2024-01-02T03:04:05Z",
    sources_shared: Object.keys(groups),
    file_count: fileGroups.reduce((sum, group) => sum + group.files.length, 0),
    groups: fileGroups,
  };
}

/**
 * What Rust sends as a provider's first-setup defaults (`ProviderSettingsView.defaults`); a Rust
 * test checks the file against the service's defaults.
 */
export function settingsDefaults(provider: Provider): RegistrationDefaults {
  return (defaults as Record<Provider, RegistrationDefaults>)[provider];
}
