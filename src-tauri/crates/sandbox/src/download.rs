//! The two download hops of providers.md A4: the Open Humans link (key valid 1 h) redirects to a
//! pre-signed storage URL (valid 10 min) that serves the bytes.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::pages;
use crate::state::{Sandbox, StorageLink};
use crate::text::{random_alphanumeric, unix_seconds};
use crate::urls::Params;

/// `GET /data-management/datafile-download/<id>/?key=<uuid4>`
pub async fn datafile_download(
    State(sandbox): State<Arc<Sandbox>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let Some(file) = id.parse().ok().and_then(|id| sandbox.world.file(id)) else {
        return pages::forbidden("This file is unavailable.");
    };
    let query = Params::from_query(uri.query().unwrap_or(""));
    let key = query.get("key").unwrap_or("");
    let now = SystemTime::now();
    let mut store = sandbox.store();
    let key_valid = store
        .download_keys
        .get(key)
        .is_some_and(|found| found.file_id == file.id && now < found.expires_at);
    if !key_valid {
        return pages::forbidden("You are not authorized to view this file.");
    }
    let signature = random_alphanumeric(&mut rand::rng(), 40);
    let expires_at = now + sandbox.storage_url_lifetime;
    store.storage_links.retain(|_, link| link.expires_at > now);
    store.storage_links.insert(
        signature.clone(),
        StorageLink {
            file_id: file.id,
            object_key: file.object_key.clone(),
            expires_at,
        },
    );
    store.stats.downloads += 1;
    let location = sandbox.url(&format!(
        "/_storage/{}?AWSAccessKeyId=SANDBOXACCESSKEY&Signature={signature}&Expires={}&x-oh-key={key}",
        file.object_key,
        unix_seconds(expires_at)
    ));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn storage_error(code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/xml")],
        body,
    )
        .into_response()
}

/// `GET /_storage/<object key>?…&Signature=…`: the simulated S3 pre-signed URL.
pub async fn storage_object(
    State(sandbox): State<Arc<Sandbox>>,
    Path(object_key): Path<String>,
    uri: Uri,
) -> Response {
    let query = Params::from_query(uri.query().unwrap_or(""));
    let link = {
        let store = sandbox.store();
        query
            .get("Signature")
            .and_then(|signature| store.storage_links.get(signature))
            .filter(|link| link.object_key == object_key)
            .map(|link| (link.file_id, link.expires_at))
    };
    let Some((file_id, expires_at)) = link else {
        return storage_error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    };
    if SystemTime::now() >= expires_at {
        return storage_error("AccessDenied", "Request has expired");
    }
    let Some(file) = sandbox.world.file(file_id) else {
        return storage_error("NoSuchKey", "The specified key does not exist.");
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "binary/octet-stream")],
        sandbox.world.file_content(&file),
    )
        .into_response()
}
