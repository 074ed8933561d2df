import { describe, expect, it } from "vitest";
import { toSettingsInput, validateSettings, type SettingsForm } from "./settings";

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
    expect(validateSettings(valid, true)).toEqual({});
  });

  it("requires a secret when none is stored", () => {
    expect(validateSettings(valid, false).clientSecret).toMatch(/none is stored/);
  });

  it("rejects an empty client ID and a malformed or insecure base URL", () => {
    expect(validateSettings({ ...valid, clientId: "  " }, true).clientId).toMatch(/client ID/);
    expect(validateSettings({ ...valid, baseUrl: "openhumans.org" }, true).baseUrl).toMatch(/complete web address/);
    expect(validateSettings({ ...valid, baseUrl: "ftp://example.org" }, true).baseUrl).toMatch(/https/);
    expect(validateSettings({ ...valid, baseUrl: "http://staging.example.org" }, true).baseUrl).toMatch(
      /only allowed for a server on this computer/,
    );
    expect(validateSettings({ ...valid, baseUrl: "https://x.org/?a=1" }, true).baseUrl).toMatch(/query/);
  });

  it("allows plain http for a server on this computer", () => {
    expect(validateSettings({ ...valid, baseUrl: "http://127.0.0.1:8765" }, true)).toEqual({});
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
