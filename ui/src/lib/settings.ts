import type { ProviderOptions } from "./bindings/ProviderOptions";
import type { ProviderSettingsInput } from "./bindings/ProviderSettingsInput";
import type { Transport } from "./bindings/Transport";

export type SettingsForm = {
  clientId: string;
  clientSecret: string;
  baseUrl: string;
  transport: Transport;
  /** Open Collective only; empty keeps the stored one. */
  personalToken: string;
  options: ProviderOptions;
};

export type SettingsErrors = Partial<
  Record<keyof SettingsForm | "email" | "connectScriptUrl" | "dataApiUrl" | "legacyUrl" | "legacyConnectScriptUrl", string>
>;

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

function baseUrlProblem(raw: string): string | undefined {
  const value = raw.trim();
  if (value === "") return "Enter the server's address, for example https://www.openhumans.org.";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "This is not a complete web address. It should look like https://www.openhumans.org.";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return "The address must start with https://.";
  }
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname)) {
    return "Use https:// — plain http:// is only allowed for a server on this computer.";
  }
  if (url.username || url.password) return "Leave out any user name or password in the address.";
  if (url.search || url.hash) return "Leave out the ?query and #fragment parts of the address.";
  return undefined;
}

/** Client-side checks for clear messages; the Rust side validates again. */
export function validateSettings(
  form: SettingsForm,
  hasStoredSecret: boolean,
  hasStoredPersonalToken = false,
): SettingsErrors {
  const errors: SettingsErrors = {};
  const clientId = form.clientId.trim();
  // Open Collective exchanges codes with PKCE alone, and a personal token needs no app at all.
  const openCollective = form.options.kind === "open_collective";
  const hasPersonalToken = hasStoredPersonalToken || form.personalToken.trim() !== "";
  if (clientId === "" && !(openCollective && hasPersonalToken)) {
    errors.clientId = openCollective
      ? "Enter the client ID of your Open Collective app, or paste a personal token."
      : form.options.kind === "human_api"
        ? "Enter the client ID of your Human API app."
        : "Enter the client ID of your Open Humans project.";
  } else if (/\s/.test(clientId)) errors.clientId = "A client ID has no spaces.";
  if (!openCollective && !hasStoredSecret && form.clientSecret.trim() === "") {
    errors.clientSecret = "Enter the client secret; none is stored yet.";
  }
  if (openCollective && form.options.kind === "open_collective") {
    const port = form.options.loopback_port;
    if (form.transport === "loopback" && (port === null || !Number.isInteger(port) || port < 1 || port > 65535)) {
      errors.transport = "Open Collective compares the whole callback URL: enter the fixed port it is registered with.";
    }
  }
  const urlProblem = baseUrlProblem(form.baseUrl);
  if (urlProblem) errors.baseUrl = urlProblem;
  if (form.options.kind === "human_api") {
    const email = form.options.email?.trim() ?? "";
    if (email !== "" && !/^[^\s@]+@[^\s@]+$/.test(email)) errors.email = "This does not look like an email address.";
    for (const [field, value] of [
      ["connectScriptUrl", form.options.connect_script_url],
      ["dataApiUrl", form.options.data_api_url],
      ["legacyUrl", form.options.legacy_url],
      ["legacyConnectScriptUrl", form.options.legacy_connect_script_url],
    ] as const) {
      const problem = baseUrlProblem(value);
      if (problem) errors[field] = problem;
    }
  }
  return errors;
}

/** An empty secret field means "keep the stored secret", which the command spells as null. */
export function toSettingsInput(form: SettingsForm): ProviderSettingsInput {
  const secret = form.clientSecret.trim();
  const personalToken = form.personalToken.trim();
  return {
    client_id: form.clientId.trim(),
    client_secret: secret === "" ? null : secret,
    base_url: form.baseUrl.trim().replace(/\/+$/, ""),
    transport: form.transport,
    personal_token: personalToken === "" ? null : personalToken,
    // Human API's server is its auth service.
    options:
      form.options.kind === "human_api"
        ? { ...form.options, auth_url: form.baseUrl.trim().replace(/\/+$/, "") }
        : form.options,
  };
}
