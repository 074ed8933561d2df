//! Uploads to members from a folder and a metadata CSV, as `ohproj-upload`, and file deletion
//! (docs/providers/open-humans.md, "Uploads", "ohapi, the reference client", "Deleting files"),
//! over the steps of `datalinks_openhumans::upload`. Everything is validated before the first
//! request: the CSV matches the folder, every file has a description and tags, dates are
//! ISO 8601, a given md5 matches.

use crate::http::Retry;
use crate::metadata::parse_csv;
use crate::Project;
use datalinks_core::{Error, ErrorCode, Result};
use datalinks_openhumans::upload::{self as steps, DeleteTarget, PreparedFile, UploadApi};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Upload requests as the project, for one member: the master token, and the member named in
/// every form.
struct ForMember<'a> {
    project: &'a Project,
    project_member_id: &'a str,
}

impl UploadApi for ForMember<'_> {
    async fn post_form<T: DeserializeOwned + Send>(
        &self,
        path: &'static str,
        mut form: Vec<(&'static str, String)>,
    ) -> Result<T> {
        form.push(("project_member_id", self.project_member_id.to_owned()));
        self.project.http.post_form(path, &form, Retry::Safe).await
    }

    async fn lists_file(&self, file_id: u64) -> Result<bool> {
        let listed = self.project.member_files(self.project_member_id).await?;
        Ok(listed.iter().any(|f| f.id == file_id))
    }
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
                let md5 = file.md5();
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
        local: &PreparedFile,
        replaced: Vec<u64>,
    ) -> UploadOutcome {
        let failed = |reason| UploadOutcome::Failed {
            project_member_id: member.to_owned(),
            filename: local.filename.clone(),
            reason,
        };
        let api = ForMember {
            project: self,
            project_member_id: member,
        };
        let steps::Uploaded { file_id, size } =
            match steps::upload(&api, &self.http.transfer, local, Arc::new(|_| {})).await {
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

    /// Deletes the project's files of a member; returns the ids Open Humans deleted.
    pub async fn delete(&self, project_member_id: &str, target: &DeleteTarget) -> Result<Vec<u64>> {
        let api = ForMember {
            project: self,
            project_member_id,
        };
        steps::delete(&api, target).await.map_err(|error| {
            // Open Humans answers file operations on a member who has left or was removed with
            // 400 {"project_member_id": "project_member_id is invalid"}.
            if error.code == ErrorCode::ProviderError
                && error.message.contains("project_member_id is invalid")
            {
                Error::new(
                    ErrorCode::NotFound,
                    format!(
                        "Open Humans no longer lets this project touch the files of member \
                         {project_member_id}: they have left the project or were removed. \
                         When leaving, a member can choose to remove the project's files; \
                         otherwise ask Open Humans support to erase them."
                    ),
                )
            } else {
                error
            }
        })
    }
}

/// Reads and validates the CSV and the files it names, by member.
async fn read_plan(options: &UploadOptions) -> Result<BTreeMap<String, Vec<PreparedFile>>> {
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
    let mut plan: BTreeMap<String, Vec<PreparedFile>> = BTreeMap::new();
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
        if !crate::is_project_member_id(&member) {
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

/// The file's size and md5, and its metadata checked by Open Humans' rules
/// (docs/providers/open-humans.md, "Metadata rules").
/// The CSV gives tags as one comma-separated cell.
async fn read_local_file(
    folder: &Path,
    filename: String,
    mut metadata: Map<String, Value>,
    max_size: Option<u64>,
) -> Result<PreparedFile> {
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
    let path = folder.join(&filename);
    steps::prepare_file(&path, filename, metadata, Vec::new(), max_size).await
}
