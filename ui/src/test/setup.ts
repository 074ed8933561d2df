import { beforeEach, vi } from "vitest";
import { connections } from "../lib/connections.svelte";
import { notices } from "../lib/notices.svelte";

// A channel is what a command's progress comes back on; tests deliver to it with `sendProgress`.
vi.mock("@tauri-apps/api/core", () => ({
  invoke: vi.fn(),
  Channel: class {
    onmessage: (update: unknown) => void = () => {};
  },
}));
vi.mock("@tauri-apps/api/event", () => ({ listen: vi.fn() }));
vi.mock("@tauri-apps/plugin-clipboard-manager", () => ({ writeText: vi.fn() }));

beforeEach(() => {
  vi.clearAllMocks();
  connections.reset();
  notices.clear();
});
