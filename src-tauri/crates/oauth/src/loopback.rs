use datalinks_core::{Error, Result};
use datalinks_http::server::{serve_bounded, ServerLimits};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Response, StatusCode};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The longest one connection may take, from accept to the last byte of the answer: a client
/// that trickles its request, or a browser's idle speculative connection, is cut off then.
const CONNECTION_DEADLINE: Duration = Duration::from_secs(10);
/// How long the request head may take to arrive.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed at once, so they cannot exhaust anything.
const MAX_CONNECTIONS: usize = 32;
/// Request heads larger than this are not an OAuth redirect.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
const LIMITS: ServerLimits = ServerLimits {
    connection_deadline: CONNECTION_DEADLINE,
    header_timeout: HEADER_TIMEOUT,
    max_connections: MAX_CONNECTIONS,
    max_request_head: MAX_REQUEST_HEAD,
};

/// What the listener answers a request with.
#[derive(Debug, Clone)]
pub enum LoopbackReply {
    /// The redirect we waited for arrived: answer with this page and stop listening.
    Done { page: String },
    /// Not the redirect (a favicon, a forged or stale request): answer and keep listening.
    KeepListening { status: u16, page: String },
}

/// A one-shot HTTP listener on 127.0.0.1 with an ephemeral port (RFC 8252 §7.3).
pub struct LoopbackListener {
    listener: TcpListener,
    port: u16,
}

/// The redirect URI of a loopback listener on `port`: `http://127.0.0.1:<port><path>`.
pub fn loopback_redirect_uri(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

impl LoopbackListener {
    pub async fn bind() -> Result<Self> {
        Self::bind_port(0).await
    }

    /// Listens on a fixed port, for providers that compare the whole redirect URI (Open
    /// Collective); port 0 picks a free one.
    pub async fn bind_port(port: u16) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
            Error::internal(format!(
                "Could not open the local port {port} for the sign-in redirect: {e}"
            ))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::internal(e.to_string()))?
            .port();
        Ok(Self { listener, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn redirect_uri(&self, path: &str) -> String {
        loopback_redirect_uri(self.port, path)
    }

    /// Serves connections concurrently, one request each, handing each `GET`'s full URL to
    /// `handle`, until it returns [`LoopbackReply::Done`]; then stops accepting. Each connection
    /// has [`CONNECTION_DEADLINE`] in all, and at most [`MAX_CONNECTIONS`] are open, so no client
    /// can hold the real redirect back. Stop it early by dropping or aborting the future.
    pub async fn serve<F, Fut>(self, handle: F)
    where
        F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = LoopbackReply> + Send + 'static,
    {
        let (done_tx, mut done_rx) = watch::channel(false);
        let done_tx = Arc::new(done_tx);
        let port = self.port;
        let stop = async move {
            let _ = done_rx.changed().await;
        };
        serve_bounded(&self.listener, LIMITS, stop, move |request| {
            let (handle, done_tx) = (handle.clone(), done_tx.clone());
            async move {
                let reply = match (request.method(), request.uri().path_and_query()) {
                    (&Method::GET, Some(target)) if target.as_str().starts_with('/') => {
                        handle(format!("http://127.0.0.1:{port}{target}")).await
                    }
                    _ => LoopbackReply::KeepListening {
                        status: 400,
                        page: "Bad request".into(),
                    },
                };
                let (status, page) = match reply {
                    LoopbackReply::Done { page } => {
                        let _ = done_tx.send(true);
                        (200, page)
                    }
                    LoopbackReply::KeepListening { status, page } => (status, page),
                };
                page_response(status, page)
            }
        })
        .await;
    }
}

fn page_response(status: u16, page: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST))
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Cache-Control", "no-store")
        .header("Referrer-Policy", "no-referrer")
        .header("Connection", "close")
        .body(Full::new(Bytes::from(page)))
        .expect("a response with static headers builds")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener that is done at `/callback`.
    fn serve_until_callback(listener: LoopbackListener) -> tokio::task::JoinHandle<()> {
        tokio::spawn(listener.serve(|url| async move {
            if url.contains("/callback?") {
                LoopbackReply::Done {
                    page: "You can close this tab.".into(),
                }
            } else {
                LoopbackReply::KeepListening {
                    status: 404,
                    page: "Not here".into(),
                }
            }
        }))
    }

    #[tokio::test]
    async fn a_trickling_client_and_idle_connections_do_not_hold_the_redirect_back() {
        use tokio::io::AsyncWriteExt;
        let listener = LoopbackListener::bind().await.unwrap();
        let port = listener.port();
        let server = serve_until_callback(listener);
        // Idle connections, as a browser opens speculatively, and one that trickles its request.
        let mut idle = Vec::new();
        for _ in 0..5 {
            idle.push(
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap(),
            );
        }
        let mut trickle = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        trickle
            .write_all(b"GET /callback?code=forged")
            .await
            .unwrap();

        let started = std::time::Instant::now();
        let hit = reqwest::get(format!("http://127.0.0.1:{port}/callback?code=a&state=b"))
            .await
            .unwrap();
        assert_eq!(hit.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the redirect waited {:?}",
            started.elapsed()
        );
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the listener stops once done")
            .unwrap();
    }

    #[tokio::test]
    async fn only_get_requests_are_handed_over() {
        let listener = LoopbackListener::bind().await.unwrap();
        let base = listener.redirect_uri("");
        let _server = serve_until_callback(listener);
        let post = reqwest::Client::new()
            .post(format!("{base}/callback?code=a&state=b"))
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), 400);
    }

    #[tokio::test]
    async fn keeps_listening_until_the_handler_is_done() {
        let listener = LoopbackListener::bind().await.unwrap();
        let base = listener.redirect_uri("");
        let server = tokio::spawn(listener.serve(|url| async move {
            if url.contains("/callback?") {
                LoopbackReply::Done {
                    page: "You can close this tab.".into(),
                }
            } else {
                LoopbackReply::KeepListening {
                    status: 404,
                    page: "Not here".into(),
                }
            }
        }));
        let client = reqwest::Client::new();
        let miss = client
            .get(format!("{base}/favicon.ico"))
            .send()
            .await
            .unwrap();
        assert_eq!(miss.status(), 404);
        let hit = client
            .get(format!("{base}/callback?code=a&state=b"))
            .send()
            .await
            .unwrap();
        assert_eq!(hit.status(), 200);
        assert_eq!(hit.text().await.unwrap(), "You can close this tab.");
        server.await.unwrap();
        assert!(
            client.get(format!("{base}/callback")).send().await.is_err(),
            "the port is closed after the redirect"
        );
    }
}
