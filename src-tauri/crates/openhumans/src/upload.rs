//! Uploading one file to Open Humans through the three-step direct upload, with its metadata
//! checked by Open Humans' rules first, and deleting files (docs/providers/open-humans.md,
//! "Direct upload", "Metadata rules", "Deleting files").
//!
//! The same steps serve a member with their own OAuth2 token and a project with its master
//! token: [`UploadApi`] is how a caller authorizes its requests (and, for a project, names the
//! member the files are for).

use datalinks_core::{Error, ErrorCode, Result};
use datalinks_http::{RetryPolicy, Retryable, Verdict};
use futures::TryStreamExt;
use md5::{Digest, Md5};
use reqwest::header;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Iso8601;
use tokio::io::AsyncReadExt;

pub const DIRECT_UPLOAD_PATH: &str = "/api/direct-sharing/project/files/upload/direct/";
pub const UPLOAD_COMPLETE_PATH: &str = "/api/direct-sharing/project/files/upload/complete/";
pub const DELETE_FILES_PATH: &str = "/api/direct-sharing/project/files/delete/";
const DATE_FIELDS: [&str; 3] = ["creation_date", "start_date", "end_date"];
const READ_CHUNK: usize = 256 * 1024;

/// Which of a member's files to delete. Only files the calling project uploaded are deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteTarget {
    FileId(u64),
    /// Every file with this name.
    Basename(String),
    AllFiles,
}

/// Bytes sent so far to storage, called as the upload goes (from 0 again if the PUT is retried).
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// How upload requests reach Open Humans for one member.
pub trait UploadApi: Sync {
    /// POSTs `form` to the API endpoint at `path`, authorized as the caller. A project adds
    /// `project_member_id`; for a member's own token Open Humans fills it in itself.
    fn post_form<T: DeserializeOwned + Send>(
        &self,
        path: &'static str,
        form: Vec<(&'static str, String)>,
    ) -> impl Future<Output = Result<T>> + Send;

    /// Whether the member's files, as Open Humans lists them now, include this one (listings
    /// show completed files only).
    fn lists_file(&self, file_id: u64) -> impl Future<Output = Result<bool>> + Send;
}

/// A local file with metadata that Open Humans will accept, and its md5.
#[derive(Debug, Clone)]
pub struct PreparedFile {
    pub path: PathBuf,
    /// The name it gets on Open Humans.
    pub filename: String,
    pub size: u64,
    /// Lower-case hex.
    pub md5: String,
    /// With `tags` as a list and `md5` filled in.
    pub metadata: Value,
    /// Datatype ids or names registered for the project; may be empty.
    pub datatypes: Vec<String>,
}

/// What Open Humans kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uploaded {
    pub file_id: u64,
    pub size: u64,
}

#[derive(Deserialize)]
struct DirectUpload {
    id: u64,
    url: String,
}

#[derive(Deserialize)]
struct Completion {
    status: String,
    size: u64,
}

#[derive(Deserialize)]
struct Deletion {
    ids: Vec<u64>,
}

/// Checks `metadata` by Open Humans' rules: a non-empty `description` string, `tags` a list of
/// strings (empty allowed), ISO 8601 dates. `filename` only names the file in messages.
pub fn validate_metadata(filename: &str, metadata: &Map<String, Value>) -> Result<()> {
    let description = metadata.get("description").and_then(Value::as_str);
    if description.is_none_or(|d| d.trim().is_empty()) {
        return Err(Error::invalid_input(format!(
            "{filename} has no description (Open Humans requires one)."
        )));
    }
    let tags_are_strings = metadata
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().all(Value::is_string));
    if !tags_are_strings {
        return Err(Error::invalid_input(format!(
            "{filename} has no list of tags (Open Humans requires one)."
        )));
    }
    for field in DATE_FIELDS {
        match metadata.get(field) {
            None => {}
            Some(Value::String(text)) if is_iso8601(text) => {}
            Some(other) => {
                return Err(Error::invalid_input(format!(
                    "{filename}: {field} {other} is not an ISO 8601 date (such as 2024-03-01 or 2024-03-01T10:00:00Z)."
                )))
            }
        }
    }
    Ok(())
}

/// Validates the metadata and reads the file once to size and hash it (never whole in memory).
/// A `md5` already in the metadata must match the file's.
pub async fn prepare_file(
    path: &Path,
    filename: String,
    mut metadata: Map<String, Value>,
    datatypes: Vec<String>,
    max_size: Option<u64>,
) -> Result<PreparedFile> {
    if filename.is_empty() || filename.contains(['/', '\\']) {
        return Err(Error::invalid_input(format!(
            "{filename:?} is not a file name."
        )));
    }
    validate_metadata(&filename, &metadata)?;
    let (size, md5) = size_and_md5(path).await?;
    if size == 0 {
        return Err(Error::invalid_input(format!(
            "{} is empty; Open Humans does not take empty files.",
            path.display()
        )));
    }
    if max_size.is_some_and(|max| size > max) {
        return Err(Error::invalid_input(format!(
            "{} is larger than the maximum size.",
            path.display()
        )));
    }
    if let Some(given) = metadata.get("md5").and_then(Value::as_str) {
        if !given.eq_ignore_ascii_case(&md5) {
            return Err(Error::invalid_input(format!(
                "{filename}: the given md5 {given} does not match the file ({md5})."
            )));
        }
    }
    metadata.insert("md5".into(), Value::String(md5.clone()));
    Ok(PreparedFile {
        path: path.to_owned(),
        filename,
        size,
        md5,
        metadata: Value::Object(metadata),
        datatypes,
    })
}

/// Runs the three steps: the file record, the bytes to storage, the completion. A completion
/// whose answer is lost (5xx, network) counts as done only if Open Humans then lists the file.
pub async fn upload<A: UploadApi>(
    api: &A,
    storage: &reqwest::Client,
    file: &PreparedFile,
    progress: Progress,
) -> Result<Uploaded> {
    let mut request = vec![
        ("filename", file.filename.clone()),
        ("metadata", file.metadata.to_string()),
    ];
    if !file.datatypes.is_empty() {
        request.push(("datatypes", Value::from(file.datatypes.clone()).to_string()));
    }
    // A lost answer leaves an incomplete record, invisible and purged after 6 h.
    let created: DirectUpload = api.post_form(DIRECT_UPLOAD_PATH, request).await?;
    let storage_url = url::Url::parse(&created.url)
        .map_err(|_| Error::provider("Open Humans sent an invalid upload URL."))?;
    put_file(storage, storage_url, file, progress).await?;
    let completion = vec![("file_id", created.id.to_string())];
    match api
        .post_form::<Completion>(UPLOAD_COMPLETE_PATH, completion)
        .await
    {
        Ok(done) if done.status == "ok" && done.size == file.size => Ok(Uploaded {
            file_id: created.id,
            size: done.size,
        }),
        Ok(done) => Err(Error::provider(format!(
            "Open Humans completed file {} with status {:?} and {} bytes instead of {}.",
            created.id, done.status, done.size, file.size
        ))),
        Err(error) if error.code == ErrorCode::Unreachable => {
            if api.lists_file(created.id).await? {
                Ok(Uploaded {
                    file_id: created.id,
                    size: file.size,
                })
            } else {
                Err(Error::unreachable(format!(
                    "The upload of {} was not completed ({}). Open Humans hides and later purges the incomplete file; upload it again.",
                    file.filename, error.message
                )))
            }
        }
        Err(error) => Err(error),
    }
}

/// Deletes the member's files that `target` names; returns the ids Open Humans deleted (none is
/// a normal answer).
pub async fn delete<A: UploadApi>(api: &A, target: &DeleteTarget) -> Result<Vec<u64>> {
    let field = match target {
        DeleteTarget::FileId(id) => ("file_id", id.to_string()),
        DeleteTarget::Basename(name) => ("file_basename", name.clone()),
        DeleteTarget::AllFiles => ("all_files", "true".to_owned()),
    };
    let deleted: Deletion = api.post_form(DELETE_FILES_PATH, vec![field]).await?;
    Ok(deleted.ids)
}

/// Streams the file to the pre-signed URL, again under the retry policy after 5xx or network
/// failures (each try sends the file from its start).
async fn put_file(
    storage: &reqwest::Client,
    url: url::Url,
    file: &PreparedFile,
    progress: Progress,
) -> Result<()> {
    RetryPolicy::REQUEST
        .run(|| put_once(storage, url.clone(), file, progress.clone()))
        .await
        .map_err(|failure| match failure {
            PutFailure::Passing { reason, .. } => Error::unreachable(format!(
                "{} could not be sent to Open Humans' storage: {reason}.",
                file.filename
            )),
            PutFailure::Final(error) => error,
        })
}

/// Why a PUT failed.
enum PutFailure {
    /// Another try may succeed, when storage says (`Retry-After`) or after the usual pause.
    Passing {
        reason: String,
        retry_after: Option<Duration>,
    },
    Final(Error),
}

impl Retryable for PutFailure {
    fn verdict(&self) -> Verdict {
        match self {
            PutFailure::Passing {
                retry_after: Some(pause),
                ..
            } => Verdict::After(*pause),
            PutFailure::Passing { .. } => Verdict::Again,
            PutFailure::Final(_) => Verdict::Final,
        }
    }
}

/// One PUT.
async fn put_once(
    storage: &reqwest::Client,
    url: url::Url,
    file: &PreparedFile,
    progress: Progress,
) -> Result<(), PutFailure> {
    let handle = tokio::fs::File::open(&file.path)
        .await
        .map_err(|e| PutFailure::Final(io_error(&file.path, e)))?;
    // Exactly the bytes that were hashed, even if the file grew since.
    let reader = handle.take(file.size);
    let mut sent = 0u64;
    progress(0);
    let chunks =
        tokio_util::io::ReaderStream::with_capacity(reader, READ_CHUNK).inspect_ok(move |chunk| {
            sent += chunk.len() as u64;
            progress(sent);
        });
    // No Content-Type: the URL was signed without one. A Content-Length, as storage refuses
    // chunked uploads.
    let request = storage
        .put(url)
        .header(header::CONTENT_LENGTH, file.size)
        .body(reqwest::Body::wrap_stream(chunks));
    let response = datalinks_http::send(request).await;
    let response = match response {
        Ok(response) => response,
        Err(e) => {
            return Err(PutFailure::Passing {
                reason: e.without_url().to_string(),
                retry_after: None,
            })
        }
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(PutFailure::Passing {
            reason: format!("HTTP {}", status.as_u16()),
            retry_after: datalinks_http::retry_after(response.headers()),
        });
    }
    let body = response.text().await.unwrap_or_default();
    let excerpt = datalinks_http::excerpt(&body, &[]);
    Err(PutFailure::Final(Error::provider(format!(
        "Open Humans' storage refused {} (HTTP {}): {excerpt}",
        file.filename,
        status.as_u16()
    ))))
}

async fn size_and_md5(path: &Path) -> Result<(u64, String)> {
    let not_readable = |e: std::io::Error| Error::invalid_input(format!("{}: {e}", path.display()));
    if !tokio::fs::metadata(path)
        .await
        .map_err(not_readable)?
        .is_file()
    {
        return Err(Error::invalid_input(format!(
            "{} is not a file.",
            path.display()
        )));
    }
    let mut input = tokio::fs::File::open(path).await.map_err(not_readable)?;
    let mut hasher = Md5::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = input.read(&mut buf).await.map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let md5 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((size, md5))
}

/// Dates as Open Humans' `arrow.get` reads them: a date, or a date and time (`T` or a space)
/// with an optional offset.
pub fn is_iso8601(text: &str) -> bool {
    let text = text.trim().replacen(' ', "T", 1);
    time::OffsetDateTime::parse(&text, &Iso8601::DEFAULT).is_ok()
        || time::PrimitiveDateTime::parse(&text, &Iso8601::DEFAULT).is_ok()
        || time::Date::parse(&text, &Iso8601::DEFAULT).is_ok()
}

fn io_error(path: &Path, error: std::io::Error) -> Error {
    Error::storage(format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iso8601_dates_as_open_humans_reads_them() {
        for good in [
            "2018-01-01",
            "2018-01-01T10:00:00",
            "2018-01-01T10:00:00Z",
            "2018-01-01 10:00:00+02:00",
        ] {
            assert!(is_iso8601(good), "{good}");
        }
        for bad in ["01/02/2018", "yesterday", ""] {
            assert!(!is_iso8601(bad), "{bad}");
        }
    }

    #[test]
    fn metadata_rules() {
        let check = |metadata: Value| {
            let Value::Object(map) = metadata else {
                unreachable!()
            };
            validate_metadata("a.txt", &map).map_err(|e| e.message)
        };
        assert!(check(json!({"description": "d", "tags": []})).is_ok());
        assert!(
            check(json!({"description": "d", "tags": ["x"], "creation_date": "2024-03-01"}))
                .is_ok()
        );
        assert!(check(json!({"tags": ["x"]}))
            .unwrap_err()
            .contains("no description"));
        assert!(check(json!({"description": "  ", "tags": ["x"]}))
            .unwrap_err()
            .contains("no description"));
        assert!(check(json!({"description": "d"}))
            .unwrap_err()
            .contains("tags"));
        assert!(check(json!({"description": "d", "tags": "x,y"}))
            .unwrap_err()
            .contains("tags"));
        assert!(
            check(json!({"description": "d", "tags": [], "end_date": "March 1st"}))
                .unwrap_err()
                .contains("ISO 8601")
        );
    }

    #[tokio::test]
    async fn a_file_is_hashed_and_its_given_md5_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hello.txt");
        std::fs::write(&path, "hello world").unwrap();
        let metadata = |extra: Value| {
            let mut map = Map::new();
            map.insert("description".into(), json!("d"));
            map.insert("tags".into(), json!([]));
            if let Value::Object(extra) = extra {
                map.extend(extra);
            }
            map
        };
        let prepared = prepare_file(&path, "hello.txt".into(), metadata(json!({})), vec![], None)
            .await
            .unwrap();
        assert_eq!(prepared.size, 11);
        assert_eq!(prepared.md5, "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(prepared.metadata["md5"], json!(prepared.md5));

        let wrong = metadata(json!({"md5": "00000000000000000000000000000000"}));
        let error = prepare_file(&path, "hello.txt".into(), wrong, vec![], None)
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput);
        let too_big = prepare_file(
            &path,
            "hello.txt".into(),
            metadata(json!({})),
            vec![],
            Some(10),
        )
        .await
        .unwrap_err();
        assert_eq!(too_big.code, ErrorCode::InvalidInput);
        std::fs::write(&path, "").unwrap();
        let empty = prepare_file(&path, "hello.txt".into(), metadata(json!({})), vec![], None)
            .await
            .unwrap_err();
        assert!(empty.message.contains("empty"), "{}", empty.message);
    }
}
