import type { AccountSummary } from "./bindings/AccountSummary";
import type { Provider } from "./bindings/Provider";
import type { ProviderOptions } from "./bindings/ProviderOptions";

export function providerName(provider: Provider): string {
  switch (provider) {
    case "openhumans":
      return "Open Humans";
    case "opencollective":
      return "Open Collective";
    case "humanapi":
      return "Human API";
  }
}

export const DEFAULT_BASE_URL: Record<Provider, string> = {
  openhumans: "https://www.openhumans.org",
  opencollective: "https://opencollective.com",
  humanapi: "https://auth.humanapi.co",
};

/** The options a provider starts with, matching the Rust defaults. */
export function defaultOptions(provider: Provider): ProviderOptions {
  switch (provider) {
    case "openhumans":
      return { kind: "open_humans" };
    case "opencollective":
      return {
        kind: "open_collective",
        api_url: "https://api.opencollective.com",
        loopback_port: null,
        scopes: ["email"],
        scope_separator: "comma",
        pkce: true,
      };
    case "humanapi":
      return {
        kind: "human_api",
        email: null,
        connect_script_url: "https://cdn.humanapi.co/humanapi-connect-client@latest.js",
        auth_url: "https://auth.humanapi.co",
        data_api_url: "https://api.humanapi.co/v1/human",
        legacy_url: "https://user.humanapi.co",
        legacy_flow: false,
        legacy_connect_script_url: "https://connect.humanapi.co/connect.js",
      };
  }
}

export const PROVIDERS: readonly Provider[] = ["openhumans", "opencollective", "humanapi"];

/** How an account is named on screen: its username and the provider's id for it. */
export function accountLabel(account: AccountSummary): string {
  return account.username && account.username !== account.account_id
    ? `${account.username} (${account.account_id})`
    : account.account_id;
}

/** Open Collective keeps one token per account and app: linking elsewhere ends this link. */
export const OC_ONE_DEVICE_WARNING =
  "Open Collective keeps one link per account and app: linking the same Open Collective account from another device disconnects this one.";
