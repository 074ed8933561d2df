import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { ProjectMembers } from "../lib/bindings/ProjectMembers";
import type { ProjectView } from "../lib/bindings/ProjectView";
import { projectConsole } from "../lib/console.svelte";
import { projectView } from "../test/console";
import { answerCommands, argsOf, callsOf, captureEvents, NOW, sendProgress } from "../test/tauri";
import ProjectPage from "./ProjectPage.svelte";

const TOKEN = "A1b2".repeat(16);

const PROJECT: ProjectView = projectView();

function members(count: number): ProjectMembers {
  return {
    members: Array.from({ length: count }, (_, index) => ({
      project_member_id: String(10000000 + index),
      username: index % 2 === 0 ? `member${index}` : null,
      created: `2026-01-${String((index % 28) + 1).padStart(2, "0")}T10:00:00Z`,
      sources_shared: index % 3 === 0 ? ["fitbit", "oura"] : ["fitbit"],
      file_count: index % 5,
    })),
    sources: ["fitbit", "oura"],
  };
}

function setUp(handlers: Record<string, (args: Record<string, unknown> | undefined) => unknown> = {}) {
  captureEvents();
  answerCommands({
    current_project: () => null,
    open_project: () => PROJECT,
    project_members: () => members(3),
    close_project: () => null,
    ...handlers,
  });
  render(ProjectPage);
}

async function openProject() {
  await fireEvent.input(await screen.findByTestId("master-token"), { target: { value: ` ${TOKEN}\n` } });
  await fireEvent.click(screen.getByTestId("open-project"));
  await screen.findByTestId("project-name");
}

afterEach(async () => {
  answerCommands({ close_project: () => null });
  await projectConsole.close(false);
});

describe("researcher console", () => {
  it("shows Rust's refusal of a malformed token under the field, then opens the project and lists members", async () => {
    setUp({
      open_project: (args) => {
        // As Rust answers: it trims the token and checks its shape.
        if (!/^[A-Za-z0-9]{64}$/.test(String(args?.masterToken).trim())) {
          throw { code: "invalid_input", message: "That is not a master access token: it has 64 letters and digits." };
        }
        return PROJECT;
      },
    });
    await fireEvent.input(await screen.findByTestId("master-token"), { target: { value: "too-short" } });
    await fireEvent.click(screen.getByTestId("open-project"));
    expect((await screen.findByText(/64 letters and digits/)).id).toBe("master-token-error");

    await openProject();
    expect(callsOf("open_project")).toEqual([
      { masterToken: "too-short", remember: false },
      { masterToken: ` ${TOKEN}`, remember: false },
    ]);
    expect(screen.getByTestId("project-name").textContent).toBe("Sleep study");
    expect(screen.getByTestId("token-storage").textContent).toMatch(/this session only/);
    const remaining = Number(screen.getByTestId("token-countdown").dataset.remaining);
    expect(remaining).toBeGreaterThan(24 * 3600 - 5);
    await waitFor(() => expect(screen.getAllByTestId("project-member-row")).toHaveLength(3));
  });

  it("opens the sandbox's project with no token pasted", async () => {
    setUp({ open_sandbox_project: () => ({ ...PROJECT, name: "Datalinks Sandbox Project" }) });
    await fireEvent.click(await screen.findByTestId("open-sandbox-project"));
    expect((await screen.findByTestId("project-name")).textContent).toBe("Datalinks Sandbox Project");
    expect(callsOf("open_sandbox_project")).toEqual([undefined]);
    expect(callsOf("open_project")).toEqual([]);
  });

  it("closes a project whose token expired once, however long closing takes", async () => {
    setUp({
      open_project: () => ({ ...PROJECT, token_expires_at: NOW - 1 }),
      close_project: () => new Promise((resolve) => setTimeout(() => resolve(null), 2500)),
    });
    await fireEvent.input(await screen.findByTestId("master-token"), { target: { value: TOKEN } });
    await fireEvent.click(screen.getByTestId("open-project"));
    expect(await screen.findByText(/has expired: paste a fresh one/, undefined, { timeout: 5000 })).toBeTruthy();
    expect(callsOf("close_project")).toEqual([{ forget: false }]);
  });

  it("shows the first page and listing progress while members load", async () => {
    let finish: (listed: ProjectMembers) => void = () => {};
    setUp({ project_members: () => new Promise<ProjectMembers>((resolve) => (finish = resolve)) });
    await openProject();
    const loading = await screen.findByTestId("members-loading");
    const all = members(250);
    sendProgress("project_members", { members_listed: 100, members_total: 250, page: all.members.slice(0, 100) }, "onPage");
    await waitFor(() => expect(loading.dataset.listed).toBe("100"));
    expect(loading.dataset.total).toBe("250");
    // The first page is on screen before the list is complete.
    await waitFor(() => expect(screen.getByTestId("member-count-shown").dataset.count).toBe("100"));
    finish(all);
    await waitFor(() => expect(screen.queryByTestId("members-loading")).toBeNull());
    expect(screen.getByTestId("member-count-shown").dataset.count).toBe("250");
  });

  it("renders only a window of a 10,000-member list, and search narrows it", async () => {
    setUp({ project_members: () => members(10_000) });
    await openProject();
    await waitFor(() => expect(screen.getByTestId("member-count-shown").dataset.count).toBe("10000"));
    expect(screen.getAllByTestId("project-member-row").length).toBeLessThan(40);
    await fireEvent.input(screen.getByTestId("member-search"), { target: { value: "10009999" } });
    await waitFor(() => expect(screen.getAllByTestId("project-member-row")).toHaveLength(1));
  });

  it("a listing that fails is reported once, not retried in a loop; Refresh tries again", async () => {
    setUp({
      project_members: () => {
        throw { code: "unreachable", message: "Open Humans could not be reached." };
      },
    });
    await openProject();
    await waitFor(() => expect(callsOf("project_members")).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(callsOf("project_members")).toHaveLength(1);
    await fireEvent.click(screen.getByTestId("refresh-members"));
    await waitFor(() => expect(callsOf("project_members")).toHaveLength(2));
  });

  it("a refused token returns to the token form with the reason", async () => {
    setUp({
      project_members: () => {
        throw { code: "reconnect_needed", message: "Open Humans refused the master token (Expired token.)." };
      },
    });
    await openProject();
    const reason = await screen.findByTestId("project-closed-reason");
    expect(reason.textContent).toMatch(/Expired token/);
    expect(screen.getByTestId("master-token-form")).toBeTruthy();
  });

  it("a message is previewed before it can be sent, and sends exactly what was previewed", async () => {
    setUp({
      preview_message: (args) => {
        const request = (args as { request: { body: string; recipients: string[] | null } }).request;
        return {
          recipient_count: request.recipients?.length ?? 3,
          example_member: "10000000",
          rendered: request.body.replace("{{ PROJECT_MEMBER_ID }}", "10000000"),
        };
      },
      send_message: () => 1,
    });
    await openProject();
    await waitFor(() => expect(screen.getAllByTestId("member-select")).toHaveLength(3));
    await fireEvent.click(screen.getAllByTestId("member-select")[0]);
    await fireEvent.click(screen.getByTestId("project-tab-message"));
    await fireEvent.click(screen.getByTestId("message-to-selected"));
    await fireEvent.input(screen.getByTestId("message-subject"), { target: { value: "Hello" } });
    await fireEvent.input(screen.getByTestId("message-body"), { target: { value: "Hi {{ PROJECT_MEMBER_ID }}" } });
    await fireEvent.click(screen.getByTestId("message-preview-button"));

    expect((await screen.findByTestId("message-recipient-count")).textContent).toBe("1");
    expect(screen.getByTestId("message-rendered").textContent).toBe("Hi 10000000");
    await fireEvent.input(screen.getByTestId("message-body"), { target: { value: "Changed" } });
    expect((screen.getByTestId("message-send") as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.input(screen.getByTestId("message-body"), { target: { value: "Hi {{ PROJECT_MEMBER_ID }}" } });
    await fireEvent.click(screen.getByTestId("message-send"));

    expect(await screen.findByTestId("message-sent")).toBeTruthy();
    expect(callsOf("send_message")).toEqual([
      { request: { subject: "Hello", body: "Hi {{ PROJECT_MEMBER_ID }}", recipients: ["10000000"] } },
    ]);
  });

  it("a bulk download checks the lists, then shows project progress and the summary", async () => {
    let finish: (summary: unknown) => void = () => {};
    setUp({
      download_project_files: () => new Promise((resolve) => (finish = resolve)),
      read_member_list: () => ({ path: "/home/r/more.txt", ids: ["10000003", "10000004"] }),
      choose_path: () => ({ id: "pick-3", path: "/home/r/downloads" }),
    });
    await openProject();
    await fireEvent.click(await screen.findByTestId("project-tab-download"));
    await fireEvent.click(screen.getByTestId("bulk-who-list"));
    await fireEvent.input(screen.getByTestId("bulk-only"), { target: { value: "10000001, nope" } });
    await fireEvent.click(screen.getByTestId("bulk-start"));
    expect((await screen.findByTestId("bulk-problem")).textContent).toMatch(/nope/);
    expect(callsOf("download_project_files")).toEqual([]);

    await fireEvent.input(screen.getByTestId("bulk-only"), { target: { value: "10000001\n10000002" } });
    // A list file's ids are added to the list, where the researcher sees them.
    await fireEvent.click(screen.getByTestId("bulk-only-file"));
    expect((await screen.findByTestId("bulk-list-note")).textContent).toBe("Added 2 member IDs from /home/r/more.txt.");
    expect((screen.getByTestId("bulk-only") as HTMLTextAreaElement).value).toBe("10000001\n10000002\n10000003\n10000004");
    await fireEvent.click(screen.getByTestId("bulk-dest"));
    expect(await screen.findByText("/home/r/downloads")).toBeTruthy();
    await fireEvent.input(screen.getByTestId("bulk-max-size"), { target: { value: "128m" } });
    await fireEvent.click(screen.getByTestId("bulk-start"));
    await waitFor(() => expect(callsOf("download_project_files")).toHaveLength(1));
    expect(argsOf("download_project_files")[0]).toEqual({
      request: {
        only: ["10000001", "10000002", "10000003", "10000004"],
        exclude: [],
        source: null,
        project_data: false,
        max_size: "128m",
        id_prefix: false,
        concurrency: 8,
      },
      dest: "pick-3",
    });
    expect(callsOf("choose_path")).toEqual([{ purpose: "project_download_folder" }]);
    sendProgress("download_project_files", { files_total: 4, files_done: 1, bytes_done: 10, current: [] });
    await waitFor(() => expect(screen.getByTestId("download-progress").dataset.total).toBe("4"));
    finish({
      folder: PROJECT.download_folder,
      planned: 4,
      downloaded: 4,
      skipped_identical: 0,
      skipped_too_large: 1,
      failed: [],
      unfinished: 0,
      bytes: 4000,
      seconds: 1.5,
      cancelled: false,
    });
    const summary = await screen.findByTestId("bulk-summary");
    expect(summary.dataset.downloaded).toBe("4");
    expect(summary.textContent).toMatch(/4 downloaded \(4\.0 KB in 1\.5 s\), 0 already there and identical, 1 too large,\s+0 failed\./);
  });

  it("plots show members per source", async () => {
    setUp({
      project_stats: () => ({
        joined: [
          { date: "2026-01-01", members: 1 },
          { date: "2026-01-05", members: 3 },
        ],
        sources: [
          { source: "fitbit", members: 3, files: 6, files_on_disk: 0, bytes_on_disk: 0 },
          { source: "oura", members: 1, files: 1, files_on_disk: 0, bytes_on_disk: 0 },
        ],
        folder: PROJECT.download_folder,
      }),
    });
    await openProject();
    await fireEvent.click(await screen.findByTestId("project-tab-plots"));
    const joined = await screen.findByTestId("plot-joined");
    expect(joined.dataset.total).toBe("3");
    const bars = screen.getByTestId("plot-sources").querySelectorAll("[data-testid=plot-bar]");
    expect([...bars].map((bar) => `${bar.getAttribute("data-label")}=${bar.getAttribute("data-value")}`)).toEqual([
      "fitbit=3",
      "oura=1",
    ]);
  });
});
