import { fireEvent, screen, waitFor } from "@testing-library/svelte";
import { afterEach, describe, expect, it } from "vitest";
import type { ChecklistItem } from "../lib/bindings/ChecklistItem";
import type { ProjectChecklist } from "../lib/bindings/ProjectChecklist";
import { closeProject, renderOpenProject } from "../test/console";
import { callsOf, NOW } from "../test/tauri";

function item(step: ChecklistItem["step"], overrides: Partial<ChecklistItem> = {}): ChecklistItem {
  return {
    step,
    guide_step: 1,
    title: step,
    detail: "What it asks.",
    seen_by_datalinks: true,
    screen: "website",
    done_at: null,
    ...overrides,
  };
}

function checklist(guidelinesDone: boolean): ProjectChecklist {
  return {
    items: [
      item("project_created", { title: "Create the project", done_at: NOW - 60 }),
      item("messaging", { guide_step: 8, title: "Test messaging", screen: "message" }),
      item("guidelines", {
        guide_step: 10,
        title: "Review the project guidelines",
        seen_by_datalinks: false,
        done_at: guidelinesDone ? NOW : null,
      }),
      item("approval", { guide_step: 11, title: "Request project approval", seen_by_datalinks: false }),
    ],
    approved: false,
    is_study: true,
    members: 19,
    member_cap: 20,
  };
}

afterEach(closeProject);

describe("approval checklist", () => {
  it("shows what Datalinks saw, the member cap, and ticks the researcher's own steps", async () => {
    renderOpenProject({
      project_checklist: () => checklist(false),
      tick_checklist_step: (args) => checklist(Boolean(args?.done)),
    });
    await fireEvent.click(await screen.findByTestId("project-tab-checklist"));
    const items = await screen.findAllByTestId("checklist-item");
    expect(items.map((el) => el.dataset.step)).toEqual(["project_created", "messaging", "guidelines", "approval"]);
    expect(items[0].textContent).toMatch(/Seen /);
    expect(items[1].textContent).toMatch(/Not seen yet/);
    expect(items[3].textContent).toMatch(/ethics board/);
    expect(screen.getByTestId("member-cap").textContent).toMatch(/19 members of at most 20/);
    expect(screen.getByTestId("checklist-progress").textContent).toBe("1 of 4 steps done.");

    const tick = items[2].querySelector('[data-testid="checklist-tick"]') as HTMLInputElement;
    await fireEvent.click(tick);
    await waitFor(() => expect(screen.getByTestId("checklist-progress").textContent).toBe("2 of 4 steps done."));
    expect(callsOf("tick_checklist_step")).toEqual([{ step: "guidelines", done: true }]);
  });

  it("opens the screen a step is done on, and shows a refused tick at its step", async () => {
    renderOpenProject({
      project_checklist: () => checklist(false),
      tick_checklist_step: () => {
        throw { code: "keyring_unavailable", message: "The database is busy; try again." };
      },
    });
    await fireEvent.click(await screen.findByTestId("project-tab-checklist"));
    const items = await screen.findAllByTestId("checklist-item");
    const box = items[3].querySelector('[data-testid="checklist-tick"]') as HTMLInputElement;
    await fireEvent.click(box);
    expect((await screen.findByRole("alert")).closest('[data-testid="checklist-item"]')).toBe(items[3]);
    expect(box.checked, "not saved, so not shown ticked").toBe(false);

    await fireEvent.click(items[1].querySelector('[data-testid="checklist-go"]')!);
    expect(await screen.findByTestId("message-subject")).toBeTruthy();
  });
});
