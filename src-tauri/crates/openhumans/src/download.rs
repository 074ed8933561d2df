//! Downloading an Open Humans file to disk (docs/providers/open-humans.md, "File downloads").
//!
//! A download URL carries a key that works for an hour and redirects (302) to a storage URL
//! that works for ten minutes, so every attempt asks for a fresh URL and nothing keeps URLs.
//! Bytes stream into `<name>.part` (memory stays flat whatever the size); an interrupted
//! transfer resumes with `Range`; the md5 is checked when the caller knows it; the finished
//! file is renamed into place, so a half-written file never carries the final name.

use datalinks_core::{part_path, Error, ErrorCode, Result};
use futures::StreamExt;
use md5::{Digest, Md5};
use reqwest::{header, StatusCode};
use std::future::Future;
use std::path::{Path, PathBuf};
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio_util::sync::CancellationToken;
use url::Url;

/// Attempts per file before giving up (each with a fresh URL, resuming where the last stopped).
pub const MAX_ATTEMPTS: u32 = 5;
const WRITE_BUFFER: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct FileToFetch {
    pub file_id: u64,
    pub dest: PathBuf,
    /// Lower-case hex md5, when the file's metadata carries one.
    pub expected_md5: Option<String>,
    /// Files larger than this many bytes are not fetched. Open Humans does not list sizes, so
    /// this is decided on the size storage announces before the body (no separate HEAD, which
    /// a storage URL signed for GET would refuse).
    pub max_size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The destination already held this file (same size, and same md5 when known).
    AlreadyPresent,
    /// Written to the destination; `resumed_from` bytes came from an earlier, interrupted run.
    Downloaded { bytes: u64, resumed_from: u64 },
    /// Storage announced more than `max_size` bytes; nothing was written.
    TooLarge { size: u64 },
    /// Cancelled: every byte that arrived is in the `.part` file for the next run to resume.
    Cancelled,
}

/// How one attempt ended well.
enum Done {
    /// The body is in the `.part` file: this many bytes in all.
    Written(u64),
    /// Decided from the headers alone; the body was not read.
    Skipped(Fetched),
}

/// Why one attempt stopped.
enum Stop {
    /// Worth another attempt with a fresh URL (network, 5xx, expired key, short body).
    Retry(Error),
    Fatal(Error),
    Cancelled,
}

/// Downloads one file. `fresh_url` is called before every attempt; `progress` gets the bytes
/// received so far and the total when known. `cancel` stops it after writing out what arrived.
pub async fn fetch_file<U, Fut, P>(
    http: &reqwest::Client,
    file: &FileToFetch,
    mut fresh_url: U,
    mut progress: P,
    cancel: &CancellationToken,
) -> Result<Fetched>
where
    U: FnMut() -> Fut,
    Fut: Future<Output = Result<Url>>,
    P: FnMut(u64, Option<u64>),
{
    if same_md5_on_disk(file).await? {
        return Ok(Fetched::AlreadyPresent);
    }
    // Without an md5, a file already at the destination is compared by size with what
    // storage announces.
    let on_disk = match file.expected_md5 {
        None => tokio::fs::metadata(&file.dest).await.ok().map(|m| m.len()),
        Some(_) => None,
    };
    if let Some(parent) = file.dest.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io_error(parent, e))?;
    }
    let part = part_path(&file.dest);
    // What the server let us keep from an earlier run: set by the first answer.
    let mut resumed_from = None;
    let mut last_error = None;
    for _ in 0..MAX_ATTEMPTS {
        let url = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Ok(Fetched::Cancelled),
            url = fresh_url() => url?,
        };
        let transfer = Transfer {
            http,
            file,
            part: &part,
            on_disk,
            cancel,
        };
        match attempt(transfer, url, &mut resumed_from, &mut progress).await {
            Ok(Done::Skipped(fetched)) => return Ok(fetched),
            Ok(Done::Written(bytes)) => {
                tokio::fs::rename(&part, &file.dest)
                    .await
                    .map_err(|e| io_error(&file.dest, e))?;
                return Ok(Fetched::Downloaded {
                    bytes,
                    resumed_from: resumed_from.unwrap_or(0),
                });
            }
            Err(Stop::Retry(error)) => last_error = Some(error),
            Err(Stop::Fatal(error)) => return Err(error),
            Err(Stop::Cancelled) => return Ok(Fetched::Cancelled),
        }
    }
    let last = last_error.map(|e| e.message).unwrap_or_default();
    Err(Error::unreachable(format!(
        "File {} did not download after {MAX_ATTEMPTS} attempts ({last}). What arrived is kept and the next run resumes it.",
        file.file_id
    )))
}

/// What every attempt at one file shares.
#[derive(Clone, Copy)]
struct Transfer<'a> {
    http: &'a reqwest::Client,
    file: &'a FileToFetch,
    part: &'a Path,
    /// The size of a file already at the destination, when it has no md5 to compare.
    on_disk: Option<u64>,
    cancel: &'a CancellationToken,
}

/// One request: resumes from what `part` holds, appends, and checks size and md5.
async fn attempt<P: FnMut(u64, Option<u64>)>(
    transfer: Transfer<'_>,
    url: Url,
    resumed_from: &mut Option<u64>,
    progress: &mut P,
) -> Result<Done, Stop> {
    let Transfer {
        http,
        file,
        part,
        on_disk,
        cancel,
    } = transfer;
    let have = file_len(part).await;
    let mut request = http.get(url);
    if have > 0 {
        request = request.header(header::RANGE, format!("bytes={have}-"));
    }
    let sent = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(Stop::Cancelled),
        sent = request.send() => sent,
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
        StatusCode::OK => (0, response.content_length()),
        // Everything was already there: verify it below.
        StatusCode::RANGE_NOT_SATISFIABLE => (have, Some(have)),
        // An expired or unknown key: the next attempt gets a fresh URL.
        StatusCode::FORBIDDEN => {
            return Err(Stop::Retry(Error::provider(
                "the download key was refused (expired?)",
            )))
        }
        status if status.is_server_error() => {
            return Err(Stop::Retry(Error::unreachable(format!("HTTP {status}"))))
        }
        status => {
            return Err(Stop::Fatal(Error::provider(format!(
                "File {} could not be downloaded: HTTP {status}.",
                file.file_id
            ))))
        }
    };
    if let Some(size) = total {
        if file.max_size.is_some_and(|max| size > max) {
            return Ok(Done::Skipped(Fetched::TooLarge { size }));
        }
        if on_disk == Some(size) {
            return Ok(Done::Skipped(Fetched::AlreadyPresent));
        }
    }
    resumed_from.get_or_insert(start);

    let mut hasher = Md5::new();
    if start > 0 && file.expected_md5.is_some() {
        hash_prefix(part, &mut hasher).await.map_err(Stop::Fatal)?;
    }
    let handle = OpenOptions::new()
        .create(true)
        .write(true)
        .append(start > 0)
        .truncate(start == 0)
        .open(part)
        .await
        .map_err(|e| Stop::Fatal(io_error(part, e)))?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, handle);
    let mut done = start;
    progress(done, total);
    let mut body = response.bytes_stream();
    let mut interrupted = None;
    loop {
        let chunk = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                interrupted = Some(Stop::Cancelled);
                break;
            }
            chunk = body.next() => chunk,
        };
        let Some(chunk) = chunk else {
            break;
        };
        match chunk {
            Ok(bytes) => {
                out.write_all(&bytes)
                    .await
                    .map_err(|e| Stop::Fatal(io_error(part, e)))?;
                hasher.update(&bytes);
                done += bytes.len() as u64;
                progress(done, total);
            }
            Err(e) => {
                interrupted = Some(Stop::Retry(Error::unreachable(format!(
                    "the transfer broke off: {}",
                    e.without_url()
                ))));
                break;
            }
        }
    }
    // Keep what arrived: the next attempt resumes after it.
    out.flush()
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
    if let Some(expected) = &file.expected_md5 {
        let actual = hex(&hasher.finalize());
        if !actual.eq_ignore_ascii_case(expected) {
            // A wrong prefix cannot be resumed: start this file over.
            let _ = tokio::fs::remove_file(part).await;
            return Err(Stop::Retry(Error::new(
                ErrorCode::ProviderError,
                format!(
                    "md5 mismatch for file {} (expected {expected}, got {actual})",
                    file.file_id
                ),
            )));
        }
    }
    Ok(Done::Written(done))
}

/// The destination holds a file with the expected md5.
async fn same_md5_on_disk(file: &FileToFetch) -> Result<bool> {
    let Some(expected) = &file.expected_md5 else {
        return Ok(false);
    };
    if tokio::fs::metadata(&file.dest).await.is_err() {
        return Ok(false);
    }
    let mut hasher = Md5::new();
    hash_prefix(&file.dest, &mut hasher).await?;
    Ok(hex(&hasher.finalize()).eq_ignore_ascii_case(expected))
}

async fn hash_prefix(path: &Path, hasher: &mut Md5) -> Result<()> {
    let mut input = File::open(path).await.map_err(|e| io_error(path, e))?;
    let mut buf = vec![0u8; WRITE_BUFFER];
    loop {
        let n = input.read(&mut buf).await.map_err(|e| io_error(path, e))?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
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

async fn file_len(path: &Path) -> u64 {
    tokio::fs::metadata(path)
        .await
        .map(|m| m.len())
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_error(path: &Path, error: std::io::Error) -> Error {
    Error::storage(format!("{}: {error}", path.display()))
}
