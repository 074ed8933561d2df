import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import type { DownloadProgress } from "../lib/bindings/DownloadProgress";
import type { DownloadSummary } from "../lib/bindings/DownloadSummary";
import DownloadPanel from "./DownloadPanel.svelte";

const PROGRESS: DownloadProgress = {
  files_total: 130,
  files_done: 41,
  bytes_done: 2_500_000,
  current: [
    { file_id: 7, source: "fitbit", basename: "steps.json", bytes: 1_000, total: 4_000 },
    { file_id: 8, source: "fitbit", basename: "sleep.json", bytes: 0, total: null },
  ],
};

const SUMMARY: DownloadSummary = {
  folder: "/home/alice/Downloads/Datalinks/12345678",
  planned: 130,
  downloaded: 127,
  skipped_identical: 2,
  skipped_too_large: 0,
  failed: [
    {
      project_member_id: "12345678",
      file_id: 9,
      path: "/home/alice/Downloads/Datalinks/12345678/fitbit/heart.csv",
      reason: "Open Humans answered HTTP 404.",
    },
  ],
  unfinished: 0,
  bytes: 3_400_000,
  seconds: 2,
  cancelled: false,
};

describe("download panel", () => {
  it("shows overall progress, the files in flight and Cancel while running", async () => {
    const onCancel = vi.fn();
    render(DownloadPanel, { progress: PROGRESS, summary: null, running: true, onCancel });
    const overall = screen.getByTestId("download-progress");
    expect(overall.dataset.done).toBe("41");
    expect(overall.dataset.total).toBe("130");
    expect(overall.textContent).toMatch(/41 of 130\s+files · 2\.5 MB/);
    const bar = within(overall).getByRole("progressbar") as HTMLProgressElement;
    expect([bar.value, bar.max]).toEqual([41, 130]);

    const current = screen.getAllByTestId("download-current");
    expect(current.map((row) => row.dataset.fileId)).toEqual(["7", "8"]);
    expect(current[0].textContent).toMatch(/steps\.json.*1\.0 KB.*of 4\.0 KB/s);
    expect(current[1].textContent).not.toMatch(/ of /);

    await fireEvent.click(screen.getByTestId("cancel-download"));
    expect(onCancel).toHaveBeenCalledOnce();
    expect(screen.queryByTestId("download-summary")).toBeNull();
  });

  it("shows the summary with counts, the folder and each failure's reason when done", () => {
    const done = { ...PROGRESS, files_done: 130, current: [] };
    render(DownloadPanel, { progress: done, summary: SUMMARY, running: false, onCancel: vi.fn() });
    expect(screen.queryByTestId("cancel-download")).toBeNull();
    expect(screen.queryAllByTestId("download-current")).toHaveLength(0);

    const summary = screen.getByTestId("download-summary");
    expect(summary.dataset).toMatchObject({ downloaded: "127", skipped: "2", failed: "1" });
    expect(summary.textContent).toMatch(/127 downloaded \(3\.4 MB in 2\.0 s\), 2 already there and identical,\s+1 failed\./);
    expect(summary.textContent).not.toMatch(/too large/);
    expect(within(summary).getByTestId("download-destination").textContent).toBe(SUMMARY.folder);
    expect(within(summary).getByTestId("download-failure").textContent).toMatch(/fitbit\/heart\.csv: Open Humans answered HTTP 404\./);
  });

  it("says how many files a cancelled run left for next time", () => {
    render(DownloadPanel, {
      progress: null,
      summary: { ...SUMMARY, failed: [], downloaded: 3, unfinished: 5, cancelled: true },
      running: false,
      onCancel: vi.fn(),
    });
    expect(screen.getByTestId("download-summary").textContent).toMatch(/5 not finished\s+\(cancelled; the next download resumes them\)/);
  });
});
