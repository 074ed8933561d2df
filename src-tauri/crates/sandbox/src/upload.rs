//! Uploads and deletions (docs/providers/open-humans.md, "Uploads", "Metadata rules", "Deleting
//! files"): `ProjectFormBaseView` (the caller, a Django form, then the member check), the direct
//! upload's three steps through a pre-signed storage PUT, the simple multipart upload, and file
//! deletion. Errors are `form.errors` with no wrapper.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::api::{admit_form, api_json, api_ok, bad_request, Caller};
use crate::content::Content;
use crate::download::storage_error;
use crate::form::{FormErrors, RequestData, UploadedFile, REQUIRED};
use crate::pages;
use crate::seed::uuid_v1_shaped;
use crate::state::{ProjectFile, Sandbox, UploadLink};
use crate::text::{random_alphanumeric, unix_seconds};
use crate::urls::{quote_path, Params};

/// `INCOMPLETE_FILE_EXPIRATION_HOURS`: how long the pre-signed PUT URL is valid.
const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(6 * 60 * 60);

/// The first half of `ProjectFormBaseView.post`: the caller and the request data, with an OAuth2
/// caller's own `project_member_id` forced in.
async fn admitted_data(sandbox: &Sandbox, request: Request) -> Result<RequestData, Box<Response>> {
    let (caller, mut data) = admit_form(sandbox, request).await?;
    if let Caller::Member(member) = caller {
        let own_id = sandbox.world.members[member].project_member_id.clone();
        data.set("project_member_id", Value::String(own_id));
    }
    Ok(data)
}

/// The second half: a valid form, then a joined, authorized member of the project.
fn validated_member(
    sandbox: &Sandbox,
    errors: FormErrors,
    project_member_id: Option<String>,
) -> Result<usize, Box<Response>> {
    if !errors.is_empty() {
        return Err(Box::new(bad_request(errors.into_value())));
    }
    let member = project_member_id
        .and_then(|id| sandbox.world.member_by_project_member_id(&id))
        .filter(|member| sandbox.store().memberships[*member].authorized);
    member.ok_or_else(|| {
        Box::new(bad_request(
            json!({"project_member_id": "project_member_id is invalid"}),
        ))
    })
}

/// `UploadDataFileBaseForm.clean_metadata`. `None` where Open Humans would crash (a `TypeError`
/// on metadata that is not an object, say).
fn clean_metadata(text: &str) -> Option<Result<Value, String>> {
    let Ok(metadata) = serde_json::from_str::<Value>(text) else {
        return Some(Err("could not parse the uploaded metadata".to_string()));
    };
    let Value::Object(fields) = &metadata else {
        return match &metadata {
            Value::Array(_) | Value::String(_) => Some(Err(
                "\"description\" is a required field of the metadata".to_string(),
            )),
            _ => None,
        };
    };
    let failure = |message: &str| Some(Err(message.to_string()));
    match fields.get("description") {
        None => return failure("\"description\" is a required field of the metadata"),
        Some(Value::String(_)) => {}
        Some(_) => return failure("\"description\" must be a string"),
    }
    match fields.get("tags") {
        None => return failure("\"tags\" is a required field of the metadata"),
        Some(Value::Array(_)) => {}
        Some(_) => return failure("\"tags\" must be an array of strings"),
    }
    for date_field in ["creation_date", "start_date", "end_date"] {
        match fields.get(date_field) {
            None | Some(Value::Number(_)) => {}
            Some(Value::String(date)) if is_iso8601(date) => {}
            Some(Value::String(_)) => return failure("Dates must be in ISO 8601 format"),
            Some(_) => return None,
        }
    }
    match fields.get("md5") {
        None => {}
        Some(Value::String(md5)) => {
            // `re.match` with IGNORECASE: 32 letters or digits at the start.
            let leading = md5.chars().take_while(char::is_ascii_alphanumeric).count();
            if leading < 32 {
                return failure("Invalid MD5 specified");
            }
        }
        Some(_) => return None,
    }
    Some(Ok(metadata))
}

/// What `arrow.get(<str>)` parses: an ISO 8601 date (`YYYY-MM-DD`, `YYYY-MM`, `YYYY`, `YYYYMMDD`),
/// optionally followed by `T` or a space and a time with optional fraction and offset.
fn is_iso8601(text: &str) -> bool {
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let digits =
        |part: &str, count: usize| part.len() == count && part.chars().all(|c| c.is_ascii_digit());
    let date_ok = match date.split('-').collect::<Vec<_>>().as_slice() {
        [year] => digits(year, 4) || digits(year, 8),
        [year, month] => digits(year, 4) && digits(month, 2),
        [year, month, day] => digits(year, 4) && digits(month, 2) && digits(day, 2),
        _ => false,
    };
    let Some(time) = time else {
        return date_ok;
    };
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(at) => time.split_at(at),
        None => (time, ""),
    };
    let (clock, fraction) = clock.split_once(['.', ',']).unwrap_or((clock, "0"));
    let clock_ok = match clock.split(':').collect::<Vec<_>>().as_slice() {
        [hours] => digits(hours, 2) || digits(hours, 4) || digits(hours, 6),
        [hours, minutes] => digits(hours, 2) && digits(minutes, 2),
        [hours, minutes, seconds] => digits(hours, 2) && digits(minutes, 2) && digits(seconds, 2),
        _ => false,
    };
    let fraction_ok = !fraction.is_empty() && fraction.chars().all(|c| c.is_ascii_digit());
    let offset_ok = match offset {
        "" | "Z" | "z" => true,
        signed => {
            let hours_minutes = signed[1..].replace(':', "");
            digits(&hours_minutes, 2) || digits(&hours_minutes, 4)
        }
    };
    date_ok && clock_ok && fraction_ok && offset_ok
}

/// `datatypes`: the project registers none, so any datatype named is an invalid choice.
fn clean_datatypes(data: &RequestData) -> Result<(), String> {
    let given = match data.raw("datatypes") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(()),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text.as_str()) {
            Ok(Value::Array(items)) => items,
            _ => vec![Value::String(text.clone())],
        },
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err("Enter a list of values.".to_string()),
    };
    match given.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "Select a valid choice. {} is not one of the available choices.",
            crate::form::python_str(first)
        )),
    }
}

/// The fields every upload form has, in form order: `project_member_id`, `metadata`, `datatypes`.
/// `None` when Open Humans would crash.
fn upload_base_fields(
    data: &RequestData,
    errors: &mut FormErrors,
) -> Option<(Option<String>, Option<Value>)> {
    let project_member_id = errors.check(
        "project_member_id",
        data.char_field("project_member_id", true),
    );
    let metadata = match data.char_field("metadata", true) {
        Err(message) => {
            errors.add("metadata", &message);
            None
        }
        Ok(text) => {
            let cleaned = clean_metadata(text.as_deref().unwrap_or(""))?;
            errors.check("metadata", cleaned)
        }
    };
    errors.check("datatypes", clean_datatypes(data));
    Some((project_member_id.flatten(), metadata))
}

/// Django's `get_valid_filename`, which storage applies to uploaded file names.
fn valid_filename(name: &str) -> String {
    name.trim()
        .replace(' ', "_")
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect()
}

/// `member-files/<source>/<uuid1>/<filename>` (`get_upload_path`).
fn upload_key(sandbox: &Sandbox, filename: &str) -> String {
    let uuid1 = uuid_v1_shaped(rand::random());
    format!(
        "member-files/{}/{uuid1}/{filename}",
        sandbox.world.project.id_label()
    )
}

/// Registers a new project file for `member` under `object_key` and returns its id; the file is
/// complete when its bytes come with it.
fn create_file(
    sandbox: &Sandbox,
    member: usize,
    metadata: Value,
    object_key: String,
    bytes: Option<Bytes>,
) -> u64 {
    let file = ProjectFile {
        member,
        basename: basename(&object_key),
        created: SystemTime::now(),
        metadata,
        object_key,
        completed: bytes.is_some(),
        bytes,
    };
    let mut store = sandbox.store();
    let id = store.next_file_id;
    store.next_file_id += 1;
    store.stats.uploads_started += 1;
    if file.completed {
        store.stats.uploads_completed += 1;
    }
    store.project_files.insert(id, file);
    id
}

fn basename(key: &str) -> String {
    key.rsplit('/').next().unwrap_or(key).to_string()
}

/// `POST /api/direct-sharing/project/files/upload/direct/`: step 1, a file record and a
/// pre-signed PUT URL.
pub async fn direct_upload(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let data = match admitted_data(&sandbox, request).await {
        Ok(data) => data,
        Err(refused) => return *refused,
    };
    let mut errors = FormErrors::default();
    let Some((project_member_id, metadata)) = upload_base_fields(&data, &mut errors) else {
        return pages::server_error();
    };
    let filename: Option<String> = errors
        .check("filename", data.char_field("filename", true))
        .flatten();
    let member = match validated_member(&sandbox, errors, project_member_id) {
        Ok(member) => member,
        Err(refused) => return *refused,
    };
    let (Some(metadata), Some(filename)) = (metadata, filename) else {
        return pages::server_error();
    };
    let object_key = upload_key(&sandbox, &filename);
    let id = create_file(&sandbox, member, metadata, object_key.clone(), None);
    let signature = random_alphanumeric(&mut rand::rng(), 28);
    let expires_at = SystemTime::now() + UPLOAD_URL_LIFETIME;
    sandbox.store().upload_links.insert(
        signature.clone(),
        UploadLink {
            file_id: id,
            object_key: object_key.clone(),
            expires_at,
        },
    );
    let url = sandbox.url(&format!(
        "/_storage/{}?Signature={signature}&Expires={}&AWSAccessKeyId=SANDBOXACCESSKEY",
        quote_path(&object_key),
        unix_seconds(expires_at)
    ));
    api_json(StatusCode::CREATED, &json!({"id": id, "url": url}))
}

/// `PUT /_storage/<key>?…&Signature=…`: step 2, the bytes to the pre-signed URL. The URL was
/// signed without a Content-Type, so sending one breaks the signature.
pub async fn storage_put(
    State(sandbox): State<Arc<Sandbox>>,
    Path(object_key): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = Params::from_query(uri.query().unwrap_or(""));
    let mut store = sandbox.store();
    let link = query
        .get("Signature")
        .and_then(|signature| store.upload_links.get(signature))
        .filter(|link| link.object_key == object_key)
        .map(|link| (link.file_id, link.expires_at));
    let signature_mismatch = || {
        storage_error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
    };
    let Some((file_id, expires_at)) = link else {
        return signature_mismatch();
    };
    if headers.contains_key(header::CONTENT_TYPE) {
        return signature_mismatch();
    }
    if SystemTime::now() >= expires_at {
        return storage_error("AccessDenied", "Request has expired");
    }
    let etag = format!("\"{}\"", Content::Stored(body.clone()).md5_hex());
    if let Some(file) = store.project_files.get_mut(&file_id) {
        file.bytes = Some(body);
    }
    (StatusCode::OK, [(header::ETAG, etag)]).into_response()
}

/// `POST /api/direct-sharing/project/files/upload/complete/`: step 3.
pub async fn complete_upload(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let data = match admitted_data(&sandbox, request).await {
        Ok(data) => data,
        Err(refused) => return *refused,
    };
    let mut errors = FormErrors::default();
    let file_id = errors
        .check("file_id", data.integer_field("file_id"))
        .flatten();
    let project_member_id = errors
        .check(
            "project_member_id",
            data.char_field("project_member_id", true),
        )
        .flatten();
    if let Err(refused) = validated_member(&sandbox, errors, project_member_id) {
        return *refused;
    }
    let Some(file_id) = file_id.filter(|id| *id != 0) else {
        return bad_request(json!({"detail": "file does not exist"}));
    };
    let rate = sandbox.store().faults.upload_incomplete_error_rate;
    if sandbox.store().roll_fault(rate) {
        return pages::server_error();
    }
    // Completion checks neither the member nor the project of the file.
    let size = match u64::try_from(file_id) {
        Ok(id) if sandbox.world.file(id).is_some() => sandbox.stored_file(id).map(|(_, c)| c.len()),
        Ok(id) => {
            let mut store = sandbox.store();
            let Some(file) = store.project_files.get_mut(&id) else {
                // `ProjectDataFile.DoesNotExist`.
                return pages::server_error();
            };
            let size = file.bytes.as_ref().map(|bytes| bytes.len() as u64);
            let newly_completed = size.is_some() && !file.completed;
            file.completed = size.is_some();
            if newly_completed {
                store.stats.uploads_completed += 1;
            }
            size
        }
        Err(_) => return pages::server_error(),
    };
    let Some(size) = size else {
        return bad_request(json!({"detail": "file not present"}));
    };
    let rate = sandbox.store().faults.upload_complete_error_rate;
    if sandbox.store().roll_fault(rate) {
        return pages::server_error();
    }
    api_ok(&json!({"status": "ok", "size": size}))
}

/// `POST /api/direct-sharing/project/files/upload/`: the simple multipart upload, completed at
/// once.
pub async fn simple_upload(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let mut data = match admitted_data(&sandbox, request).await {
        Ok(data) => data,
        Err(refused) => return *refused,
    };
    let mut errors = FormErrors::default();
    let Some((project_member_id, metadata)) = upload_base_fields(&data, &mut errors) else {
        return pages::server_error();
    };
    let data_file: Option<UploadedFile> =
        match data.files.iter().rposition(|f| f.field == "data_file") {
            None => {
                errors.add("data_file", REQUIRED);
                None
            }
            Some(at) if data.files[at].bytes.is_empty() => {
                errors.add("data_file", "The submitted file is empty.");
                None
            }
            Some(at) => Some(data.files.swap_remove(at)),
        };
    let member = match validated_member(&sandbox, errors, project_member_id) {
        Ok(member) => member,
        Err(refused) => return *refused,
    };
    let (Some(metadata), Some(data_file)) = (metadata, data_file) else {
        return pages::server_error();
    };
    let object_key = upload_key(&sandbox, &valid_filename(&basename(&data_file.filename)));
    let id = create_file(
        &sandbox,
        member,
        metadata,
        object_key,
        Some(data_file.bytes),
    );
    api_json(StatusCode::CREATED, &json!({ "id": id }))
}

/// `POST /api/direct-sharing/project/files/delete/`
pub async fn delete_files(State(sandbox): State<Arc<Sandbox>>, request: Request) -> Response {
    let data = match admitted_data(&sandbox, request).await {
        Ok(data) => data,
        Err(refused) => return *refused,
    };
    let mut errors = FormErrors::default();
    let project_member_id = errors
        .check(
            "project_member_id",
            data.char_field("project_member_id", true),
        )
        .flatten();
    let file_id = errors
        .check("file_id", data.integer_field("file_id"))
        .flatten();
    let file_basename = errors
        .check("file_basename", data.char_field("file_basename", false))
        .flatten();
    let all_files = data.boolean_field("all_files");
    let member = match validated_member(&sandbox, errors, project_member_id) {
        Ok(member) => member,
        Err(refused) => return *refused,
    };
    let file_id = file_id.filter(|id| *id != 0);
    let chosen = [file_id.is_some(), file_basename.is_some(), all_files]
        .into_iter()
        .filter(|given| *given)
        .count();
    let message = "one of file_id, file_basename, or all_files is required";
    if chosen == 0 {
        return bad_request(json!({ "missing_field": message }));
    }
    if chosen > 1 {
        return bad_request(json!({ "too_many": message }));
    }
    let mut store = sandbox.store();
    // Only the member's completed files that this project uploaded.
    let mut ids: Vec<u64> = store
        .project_files
        .iter()
        .filter(|(id, file)| {
            file.completed
                && file.member == member
                && match (file_id, &file_basename) {
                    (Some(wanted), _) => i64::try_from(**id) == Ok(wanted),
                    (None, Some(wanted)) => file.basename == *wanted,
                    (None, None) => true,
                }
        })
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable();
    for id in &ids {
        store.project_files.remove(id);
    }
    store.stats.files_deleted += ids.len() as u64;
    api_ok(&json!({ "ids": ids }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_like_arrow() {
        for good in [
            "2020-06-30",
            "2020-06",
            "2020",
            "20200630",
            "2020-06-30T20:00:00.000000+00:00",
            "2020-06-30 20:00",
            "2020-06-30T20:00:00Z",
            "2020-06-30T20:00:00-0500",
        ] {
            assert!(is_iso8601(good), "{good}");
        }
        for bad in ["yesterday", "30/06/2020", "2020-6-30", "2020-06-30T2", ""] {
            assert!(!is_iso8601(bad), "{bad}");
        }
    }

    #[test]
    fn metadata_rules() {
        let check = |text: &str| clean_metadata(text).map(|outcome| outcome.err());
        assert_eq!(check(r#"{"description": "d", "tags": []}"#), Some(None));
        assert_eq!(
            check("{'description': 'd'}"),
            Some(Some("could not parse the uploaded metadata".into()))
        );
        assert_eq!(
            check(r#"{"description": 1, "tags": []}"#),
            Some(Some("\"description\" must be a string".into()))
        );
        assert_eq!(
            check(r#"{"description": "d", "tags": "a"}"#),
            Some(Some("\"tags\" must be an array of strings".into()))
        );
        assert_eq!(
            check(r#"{"description": "d", "tags": [], "md5": "ABCDEF0123456789abcdef0123456789"}"#),
            Some(None)
        );
        assert_eq!(
            check(r#"{"description": "d", "tags": [], "md5": "xyz"}"#),
            Some(Some("Invalid MD5 specified".into()))
        );
        assert_eq!(check("5"), None, "Open Humans crashes");
    }
}
