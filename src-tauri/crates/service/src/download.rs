//! Downloading the connected member's own files into
//! `<folder>/<project member id>/<source>/<basename>`, a few at a time, with progress, a
//! summary, and cancellation that keeps what arrived (`.part`) for the next run to resume.

use crate::audit::actions;
use crate::progress::Reporting;
use crate::{Datalinks, DownloadProgress, DownloadSummary, FailedDownload, Report};
use datalinks_core::{ConnectionId, Error, ErrorCode, Result};
use datalinks_openhumans::download::names::{self, ToPlace};
use datalinks_openhumans::download::run::{run, Job, Links};
use datalinks_openhumans::download::FileToFetch;
use datalinks_openhumans::{ApiClient, ApiError, DataFile};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use url::Url;

/// Files transferring at the same time.
const CONCURRENT_DOWNLOADS: usize = 3;
const DOWNLOAD_FOLDER_SETTING: &str = "download_folder";

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
    /// valid access token; files already on disk with the same md5 are skipped. Progress goes
    /// to `report`.
    pub async fn download_files(
        self: &Arc<Self>,
        connection: ConnectionId,
        file_ids: Vec<u64>,
        folder: &Path,
        report: Report<DownloadProgress>,
    ) -> Result<DownloadSummary> {
        let cancel = self.begin_download_run()?;
        let _run = DownloadRun(self);
        self.audited(
            connection,
            actions::DOWNLOAD,
            self.download_run(connection, file_ids, folder, report, cancel),
        )
        .await
    }

    async fn download_run(
        self: &Arc<Self>,
        connection: ConnectionId,
        file_ids: Vec<u64>,
        folder: &Path,
        report: Report<DownloadProgress>,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Result<DownloadSummary> {
        let api = self.member_api(connection).await?;
        let member = self.member(connection, &api).await?;
        let member_folder = folder.join(names::file_name(&member.project_member_id));
        let (jobs, unknown) = plan(
            &member.project_member_id,
            &member_folder,
            &member.files,
            &file_ids,
        );
        let links = MemberLinks {
            datalinks: self,
            connection,
            api: &api,
        };
        let observer = Reporting(report);
        let run = run(
            &self.download_http,
            &jobs,
            CONCURRENT_DOWNLOADS,
            &links,
            &observer,
            &cancel,
        )
        .await;
        let summary = DownloadSummary::of_run(&member_folder, &run, unknown);
        self.record_for(
            connection,
            "files_downloaded",
            &summary.history_line("Downloaded the member's files into"),
        )?;
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
}

/// Download URLs for the connected member's files, each asked for with a valid access token.
struct MemberLinks<'a> {
    datalinks: &'a Arc<Datalinks>,
    connection: ConnectionId,
    api: &'a ApiClient,
}

impl Links for MemberLinks<'_> {
    fn fresh_url(
        &self,
        job: &Job,
        _first_attempt: bool,
    ) -> impl Future<Output = Result<Url>> + Send {
        let (api, file_id) = (self.api, job.fetch.file_id);
        self.datalinks
            .with_token(self.connection, actions::DOWNLOAD, move |credential| {
                let api = api.clone();
                async move {
                    let token = credential.access_token().map_err(ApiError::Failed)?;
                    api.download_url(token, file_id).await
                }
            })
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
/// have. Files go to `<member folder>/<source>/<basename>`, named by the engine's one rule;
/// destinations are worked out over all the member's files, so a file's path does not depend on
/// what else was selected.
fn plan(
    project_member_id: &str,
    member_folder: &Path,
    files: &[DataFile],
    file_ids: &[u64],
) -> (Vec<Job>, Vec<FailedDownload>) {
    let places: Vec<ToPlace> = files
        .iter()
        .map(|file| ToPlace {
            folder: member_folder.join(names::file_name(&file.source)),
            file_id: file.id,
            name: file.basename.clone(),
        })
        .collect();
    let wanted = |file: &DataFile| file_ids.is_empty() || file_ids.contains(&file.id);
    let jobs = files
        .iter()
        .zip(names::place(&places))
        .filter(|(file, _)| wanted(file))
        .map(|(file, dest)| Job {
            project_member_id: project_member_id.to_owned(),
            source: file.source.clone(),
            label: file_name_of(&dest),
            fetch: FileToFetch {
                file_id: file.id,
                dest,
                expected_md5: file.md5(),
                max_size: None,
            },
        })
        .collect();
    let unknown = file_ids
        .iter()
        .filter(|id| !files.iter().any(|file| file.id == **id))
        .map(|&file_id| FailedDownload {
            project_member_id: project_member_id.to_owned(),
            file_id,
            path: String::new(),
            reason: format!("Open Humans no longer lists file {file_id}."),
        })
        .collect();
    (jobs, unknown)
}

/// The last component of a planned path (always present: the engine names every file).
fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
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
            metadata: Default::default(),
        }
    }

    #[test]
    fn a_basename_shared_within_a_source_gets_the_file_id_prefix() {
        let files = [
            file(1, "fitbit", "steps.json"),
            file(2, "fitbit", "steps.json"),
            file(3, "fitbit", "sleep.json"),
            file(4, "oura", "steps.json"),
            file(5, "oura", "../x"),
        ];
        let root = Path::new("/d/12345678");
        let (jobs, _) = plan("12345678", root, &files, &[]);
        let dests: Vec<&Path> = jobs.iter().map(|job| job.fetch.dest.as_path()).collect();
        assert_eq!(
            dests,
            [
                root.join("fitbit/1_steps.json"),
                root.join("fitbit/2_steps.json"),
                root.join("fitbit/sleep.json"),
                root.join("oura/steps.json"),
                root.join("oura/.._x"),
            ]
        );
    }

    #[test]
    fn unknown_ids_fail_and_the_rest_are_planned_with_their_md5() {
        let mut with_md5 = file(1, "fitbit", "a.json");
        with_md5.metadata = datalinks_openhumans::Metadata::new(
            &serde_json::json!({ "md5": "5EB63BBBE01EEED093CB22BB8F5ACDC3" }),
        );
        let files = [with_md5, file(2, "fitbit", "b.json")];
        let (jobs, unknown) = plan("1", Path::new("/d"), &files, &[1, 99]);
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            jobs[0].fetch.expected_md5.as_deref(),
            Some("5eb63bbbe01eeed093cb22bb8f5acdc3")
        );
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].file_id, 99);

        let (all, none) = plan("1", Path::new("/d"), &files, &[]);
        assert_eq!(all.len(), 2);
        assert!(none.is_empty());
    }
}
