//! A run: many files fetched a few at a time, with one count of progress and one summary, so
//! what a progress bar shows is what the summary says at the end.

use super::{fetch_file, Fetched, FileToFetch, Progress};
use datalinks_core::{Error, Result};
use futures::StreamExt;
use serde::Serialize;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use url::Url;

/// While bytes flow, progress is reported at most this often; starts and ends always are.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// One file of a run.
#[derive(Debug, Clone)]
pub struct Job {
    pub project_member_id: String,
    pub source: String,
    /// The file's path under the run's folder, for people.
    pub label: String,
    pub fetch: FileToFetch,
}

/// Where download URLs come from.
pub trait Links: Sync {
    /// A URL for `job`. `first_attempt` is false after an attempt failed, when a URL listed
    /// earlier may be what failed.
    fn fresh_url(&self, job: &Job, first_attempt: bool)
        -> impl Future<Output = Result<Url>> + Send;
}

/// Who hears about a run while it goes.
pub trait Observer: Sync {
    /// Where the run stands: after planning, when files start and finish, and at most every
    /// [`PROGRESS_INTERVAL`] while bytes flow.
    fn progress(&self, _progress: &RunProgress) {}
    /// A file is done, as the `finished`-th of `of`.
    fn finished(&self, _job: &Job, _outcome: &Outcome, _finished: usize, _of: usize) {}
}

impl Observer for () {}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunProgress {
    pub files_total: usize,
    /// Files done in any way: downloaded, skipped or failed.
    pub files_done: usize,
    /// Bytes that arrived in this run and are kept, over all files: the summary's `bytes`.
    pub bytes: u64,
    /// The files transferring now.
    pub current: Vec<FileState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub file_id: u64,
    pub source: String,
    pub label: String,
    /// Bytes on disk for this file, those kept from an earlier run included.
    pub bytes: u64,
    /// The file's size once storage has said it.
    pub total: Option<u64>,
}

/// How one file of a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Downloaded {
        bytes: u64,
    },
    AlreadyPresent,
    TooLarge {
        size: u64,
    },
    Failed(Error),
    /// The run was cancelled before this file was done; its `.part` is resumed next time.
    Cancelled,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailedFile {
    pub project_member_id: String,
    pub file_id: u64,
    pub path: PathBuf,
    pub reason: Error,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub planned: usize,
    pub downloaded: usize,
    /// Already on disk, identical.
    pub skipped_identical: usize,
    pub skipped_too_large: usize,
    pub failed: Vec<FailedFile>,
    /// Files left unfinished by a cancel.
    pub unfinished: usize,
    /// Bytes that arrived in this run and are kept (bytes resumed from an earlier run are not
    /// counted again), the number progress ended on.
    pub bytes: u64,
    pub seconds: f64,
    /// Cancelled before every file was done; running again picks up where it stopped.
    pub cancelled: bool,
}

/// Fetches `jobs`, `concurrency` at a time, until all are done or `cancel` fires (which stops
/// every phase, keeping what arrived).
pub async fn run(
    http: &reqwest::Client,
    jobs: &[Job],
    concurrency: usize,
    links: &impl Links,
    observer: &impl Observer,
    cancel: &CancellationToken,
) -> RunSummary {
    let started = Instant::now();
    let tally = Tally::new(observer, jobs.len());
    let tally = &tally;
    // Indices rather than `&jobs`: a closure over borrowed items makes the future fail the
    // `Send` check hosts need (rust-lang/rust#102211).
    let outcomes: Vec<(usize, Outcome)> = futures::stream::iter(0..jobs.len())
        .map(|index| async move {
            let job = &jobs[index];
            if cancel.is_cancelled() {
                return (index, Outcome::Cancelled);
            }
            tally.start(job);
            let mut attempts = 0u32;
            let fresh_url = || {
                attempts += 1;
                links.fresh_url(job, attempts == 1)
            };
            let progress = |progress: Progress| tally.advance(job, progress);
            let outcome = match fetch_file(http, &job.fetch, fresh_url, progress, cancel).await {
                Ok(Fetched::Downloaded { bytes, .. }) => Outcome::Downloaded { bytes },
                Ok(Fetched::AlreadyPresent) => Outcome::AlreadyPresent,
                Ok(Fetched::TooLarge { size }) => Outcome::TooLarge { size },
                Ok(Fetched::Cancelled { .. }) => Outcome::Cancelled,
                Err(reason) => Outcome::Failed(reason),
            };
            tally.finish(job, &outcome);
            (index, outcome)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    tally.report();

    let mut summary = RunSummary {
        planned: jobs.len(),
        bytes: tally.bytes(),
        ..RunSummary::default()
    };
    for (index, outcome) in outcomes {
        let job = &jobs[index];
        match outcome {
            Outcome::Downloaded { .. } => summary.downloaded += 1,
            Outcome::AlreadyPresent => summary.skipped_identical += 1,
            Outcome::TooLarge { .. } => summary.skipped_too_large += 1,
            Outcome::Cancelled => summary.unfinished += 1,
            Outcome::Failed(reason) => summary.failed.push(FailedFile {
                project_member_id: job.project_member_id.clone(),
                file_id: job.fetch.file_id,
                path: job.fetch.dest.clone(),
                reason,
            }),
        }
    }
    summary.cancelled = summary.unfinished > 0;
    summary.seconds = started.elapsed().as_secs_f64();
    summary
}

/// The run's one count of progress.
struct Tally<'a, O> {
    observer: &'a O,
    state: Mutex<TallyState>,
}

struct TallyState {
    progress: RunProgress,
    /// Bytes each transferring file has added to `progress.bytes`, by file ID.
    counted: Vec<(u64, u64)>,
    last_report: Instant,
}

impl<'a, O: Observer> Tally<'a, O> {
    fn new(observer: &'a O, files_total: usize) -> Self {
        let tally = Self {
            observer,
            state: Mutex::new(TallyState {
                progress: RunProgress {
                    files_total,
                    ..RunProgress::default()
                },
                counted: Vec::new(),
                last_report: Instant::now(),
            }),
        };
        tally.report();
        tally
    }

    fn start(&self, job: &Job) {
        self.update(true, |state| {
            state.counted.push((job.fetch.file_id, 0));
            state.progress.current.push(FileState {
                file_id: job.fetch.file_id,
                source: job.source.clone(),
                label: job.label.clone(),
                bytes: 0,
                total: None,
            });
        });
    }

    fn advance(&self, job: &Job, progress: Progress) {
        let file_id = job.fetch.file_id;
        self.update(false, |state| {
            if let Some((_, counted)) = state.counted.iter_mut().find(|(id, _)| *id == file_id) {
                // `received` falls when a part is started over: its bytes are no longer kept.
                state.progress.bytes = state.progress.bytes - *counted + progress.received;
                *counted = progress.received;
            }
            if let Some(file) = state
                .progress
                .current
                .iter_mut()
                .find(|f| f.file_id == file_id)
            {
                file.bytes = progress.bytes;
                file.total = progress.total;
            }
        });
    }

    fn finish(&self, job: &Job, outcome: &Outcome) {
        let file_id = job.fetch.file_id;
        let (finished, of) = {
            let mut state = self.state.lock().unwrap();
            state.counted.retain(|(id, _)| *id != file_id);
            state.progress.current.retain(|f| f.file_id != file_id);
            if !matches!(outcome, Outcome::Cancelled) {
                state.progress.files_done += 1;
            }
            (state.progress.files_done, state.progress.files_total)
        };
        if !matches!(outcome, Outcome::Cancelled) {
            self.observer.finished(job, outcome, finished, of);
        }
        self.report();
    }

    fn bytes(&self) -> u64 {
        self.state.lock().unwrap().progress.bytes
    }

    fn report(&self) {
        self.update(true, |_| {});
    }

    fn update(&self, always_report: bool, change: impl FnOnce(&mut TallyState)) {
        let progress = {
            let mut state = self.state.lock().unwrap();
            change(&mut state);
            if !always_report && state.last_report.elapsed() < PROGRESS_INTERVAL {
                return;
            }
            state.last_report = Instant::now();
            state.progress.clone()
        };
        self.observer.progress(&progress);
    }
}
