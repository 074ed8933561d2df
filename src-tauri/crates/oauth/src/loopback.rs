use datalinks_core::{Error, Result};
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Requests larger than this are not an OAuth redirect.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(10);

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

    /// Answers requests one at a time, handing each request's full URL to `handle`, until it
    /// returns [`LoopbackReply::Done`]. Stop it early by dropping or aborting the future.
    pub async fn serve<F, Fut>(self, mut handle: F)
    where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = LoopbackReply>,
    {
        loop {
            let Ok((stream, _)) = self.listener.accept().await else {
                continue;
            };
            let (stream, target) = match read_request_target(stream).await {
                Ok(parts) => parts,
                Err(_) => continue,
            };
            let reply = match target {
                Some(target) => handle(format!("http://127.0.0.1:{}{target}", self.port)).await,
                None => LoopbackReply::KeepListening {
                    status: 400,
                    page: "Bad request".into(),
                },
            };
            let done = matches!(reply, LoopbackReply::Done { .. });
            let (status, page) = match reply {
                LoopbackReply::Done { page } => (200, page),
                LoopbackReply::KeepListening { status, page } => (status, page),
            };
            let _ = write_page(stream, status, &page).await;
            if done {
                return;
            }
        }
    }
}

/// Reads the request head and returns the target of a `GET`, or `None` for anything else.
async fn read_request_target(
    mut stream: TcpStream,
) -> std::io::Result<(TcpStream, Option<String>)> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST_HEAD {
            return Ok((stream, None));
        }
        let n = tokio::time::timeout(READ_TIMEOUT, stream.read(&mut buf))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next().unwrap_or_default().split(' ');
    let target = match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Some(target.to_owned()),
        _ => None,
    };
    Ok((stream, target))
}

async fn write_page(mut stream: TcpStream, status: u16, page: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

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
