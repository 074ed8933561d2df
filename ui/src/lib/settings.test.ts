import { describe, expect, it } from "vitest";
import { setupIdentity, toSettingsInput, validateSettings, type SettingsForm } from "./settings";

const valid: SettingsForm = {
  clientId: "abc123",
  clientSecret: "",
  baseUrl: "https://www.openhumans.org",
  transport: "loopback",
  personalToken: "",
  options: { kind: "open_humans" },
};

describe("validateSettings", () => {
  it("accepts a complete form when a secret is already stored", () => {
    expect(validateSettings(valid, { hasClientSecret: true })).toEqual({});
  });

  it("requires a secret when none is stored", () => {
    expect(validateSettings(valid, { hasClientSecret: false }).clientSecret).toMatch(/none is stored/);
  });

  it("rejects an empty client ID and a malformed or insecure base URL", () => {
    expect(validateSettings({ ...valid, clientId: "  " }, { hasClientSecret: true }).clientId).toMatch(/client ID/);
    expect(validateSettings({ ...valid, baseUrl: "openhumans.org" }, { hasClientSecret: true }).baseUrl).toMatch(/complete web address/);
    expect(validateSettings({ ...valid, baseUrl: "ftp://example.org" }, { hasClientSecret: true }).baseUrl).toMatch(/https/);
    expect(validateSettings({ ...valid, baseUrl: "http://staging.example.org" }, { hasClientSecret: true }).baseUrl).toMatch(
      /only allowed for a server on this computer/,
    );
    expect(validateSettings({ ...valid, baseUrl: "https://x.org/?a=1" }, { hasClientSecret: true }).baseUrl).toMatch(/query/);
  });

  it("allows plain http for a server on this computer", () => {
    expect(validateSettings({ ...valid, baseUrl: "http://127.0.0.1:8765" }, { hasClientSecret: true })).toEqual({});
  });
});

describe("validateSettings for the sandbox", () => {
  it("checks only what the sandbox's form shows", () => {
    const sandbox = { ...valid, clientId: "", baseUrl: "" };
    expect(validateSettings(sandbox, { hasClientSecret: false }, true)).toEqual({});
  });

  it("needs no fixed Open Collective port on the sandbox, but one for the person's own app", () => {
    const oc: SettingsForm = {
      ...valid,
      options: { kind: "open_collective", api_url: "https://api.opencollective.com", loopback_port: null, scopes: [], scope_separator: "comma", pkce: true },
    };
    expect(validateSettings(oc, { hasClientSecret: false }, true)).toEqual({});
    expect(validateSettings(oc, { hasClientSecret: false }).transport).toMatch(/fixed port/);
  });
});

describe("setupIdentity", () => {
  it("changes with the client ID or a server address, not with the transport or a trailing slash", () => {
    const identity = setupIdentity(valid);
    expect(setupIdentity({ ...valid, transport: "deep_link", baseUrl: "https://www.openhumans.org/" })).toBe(identity);
    expect(setupIdentity({ ...valid, clientId: "other" })).not.toBe(identity);
    expect(setupIdentity({ ...valid, baseUrl: "https://staging.openhumans.org" })).not.toBe(identity);
  });
});

describe("toSettingsInput", () => {
  it("sends null for an empty secret and trims the rest", () => {
    expect(toSettingsInput({ ...valid, clientId: " abc123 ", baseUrl: "https://staging.example.org/" })).toEqual({
      client_id: "abc123",
      client_secret: null,
      base_url: "https://staging.example.org",
      transport: "loopback",
      personal_token: null,
      options: { kind: "open_humans" },
    });
  });
});
