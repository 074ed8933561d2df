//! Bulk download of members' files in ohapi's `ohproj-download` layout:
//! `<dest>/<project_member_id>/<source>/<basename>` for shared sources, or
//! `<dest>/<project_member_id>/<basename>` when one source is chosen or for the project's own
//! files; `<id>.<basename>` with the file-ID prefix. Unlike ohapi, where the newest of several
//! files that would share a path wins and the others are never fetched, every file is kept:
//! those sharing a path get `<id>_` in front (the engine's one naming rule). The run goes
//! through `datalinks_openhumans::download::run` (fresh link per attempt, Range resume, md5,
//! `.part` then rename, identical files skipped), so running again finishes an interrupted run.

use crate::{Project, ProjectMember};
use datalinks_core::{Error, ErrorCode, Result};
use datalinks_openhumans::download::names::{self, ToPlace};
use datalinks_openhumans::download::run::{run, Job, Links, Observer, RunSummary};
use datalinks_openhumans::download::FileToFetch;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;
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

/// The files to fetch and where they go (see the module's comment for the layout); names are
/// made safe and told apart by the engine's one rule (`names::place`).
pub fn plan(members: &[ProjectMember], options: &DownloadOptions) -> Vec<Job> {
    let mut listed = Vec::new();
    for member in members
        .iter()
        .filter(|m| options.members.admits(&m.project_member_id))
    {
        let member_dir = options
            .dest
            .join(names::file_name(&member.project_member_id));
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
            let folder = if shared && options.source.is_none() {
                member_dir.join(names::file_name(&file.source))
            } else {
                member_dir.clone()
            };
            listed.push((
                member,
                file,
                ToPlace {
                    folder,
                    file_id: file.id,
                    name,
                },
            ));
        }
    }
    let places: Vec<ToPlace> = listed.iter().map(|(_, _, place)| place.clone()).collect();
    listed
        .into_iter()
        .zip(names::place(&places))
        .map(|((member, file, _), dest)| Job {
            project_member_id: member.project_member_id.clone(),
            source: file.source.clone(),
            label: dest
                .strip_prefix(&options.dest)
                .unwrap_or(&dest)
                .display()
                .to_string(),
            fetch: FileToFetch {
                file_id: file.id,
                dest,
                expected_md5: file.md5(),
                max_size: options.max_size,
            },
        })
        .collect()
}

impl Project {
    /// Downloads the selected members' files into `options.dest`. Per-file failures are
    /// collected in the summary.
    pub async fn download(
        &self,
        members: &[ProjectMember],
        options: &DownloadOptions,
        observer: &impl Observer,
        cancel: &CancellationToken,
    ) -> RunSummary {
        let jobs = plan(members, options);
        run(
            &self.http.transfer,
            &jobs,
            options.concurrency,
            self,
            observer,
            cancel,
        )
        .await
    }

    /// The listed link on a first attempt while it is young; otherwise the member is listed
    /// again for fresh keys (an earlier attempt may have failed on an expired one).
    async fn link_for(&self, job: &Job, first_attempt: bool) -> Result<Url> {
        let file_id = job.fetch.file_id;
        if first_attempt {
            if let Some(url) = self.recent_link(file_id, LINK_REUSE_AGE) {
                return Ok(url);
            }
        }
        self.member_files(&job.project_member_id).await?;
        self.recent_link(file_id, LINK_REUSE_AGE).ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!(
                    "Open Humans no longer lists file {file_id} of member {}.",
                    job.project_member_id
                ),
            )
        })
    }
}

impl Links for Project {
    fn fresh_url(
        &self,
        job: &Job,
        first_attempt: bool,
    ) -> impl std::future::Future<Output = Result<Url>> + Send {
        self.link_for(job, first_attempt)
    }
}
