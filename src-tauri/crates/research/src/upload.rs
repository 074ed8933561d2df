//! Uploads to members from a folder and a metadata CSV, as `ohproj-upload` (providers.md A9, A13),
//! and file deletion (A10). Everything is validated before the first request: the CSV matches the
//! folder, every file has a description and tags, dates are ISO 8601, a given md5 matches.

use crate::http::{send_with_backoff, Retry};
use crate::metadata::parse_csv;
use crate::Project;
use bytes::Bytes;
use datalinks_core::{Error, ErrorCode, Result};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use time::format_description::well_known::Iso8601;

const DIRECT_UPLOAD_PATH: &str = "api/direct-sharing/project/files/upload/direct/";
const UPLOAD_COMPLETE_PATH: &str = "api/direct-sharing/project/files/upload/complete/";
const DELETE_FILES_PATH: &str = "api/direct-sharing/project/files/delete/";
const DATE_COLUMNS: [&str; 3] = ["creation_date", "start_date", "end_date"];

/// As ohapi: `Default` uploads unless an identical file is there (and replaces older files of
/// the same name), `Safe` never touches a name that exists, `Sync` is `Default` plus deleting
/// the project's files that are not in the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    Default,
    Safe,
    Sync,
}

#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// With a `project_member_id` column: one subfolder per member (`<dir>/<8 digits>/…`);
    /// without: the files of `member` directly in `dir`.
    pub dir: PathBuf,
    pub metadata_csv: PathBuf,
    pub member: Option<String>,
    pub mode: UploadMode,
    pub max_size: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UploadOutcome {
    Uploaded {
        project_member_id: String,
        filename: String,
        file_id: u64,
        size: u64,
        /// Older files of the same name that the upload replaced.
        replaced: Vec<u64>,
    },
    /// A file with the same name and md5 is already there.
    Unchanged {
        project_member_id: String,
        filename: String,
    },
    /// `Safe` mode: the name exists, left alone.
    SkippedExisting {
        project_member_id: String,
        filename: String,
    },
    /// `Sync` mode: on Open Humans but not in the folder.
    Deleted {
        project_member_id: String,
        filename: String,
        file_ids: Vec<u64>,
    },
    Failed {
        project_member_id: String,
        filename: String,
        reason: Error,
    },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UploadReport {
    pub outcomes: Vec<UploadOutcome>,
}

impl UploadReport {
    pub fn failures(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, UploadOutcome::Failed { .. }))
            .count()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteTarget {
    FileId(u64),
    Basename(String),
    AllFiles,
}

/// One local file ready to go: its bytes and validated metadata.
struct LocalFile {
    filename: String,
    bytes: Bytes,
    md5: String,
    metadata: Value,
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

impl Project {
    pub async fn upload_from_dir(&self, options: &UploadOptions) -> Result<UploadReport> {
        let plan = read_plan(options).await?;
        let own_source = self.info().await?.id_label;
        let mut report = UploadReport::default();
        for (member, files) in plan {
            let remote = self.member_files(&member).await?;
            let mut remote_by_name: BTreeMap<String, Vec<(u64, Option<String>)>> = BTreeMap::new();
            for file in remote.into_iter().filter(|f| f.source == own_source) {
                let md5 = file.md5().map(str::to_ascii_lowercase);
                remote_by_name
                    .entry(file.basename)
                    .or_default()
                    .push((file.id, md5));
            }
            for local in &files {
                let existing = remote_by_name
                    .get(&local.filename)
                    .cloned()
                    .unwrap_or_default();
                let outcome = if !existing.is_empty() && options.mode == UploadMode::Safe {
                    UploadOutcome::SkippedExisting {
                        project_member_id: member.clone(),
                        filename: local.filename.clone(),
                    }
                } else if existing
                    .iter()
                    .any(|(_, md5)| md5.as_deref() == Some(&local.md5))
                {
                    UploadOutcome::Unchanged {
                        project_member_id: member.clone(),
                        filename: local.filename.clone(),
                    }
                } else {
                    let replaced = existing.iter().map(|(id, _)| *id).collect();
                    self.upload_replacing(&member, local, replaced).await
                };
                report.outcomes.push(outcome);
            }
            if options.mode == UploadMode::Sync {
                let local_names: BTreeSet<&str> =
                    files.iter().map(|f| f.filename.as_str()).collect();
                for filename in remote_by_name
                    .keys()
                    .filter(|n| !local_names.contains(n.as_str()))
                {
                    let target = DeleteTarget::Basename(filename.clone());
                    report
                        .outcomes
                        .push(match self.delete(&member, &target).await {
                            Ok(file_ids) => UploadOutcome::Deleted {
                                project_member_id: member.clone(),
                                filename: filename.clone(),
                                file_ids,
                            },
                            Err(reason) => UploadOutcome::Failed {
                                project_member_id: member.clone(),
                                filename: filename.clone(),
                                reason,
                            },
                        });
                }
            }
        }
        Ok(report)
    }

    async fn upload_replacing(
        &self,
        member: &str,
        local: &LocalFile,
        replaced: Vec<u64>,
    ) -> UploadOutcome {
        let failed = |reason| UploadOutcome::Failed {
            project_member_id: member.to_owned(),
            filename: local.filename.clone(),
            reason,
        };
        let (file_id, size) = match self.upload_file(member, local).await {
            Ok(done) => done,
            Err(reason) => return failed(reason),
        };
        for old in &replaced {
            if let Err(reason) = self.delete(member, &DeleteTarget::FileId(*old)).await {
                return failed(Error::new(
                    reason.code,
                    format!("Uploaded as file {file_id}, but the older file {old} could not be deleted: {}", reason.message),
                ));
            }
        }
        UploadOutcome::Uploaded {
            project_member_id: member.to_owned(),
            filename: local.filename.clone(),
            file_id,
            size,
            replaced,
        }
    }

    /// The three-step direct upload. Returns the new file's id and size.
    async fn upload_file(&self, member: &str, local: &LocalFile) -> Result<(u64, u64)> {
        let created: DirectUpload = self
            .http
            .post_form(
                DIRECT_UPLOAD_PATH,
                &[
                    ("project_member_id", member.to_owned()),
                    ("filename", local.filename.clone()),
                    ("metadata", local.metadata.to_string()),
                ],
                // A lost answer leaves an incomplete record, invisible and purged after 6 h.
                Retry::Safe,
            )
            .await?;
        let storage_url = url::Url::parse(&created.url)
            .map_err(|_| Error::provider("Open Humans sent an invalid upload URL."))?;
        // No Content-Type: the storage URL was signed without one.
        send_with_backoff(Retry::Safe, || {
            self.http
                .client
                .put(storage_url.clone())
                .body(local.bytes.clone())
        })
        .await?;
        let completion = [
            ("project_member_id", member.to_owned()),
            ("file_id", created.id.to_string()),
        ];
        match self
            .http
            .post_form::<Completion>(UPLOAD_COMPLETE_PATH, &completion, Retry::Safe)
            .await
        {
            Ok(done) if done.status == "ok" && done.size == local.bytes.len() as u64 => {
                Ok((created.id, done.size))
            }
            Ok(done) => Err(Error::provider(format!(
                "Open Humans completed file {} with status {:?} and {} bytes instead of {}.",
                created.id,
                done.status,
                done.size,
                local.bytes.len()
            ))),
            // The answer may have been lost after the file was completed: only the listing can
            // tell, and a file not listed is not done.
            Err(error) if error.code == ErrorCode::Unreachable => {
                let listed = self.member_files(member).await?;
                if listed.iter().any(|f| f.id == created.id) {
                    Ok((created.id, local.bytes.len() as u64))
                } else {
                    Err(Error::unreachable(format!(
                        "The upload of {} was not completed ({}). Open Humans hides and later purges the incomplete file; run the upload again.",
                        local.filename, error.message
                    )))
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Deletes the project's files of a member; returns the ids Open Humans deleted.
    pub async fn delete(&self, project_member_id: &str, target: &DeleteTarget) -> Result<Vec<u64>> {
        let mut form = vec![("project_member_id", project_member_id.to_owned())];
        form.push(match target {
            DeleteTarget::FileId(id) => ("file_id", id.to_string()),
            DeleteTarget::Basename(name) => ("file_basename", name.clone()),
            DeleteTarget::AllFiles => ("all_files", "true".to_owned()),
        });
        let deleted: Deletion = self
            .http
            .post_form(DELETE_FILES_PATH, &form, Retry::Safe)
            .await?;
        Ok(deleted.ids)
    }
}

/// Reads and validates the CSV and the files it names, by member.
async fn read_plan(options: &UploadOptions) -> Result<BTreeMap<String, Vec<LocalFile>>> {
    let text = tokio::fs::read_to_string(&options.metadata_csv)
        .await
        .map_err(|e| Error::invalid_input(format!("{}: {e}", options.metadata_csv.display())))?;
    let mut rows = parse_csv(&text)?.into_iter();
    let header: Vec<String> = rows
        .next()
        .ok_or_else(|| Error::invalid_input("The metadata CSV is empty."))?
        .into_iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let filename_column = column("filename")
        .ok_or_else(|| Error::invalid_input("The metadata CSV has no `filename` column."))?;
    let member_column = column("project_member_id");
    if member_column.is_none() && options.member.is_none() {
        return Err(Error::invalid_input(
            "The metadata CSV has no `project_member_id` column: name the member the files are for.",
        ));
    }
    let mut plan: BTreeMap<String, Vec<LocalFile>> = BTreeMap::new();
    for (line, row) in rows.enumerate() {
        let line = line + 2;
        let cell = |index: usize| row.get(index).map(|v| v.trim()).unwrap_or("");
        let (member, folder) = match member_column {
            Some(index) => (cell(index).to_owned(), options.dir.join(cell(index))),
            None => (
                options.member.clone().unwrap_or_default(),
                options.dir.clone(),
            ),
        };
        if options.member.as_ref().is_some_and(|only| *only != member) {
            continue;
        }
        if member.len() != 8 || !member.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid_input(format!(
                "Line {line}: {member:?} is not a project member id (8 digits)."
            )));
        }
        let filename = cell(filename_column).to_owned();
        let fields = header
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != member_column && *i != filename_column);
        let mut metadata = Map::new();
        for (index, name) in fields {
            if !cell(index).is_empty() {
                metadata.insert(name.clone(), Value::String(cell(index).to_owned()));
            }
        }
        let local = read_local_file(&folder, filename, metadata, options.max_size)
            .await
            .map_err(|e| Error::invalid_input(format!("Line {line}: {}", e.message)))?;
        plan.entry(member).or_default().push(local);
    }
    for (member, files) in &plan {
        let folder = match member_column {
            Some(_) => options.dir.join(member),
            None => options.dir.clone(),
        };
        let listed: BTreeSet<&str> = files.iter().map(|f| f.filename.as_str()).collect();
        let mut entries = tokio::fs::read_dir(&folder)
            .await
            .map_err(|e| Error::invalid_input(format!("{}: {e}", folder.display())))?;
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| Error::storage(e.to_string()))?
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_file() && !listed.contains(name.as_str()) {
                return Err(Error::invalid_input(format!(
                    "{} has no row in the metadata CSV: the CSV must describe every file in the folder.",
                    entry.path().display()
                )));
            }
        }
    }
    Ok(plan)
}

/// The file's bytes and its metadata checked by Open Humans' rules (providers.md A9.3).
async fn read_local_file(
    folder: &Path,
    filename: String,
    mut metadata: Map<String, Value>,
    max_size: Option<u64>,
) -> Result<LocalFile> {
    if filename.is_empty() || filename.contains(['/', '\\']) {
        return Err(Error::invalid_input(format!(
            "{filename:?} is not a file name."
        )));
    }
    let description = metadata
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    if description.is_empty() {
        return Err(Error::invalid_input(format!(
            "{filename} has no description (Open Humans requires one)."
        )));
    }
    let tags: Vec<Value> = metadata
        .get("tags")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(|tag| Value::String(tag.to_owned()))
        .collect();
    metadata.insert("tags".into(), Value::Array(tags));
    for date in DATE_COLUMNS {
        if let Some(text) = metadata.get(date).and_then(Value::as_str) {
            if !is_iso8601(text) {
                return Err(Error::invalid_input(format!(
                    "{filename}: {date} {text:?} is not an ISO 8601 date."
                )));
            }
        }
    }
    let path = folder.join(&filename);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| Error::invalid_input(format!("{}: {e}", path.display())))?;
    if bytes.is_empty() {
        return Err(Error::invalid_input(format!(
            "{} is empty; Open Humans does not take empty files.",
            path.display()
        )));
    }
    if max_size.is_some_and(|max| bytes.len() as u64 > max) {
        return Err(Error::invalid_input(format!(
            "{} is larger than the maximum size.",
            path.display()
        )));
    }
    let md5: String = Md5::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if let Some(given) = metadata.get("md5").and_then(Value::as_str) {
        if !given.eq_ignore_ascii_case(&md5) {
            return Err(Error::invalid_input(format!(
                "{filename}: the CSV's md5 {given} does not match the file ({md5})."
            )));
        }
    }
    metadata.insert("md5".into(), json!(md5));
    Ok(LocalFile {
        filename,
        bytes: Bytes::from(bytes),
        md5,
        metadata: Value::Object(metadata),
    })
}

/// Dates as Open Humans' `arrow.get` reads them: a date, or a date and time (`T` or a space)
/// with an optional offset.
fn is_iso8601(text: &str) -> bool {
    let text = text.trim().replacen(' ', "T", 1);
    time::OffsetDateTime::parse(&text, &Iso8601::DEFAULT).is_ok()
        || time::PrimitiveDateTime::parse(&text, &Iso8601::DEFAULT).is_ok()
        || time::Date::parse(&text, &Iso8601::DEFAULT).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
