//! The HTTP server loop, with the limits a listener open to the public needs.
//!
//! `axum::serve` keeps every connection for as long as the client likes: a client that connects and sends
//! nothing, or sends its headers a byte a second, holds a descriptor forever, and a thousand of them lock
//! everyone else out (`accept error: Too many open files`). This loop serves the same router with hyper
//! (HTTP/1.1 and HTTP/2) and bounds what a client can hold:
//!
//! - a request's headers must arrive within [`ServerLimits::header_timeout`] (hyper's header-read timer);
//! - a connection with no request in progress is closed after [`ServerLimits::idle_timeout`];
//! - a request body that stops arriving for [`ServerLimits::body_stall_timeout`] fails (a slow upload that
//!   keeps moving is fine: the clock restarts with every chunk);
//! - at most [`ServerLimits::max_connections`] are open, below the process's descriptor limit; a new one
//!   beyond it closes the connection that has been idle longest (as nginx reuses keep-alive connections), and
//!   only when every connection is busy is the newcomer turned away.
//!
//! Hand-written rather than a crate's because none of the maintained servers for axum (axum's own, hyper-util's
//! auto builder alone, tower-http's timeouts) evicts idle connections under pressure or times out a stalled
//! body between chunks; the HTTP itself stays hyper's.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// What one listener lets clients hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time for a request's headers to arrive.
    pub header_timeout: Duration,
    /// Time a connection may sit with no request in progress.
    pub idle_timeout: Duration,
    /// Time a request body may go without a byte arriving.
    pub body_stall_timeout: Duration,
}

/// Descriptors kept for everything else a process opens (database connections, storage files, encoder
/// children) when the connection cap is derived from the descriptor limit.
const RESERVED_DESCRIPTORS: usize = 128;

impl Default for ServerLimits {
    /// nginx's order of magnitude, with the connection cap below this process's descriptor limit.
    fn default() -> Self {
        ServerLimits {
            max_connections: connection_cap(descriptor_limit()),
            header_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(75),
            body_stall_timeout: Duration::from_secs(60),
        }
    }
}

/// The most connections to keep open under a descriptor limit of `limit`.
pub fn connection_cap(limit: Option<u64>) -> usize {
    let limit = limit.and_then(|limit| usize::try_from(limit).ok()).unwrap_or(1024);
    limit.saturating_sub(RESERVED_DESCRIPTORS).clamp(16, 65_536)
}

/// This process's soft limit on open descriptors, if it can be read.
pub fn descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the limit into the struct we own and reads nothing else.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (read == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// Serves `app` on `listener` within `limits` until `shutdown` fires, then lets requests in flight finish
/// (at most `grace`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: CancellationToken,
    grace: Duration,
    limits: ServerLimits,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(limits.idle_timeout / 2));
    let connections = Connections::default();
    let graceful = GracefulShutdown::new();
    let reaper = tokio::spawn(reap_idle(connections.clone(), limits.idle_timeout, shutdown.clone()));
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was accepted: wait a moment
                    // rather than spin, and go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some((id, close)) = connections.admit(limits.max_connections) else {
            tracing::warn!(open = limits.max_connections, "every connection is busy; a new one is turned away");
            drop(stream);
            continue;
        };
        let service = {
            let connections = connections.clone();
            let app = app.clone();
            let stall = limits.body_stall_timeout;
            hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let busy = connections.busy(id);
                let app = app.clone();
                async move {
                    let request = request.map(|body| Body::new(StallLimited::new(body, stall)));
                    let response = match app.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    // The connection counts as busy until the answer's body is sent (or dropped).
                    Ok::<_, Infallible>(response.map(|body| Body::new(Guarded { inner: body, _busy: busy })))
                }
            })
        };
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let connections = connections.clone();
        tokio::spawn(async move {
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let connection = watcher.watch(connection);
            tokio::select! {
                _ = connection => {}
                () = close.cancelled() => {}
            }
            connections.remove(id);
        });
    }
    reaper.abort();
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "requests still in flight at the end of the grace period");
        }
    }
    Ok(())
}

/// The open connections of a listener: whether each has a request in progress, and since when it has not.
#[derive(Clone, Default)]
struct Connections(Arc<Mutex<Registry>>);

#[derive(Default)]
struct Registry {
    next_id: u64,
    open: HashMap<u64, Entry>,
}

struct Entry {
    /// Requests in progress (HTTP/2 multiplexes several).
    busy: usize,
    /// When the last request ended, or when the connection was accepted.
    idle_since: Instant,
    /// Closes the connection.
    close: CancellationToken,
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // The registry holds counters only: one poisoned by a panic elsewhere is still consistent enough.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection, making room under `cap` by closing the longest-idle one; `None` when
    /// every open connection is busy.
    fn admit(&self, cap: usize) -> Option<(u64, CancellationToken)> {
        let mut registry = self.lock();
        if registry.open.len() >= cap {
            let oldest_idle = registry
                .open
                .iter()
                .filter(|(_, entry)| entry.busy == 0)
                .min_by_key(|(_, entry)| entry.idle_since)
                .map(|(id, _)| *id)?;
            if let Some(evicted) = registry.open.remove(&oldest_idle) {
                tracing::debug!(connection = oldest_idle, "closing the longest-idle connection to make room");
                evicted.close.cancel();
            }
        }
        let id = registry.next_id;
        registry.next_id += 1;
        let close = CancellationToken::new();
        registry.open.insert(id, Entry { busy: 0, idle_since: Instant::now(), close: close.clone() });
        Some((id, close))
    }

    fn busy(&self, id: u64) -> Busy {
        if let Some(entry) = self.lock().open.get_mut(&id) {
            entry.busy += 1;
        }
        Busy { connections: self.clone(), id }
    }

    fn remove(&self, id: u64) {
        self.lock().open.remove(&id);
    }
}

/// A request in progress on a connection; its end makes the connection idle again.
struct Busy {
    connections: Connections,
    id: u64,
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(entry) = self.connections.lock().open.get_mut(&self.id) {
            entry.busy = entry.busy.saturating_sub(1);
            if entry.busy == 0 {
                entry.idle_since = Instant::now();
            }
        }
    }
}

/// Closes connections idle for longer than `idle_timeout`, checking a few times per timeout.
async fn reap_idle(connections: Connections, idle_timeout: Duration, shutdown: CancellationToken) {
    let period = (idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
        let now = Instant::now();
        connections.lock().open.retain(|_, entry| {
            let expired = entry.busy == 0 && now.duration_since(entry.idle_since) >= idle_timeout;
            if expired {
                entry.close.cancel();
            }
            !expired
        });
    }
}

/// A response body that keeps its connection counted as busy until it is sent or dropped.
struct Guarded {
    inner: Body,
    _busy: Busy,
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body stalled: nothing arrived for the limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body stopped arriving: nothing for {} s", .0.as_secs())]
pub struct BodyStalled(pub Duration);

/// Whether `error` (or one of its causes) is a stalled request body.
pub fn stalled(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.downcast_ref::<BodyStalled>().is_some() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// A request body that fails when the client stops sending it for longer than the limit. The clock runs
/// only while the handler waits for the next chunk, so a handler that is slow to read is not penalised.
struct StallLimited {
    inner: Incoming,
    limit: Duration,
    deadline: Pin<Box<Sleep>>,
    waiting: bool,
}

impl StallLimited {
    fn new(inner: Incoming, limit: Duration) -> Self {
        StallLimited { inner, limit, deadline: Box::pin(tokio::time::sleep(limit)), waiting: false }
    }
}

impl HttpBody for StallLimited {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if !this.waiting {
            this.waiting = true;
            let deadline = Instant::now() + this.limit;
            this.deadline.as_mut().reset(deadline);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting = false;
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyStalled(this.limit))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
