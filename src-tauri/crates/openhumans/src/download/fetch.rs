//! Downloading an Open Humans file to disk (docs/providers/open-humans.md, "File downloads").
//!
//! A download URL carries a key that works for an hour and redirects (302) to a storage URL
//! that works for ten minutes, so every attempt asks for a fresh URL and nothing keeps URLs.
//! Bytes stream into `<name>.part` (memory stays flat whatever the size); an interrupted
//! transfer resumes with `Range`; the md5 is checked when the caller knows it; the finished
//! file is renamed into place, so a half-written file never carries the final name.
//!
//! Nothing a server sends can make it keep wrong bytes or more bytes than it should: a 416 is
//! checked against the size of what is kept, a body stops at the size announced or at the
//! maximum size (whichever is smaller), and `.part` files are never followed through links.

use super::sink::{hash_file, PartSink};
use datalinks_core::{part_path, Error, ErrorCode, Result};
use datalinks_http::{RetryPolicy, Retryable, Verdict};
use futures::StreamExt;
use md5::{Digest, Md5};
use reqwest::{header, StatusCode};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::fs::OpenOptions;
use tokio_util::sync::CancellationToken;
use url::Url;

/// Free space a download always leaves on the disk it writes to.
const DISK_RESERVE: u64 = 512 * 1024 * 1024;
/// How often a body of unknown size looks at the free space, in bytes written.
const ROOM_CHECK_EVERY: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct FileToFetch {
    pub file_id: u64,
    pub dest: PathBuf,
    /// Lower-case hex md5, when the file's metadata carries one.
    pub expected_md5: Option<String>,
    /// Files larger than this many bytes are not fetched. Open Humans does not list sizes, so
    /// this is decided on the size storage announces before the body (no separate HEAD, which
    /// a storage URL signed for GET would refuse), or, when it announces none, as the body
    /// passes it.
    pub max_size: Option<u64>,
}

/// Where one file stands, reported as bytes arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes in the `.part` file, those kept from an earlier run included.
    pub bytes: u64,
    /// The file's size, when storage announced it.
    pub total: Option<u64>,
    /// Bytes that arrived in this run and are kept.
    pub received: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The destination already held this file (same size, and same md5 when known).
    AlreadyPresent,
    /// Written to the destination: `bytes` in all, `received` of them arriving in this run
    /// (the rest were kept from an earlier, interrupted one).
    Downloaded { bytes: u64, received: u64 },
    /// Larger than `max_size`: the size storage announced, or, when it announced none, the
    /// bytes seen when the body passed the limit. Nothing of it is kept.
    TooLarge { size: u64 },
    /// Cancelled after `received` bytes of this run: every byte that arrived is in the `.part`
    /// file for the next run to resume.
    Cancelled { received: u64 },
}

/// How one attempt ended well.
enum Done {
    /// The whole file is in the `.part` file: this many bytes.
    Written(u64),
    /// Decided without keeping a body.
    Skipped(Fetched),
}

/// Why one attempt stopped.
enum Stop {
    /// Worth another attempt with a fresh URL (network, 5xx, expired key, short body).
    Retry(Error),
    /// Worth another attempt once the pause storage asked for (`Retry-After`) is over.
    RetryAfter(Error, Duration),
    Fatal(Error),
    Cancelled,
}

impl Stop {
    fn message(&self) -> &str {
        match self {
            Stop::Retry(error) | Stop::RetryAfter(error, _) | Stop::Fatal(error) => &error.message,
            Stop::Cancelled => "cancelled by the person",
        }
    }
}

impl Retryable for Stop {
    fn verdict(&self) -> Verdict {
        match self {
            Stop::Retry(_) => Verdict::Again,
            Stop::RetryAfter(_, pause) => Verdict::After(*pause),
            Stop::Fatal(_) | Stop::Cancelled => Verdict::Final,
        }
    }
}

/// Downloads one file. `fresh_url` is called before every attempt; `progress` hears where the
/// file stands as bytes arrive. `cancel` stops it after writing out what arrived.
pub async fn fetch_file<U, Fut, P>(
    http: &reqwest::Client,
    file: &FileToFetch,
    mut fresh_url: U,
    progress: P,
    cancel: &CancellationToken,
) -> Result<Fetched>
where
    U: FnMut() -> Fut,
    Fut: Future<Output = Result<Url>>,
    P: FnMut(Progress),
{
    if same_md5_on_disk(file).await? {
        return Ok(Fetched::AlreadyPresent);
    }
    // Without an md5, a file already at the destination is compared by size with what
    // storage announces.
    let on_disk = match file.expected_md5 {
        None => regular_file_len(&file.dest).await?,
        Some(_) => None,
    };
    if let Some(parent) = file.dest.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io_error(parent, e))?;
    }
    let part = part_path(&file.dest);
    let mut attempts = Attempts {
        http,
        file,
        part: &part,
        on_disk,
        cancel,
        progress,
        received: 0,
    };
    let mut schedule = RetryPolicy::DOWNLOAD.schedule();
    // Ends with the stop that was not tried again, or with none when cancelled.
    let mut tries = 0;
    let last_stop = loop {
        tries += 1;
        let url = tokio::select! {
            biased;
            _ = cancel.cancelled() => break None,
            url = fresh_url() => url?,
        };
        let stop = match attempts.attempt(url).await {
            Ok(Done::Skipped(fetched)) => return Ok(fetched),
            Ok(Done::Written(bytes)) => {
                tokio::fs::rename(&part, &file.dest)
                    .await
                    .map_err(|e| io_error(&file.dest, e))?;
                return Ok(Fetched::Downloaded {
                    bytes,
                    received: attempts.received,
                });
            }
            Err(Stop::Fatal(error)) => return Err(error),
            Err(Stop::Cancelled) => break None,
            Err(stop) => stop,
        };
        let Some(pause) = schedule.pause_after(&stop) else {
            break Some(stop);
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break None,
            _ = tokio::time::sleep(pause) => {}
        }
    };
    let Some(last_stop) = last_stop else {
        return Ok(Fetched::Cancelled {
            received: attempts.received,
        });
    };
    let last = last_stop.message();
    let kept = match regular_file_len(&part).await {
        Ok(Some(kept)) if kept > 0 => "What arrived is kept and the next run resumes it.",
        _ => "Nothing of it was kept.",
    };
    Err(Error::unreachable(format!(
        "File {} did not download after {tries} attempts ({last}). {kept}",
        file.file_id
    )))
}

/// The attempts at one file, and what they share.
struct Attempts<'a, P> {
    http: &'a reqwest::Client,
    file: &'a FileToFetch,
    part: &'a Path,
    /// The size of a file already at the destination, when it has no md5 to compare.
    on_disk: Option<u64>,
    cancel: &'a CancellationToken,
    progress: P,
    /// Bytes that arrived in this run and are still in the `.part` file.
    received: u64,
}

impl<P: FnMut(Progress)> Attempts<'_, P> {
    /// One request: resumes from what `part` holds, appends, and checks size and md5.
    async fn attempt(&mut self, url: Url) -> Result<Done, Stop> {
        let (file, part) = (self.file, self.part);
        let have = regular_file_len(part)
            .await
            .map_err(Stop::Fatal)?
            .unwrap_or(0);
        let mut request = self.http.get(url);
        if have > 0 {
            request = request.header(header::RANGE, format!("bytes={have}-"));
        }
        let sent = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => return Err(Stop::Cancelled),
            sent = datalinks_http::send(request) => sent,
        };
        let response = sent.map_err(|e| {
            Stop::Retry(Error::unreachable(format!(
                "download failed: {}",
                datalinks_http::describe(&e)
            )))
        })?;
        let (start, total) = match response.status() {
            StatusCode::PARTIAL_CONTENT => match content_range(&response) {
                Some((start, total)) if start == have => (have, total),
                _ => {
                    return Err(Stop::Retry(Error::provider(
                        "the server resumed at the wrong offset",
                    )))
                }
            },
            // The whole file, whatever was kept: the part starts over.
            StatusCode::OK => (0, response.content_length()),
            StatusCode::RANGE_NOT_SATISFIABLE => {
                return self.nothing_after(have, unsatisfied_size(&response)).await
            }
            // An expired or unknown key: the next attempt gets a fresh URL.
            StatusCode::FORBIDDEN => {
                return Err(Stop::Retry(Error::provider(
                    "the download key was refused (expired?)",
                )))
            }
            status if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
                let error = Error::unreachable(format!("HTTP {status}"));
                return Err(match datalinks_http::retry_after(response.headers()) {
                    Some(pause) => Stop::RetryAfter(error, pause),
                    None => Stop::Retry(error),
                });
            }
            status => {
                return Err(Stop::Fatal(Error::provider(format!(
                    "File {} could not be downloaded: HTTP {status}.",
                    file.file_id
                ))))
            }
        };
        if let Some(size) = total {
            if let Some(skipped) = self.skipped_on_size(size) {
                return Ok(Done::Skipped(skipped));
            }
        }
        if start == 0 {
            self.received = 0;
        }
        // Never fill the disk: a file whose size is known must fit with the reserve left over.
        if let Some(size) = total {
            if let Err(free) = room_for(part, size.saturating_sub(start)) {
                return Err(Stop::Fatal(Error::storage(format!(
                    "File {} needs {} more, but only {} are free on its disk, and Datalinks \
                     always leaves {} free. Make room and download again.",
                    file.file_id,
                    datalinks_core::size_text(size.saturating_sub(start)),
                    datalinks_core::size_text(free),
                    datalinks_core::size_text(DISK_RESERVE)
                ))));
            }
        }

        // Hashed only when there is an md5 to compare with (a third of the CPU time otherwise).
        let mut hasher = file.expected_md5.as_ref().map(|_| Md5::new());
        if let Some(prefix) = hasher.take_if(|_| start > 0) {
            let prefix = hash_file(part, prefix).await;
            hasher = Some(prefix.map_err(|e| Stop::Fatal(io_error(part, e)))?);
        }
        let handle = open_part(part, start > 0)
            .await
            .map_err(|e| Stop::Fatal(io_error(part, e)))?;
        let mut out = PartSink::start(handle, hasher);
        // No body is kept past the size announced, or past the maximum size.
        let limit = total.or(file.max_size);
        let mut done = start;
        (self.progress)(Progress {
            bytes: done,
            total,
            received: self.received,
        });
        let mut body = response.bytes_stream();
        let mut interrupted = None;
        loop {
            let chunk = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => {
                    interrupted = Some(Stop::Cancelled);
                    break;
                }
                chunk = body.next() => chunk,
            };
            let Some(chunk) = chunk else {
                break;
            };
            let bytes = match chunk {
                Ok(bytes) => bytes,
                Err(e) => {
                    interrupted = Some(Stop::Retry(Error::unreachable(format!(
                        "the transfer broke off: {}",
                        datalinks_http::describe(&e.without_url())
                    ))));
                    break;
                }
            };
            let arrived = done + bytes.len() as u64;
            if limit.is_some_and(|limit| arrived > limit) {
                let _ = out.finish().await;
                self.discard_part().await;
                return match total {
                    Some(total) => Err(Stop::Retry(Error::provider(format!(
                        "the server sent more than the {total} bytes it announced"
                    )))),
                    None => Ok(Done::Skipped(Fetched::TooLarge { size: arrived })),
                };
            }
            // A body of unknown size and no maximum looks at the free space as it grows.
            let checkpoint = arrived / ROOM_CHECK_EVERY > done / ROOM_CHECK_EVERY;
            if limit.is_none() && checkpoint && room_for(part, 0).is_err() {
                let _ = out.finish().await;
                self.discard_part().await;
                return Err(Stop::Fatal(Error::storage(format!(
                    "File {} was still arriving after {} with no size announced, and its disk \
                     is down to the {} Datalinks always leaves free. Nothing of it was kept; \
                     set a maximum size to skip such files.",
                    file.file_id,
                    datalinks_core::size_text(arrived),
                    datalinks_core::size_text(DISK_RESERVE)
                ))));
            }
            out.write(&bytes)
                .await
                .map_err(|e| Stop::Fatal(io_error(part, e)))?;
            done = arrived;
            self.received += bytes.len() as u64;
            (self.progress)(Progress {
                bytes: done,
                total,
                received: self.received,
            });
        }
        // Keep what arrived: the next attempt resumes after it.
        let hasher = out
            .finish()
            .await
            .map_err(|e| Stop::Fatal(io_error(part, e)))?;
        if let Some(stop) = interrupted {
            return Err(stop);
        }
        if total.is_some_and(|total| done < total) {
            return Err(Stop::Retry(Error::unreachable(format!(
                "the transfer ended early at {done} bytes"
            ))));
        }
        self.check_md5(hasher).await?;
        Ok(Done::Written(done))
    }

    /// A 416: nothing lies after the `have` bytes kept. That is a finished file only when the
    /// server's size for it is exactly `have`; otherwise the part is not this file's start.
    /// The answer's body is an error page, never part of the file.
    async fn nothing_after(&mut self, have: u64, size: Option<u64>) -> Result<Done, Stop> {
        if size != Some(have) || have == 0 {
            self.discard_part().await;
            return Err(Stop::Retry(Error::provider(format!(
                "the partial download ({have} bytes) does not fit the file on the server; starting it over"
            ))));
        }
        if let Some(skipped) = self.skipped_on_size(have) {
            return Ok(Done::Skipped(skipped));
        }
        let hasher = match self.file.expected_md5 {
            Some(_) => Some(
                hash_file(self.part, Md5::new())
                    .await
                    .map_err(|e| Stop::Fatal(io_error(self.part, e)))?,
            ),
            None => None,
        };
        self.check_md5(hasher).await?;
        (self.progress)(Progress {
            bytes: have,
            total: Some(have),
            received: self.received,
        });
        Ok(Done::Written(have))
    }

    /// What a file of `size` bytes needs no body for: too large, or already on disk.
    fn skipped_on_size(&self, size: u64) -> Option<Fetched> {
        if self.file.max_size.is_some_and(|max| size > max) {
            Some(Fetched::TooLarge { size })
        } else if self.on_disk == Some(size) {
            Some(Fetched::AlreadyPresent)
        } else {
            None
        }
    }

    /// Compares the md5 of the whole part, when one is expected; a wrong one starts it over.
    async fn check_md5(&mut self, hasher: Option<Md5>) -> Result<(), Stop> {
        let (Some(expected), Some(hasher)) = (&self.file.expected_md5, hasher) else {
            return Ok(());
        };
        let actual = hex(&hasher.finalize());
        if actual.eq_ignore_ascii_case(expected) {
            return Ok(());
        }
        // A wrong prefix cannot be resumed: start this file over.
        self.discard_part().await;
        Err(Stop::Retry(Error::new(
            ErrorCode::ProviderError,
            format!(
                "md5 mismatch for file {} (expected {expected}, got {actual})",
                self.file.file_id
            ),
        )))
    }

    /// Removes the `.part` file, and says so: none of its bytes are kept any longer.
    async fn discard_part(&mut self) {
        let _ = tokio::fs::remove_file(self.part).await;
        self.received = 0;
        (self.progress)(Progress::default());
    }
}

/// Opens the `.part` file to append to it, or to start it over, never through a link: a link
/// planted in the destination would have the download written into its target.
async fn open_part(part: &Path, append: bool) -> std::io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append);
    #[cfg(unix)]
    options.custom_flags(libc::O_NOFOLLOW);
    Ok(options.open(part).await?.into_std().await)
}

/// The length of the regular file at `path`; `None` when there is none. A link or a folder
/// there is an error: downloads neither follow nor replace them.
async fn regular_file_len(path: &Path) -> Result<Option<u64>> {
    match tokio::fs::symlink_metadata(path).await {
        Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
        Ok(_) => Err(Error::storage(format!(
            "{} is a link or a folder, not a file; Datalinks does not write through it. Move it away and run again.",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path, e)),
    }
}

/// The destination holds a file with the expected md5.
async fn same_md5_on_disk(file: &FileToFetch) -> Result<bool> {
    let Some(expected) = &file.expected_md5 else {
        return Ok(false);
    };
    if regular_file_len(&file.dest).await?.is_none() {
        return Ok(false);
    }
    let hasher = hash_file(&file.dest, Md5::new())
        .await
        .map_err(|e| io_error(&file.dest, e))?;
    Ok(hex(&hasher.finalize()).eq_ignore_ascii_case(expected))
}

/// `Content-Range: bytes <start>-<end>/<total>` → (start, total).
fn content_range(response: &reqwest::Response) -> Option<(u64, Option<u64>)> {
    let value = response
        .headers()
        .get(header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    let (range, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let start = range.split_once('-')?.0.parse().ok()?;
    Some((start, total.parse().ok()))
}

/// The size in a 416's `Content-Range: bytes */<size>`.
fn unsatisfied_size(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get(header::CONTENT_RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes */")?
        .parse()
        .ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_error(path: &Path, error: std::io::Error) -> Error {
    Error::storage(format!("{}: {error}", path.display()))
}

/// Whether `more` bytes fit on the disk that holds `part` with [`DISK_RESERVE`] left over; the
/// free space when they do not. A disk whose free space cannot be read is taken to have room.
fn room_for(part: &Path, more: u64) -> std::result::Result<(), u64> {
    let folder = part.parent().unwrap_or(part);
    match fs4::available_space(folder) {
        Ok(free) if free < more.saturating_add(DISK_RESERVE) => Err(free),
        _ => Ok(()),
    }
}
