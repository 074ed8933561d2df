import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { DownloadSummary } from "../lib/bindings/DownloadSummary";
import { answerCommands, callsOf, captureEvents, connectionView, emit, memberOverview } from "../test/tauri";
import MemberView from "./MemberView.svelte";

const SUMMARY: DownloadSummary = {
  folder: "/home/alice/Downloads/Datalinks/12345678",
  downloaded: 4,
  skipped: 0,
  failed: [],
  cancelled: 0,
  bytes_written: 4_000,
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
    await waitFor(() => expect(callsOf("download_files")).toEqual([{ fileIds: [] }]));

    emit("download-progress", { run: "member", files_total: 4, files_done: 1, bytes_done: 1000, current: [] });
    await waitFor(() => expect(screen.getByTestId("download-progress").dataset.done).toBe("1"));
    expect((downloadAll as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(screen.getByTestId("cancel-download"));
    expect(callsOf("cancel_downloads")).toHaveLength(1);

    emit("download-progress", { run: "member", files_total: 4, files_done: 4, bytes_done: 4000, current: [] });
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
    await waitFor(() => expect(callsOf("download_files")).toEqual([{ fileIds: [1, 2, 3] }]));
    run.finish(SUMMARY);
    await screen.findByTestId("download-summary");

    await fireEvent.click(within(groups[1]).getByTestId("download-file"));
    await waitFor(() => expect(callsOf("download_files")).toHaveLength(2));
    expect(callsOf("download_files")[1]).toEqual({ fileIds: [1] });
  });
});
