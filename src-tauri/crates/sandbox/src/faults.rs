//! Injected failures, for clients that must survive a flaky provider. Which requests fail is drawn
//! from a generator seeded by `SandboxConfig::seed`, so a run with the same requests in the same
//! order fails the same way. Not part of Open Humans, of course.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::pages;
use crate::state::Sandbox;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Share (0.0–1.0) of `/api/…` and download-link requests answered with Django's 500 page
    /// before anything is done.
    pub api_error_rate: f64,
    /// Share of storage requests (GET of a pre-signed URL, or the upload PUT) answered with S3's
    /// 503 `SlowDown` before anything is done.
    pub storage_error_rate: f64,
    /// Share of successful upload completions whose answer is replaced by a 500 *after* the file
    /// was completed: the client cannot tell, and must find out (a retry answers 200 again).
    pub upload_complete_error_rate: f64,
    /// Share of upload completions answered with a 500 *before* the file is completed (a crash
    /// on Open Humans' side): the file stays incomplete, hidden from every listing.
    pub upload_incomplete_error_rate: f64,
    /// Added before every answer except `/_sandbox/…`.
    #[serde(with = "milliseconds", rename = "latency_ms")]
    pub latency: Duration,
    /// How storage bodies misbehave, for the next `storage_body_faults` responses; later ones
    /// are sent whole and true.
    pub storage_body_fault: Option<BodyFault>,
    pub storage_body_faults: u32,
    /// Listings give files hostile names (separators, `..`, an empty name, reserved Windows
    /// names, names that differ only in case or by `.part`), as a careless or hostile uploader
    /// could; downloads by ID still work.
    pub hostile_names: bool,
    /// Every paginated answer's `next` leads back to its first page, as a broken or hostile
    /// server's might: a client that follows links blindly never stops.
    pub next_link_loops: bool,
}

/// A storage body that is not what its headers say, or not a body that ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BodyFault {
    /// The connection closes after `after` bytes, although `Content-Length` promised more (a
    /// client resumes with `Range`).
    Cut { after: u64 },
    /// `after` bytes, then silence on an open connection.
    Stall { after: u64 },
    /// The whole body, chunked, with no `Content-Length`.
    NoLength,
    /// No `Content-Length`, and the body never ends: the object, then zeros without end.
    Endless,
    /// `Content-Length` announces `by` bytes more than the object has; the connection closes
    /// after the real bytes.
    LengthTooLong { by: u64 },
    /// `Content-Length` announces `by` bytes fewer than the object has, so a client that
    /// believes it gets a short file.
    LengthTooShort { by: u64 },
}

mod milliseconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}

/// S3's answer when it sheds load.
pub fn storage_unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/xml")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
    )
        .into_response()
}

/// Latency for everything, then the error rates of the API and of storage.
pub async fn inject(State(sandbox): State<Arc<Sandbox>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/_sandbox/") {
        return next.run(request).await;
    }
    let is_storage = path.starts_with("/_storage/");
    let is_api = path.starts_with("/api/") || path.starts_with("/data-management/");
    let (latency, fails) = {
        let mut store = sandbox.store();
        let rate = if is_storage {
            store.faults.storage_error_rate
        } else if is_api {
            store.faults.api_error_rate
        } else {
            0.0
        };
        (store.faults.latency, store.roll_fault(rate))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match (fails, is_storage) {
        (false, _) => next.run(request).await,
        (true, true) => storage_unavailable(),
        (true, false) => pages::server_error(),
    }
}
