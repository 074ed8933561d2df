//! The one way Datalinks serves HTTP itself (the sign-in loopback listener, the webhook
//! receiver): connections served concurrently on hyper, each with a deadline for the whole
//! exchange and a cap on how many are open, so no client can hold the others back.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How much one connection may take.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// From accept to the last byte of the answer: a client that trickles its request is cut
    /// off then.
    pub connection_deadline: Duration,
    /// How long the request head may take to arrive.
    pub header_timeout: Duration,
    /// Connections served at once; more are closed unanswered.
    pub max_connections: usize,
    /// The largest request head read.
    pub max_request_head: usize,
}

/// Serves every connection `listener` accepts, one request each, with `handle`, until `stop`
/// completes. Stop it early by dropping the future.
pub async fn serve_bounded<F, Fut>(
    listener: &TcpListener,
    limits: ServerLimits,
    stop: impl Future<Output = ()>,
    handle: F,
) where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Full: this connection is dropped unanswered.
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let handle = handle.clone();
                async move { Ok::<_, Infallible>(handle(request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(limits.max_request_head)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(limits.connection_deadline, connection).await;
            drop(slot);
        });
    }
}
