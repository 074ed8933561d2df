import { fireEvent, screen, waitFor } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { Departure } from "../lib/bindings/Departure";
import type { DepartureInbox } from "../lib/bindings/DepartureInbox";
import { closeProject, renderOpenProject } from "../test/console";
import { callsOf, emit, NOW } from "../test/tauri";

function entry(overrides: Partial<Departure>): Departure {
  return {
    id: 1,
    project_member_id: "12345678",
    erasure_requested: false,
    source: "detected",
    occurred_at: null,
    noticed_at: NOW - 3600,
    handled_at: null,
    note: null,
    project_files_deleted: null,
    local_copies_deleted: null,
    ...overrides,
  };
}

function inbox(entries: Departure[], listening = false): DepartureInbox {
  return {
    entries,
    receiver: {
      settings: { address: "127.0.0.1", port: 8765 },
      has_secret: listening,
      listening_at: listening ? "http://127.0.0.1:8765/" : null,
    },
  };
}

const ERASURE = entry({
  id: 2,
  project_member_id: "87654321",
  erasure_requested: true,
  source: "webhook",
  occurred_at: "2026-12-04T10:00:00.000000+00:00",
  noticed_at: NOW - 60,
});

afterEach(closeProject);

describe("departures inbox", () => {
  it("keeps open erasure requests on top of the console, first in the list", async () => {
    renderOpenProject({ departures: () => inbox([entry({ id: 1 }), ERASURE]) });
    const banner = await screen.findByTestId("pending-erasures");
    expect(banner.textContent).toMatch(/1 member asked for their data to be erased/);
    expect(banner.textContent).toContain("87654321");

    await fireEvent.click(screen.getByTestId("open-departures"));
    const rows = await screen.findAllByTestId("departure-entry");
    expect(rows.map((row) => row.dataset.member)).toEqual(["87654321", "12345678"]);
    expect(rows[1].textContent).toMatch(/Detected by Datalinks/);
    expect(rows[1].textContent).toMatch(/whether they asked for erasure is unknown/);
  });

  it("deletes local copies after a confirmation, shows the receipt, and errors at the entry", async () => {
    renderOpenProject({
      departures: () => inbox([ERASURE]),
      delete_departed_member_local_copies: () => ({
        ...ERASURE,
        local_copies_deleted: {
          at: NOW,
          summary: "Deleted 2 files and the folder /d/87654321.",
          items: ["fitbit/a.json", "fitbit/b.json"],
          bytes: 2_500_000,
        },
      }),
      delete_departed_member_files: () => {
        throw { code: "not_found", message: "Open Humans no longer lets this project touch the files of member 87654321." };
      },
      mark_departure_handled: (args) => ({ ...ERASURE, handled_at: NOW, note: args?.note ?? null }),
    });
    await fireEvent.click(await screen.findByTestId("open-departures"));
    await fireEvent.click(await screen.findByTestId("departure-delete-copies"));
    expect(callsOf("delete_departed_member_local_copies")).toEqual([]);
    await fireEvent.click(screen.getByTestId("departure-confirm"));
    const receipt = await screen.findByTestId("departure-copies-receipt");
    expect(receipt.textContent).toMatch(/Deleted 2 files/);
    expect(receipt.textContent).toContain("2.5 MB");
    expect(callsOf("delete_departed_member_local_copies")).toEqual([{ id: 2 }]);

    await fireEvent.click(screen.getByTestId("departure-delete-files"));
    await fireEvent.click(screen.getByTestId("departure-confirm"));
    const error = await screen.findByTestId("departure-error");
    expect(error.textContent).toMatch(/no longer lets this project/);
    expect(error.dataset.code).toBe("not_found");

    await fireEvent.input(screen.getByTestId("departure-note"), { target: { value: " Erased. " } });
    await fireEvent.click(screen.getByTestId("departure-mark-handled"));
    expect(await screen.findByTestId("departure-handled")).toBeTruthy();
    expect(callsOf("mark_departure_handled")).toEqual([{ id: 2, note: "Erased." }]);
    await waitFor(() => expect(screen.queryByTestId("pending-erasures")).toBeNull());
  });

  it("reads the inbox again when Rust says it changed", async () => {
    let entries: Departure[] = [];
    renderOpenProject({ departures: () => inbox(entries) });
    await waitFor(() => expect(callsOf("departures").length).toBe(1));
    entries = [ERASURE];
    emit("departures-changed", null);
    expect(await screen.findByTestId("pending-erasures")).toBeTruthy();
  });

  it("sends the secret once, never shows it again, and starts the receiver", async () => {
    let view = inbox([]).receiver;
    renderOpenProject({
      departures: () => ({ ...inbox([]), receiver: view }),
      set_webhook_secret: () => (view = { ...view, has_secret: true }),
      start_webhook_receiver: (args) => {
        expect(args?.settings).toEqual({ address: "127.0.0.1", port: 9000 });
        return (view = { ...view, listening_at: "http://127.0.0.1:9000/" });
      },
    });
    await fireEvent.click(await screen.findByTestId("project-tab-departures"));
    const toggle = await screen.findByTestId("webhook-toggle");
    expect((toggle as HTMLButtonElement).disabled).toBe(true);
    const secret = screen.getByTestId("webhook-secret") as HTMLInputElement;
    await fireEvent.input(secret, { target: { value: "abcdefghijklmnop" } });
    await fireEvent.click(screen.getByTestId("webhook-secret-save"));
    expect(await screen.findByTestId("webhook-secret-saved")).toBeTruthy();
    expect(callsOf("set_webhook_secret")).toEqual([{ secret: "abcdefghijklmnop" }]);
    expect(secret.value).toBe("");

    await fireEvent.input(screen.getByTestId("webhook-port"), { target: { value: "9000" } });
    await fireEvent.click(screen.getByTestId("webhook-toggle"));
    expect((await screen.findByTestId("webhook-listening")).textContent).toContain("http://127.0.0.1:9000/");
  });
});
