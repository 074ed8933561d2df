// Pure helpers of the researcher console: finding and ordering members, and reading pasted
// lists of member ids.
import type { ProjectDownloadRequest } from "./bindings/ProjectDownloadRequest";
import type { ProjectMemberRow } from "./bindings/ProjectMemberRow";

export type MemberSort = "joined" | "id" | "username" | "files";
export type SortDirection = "asc" | "desc";

/** Members whose id, username or a shared source contains `query` (case-insensitive). */
export function filterMembers(members: readonly ProjectMemberRow[], query: string): ProjectMemberRow[] {
  const needle = query.trim().toLowerCase();
  if (needle === "") return [...members];
  return members.filter(
    (member) =>
      member.project_member_id.includes(needle) ||
      (member.username ?? "").toLowerCase().includes(needle) ||
      member.sources_shared.some((source) => source.toLowerCase().includes(needle)),
  );
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A sorted copy; ties keep the id order so the list does not jump. */
export function sortMembers(
  members: readonly ProjectMemberRow[],
  by: MemberSort,
  direction: SortDirection,
): ProjectMemberRow[] {
  const sign = direction === "asc" ? 1 : -1;
  const key: Record<MemberSort, (a: ProjectMemberRow, b: ProjectMemberRow) => number> = {
    // Open Humans datetimes share one format, so text order is time order.
    joined: (a, b) => compareText(a.created, b.created),
    id: (a, b) => compareText(a.project_member_id, b.project_member_id),
    username: (a, b) => compareText((a.username ?? "").toLowerCase(), (b.username ?? "").toLowerCase()),
    files: (a, b) => a.file_count - b.file_count,
  };
  return [...members].sort(
    (a, b) => sign * key[by](a, b) || compareText(a.project_member_id, b.project_member_id),
  );
}

/** Member ids from pasted text: separated by commas, spaces or lines; duplicates dropped. */
export function parseMemberIds(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).filter((id) => id !== ""))];
}

/** Ids in `ids` that are not project member ids (8 digits). */
export function invalidMemberIds(ids: readonly string[]): string[] {
  return ids.filter((id) => !/^\d{8}$/.test(id));
}

/** ohproj-download's defaults: shared sources, every size, 8 at a time, the default folder. */
export function defaultDownloadRequest(): ProjectDownloadRequest {
  return {
    only: null,
    exclude: [],
    source: null,
    project_data: false,
    max_size: null,
    id_prefix: false,
    concurrency: 8,
  };
}
