//! What the service returns to its callers (and, through the Tauri shell, to the UI).
//! None of these types can hold a secret.

use datalinks_core::{Provider, Transport};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A provider's app credentials as the UI sees them: the client secret is only ever reported
/// as present or absent.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProviderSettingsView {
    pub provider: Provider,
    pub client_id: String,
    pub base_url: String,
    pub transport: Transport,
    pub loopback_path: String,
    pub has_client_secret: bool,
    pub sandbox: bool,
}

/// What the settings form submits. `client_secret: null` keeps the stored secret.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ProviderSettingsInput {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub base_url: String,
    pub transport: Transport,
}

/// Who the person is to the Open Humans project, and what they share with it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct MemberOverview {
    pub project_member_id: String,
    pub username: Option<String>,
    /// When the member record was created (ISO 8601, as the provider sent it).
    pub created: String,
    pub sources_shared: Vec<String>,
    pub file_count: u32,
    pub groups: Vec<FileGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct FileGroup {
    pub source: String,
    pub files: Vec<MemberFile>,
}

/// A file's non-secret facts. The download URL is deliberately absent: it carries a key that
/// authorizes the download for an hour, so it is fetched fresh when needed and never kept.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct MemberFile {
    #[ts(type = "number")]
    pub id: u64,
    pub basename: String,
    pub created: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum StepOutcome {
    Done,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ReceiptStep {
    pub label: String,
    pub outcome: StepOutcome,
    pub detail: String,
}

/// What disconnecting did, step by step.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DisconnectReceipt {
    pub provider: Provider,
    pub steps: Vec<ReceiptStep>,
}

/// Whose files a download run fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum DownloadRunKind {
    /// The connected member's own files.
    Member,
    /// A researcher's bulk download of project members' files.
    Project,
}

/// Where a download run stands, sent to the host while it runs.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DownloadProgress {
    pub run: DownloadRunKind,
    pub files_total: u32,
    /// Files finished in any way: downloaded, skipped as identical, or failed.
    pub files_done: u32,
    /// Bytes on disk so far across the run's files, resumed parts included.
    #[ts(type = "number")]
    pub bytes_done: u64,
    /// The files transferring right now.
    pub current: Vec<FileProgress>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct FileProgress {
    #[ts(type = "number")]
    pub file_id: u64,
    pub source: String,
    /// The file's name; in a project run, its path under the destination folder.
    pub basename: String,
    #[ts(type = "number")]
    pub bytes: u64,
    /// The file's size once the server has said it.
    #[ts(type = "number | null")]
    pub total: Option<u64>,
}

/// What a download run did.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DownloadSummary {
    /// The member's folder the files went to.
    pub folder: String,
    pub downloaded: u32,
    /// Already on disk with the same content.
    pub skipped: u32,
    pub failed: Vec<FailedDownload>,
    /// Files not finished because the run was cancelled; their `.part` files are resumed next time.
    pub cancelled: u32,
    /// Bytes written by this run.
    #[ts(type = "number")]
    pub bytes_written: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct FailedDownload {
    #[ts(type = "number")]
    pub file_id: u64,
    pub basename: String,
    pub reason: String,
}
