// The researcher console in tests: a project as Rust describes it, and the console page opened on
// it with the commands every test needs answered.
import { render } from "@testing-library/svelte";
import type { DepartureInbox } from "../lib/bindings/DepartureInbox";
import type { ProjectView } from "../lib/bindings/ProjectView";
import { projectConsole } from "../lib/console.svelte";
import ProjectPage from "../pages/ProjectPage.svelte";
import { answerCommands, captureEvents, NOW } from "./tauri";

type Handler = (args: Record<string, unknown> | undefined) => unknown;

export function projectView(overrides: Partial<ProjectView> = {}): ProjectView {
  return {
    id: 7,
    name: "Sleep study",
    slug: "sleep-study",
    id_label: "direct-sharing-7",
    authorized_members: 3,
    contact_email: "lab@example.org",
    token_expires_at: NOW + 24 * 3600,
    token_in_keyring: false,
    download_folder: "/home/r/Downloads/Datalinks/sleep-study",
    ...overrides,
  };
}

/** An inbox with no entries and the receiver off, with no secret saved. */
export function emptyInbox(): DepartureInbox {
  return {
    entries: [],
    receiver: { settings: { address: "127.0.0.1", port: 8765 }, has_secret: false, listening_at: null },
  };
}

/** The console page with a project already open (as after a restart with a kept token). */
export function renderOpenProject(handlers: Record<string, Handler>, project = projectView()): void {
  captureEvents();
  answerCommands({
    current_project: () => project,
    project_members: () => ({ members: [], sources: [] }),
    departures: () => emptyInbox(),
    close_project: () => null,
    ...handlers,
  });
  render(ProjectPage);
}

/** Closes whatever project a test left open, so the next one starts from none. */
export async function closeProject(): Promise<void> {
  answerCommands({ close_project: () => null });
  await projectConsole.close(false);
}
