import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { ProviderSettingsView } from "../lib/bindings/ProviderSettingsView";
import type { RegistrationSettingsView } from "../lib/bindings/RegistrationSettingsView";
import { answerCommands, callsOf, NOW, overview, registration, sandboxRegistration, settingsDefaults } from "../test/tauri";
import ProviderSettings from "./ProviderSettings.svelte";

const OWN: RegistrationSettingsView = {
  registration: registration(),
  client_id: "abc123",
  base_url: "https://www.openhumans.org",
  transport: "loopback",
  loopback_path: "/callback",
  has_client_secret: true,
  options: { kind: "open_humans" },
};

const SANDBOX: RegistrationSettingsView = {
  registration: sandboxRegistration(),
  client_id: "sandbox-client",
  base_url: "",
  transport: "loopback",
  loopback_path: "/callback",
  has_client_secret: true,
  options: { kind: "open_humans" },
};

function settingsView(own: RegistrationSettingsView | null, sandbox: RegistrationSettingsView | null = null): ProviderSettingsView {
  return {
    provider: "openhumans",
    own,
    sandbox,
    registrations: [own, sandbox].flatMap((entry) => (entry ? [{ registration: entry.registration, accounts: [] }] : [])),
    defaults: settingsDefaults("openhumans"),
  };
}

function setUp(view: ProviderSettingsView) {
  answerCommands({
    get_provider_settings: () => view,
    save_provider_settings: (args) => {
      const input = args?.input as { client_id: string; base_url: string; transport: "loopback" | "deep_link" };
      return { ...view, own: { ...OWN, ...input, has_client_secret: true } };
    },
    save_sandbox_settings: (args) => {
      const input = args?.input as { transport: "loopback" | "deep_link" };
      return { ...view, sandbox: { ...SANDBOX, transport: input.transport } };
    },
    list_connections: () => overview(),
  });
  render(ProviderSettings, { provider: "openhumans" });
}

async function input(testId: string): Promise<HTMLInputElement> {
  return (await screen.findByTestId(testId)) as HTMLInputElement;
}

describe("provider settings: the person's own app", () => {
  it("fills in the stored settings and says where the secret is", async () => {
    setUp(settingsView(OWN));
    expect((await input("client-id")).value).toBe("abc123");
    const secret = await input("client-secret");
    expect(secret.type).toBe("password");
    expect(secret.value).toBe("");
    expect(secret.placeholder).toMatch(/stored for this server and client ID/);
    const form = screen.getByTestId("settings-openhumans");
    expect(form.textContent).toMatch(/stored in the OS keyring/);
    expect(form.textContent).toMatch(/http:\/\/127\.0\.0\.1\/callback/);
    expect(form.textContent).toMatch(/makes a new setup that needs its own client secret/);
    expect(screen.queryByRole("tablist")).toBeNull();
    expect(screen.queryByTestId("sandbox-badge")).toBeNull();
  });

  it("keeps the stored secret: an empty secret field is sent as null", async () => {
    setUp(settingsView(OWN));
    await fireEvent.change(await input("transport"), { target: { value: "deep_link" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_provider_settings")).toHaveLength(1));
    expect(callsOf("save_provider_settings")[0]).toEqual({
      provider: "openhumans",
      input: {
        client_id: "abc123",
        client_secret: null,
        base_url: "https://www.openhumans.org",
        transport: "deep_link",
        personal_token: null,
        options: { kind: "open_humans" },
      },
    });
    expect(await screen.findByRole("status")).toBeTruthy();
  });

  it("another server address is a new setup: the stored secret does not carry over", async () => {
    setUp(settingsView(OWN));
    await fireEvent.input(await input("base-url"), { target: { value: "https://staging.openhumans.org/" } });
    expect((await input("client-secret")).placeholder).toBe("");
    expect(screen.getByTestId("settings-openhumans").textContent).toMatch(/make a new setup: enter the client secret/);
    await fireEvent.click(screen.getByTestId("save-settings"));
    expect(screen.getByTestId("settings-openhumans").textContent).toMatch(/none is stored for this server and client ID/);
    expect(callsOf("save_provider_settings")).toEqual([]);

    await fireEvent.input(await input("client-secret"), { target: { value: "staging-secret" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_provider_settings")).toHaveLength(1));
    expect(callsOf("save_provider_settings")[0]).toMatchObject({
      input: { base_url: "https://staging.openhumans.org", client_secret: "staging-secret" },
    });
  });

  it("sends a newly typed secret and the default server for a first setup", async () => {
    setUp(settingsView(null));
    expect((await input("base-url")).value).toBe("https://www.openhumans.org");
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
    expect(callsOf("list_connections")).toHaveLength(1);
  });

  it("shows validation messages and does not save invalid input", async () => {
    setUp(settingsView(null));
    await fireEvent.input(await input("base-url"), { target: { value: "not a url" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    const text = screen.getByTestId("settings-openhumans").textContent;
    expect(text).toMatch(/Enter the client ID/);
    expect(text).toMatch(/none is stored/);
    expect(text).toMatch(/not a complete web address/);
    expect(callsOf("save_provider_settings")).toEqual([]);
  });
});

describe("provider settings: own app and built-in sandbox", () => {
  it("with both, shows two tabs, opens the person's own app, and each tab saves through its own command", async () => {
    setUp(settingsView(OWN, SANDBOX));
    const own = await screen.findByTestId("settings-tab-own-openhumans");
    const sandbox = screen.getByTestId("settings-tab-sandbox-openhumans");
    expect(own.getAttribute("aria-selected")).toBe("true");
    expect(sandbox.getAttribute("aria-selected")).toBe("false");
    expect(screen.getByTestId("settings-openhumans").dataset.sandbox).toBe("false");
    expect((await input("client-id")).value).toBe("abc123");

    await fireEvent.click(sandbox);
    const form = screen.getByTestId("settings-openhumans");
    expect(form.dataset.sandbox).toBe("true");
    expect(form.textContent).toMatch(/built-in sandbox/);
    for (const hidden of ["client-id", "client-secret", "base-url"]) expect(within(form).queryByTestId(hidden)).toBeNull();
    await fireEvent.change(within(form).getByTestId("transport"), { target: { value: "deep_link" } });
    await fireEvent.click(within(form).getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_sandbox_settings")).toHaveLength(1));
    expect(callsOf("save_sandbox_settings")[0]).toEqual({
      provider: "openhumans",
      input: { transport: "deep_link", options: { kind: "open_humans" } },
    });
    expect(callsOf("save_provider_settings")).toEqual([]);
    await within(form).findByRole("status");

    await fireEvent.click(own);
    await fireEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_provider_settings")).toHaveLength(1));
    expect(callsOf("save_sandbox_settings")).toHaveLength(1);
  });

  it("with only the sandbox, opens the sandbox's tab and still offers the person's own app", async () => {
    setUp(settingsView(null, SANDBOX));
    const form = await screen.findByTestId("settings-openhumans");
    expect(form.dataset.sandbox).toBe("true");
    expect(screen.getByTestId("settings-tab-sandbox-openhumans").getAttribute("aria-selected")).toBe("true");
    await fireEvent.click(screen.getByTestId("settings-tab-own-openhumans"));
    expect((await input("client-id")).value).toBe("");
    expect((await input("base-url")).value).toBe("https://www.openhumans.org");
  });

  it("lists which accounts belong to which setup, earlier setups included", async () => {
    const earlier = registration({ id: 9, server: "https://staging.openhumans.org", client_id: "old", retired: true });
    setUp({
      ...settingsView(OWN, SANDBOX),
      registrations: [
        { registration: OWN.registration, accounts: [] },
        { registration: SANDBOX.registration, accounts: [{ account_id: "12345678", username: "alice", connected_at: NOW }] },
        { registration: earlier, accounts: [{ account_id: "55555555", username: null, connected_at: NOW }] },
      ],
    });
    const rows = await screen.findAllByTestId("registration-listing");
    expect(rows.map((row) => [row.dataset.registration, row.dataset.sandbox, row.dataset.retired])).toEqual([
      ["1", "false", "false"],
      ["2", "true", "false"],
      ["9", "false", "true"],
    ]);
    expect(rows[0].textContent).toMatch(/No account connected/);
    expect(rows[1].textContent).toMatch(/alice \(12345678\)/);
    expect(rows[2].textContent).toMatch(/staging\.openhumans\.org.*earlier setup.*55555555/s);
  });
});

describe("open collective settings", () => {
  const OC_OPTIONS = {
    kind: "open_collective" as const,
    api_url: "https://api.opencollective.com",
    loopback_port: null,
    scopes: ["email" as const, "account" as const],
    scope_separator: "comma" as const,
    pkce: true,
  };

  function setUpOc(view: ProviderSettingsView) {
    answerCommands({
      get_provider_settings: () => view,
      oc_scopes: () => [
        { scope: "email", explanation: "Access your email address.", use_in_datalinks: "Datalinks shows your email address." },
        { scope: "account", explanation: "Manage your account, collectives and organizations.", use_in_datalinks: "Not used by Datalinks." },
        { scope: "expenses", explanation: "Create and manage expenses, payout methods.", use_in_datalinks: "Not used by Datalinks." },
      ],
      save_provider_settings: () => view,
      save_sandbox_settings: () => view,
      list_connections: () => overview(),
    });
    render(ProviderSettings, { provider: "opencollective" });
  }

  it("explains each scope and sends the chosen ones with the personal token", async () => {
    setUpOc({ provider: "opencollective", own: null, sandbox: null, registrations: [], defaults: settingsDefaults("opencollective") });
    const expenses = (await screen.findByTestId("oc-scope-expenses")) as HTMLInputElement;
    expect(screen.getByTestId("oc-scopes").textContent).toMatch(/Create and manage expenses/);
    expect(screen.getByTestId("oc-scope-use-expenses").textContent).toMatch(/Not used by Datalinks/);
    expect((await input("oc-scope-email")).checked).toBe(true);
    expect(expenses.checked).toBe(false);
    expect(screen.getByTestId("oc-one-device-warning").textContent).toMatch(/another device disconnects this one/);
    expect((await input("oc-scope-account")).checked).toBe(false);
    expect((await input("oc-pkce")).checked).toBe(true);
    await fireEvent.click(expenses);
    await fireEvent.click(await input("oc-scope-email"));
    await fireEvent.click(await input("oc-pkce"));
    await fireEvent.input(await input("oc-personal-token"), { target: { value: "pt-123" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_provider_settings")).toHaveLength(1));
    const sent = callsOf("save_provider_settings")[0] as { input: Record<string, unknown> };
    expect(sent.input.personal_token).toBe("pt-123");
    expect(sent.input.client_id).toBe("");
    expect(sent.input.transport).toBe("deep_link");
    expect(sent.input.options).toMatchObject({ kind: "open_collective", scopes: ["expenses"], scope_separator: "comma", pkce: false });
    await waitFor(async () => expect((await input("oc-personal-token")).value).toBe(""));
  });

  it("the sandbox's form has no addresses or personal token, and needs no fixed port", async () => {
    const sandbox: RegistrationSettingsView = {
      ...SANDBOX,
      registration: sandboxRegistration("opencollective"),
      transport: "deep_link",
      options: OC_OPTIONS,
    };
    setUpOc({ provider: "opencollective", own: null, sandbox, registrations: [], defaults: settingsDefaults("opencollective") });
    const form = await screen.findByTestId("settings-opencollective");
    expect(within(form).queryByTestId("oc-api-url")).toBeNull();
    expect(within(form).queryByTestId("oc-personal-token")).toBeNull();
    await fireEvent.change(within(form).getByTestId("transport"), { target: { value: "loopback" } });
    await fireEvent.click(within(form).getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_sandbox_settings")).toHaveLength(1));
    expect(callsOf("save_sandbox_settings")[0]).toEqual({
      provider: "opencollective",
      input: { transport: "loopback", options: OC_OPTIONS },
    });
  });
});

describe("human api settings", () => {
  const HAPI: RegistrationSettingsView = {
    registration: registration({ provider: "humanapi", server: "https://auth.humanapi.co", client_id: "hapi-client" }),
    client_id: "hapi-client",
    base_url: "https://auth.humanapi.co",
    transport: "loopback",
    loopback_path: "/callback",
    has_client_secret: true,
    options: {
      kind: "human_api",
      email: null,
      connect_script_url: "https://cdn.humanapi.co/humanapi-connect-client@latest.js",
      auth_url: "https://auth.humanapi.co",
      data_api_url: "https://api.humanapi.co/v1/human",
      legacy_url: "https://user.humanapi.co",
      legacy_flow: false,
      legacy_connect_script_url: "https://connect.humanapi.co/connect.js",
    },
  };

  function setUpHapi(view: ProviderSettingsView) {
    answerCommands({
      get_provider_settings: () => view,
      save_provider_settings: () => view,
      save_sandbox_settings: () => view,
      list_connections: () => overview(),
    });
    render(ProviderSettings, { provider: "humanapi" });
  }

  it("shows the person's email and Connect fields instead of a browser transport", async () => {
    setUpHapi({ provider: "humanapi", own: HAPI, sandbox: null, registrations: [], defaults: settingsDefaults("humanapi") });
    expect((await input("client-id")).value).toBe("hapi-client");
    expect(screen.queryByTestId("transport")).toBeNull();
    expect((await input("hapi-connect-script-url")).value).toMatch(/cdn\.humanapi\.co/);
    expect(screen.getByTestId("settings-humanapi").textContent).toMatch(/a new connection, unless/);
  });

  it("saves the email, the legacy option and the auth address as the server", async () => {
    setUpHapi({ provider: "humanapi", own: HAPI, sandbox: null, registrations: [], defaults: settingsDefaults("humanapi") });
    await fireEvent.input(await input("hapi-email"), { target: { value: "not an address" } });
    await fireEvent.click(screen.getByTestId("save-settings"));
    expect(await screen.findByText(/does not look like an email/)).toBeTruthy();
    expect(callsOf("save_provider_settings")).toHaveLength(0);

    await fireEvent.input(await input("hapi-email"), { target: { value: " ada@example.org " } });
    await fireEvent.click(screen.getByTestId("hapi-legacy-flow"));
    await fireEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_provider_settings")).toHaveLength(1));
    const sent = callsOf("save_provider_settings")[0] as { input: { options: Record<string, unknown> } };
    expect(sent.input.options).toMatchObject({
      kind: "human_api",
      email: "ada@example.org",
      auth_url: "https://auth.humanapi.co",
      legacy_flow: true,
    });
  });

  it("the sandbox's form edits the email and the legacy option only", async () => {
    const sandbox = { ...HAPI, registration: sandboxRegistration("humanapi"), base_url: "" };
    setUpHapi({ provider: "humanapi", own: null, sandbox, registrations: [], defaults: settingsDefaults("humanapi") });
    const form = await screen.findByTestId("settings-humanapi");
    expect(within(form).queryByTestId("hapi-connect-script-url")).toBeNull();
    expect(within(form).queryByTestId("hapi-legacy-url")).toBeNull();
    await fireEvent.input(within(form).getByTestId("hapi-email"), { target: { value: "bob@example.org" } });
    await fireEvent.click(within(form).getByTestId("hapi-legacy-flow"));
    await fireEvent.click(within(form).getByTestId("save-settings"));
    await waitFor(() => expect(callsOf("save_sandbox_settings")).toHaveLength(1));
    expect(callsOf("save_sandbox_settings")[0]).toEqual({
      provider: "humanapi",
      input: { transport: "loopback", options: { ...HAPI.options, email: "bob@example.org", legacy_flow: true } },
    });
  });
});
