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
    /// Storage downloads stop after sending this many body bytes and the connection is closed,
    /// although `Content-Length` promised more (a client resumes with `Range`).
    pub drop_storage_body_after: Option<u64>,
    /// How many storage responses are cut that way; later ones are sent whole.
    pub storage_body_drops: u32,
    /// Every paginated answer's `next` leads back to its first page, as a broken or hostile
    /// server's might: a client that follows links blindly never stops.
    pub next_link_loops: bool,
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
