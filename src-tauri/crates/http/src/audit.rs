//! The record of every request Datalinks makes on a person's behalf.
//!
//! Work that makes requests runs inside a [`scope`] with a sink that knows whom the requests
//! are for (a connection, a registration during a sign-in, a researcher's project), and inside
//! an [`action`] that names their cause. [`send`] is how every provider client sends a request: it hands the sink
//! one [`Exchange`] per request, whatever its outcome. The exchange names the host and path,
//! and of the query only parameters known to carry no secret; never a header or a body.
//!
//! Both are task-locals: they follow the work through every future it awaits, but not into a
//! task it spawns (no request is sent from one today).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Receives one exchange per request made in its [`scope`].
pub trait AuditSink: Send + Sync + 'static {
    fn record(&self, exchange: Exchange);
}

/// One request as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The action that caused it, e.g. `connect`, `refresh`, `member view`.
    pub action: &'static str,
    pub started_at: SystemTime,
    pub method: String,
    /// `scheme://host[:port]`.
    pub origin: String,
    /// The path and only the query parameters in [`HARMLESS_PARAMETERS`].
    pub path: String,
    /// The answer's status; `None` when no answer came.
    pub status: Option<u16>,
    /// Why no answer came, in words ("it did not answer in time").
    pub failure: Option<String>,
    /// The request body's size, when known before sending.
    pub bytes_sent: Option<u64>,
    /// The size the answer announced (`Content-Length`), when it did.
    pub bytes_received: Option<u64>,
    /// Until the answer's headers arrived, or the request failed.
    pub duration: Duration,
}

tokio::task_local! {
    static SINK: Arc<dyn AuditSink>;
    static ACTION: &'static str;
}

/// What a request is recorded as when no [`action`] names its cause.
pub const DEFAULT_ACTION: &str = "view";

/// Runs `work` with its requests recorded in `sink`.
pub async fn scope<F: Future>(sink: Arc<dyn AuditSink>, work: F) -> F::Output {
    // Boxed: work is often a deep future, and nesting it here would double its size on the stack.
    SINK.scope(sink, Box::pin(work)).await
}

/// Runs `work` with its requests recorded as caused by `action`: the innermost action wins (a
/// token refresh in the middle of a member view is a refresh).
pub async fn action<F: Future>(action: &'static str, work: F) -> F::Output {
    ACTION.scope(action, Box::pin(work)).await
}

/// Runs `work` with its requests recorded as caused by `action`, unless work around it already
/// named a cause (a member listing that is part of a download is the download's).
pub async fn default_action<F: Future>(action: &'static str, work: F) -> F::Output {
    if ACTION.try_with(|_| ()).is_ok() {
        work.await
    } else {
        ACTION.scope(action, Box::pin(work)).await
    }
}

static UNSCOPED: AtomicU64 = AtomicU64::new(0);

/// How many requests this process sent outside an audit scope, which the log therefore misses:
/// tests check that it stays 0.
pub fn unscoped_requests() -> u64 {
    UNSCOPED.load(Ordering::Relaxed)
}

/// Query parameters whose values are paging and filters, never credentials: the only ones the
/// log keeps. Everything else (`access_token`, presigned storage signatures, …) is dropped.
pub const HARMLESS_PARAMETERS: [&str; 8] = [
    "limit",
    "offset",
    "page",
    "per_page",
    "source",
    "start_date",
    "end_date",
    "updated_since",
];

/// The request being sent, hop by hop: what the next [`Exchange`] will say.
struct InFlight {
    sink: Arc<dyn AuditSink>,
    action: &'static str,
    started_at: SystemTime,
    clock: Instant,
    method: String,
    url: url::Url,
    bytes_sent: Option<u64>,
}

impl InFlight {
    fn record(&self, status: Option<u16>, failure: Option<String>, bytes_received: Option<u64>) {
        let (origin, path) = loggable(&self.url);
        self.sink.record(Exchange {
            action: self.action,
            started_at: self.started_at,
            method: self.method.clone(),
            origin,
            path,
            status,
            failure,
            bytes_sent: self.bytes_sent,
            bytes_received,
            duration: self.clock.elapsed(),
        });
    }
}

tokio::task_local! {
    static IN_FLIGHT: std::cell::RefCell<InFlight>;
}

/// Sends a request, and records it in the current scope: one exchange per HTTP request, so a
/// redirect followed is two (the clients' redirect policies call [`redirected`]).
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
    let (client, request) = request.build_split();
    let request = request?;
    let Ok(sink) = SINK.try_with(Clone::clone) else {
        UNSCOPED.fetch_add(1, Ordering::Relaxed);
        log::warn!(
            "a request to {} was made outside an audit scope, so the audit log misses it",
            request.url().host_str().unwrap_or("?")
        );
        return client.execute(request).await;
    };
    let bytes_sent = match request.body() {
        None => Some(0),
        Some(body) => body
            .as_bytes()
            .map(|bytes| bytes.len() as u64)
            .or_else(|| content_length(request.headers())),
    };
    let in_flight = std::cell::RefCell::new(InFlight {
        sink,
        action: ACTION.try_with(|action| *action).unwrap_or(DEFAULT_ACTION),
        started_at: SystemTime::now(),
        clock: Instant::now(),
        method: request.method().to_string(),
        url: request.url().clone(),
        bytes_sent,
    });
    IN_FLIGHT
        .scope(in_flight, async {
            let answer = client.execute(request).await;
            IN_FLIGHT.with(|in_flight| {
                let in_flight = in_flight.borrow();
                match &answer {
                    Ok(response) => in_flight.record(
                        Some(response.status().as_u16()),
                        None,
                        content_length(response.headers()),
                    ),
                    Err(err) => in_flight.record(None, Some(crate::describe(err)), None),
                }
            });
            answer
        })
        .await
}

/// A redirect about to be followed: records the hop that answered with it, and makes the next
/// exchange the request to `next` (a GET without a body after 301, 302 and 303, as the client
/// sends it).
pub(crate) fn redirected(status: reqwest::StatusCode, next: &url::Url) {
    let _ = IN_FLIGHT.try_with(|in_flight| {
        let mut in_flight = in_flight.borrow_mut();
        in_flight.record(Some(status.as_u16()), None, None);
        if matches!(status.as_u16(), 301..=303) && in_flight.method != "HEAD" {
            in_flight.method = "GET".to_owned();
            in_flight.bytes_sent = Some(0);
        }
        in_flight.url = next.clone();
        in_flight.started_at = SystemTime::now();
        in_flight.clock = Instant::now();
    });
}

fn content_length(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The origin, and the path with only harmless query parameters.
pub fn loggable(url: &url::Url) -> (String, String) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| HARMLESS_PARAMETERS.contains(&name.as_ref()))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let mut path = url.path().to_owned();
    if !kept.is_empty() {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(kept)
            .finish();
        path.push('?');
        path.push_str(&query);
    }
    (url.origin().ascii_serialization(), path)
}
