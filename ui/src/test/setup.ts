import { beforeEach, vi } from "vitest";
import { connections } from "../lib/connections.svelte";
import { notices } from "../lib/notices.svelte";

vi.mock("@tauri-apps/api/core", () => ({ invoke: vi.fn() }));
vi.mock("@tauri-apps/api/event", () => ({ listen: vi.fn() }));
vi.mock("@tauri-apps/plugin-clipboard-manager", () => ({ writeText: vi.fn() }));

beforeEach(() => {
  vi.clearAllMocks();
  connections.reset();
  notices.clear();
});
