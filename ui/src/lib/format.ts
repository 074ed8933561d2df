// Dates reach the UI in two shapes: unix seconds (our own records) and ISO 8601 strings (as the
// provider sent them).

const absoluteFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});

export function formatUnix(seconds: number): string {
  return absoluteFormat.format(new Date(seconds * 1000));
}

export function formatIso(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : absoluteFormat.format(date);
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** "in 3 hours", "2 minutes ago" relative to `nowSeconds`. */
export function formatRelative(seconds: number, nowSeconds: number): string {
  const delta = Math.round(seconds - nowSeconds);
  for (const [unit, size] of UNITS) {
    if (Math.abs(delta) >= size || unit === "second") {
      return relativeFormat.format(Math.round(delta / size), unit);
    }
  }
  return relativeFormat.format(0, "second");
}

/** "4:05" (minutes:seconds) or "1:02:03"; never negative. */
export function formatCountdown(remainingSeconds: number): string {
  const total = Math.max(0, Math.floor(remainingSeconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

const numberFormat = new Intl.NumberFormat();

/** "1 member", "1,234 members": the count as the person's locale writes it, and the noun agreeing. */
export function formatCount(count: number, noun: string, plural = `${noun}s`): string {
  return `${numberFormat.format(count)} ${count === 1 ? noun : plural}`;
}

const BYTE_UNITS = ["bytes", "KB", "MB", "GB", "TB"];

/** "512 bytes", "3.4 MB" (powers of 1000, as file managers show sizes). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** The day of an ISO 8601 date, as the person's locale writes it. */
export function formatIsoDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateFormat.format(date);
}

/** "$12.50", "€3.00": an amount in the currency's minor unit (cents), in the person's locale. */
export function formatMoney(valueInCents: number, currency: string): string {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(valueInCents / 100);
  } catch {
    // Not an ISO 4217 code Intl knows.
    return `${(valueInCents / 100).toFixed(2)} ${currency}`;
  }
}
