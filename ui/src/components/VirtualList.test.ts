import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { memberFiles } from "../test/tauri";
import FileGroupSection from "./FileGroupSection.svelte";

const ROWS = 5000;

function renderedIds(): number[] {
  return screen.getAllByTestId("file-row").map((row) => Number(row.dataset.fileId));
}

describe("virtualized file list", () => {
  it("renders only a window of rows for 5,000 files, starting at the first", () => {
    render(FileGroupSection, { group: { source: "fitbit", files: memberFiles(ROWS, "fitbit") }, downloading: false, onDownload: () => {} });
    const ids = renderedIds();
    expect(ids[0]).toBe(1);
    expect(ids.length).toBeGreaterThan(5);
    expect(ids.length).toBeLessThan(40);
    expect(screen.getByTestId("file-group").textContent).toMatch(/5000 files/);
  });

  it("moves the window when scrolled, so every row stays reachable", async () => {
    render(FileGroupSection, { group: { source: "fitbit", files: memberFiles(ROWS, "fitbit") }, downloading: false, onDownload: () => {} });
    const viewport = within(screen.getByTestId("file-group")).getByRole("region");
    viewport.scrollTop = 56 * 2500;
    await fireEvent.scroll(viewport);
    const ids = renderedIds();
    expect(ids).toContain(2501);
    expect(ids).not.toContain(1);
    expect(ids.length).toBeLessThan(40);

    viewport.scrollTop = 56 * ROWS;
    await fireEvent.scroll(viewport);
    expect(renderedIds()).toContain(ROWS);
  });

  it("lists small groups without virtualization", () => {
    render(FileGroupSection, { group: { source: "fitbit", files: memberFiles(30, "fitbit") }, downloading: false, onDownload: () => {} });
    expect(renderedIds()).toHaveLength(30);
    expect(screen.queryByRole("region")).toBeNull();
  });
});
