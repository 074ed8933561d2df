// Typed wrappers around the Tauri commands and events. Tokens and client secrets never reach
// this side: Rust keeps them in the OS keyring and only reports where they live.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { ConnectionView } from "./bindings/ConnectionView";
import type { DeleteFilesTarget } from "./bindings/DeleteFilesTarget";
import type { DisconnectReceipt } from "./bindings/DisconnectReceipt";
import type { DownloadProgress } from "./bindings/DownloadProgress";
import type { DownloadSummary } from "./bindings/DownloadSummary";
import type { Error as AppError } from "./bindings/Error";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { HistoryEvent } from "./bindings/HistoryEvent";
import type { MemberOverview } from "./bindings/MemberOverview";
import type { Provider } from "./bindings/Provider";
import type { ProviderSettingsInput } from "./bindings/ProviderSettingsInput";
import type { ProviderSettingsView } from "./bindings/ProviderSettingsView";
import type { UploadedFile } from "./bindings/UploadedFile";
import type { UploadInput } from "./bindings/UploadInput";
import type { UploadProgress } from "./bindings/UploadProgress";

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
  listConnections: () => call<ConnectionView[]>("list_connections"),
  getProviderSettings: (provider: Provider) =>
    call<ProviderSettingsView | null>("get_provider_settings", { provider }),
  saveProviderSettings: (provider: Provider, input: ProviderSettingsInput) =>
    call<ProviderSettingsView>("save_provider_settings", { provider, input }),
  startSandbox: () => call<ProviderSettingsView>("start_sandbox"),
  connect: (provider: Provider) => call<ConnectionView>("connect", { provider }),
  cancelConnect: (provider: Provider) => call<ConnectionView>("cancel_connect", { provider }),
  memberOverview: () => call<MemberOverview>("member_overview"),
  disconnect: (provider: Provider) => call<DisconnectReceipt>("disconnect", { provider }),
  retry: (provider: Provider) => call<ConnectionView>("retry", { provider }),
  history: (provider: Provider) => call<HistoryEvent[]>("history", { provider }),
  /** Downloads these files (all of the member's files when empty); progress comes as events. */
  downloadFiles: (fileIds: number[]) => call<DownloadSummary>("download_files", { fileIds }),
  cancelDownloads: () => call<boolean>("cancel_downloads"),
  getDownloadFolder: () => call<string>("get_download_folder"),
  setDownloadFolder: (folder: string) => call<string>("set_download_folder", { folder }),
  /** Uploads a local file to the project as the member; progress comes as events. */
  uploadFile: (input: UploadInput) => call<UploadedFile>("upload_file", { input }),
  /** Deletes files the project uploaded for the member; returns the deleted ids. */
  deleteFiles: (target: DeleteFilesTarget) => call<number[]>("delete_files", { target }),
};

export function onConnectionChanged(handler: (view: ConnectionView) => void): Promise<UnlistenFn> {
  return listen<ConnectionView>("connection-changed", (event) => handler(event.payload));
}

export function onNotice(handler: (notice: AppError) => void): Promise<UnlistenFn> {
  return listen<unknown>("notice", (event) => handler(normalizeError(event.payload)));
}

export function onDownloadProgress(handler: (progress: DownloadProgress) => void): Promise<UnlistenFn> {
  return listen<DownloadProgress>("download-progress", (event) => handler(event.payload));
}

export function onUploadProgress(handler: (progress: UploadProgress) => void): Promise<UnlistenFn> {
  return listen<UploadProgress>("upload-progress", (event) => handler(event.payload));
}
