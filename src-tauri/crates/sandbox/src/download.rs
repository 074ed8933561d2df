//! The two download hops (docs/providers/open-humans.md, "File downloads"): the Open Humans link
//! (key valid 1 h) redirects to a pre-signed storage URL (valid 10 min) that serves the bytes,
//! whole or a `Range` of them, as S3 does.

use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, StreamExt};

use crate::content::Content;
use crate::faults::BodyFault;
use crate::pages;
use crate::state::{Sandbox, StorageLink};
use crate::text::{random_alphanumeric, unix_seconds};
use crate::urls::{quote_path, Params};

/// `GET /data-management/datafile-download/<id>/?key=<uuid4>`
pub async fn datafile_download(
    State(sandbox): State<Arc<Sandbox>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let Some((file_id, object_key)) = id
        .parse()
        .ok()
        .and_then(|id| Some((id, sandbox.stored_file(id)?.0)))
    else {
        return pages::forbidden("This file is unavailable.");
    };
    let query = Params::from_query(uri.query().unwrap_or(""));
    let key = query.get("key").unwrap_or("");
    let now = SystemTime::now();
    let mut store = sandbox.store();
    let key_valid = store
        .download_keys
        .get(key)
        .is_some_and(|found| found.file_id == file_id && now < found.expires_at);
    if !key_valid {
        return pages::forbidden("You are not authorized to view this file.");
    }
    let signature = random_alphanumeric(&mut rand::rng(), 40);
    let expires_at = now + sandbox.storage_url_lifetime;
    store.storage_links.insert(
        signature.clone(),
        StorageLink {
            file_id,
            object_key: object_key.clone(),
            expires_at,
        },
        expires_at,
        now,
    );
    store.stats.downloads += 1;
    let location = sandbox.url(&format!(
        "/_storage/{}?AWSAccessKeyId=SANDBOXACCESSKEY&Signature={signature}&Expires={}&x-oh-key={key}",
        quote_path(&object_key),
        unix_seconds(expires_at)
    ));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

pub fn storage_error(code: &str, message: &str) -> Response {
    storage_error_with_status(StatusCode::FORBIDDEN, code, message)
}

fn storage_error_with_status(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// What a `Range` header asks of an object of `length` bytes.
#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    Whole,
    /// Bytes `start..end`.
    Part(u64, u64),
    Unsatisfiable,
}

/// S3's reading of `Range`: one `bytes=` range (`a-b`, `a-`, `-suffix`); anything else, several
/// ranges included, is ignored and the whole object sent.
fn range_request(headers: &HeaderMap, length: u64) -> RangeRequest {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().strip_prefix("bytes="))
    else {
        return RangeRequest::Whole;
    };
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let number = |text: &str| text.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), number(first), number(last)) {
        (true, _, Some(0)) => RangeRequest::Unsatisfiable,
        (true, _, Some(suffix)) => RangeRequest::Part(length.saturating_sub(suffix), length),
        (false, Some(start), _) if start >= length => RangeRequest::Unsatisfiable,
        (false, Some(start), None) if last.trim().is_empty() => RangeRequest::Part(start, length),
        (false, Some(start), Some(end)) if end >= start => {
            RangeRequest::Part(start, end.saturating_add(1).min(length))
        }
        _ => RangeRequest::Whole,
    }
}

/// `GET /_storage/<object key>?…&Signature=…`: the simulated S3 pre-signed URL.
pub async fn storage_object(
    State(sandbox): State<Arc<Sandbox>>,
    Path(object_key): Path<String>,
    uri: Uri,
    headers: HeaderMap,
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
    let Some((_, content)) = sandbox.stored_file(file_id) else {
        return storage_error("NoSuchKey", "The specified key does not exist.");
    };
    let length = content.len();
    let (status, start, end) = match range_request(&headers, length) {
        RangeRequest::Whole => (StatusCode::OK, 0, length),
        RangeRequest::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end),
        RangeRequest::Unsatisfiable => {
            let mut response = storage_error_with_status(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The requested range is not satisfiable",
            );
            if let Ok(value) = format!("bytes */{length}").parse() {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return response;
        }
    };
    let sent = end - start;
    let fault = sandbox.store().take_body_fault(sent);
    let (body, announced) = faulty_body(&content, start, end, fault);
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "binary/octet-stream"),
            (header::ACCEPT_RANGES, "bytes"),
        ],
        body,
    )
        .into_response();
    if let Some(announced) = announced {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, announced.into());
    }
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(value) = format!("bytes {start}-{}/{length}", end - 1).parse() {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    response
}

/// The body of bytes `start..end` and the `Content-Length` to announce (none: chunked), as
/// `fault` makes them.
fn faulty_body(
    content: &Content,
    start: u64,
    end: u64,
    fault: Option<BodyFault>,
) -> (Body, Option<u64>) {
    // A pause before a cut, so the bytes before it leave the server's write buffer.
    let cut = || {
        stream::once(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(io::Error::other("connection dropped by the sandbox"))
        })
    };
    let length = end - start;
    match fault {
        None => (Body::from_stream(content.stream(start, end)), Some(length)),
        Some(BodyFault::Cut { after }) => (
            Body::from_stream(content.stream(start, start + after).chain(cut())),
            Some(length),
        ),
        Some(BodyFault::Stall { after }) => (
            Body::from_stream(
                content
                    .stream(start, start + after)
                    .chain(stream::pending()),
            ),
            Some(length),
        ),
        Some(BodyFault::NoLength) => (Body::from_stream(content.stream(start, end)), None),
        Some(BodyFault::Endless) => {
            let zeros = stream::repeat_with(|| Ok(Bytes::from(vec![0u8; 64 * 1024])));
            (
                Body::from_stream(content.stream(start, end).chain(zeros)),
                None,
            )
        }
        Some(BodyFault::LengthTooLong { by }) => (
            Body::from_stream(content.stream(start, end).chain(cut())),
            Some(length + by),
        ),
        Some(BodyFault::LengthTooShort { by }) => (
            Body::from_stream(content.stream(start, end)),
            Some(length - by),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, length: u64) -> RangeRequest {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, value.parse().unwrap());
        range_request(&headers, length)
    }

    #[test]
    fn ranges_like_s3() {
        assert_eq!(range("bytes=0-9", 100), RangeRequest::Part(0, 10));
        assert_eq!(range("bytes=90-200", 100), RangeRequest::Part(90, 100));
        assert_eq!(range("bytes=40-", 100), RangeRequest::Part(40, 100));
        assert_eq!(range("bytes=-10", 100), RangeRequest::Part(90, 100));
        assert_eq!(range("bytes=-500", 100), RangeRequest::Part(0, 100));
        assert_eq!(range("bytes=100-", 100), RangeRequest::Unsatisfiable);
        assert_eq!(range("bytes=-0", 100), RangeRequest::Unsatisfiable);
        assert_eq!(range("bytes=5-2", 100), RangeRequest::Whole);
        assert_eq!(range("bytes=0-1,5-6", 100), RangeRequest::Whole);
        assert_eq!(range("items=0-1", 100), RangeRequest::Whole);
        assert_eq!(range_request(&HeaderMap::new(), 100), RangeRequest::Whole);
    }
}
