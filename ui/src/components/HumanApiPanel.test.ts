import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import type { HapiActivity } from "../lib/bindings/HapiActivity";
import type { HapiPage } from "../lib/bindings/HapiPage";
import { answerCommands, callsOf } from "../test/tauri";
import HumanApiPanel from "./HumanApiPanel.svelte";

const FITBIT = { id: "5c2e8b4d1f0a9e7c6b5a4d32", name: "Fitbit" };

function activities(offset: number, count: number, total: number): HapiPage<HapiActivity> {
  const items = Array.from({ length: count }, (_, i) => ({
    id: `a${offset + i}`,
    source: "fitbit",
    date: `2024-12-${String(31 - offset - i).padStart(2, "0")}`,
    steps: 8000 + offset + i,
    distance: 5600,
    calories: 2000,
  }));
  const next = offset + count < total ? offset + count : null;
  return { offset, total, items, next_offset: next };
}

function setUp(profileFails = false) {
  answerCommands({
    hapi_connected_sources: () => [FITBIT],
    hapi_profile: () => {
      if (profileFails) throw { code: "reconnect_needed", message: "No source is connected." };
      return { human_id: "0123456789abcdef01234567", email: "ada@example.org", created_at: "2024-01-02T00:00:00Z", updated_at: "2024-01-02T00:00:00Z" };
    },
    hapi_sources: () => [
      {
        ...FITBIT,
        source: "fitbit",
        connected_since: "2024-11-01T10:00:00Z",
        history_sync: "completed",
        oldest_date: "2024-10-01",
        sync_status: "completed",
        sync_details: "Sync completed",
        synched_at: "2024-11-01T10:05:00Z",
        newest_date: "2024-12-31",
      },
      {
        id: "5d3f9c5e2a1b0f8d7c6b5e43",
        name: "Withings",
        source: "withings",
        connected_since: "2024-12-30T10:00:00Z",
        history_sync: "pending",
        oldest_date: null,
        sync_status: "pending",
        sync_details: "Sync in progress",
        synched_at: null,
        newest_date: null,
      },
    ],
    hapi_reports: (args) =>
      args?.offset === 0
        ? {
            offset: 0,
            total: 2,
            next_offset: 1,
            items: [{ id: "r1", name: "Health summary", kind: "unity", sources: ["Fitbit"], created_at: "2024-12-01T00:00:00Z" }],
          }
        : {
            offset: 1,
            total: 2,
            next_offset: null,
            items: [{ id: "r2", name: "Checkup", kind: "healthcheck", sources: ["Fitbit"], created_at: "2024-12-02T00:00:00Z" }],
          },
    hapi_activities: (args) => (args?.offset === 0 ? activities(0, 2, 3) : activities(2, 1, 3)),
    hapi_save_report_pdf: (args) => (args?.reportId === "r1" ? { path: "/home/ada/summary.pdf", bytes: 2048 } : null),
  });
  const onOpenConnect = vi.fn();
  render(HumanApiPanel, { connection: 6, onOpenConnect, busy: false });
  return onOpenConnect;
}

describe("human api panel", () => {
  it("lists linked sources, the profile and each source's sync status", async () => {
    const onOpenConnect = setUp();
    expect(await screen.findByTestId("hapi-linked-source")).toHaveProperty("textContent", "Fitbit");
    expect((await screen.findByTestId("hapi-profile")).textContent).toMatch(/0123456789abcdef01234567/);
    const rows = await screen.findAllByTestId("hapi-source-row");
    expect(rows.map((row) => row.dataset.sync)).toEqual(["completed", "pending"]);
    expect(rows[1].textContent).toMatch(/Withings: pending \(Sync in progress\)/);
    // The list follows the Data API once it answers.
    await waitFor(() => expect(screen.getAllByTestId("hapi-linked-source")).toHaveLength(2));
    await fireEvent.click(screen.getByTestId("hapi-open-connect"));
    expect(onOpenConnect).toHaveBeenCalledOnce();
  });

  it("saves a report as PDF where the save dialog says, and says nothing when it is cancelled", async () => {
    setUp();
    const [first] = await screen.findAllByTestId("hapi-report-row");
    await fireEvent.click(within(first).getByTestId("hapi-save-pdf"));
    expect(callsOf("hapi_save_report_pdf")).toEqual([{ connection: 6, reportId: "r1" }]);
    expect((await within(first).findByRole("status")).textContent).toBe("Saved 2048 bytes to /home/ada/summary.pdf.");

    await fireEvent.click(screen.getByTestId("hapi-reports-more"));
    await waitFor(() => expect(screen.getAllByTestId("hapi-report-row")).toHaveLength(2));
    expect(callsOf("hapi_reports")).toEqual([{ connection: 6, offset: 0 }, { connection: 6, offset: 1 }]);
    expect(screen.queryByTestId("hapi-reports-more")).toBeNull();
    const second = screen.getAllByTestId("hapi-report-row")[1];
    await fireEvent.click(within(second).getByTestId("hapi-save-pdf"));
    await waitFor(() => expect(callsOf("hapi_save_report_pdf")).toHaveLength(2));
    expect(within(second).queryByRole("status")).toBeNull();
    expect((within(second).getByTestId("hapi-save-pdf") as HTMLButtonElement).disabled).toBe(false);
  });

  it("pages through the wellness list on demand until the total is reached", async () => {
    setUp();
    await waitFor(() => expect(screen.getAllByTestId("hapi-wellness-row")).toHaveLength(2));
    expect(screen.getByTestId("hapi-panel").textContent).toMatch(/2 of 3/);
    await fireEvent.click(screen.getByTestId("hapi-load-more"));
    expect(callsOf("hapi_activities")).toEqual([{ connection: 6, offset: 0 }, { connection: 6, offset: 2 }]);
    await waitFor(() => expect(screen.getAllByTestId("hapi-wellness-row")).toHaveLength(3));
    expect(screen.queryByTestId("hapi-load-more")).toBeNull();
  });

  it("without data access it shows the linked sources and asks for nothing more", async () => {
    setUp(true);
    expect(await screen.findByTestId("hapi-linked-source")).toBeTruthy();
    await waitFor(() => expect(callsOf("hapi_profile")).toEqual([{ connection: 6 }]));
    expect(callsOf("hapi_sources")).toHaveLength(0);
    expect(screen.queryByTestId("hapi-profile")).toBeNull();
  });
});
