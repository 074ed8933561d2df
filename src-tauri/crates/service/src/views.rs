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

/// Where a download run stands, sent to the host while it runs.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DownloadProgress {
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

/// What the upload form submits: a local file and the metadata Open Humans requires.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct UploadInput {
    /// The file's full path.
    pub path: String,
    pub description: String,
    /// At least one.
    pub tags: Vec<String>,
    /// ISO 8601 (2024-03-01 or 2024-03-01T10:00:00Z).
    pub creation_date: Option<String>,
    /// Datatypes registered for the project, if any.
    pub datatypes: Vec<String>,
}

/// A file Open Humans accepted and completed.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct UploadedFile {
    #[ts(type = "number")]
    pub id: u64,
    pub basename: String,
    #[ts(type = "number")]
    pub size: u64,
    pub md5: String,
}

/// Where a running upload stands, sent to the host while the bytes go out.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct UploadProgress {
    pub basename: String,
    #[ts(type = "number")]
    pub bytes_sent: u64,
    #[ts(type = "number")]
    pub total: u64,
}

/// Which of the member's files to delete. Open Humans deletes only the files this project
/// uploaded, never those of shared sources.
#[derive(Debug, Clone, PartialEq, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum DeleteFilesTarget {
    File {
        #[ts(type = "number")]
        id: u64,
    },
    /// Every file with this name.
    Basename {
        basename: String,
    },
    All,
}
