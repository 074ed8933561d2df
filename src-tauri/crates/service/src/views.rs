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
