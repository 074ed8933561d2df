//! Where a download run stands, kept as files start, advance and finish, and reported to the
//! host at a bounded rate.

use crate::{DownloadProgress, DownloadRunKind, FileProgress, Host};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// While bytes flow, progress is reported at most this often; starts and ends always are.
pub(crate) const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

pub(crate) struct Tracker<'a> {
    host: &'a dyn Host,
    state: Mutex<TrackerState>,
}

struct TrackerState {
    progress: DownloadProgress,
    /// Bytes of the files no longer in `progress.current`.
    finished_bytes: u64,
    last_report: Instant,
}

impl<'a> Tracker<'a> {
    pub fn new(host: &'a dyn Host, run: DownloadRunKind) -> Self {
        Self {
            host,
            state: Mutex::new(TrackerState {
                progress: DownloadProgress {
                    run,
                    files_total: 0,
                    files_done: 0,
                    bytes_done: 0,
                    current: Vec::new(),
                },
                finished_bytes: 0,
                last_report: Instant::now(),
            }),
        }
    }

    pub fn set_total(&self, files_total: usize) {
        self.update(true, |state| {
            state.progress.files_total = files_total as u32
        });
    }

    /// A file begins transferring; starting one that is already running changes nothing.
    pub fn start(&self, file_id: u64, source: &str, label: &str) {
        if self
            .state
            .lock()
            .unwrap()
            .progress
            .current
            .iter()
            .any(|f| f.file_id == file_id)
        {
            return;
        }
        self.update(true, |state| {
            state.progress.current.push(FileProgress {
                file_id,
                source: source.to_owned(),
                basename: label.to_owned(),
                bytes: 0,
                total: None,
            })
        });
    }

    pub fn advance(&self, file_id: u64, bytes: u64, total: Option<u64>) {
        self.update(false, |state| {
            if let Some(file) = state
                .progress
                .current
                .iter_mut()
                .find(|f| f.file_id == file_id)
            {
                file.bytes = bytes;
                file.total = total;
            }
        });
    }

    /// A file is done in any way (downloaded, skipped or failed).
    pub fn finish(&self, file_id: u64) {
        self.update(true, |state| {
            let current = &mut state.progress.current;
            if let Some(index) = current.iter().position(|f| f.file_id == file_id) {
                state.finished_bytes += current.remove(index).bytes;
            }
            state.progress.files_done += 1;
        });
    }

    /// Reports where the run stands now.
    pub fn report(&self) {
        self.update(true, |_| {});
    }

    fn update(&self, always_report: bool, change: impl FnOnce(&mut TrackerState)) {
        let progress = {
            let mut state = self.state.lock().unwrap();
            change(&mut state);
            if !always_report && state.last_report.elapsed() < PROGRESS_INTERVAL {
                return;
            }
            state.last_report = Instant::now();
            let in_flight: u64 = state.progress.current.iter().map(|f| f.bytes).sum();
            state.progress.bytes_done = state.finished_bytes + in_flight;
            state.progress.clone()
        };
        self.host.download_progress(&progress);
    }
}
