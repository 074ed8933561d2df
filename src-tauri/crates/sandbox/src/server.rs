//! Serving one simulated provider on a local port, shared by every provider's sandbox.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

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

/// A running HTTP server. Dropping it stops accepting connections.
pub(crate) struct Server {
    base_url: Url,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Server {
    pub(crate) fn serve(listener: TcpListener, origin: &str, app: Router) -> io::Result<Server> {
        let base_url = Url::parse(&format!("{origin}/")).map_err(io::Error::other)?;
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
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub(crate) fn base_url(&self) -> &Url {
        &self.base_url
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
