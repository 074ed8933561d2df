// Typed wrappers around the Tauri commands and events. Tokens and client secrets never reach
// this side: Rust keeps them in the OS keyring and only reports where they live.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AuditFacets } from "./bindings/AuditFacets";
import type { AuditFilter } from "./bindings/AuditFilter";
import type { AuditPage } from "./bindings/AuditPage";
import type { ChecklistStep } from "./bindings/ChecklistStep";
import type { ConsentLedger } from "./bindings/ConsentLedger";
import type { ConnectionId } from "./bindings/ConnectionId";
import type { ConnectionsOverview } from "./bindings/ConnectionsOverview";
import type { DeleteTargetInput } from "./bindings/DeleteTargetInput";
import type { Departure } from "./bindings/Departure";
import type { DepartureInbox } from "./bindings/DepartureInbox";
import type { DisconnectReceipt } from "./bindings/DisconnectReceipt";
import type { DownloadProgress } from "./bindings/DownloadProgress";
import type { DownloadSummary } from "./bindings/DownloadSummary";
import type { Error as AppError } from "./bindings/Error";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { ExportedMetadata } from "./bindings/ExportedMetadata";
import type { FileGroup } from "./bindings/FileGroup";
import type { ConnectedSource } from "./bindings/ConnectedSource";
import type { HapiActivity } from "./bindings/HapiActivity";
import type { HapiPage } from "./bindings/HapiPage";
import type { HapiProfile } from "./bindings/HapiProfile";
import type { HapiReport } from "./bindings/HapiReport";
import type { HapiSource } from "./bindings/HapiSource";
import type { HistoryEvent } from "./bindings/HistoryEvent";
import type { ListingProgressView } from "./bindings/ListingProgressView";
import type { LocalCopiesDeleted } from "./bindings/LocalCopiesDeleted";
import type { MemberList } from "./bindings/MemberList";
import type { MemberOverview } from "./bindings/MemberOverview";
import type { MessagePreview } from "./bindings/MessagePreview";
import type { MessageRequest } from "./bindings/MessageRequest";
import type { PickedPath } from "./bindings/PickedPath";
import type { PickId } from "./bindings/PickId";
import type { PickPurpose } from "./bindings/PickPurpose";
import type { ProjectChecklist } from "./bindings/ProjectChecklist";
import type { ProjectDownloadRequest } from "./bindings/ProjectDownloadRequest";
import type { ProjectMembers } from "./bindings/ProjectMembers";
import type { ProjectStats } from "./bindings/ProjectStats";
import type { ProjectUploadReport } from "./bindings/ProjectUploadReport";
import type { ProjectUploadRequest } from "./bindings/ProjectUploadRequest";
import type { ProjectView } from "./bindings/ProjectView";
import type { OcExpense } from "./bindings/OcExpense";
import type { OcMembership } from "./bindings/OcMembership";
import type { OcOverview } from "./bindings/OcOverview";
import type { OcPage } from "./bindings/OcPage";
import type { OcTransaction } from "./bindings/OcTransaction";
import type { Provider } from "./bindings/Provider";
import type { ProviderSettingsInput } from "./bindings/ProviderSettingsInput";
import type { ProviderSettingsView } from "./bindings/ProviderSettingsView";
import type { ReceiverSettings } from "./bindings/ReceiverSettings";
import type { ReceiverView } from "./bindings/ReceiverView";
import type { RegistrationId } from "./bindings/RegistrationId";
import type { SandboxSettingsInput } from "./bindings/SandboxSettingsInput";
import type { SavedReport } from "./bindings/SavedReport";
import type { ScopeDescription } from "./bindings/ScopeDescription";
import type { SignInTarget } from "./bindings/SignInTarget";
import type { UploadedFile } from "./bindings/UploadedFile";
import type { UploadInput } from "./bindings/UploadInput";
import type { UploadProgress } from "./bindings/UploadProgress";
import type { WebhookCheck } from "./bindings/WebhookCheck";

export type { AppError, HistoryEvent };

const ERROR_CODES: readonly ErrorCode[] = [
  "invalid_input",
  "not_configured",
  "keyring_unavailable",
  "callback_refused",
  "state_mismatch",
  "authorization_denied",
  "provider_error",
  "reconnect_needed",
  "unreachable",
  "rate_limited",
  "not_found",
  "storage",
  "cancelled",
  "internal",
];

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/** Turns whatever a rejected invoke or a thrown value carries into `{code, message}`. */
export function normalizeError(raw: unknown): AppError {
  if (raw && typeof raw === "object") {
    const record = raw as Record<string, unknown>;
    const message =
      typeof record.message === "string" && record.message.trim() !== ""
        ? record.message
        : undefined;
    if (isErrorCode(record.code)) {
      return { code: record.code, message: message ?? record.code.replace(/_/g, " ") };
    }
    if (message !== undefined) {
      return { code: "internal", message };
    }
  }
  if (typeof raw === "string" && raw.trim() !== "") {
    return { code: "internal", message: raw };
  }
  return { code: "internal", message: "Something went wrong, and no details were given." };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw normalizeError(raw);
  }
}

export const api = {
  listConnections: () => call<ConnectionsOverview>("list_connections"),
  getProviderSettings: (provider: Provider) => call<ProviderSettingsView>("get_provider_settings", { provider }),
  /** The person's own registration; another server or client ID makes a new one. */
  saveProviderSettings: (provider: Provider, input: ProviderSettingsInput) =>
    call<ProviderSettingsView>("save_provider_settings", { provider, input }),
  /** The sandbox registration's transport and provider options. */
  saveSandboxSettings: (provider: Provider, input: SandboxSettingsInput) =>
    call<ProviderSettingsView>("save_sandbox_settings", { provider, input }),
  startSandbox: () => call<ConnectionsOverview>("start_sandbox"),
  /** Signs a new account in at a registration, or a connection again, in the system browser. */
  connect: (target: SignInTarget) => call<ConnectionsOverview>("connect", { target }),
  cancelConnect: (registration: RegistrationId) => call<ConnectionsOverview>("cancel_connect", { registration }),
  /** Switches a waiting sign-in's setup to the local-address redirect and signs in again. */
  useLoopback: (registration: RegistrationId) => call<ConnectionsOverview>("use_loopback", { registration }),
  retry: (connection: ConnectionId) => call<ConnectionsOverview>("retry", { connection }),
  disconnect: (connection: ConnectionId) => call<DisconnectReceipt>("disconnect", { connection }),
  history: (connection: ConnectionId) => call<HistoryEvent[]>("history", { connection }),
  /** Opens a page a disconnect receipt linked to, in the system browser. */
  openReceiptLink: (url: string) => call<null>("open_receipt_link", { url }),
  memberOverview: (connection: ConnectionId) => call<MemberOverview>("member_overview", { connection }),
  /** Downloads these files (all of the member's files when empty); progress comes as events. */
  downloadFiles: (connection: ConnectionId, fileIds: number[], onProgress: (progress: DownloadProgress) => void) =>
    call<DownloadSummary>("download_files", { connection, fileIds, onProgress: progressChannel(onProgress) }),
  cancelDownloads: () => call<boolean>("cancel_downloads"),
  getDownloadFolder: () => call<string>("get_download_folder"),
  /** The system's folder dialog; Rust keeps the choice. The new folder, or null when cancelled. */
  chooseDownloadFolder: () => call<string | null>("choose_download_folder"),
  /**
   * The system's file or folder dialog for one use; null when cancelled. The page never names a
   * path: it gets an id for what the person chose, accepted only for that use.
   */
  choosePath: (purpose: PickPurpose) => call<PickedPath | null>("choose_path", { purpose }),
  /** Uploads a file chosen for upload_file to the project as the member; progress comes as events. */
  uploadFile: (connection: ConnectionId, file: PickId, input: UploadInput, onProgress: (progress: UploadProgress) => void) =>
    call<UploadedFile>("upload_file", { connection, file, input, onProgress: progressChannel(onProgress) }),
  /** Deletes files the project uploaded for the member; returns the deleted ids. */
  deleteFiles: (connection: ConnectionId, target: DeleteTargetInput) =>
    call<number[]>("delete_files", { connection, target }),

  // The researcher console. The master token goes in once and never comes back.
  openProject: (masterToken: string, remember: boolean) =>
    call<ProjectView>("open_project", { masterToken, remember }),
  currentProject: () => call<ProjectView | null>("current_project"),
  closeProject: (forget: boolean) => call<null>("close_project", { forget }),
  /** Each page of a listing goes to `onPage` as it arrives. */
  projectMembers: (refresh: boolean, onPage: (progress: ListingProgressView) => void) =>
    call<ProjectMembers>("project_members", { refresh, onPage: progressChannel(onPage) }),
  projectMemberFiles: (projectMemberId: string) =>
    call<FileGroup[]>("project_member_files", { projectMemberId }),
  /** Into a folder chosen for project_download_folder, or the project's own folder when null. */
  downloadProjectFiles: (
    request: ProjectDownloadRequest,
    dest: PickId | null,
    onProgress: (progress: DownloadProgress) => void,
  ) => call<DownloadSummary>("download_project_files", { request, dest, onProgress: progressChannel(onProgress) }),
  /** The ids in a member list file the person chooses; null when cancelled. */
  readMemberList: () => call<MemberList | null>("read_member_list"),
  /** Asks where to save with the system's save dialog; null when cancelled. */
  exportProjectMetadata: () => call<ExportedMetadata | null>("export_project_metadata"),
  previewMessage: (request: MessageRequest) => call<MessagePreview>("preview_message", { request }),
  sendMessage: (request: MessageRequest) => call<number>("send_message", { request }),
  uploadToMembers: (request: ProjectUploadRequest, dir: PickId, metadataCsv: PickId) =>
    call<ProjectUploadReport>("upload_to_members", { request, dir, metadataCsv }),
  deleteMemberFiles: (projectMemberId: string, target: DeleteTargetInput) =>
    call<number[]>("delete_member_files", { projectMemberId, target }),
  removeMembers: (projectMemberIds: string[]) => call<number>("remove_members", { projectMemberIds }),
  projectStats: () => call<ProjectStats>("project_stats"),

  /** The built-in sandbox's project, with the sandbox's own master token (never seen here). */
  openSandboxProject: () => call<ProjectView>("open_sandbox_project"),
  projectChecklist: () => call<ProjectChecklist>("project_checklist"),
  /** Only the steps the researcher checks; Rust refuses the ones it marks itself. */
  tickChecklistStep: (step: ChecklistStep, done: boolean) =>
    call<ProjectChecklist>("tick_checklist_step", { step, done }),

  departures: () => call<DepartureInbox>("departures"),
  /** The secret goes to the keyring; the window never gets it back. */
  setWebhookSecret: (secret: string) => call<ReceiverView>("set_webhook_secret", { secret }),
  startWebhookReceiver: (settings: ReceiverSettings) => call<ReceiverView>("start_webhook_receiver", { settings }),
  stopWebhookReceiver: () => call<ReceiverView>("stop_webhook_receiver"),
  checkWebhookDelivery: (body: string, signature: string) =>
    call<WebhookCheck>("check_webhook_delivery", { body, signature }),
  deleteDepartedMemberFiles: (id: number) => call<Departure>("delete_departed_member_files", { id }),
  deleteDepartedMemberLocalCopies: (id: number) => call<Departure>("delete_departed_member_local_copies", { id }),
  markDepartureHandled: (id: number, note: string | null) => call<Departure>("mark_departure_handled", { id, note }),

  /** Every connection: what it granted, its secrets, local copies; asks each provider. */
  consentLedger: () => call<ConsentLedger>("consent_ledger"),
  /** Deletes the files downloaded for a connection on this computer. */
  deleteLocalCopies: (connection: ConnectionId) => call<LocalCopiesDeleted>("delete_local_copies", { connection }),
  /** The newest requests that match, as many as the view shows. */
  auditLog: (filter: AuditFilter) => call<AuditPage>("audit_log", { filter }),
  auditFacets: () => call<AuditFacets>("audit_facets"),
  /** Asks where to save with the system's save dialog; how many rows, or null when cancelled. */
  exportAuditCsv: (filter: AuditFilter) => call<number | null>("export_audit_csv", { filter }),

  ocOverview: (connection: ConnectionId) => call<OcOverview>("oc_overview", { connection }),
  ocMemberships: (connection: ConnectionId, offset: number) =>
    call<OcPage<OcMembership>>("oc_memberships", { connection, offset }),
  ocTransactions: (connection: ConnectionId, offset: number) =>
    call<OcPage<OcTransaction>>("oc_transactions", { connection, offset }),
  ocExpenses: (connection: ConnectionId, offset: number) =>
    call<OcPage<OcExpense>>("oc_expenses", { connection, offset }),
  ocScopes: () => call<ScopeDescription[]>("oc_scopes"),

  /** Opens Human API Connect in its own window (a new person, or more sources for a connection). */
  hapiOpenConnect: (target: SignInTarget) => call<ConnectionsOverview>("hapi_open_connect", { target }),
  hapiConnectedSources: (connection: ConnectionId) =>
    call<ConnectedSource[]>("hapi_connected_sources", { connection }),
  hapiProfile: (connection: ConnectionId) => call<HapiProfile>("hapi_profile", { connection }),
  hapiSources: (connection: ConnectionId) => call<HapiSource[]>("hapi_sources", { connection }),
  hapiReports: (connection: ConnectionId, offset: number) =>
    call<HapiPage<HapiReport>>("hapi_reports", { connection, offset }),
  /** Asks where to save with the system's save dialog; null when the person cancels. */
  hapiSaveReportPdf: (connection: ConnectionId, reportId: string) =>
    call<SavedReport | null>("hapi_save_report_pdf", { connection, reportId }),
  hapiActivities: (connection: ConnectionId, offset: number) =>
    call<HapiPage<HapiActivity>>("hapi_activities", { connection, offset }),
};

/** Every change to sign-ins and connections arrives as a whole fresh overview. */
export function onConnectionsChanged(handler: (overview: ConnectionsOverview) => void): Promise<UnlistenFn> {
  return listen<ConnectionsOverview>("connections-changed", (event) => handler(event.payload));
}

/** The open project's departures inbox changed: a webhook arrived, or a listing noticed a departure. */
export function onDeparturesChanged(handler: () => void): Promise<UnlistenFn> {
  return listen<unknown>("departures-changed", () => handler());
}

export function onNotice(handler: (notice: AppError) => void): Promise<UnlistenFn> {
  return listen<unknown>("notice", (event) => handler(normalizeError(event.payload)));
}

/** The channel that carries one command's progress back, each update to `handler`. */
function progressChannel<T>(handler: (update: T) => void): Channel<T> {
  const channel = new Channel<T>();
  channel.onmessage = handler;
  return channel;
}
