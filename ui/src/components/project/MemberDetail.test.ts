import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import type { ProjectMemberRow } from "../../lib/bindings/ProjectMemberRow";
import { answerCommands, callsOf, captureEvents, memberFiles } from "../../test/tauri";
import MemberDetail from "./MemberDetail.svelte";

const MEMBER: ProjectMemberRow = {
  project_member_id: "12345678",
  username: "ada",
  created: "2026-01-02T10:00:00Z",
  sources_shared: ["fitbit"],
  file_count: 4,
};

function show(ownFiles: number) {
  captureEvents();
  answerCommands({
    project_member_files: () => [
      { source: "fitbit", files: memberFiles(2, "fitbit") },
      ...(ownFiles > 0 ? [{ source: "direct-sharing-7", files: memberFiles(ownFiles, "result") }] : []),
    ],
    remove_members: () => 1,
    project_members: () => ({ members: [], sources: [] }),
  });
  const onClose = vi.fn();
  render(MemberDetail, { member: MEMBER, ownSource: "direct-sharing-7", onClose });
  return onClose;
}

describe("removing a member", () => {
  it("warns that the project's files can no longer be deleted once the member is gone", async () => {
    const onClose = show(2);
    await screen.findByTestId("project-delete-all");
    await fireEvent.click(screen.getByTestId("member-remove"));
    const dialog = screen.getByRole("alertdialog");
    expect(dialog.textContent).toMatch(/no longer lets the project delete the 2 files it gave them: delete them first/);
    await fireEvent.click(screen.getByTestId("confirm-project-action"));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    expect(callsOf("remove_members")).toEqual([{ projectMemberIds: ["12345678"] }]);
  });

  it("says nothing about files the project never gave", async () => {
    show(0);
    await waitFor(() => expect(callsOf("project_member_files").length).toBe(1));
    await fireEvent.click(screen.getByTestId("member-remove"));
    expect(screen.getByRole("alertdialog").textContent).not.toMatch(/no longer lets/);
  });
});
