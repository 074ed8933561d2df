import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { beforeEach, describe, expect, it } from "vitest";
import App from "./App.svelte";
import type { ConnectionsOverview } from "./lib/bindings/ConnectionsOverview";
import type { Provider } from "./lib/bindings/Provider";
import {
  answerCommands,
  callsOf,
  captureEvents,
  connectionView,
  emit,
  overview,
  sandboxRegistration,
  settingsDefaults,
  signInView,
} from "./test/tauri";

let current: ConnectionsOverview;

const EMPTY_SETTINGS = (args: Record<string, unknown> | undefined) => ({
  provider: args?.provider,
  own: null,
  sandbox: null,
  registrations: [],
  defaults: settingsDefaults(args?.provider as Provider),
});

beforeEach(() => {
  captureEvents();
  current = overview();
  answerCommands({
    list_connections: () => current,
    start_sandbox: () => {
      current = overview({
        openhumans: { sign_ins: [signInView(sandboxRegistration("openhumans", 1))] },
        opencollective: { sign_ins: [signInView(sandboxRegistration("opencollective", 2))] },
        humanapi: { sign_ins: [signInView(sandboxRegistration("humanapi", 3))] },
      });
      return current;
    },
    get_provider_settings: EMPTY_SETTINGS,
  });
});

describe("app", () => {
  it("offers the sandbox on first run and starts it", async () => {
    render(App);
    const offer = await screen.findByTestId("try-sandbox");
    expect(document.body.textContent).toMatch(/local simulator/);
    expect(document.body.textContent).toMatch(/no provider account is needed/i);
    expect(screen.queryByTestId("sandbox-badge")).toBeNull();

    await fireEvent.click(offer);
    expect(callsOf("start_sandbox")).toHaveLength(1);
    await waitFor(() => expect(screen.getByTestId("sign-in-openhumans").dataset.sandbox).toBe("true"));
    expect(screen.queryByTestId("try-sandbox")).toBeNull();
    expect(screen.queryByTestId("not-configured-openhumans")).toBeNull();
    // The header and each provider's sandbox sign-in carry the sandbox marker.
    expect(screen.getAllByTestId("sandbox-badge")).toHaveLength(4);
  });

  it("links from the first-run offer to the settings form", async () => {
    render(App);
    await fireEvent.click(await screen.findByRole("button", { name: /Enter real credentials in Settings/ }));
    expect(await screen.findByTestId("settings-openhumans")).toBeTruthy();
    expect(callsOf("get_provider_settings")).toEqual([
      { provider: "openhumans" },
      { provider: "opencollective" },
      { provider: "humanapi" },
    ]);
  });

  it("does not offer the sandbox once Open Humans is configured", async () => {
    current = overview({ openhumans: { sign_ins: [signInView()] } });
    render(App);
    await screen.findByTestId("connect-openhumans");
    expect(screen.queryByTestId("try-sandbox")).toBeNull();
    expect(screen.queryByTestId("sandbox-badge")).toBeNull();
  });

  it("applies connections-changed events to the page", async () => {
    current = overview({ openhumans: { sign_ins: [signInView()] } });
    render(App);
    await screen.findByTestId("connect-openhumans");
    emit(
      "connections-changed",
      overview({
        openhumans: {
          sign_ins: [signInView()],
          connections: [connectionView({ kind: "reconnect_needed", reason: "Token revoked." })],
        },
      }),
    );
    await waitFor(() => expect(screen.getByTestId("connection-openhumans").dataset.state).toBe("reconnect_needed"));
  });

  it("keeps the sandbox marker while a sandbox connection exists without its sign-in", async () => {
    current = overview({ openhumans: { connections: [connectionView({ kind: "reconnect_needed", reason: "x" }, { registration: sandboxRegistration() })] } });
    render(App);
    await screen.findByTestId("connection-openhumans");
    expect(screen.queryByTestId("try-sandbox")).toBeNull();
    expect(screen.getAllByTestId("sandbox-badge")).toHaveLength(2);
  });

  it("shows notice events until dismissed", async () => {
    render(App);
    await screen.findByTestId("try-sandbox");
    emit("notice", { code: "callback_refused", message: "A datalinks:// link arrived with no attempt waiting." });
    const notice = await screen.findByTestId("notice");
    expect(notice.dataset.code).toBe("callback_refused");
    expect(notice.textContent).toMatch(/no attempt waiting/);
    emit("notice", "garbage payload");
    await waitFor(() => expect(screen.getAllByTestId("notice")).toHaveLength(2));
    expect(screen.getAllByTestId("notice")[1].dataset.code).toBe("internal");

    await fireEvent.click(within(notice).getByRole("button", { name: "Dismiss notice" }));
    await waitFor(() => expect(screen.getAllByTestId("notice")).toHaveLength(1));
  });

  it("shows a notice when loading the connections fails", async () => {
    answerCommands({
      list_connections: () => {
        throw { code: "storage", message: "database is locked" };
      },
    });
    render(App);
    const notice = await screen.findByTestId("notice");
    expect(notice.dataset.code).toBe("storage");
  });
});
