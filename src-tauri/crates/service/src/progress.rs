//! Where a download run stands, passed on to whoever started it as the engine reports it (at a
//! bounded rate, see `datalinks_openhumans::download::run`).

use crate::{DownloadProgress, FileProgress, Report};
use datalinks_openhumans::download::run::{Observer, RunProgress};

pub(crate) use datalinks_openhumans::download::run::PROGRESS_INTERVAL;

/// Reports a run's progress as the view the window shows.
pub(crate) struct Reporting(pub Report<DownloadProgress>);

impl Observer for Reporting {
    fn progress(&self, progress: &RunProgress) {
        (self.0)(DownloadProgress {
            files_total: progress.files_total as u32,
            files_done: progress.files_done as u32,
            bytes_done: progress.bytes,
            current: progress
                .current
                .iter()
                .map(|file| FileProgress {
                    file_id: file.file_id,
                    source: file.source.clone(),
                    basename: file.label.clone(),
                    bytes: file.bytes,
                    total: file.total,
                })
                .collect(),
        });
    }
}
