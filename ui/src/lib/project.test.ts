import { describe, expect, it } from "vitest";
import type { ProjectMemberRow } from "./bindings/ProjectMemberRow";
import { filterMembers, invalidMemberIds, parseMemberIds, sortMembers } from "./project";

const row = (id: string, username: string | null, created: string, files: number, sources: string[] = []) =>
  ({ project_member_id: id, username, created, file_count: files, sources_shared: sources }) as ProjectMemberRow;

const MEMBERS = [
  row("30000000", "carol", "2026-03-01T00:00:00Z", 2, ["fitbit"]),
  row("10000000", null, "2026-01-01T00:00:00Z", 9, ["23andme"]),
  row("20000000", "Bob", "2026-02-01T00:00:00Z", 2, ["fitbit", "oura"]),
];

describe("filterMembers", () => {
  it("matches ids, usernames regardless of case, and sources", () => {
    expect(filterMembers(MEMBERS, "2000").map((m) => m.project_member_id)).toEqual(["20000000"]);
    expect(filterMembers(MEMBERS, " bOb ").map((m) => m.project_member_id)).toEqual(["20000000"]);
    expect(filterMembers(MEMBERS, "fitbit").map((m) => m.project_member_id)).toEqual(["30000000", "20000000"]);
    expect(filterMembers(MEMBERS, "")).toHaveLength(3);
  });
});

describe("sortMembers", () => {
  it("orders by join date, files and username, ties by id", () => {
    const ids = (list: ProjectMemberRow[]) => list.map((m) => m.project_member_id);
    expect(ids(sortMembers(MEMBERS, "joined", "asc"))).toEqual(["10000000", "20000000", "30000000"]);
    expect(ids(sortMembers(MEMBERS, "joined", "desc"))).toEqual(["30000000", "20000000", "10000000"]);
    expect(ids(sortMembers(MEMBERS, "files", "asc"))).toEqual(["20000000", "30000000", "10000000"]);
    expect(ids(sortMembers(MEMBERS, "username", "asc"))).toEqual(["10000000", "20000000", "30000000"]);
  });

  it("does not change the list it was given", () => {
    const before = MEMBERS.map((m) => m.project_member_id);
    sortMembers(MEMBERS, "id", "desc");
    expect(MEMBERS.map((m) => m.project_member_id)).toEqual(before);
  });
});

describe("member id lists", () => {
  it("reads ids pasted with commas, spaces or lines, once each", () => {
    expect(parseMemberIds("12345678, 23456789\n12345678 ;34567890\n")).toEqual([
      "12345678",
      "23456789",
      "34567890",
    ]);
    expect(parseMemberIds("  \n")).toEqual([]);
  });

  it("points out what is not an 8-digit id", () => {
    expect(invalidMemberIds(["12345678", "1234", "abcdefgh"])).toEqual(["1234", "abcdefgh"]);
  });
});
