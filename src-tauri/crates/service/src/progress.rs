//! Where a download run stands, passed on to the host as the engine reports it (at a bounded
//! rate, see `datalinks_openhumans::download::run`).

use crate::{DownloadProgress, DownloadRunKind, FileProgress, Host};
use datalinks_openhumans::download::run::{Observer, RunProgress};

pub(crate) use datalinks_openhumans::download::run::PROGRESS_INTERVAL;

/// Tells the host how a run of `kind` goes.
pub(crate) struct HostProgress<'a> {
    pub host: &'a dyn Host,
    pub run: DownloadRunKind,
}

impl Observer for HostProgress<'_> {
    fn progress(&self, progress: &RunProgress) {
        self.host.download_progress(&DownloadProgress {
            run: self.run,
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
