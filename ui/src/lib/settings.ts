import type { ProviderSettingsInput } from "./bindings/ProviderSettingsInput";
import type { Transport } from "./bindings/Transport";

export type SettingsForm = {
  clientId: string;
  clientSecret: string;
  baseUrl: string;
  transport: Transport;
};

export type SettingsErrors = Partial<Record<keyof SettingsForm, string>>;

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
export function validateSettings(form: SettingsForm, hasStoredSecret: boolean): SettingsErrors {
  const errors: SettingsErrors = {};
  const clientId = form.clientId.trim();
  if (clientId === "") errors.clientId = "Enter the client ID of your Open Humans project.";
  else if (/\s/.test(clientId)) errors.clientId = "A client ID has no spaces.";
  if (!hasStoredSecret && form.clientSecret.trim() === "") {
    errors.clientSecret = "Enter the client secret; none is stored yet.";
  }
  const urlProblem = baseUrlProblem(form.baseUrl);
  if (urlProblem) errors.baseUrl = urlProblem;
  return errors;
}

/** An empty secret field means "keep the stored secret", which the command spells as null. */
export function toSettingsInput(form: SettingsForm): ProviderSettingsInput {
  const secret = form.clientSecret.trim();
  return {
    client_id: form.clientId.trim(),
    client_secret: secret === "" ? null : secret,
    base_url: form.baseUrl.trim().replace(/\/+$/, ""),
    transport: form.transport,
  };
}
