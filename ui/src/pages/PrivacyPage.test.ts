import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../lib/bindings/AuditEntry";
import type { ConsentLedger } from "../lib/bindings/ConsentLedger";
import type { LedgerEntry } from "../lib/bindings/LedgerEntry";
import { answerCommands, callsOf, connectionView, NOW, overview, SECRET_LOCATION } from "../test/tauri";
import PrivacyPage from "./PrivacyPage.svelte";

function ledgerEntry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    connection: connectionView({ kind: "connected" }),
    grants: [
      { label: "Project", value: "Sandbox Study", unknown: false },
      { label: "Sources shared with it", value: "Fitbit, Runkeeper", unknown: false },
      { label: "Messages", value: "Open Humans no longer tells apps.", unknown: true },
    ],
    grants_error: null,
    last_used_ms: (NOW - 120) * 1000,
    secrets: { what: "an access token and a refresh token", client_secret: true, problem: null },
    local_copies: { folder: "/home/you/Datalinks/12345678", files: 3, bytes: 2_500_000 },
    revoke_page: "https://www.openhumans.org/member/me/connections/",
    ...overrides,
  };
}

function ledger(entries: LedgerEntry[]): ConsentLedger {
  return { connections: entries, project: null, secret_location: SECRET_LOCATION };
}

function request(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at_ms: NOW * 1000,
    provider: "openhumans",
    registration_id: 1,
    connection_id: 1,
    subject: "alice · Open Humans at https://www.openhumans.org",
    action: "member view",
    method: "GET",
    origin: "https://www.openhumans.org",
    path: "/api/direct-sharing/project/exchange-member/",
    status: 200,
    failure: null,
    bytes_sent: 0,
    bytes_received: 41_111_801,
    duration_ms: 1234,
    ...overrides,
  };
}

describe("what I share", () => {
  it("lists what each connection granted, where its secrets are and its local copies", async () => {
    answerCommands({ consent_ledger: () => ledger([ledgerEntry()]) });
    render(PrivacyPage);
    const entry = await screen.findByTestId("ledger-entry-openhumans-1");
    const grants = within(entry).getByTestId("ledger-grants-openhumans-1");
    expect(grants.textContent).toContain("Fitbit, Runkeeper");
    expect(within(grants).getByText("Open Humans no longer tells apps.").closest("tr")?.classList).toContain("unknown");
    expect(entry.textContent).toMatch(/an access token and a refresh token, and the app's client secret/);
    expect(within(entry).getByTestId("ledger-copies-openhumans-1").textContent).toMatch(/3 files, 2\.5 MB/);
    expect(within(entry).getByTestId("ledger-last-used-openhumans-1").textContent).toMatch(/2 minutes ago/);
  });

  it("deletes local copies only after a confirmation, and shows a failure at the entry", async () => {
    let fail = true;
    answerCommands({
      consent_ledger: () => ledger([ledgerEntry()]),
      list_connections: () => overview(),
      delete_local_copies: () => {
        if (fail) throw { code: "storage", message: "Could not delete the local copies: permission denied." };
        return { summary: "Deleted 3 files.", files: 3, bytes: 2_500_000 };
      },
    });
    render(PrivacyPage);
    await fireEvent.click(await screen.findByTestId("delete-copies-openhumans-1"));
    expect(callsOf("delete_local_copies")).toHaveLength(0);
    await fireEvent.click(screen.getByTestId("confirm-delete-copies-openhumans-1"));
    const problem = await screen.findByTestId("ledger-problem-openhumans-1");
    expect(problem.textContent).toMatch(/permission denied/);
    fail = false;
    await fireEvent.click(screen.getByTestId("delete-copies-openhumans-1"));
    await fireEvent.click(screen.getByTestId("confirm-delete-copies-openhumans-1"));
    await waitFor(() => expect(callsOf("delete_local_copies")).toEqual([{ connection: 1 }, { connection: 1 }]));
    await waitFor(() => expect(callsOf("consent_ledger").length).toBeGreaterThan(1));
  });

  it("says so when a provider could not be asked, and keeps the rest of the entry", async () => {
    answerCommands({
      consent_ledger: () =>
        ledger([
          ledgerEntry({
            grants: [],
            grants_error: { code: "keyring_unavailable", message: "The OS keyring is locked." },
            secrets: { what: "its tokens", client_secret: false, problem: "The OS keyring is locked." },
          }),
        ]),
    });
    render(PrivacyPage);
    const entry = await screen.findByTestId("ledger-entry-openhumans-1");
    expect(within(entry).getByRole("alert").textContent).toMatch(/could not be asked just now: The OS keyring is locked/);
    expect(entry.textContent).toMatch(/cannot be read now/);
    expect(entry.textContent).toContain("/home/you/Datalinks/12345678");
  });

  it("shows the audit log as a table, filters it in Rust and exports what is shown", async () => {
    const failed = request({ status: null, failure: "it did not answer in time", action: "download", bytes_received: null });
    answerCommands({
      consent_ledger: () => ledger([]),
      audit_log: (args) => ({
        entries: (args?.filter as { errors_only: boolean }).errors_only ? [failed] : [request(), failed],
        truncated: false,
      }),
      audit_facets: () => ({ connections: [[1, "alice · Open Humans"]], actions: ["download", "member view"], total: 2 }),
      export_audit_csv: () => 2,
    });
    render(PrivacyPage);
    expect((await screen.findByTestId("ledger-empty")).textContent).toMatch(/Nothing is connected/);
    await fireEvent.click(screen.getByTestId("tab-audit"));
    const rows = await screen.findAllByTestId("audit-row");
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain("0 bytes · 41.1 MB");
    expect(rows[0].textContent).toContain("1,234 ms");
    expect(rows[1].textContent).toMatch(/no answer\s*it did not answer in time/);

    await fireEvent.click(screen.getByTestId("audit-errors"));
    await waitFor(() => expect(screen.getAllByTestId("audit-row")).toHaveLength(1));
    expect(callsOf("audit_log").at(-1)).toEqual({ filter: { connection: null, action: null, errors_only: true } });

    await fireEvent.click(screen.getByTestId("audit-export"));
    expect((await screen.findByRole("status")).textContent).toMatch(/Saved 2 requests as CSV/);
    expect(callsOf("export_audit_csv")).toEqual([{ filter: { connection: null, action: null, errors_only: true } }]);
  });
});
