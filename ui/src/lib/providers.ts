import type { Provider } from "./bindings/Provider";

/** The stable key used in data-testid names, keyring entries and the CLI ("openhumans"). */
export function providerKey(provider: Provider): string {
  switch (provider) {
    case "open_humans":
      return "openhumans";
  }
}

export function providerName(provider: Provider): string {
  switch (provider) {
    case "open_humans":
      return "Open Humans";
  }
}

export const DEFAULT_BASE_URL: Record<Provider, string> = {
  open_humans: "https://www.openhumans.org",
};
