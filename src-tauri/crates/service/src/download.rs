//! Downloading the connected member's own files into
//! `<folder>/<project member id>/<source>/<basename>`, a few at a time, with progress, a
//! summary, and cancellation that keeps what arrived (`.part`) for the next run to resume.

use crate::progress::Tracker;
use crate::{Datalinks, DownloadRunKind, DownloadSummary, FailedDownload};
use datalinks_core::{ConnectionId, Error, ErrorCode, Result};
use datalinks_openhumans::download::{fetch_file, Fetched, FileToFetch};
use datalinks_openhumans::{ApiClient, ApiError, DataFile};
use futures::StreamExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Files transferring at the same time.
const CONCURRENT_DOWNLOADS: usize = 3;
const DOWNLOAD_FOLDER_SETTING: &str = "download_folder";
/// Failure reasons quoted in the history line (all of them are in the returned summary).
const REASONS_IN_HISTORY: usize = 3;

/// One file of a run and where it goes.
struct Job {
    file_id: u64,
    source: String,
    basename: String,
    fetch: FileToFetch,
}

impl Datalinks {
    /// The folder downloads go to: the one chosen in Settings, else `<Downloads>/Datalinks`.
    pub fn download_folder(&self) -> Result<PathBuf> {
        match self.store.app_setting(DOWNLOAD_FOLDER_SETTING)? {
            Some(folder) => Ok(PathBuf::from(folder)),
            None => default_download_folder(),
        }
    }

    /// Remembers the download folder (the shell passes what the person chose in a dialog).
    pub fn set_download_folder(&self, folder: &Path) -> Result<PathBuf> {
        if !folder.is_absolute() {
            return Err(Error::invalid_input(
                "The download folder must be a full path, such as /home/you/Downloads/Datalinks.",
            ));
        }
        let text = folder.to_str().ok_or_else(|| {
            Error::invalid_input(format!(
                "{} is not valid Unicode; choose a folder whose name is.",
                folder.display()
            ))
        })?;
        self.store.set_app_setting(DOWNLOAD_FOLDER_SETTING, text)?;
        Ok(folder.to_owned())
    }

    /// Downloads the connected member's files with these IDs (all of them when `file_ids` is
    /// empty) into `folder`. Every attempt asks Open Humans for a fresh download URL with a
    /// valid access token; files already on disk with the same md5 are skipped.
    pub async fn download_files(
        self: &Arc<Self>,
        connection: ConnectionId,
        file_ids: Vec<u64>,
        folder: &Path,
    ) -> Result<DownloadSummary> {
        let cancel = self.begin_download_run()?;
        let _run = DownloadRun(self);
        let api = self.member_api(connection).await?;
        let member = self.member(connection, &api).await?;
        let member_folder = folder.join(safe_file_name(&member.project_member_id));
        let (jobs, unknown) = plan(&member_folder, &member.files, &file_ids);

        let tracker = Tracker::new(self.host.as_ref(), DownloadRunKind::Member);
        tracker.set_total(jobs.len());
        let (api, tracker, cancel) = (&api, &tracker, &cancel);
        let outcomes: Vec<(Job, Result<Fetched>)> = futures::stream::iter(jobs)
            .map(|job| async move {
                let outcome = self
                    .download_one(connection, api, &job, tracker, cancel)
                    .await;
                (job, outcome)
            })
            .buffer_unordered(CONCURRENT_DOWNLOADS)
            .collect()
            .await;
        tracker.report();

        let mut summary = DownloadSummary {
            folder: member_folder.display().to_string(),
            downloaded: 0,
            skipped: 0,
            failed: unknown,
            cancelled: 0,
            bytes_written: 0,
        };
        for (job, outcome) in outcomes {
            match outcome {
                // Member downloads set no size limit, so nothing is skipped as too large.
                Ok(Fetched::AlreadyPresent | Fetched::TooLarge { .. }) => summary.skipped += 1,
                Ok(Fetched::Downloaded {
                    bytes,
                    resumed_from,
                }) => {
                    summary.downloaded += 1;
                    summary.bytes_written += bytes - resumed_from;
                }
                Err(error) => summary.failed.push(FailedDownload {
                    file_id: job.file_id,
                    basename: job.basename,
                    reason: error.message,
                }),
                Ok(Fetched::Cancelled) => summary.cancelled += 1,
            }
        }
        self.record_for(connection, "files_downloaded", &history_line(&summary))?;
        Ok(summary)
    }

    /// Stops the running download, if any. Returns whether one was running.
    pub fn cancel_downloads(&self) -> bool {
        let running = self.download_run.lock().unwrap();
        if let Some(cancel) = running.as_ref() {
            cancel.cancel();
        }
        running.is_some()
    }

    pub(crate) fn begin_download_run(&self) -> Result<CancellationToken> {
        let mut running = self.download_run.lock().unwrap();
        if running.is_some() {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                "A download is already running: wait for it to finish or cancel it.",
            ));
        }
        let cancel = CancellationToken::new();
        *running = Some(cancel.clone());
        Ok(cancel)
    }

    async fn download_one(
        self: &Arc<Self>,
        connection: ConnectionId,
        api: &ApiClient,
        job: &Job,
        tracker: &Tracker<'_>,
        cancel: &CancellationToken,
    ) -> Result<Fetched> {
        if cancel.is_cancelled() {
            return Ok(Fetched::Cancelled);
        }
        tracker.start(job.file_id, &job.source, &job.basename);
        let file_id = job.file_id;
        let fresh_url = || {
            self.with_token(connection, move |credential| {
                let api = api.clone();
                async move {
                    let token = credential.access_token().map_err(ApiError::Failed)?;
                    api.download_url(token, file_id).await
                }
            })
        };
        let progress = |bytes, total| tracker.advance(file_id, bytes, total);
        // On cancel the transfer writes out what arrived, for the next run to resume.
        let outcome =
            fetch_file(&self.download_http, &job.fetch, fresh_url, progress, cancel).await;
        tracker.finish(file_id);
        outcome
    }
}

/// Clears the running download when its run ends, however it ends.
pub(crate) struct DownloadRun<'a>(pub(crate) &'a Datalinks);

impl Drop for DownloadRun<'_> {
    fn drop(&mut self) {
        *self.0.download_run.lock().unwrap() = None;
    }
}

fn default_download_folder() -> Result<PathBuf> {
    dirs::download_dir()
        .or_else(|| dirs::home_dir().map(|home| home.join("Downloads")))
        .map(|downloads| downloads.join("Datalinks"))
        .ok_or_else(|| {
            Error::new(
                ErrorCode::NotConfigured,
                "No home folder was found: choose a download folder in Settings.",
            )
        })
}

/// The jobs for the requested files, and a failure for each requested ID the member does not
/// have. Destinations are worked out over all the member's files, so a file's path does not
/// depend on what else was selected.
fn plan(
    member_folder: &Path,
    files: &[DataFile],
    file_ids: &[u64],
) -> (Vec<Job>, Vec<FailedDownload>) {
    let destinations = destinations(member_folder, files);
    let wanted = |file: &DataFile| file_ids.is_empty() || file_ids.contains(&file.id);
    let jobs = files
        .iter()
        .zip(destinations)
        .filter(|(file, _)| wanted(file))
        .map(|(file, dest)| Job {
            file_id: file.id,
            source: file.source.clone(),
            basename: file.basename.clone(),
            fetch: FileToFetch {
                file_id: file.id,
                dest,
                expected_md5: file.md5().map(str::to_ascii_lowercase),
                max_size: None,
            },
        })
        .collect();
    let unknown = file_ids
        .iter()
        .filter(|id| !files.iter().any(|file| file.id == **id))
        .map(|&file_id| FailedDownload {
            file_id,
            basename: String::new(),
            reason: format!("Open Humans no longer lists file {file_id}."),
        })
        .collect();
    (jobs, unknown)
}

/// `<member folder>/<source>/<basename>`, with `<id>_<basename>` for basenames that more than
/// one file of the same source share.
fn destinations(member_folder: &Path, files: &[DataFile]) -> Vec<PathBuf> {
    let names: Vec<(String, String)> = files
        .iter()
        .map(|file| (safe_file_name(&file.source), safe_file_name(&file.basename)))
        .collect();
    let mut sharing: HashMap<&(String, String), u32> = HashMap::new();
    for name in &names {
        *sharing.entry(name).or_default() += 1;
    }
    files
        .iter()
        .zip(&names)
        .map(|(file, name @ (source, basename))| {
            let folder = member_folder.join(source);
            match sharing[name] {
                1 => folder.join(basename),
                _ => folder.join(format!("{}_{basename}", file.id)),
            }
        })
        .collect()
}

/// A provider-given name made safe as one path component: no separators, never `.` or `..`.
fn safe_file_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| match c {
            '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => format!("_{cleaned}"),
        _ => cleaned,
    }
}

fn history_line(summary: &DownloadSummary) -> String {
    let mut line = format!(
        "Downloaded {} files ({} bytes) into {}; {} skipped as identical; {} failed",
        summary.downloaded,
        summary.bytes_written,
        summary.folder,
        summary.skipped,
        summary.failed.len()
    );
    if summary.cancelled > 0 {
        line += &format!("; cancelled with {} files left", summary.cancelled);
    }
    let reasons: Vec<String> = summary
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

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: u64, source: &str, basename: &str) -> DataFile {
        DataFile {
            id,
            basename: basename.into(),
            created: "2024-01-01T00:00:00Z".into(),
            source: source.into(),
            metadata: serde_json::json!({}),
        }
    }

    #[test]
    fn a_basename_shared_within_a_source_gets_the_file_id_prefix() {
        let files = [
            file(1, "fitbit", "steps.json"),
            file(2, "fitbit", "steps.json"),
            file(3, "fitbit", "sleep.json"),
            file(4, "oura", "steps.json"),
        ];
        let root = Path::new("/d/12345678");
        assert_eq!(
            destinations(root, &files),
            [
                root.join("fitbit/1_steps.json"),
                root.join("fitbit/2_steps.json"),
                root.join("fitbit/sleep.json"),
                root.join("oura/steps.json"),
            ]
        );
    }

    #[test]
    fn provider_names_cannot_leave_the_member_folder() {
        assert_eq!(safe_file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(safe_file_name(".."), "_..");
        assert_eq!(safe_file_name(""), "_");
        assert_eq!(safe_file_name("a\\b\nc"), "a_b_c");
        assert_eq!(safe_file_name("report 2024.csv"), "report 2024.csv");
    }

    #[test]
    fn unknown_ids_fail_and_the_rest_are_planned_with_their_md5() {
        let mut with_md5 = file(1, "fitbit", "a.json");
        with_md5.metadata = serde_json::json!({ "md5": "5EB63BBBE01EEED093CB22BB8F5ACDC3" });
        let files = [with_md5, file(2, "fitbit", "b.json")];
        let (jobs, unknown) = plan(Path::new("/d"), &files, &[1, 99]);
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            jobs[0].fetch.expected_md5.as_deref(),
            Some("5eb63bbbe01eeed093cb22bb8f5acdc3")
        );
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].file_id, 99);

        let (all, none) = plan(Path::new("/d"), &files, &[]);
        assert_eq!(all.len(), 2);
        assert!(none.is_empty());
    }
}
