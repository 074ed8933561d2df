// "Load more" for the providers' paged lists, whose rows sit under a key of each page.
import { reportingFailures } from "./notices.svelte";

type Paged<K extends string> = { next_offset: number | null } & Record<K, unknown[]>;

/**
 * `shown` with the next page's `rows` appended after its own; `shown` itself when no page is left
 * or fetching it failed (the failure becomes a notice).
 */
export async function withNextPage<K extends string, P extends Paged<K>>(
  shown: P,
  rows: K,
  fetch: (offset: number) => Promise<P>,
): Promise<P> {
  const offset = shown.next_offset;
  if (offset === null) return shown;
  const page = await reportingFailures(() => fetch(offset));
  return page ? { ...page, [rows]: [...shown[rows], ...page[rows]] } : shown;
}
