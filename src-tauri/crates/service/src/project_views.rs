//! What the researcher console returns and accepts. None of these types can hold a secret:
//! the master token goes in once, as a plain argument, and is never sent back.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The open project, and what is known about its master token.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProjectView {
    #[ts(type = "number")]
    pub id: u64,
    pub name: String,
    pub slug: String,
    /// The project's own source name (`direct-sharing-<id>`).
    pub id_label: String,
    #[ts(type = "number")]
    pub authorized_members: u64,
    pub contact_email: String,
    /// Unix seconds by which the master token has expired at the latest: 24 hours after it was
    /// pasted (Open Humans does not report it; a token made earlier expires sooner).
    #[ts(type = "number")]
    pub token_expires_at: i64,
    /// Whether the token is kept in the OS keyring (otherwise only for this session).
    pub token_in_keyring: bool,
    /// Where bulk downloads go unless another folder is chosen.
    pub download_folder: String,
}

/// One member as the console lists them.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProjectMemberRow {
    pub project_member_id: String,
    pub username: Option<String>,
    /// When the member joined (ISO 8601 as Open Humans sent it).
    pub created: String,
    pub sources_shared: Vec<String>,
    pub file_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProjectMembers {
    pub members: Vec<ProjectMemberRow>,
    /// Every source any member's files come from, sorted.
    pub sources: Vec<String>,
}

/// How far listing the members has come, sent with each page while the list loads, so the
/// console can show the first members long before the last page arrives.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ListingProgressView {
    pub members_listed: u32,
    pub members_total: u32,
    /// The members this page added, in list order.
    pub page: Vec<ProjectMemberRow>,
}

/// A bulk download as the console asks for it (ohproj-download's options); the folder is given
/// beside it, as a path the person chose.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export)]
pub struct ProjectDownloadRequest {
    /// Only these members (all when absent).
    pub only: Option<Vec<String>>,
    /// Never these members.
    pub exclude: Vec<String>,
    /// Only this source, written straight into each member's folder.
    pub source: Option<String>,
    /// The project's own files instead of shared sources.
    pub project_data: bool,
    /// Skip files larger than this, e.g. "128m".
    pub max_size: Option<String>,
    /// Name files `<file id>.<basename>`.
    pub id_prefix: bool,
    pub concurrency: u32,
}

/// A message to members; `recipients: null` means every member.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct MessageRequest {
    pub subject: String,
    pub body: String,
    pub recipients: Option<Vec<String>>,
}

/// What sending would do: how many members get it, and the text as one of them reads it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct MessagePreview {
    pub recipient_count: u32,
    pub example_member: String,
    pub rendered: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum UploadModeInput {
    /// Upload unless an identical file is there; replace older files of the same name.
    Default,
    /// Never touch a name that exists.
    Safe,
    /// Default, plus delete the project's files that are not in the folder.
    Sync,
}

/// The member ids in a list file (lines, commas or spaces between them).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct MemberList {
    /// The file, to show where the ids came from.
    pub path: String,
    pub ids: Vec<String>,
}

/// The metadata CSV as written.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ExportedMetadata {
    pub path: String,
    pub members: u32,
}

/// Uploads from a folder and a metadata CSV (ohproj-upload's options); the folder and the CSV
/// are given beside it, as paths the person chose.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ProjectUploadRequest {
    /// The member, when the CSV has no project_member_id column.
    pub member: Option<String>,
    pub mode: UploadModeInput,
    pub max_size: Option<String>,
}

/// One line of an upload report.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct UploadOutcomeView {
    /// uploaded, unchanged, skipped_existing, deleted or failed.
    pub outcome: String,
    pub project_member_id: String,
    pub filename: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProjectUploadReport {
    pub outcomes: Vec<UploadOutcomeView>,
    pub failures: u32,
}

/// Which of a member's project files to delete (the project's own uploads; Open Humans never
/// deletes files of shared sources). Used by the member side and the researcher console.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum DeleteTargetInput {
    FileId {
        #[ts(type = "number")]
        file_id: u64,
    },
    Basename {
        basename: String,
    },
    AllFiles,
}

/// The figures behind the console's plots.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ProjectStats {
    /// Members who had joined by each day on which someone joined (YYYY-MM-DD, running total).
    pub joined: Vec<JoinedPoint>,
    pub sources: Vec<SourceStats>,
    /// The folder whose downloaded copies `bytes_on_disk` measures.
    pub folder: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct JoinedPoint {
    pub date: String,
    pub members: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SourceStats {
    pub source: String,
    /// Members sharing this source with the project.
    pub members: u32,
    pub files: u32,
    /// Open Humans does not list sizes: the volume is that of the copies downloaded so far.
    pub files_on_disk: u32,
    #[ts(type = "number")]
    pub bytes_on_disk: u64,
}

impl From<DeleteTargetInput> for datalinks_openhumans::upload::DeleteTarget {
    fn from(target: DeleteTargetInput) -> Self {
        match target {
            DeleteTargetInput::FileId { file_id } => Self::FileId(file_id),
            DeleteTargetInput::Basename { basename } => Self::Basename(basename),
            DeleteTargetInput::AllFiles => Self::AllFiles,
        }
    }
}
