//! The connected member uploads a file of their own to the Open Humans project, and deletes
//! files the project holds for them (docs/providers/open-humans.md, "Uploads", "Deleting files").
//! Every request goes through `with_token`, so an expired token is refreshed between steps.

use crate::audit::actions;
use crate::progress::PROGRESS_INTERVAL;
use crate::{Datalinks, DeleteTargetInput, Report, UploadInput, UploadProgress, UploadedFile};
use datalinks_core::{ConnectionId, Error, Result};
use datalinks_openhumans::upload::{self as steps, Progress, UploadApi};
use datalinks_openhumans::{ApiClient, ApiError};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Upload requests with the member's own token.
struct MemberUploads<'a> {
    service: &'a Arc<Datalinks>,
    connection: ConnectionId,
    api: ApiClient,
    action: &'static str,
}

impl UploadApi for MemberUploads<'_> {
    async fn post_form<T: DeserializeOwned + Send>(
        &self,
        path: &'static str,
        form: Vec<(&'static str, String)>,
    ) -> Result<T> {
        self.service
            .with_token(self.connection, self.action, |credential| {
                let api = self.api.clone();
                let form = form.clone();
                async move {
                    let token = credential.access_token().map_err(ApiError::Failed)?;
                    api.post_form(token, path, &form).await
                }
            })
            .await
    }

    async fn lists_file(&self, file_id: u64) -> Result<bool> {
        let member = self.service.member(self.connection, &self.api).await?;
        Ok(member.files.iter().any(|f| f.id == file_id))
    }
}

impl Datalinks {
    async fn member_uploads(
        self: &Arc<Self>,
        connection: ConnectionId,
        action: &'static str,
    ) -> Result<MemberUploads<'_>> {
        Ok(MemberUploads {
            service: self,
            connection,
            api: self.member_api(connection).await?,
            action,
        })
    }

    /// Uploads a local file with its metadata (checked before any request) through the direct
    /// upload, reporting the bytes sent to the host.
    pub async fn upload_file(
        self: &Arc<Self>,
        connection: ConnectionId,
        path: &Path,
        input: UploadInput,
        report: Report<UploadProgress>,
    ) -> Result<UploadedFile> {
        if !path.is_absolute() {
            return Err(Error::invalid_input(
                "Give the file's full path, such as /home/you/Documents/steps.csv.",
            ));
        }
        let filename = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| {
                Error::invalid_input(format!("{} does not name a file.", path.display()))
            })?
            .to_owned();
        let tags: Vec<Value> = input
            .tags
            .iter()
            .map(|tag| tag.trim())
            .filter(|tag| !tag.is_empty())
            .map(Value::from)
            .collect();
        if tags.is_empty() {
            return Err(Error::invalid_input(format!(
                "{filename} needs at least one tag, so you and the project can tell what it holds."
            )));
        }
        let mut metadata = Map::new();
        metadata.insert("description".into(), input.description.trim().into());
        metadata.insert("tags".into(), Value::Array(tags));
        if let Some(date) = input.creation_date.as_deref().map(str::trim) {
            if !date.is_empty() {
                metadata.insert("creation_date".into(), date.into());
            }
        }
        let file = steps::prepare_file(path, filename, metadata, input.datatypes, None).await?;

        let progress = upload_progress_reporter(report, &file.filename, file.size);
        let uploads = self.member_uploads(connection, actions::UPLOAD).await?;
        let outcome = self
            .audited(
                connection,
                actions::UPLOAD,
                steps::upload(&uploads, &self.download_http, &file, progress),
            )
            .await;
        match outcome {
            Ok(uploaded) => {
                self.record_for(
                    connection,
                    "file_uploaded",
                    &format!(
                        "Uploaded {} ({} bytes, md5 {}) as file {}.",
                        file.filename, uploaded.size, file.md5, uploaded.file_id
                    ),
                )?;
                Ok(UploadedFile {
                    id: uploaded.file_id,
                    basename: file.filename,
                    size: uploaded.size,
                    md5: file.md5,
                })
            }
            Err(error) => {
                self.record_for(
                    connection,
                    "upload_failed",
                    &format!("The upload of {} failed: {}", file.filename, error.message),
                )?;
                Err(error)
            }
        }
    }

    /// Deletes the member's files that the project uploaded, as `target` says; returns the ids
    /// Open Humans deleted.
    pub async fn delete_files(
        self: &Arc<Self>,
        connection: ConnectionId,
        target: DeleteTargetInput,
    ) -> Result<Vec<u64>> {
        let what = match &target {
            DeleteTargetInput::FileId { file_id } => format!("file {file_id}"),
            DeleteTargetInput::Basename { basename } if basename.trim().is_empty() => {
                return Err(Error::invalid_input("Name the files to delete."));
            }
            DeleteTargetInput::Basename { basename } => format!("the files named {basename}"),
            DeleteTargetInput::AllFiles => "all files".to_owned(),
        };
        let uploads = self
            .member_uploads(connection, actions::DELETE_FILES)
            .await?;
        let ids = self
            .audited(
                connection,
                actions::DELETE_FILES,
                steps::delete(&uploads, &target.into()),
            )
            .await?;
        let deleted = match ids.as_slice() {
            [] => "none".to_owned(),
            ids => {
                let listed: Vec<String> = ids.iter().map(u64::to_string).collect();
                format!("{} (ids {})", ids.len(), listed.join(", "))
            }
        };
        self.record_for(
            connection,
            "files_deleted",
            &format!("Asked to delete {what}; Open Humans deleted {deleted}."),
        )?;
        Ok(ids)
    }
}

/// Reports the bytes sent to `report`: the start and the end always, at most every
/// `PROGRESS_INTERVAL` in between.
fn upload_progress_reporter(
    report: Report<UploadProgress>,
    basename: &str,
    total: u64,
) -> Progress {
    let basename = basename.to_owned();
    let last_report: Mutex<Option<Instant>> = Mutex::new(None);
    Arc::new(move |bytes_sent| {
        let mut last = last_report.lock().unwrap();
        let due = bytes_sent == 0
            || bytes_sent == total
            || last.is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL);
        if due {
            *last = Some(Instant::now());
            report(UploadProgress {
                basename: basename.clone(),
                bytes_sent,
                total,
            });
        }
    })
}
