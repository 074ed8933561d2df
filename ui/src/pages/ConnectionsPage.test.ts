import { writeText } from "@tauri-apps/plugin-clipboard-manager";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import type { ConnectionState } from "../lib/bindings/ConnectionState";
import type { ConnectionsOverview } from "../lib/bindings/ConnectionsOverview";
import type { ConnectionView } from "../lib/bindings/ConnectionView";
import type { SignInState } from "../lib/bindings/SignInState";
import { connections } from "../lib/connections.svelte";
import { notices } from "../lib/notices.svelte";
import {
  answerCommands,
  callsOf,
  connectionView,
  memberOverview,
  NOW,
  overview,
  registration,
  sandboxRegistration,
  signInView,
} from "../test/tauri";
import ConnectionsPage from "./ConnectionsPage.svelte";

function show(current: ConnectionsOverview) {
  connections.apply(current);
  const onOpenSettings = vi.fn();
  render(ConnectionsPage, { onOpenSettings });
  return { onOpenSettings };
}

/** Open Humans with its own registration ready, and these connections through it. */
function openHumans(...cards: ConnectionView[]): ConnectionsOverview {
  return overview({ openhumans: { sign_ins: [signInView()], connections: cards } });
}

function showCard(state: ConnectionState, overrides: Partial<ConnectionView> = {}): HTMLElement {
  show(openHumans(connectionView(state, overrides)));
  return screen.getByTestId("connection-openhumans");
}

function showSignIn(state: SignInState): HTMLElement {
  show(overview({ openhumans: { sign_ins: [signInView(registration(), state)] } }));
  return screen.getByTestId("sign-in-openhumans");
}

const ACTION_TEST_IDS = ["reconnect-openhumans", "disconnect-openhumans", "retry-openhumans"];

function actionsIn(card: HTMLElement): string[] {
  return ACTION_TEST_IDS.filter((id) => within(card).queryByTestId(id) !== null);
}

describe("provider sections", () => {
  it("a provider with nothing set up offers settings and no connect button", async () => {
    const { onOpenSettings } = show(overview());
    for (const provider of ["openhumans", "opencollective", "humanapi"]) {
      const section = screen.getByTestId(`provider-${provider}`);
      expect(within(section).getByTestId(`not-configured-${provider}`).textContent).toMatch(/not set up yet/);
      expect(within(section).queryByTestId(`connect-${provider}`)).toBeNull();
    }
    await fireEvent.click(within(screen.getByTestId("not-configured-openhumans")).getByRole("button", { name: "Open settings" }));
    expect(onOpenSettings).toHaveBeenCalledOnce();
  });

  it("a ready sign-in offers Connect, which asks Rust to sign a new account in there", async () => {
    const waiting: SignInState = { kind: "waiting", authorize_url: "https://oh.example/authorize?x=1", transport: "loopback", expires_at: NOW + 600, reconnecting: null, hints: [] };
    answerCommands({ connect: () => overview({ openhumans: { sign_ins: [signInView(registration(), waiting)] } }) });
    const signIn = showSignIn({ kind: "ready" });
    expect(signIn.dataset.state).toBe("ready");
    expect(signIn.dataset.sandbox).toBe("false");
    expect(signIn.textContent).toMatch(/https:\/\/www\.openhumans\.org.*abc123/);
    const connect = within(signIn).getByTestId("connect-openhumans");
    expect(connect.textContent).toMatch(/^\s*Connect\s*$/);
    await fireEvent.click(connect);
    expect(callsOf("connect")).toEqual([{ target: { kind: "new_account", registration: 1 } }]);
    await waitFor(() => expect(screen.getByTestId("sign-in-openhumans").dataset.state).toBe("waiting"));
  });

  it("the sandbox's sign-in is labelled as the sandbox, after the person's own", () => {
    show(overview({ openhumans: { sign_ins: [signInView(), signInView(sandboxRegistration())] } }));
    const [own, sandbox] = screen.getAllByTestId("sign-in-openhumans");
    expect(own.dataset.sandbox).toBe("false");
    expect(within(own).queryByTestId("sandbox-badge")).toBeNull();
    expect(sandbox.dataset.sandbox).toBe("true");
    expect(within(sandbox).getByTestId("sandbox-badge")).toBeTruthy();
    expect(sandbox.textContent).toMatch(/built-in sandbox/);
  });

  it("waiting: shows the link, a countdown, Copy link and Cancel", async () => {
    const url = "https://www.openhumans.org/direct-sharing/projects/oauth2/authorize/?client_id=abc&state=xyz";
    answerCommands({ cancel_connect: () => overview({ openhumans: { sign_ins: [signInView()] } }) });
    vi.mocked(writeText).mockResolvedValue();
    const signIn = showSignIn({ kind: "waiting", authorize_url: url, transport: "loopback", expires_at: NOW + 300, reconnecting: null, hints: [] });
    expect(within(signIn).queryByTestId("connect-openhumans")).toBeNull();
    const waiting = within(signIn).getByTestId("waiting");
    expect(waiting.textContent).toMatch(/Waiting for you in your browser/);
    expect(within(waiting).getByTestId("authorize-url").textContent).toBe(url);
    expect(waiting.textContent).toMatch(/works for another (5:00|4:5\d)/);

    await fireEvent.click(within(waiting).getByTestId("copy-link"));
    expect(writeText).toHaveBeenCalledWith(url);
    await waitFor(() => expect(within(waiting).getByTestId("copy-link").textContent).toMatch(/Copied/));

    await fireEvent.click(within(waiting).getByTestId("cancel-connect"));
    expect(callsOf("cancel_connect")).toEqual([{ registration: 1 }]);
    await waitFor(() => expect(screen.getByTestId("sign-in-openhumans").dataset.state).toBe("ready"));
  });

  it("waiting with a hint from Rust shows it, and its remedy switches to the local address", async () => {
    const text = "Open Humans servers usually refuse datalinks:// redirects.";
    const hinted: SignInState = {
      kind: "waiting",
      authorize_url: "https://oh.example/authorize?x=1",
      transport: "deep_link",
      expires_at: NOW + 300,
      reconnecting: null,
      hints: [{ text, remedy: "use_loopback" }],
    };
    const again: SignInState = { ...hinted, transport: "loopback", hints: [] };
    answerCommands({ use_loopback: () => overview({ openhumans: { sign_ins: [signInView(registration(), again)] } }) });
    const signIn = showSignIn(hinted);
    const hint = within(signIn).getByTestId("waiting-hint");
    expect(hint.textContent).toMatch(/refuse datalinks:\/\/ redirects/);
    await fireEvent.click(within(hint).getByTestId("use-loopback"));
    expect(callsOf("use_loopback")).toEqual([{ registration: 1 }]);
    await waitFor(() => expect(within(screen.getByTestId("sign-in-openhumans")).queryByTestId("waiting-hint")).toBeNull());
  });

  it("a hint without a remedy offers no button", () => {
    const signIn = showSignIn({
      kind: "waiting",
      authorize_url: "https://oc.example/a",
      transport: "deep_link",
      expires_at: NOW + 300,
      reconnecting: null,
      hints: [{ text: "Ask only for email.", remedy: null }],
    });
    expect(within(signIn).getByTestId("waiting-hint").textContent).toMatch(/Ask only for email/);
    expect(within(signIn).queryByTestId("use-loopback")).toBeNull();
  });

  it("a waiting sign-in shows in its provider's section, naming that provider", () => {
    const waiting: SignInState = { kind: "waiting", authorize_url: "https://oc.example/oauth/authorize?s=1", transport: "deep_link", expires_at: NOW + 300, reconnecting: null, hints: [] };
    show(
      overview({
        openhumans: { sign_ins: [signInView()] },
        opencollective: { sign_ins: [signInView(registration({ id: 5, provider: "opencollective", server: "https://opencollective.com" }), waiting)] },
      }),
    );
    expect(within(screen.getByTestId("provider-openhumans")).queryByTestId("waiting")).toBeNull();
    const waitingPanel = within(screen.getByTestId("provider-opencollective")).getByTestId("waiting");
    expect(waitingPanel.textContent).toMatch(/Sign in to Open Collective in the browser/);
    expect(waitingPanel.textContent).not.toMatch(/Open Humans/);
  });

  it("waiting again for a connection names its account", () => {
    const waiting: SignInState = { kind: "waiting", authorize_url: "https://x.test/a", transport: "loopback", expires_at: NOW + 300, reconnecting: 1, hints: [] };
    show(overview({ openhumans: { sign_ins: [signInView(registration(), waiting)], connections: [connectionView({ kind: "reconnect_needed", reason: "Revoked." })] } }));
    expect(screen.getByTestId("sign-in-openhumans").textContent).toMatch(/Connecting alice \(12345678\) again/);
  });

  it("waiting: says so when the link has expired", () => {
    const signIn = showSignIn({ kind: "waiting", authorize_url: "https://x.test/a", transport: "deep_link", expires_at: NOW - 5, reconnecting: null, hints: [] });
    expect(signIn.textContent).toMatch(/This link has expired/);
  });

  it("a sign-in shows its last problem with its code", () => {
    show(overview({ openhumans: { sign_ins: [signInView(registration(), { kind: "ready" }, { code: "state_mismatch", message: "The browser came back with an unknown attempt." })] } }));
    const error = within(screen.getByTestId("sign-in-openhumans")).getByTestId("connection-error");
    expect(error.dataset.code).toBe("state_mismatch");
    expect(error.textContent).toMatch(/unknown attempt/);
  });

  it("a failed command becomes a notice", async () => {
    answerCommands({
      connect: () => {
        throw { code: "not_configured", message: "Enter the client ID first." };
      },
    });
    const signIn = showSignIn({ kind: "ready" });
    expect(screen.queryByTestId("notice")).toBeNull();
    await fireEvent.click(within(signIn).getByTestId("connect-openhumans"));
    await waitFor(() => expect(callsOf("connect")).toHaveLength(1));
    await waitFor(() => expect(notices.items.map((notice) => notice.code)).toEqual(["not_configured"]));
  });
});

describe("connection cards", () => {
  it("connected: shows the account, its setup, where secrets live, and the member view", async () => {
    answerCommands({ member_overview: () => memberOverview({ "direct-sharing-128": 3, fitbit: 1 }) });
    const card = showCard({ kind: "connected" }, { registration: sandboxRegistration() });
    expect(card.dataset.connection).toBe("1");
    expect(card.dataset.sandbox).toBe("true");
    expect(actionsIn(card)).toEqual(["disconnect-openhumans"]);
    expect(within(card).getByTestId("account").textContent?.trim()).toBe("alice (12345678)");
    expect(within(card).getByTestId("sandbox-badge")).toBeTruthy();
    expect(within(card).getByTestId("member-id").textContent).toBe("12345678");
    expect(within(card).getByTestId("secret-location").textContent).toMatch(/OS keyring \(Secret Service\)/);
    expect(within(card).getByTestId("token-expiry").textContent).toMatch(/in 10 hours/);
    expect(callsOf("member_overview")).toEqual([{ connection: 1 }]);

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

  it("two accounts of one provider are two cards, each disconnecting only itself", async () => {
    const alice = connectionView({ kind: "connected" });
    const bob = connectionView(
      { kind: "connected" },
      { id: 2, account: { account_id: "87654321", username: "bob", connected_at: NOW - 60 } },
    );
    answerCommands({
      member_overview: (args) => ({ ...memberOverview({ fitbit: 1 }), project_member_id: args?.connection === 1 ? "12345678" : "87654321" }),
      disconnect: () => ({
        provider: "openhumans",
        account: bob.account,
        steps: [{ label: "Revoke the access token", outcome: "done", detail: "", link: null }],
      }),
      list_connections: () => openHumans(alice),
    });
    show(openHumans(alice, bob));
    const cards = screen.getAllByTestId("connection-openhumans");
    expect(cards.map((card) => card.dataset.connection)).toEqual(["1", "2"]);
    expect(cards.map((card) => within(card).getByTestId("account").textContent?.trim())).toEqual([
      "alice (12345678)",
      "bob (87654321)",
    ]);
    expect(within(screen.getByTestId("sign-in-openhumans")).getByTestId("connect-openhumans").textContent).toMatch(
      /Connect another account/,
    );
    await waitFor(() => expect(within(cards[1]).getByTestId("member-id").textContent).toBe("87654321"));

    await fireEvent.click(within(cards[1]).getByTestId("disconnect-openhumans"));
    expect(within(cards[0]).queryByTestId("confirm-disconnect")).toBeNull();
    await fireEvent.click(within(cards[1]).getByTestId("confirm-disconnect"));
    expect(callsOf("disconnect")).toEqual([{ connection: 2 }]);

    const receipt = await within(screen.getByTestId("provider-openhumans")).findByTestId("receipt");
    expect(receipt.textContent).toMatch(/bob \(87654321\) on Open Humans/);
    await waitFor(() => expect(screen.getAllByTestId("connection-openhumans")).toHaveLength(1));
    const left = screen.getByTestId("connection-openhumans");
    expect(left.dataset.connection).toBe("1");
    expect(within(left).getByTestId("member-id").textContent).toBe("12345678");
  });

  it("disconnect asks for confirmation, then shows the receipt in the section", async () => {
    answerCommands({
      member_overview: () => memberOverview({ fitbit: 1 }),
      disconnect: () => ({
        provider: "openhumans",
        account: { account_id: "12345678", username: "alice", connected_at: NOW - 3600 },
        steps: [
          { label: "Revoke the access token", outcome: "done", detail: "", link: null },
          { label: "Delete tokens from the keyring", outcome: "failed", detail: "keyring locked", link: null },
          { label: "Stop the sandbox", outcome: "skipped", detail: "not running", link: null },
        ],
      }),
      list_connections: () => openHumans(),
      connect: () => openHumans(),
    });
    const card = showCard({ kind: "connected" });
    await fireEvent.click(within(card).getByTestId("disconnect-openhumans"));
    expect(callsOf("disconnect")).toEqual([]);
    await fireEvent.click(within(card).getByTestId("confirm-disconnect"));
    expect(callsOf("disconnect")).toEqual([{ connection: 1 }]);

    const receipt = await screen.findByTestId("receipt");
    const outcomes = within(receipt).getAllByTestId("receipt-step").map((step) => step.dataset.outcome);
    expect(outcomes).toEqual(["done", "failed", "skipped"]);
    expect(receipt.textContent).toMatch(/1 step failed/);
    expect(receipt.textContent).toMatch(/alice \(12345678\)/);
    await waitFor(() => expect(screen.queryByTestId("connection-openhumans")).toBeNull());
    expect(screen.getByTestId("receipt")).toBeTruthy();
    const connect = within(screen.getByTestId("sign-in-openhumans")).getByTestId("connect-openhumans");
    expect(connect.textContent).toMatch(/^\s*Connect\s*$/);
    // Signing in again starts afresh: the receipt goes.
    await fireEvent.click(connect);
    await waitFor(() => expect(screen.queryByTestId("receipt")).toBeNull());
  });

  it("a connection of an earlier setup says so", () => {
    const retired = registration({ id: 7, server: "https://staging.openhumans.org", client_id: "old-client", retired: true });
    answerCommands({ member_overview: () => memberOverview({}) });
    const card = showCard({ kind: "connected" }, { registration: retired });
    expect(within(card).getByTestId("earlier-setup").textContent).toMatch(
      /made with an earlier setup \(https:\/\/staging\.openhumans\.org, client ID old-client\) — still works; new accounts use the current settings/i,
    );
    // New accounts sign in through the current setup, whose button says Connect (no account yet).
    expect(within(screen.getByTestId("sign-in-openhumans")).getByTestId("connect-openhumans").textContent).toMatch(
      /^\s*Connect\s*$/,
    );
  });

  it("reconnect_needed: gives the reason, says what was kept and reconnects this connection", async () => {
    answerCommands({ connect: () => openHumans(connectionView({ kind: "reconnect_needed", reason: "Revoked." })) });
    const card = showCard({ kind: "reconnect_needed", reason: "The grant was revoked on Open Humans." });
    expect(card.textContent).toMatch(/The grant was revoked on Open Humans\./);
    expect(card.textContent).toMatch(/account, settings and history were kept/);
    expect(actionsIn(card)).toEqual(["reconnect-openhumans", "disconnect-openhumans"]);
    await fireEvent.click(within(card).getByTestId("reconnect-openhumans"));
    expect(callsOf("connect")).toEqual([{ target: { kind: "reconnect", connection: 1 } }]);
  });

  it("unreachable: says it will retry, when, and offers Retry now", async () => {
    answerCommands({ retry: () => openHumans(connectionView({ kind: "connected" })), member_overview: () => memberOverview({}) });
    const card = showCard({ kind: "unreachable", message: "connection refused", retry_at: NOW + 120 });
    expect(card.textContent).toMatch(/temporarily unreachable, will retry/);
    expect(card.textContent).toMatch(/connection refused/);
    expect(card.textContent).toMatch(/Next attempt in 2 minutes/);
    expect(actionsIn(card)).toEqual(["disconnect-openhumans", "retry-openhumans"]);
    await fireEvent.click(within(card).getByTestId("retry-openhumans"));
    expect(callsOf("retry")).toEqual([{ connection: 1 }]);
    await waitFor(() => expect(screen.getByTestId("connection-openhumans").dataset.state).toBe("connected"));
  });

  it("keyring_unavailable: says nothing was deleted and offers Retry only", async () => {
    answerCommands({
      retry: () => {
        throw { code: "keyring_unavailable", message: "still locked" };
      },
    });
    const card = showCard({ kind: "keyring_unavailable", message: "The Secret Service is locked." });
    expect(card.textContent).toMatch(/keyring unavailable — nothing was deleted/);
    expect(card.textContent).toMatch(/The Secret Service is locked\./);
    expect(actionsIn(card)).toEqual(["retry-openhumans"]);
    await fireEvent.click(within(card).getByTestId("retry-openhumans"));
    expect(callsOf("retry")).toEqual([{ connection: 1 }]);
    await waitFor(() => expect(notices.items.map((notice) => notice.message)).toEqual(["still locked"]));
    expect(screen.getByTestId("connection-openhumans").dataset.state).toBe("keyring_unavailable");
  });

  it("a connection shows its last problem with its code", () => {
    const card = showCard(
      { kind: "rate_limited", message: "Slow down", retry_at: NOW + 60 },
      { last_error: { code: "provider_error", message: "The server answered 500." } },
    );
    const error = within(card).getByTestId("connection-error");
    expect(error.dataset.code).toBe("provider_error");
    expect(error.textContent).toMatch(/answered 500/);
  });
});

describe("open collective", () => {
  const ocRegistration = registration({ id: 3, provider: "opencollective", server: "https://opencollective.com" });

  it("warns about other devices before connecting", () => {
    show(overview({ opencollective: { sign_ins: [signInView(ocRegistration)] } }));
    const section = screen.getByTestId("provider-opencollective");
    expect(within(section).getByTestId("oc-one-device-warning").textContent).toMatch(/disconnects this one/);
    expect(within(section).getByTestId("connect-opencollective")).toBeTruthy();
  });

  it("rate_limited keeps disconnect available", () => {
    show(
      overview({
        opencollective: {
          sign_ins: [signInView(ocRegistration)],
          connections: [
            connectionView(
              { kind: "rate_limited", message: "Open Collective's rate limit was reached", retry_at: NOW + 60 },
              { registration: ocRegistration },
            ),
          ],
        },
      }),
    );
    const card = screen.getByTestId("connection-opencollective");
    expect(card.dataset.state).toBe("rate_limited");
    expect(card.textContent).toMatch(/asked Datalinks to slow down/);
    expect(within(card).getByTestId("disconnect-opencollective")).toBeTruthy();
  });

  it("connected shows the overview, loads more transactions of that connection on demand and a failed part in its place", async () => {
    const amount = { value_in_cents: 1000, currency: "USD" };
    const ref = { slug: "webpack", name: "Webpack", kind: "COLLECTIVE" };
    const transaction = (id: number) => ({
      id: `t${id}`, kind: "CONTRIBUTION", direction: "DEBIT", created_at: "2025-01-01T00:00:00Z",
      description: `Gift ${id}`, amount, net_amount: amount, account: ref, opposite_account: null,
    });
    answerCommands({
      oc_overview: () => ({
        account: { id: "a1", slug: "ada", name: "Ada", email: null, image_url: null, created_at: "2020-01-01T00:00:00Z", personal_token: false },
        memberships: { kind: "loaded", page: { offset: 0, total_count: 1, next_offset: null, nodes: [{ id: "m1", role: "ADMIN", since: "2021-01-01T00:00:00Z", is_active: true, total_donations: amount, collective: ref }] } },
        transactions: { kind: "loaded", page: { offset: 0, total_count: 3, next_offset: 2, nodes: [transaction(1), transaction(2)] } },
        expenses: { kind: "failed", error: { code: "rate_limited", message: "Open Collective's rate limit was reached; trying again is possible in 60 s." } },
      }),
      oc_transactions: () => ({ offset: 2, total_count: 3, next_offset: null, nodes: [transaction(3)] }),
    });
    show(overview({ opencollective: { sign_ins: [signInView(ocRegistration)], connections: [connectionView({ kind: "connected" }, { id: 9, registration: ocRegistration })] } }));
    const panel = await screen.findByTestId("oc-overview");
    expect(callsOf("oc_overview")).toEqual([{ connection: 9 }]);
    await waitFor(() => expect(within(panel).getAllByTestId("oc-transaction-row")).toHaveLength(2));
    expect(within(panel).getAllByTestId("oc-membership-row")[0].textContent).toMatch(/ADMIN of Webpack/);
    expect(within(panel).queryAllByTestId("oc-expense-row")).toHaveLength(0);
    expect(within(panel).getByTestId("oc-failed-expenses").textContent).toMatch(/rate limit was reached/);
    expect(within(panel).queryByTestId("oc-failed-transactions")).toBeNull();
    await fireEvent.click(within(panel).getByTestId("oc-load-more-transactions"));
    expect(callsOf("oc_transactions")).toEqual([{ connection: 9, offset: 2 }]);
    await waitFor(() => expect(within(panel).getAllByTestId("oc-transaction-row")).toHaveLength(3));
    expect(within(panel).queryByTestId("oc-load-more-transactions")).toBeNull();
  });
});

describe("human api", () => {
  const hapiRegistration = registration({ id: 4, provider: "humanapi", server: "https://auth.humanapi.co" });
  const open = (reconnecting: number | null): SignInState => ({ kind: "connect_window_open", expires_at: NOW + 3600, reconnecting });

  it("Connect opens in its own window through Rust, and the sign-in says it is open", async () => {
    answerCommands({
      hapi_open_connect: () => overview({ humanapi: { sign_ins: [signInView(hapiRegistration, open(null))] } }),
      cancel_connect: () => overview({ humanapi: { sign_ins: [signInView(hapiRegistration)] } }),
    });
    show(overview({ humanapi: { sign_ins: [signInView(hapiRegistration)] } }));
    const section = screen.getByTestId("provider-humanapi");
    expect(section.textContent).toMatch(/separate window/);
    await fireEvent.click(within(section).getByTestId("connect-humanapi"));
    expect(callsOf("hapi_open_connect")).toEqual([{ target: { kind: "new_account", registration: 4 } }]);
    expect(callsOf("connect")).toHaveLength(0);
    await waitFor(() => expect(screen.getByTestId("sign-in-humanapi").dataset.state).toBe("connect_window_open"));
    expect(within(section).getByTestId("hapi-connect-open").textContent).toMatch(/own window/);
    await fireEvent.click(within(section).getByTestId("cancel-connect-humanapi"));
    expect(callsOf("cancel_connect")).toEqual([{ registration: 4 }]);
  });

  it("Link more sources opens Connect for that connection", async () => {
    answerCommands({
      hapi_connected_sources: () => [],
      hapi_profile: () => {
        throw { code: "reconnect_needed", message: "No source is connected." };
      },
      hapi_open_connect: () =>
        overview({
          humanapi: {
            sign_ins: [signInView(hapiRegistration, open(6))],
            connections: [connectionView({ kind: "connected" }, { id: 6, registration: hapiRegistration })],
          },
        }),
    });
    show(overview({ humanapi: { sign_ins: [signInView(hapiRegistration)], connections: [connectionView({ kind: "connected" }, { id: 6, registration: hapiRegistration })] } }));
    await fireEvent.click(await screen.findByTestId("hapi-open-connect"));
    expect(callsOf("hapi_open_connect")).toEqual([{ target: { kind: "reconnect", connection: 6 } }]);
    await waitFor(() => expect(screen.getByTestId("sign-in-humanapi").textContent).toMatch(/Connecting alice \(12345678\) again/));
  });
});
