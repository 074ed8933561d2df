// The researcher console's shared state: the open project, its members, the selection and the
// running bulk download. A refused master token (reconnect_needed) closes the project here too,
// so the console asks for a fresh token.
import { SvelteSet } from "svelte/reactivity";
import { api, normalizeError, type AppError } from "./api";
import type { DownloadProgress } from "./bindings/DownloadProgress";
import type { ListingProgressView } from "./bindings/ListingProgressView";
import type { PickId } from "./bindings/PickId";
import type { ProjectDownloadRequest } from "./bindings/ProjectDownloadRequest";
import type { DownloadSummary } from "./bindings/DownloadSummary";
import type { ProjectMemberRow } from "./bindings/ProjectMemberRow";
import type { ProjectMembers } from "./bindings/ProjectMembers";
import type { ProjectView } from "./bindings/ProjectView";
import { notices } from "./notices.svelte";

let project = $state<ProjectView | null>(null);
// Raw: thousands of rows are replaced wholesale, never edited in place, so no deep proxies.
let members = $state.raw<ProjectMembers | null>(null);
let listing = $state.raw<ListingProgressView | null>(null);
let loadingMembers = $state(false);
/** Why the console asks for a token again (expired or refused), if it does. */
let closedBecause = $state<string | null>(null);
let downloading = $state(false);
let downloadProgress = $state<DownloadProgress | null>(null);
let downloadSummary = $state<DownloadSummary | null>(null);
const selected = new SvelteSet<string>();
let expiring = false;

function reset(reason: string | null) {
  project = null;
  members = null;
  listing = null;
  downloadProgress = null;
  downloadSummary = null;
  selected.clear();
  closedBecause = reason;
}

/** Runs a console command; failures become notices, a refused token closes the project. */
async function guarded<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (raw) {
    const error: AppError = normalizeError(raw);
    if (error.code === "reconnect_needed") reset(error.message);
    else notices.push(error);
    return undefined;
  }
}

export const projectConsole = {
  get project() {
    return project;
  },
  get members() {
    return members;
  },
  get listing() {
    return listing;
  },
  get loadingMembers() {
    return loadingMembers;
  },
  get closedBecause() {
    return closedBecause;
  },
  get downloading() {
    return downloading;
  },
  get downloadProgress() {
    return downloadProgress;
  },
  get downloadSummary() {
    return downloadSummary;
  },
  selected,
  guarded,

  /** A project was opened: its members are listed once (Refresh lists them again). */
  opened(view: ProjectView) {
    reset(null);
    project = view;
    projectConsole.loadMembers(false);
  },

  /** The open project, or the one whose token the keyring keeps. */
  async resume() {
    const view = await guarded(() => api.currentProject());
    if (view) projectConsole.opened(view);
  },

  async close(forget: boolean) {
    if ((await guarded(() => api.closeProject(forget))) !== undefined) reset(null);
  },

  /** The token's 24 hours are over: close without asking Open Humans. */
  /** Closes the project once its token expired; the countdown asks every second until it is closed. */
  async expire() {
    if (expiring) return;
    expiring = true;
    try {
      await guarded(() => api.closeProject(false));
      reset("The master token is more than 24 hours old and has expired: paste a fresh one from the project's page.");
    } finally {
      expiring = false;
    }
  },

  async loadMembers(refresh: boolean) {
    if (loadingMembers) return;
    loadingMembers = true;
    listing = null;
    // The first time, members show page by page as they arrive; a refresh keeps the old list
    // until the new one is complete.
    const streamed: ProjectMemberRow[] = [];
    const showPages = members === null;
    const onPage = (progress: ListingProgressView) => {
      listing = progress;
      streamed.push(...progress.page);
      if (showPages) members = { members: [...streamed], sources: [] };
    };
    try {
      const listed = await guarded(() => api.projectMembers(refresh, onPage));
      if (listed) {
        members = listed;
        const present = new Set(listed.members.map((m) => m.project_member_id));
        for (const id of [...selected]) if (!present.has(id)) selected.delete(id);
      }
    } finally {
      loadingMembers = false;
    }
  },

  async download(request: ProjectDownloadRequest, dest: PickId | null) {
    if (downloading) return;
    downloading = true;
    downloadProgress = null;
    downloadSummary = null;
    try {
      downloadSummary =
        (await guarded(() => api.downloadProjectFiles(request, dest, (update) => (downloadProgress = update)))) ?? null;
    } finally {
      downloading = false;
    }
  },

  cancelDownload() {
    guarded(() => api.cancelDownloads());
  },
};
