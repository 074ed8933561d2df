//! Serving one simulated provider on a local port, shared by every provider's sandbox.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// Binds `addr` (port 0 picks a free port) and returns the listener with its origin,
/// `http://127.0.0.1:<port>` when bound to an unspecified address.
pub(crate) async fn bind(addr: SocketAddr) -> io::Result<(TcpListener, String)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let host = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok((
        listener,
        format!("http://{}", SocketAddr::new(host, local.port())),
    ))
}

/// The header that carries the admin key to `/_sandbox/…` endpoints.
pub const ADMIN_KEY_HEADER: &str = "x-sandbox-key";

/// What every request must pass before a simulator sees it.
#[derive(Clone)]
struct Guard {
    /// `host:port` values this server answers to (`127.0.0.1:<port>`, `localhost:<port>`).
    hosts: Vec<String>,
    admin_key: std::sync::Arc<str>,
    app_requests: AppRequests,
}

/// `METHOD /path` of each request Datalinks itself sent (its User-Agent), in order: what a
/// test compares with the app's audit log.
pub(crate) type AppRequests = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Refuses a request whose `Host` is not this server's own address (a web page that rebinds
/// its name to 127.0.0.1 sends its own name), and an admin request without the admin key (any
/// local program or page could otherwise drive the sandbox).
async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !guard.hosts.contains(&host) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "This sandbox answers only at its own address.",
        )
            .into_response();
    }
    let from_datalinks = request
        .headers()
        .get(axum::http::header::USER_AGENT)
        .is_some_and(|agent| agent.as_bytes().starts_with(b"Datalinks/"));
    if from_datalinks {
        let line = format!("{} {}", request.method(), request.uri().path());
        guard.app_requests.lock().unwrap().push(line);
    }
    if request.uri().path().starts_with("/_sandbox/") {
        let given = request
            .headers()
            .get(ADMIN_KEY_HEADER)
            .map(|k| k.as_bytes())
            .unwrap_or_default();
        if !same_bytes(given, guard.admin_key.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                "The sandbox's admin endpoints need its admin key (the X-Sandbox-Key header).",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Compares without stopping at the first differing byte.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A fresh admin key: 32 random letters and digits.
pub(crate) fn new_admin_key() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// A running HTTP server. Dropping it stops accepting connections.
pub(crate) struct Server {
    base_url: Url,
    admin_key: std::sync::Arc<str>,
    app_requests: AppRequests,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Serves `app` behind the guard: its own address only, and `admin_key` (a fresh one when
    /// `None`) for the admin endpoints.
    pub(crate) fn serve(
        listener: TcpListener,
        origin: &str,
        app: Router,
        admin_key: Option<String>,
    ) -> io::Result<Server> {
        let base_url = Url::parse(&format!("{origin}/")).map_err(io::Error::other)?;
        let port = base_url.port().unwrap_or(80);
        let host = base_url.host_str().unwrap_or_default().to_ascii_lowercase();
        let admin_key: std::sync::Arc<str> = admin_key.unwrap_or_else(new_admin_key).into();
        let app_requests = AppRequests::default();
        let guard_state = Guard {
            hosts: vec![format!("{host}:{port}"), format!("localhost:{port}")],
            admin_key: admin_key.clone(),
            app_requests: app_requests.clone(),
        };
        let app = app.layer(axum::middleware::from_fn_with_state(guard_state, guard));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Server {
            base_url,
            admin_key,
            app_requests,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub(crate) fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `METHOD /path` of every request Datalinks sent this server so far.
    pub(crate) fn app_requests(&self) -> Vec<String> {
        self.app_requests.lock().unwrap().clone()
    }

    /// The key `/_sandbox/…` requests must carry in [`ADMIN_KEY_HEADER`].
    pub(crate) fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// `base_url` with `path`.
    pub(crate) fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        url.set_path(path);
        url
    }

    /// Stops accepting connections and waits (at most 5 s) for open ones to finish.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
