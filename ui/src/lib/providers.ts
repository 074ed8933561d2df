import type { Provider } from "./bindings/Provider";

export function providerName(provider: Provider): string {
  switch (provider) {
    case "openhumans":
      return "Open Humans";
  }
}

export const DEFAULT_BASE_URL: Record<Provider, string> = {
  openhumans: "https://www.openhumans.org",
};
