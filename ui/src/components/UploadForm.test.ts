import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import type { UploadedFile } from "../lib/bindings/UploadedFile";
import { answerCommands, argsOf, callsOf, captureEvents, sendProgress } from "../test/tauri";
import UploadForm from "./UploadForm.svelte";

const UPLOADED: UploadedFile = { id: 901, basename: "steps.csv", size: 2048, md5: "5eb63bbbe01eeed093cb22bb8f5acdc3" };

function setUp() {
  captureEvents();
  let finish: (file: UploadedFile) => void = () => {};
  answerCommands({
    choose_path: (args) => (args?.purpose === "upload_file" ? { id: "pick-7", path: "/home/alice/steps.csv" } : null),
    upload_file: () => new Promise<UploadedFile>((resolve) => (finish = resolve)),
  });
  const onUploaded = vi.fn();
  render(UploadForm, { connection: 1, onUploaded });
  return { onUploaded, finish: (file: UploadedFile) => finish(file) };
}

async function fill(fields: { description?: string; tags?: string; date?: string }) {
  for (const [name, value] of Object.entries(fields)) {
    await fireEvent.input(screen.getByTestId(`upload-${name}`), { target: { value } });
  }
}

describe("upload form", () => {
  it("shows what is missing next to each field and sends nothing", async () => {
    setUp();
    await fill({ description: "  ", tags: " , ", date: "March 1st" });
    await fireEvent.click(screen.getByTestId("upload-submit"));

    expect(await screen.findByText("Choose the file to upload.")).toBeTruthy();
    expect(screen.getByText("Open Humans requires a description.")).toBeTruthy();
    expect(screen.getByText("Give at least one tag, such as steps or survey.")).toBeTruthy();
    expect(screen.getByText("Use an ISO 8601 date, such as 2024-03-01.")).toBeTruthy();
    expect(screen.getByTestId("upload-tags").getAttribute("aria-invalid")).toBe("true");
    expect(callsOf("upload_file")).toEqual([]);
  });

  it("uploads the file chosen in the system's dialog with a progress bar, then shows the new file", async () => {
    const run = setUp();
    await fireEvent.click(screen.getByTestId("upload-file"));
    expect(await screen.findByText("/home/alice/steps.csv")).toBeTruthy();
    expect(callsOf("choose_path")).toEqual([{ purpose: "upload_file" }]);
    await fill({ description: "Daily steps", tags: "steps, daily", date: "2024-03-01" });
    await fireEvent.click(screen.getByTestId("upload-submit"));
    await waitFor(() =>
      expect(argsOf("upload_file")).toEqual([
        {
          connection: 1,
          file: "pick-7",
          input: {
            description: "Daily steps",
            tags: ["steps", "daily"],
            creation_date: "2024-03-01",
            datatypes: [],
          },
        },
      ]),
    );
    expect((screen.getByTestId("upload-submit") as HTMLButtonElement).disabled).toBe(true);

    sendProgress("upload_file", { basename: "steps.csv", bytes_sent: 1024, total: 2048 });
    const bar = await screen.findByTestId("upload-progress");
    expect(bar.dataset).toMatchObject({ sent: "1024", total: "2048" });

    run.finish(UPLOADED);
    const result = await screen.findByTestId("upload-result");
    expect(result.dataset.fileId).toBe("901");
    expect(result.textContent).toContain("steps.csv");
    expect(run.onUploaded).toHaveBeenCalledWith(UPLOADED);
    expect(screen.queryByTestId("upload-progress")).toBeNull();
    expect(screen.getByTestId("upload-file-chosen").textContent?.trim()).toBe("No file chosen");
  });
});
