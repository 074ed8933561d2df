import type { AccountSummary } from "./bindings/AccountSummary";
import type { Provider } from "./bindings/Provider";

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
