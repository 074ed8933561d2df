//! Bulk download of members' files in ohapi's `ohproj-download` layout:
//! `<dest>/<project_member_id>/<source>/<basename>` for shared sources, or
//! `<dest>/<project_member_id>/<basename>` when one source is chosen or for the project's own
//! files; `<id>.<basename>` with the file-ID prefix. When a member has several files that would
//! land on the same path, the newest wins, as in ohapi. Each file goes through
//! `datalinks_openhumans::download::fetch_file` (fresh link per attempt, Range resume, md5,
//! `.part` then rename, identical files skipped), so running again finishes an interrupted run.

use crate::{Project, ProjectMember};
use datalinks_core::{Error, ErrorCode, Result};
use datalinks_openhumans::download::{fetch_file, Fetched, FileToFetch};
use futures::StreamExt;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use url::Url;

/// Listed links are used while younger than this; their key works for an hour.
const LINK_REUSE_AGE: Duration = Duration::from_secs(45 * 60);

/// Which members take part: everyone, or an allow list, minus a deny list.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub only: Option<HashSet<String>>,
    pub exclude: HashSet<String>,
}

impl MemberFilter {
    pub fn admits(&self, project_member_id: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.contains(project_member_id))
            && !self.exclude.contains(project_member_id)
    }
}

#[derive(Debug, Clone)]
pub struct DownloadOptions {
    pub dest: PathBuf,
    pub members: MemberFilter,
    /// Only this source, written straight into the member's folder.
    pub source: Option<String>,
    /// The project's own files (sources the member does not share) instead of shared ones.
    pub project_data: bool,
    /// Files larger than this many bytes are skipped.
    pub max_size: Option<u64>,
    /// Name files `<id>.<basename>`.
    pub id_prefix: bool,
    /// Files transferred at the same time.
    pub concurrency: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedFile {
    pub project_member_id: String,
    pub file_id: u64,
    pub source: String,
    pub path: PathBuf,
    #[serde(skip)]
    expected_md5: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FileOutcome {
    Downloaded { bytes: u64, resumed_from: u64 },
    AlreadyPresent,
    TooLarge { size: u64 },
    Failed { reason: Error },
}

pub enum DownloadEvent<'a> {
    Planned {
        files: usize,
    },
    Progress {
        file: &'a PlannedFile,
        bytes: u64,
        total: Option<u64>,
        /// Bytes on disk over all files of the run so far.
        overall_bytes: u64,
    },
    Finished {
        file: &'a PlannedFile,
        outcome: &'a FileOutcome,
        finished: usize,
        of: usize,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct FailedFile {
    pub project_member_id: String,
    pub file_id: u64,
    pub path: PathBuf,
    pub reason: Error,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DownloadSummary {
    pub planned: usize,
    pub downloaded: usize,
    /// Already on disk, identical.
    pub skipped_identical: usize,
    pub skipped_too_large: usize,
    pub failed: Vec<FailedFile>,
    /// Bytes transferred by this run (resumed parts not counted twice).
    pub bytes: u64,
    pub seconds: f64,
    /// Cancelled before every file was handled; running again picks up where it stopped.
    pub cancelled: bool,
}

/// The files to fetch and where they go.
pub fn plan(members: &[ProjectMember], options: &DownloadOptions) -> Vec<PlannedFile> {
    let mut by_path: BTreeMap<PathBuf, (PlannedFile, &str)> = BTreeMap::new();
    for member in members
        .iter()
        .filter(|m| options.members.admits(&m.project_member_id))
    {
        let member_dir = options.dest.join(&member.project_member_id);
        for file in &member.files {
            let shared = member.sources_shared.contains(&file.source);
            if shared == options.project_data {
                continue;
            }
            if options.source.as_ref().is_some_and(|s| *s != file.source) {
                continue;
            }
            let name = if options.id_prefix {
                format!("{}.{}", file.id, file.basename)
            } else {
                file.basename.clone()
            };
            let in_source_folder = shared && options.source.is_none();
            let path = if in_source_folder {
                member_dir.join(&file.source).join(name)
            } else {
                member_dir.join(name)
            };
            let planned = PlannedFile {
                project_member_id: member.project_member_id.clone(),
                file_id: file.id,
                source: file.source.clone(),
                path,
                expected_md5: file.md5().map(str::to_ascii_lowercase),
            };
            // DRF datetimes share one format, so their text order is their time order.
            let newer = by_path
                .get(&planned.path)
                .is_none_or(|(_, created)| file.created.as_str() > *created);
            if newer {
                by_path.insert(planned.path.clone(), (planned, &file.created));
            }
        }
    }
    by_path.into_values().map(|(planned, _)| planned).collect()
}

/// A name from the server used as a path component must not climb out of the destination.
fn is_plain_component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn stays_inside(planned: &PlannedFile, dest: &Path) -> bool {
    planned
        .path
        .strip_prefix(dest)
        .map(|relative| {
            relative
                .iter()
                .all(|part| part.to_str().is_some_and(is_plain_component))
        })
        .unwrap_or(false)
}

impl Project {
    /// Downloads the selected members' files into `options.dest`. Per-file failures are
    /// collected in the summary; only a failure that stops everything is an `Err`.
    pub async fn download(
        &self,
        members: &[ProjectMember],
        options: &DownloadOptions,
        on_event: impl Fn(DownloadEvent<'_>) + Sync,
        cancel: &CancellationToken,
    ) -> Result<DownloadSummary> {
        let started = Instant::now();
        let files = plan(members, options);
        on_event(DownloadEvent::Planned { files: files.len() });
        let overall_bytes = AtomicU64::new(0);
        let finished = AtomicUsize::new(0);
        let on_event = &on_event;
        // Indices rather than `&files`: a closure over borrowed items makes the future fail
        // the `Send` check hosts need (rust-lang/rust#102211).
        let outcomes: Vec<(&PlannedFile, Option<FileOutcome>)> =
            futures::stream::iter(0..files.len())
                .map(|index| {
                    let file = &files[index];
                    let overall_bytes = &overall_bytes;
                    let finished = &finished;
                    let of = files.len();
                    async move {
                        if cancel.is_cancelled() {
                            return (file, None);
                        }
                        // On cancel the transfer writes out what arrived, for the next run.
                        let fetch =
                            self.download_one(file, options, on_event, overall_bytes, cancel);
                        let Some(outcome) = fetch.await else {
                            return (file, None);
                        };
                        let finished = finished.fetch_add(1, Ordering::Relaxed) + 1;
                        on_event(DownloadEvent::Finished {
                            file,
                            outcome: &outcome,
                            finished,
                            of,
                        });
                        (file, Some(outcome))
                    }
                })
                .buffer_unordered(options.concurrency.max(1))
                .collect()
                .await;
        let mut summary = DownloadSummary {
            planned: files.len(),
            ..DownloadSummary::default()
        };
        for (file, outcome) in outcomes {
            match outcome {
                None => summary.cancelled = true,
                Some(FileOutcome::Downloaded {
                    bytes,
                    resumed_from,
                }) => {
                    summary.downloaded += 1;
                    summary.bytes += bytes - resumed_from;
                }
                Some(FileOutcome::AlreadyPresent) => summary.skipped_identical += 1,
                Some(FileOutcome::TooLarge { .. }) => summary.skipped_too_large += 1,
                Some(FileOutcome::Failed { reason }) => summary.failed.push(FailedFile {
                    project_member_id: file.project_member_id.clone(),
                    file_id: file.file_id,
                    path: file.path.clone(),
                    reason,
                }),
            }
        }
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// One file's outcome; `None` when the run was cancelled first.
    async fn download_one(
        &self,
        file: &PlannedFile,
        options: &DownloadOptions,
        on_event: &(impl Fn(DownloadEvent<'_>) + Sync),
        overall_bytes: &AtomicU64,
        cancel: &CancellationToken,
    ) -> Option<FileOutcome> {
        if !stays_inside(file, &options.dest) {
            return Some(FileOutcome::Failed {
                reason: Error::provider(format!(
                    "File {} has a name that is not safe on disk; skipped.",
                    file.file_id
                )),
            });
        }
        let to_fetch = FileToFetch {
            file_id: file.file_id,
            dest: file.path.clone(),
            expected_md5: file.expected_md5.clone(),
            max_size: options.max_size,
        };
        let mut attempts = 0u32;
        let fresh_url = || {
            attempts += 1;
            let first = attempts == 1;
            async move { self.link_for(file, first).await }
        };
        let mut counted = 0u64;
        let progress = |bytes: u64, total: Option<u64>| {
            // `bytes` restarts from the kept part on a new attempt.
            let overall = if bytes >= counted {
                overall_bytes.fetch_add(bytes - counted, Ordering::Relaxed) + (bytes - counted)
            } else {
                overall_bytes.fetch_sub(counted - bytes, Ordering::Relaxed) - (counted - bytes)
            };
            counted = bytes;
            on_event(DownloadEvent::Progress {
                file,
                bytes,
                total,
                overall_bytes: overall,
            });
        };
        Some(
            match fetch_file(&self.http.transfer, &to_fetch, fresh_url, progress, cancel).await {
                Ok(Fetched::Cancelled) => return None,
                Ok(Fetched::AlreadyPresent) => FileOutcome::AlreadyPresent,
                Ok(Fetched::TooLarge { size }) => FileOutcome::TooLarge { size },
                Ok(Fetched::Downloaded {
                    bytes,
                    resumed_from,
                }) => FileOutcome::Downloaded {
                    bytes,
                    resumed_from,
                },
                Err(reason) => FileOutcome::Failed { reason },
            },
        )
    }

    /// The listed link on a first attempt while it is young; otherwise the member is listed
    /// again for fresh keys (an earlier attempt may have failed on an expired one).
    async fn link_for(&self, file: &PlannedFile, first_attempt: bool) -> Result<Url> {
        if first_attempt {
            if let Some(url) = self.recent_link(file.file_id, LINK_REUSE_AGE) {
                return Ok(url);
            }
        }
        self.member_files(&file.project_member_id).await?;
        self.recent_link(file.file_id, LINK_REUSE_AGE)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::NotFound,
                    format!(
                        "Open Humans no longer lists file {} of member {}.",
                        file.file_id, file.project_member_id
                    ),
                )
            })
    }
}
