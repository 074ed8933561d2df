//! The researcher console's work on one open project, for the app and for `datalinks oh` alike:
//! the member list (listed once, kept until something changes it), downloads, the metadata CSV,
//! messages, uploads, deletions, removals and the plots' figures. Every option a person types
//! is checked here, once.
//!
//! It knows nothing of the keyring, the database or windows: the app's session (`research.rs`)
//! adds keeping the master token and the history, the CLI adds its flags and its printing.

use crate::audit::actions;
use crate::member::group_by_source;
use crate::progress::PROGRESS_INTERVAL;
use crate::{AuditRecorder, Subject};
use crate::{
    DeleteTargetInput, DownloadSummary, ExportedMetadata, FileGroup, JoinedPoint,
    ListingProgressView, MessagePreview, MessageRequest, ProjectDownloadRequest, ProjectMemberRow,
    ProjectStats, ProjectUploadReport, ProjectUploadRequest, SourceStats, UploadModeInput,
    UploadOutcomeView,
};
use datalinks_core::{Error, MasterToken, Provider, Result};
use datalinks_research::{
    metadata_csv, parse_size, plan, render_preview, DownloadOptions, MemberFilter, Observer,
    Project, ProjectInfo, ProjectMember, Recipients, UploadMode, UploadOptions, UploadOutcome,
};
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

pub const DEFAULT_CONCURRENCY: usize = 8;
const MAX_CONCURRENCY: usize = 32;
/// Whom the preview shows the message to when no member is chosen.
const PREVIEW_MEMBER: &str = "12345678";

/// One open project.
pub struct ResearchConsole {
    project: Project,
    members: Mutex<Option<Arc<Vec<ProjectMember>>>>,
    /// One listing at a time: a caller that waited for a listing in flight uses its result.
    listing: tokio::sync::Mutex<()>,
    /// Where the console's requests are recorded, and as whose.
    audit: Arc<AuditRecorder>,
    subject: Subject,
}

impl ResearchConsole {
    /// The project on the server at `base_url` that `master_token` belongs to, its requests
    /// recorded in `audit` for the project at `server` (as people name it); nothing is asked
    /// of the server yet.
    pub fn new(
        base_url: Url,
        master_token: MasterToken,
        audit: Arc<AuditRecorder>,
        server: &str,
    ) -> Result<Self> {
        Ok(Self {
            project: Project::new(base_url, master_token)?,
            members: Mutex::default(),
            listing: tokio::sync::Mutex::default(),
            audit,
            subject: Subject {
                provider: Provider::OpenHumans,
                registration_id: None,
                connection_id: None,
                label: format!("project console · Open Humans at {server}"),
            },
        })
    }

    /// Runs `work` with its requests recorded for the project as caused by `action`, unless
    /// the work around it named another cause (a listing for a download is the download's).
    async fn audited<F: Future>(&self, action: &'static str, work: F) -> F::Output {
        let work = datalinks_http::audit::default_action(action, work);
        self.audit.scope(self.subject.clone(), work).await
    }

    /// The project the token belongs to, as Open Humans describes it.
    pub async fn info(&self) -> Result<ProjectInfo> {
        self.audited(actions::PROJECT_VIEW, self.project.info())
            .await
    }

    /// Every member with every file: the list kept from before unless `refresh`; a listing
    /// reports its pages to `on_page` as they arrive (several together when they come fast).
    pub async fn members(
        &self,
        refresh: bool,
        on_page: impl Fn(ListingProgressView),
    ) -> Result<Arc<Vec<ProjectMember>>> {
        let _listing = self.listing.lock().await;
        if !refresh {
            if let Some(members) = self.members.lock().unwrap().clone() {
                return Ok(members);
            }
        }
        // Pages go out together, the first at once and then at most every PROGRESS_INTERVAL:
        // each message costs the window a round trip and a redraw.
        let batch: Mutex<(Option<ListingProgressView>, Option<Instant>)> = Mutex::default();
        let listing = self.project.members_reporting(|progress, page| {
            let (pending, last_sent) = &mut *batch.lock().unwrap();
            let view = pending.get_or_insert_with(|| ListingProgressView {
                members_listed: 0,
                members_total: 0,
                page: Vec::new(),
            });
            view.members_listed = progress.members_listed as u32;
            view.members_total = progress.members_total as u32;
            view.page.extend(page.iter().map(member_row));
            let complete = progress.members_listed >= progress.members_total;
            if complete || last_sent.is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL) {
                *last_sent = Some(Instant::now());
                on_page(pending.take().expect("just filled"));
            }
        });
        let listed = self.audited(actions::PROJECT_LISTING, listing).await?;
        if let Some(rest) = batch.into_inner().unwrap().0 {
            on_page(rest);
        }
        let members = Arc::new(listed);
        *self.members.lock().unwrap() = Some(members.clone());
        Ok(members)
    }

    /// The kept member list, listing it first when there is none.
    async fn listed(&self) -> Result<Arc<Vec<ProjectMember>>> {
        self.members(false, |_| {}).await
    }

    /// A change to members or their files makes the kept list stale.
    fn forget_members(&self) {
        *self.members.lock().unwrap() = None;
    }

    /// One member's files, fetched afresh (exchange-member).
    pub async fn member_files(&self, project_member_id: &str) -> Result<Vec<FileGroup>> {
        let files = self.project.member_files(project_member_id);
        Ok(group_by_source(
            &self.audited(actions::PROJECT_VIEW, files).await?,
        ))
    }

    /// Downloads the chosen members' files into `dest` in ohapi's layout; `observer` hears the
    /// progress, `cancel` stops every phase (listing included), and the same request again
    /// resumes.
    pub async fn download(
        &self,
        request: ProjectDownloadRequest,
        dest: PathBuf,
        observer: &impl Observer,
        cancel: &CancellationToken,
    ) -> Result<DownloadSummary> {
        let options = download_options(request, dest)?;
        self.audited(
            actions::PROJECT_DOWNLOAD,
            self.download_with(options, observer, cancel),
        )
        .await
    }

    async fn download_with(
        &self,
        options: DownloadOptions,
        observer: &impl Observer,
        cancel: &CancellationToken,
    ) -> Result<DownloadSummary> {
        let members = tokio::select! {
            biased;
            _ = cancel.cancelled() => None,
            members = self.listed() => Some(members?),
        };
        let summary = match members {
            Some(members) => {
                self.project
                    .download(&members, &options, observer, cancel)
                    .await
            }
            None => datalinks_research::RunSummary {
                cancelled: true,
                ..Default::default()
            },
        };
        Ok(DownloadSummary::of_run(&options.dest, &summary, Vec::new()))
    }

    /// The file list as ohproj-download-metadata writes it.
    pub async fn metadata_csv(&self) -> Result<(String, usize)> {
        let members = self.listed().await?;
        Ok((metadata_csv(&members), members.len()))
    }

    /// Writes the file list as ohproj-download-metadata does.
    pub async fn export_metadata(&self, path: &Path) -> Result<ExportedMetadata> {
        if !path.is_absolute() {
            return Err(Error::invalid_input(
                "Save the CSV under a full path, such as /home/you/metadata.csv.",
            ));
        }
        let (csv, members) = self.metadata_csv().await?;
        tokio::fs::write(path, csv)
            .await
            .map_err(|e| Error::storage(format!("Could not write {}: {e}", path.display())))?;
        Ok(ExportedMetadata {
            path: path.display().to_string(),
            members: members as u32,
        })
    }

    /// The recipient count and the text as one recipient reads it; sends nothing.
    pub async fn preview_message(&self, request: &MessageRequest) -> Result<MessagePreview> {
        let recipients = recipients(request)?;
        let counting = self.project.recipient_count(&recipients);
        let recipient_count = self.audited(actions::MESSAGE, counting).await?;
        let example_member = match &recipients {
            Recipients::Members(ids) => ids[0].clone(),
            Recipients::AllMembers => self
                .members
                .lock()
                .unwrap()
                .as_ref()
                .and_then(|members| members.first().cloned())
                .map_or_else(|| PREVIEW_MEMBER.to_owned(), |m| m.project_member_id),
        };
        Ok(MessagePreview {
            recipient_count: recipient_count as u32,
            rendered: render_preview(&request.body, &example_member),
            example_member,
        })
    }

    /// Sends the message through Open Humans; returns how many members it was sent to.
    pub async fn send_message(&self, request: &MessageRequest) -> Result<u32> {
        let recipients = recipients(request)?;
        let sending = async {
            let count = self.project.recipient_count(&recipients).await?;
            self.project
                .message(&request.subject, &request.body, &recipients)
                .await?;
            Ok(count as u32)
        };
        self.audited(actions::MESSAGE, sending).await
    }

    /// Uploads the files in `dir` as `metadata_csv` describes them.
    pub async fn upload(
        &self,
        request: ProjectUploadRequest,
        dir: PathBuf,
        metadata_csv: PathBuf,
    ) -> Result<ProjectUploadReport> {
        let options = UploadOptions {
            dir,
            metadata_csv,
            member: request.member.filter(|m| !m.trim().is_empty()),
            mode: match request.mode {
                UploadModeInput::Default => UploadMode::Default,
                UploadModeInput::Safe => UploadMode::Safe,
                UploadModeInput::Sync => UploadMode::Sync,
            },
            max_size: size_limit(request.max_size.as_deref())?,
        };
        let uploading = self.project.upload_from_dir(&options);
        let report = self.audited(actions::PROJECT_UPLOAD, uploading).await;
        self.forget_members();
        let report = report?;
        Ok(ProjectUploadReport {
            failures: report.failures() as u32,
            outcomes: report.outcomes.iter().map(outcome_view).collect(),
        })
    }

    /// Deletes project files of one member; returns the deleted file ids.
    pub async fn delete_files(
        &self,
        project_member_id: &str,
        target: DeleteTargetInput,
    ) -> Result<Vec<u64>> {
        let target = target.into();
        let deleting = self.project.delete(project_member_id, &target);
        let deleted = self.audited(actions::PROJECT_DELETE, deleting).await;
        self.forget_members();
        deleted
    }

    /// Removes members from the project; returns how many.
    pub async fn remove_members(&self, project_member_ids: &[String]) -> Result<u32> {
        let removing = self.project.remove_members(project_member_ids);
        let removed = self.audited(actions::REMOVE_MEMBERS, removing).await;
        self.forget_members();
        removed.map(|()| project_member_ids.len() as u32)
    }

    /// Members joined over time, and per source: members, files, and the volume downloaded
    /// into `folder`.
    pub async fn stats(&self, folder: PathBuf) -> Result<ProjectStats> {
        let members = self.listed().await?;
        let task_folder = folder.clone();
        tokio::task::spawn_blocking(move || stats(&members, &task_folder))
            .await
            .map_err(|e| Error::internal(format!("stats task failed: {e}")))
            .map(|(joined, sources)| ProjectStats {
                joined,
                sources,
                folder: folder.display().to_string(),
            })
    }
}

/// A download request as the engine runs it: the one check of what a person typed.
fn download_options(request: ProjectDownloadRequest, dest: PathBuf) -> Result<DownloadOptions> {
    if !dest.is_absolute() {
        return Err(Error::invalid_input(
            "The destination must be a full path, such as /home/you/Downloads/project.",
        ));
    }
    Ok(DownloadOptions {
        dest,
        members: MemberFilter {
            only: request.only.map(id_set),
            exclude: id_set(request.exclude),
        },
        source: request.source.filter(|s| !s.trim().is_empty()),
        project_data: request.project_data,
        max_size: size_limit(request.max_size.as_deref())?,
        id_prefix: request.id_prefix,
        concurrency: match request.concurrency {
            0 => DEFAULT_CONCURRENCY,
            n => (n as usize).min(MAX_CONCURRENCY),
        },
    })
}

/// A size such as "128m" or "2GiB"; none when blank.
fn size_limit(value: Option<&str>) -> Result<Option<u64>> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_size)
        .transpose()
}

fn id_set(ids: impl IntoIterator<Item = String>) -> HashSet<String> {
    ids.into_iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect()
}

pub(crate) fn member_row(member: &ProjectMember) -> ProjectMemberRow {
    ProjectMemberRow {
        project_member_id: member.project_member_id.clone(),
        username: member.username.clone(),
        created: member.created.clone(),
        sources_shared: member.sources_shared.clone(),
        file_count: member.file_count as u32,
    }
}

fn recipients(request: &MessageRequest) -> Result<Recipients> {
    if request.body.trim().is_empty() {
        return Err(Error::invalid_input("The message has no text."));
    }
    match &request.recipients {
        None => Ok(Recipients::AllMembers),
        Some(ids) if ids.is_empty() => Err(Error::invalid_input(
            "No members are selected: choose some, or send to all members.",
        )),
        Some(ids) => Ok(Recipients::Members(ids.clone())),
    }
}

fn outcome_view(outcome: &UploadOutcome) -> UploadOutcomeView {
    let view = |outcome: &str, member: &str, filename: &str, detail: String| UploadOutcomeView {
        outcome: outcome.to_owned(),
        project_member_id: member.to_owned(),
        filename: filename.to_owned(),
        detail,
    };
    match outcome {
        UploadOutcome::Uploaded {
            project_member_id,
            filename,
            file_id,
            size,
            replaced,
        } => view(
            "uploaded",
            project_member_id,
            filename,
            match replaced.len() {
                0 => format!("file {file_id}, {size} bytes"),
                n => format!("file {file_id}, {size} bytes; replaced {n} older"),
            },
        ),
        UploadOutcome::Unchanged {
            project_member_id,
            filename,
        } => view(
            "unchanged",
            project_member_id,
            filename,
            "identical file already there".into(),
        ),
        UploadOutcome::SkippedExisting {
            project_member_id,
            filename,
        } => view(
            "skipped_existing",
            project_member_id,
            filename,
            "safe mode: a file of this name exists".into(),
        ),
        UploadOutcome::Deleted {
            project_member_id,
            filename,
            file_ids,
        } => view(
            "deleted",
            project_member_id,
            filename,
            format!("not in the folder: deleted {file_ids:?}"),
        ),
        UploadOutcome::Failed {
            project_member_id,
            filename,
            reason,
        } => view(
            "failed",
            project_member_id,
            filename,
            reason.message.clone(),
        ),
    }
}

/// The plots' figures. Sizes come from the files on disk: Open Humans does not list them.
fn stats(members: &[ProjectMember], folder: &Path) -> (Vec<JoinedPoint>, Vec<SourceStats>) {
    let mut joined_per_day: BTreeMap<&str, u32> = BTreeMap::new();
    for member in members {
        let day = member.created.get(..10).unwrap_or(&member.created);
        *joined_per_day.entry(day).or_default() += 1;
    }
    let mut running = 0;
    let joined = joined_per_day
        .into_iter()
        .map(|(date, count)| {
            running += count;
            JoinedPoint {
                date: date.to_owned(),
                members: running,
            }
        })
        .collect();

    let mut sources: BTreeMap<&str, SourceStats> = BTreeMap::new();
    for member in members {
        for source in &member.sources_shared {
            source_entry(&mut sources, source).members += 1;
        }
        for file in &member.files {
            source_entry(&mut sources, &file.source).files += 1;
        }
    }
    let default_layout = DownloadOptions {
        dest: folder.to_owned(),
        members: MemberFilter::default(),
        source: None,
        project_data: false,
        max_size: None,
        id_prefix: false,
        concurrency: 1,
    };
    for planned in plan(members, &default_layout) {
        if let (Ok(meta), Some(stats)) = (
            std::fs::metadata(&planned.fetch.dest),
            sources.get_mut(planned.source.as_str()),
        ) {
            stats.files_on_disk += 1;
            stats.bytes_on_disk += meta.len();
        }
    }
    (joined, sources.into_values().collect())
}

fn source_entry<'a, 'm>(
    sources: &'m mut BTreeMap<&'a str, SourceStats>,
    source: &'a str,
) -> &'m mut SourceStats {
    sources.entry(source).or_insert_with(|| SourceStats {
        source: source.to_owned(),
        members: 0,
        files: 0,
        files_on_disk: 0,
        bytes_on_disk: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datalinks_openhumans::DataFile;

    fn member(
        id: &str,
        created: &str,
        sources: &[&str],
        files: &[(u64, &str, &str)],
    ) -> ProjectMember {
        ProjectMember {
            project_member_id: id.into(),
            username: None,
            created: created.into(),
            sources_shared: sources.iter().map(|s| s.to_string()).collect(),
            file_count: files.len(),
            files: files
                .iter()
                .map(|(file_id, source, basename)| DataFile {
                    id: *file_id,
                    basename: basename.to_string(),
                    created: created.into(),
                    source: source.to_string(),
                    metadata: Default::default(),
                })
                .collect(),
        }
    }

    #[test]
    fn stats_count_joins_per_day_cumulatively_and_measure_downloaded_copies() {
        let members = [
            member(
                "11111111",
                "2026-01-02T10:00:00Z",
                &["fitbit"],
                &[(1, "fitbit", "a.json")],
            ),
            member(
                "22222222",
                "2026-01-02T12:00:00Z",
                &["fitbit", "23andme"],
                &[(2, "fitbit", "b.json"), (3, "23andme", "genome.txt")],
            ),
            member("33333333", "2026-02-10T08:00:00Z", &[], &[]),
        ];
        let folder = tempfile::tempdir().unwrap();
        let copy = folder.path().join("22222222/23andme/genome.txt");
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::write(&copy, vec![0u8; 1234]).unwrap();

        let (joined, sources) = stats(&members, folder.path());
        assert_eq!(
            joined,
            [
                JoinedPoint {
                    date: "2026-01-02".into(),
                    members: 2
                },
                JoinedPoint {
                    date: "2026-02-10".into(),
                    members: 3
                },
            ]
        );
        let genome = sources.iter().find(|s| s.source == "23andme").unwrap();
        assert_eq!((genome.members, genome.files), (1, 1));
        assert_eq!((genome.files_on_disk, genome.bytes_on_disk), (1, 1234));
        let fitbit = sources.iter().find(|s| s.source == "fitbit").unwrap();
        assert_eq!(
            (fitbit.members, fitbit.files, fitbit.files_on_disk),
            (2, 2, 0)
        );
    }
}
