import { writeText } from "@tauri-apps/plugin-clipboard-manager";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import type { ConnectionState } from "../lib/bindings/ConnectionState";
import type { ConnectionView } from "../lib/bindings/ConnectionView";
import { connections } from "../lib/connections.svelte";
import { notices } from "../lib/notices.svelte";
import { answerCommands, callsOf, connectionView, memberOverview, NOW } from "../test/tauri";
import ConnectionsPage from "./ConnectionsPage.svelte";

function showCard(view: ConnectionView) {
  connections.upsert(view);
  const onOpenSettings = vi.fn();
  render(ConnectionsPage, { onOpenSettings });
  return { card: screen.getByTestId("connection-openhumans"), onOpenSettings };
}

function showState(state: ConnectionState, overrides: Partial<ConnectionView> = {}) {
  return showCard(connectionView(state, overrides)).card;
}

const ACTION_TEST_IDS = ["connect-openhumans", "disconnect-openhumans", "retry-openhumans", "waiting"];

function actionsIn(card: HTMLElement): string[] {
  return ACTION_TEST_IDS.filter((id) => within(card).queryByTestId(id) !== null);
}

describe("connection card", () => {
  it("not_configured: explains the setup and offers settings, with no connect button", async () => {
    const { card, onOpenSettings } = showCard(connectionView({ kind: "not_configured" }));
    expect(card.dataset.state).toBe("not_configured");
    expect(card.textContent).toMatch(/not set up yet/);
    expect(actionsIn(card)).toEqual([]);
    await fireEvent.click(within(card).getByRole("button", { name: "Open settings" }));
    expect(onOpenSettings).toHaveBeenCalledOnce();
  });

  it("disconnected: offers Connect, which asks Rust to connect", async () => {
    const waiting = connectionView({
      kind: "waiting",
      authorize_url: "https://oh.example/authorize?x=1",
      transport: "loopback",
      expires_at: NOW + 600,
    });
    answerCommands({ connect: () => waiting });
    const card = showState({ kind: "disconnected" });
    expect(card.dataset.state).toBe("disconnected");
    expect(actionsIn(card)).toEqual(["connect-openhumans"]);
    await fireEvent.click(within(card).getByTestId("connect-openhumans"));
    expect(callsOf("connect")).toEqual([{ provider: "openhumans" }]);
    await waitFor(() => expect(screen.getByTestId("connection-openhumans").dataset.state).toBe("waiting"));
  });

  it("waiting: shows the link, a countdown, Copy link and Cancel", async () => {
    const url = "https://www.openhumans.org/direct-sharing/projects/oauth2/authorize/?client_id=abc&state=xyz";
    answerCommands({ cancel_connect: () => connectionView({ kind: "disconnected" }) });
    vi.mocked(writeText).mockResolvedValue();
    const card = showState({ kind: "waiting", authorize_url: url, transport: "loopback", expires_at: NOW + 300 });
    expect(actionsIn(card)).toEqual(["waiting"]);
    const waiting = within(card).getByTestId("waiting");
    expect(waiting.textContent).toMatch(/Waiting for you in your browser/);
    expect(within(waiting).getByTestId("authorize-url").textContent).toBe(url);
    expect(waiting.textContent).toMatch(/works for another (5:00|4:5\d)/);

    await fireEvent.click(within(waiting).getByTestId("copy-link"));
    expect(writeText).toHaveBeenCalledWith(url);
    await waitFor(() => expect(within(waiting).getByTestId("copy-link").textContent).toMatch(/Copied/));

    await fireEvent.click(within(waiting).getByTestId("cancel-connect"));
    expect(callsOf("cancel_connect")).toEqual([{ provider: "openhumans" }]);
    await waitFor(() => expect(screen.getByTestId("connection-openhumans").dataset.state).toBe("disconnected"));
  });

  it("waiting: says so when the link has expired", () => {
    const card = showState({ kind: "waiting", authorize_url: "https://x.test/a", transport: "deep_link", expires_at: NOW - 5 });
    expect(card.textContent).toMatch(/This link has expired/);
  });

  it("connected: shows the member view with facts and files grouped by source", async () => {
    answerCommands({ member_overview: () => memberOverview({ "direct-sharing-128": 3, "fitbit": 1 }) });
    const card = showState({ kind: "connected" }, { sandbox: true });
    expect(actionsIn(card)).toEqual(["disconnect-openhumans"]);
    expect(within(card).getByTestId("sandbox-badge")).toBeTruthy();
    expect(within(card).getByTestId("member-id").textContent).toBe("12345678");
    expect(within(card).getByTestId("secret-location").textContent).toMatch(/OS keyring \(Secret Service\)/);
    expect(within(card).getByTestId("token-expiry").textContent).toMatch(/in 10 hours/);

    await waitFor(() => expect(within(card).getByTestId("file-count").textContent).toBe("4"));
    expect(within(card).getByTestId("member-username").textContent).toMatch(/alice/);
    expect(within(card).getByTestId("sources-shared").textContent).toMatch(/direct-sharing-128.*fitbit/);
    const groups = within(card).getAllByTestId("file-group");
    expect(groups.map((group) => group.dataset.source)).toEqual(["direct-sharing-128", "fitbit"]);
    expect(within(groups[0]).getAllByTestId("file-row")).toHaveLength(3);
    expect(within(groups[0]).getAllByTestId("file-row")[0].textContent).toMatch(
      /direct-sharing-128-file-1\.json.*First export.*steps.*daily/s,
    );

    await fireEvent.click(within(groups[0]).getByRole("button", { name: /direct-sharing-128/, expanded: true }));
    expect(within(groups[0]).queryAllByTestId("file-row")).toHaveLength(0);
    expect(within(groups[1]).getAllByTestId("file-row")).toHaveLength(1);
  });

  it("connected: disconnect asks for confirmation, then shows the receipt", async () => {
    answerCommands({
      member_overview: () => memberOverview({ fitbit: 1 }),
      disconnect: () => ({
        provider: "openhumans",
        steps: [
          { label: "Revoke the access token", outcome: "done", detail: "" },
          { label: "Delete tokens from the keyring", outcome: "failed", detail: "keyring locked" },
          { label: "Stop the sandbox", outcome: "skipped", detail: "not running" },
        ],
      }),
      list_connections: () => [connectionView({ kind: "disconnected" })],
    });
    const card = showState({ kind: "connected" });
    await fireEvent.click(within(card).getByTestId("disconnect-openhumans"));
    expect(callsOf("disconnect")).toEqual([]);
    await fireEvent.click(within(card).getByTestId("confirm-disconnect"));
    expect(callsOf("disconnect")).toEqual([{ provider: "openhumans" }]);

    const receipt = await screen.findByTestId("receipt");
    const outcomes = within(receipt).getAllByTestId("receipt-step").map((step) => step.dataset.outcome);
    expect(outcomes).toEqual(["done", "failed", "skipped"]);
    expect(receipt.textContent).toMatch(/1 step failed/);
    await waitFor(() => expect(screen.getByTestId("connection-openhumans").dataset.state).toBe("disconnected"));
    expect(screen.getByTestId("receipt")).toBeTruthy();
  });

  it("reconnect_needed: gives the reason, says what was kept and offers Reconnect", async () => {
    answerCommands({ connect: () => connectionView({ kind: "disconnected" }) });
    const card = showState({ kind: "reconnect_needed", reason: "The grant was revoked on Open Humans." });
    expect(card.textContent).toMatch(/The grant was revoked on Open Humans\./);
    expect(card.textContent).toMatch(/account, settings and history were kept/);
    expect(actionsIn(card)).toEqual(["connect-openhumans", "disconnect-openhumans"]);
    expect(within(card).getByTestId("connect-openhumans").textContent).toMatch(/Reconnect/);
    await fireEvent.click(within(card).getByTestId("connect-openhumans"));
    expect(callsOf("connect")).toEqual([{ provider: "openhumans" }]);
  });

  it("unreachable: says it will retry, when, and offers Retry now", async () => {
    answerCommands({ retry: () => connectionView({ kind: "connected" }), member_overview: () => memberOverview({}) });
    const card = showState({ kind: "unreachable", message: "connection refused", retry_at: NOW + 120 });
    expect(card.textContent).toMatch(/temporarily unreachable, will retry/);
    expect(card.textContent).toMatch(/connection refused/);
    expect(card.textContent).toMatch(/Next attempt in 2 minutes/);
    expect(actionsIn(card)).toEqual(["disconnect-openhumans", "retry-openhumans"]);
    await fireEvent.click(within(card).getByTestId("retry-openhumans"));
    expect(callsOf("retry")).toEqual([{ provider: "openhumans" }]);
    await waitFor(() => expect(screen.getByTestId("connection-openhumans").dataset.state).toBe("connected"));
  });

  it("keyring_unavailable: says nothing was deleted and offers Retry only", async () => {
    answerCommands({
      retry: () => {
        throw { code: "keyring_unavailable", message: "still locked" };
      },
    });
    const card = showState({ kind: "keyring_unavailable", message: "The Secret Service is locked." });
    expect(card.textContent).toMatch(/keyring unavailable — nothing was deleted/);
    expect(card.textContent).toMatch(/The Secret Service is locked\./);
    expect(actionsIn(card)).toEqual(["retry-openhumans"]);
    await fireEvent.click(within(card).getByTestId("retry-openhumans"));
    expect(callsOf("retry")).toEqual([{ provider: "openhumans" }]);
    await waitFor(() => expect(notices.items.map((notice) => notice.message)).toEqual(["still locked"]));
    expect(screen.getByTestId("connection-openhumans").dataset.state).toBe("keyring_unavailable");
  });

  it("shows last_error with its code", () => {
    const card = showState(
      { kind: "disconnected" },
      { last_error: { code: "state_mismatch", message: "The browser came back with an unknown attempt." } },
    );
    const error = within(card).getByTestId("connection-error");
    expect(error.dataset.code).toBe("state_mismatch");
    expect(error.textContent).toMatch(/unknown attempt/);
  });

  it("a failed command becomes a notice", async () => {
    answerCommands({
      connect: () => {
        throw { code: "not_configured", message: "Enter the client ID first." };
      },
    });
    const card = showState({ kind: "disconnected" });
    expect(screen.queryByTestId("notice")).toBeNull();
    await fireEvent.click(within(card).getByTestId("connect-openhumans"));
    await waitFor(() => expect(callsOf("connect")).toHaveLength(1));
    await waitFor(() => expect(notices.items.map((notice) => notice.code)).toEqual(["not_configured"]));
  });

  it("open collective: warns about other devices before connecting", () => {
    connections.upsert(connectionView({ kind: "disconnected" }, { provider: "opencollective" }));
    render(ConnectionsPage, { onOpenSettings: vi.fn() });
    const card = screen.getByTestId("connection-opencollective");
    expect(card.dataset.state).toBe("disconnected");
    expect(within(card).getByTestId("oc-one-device-warning").textContent).toMatch(/disconnects this one/);
    expect(within(card).getByTestId("connect-opencollective")).toBeTruthy();
  });

  it("open collective: rate_limited and reconnect_needed states keep disconnect available", async () => {
    connections.upsert(
      connectionView(
        { kind: "rate_limited", message: "Open Collective's rate limit was reached", retry_at: NOW + 60 },
        { provider: "opencollective" },
      ),
    );
    render(ConnectionsPage, { onOpenSettings: vi.fn() });
    const card = screen.getByTestId("connection-opencollective");
    expect(card.dataset.state).toBe("rate_limited");
    expect(card.textContent).toMatch(/asked Datalinks to slow down/);
    expect(within(card).getByTestId("disconnect-opencollective")).toBeTruthy();
  });

  it("open collective: connected shows the overview and loads more transactions on demand", async () => {
    const amount = { value_in_cents: 1000, currency: "USD" };
    const ref = { slug: "webpack", name: "Webpack", kind: "COLLECTIVE" };
    const transaction = (id: number) => ({
      id: `t${id}`, kind: "CONTRIBUTION", direction: "DEBIT", created_at: "2025-01-01T00:00:00Z",
      description: `Gift ${id}`, amount, net_amount: amount, account: ref, opposite_account: null,
    });
    answerCommands({
      oc_overview: () => ({
        account: { id: "a1", slug: "ada", name: "Ada", email: null, image_url: null, created_at: "2020-01-01T00:00:00Z", personal_token: false },
        memberships: { offset: 0, total_count: 1, next_offset: null, nodes: [{ id: "m1", role: "ADMIN", since: "2021-01-01T00:00:00Z", is_active: true, total_donations: amount, collective: ref }] },
        transactions: { offset: 0, total_count: 3, next_offset: 2, nodes: [transaction(1), transaction(2)] },
        expenses: { offset: 0, total_count: 1, next_offset: null, nodes: [{ id: "e1", description: "Hosting", status: "PAID", expense_type: "INVOICE", created_at: "2025-02-01T00:00:00Z", amount, collective: ref }] },
      }),
      oc_transactions: () => ({ offset: 2, total_count: 3, next_offset: null, nodes: [transaction(3)] }),
    });
    connections.upsert(connectionView({ kind: "connected" }, { provider: "opencollective" }));
    render(ConnectionsPage, { onOpenSettings: vi.fn() });
    const overview = await screen.findByTestId("oc-overview");
    await waitFor(() => expect(within(overview).getAllByTestId("oc-transaction-row")).toHaveLength(2));
    expect(within(overview).getAllByTestId("oc-membership-row")[0].textContent).toMatch(/ADMIN of Webpack/);
    expect(within(overview).getAllByTestId("oc-expense-row")).toHaveLength(1);
    await fireEvent.click(within(overview).getByTestId("oc-load-more-transactions"));
    expect(callsOf("oc_transactions")).toEqual([{ offset: 2 }]);
    await waitFor(() => expect(within(overview).getAllByTestId("oc-transaction-row")).toHaveLength(3));
    expect(within(overview).queryByTestId("oc-load-more-transactions")).toBeNull();
  });

  it("human api: Connect opens in its own window through Rust, and the card says it is open", async () => {
    const open = connectionView({ kind: "connect_window_open", expires_at: NOW + 3600 }, { provider: "humanapi" });
    answerCommands({ hapi_open_connect: () => open, cancel_connect: () => connectionView({ kind: "disconnected" }, { provider: "humanapi" }) });
    connections.upsert(connectionView({ kind: "disconnected" }, { provider: "humanapi" }));
    render(ConnectionsPage, { onOpenSettings: vi.fn() });
    const card = screen.getByTestId("connection-humanapi");
    expect(card.textContent).toMatch(/separate window/);
    await fireEvent.click(within(card).getByTestId("connect-humanapi"));
    expect(callsOf("hapi_open_connect")).toHaveLength(1);
    expect(callsOf("connect")).toHaveLength(0);
    await waitFor(() => expect(card.dataset.state).toBe("connect_window_open"));
    expect(within(card).getByTestId("hapi-connect-open").textContent).toMatch(/own window/);
    await fireEvent.click(within(card).getByTestId("cancel-connect-humanapi"));
    expect(callsOf("cancel_connect")).toEqual([{ provider: "humanapi" }]);
  });
});
