// Test doubles for the Tauri bridge: commands answered by handlers, events emitted by hand.
import { invoke } from "@tauri-apps/api/core";
import { listen, type Event, type EventCallback } from "@tauri-apps/api/event";
import { vi } from "vitest";
import type { ConnectionState } from "../lib/bindings/ConnectionState";
import type { ConnectionView } from "../lib/bindings/ConnectionView";
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

export const NOW = Math.floor(Date.now() / 1000);

export function connectionView(state: ConnectionState, overrides: Partial<ConnectionView> = {}): ConnectionView {
  const hasAccount = ["connected", "reconnect_needed", "unreachable"].includes(state.kind);
  return {
    provider: "openhumans",
    state,
    sandbox: false,
    account: hasAccount ? { account_id: "12345678", username: "alice", connected_at: NOW - 3600 } : null,
    token_expires_at: state.kind === "connected" ? NOW + 36000 : null,
    secret_location: "OS keyring (Secret Service)",
    last_error: null,
    ...overrides,
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
