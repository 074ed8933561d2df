import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { ProviderSettingsView } from "../lib/bindings/ProviderSettingsView";
import { answerCommands, callsOf, connectionView } from "../test/tauri";
import SettingsForm from "./SettingsForm.svelte";

const STORED: ProviderSettingsView = {
  provider: "openhumans",
  client_id: "abc123",
  base_url: "https://www.openhumans.org",
  transport: "loopback",
  loopback_path: "/callback",
  has_client_secret: true,
  has_personal_token: false,
  sandbox: false,
  options: { kind: "open_humans" },
};

function setUp(stored: ProviderSettingsView | null) {
  answerCommands({
    get_provider_settings: () => stored,
    save_provider_settings: (args) => ({
      ...STORED,
      ...(args?.input as object),
      has_client_secret: true,
    }),
    list_connections: () => [connectionView({ kind: "disconnected" })],
  });
  render(SettingsForm, { provider: "openhumans" });
}

async function input(testId: string): Promise<HTMLInputElement> {
  return (await screen.findByTestId(testId)) as HTMLInputElement;
}

describe("settings form", () => {
  it("fills in the stored settings and says where the secret is", async () => {
    setUp(STORED);
    await waitFor(async () => expect((await input("client-id")).value).toBe("abc123"));
    expect((await input("client-secret")).type).toBe("password");
    expect((await input("client-secret")).value).toBe("");
    expect(screen.getByTestId("settings-openhumans").textContent).toMatch(/stored in the OS keyring/);
    expect(screen.getByTestId("settings-openhumans").textContent).toMatch(/http:\/\/127\.0\.0\.1\/callback/);
    expect(screen.queryByTestId("sandbox-badge")).toBeNull();
  });

  it("keeps the stored secret: an empty secret field is sent as null", async () => {
    setUp(STORED);
    await waitFor(async () => expect((await input("client-id")).value).toBe("abc123"));
    await fireEvent.input(await input("base-url"), { target: { value: "https://staging.openhumans.org/" } });
    await fireEvent.change(screen.getByTestId("transport"), { target: { value: "deep_link" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_provider_settings")).toHaveLength(1));
    expect(callsOf("save_provider_settings")[0]).toEqual({
      provider: "openhumans",
      input: {
        client_id: "abc123",
        client_secret: null,
        base_url: "https://staging.openhumans.org",
        transport: "deep_link",
        personal_token: null,
        options: { kind: "open_humans" },
      },
    });
    expect(await screen.findByRole("status")).toBeTruthy();
  });

  it("sends a newly typed secret and the default server for a first setup", async () => {
    setUp(null);
    await waitFor(async () => expect((await input("base-url")).value).toBe("https://www.openhumans.org"));
    await fireEvent.input(await input("client-id"), { target: { value: "new-client" } });
    await fireEvent.input(await input("client-secret"), { target: { value: "s3cret" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_provider_settings")).toHaveLength(1));
    expect(callsOf("save_provider_settings")[0]).toEqual({
      provider: "openhumans",
      input: {
        client_id: "new-client",
        client_secret: "s3cret",
        base_url: "https://www.openhumans.org",
        transport: "loopback",
        personal_token: null,
        options: { kind: "open_humans" },
      },
    });
    await waitFor(async () => expect((await input("client-secret")).value).toBe(""));
  });

  it("shows validation messages and does not save invalid input", async () => {
    setUp(null);
    await waitFor(async () => expect((await input("base-url")).value).toBe("https://www.openhumans.org"));
    await fireEvent.input(await input("base-url"), { target: { value: "not a url" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    const text = screen.getByTestId("settings-openhumans").textContent;
    expect(text).toMatch(/Enter the client ID/);
    expect(text).toMatch(/none is stored yet/);
    expect(text).toMatch(/not a complete web address/);
    expect(callsOf("save_provider_settings")).toEqual([]);
  });

  it("open collective: explains each scope and sends the chosen ones with the personal token", async () => {
    answerCommands({
      get_provider_settings: () => null,
      oc_scopes: () => [
        { scope: "email", explanation: "Access your email address." },
        { scope: "account", explanation: "Manage your account, collectives and organizations." },
        { scope: "expenses", explanation: "Create and manage expenses, payout methods." },
      ],
      save_provider_settings: (args) => ({ ...STORED, provider: "opencollective", ...(args?.input as object) }),
      list_connections: () => [],
    });
    render(SettingsForm, { provider: "opencollective" });
    const expenses = (await screen.findByTestId("oc-scope-expenses")) as HTMLInputElement;
    expect(screen.getByTestId("oc-scopes").textContent).toMatch(/Create and manage expenses/);
    expect(((await input("oc-scope-email")) as HTMLInputElement).checked).toBe(true);
    expect(expenses.checked).toBe(false);
    expect(screen.getByTestId("oc-one-device-warning").textContent).toMatch(/another device disconnects this one/);
    await fireEvent.click(expenses);
    await fireEvent.click(await input("oc-scope-email"));
    await fireEvent.input(await input("oc-personal-token"), { target: { value: "pt-123" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_provider_settings")).toHaveLength(1));
    const sent = callsOf("save_provider_settings")[0] as { input: Record<string, unknown> };
    expect(sent.input.personal_token).toBe("pt-123");
    expect(sent.input.client_id).toBe("");
    expect(sent.input.transport).toBe("deep_link");
    expect(sent.input.options).toMatchObject({ kind: "open_collective", scopes: ["account", "expenses"], scope_separator: "comma" });
    await waitFor(async () => expect((await input("oc-personal-token")).value).toBe(""));
  });

  it("marks sandbox credentials", async () => {
    setUp({ ...STORED, sandbox: true, base_url: "http://127.0.0.1:4000" });
    expect(await screen.findByTestId("sandbox-badge")).toBeTruthy();
  });
});

describe("human api settings", () => {
  const HAPI: ProviderSettingsView = {
    provider: "humanapi",
    client_id: "hapi-client",
    base_url: "https://auth.humanapi.co",
    transport: "loopback",
    loopback_path: "/callback",
    has_client_secret: true,
    has_personal_token: false,
    sandbox: false,
    options: {
      kind: "human_api",
      client_user_id: "datalinks-abc",
      email: null,
      connect_script_url: "https://cdn.humanapi.co/humanapi-connect-client@latest.js",
      auth_url: "https://auth.humanapi.co",
      data_api_url: "https://api.humanapi.co/v1/human",
      legacy_url: "https://user.humanapi.co",
      legacy_flow: false,
      legacy_connect_script_url: "https://connect.humanapi.co/connect.js",
    },
  };

  function setUpHapi() {
    answerCommands({
      get_provider_settings: () => HAPI,
      save_provider_settings: (args) => ({ ...HAPI, ...(args?.input as object) }),
      list_connections: () => [connectionView({ kind: "disconnected" }, { provider: "humanapi" })],
    });
    render(SettingsForm, { provider: "humanapi" });
  }

  it("shows the person's email and Connect fields instead of a browser transport", async () => {
    setUpHapi();
    await waitFor(async () => expect((await input("client-id")).value).toBe("hapi-client"));
    expect(screen.queryByTestId("transport")).toBeNull();
    expect((await input("hapi-connect-script-url")).value).toMatch(/cdn\.humanapi\.co/);
    expect(screen.getByTestId("hapi-client-user-id").textContent).toBe("datalinks-abc");
  });

  it("saves the email, the legacy option and the auth address as the server", async () => {
    setUpHapi();
    await waitFor(async () => expect((await input("client-id")).value).toBe("hapi-client"));
    await fireEvent.input(await input("hapi-email"), { target: { value: "not an address" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    expect(await screen.findByText(/does not look like an email/)).toBeTruthy();
    expect(callsOf("save_provider_settings")).toHaveLength(0);

    await fireEvent.input(await input("hapi-email"), { target: { value: " ada@example.org " } });
    await fireEvent.input(await input("base-url"), { target: { value: "https://auth.staging.example/" } });
    await fireEvent.click(screen.getByTestId("hapi-legacy-flow"));
    await fireEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_provider_settings")).toHaveLength(1));
    const sent = callsOf("save_provider_settings")[0] as { input: { options: Record<string, unknown> } };
    expect(sent.input.options).toMatchObject({
      kind: "human_api",
      email: "ada@example.org",
      auth_url: "https://auth.staging.example",
      legacy_flow: true,
      client_user_id: "datalinks-abc",
    });
  });
});
