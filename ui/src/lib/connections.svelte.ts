import { api } from "./api";
import type { ConnectionView } from "./bindings/ConnectionView";

let views = $state<ConnectionView[]>([]);
let loaded = $state(false);

export const connections = {
  get views(): readonly ConnectionView[] {
    return views;
  },
  get loaded(): boolean {
    return loaded;
  },
  get anySandbox(): boolean {
    return views.some((view) => view.sandbox);
  },
  async load(): Promise<void> {
    views = await api.listConnections();
    loaded = true;
  },
  /** Applies a fresh view from a command result or a "connection-changed" event. */
  upsert(view: ConnectionView): void {
    const index = views.findIndex((existing) => existing.provider === view.provider);
    if (index >= 0) views[index] = view;
    else views.push(view);
  },
  reset(): void {
    views = [];
    loaded = false;
  },
};
