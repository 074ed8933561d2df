import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { DownloadSummary } from "../lib/bindings/DownloadSummary";
import type { MemberOverview } from "../lib/bindings/MemberOverview";
import { answerCommands, argsOf, callsOf, captureEvents, connectionView, memberOverview, sendProgress } from "../test/tauri";
import MemberView from "./MemberView.svelte";

const SUMMARY: DownloadSummary = {
  folder: "/home/alice/Downloads/Datalinks/12345678",
  planned: 4,
  downloaded: 4,
  skipped_identical: 0,
  skipped_too_large: 0,
  failed: [],
  unfinished: 0,
  bytes: 4_000,
  seconds: 0.5,
  cancelled: false,
};

function setUp() {
  captureEvents();
  let finish: (summary: DownloadSummary) => void = () => {};
  answerCommands({
    member_overview: () => memberOverview({ fitbit: 3, oura: 1 }),
    download_files: () => new Promise<DownloadSummary>((resolve) => (finish = resolve)),
    cancel_downloads: () => true,
  });
  render(MemberView, { view: connectionView({ kind: "connected" }) });
  return { finish: (summary: DownloadSummary) => finish(summary) };
}

describe("member view downloads", () => {
  it("Download all shows live progress, offers Cancel, then the summary", async () => {
    const run = setUp();
    const downloadAll = await screen.findByTestId("download-all");
    await waitFor(() => expect((downloadAll as HTMLButtonElement).disabled).toBe(false));
    await fireEvent.click(downloadAll);
    await waitFor(() => expect(argsOf("download_files")).toEqual([{ connection: 1, fileIds: [] }]));

    sendProgress("download_files", { files_total: 4, files_done: 1, bytes_done: 1000, current: [] });
    await waitFor(() => expect(screen.getByTestId("download-progress").dataset.done).toBe("1"));
    expect((downloadAll as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(screen.getByTestId("cancel-download"));
    expect(callsOf("cancel_downloads")).toHaveLength(1);

    sendProgress("download_files", { files_total: 4, files_done: 4, bytes_done: 4000, current: [] });
    run.finish(SUMMARY);
    const summary = await screen.findByTestId("download-summary");
    expect(summary.dataset).toMatchObject({ downloaded: "4", skipped: "0", failed: "0" });
    expect(screen.getByTestId("download-progress").dataset.done).toBe("4");
    expect(screen.queryByTestId("cancel-download")).toBeNull();
    expect((downloadAll as HTMLButtonElement).disabled).toBe(false);
  });

  it("downloads one source's files, or a single file", async () => {
    const run = setUp();
    const groups = await screen.findAllByTestId("file-group");
    await fireEvent.click(within(groups[0]).getByTestId("download-group"));
    await waitFor(() => expect(argsOf("download_files")).toEqual([{ connection: 1, fileIds: [1, 2, 3] }]));
    run.finish(SUMMARY);
    await screen.findByTestId("download-summary");

    await fireEvent.click(within(groups[1]).getByTestId("download-file"));
    await waitFor(() => expect(callsOf("download_files")).toHaveLength(2));
    expect(argsOf("download_files")[1]).toEqual({ connection: 1, fileIds: [1] });
  });
});

/** Three files this project uploaded (two named alike) and two from a shared source. */
function ownAndSharedOverview(): MemberOverview {
  const overview = memberOverview({ "direct-sharing-1": 3, fitbit: 2 });
  overview.sources_shared = ["fitbit"];
  overview.groups[0].files[1].basename = overview.groups[0].files[0].basename;
  return overview;
}

function setUpDeletion() {
  captureEvents();
  let overview = ownAndSharedOverview();
  answerCommands({
    member_overview: () => overview,
    delete_files: (args) => {
      const target = (args as { target: { kind: string } }).target;
      overview = memberOverview({ fitbit: 2 });
      return target.kind === "file_id" ? [1] : [1, 2, 3];
    },
  });
  render(MemberView, { view: connectionView({ kind: "connected" }) });
}

describe("member view deletion", () => {
  it("offers deletion only for the project's own files, and asks before deleting one", async () => {
    setUpDeletion();
    const groups = await screen.findAllByTestId("file-group");
    expect(within(groups[1]).queryByTestId("delete-file")).toBeNull();
    const own = within(groups[0]).getAllByTestId("delete-file");
    expect(own).toHaveLength(3);
    expect(within(groups[0]).getAllByTestId("delete-basename")).toHaveLength(2);

    await fireEvent.click(own[0]);
    expect(screen.getByTestId("delete-confirm").textContent).toContain("direct-sharing-1-file-1.json (file 1)");
    await fireEvent.click(screen.getByTestId("cancel-delete"));
    expect(screen.queryByTestId("delete-confirm")).toBeNull();
    expect(callsOf("delete_files")).toEqual([]);

    await fireEvent.click(own[0]);
    await fireEvent.click(screen.getByTestId("confirm-delete"));
    await waitFor(() => expect(callsOf("delete_files")).toEqual([{ connection: 1, target: { kind: "file_id", file_id: 1 } }]));
    expect((await screen.findByTestId("delete-result")).textContent).toBe("Deleted 1 file.");
    await waitFor(() => expect(screen.getAllByTestId("file-group")).toHaveLength(1));
    expect(callsOf("member_overview")).toHaveLength(2);
  });

  it("deletes by name or all of the member's files after confirming", async () => {
    setUpDeletion();
    const groups = await screen.findAllByTestId("file-group");
    await fireEvent.click(within(groups[0]).getAllByTestId("delete-basename")[0]);
    expect(screen.getByTestId("delete-confirm").textContent).toContain(
      "all 2 files named direct-sharing-1-file-1.json",
    );
    await fireEvent.click(screen.getByTestId("cancel-delete"));

    await fireEvent.click(screen.getByTestId("delete-all"));
    expect(screen.getByTestId("delete-confirm").textContent).toContain("all 3 files you uploaded");
    expect(callsOf("delete_files")).toEqual([]);
    await fireEvent.click(screen.getByTestId("confirm-delete"));
    await waitFor(() => expect(callsOf("delete_files")).toEqual([{ connection: 1, target: { kind: "all_files" } }]));
    expect((await screen.findByTestId("delete-result")).textContent).toBe("Deleted 3 files.");
    await waitFor(() => expect((screen.getByTestId("delete-all") as HTMLButtonElement).disabled).toBe(true));
  });
});
