//! What the service returns to its callers (and, through the Tauri shell, to the UI).
//! None of these types can hold a secret.

use crate::ProviderOptions;
use datalinks_core::{AccountSummary, Error, Provider, RegistrationSummary, Result, Transport};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A registration's settings as the Settings page edits them. The client secret is only ever
/// reported as present or absent.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RegistrationSettingsView {
    pub registration: RegistrationSummary,
    pub client_id: String,
    /// Empty for the sandbox, which is wherever it runs.
    pub base_url: String,
    pub transport: Transport,
    pub loopback_path: String,
    pub has_client_secret: bool,
    pub options: ProviderOptions,
}

/// A registration and the accounts connected through it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RegistrationListing {
    pub registration: RegistrationSummary,
    pub accounts: Vec<AccountSummary>,
}

/// A provider's settings: the person's own registration, the sandbox's, and every
/// registration with the connections bound to it (earlier setups included).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProviderSettingsView {
    pub provider: Provider,
    /// The registration new sign-ins use; `None` until the provider is set up.
    pub own: Option<RegistrationSettingsView>,
    /// The built-in sandbox's registration, once tried.
    pub sandbox: Option<RegistrationSettingsView>,
    pub registrations: Vec<RegistrationListing>,
    /// What a first setup starts with, so the form shows Rust's defaults.
    pub defaults: RegistrationDefaults,
}

/// A new registration's settings before anyone changes them.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct RegistrationDefaults {
    pub base_url: String,
    pub transport: Transport,
    pub options: ProviderOptions,
}

/// What the settings form submits for the person's own registration. `client_secret: null`
/// keeps the secret stored for the same server and client ID; a personal token connects an
/// account at once.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ProviderSettingsInput {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub base_url: String,
    pub transport: Transport,
    /// Open Collective's personal token, used instead of OAuth for its account.
    pub personal_token: Option<String>,
    pub options: ProviderOptions,
}

/// What can be changed about the sandbox's registration: how the redirect comes back and the
/// provider's own choices (its addresses are the sandbox's and are not taken from here).
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct SandboxSettingsInput {
    pub transport: Transport,
    pub options: ProviderOptions,
}

impl RegistrationSettingsView {
    /// These settings as the form would submit them unchanged: the stored secret is kept.
    pub fn into_input(self) -> ProviderSettingsInput {
        ProviderSettingsInput {
            client_id: self.client_id,
            client_secret: None,
            base_url: self.base_url,
            transport: self.transport,
            personal_token: None,
            options: self.options,
        }
    }
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
    /// Where the person finishes the step themselves, e.g. the provider's page that revokes access.
    pub link: Option<String>,
}

/// What disconnecting did, step by step.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DisconnectReceipt {
    pub provider: Provider,
    /// Whose connection it was.
    pub account: AccountSummary,
    pub steps: Vec<ReceiptStep>,
}

/// Where a download run stands, sent to whoever started it while it runs.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DownloadProgress {
    pub files_total: u32,
    /// Files finished in any way: downloaded, skipped as identical, or failed.
    pub files_done: u32,
    /// Bytes that arrived in this run and are kept, over all its files (parts kept from an
    /// earlier run not counted again): the run's summary ends on this number.
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

/// What a download run did, a member's or a project's: the numbers its progress ended on.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DownloadSummary {
    /// The folder the files went to.
    pub folder: String,
    pub planned: u32,
    pub downloaded: u32,
    /// Already on disk with the same content.
    pub skipped_identical: u32,
    /// Larger than the maximum size asked for.
    pub skipped_too_large: u32,
    pub failed: Vec<FailedDownload>,
    /// Files a cancel left unfinished; their `.part` files are resumed next time.
    pub unfinished: u32,
    /// Bytes that arrived in this run and are kept (parts kept from an earlier run are not
    /// counted again).
    #[ts(type = "number")]
    pub bytes: u64,
    pub seconds: f64,
    /// Stopped before every file was handled; the same download again resumes.
    pub cancelled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct FailedDownload {
    pub project_member_id: String,
    #[ts(type = "number")]
    pub file_id: u64,
    /// Where the file was to go; empty when Open Humans no longer lists it.
    pub path: String,
    pub reason: String,
}

impl DownloadSummary {
    /// The view of an engine run into `folder`; `unlisted` are files asked for that Open Humans
    /// no longer lists.
    pub(crate) fn of_run(
        folder: &std::path::Path,
        run: &datalinks_openhumans::download::run::RunSummary,
        unlisted: Vec<FailedDownload>,
    ) -> Self {
        let mut failed = unlisted;
        failed.extend(run.failed.iter().map(|failure| FailedDownload {
            project_member_id: failure.project_member_id.clone(),
            file_id: failure.file_id,
            path: failure.path.display().to_string(),
            reason: failure.reason.message.clone(),
        }));
        Self {
            folder: folder.display().to_string(),
            planned: run.planned as u32,
            downloaded: run.downloaded as u32,
            skipped_identical: run.skipped_identical as u32,
            skipped_too_large: run.skipped_too_large as u32,
            failed,
            unfinished: run.unfinished as u32,
            bytes: run.bytes,
            seconds: run.seconds,
            cancelled: run.cancelled,
        }
    }

    /// The run in one line of history, after `what` ("Downloaded the member's files into").
    pub(crate) fn history_line(&self, what: &str) -> String {
        let mut line = format!(
            "{what} {}: {} downloaded ({} bytes), {} already present, {} too large, {} failed",
            self.folder,
            self.downloaded,
            self.bytes,
            self.skipped_identical,
            self.skipped_too_large,
            self.failed.len()
        );
        if self.cancelled {
            line += &format!("; cancelled with {} files unfinished", self.unfinished);
        }
        let reasons: Vec<String> = self
            .failed
            .iter()
            .take(REASONS_IN_HISTORY)
            .map(|failure| format!("file {}: {}", failure.file_id, failure.reason))
            .collect();
        if !reasons.is_empty() {
            line += &format!(" ({})", reasons.join("; "));
        }
        line + "."
    }
}

/// Failure reasons quoted in a download's history line.
const REASONS_IN_HISTORY: usize = 3;

/// The connected Open Collective account.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct OcAccount {
    pub id: String,
    pub slug: String,
    pub name: Option<String>,
    /// Only with the `email` scope.
    pub email: Option<String>,
    pub image_url: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// True when a personal token, not OAuth, authenticates the calls.
    pub personal_token: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct OcAmount {
    #[ts(type = "number")]
    pub value_in_cents: i64,
    pub currency: String,
}

/// A collective, organization or person a node points to.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct OcAccountRef {
    pub slug: String,
    pub name: Option<String>,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct OcMembership {
    pub id: String,
    /// `ADMIN`, `MEMBER`, `BACKER`, …
    pub role: String,
    pub since: String,
    pub is_active: bool,
    pub total_donations: OcAmount,
    pub collective: OcAccountRef,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct OcTransaction {
    pub id: String,
    pub kind: String,
    /// `CREDIT` or `DEBIT`.
    pub direction: String,
    pub created_at: String,
    pub description: Option<String>,
    pub amount: OcAmount,
    pub net_amount: OcAmount,
    pub account: OcAccountRef,
    pub opposite_account: Option<OcAccountRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct OcExpense {
    pub id: String,
    pub description: Option<String>,
    pub status: String,
    pub expense_type: String,
    pub created_at: String,
    pub amount: OcAmount,
    /// The collective the expense was submitted to.
    pub collective: OcAccountRef,
}

/// One page of an Open Collective collection; `next_offset` asks for the following one.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct OcPage<T> {
    pub offset: u32,
    pub total_count: u32,
    pub nodes: Vec<T>,
    pub next_offset: Option<u32>,
}

/// One collection of the overview: its first page, or why that part could not be loaded while
/// the others were.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum OcSection<T> {
    Loaded { page: OcPage<T> },
    Failed { error: Error },
}

impl<T> From<Result<OcPage<T>>> for OcSection<T> {
    fn from(result: Result<OcPage<T>>) -> Self {
        match result {
            Ok(page) => OcSection::Loaded { page },
            Err(error) => OcSection::Failed { error },
        }
    }
}

/// The account overview: who the person is and the first page of each collection, each
/// collection on its own so one failing query hides nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct OcOverview {
    pub account: OcAccount,
    pub memberships: OcSection<OcMembership>,
    pub transactions: OcSection<OcTransaction>,
    pub expenses: OcSection<OcExpense>,
}

/// Who the linked person is to Human API.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct HapiProfile {
    pub human_id: String,
    pub email: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A source connected in Human API and how far Human API got fetching its data.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct HapiSource {
    pub id: String,
    pub source: String,
    pub name: String,
    pub connected_since: String,
    /// The first full sync: `pending`, `completed`, …
    pub history_sync: String,
    pub oldest_date: Option<String>,
    /// The latest sync: `pending`, `synced`, `failed`, …
    pub sync_status: String,
    pub sync_details: Option<String>,
    pub synched_at: Option<String>,
    pub newest_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct HapiReport {
    pub id: String,
    pub name: String,
    /// `unity`, `healthcheck`, `highlights`, `ccdraw`, `covid`, …
    pub kind: String,
    /// Names of the sources the report draws on.
    pub sources: Vec<String>,
    pub created_at: String,
}

/// A report written to disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SavedReport {
    pub path: String,
    #[ts(type = "number")]
    pub bytes: u64,
}

/// One day's activity summary (the wellness list the viewer shows).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct HapiActivity {
    pub id: String,
    pub source: String,
    pub date: String,
    #[ts(type = "number | null")]
    pub steps: Option<u64>,
    /// Metres.
    #[ts(type = "number | null")]
    pub distance: Option<u64>,
    #[ts(type = "number | null")]
    pub calories: Option<u64>,
}

/// One page of a Human API list; `next_offset` asks for the following one.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct HapiPage<T> {
    #[ts(type = "number")]
    pub offset: u64,
    /// `X-Total-Count`.
    #[ts(type = "number")]
    pub total: u64,
    pub items: Vec<T>,
    #[ts(type = "number | null")]
    pub next_offset: Option<u64>,
}

/// What the upload form submits: a local file and the metadata Open Humans requires.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct UploadInput {
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
