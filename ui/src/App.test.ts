import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { beforeEach, describe, expect, it } from "vitest";
import App from "./App.svelte";
import type { ConnectionView } from "./lib/bindings/ConnectionView";
import { answerCommands, callsOf, captureEvents, connectionView, emit } from "./test/tauri";

const SANDBOX_SETTINGS = {
  provider: "openhumans",
  client_id: "sandbox-client",
  base_url: "http://127.0.0.1:41234",
  transport: "loopback",
  loopback_path: "/callback",
  has_client_secret: true,
  sandbox: true,
};

let current: ConnectionView[];

beforeEach(() => {
  captureEvents();
  current = [connectionView({ kind: "not_configured" })];
  answerCommands({
    list_connections: () => current,
    start_sandbox: () => {
      current = [connectionView({ kind: "disconnected" }, { sandbox: true })];
      return SANDBOX_SETTINGS;
    },
    get_provider_settings: () => null,
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
    await waitFor(() => expect(screen.getByTestId("connection-openhumans").dataset.state).toBe("disconnected"));
    expect(screen.queryByTestId("try-sandbox")).toBeNull();
    // Header and card both carry the sandbox marker.
    expect(screen.getAllByTestId("sandbox-badge")).toHaveLength(2);
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
    current = [connectionView({ kind: "disconnected" })];
    render(App);
    await screen.findByTestId("connect-openhumans");
    expect(screen.queryByTestId("try-sandbox")).toBeNull();
  });

  it("applies connection-changed events to the card", async () => {
    current = [connectionView({ kind: "disconnected" })];
    render(App);
    await screen.findByTestId("connect-openhumans");
    emit("connection-changed", connectionView({ kind: "reconnect_needed", reason: "Token revoked." }));
    await waitFor(() => expect(screen.getByTestId("connection-openhumans").dataset.state).toBe("reconnect_needed"));
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
