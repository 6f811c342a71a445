//! The HTTP/1.1 server in front of the router, with the limits a public server needs that
//! `axum::serve` does not give: a cap on open connections, a deadline for each request head, an
//! idle timeout for kept-alive connections, an inactivity timeout on request bodies, and a
//! graceful drain on shutdown.
//!
//! Each connection is in one of three phases, and each phase has its own bound:
//!
//! - *idle* (nothing in flight, nothing of the next request read yet): closed after
//!   [`ServerLimits::idle_timeout`];
//! - *reading a head* (some bytes of a request arrived, the head is not complete): closed
//!   [`ServerLimits::header_read_timeout`] after its first byte, however slowly it trickles in
//!   (slowloris);
//! - *in flight* (a request is being handled): never cut for taking long, but its body must keep
//!   coming — a body that sends nothing for [`ServerLimits::body_timeout`] fails.
//!
//! At the connection cap the server stops accepting more, after first closing the connection
//! that has been idle (or half-sent) the longest, as nginx does: held-open sockets cannot lock
//! out a real client, and a request in flight is never cut to make room.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;
use tower_http::timeout::TimeoutBody;

/// The limits of [`serve`].
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Connections open at once; at the cap the longest-idle one is closed to make room, and
    /// when none is idle new ones wait in the listen backlog.
    pub max_connections: usize,
    /// How long a request head may take from its first byte to its last.
    pub header_read_timeout: Duration,
    /// How long a connection may sit with no request in flight and nothing sent.
    pub idle_timeout: Duration,
    /// How long a request body may send nothing while the handler waits for it.
    pub body_timeout: Duration,
    /// On shutdown, how long in-flight requests get to finish before their connections are cut.
    pub drain_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(75),
            body_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(60),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets the requests
/// in flight finish (up to [`ServerLimits::drain_timeout`]) and returns. Handlers see the peer
/// address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let limits = Arc::new(limits);
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let registry = Arc::new(Registry {
        slots: Arc::new(Semaphore::new(max)),
        open: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
    });
    let (drain, draining) = watch::channel(false);
    let mut fd_warning_at: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_out_of_descriptors(&error) => {
                    // Something besides connections used up the descriptors: free one by
                    // closing the longest-idle connection, and say so now and then.
                    if fd_warning_at.is_none_or(|at| at.elapsed() > Duration::from_secs(10)) {
                        tracing::warn!(%error, open = registry.len(), "cannot accept: out of file descriptors (lower max_connections or raise the limit)");
                        fd_warning_at = Some(Instant::now());
                    }
                    registry.evict_idlest();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                // The peer gave up before we took the connection: nothing to do.
                Err(error) if matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) => continue,
                // Anything else (out of memory or buffers) may last: do not spin on it.
                Err(error) => {
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let permit = match registry.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                metrics::counter!("signet_http_connections_at_cap_total").increment(1);
                let wait = async {
                    loop {
                        registry.evict_idlest();
                        tokio::select! {
                            permit = registry.slots.clone().acquire_owned() => return permit,
                            // A connection busy now may be idle soon: look again.
                            () = tokio::time::sleep(Duration::from_millis(100)) => {}
                        }
                    }
                };
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    permit = wait => match permit {
                        Ok(permit) => permit,
                        // The semaphore is never closed.
                        Err(_) => break,
                    },
                }
            }
        };
        // Small responses go out at once rather than waiting for Nagle's timer.
        let _ = stream.set_nodelay(true);
        let (id, state) = registry.register();
        let connection = Connection {
            registry: registry.clone(),
            id,
            state,
            limits: limits.clone(),
            app: app.clone(),
            peer,
        };
        let draining = draining.clone();
        tokio::spawn(async move {
            connection.run(stream, draining).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = drain.send(true);
    tracing::info!(
        open = registry.len(),
        "stopped accepting; waiting for requests in flight"
    );
    // Every connection holds a slot until it ends: all slots back means all connections done.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    tokio::select! {
        _ = registry.slots.acquire_many(all) => {}
        () = tokio::time::sleep(limits.drain_timeout) => {
            tracing::warn!(open = registry.len(), "drain timeout: closing the connections still open");
        }
    }
    Ok(())
}

fn is_out_of_descriptors(error: &io::Error) -> bool {
    // EMFILE (24) and ENFILE (23) on Linux and the BSDs.
    matches!(error.raw_os_error(), Some(23 | 24))
}

/// The open connections, to find one to close when the cap is reached.
struct Registry {
    slots: Arc<Semaphore>,
    open: Mutex<HashMap<u64, Arc<ConnectionState>>>,
    next_id: AtomicU64,
}

impl Registry {
    fn register(&self) -> (u64, Arc<ConnectionState>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnectionState::new());
        lock(&self.open).insert(id, state.clone());
        metrics::gauge!("signet_http_connections_open").increment(1.0);
        (id, state)
    }

    fn remove(&self, id: u64) {
        lock(&self.open).remove(&id);
        metrics::gauge!("signet_http_connections_open").decrement(1.0);
    }

    fn len(&self) -> usize {
        lock(&self.open).len()
    }

    /// Asks the connection idle the longest (no request in flight) to close. Returns whether
    /// there was one.
    fn evict_idlest(&self) -> bool {
        let open = lock(&self.open);
        let idlest = open
            .values()
            .filter_map(|state| {
                let activity = lock(&state.activity);
                (activity.in_flight == 0 && !activity.evicted)
                    .then_some((activity.idle_since, state))
            })
            .min_by_key(|(since, _)| *since)
            .map(|(_, state)| state.clone());
        drop(open);
        match idlest {
            Some(state) => {
                lock(&state.activity).evicted = true;
                state.changed.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A poisoned lock only means another thread panicked while holding it; the data (counters and
/// instants) is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a connection is doing, updated by its socket and its requests, read by its watcher.
struct ConnectionState {
    activity: Mutex<Activity>,
    /// Wakes the watcher when a deadline moves earlier or the connection must close.
    changed: Notify,
}

struct Activity {
    in_flight: usize,
    /// When the connection last became idle (or last wrote while idle).
    idle_since: Instant,
    /// When the first byte of a request head arrived, while no request is in flight.
    head_started: Option<Instant>,
    /// Asked to close to make room under the cap.
    evicted: bool,
}

/// Why a connection was closed by the server rather than by its peer.
#[derive(Debug, Clone, Copy)]
enum Closed {
    Idle,
    HeaderTimeout,
    Evicted,
}

impl Closed {
    fn name(self) -> &'static str {
        match self {
            Closed::Idle => "idle",
            Closed::HeaderTimeout => "header_timeout",
            Closed::Evicted => "evicted",
        }
    }
}

impl ConnectionState {
    fn new() -> Self {
        Self {
            activity: Mutex::new(Activity {
                in_flight: 0,
                idle_since: Instant::now(),
                head_started: None,
                evicted: false,
            }),
            changed: Notify::new(),
        }
    }

    fn bytes_read(&self) {
        let mut activity = lock(&self.activity);
        if activity.in_flight == 0 && activity.head_started.is_none() {
            activity.head_started = Some(Instant::now());
            drop(activity);
            self.changed.notify_one();
        }
    }

    fn bytes_written(&self) {
        let mut activity = lock(&self.activity);
        // The tail of a response still leaving counts as activity, not idleness.
        if activity.in_flight == 0 {
            activity.idle_since = Instant::now();
        }
    }

    fn request_started(&self) {
        let mut activity = lock(&self.activity);
        activity.in_flight += 1;
        activity.head_started = None;
    }

    fn request_finished(&self) {
        let mut activity = lock(&self.activity);
        activity.in_flight = activity.in_flight.saturating_sub(1);
        if activity.in_flight == 0 {
            activity.idle_since = Instant::now();
            activity.head_started = None;
        }
        drop(activity);
        self.changed.notify_one();
    }

    /// Completes when the connection has outstayed the bound of its current phase.
    async fn expired(&self, limits: &ServerLimits) -> Closed {
        loop {
            let deadline = {
                let activity = lock(&self.activity);
                if activity.evicted {
                    return Closed::Evicted;
                }
                if activity.in_flight > 0 {
                    None
                } else if let Some(started) = activity.head_started {
                    Some((started + limits.header_read_timeout, Closed::HeaderTimeout))
                } else {
                    Some((activity.idle_since + limits.idle_timeout, Closed::Idle))
                }
            };
            match deadline {
                Some((at, reason)) if at <= Instant::now() => return reason,
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}

/// One accepted connection.
struct Connection {
    registry: Arc<Registry>,
    id: u64,
    state: Arc<ConnectionState>,
    limits: Arc<ServerLimits>,
    app: Router,
    peer: SocketAddr,
}

impl Connection {
    async fn run(self, stream: TcpStream, mut draining: watch::Receiver<bool>) {
        let io = TokioIo::new(WatchedIo {
            inner: stream,
            state: self.state.clone(),
        });
        let service = {
            let state = self.state.clone();
            let app = self.app.clone();
            let peer = self.peer;
            let body_timeout = self.limits.body_timeout;
            hyper::service::service_fn(move |request: Request<Incoming>| {
                let guard = InFlight::start(state.clone());
                let mut request =
                    request.map(|body| Body::new(TimeoutBody::new(body_timeout, body)));
                request.extensions_mut().insert(ConnectInfo(peer));
                let app = app.clone();
                async move {
                    let response = match app.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    Ok::<_, Infallible>(response.map(|body| {
                        Body::new(GuardedBody {
                            inner: body,
                            _in_flight: guard,
                        })
                    }))
                }
            })
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        // Head timing is ours (it also covers idle keep-alive connections and eviction).
        builder.header_read_timeout(None);
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let expired = self.state.expired(&self.limits);
        tokio::pin!(expired);
        let mut shutting_down = false;
        loop {
            if !shutting_down && *draining.borrow() {
                shutting_down = true;
                // Finishes the request in flight, if any, then closes.
                connection.as_mut().graceful_shutdown();
            }
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                    break;
                }
                reason = &mut expired => {
                    tracing::debug!(reason = reason.name(), "closing connection");
                    metrics::counter!("signet_http_connections_closed_total", "reason" => reason.name()).increment(1);
                    break;
                }
                changed = draining.changed(), if !shutting_down => {
                    if changed.is_err() {
                        // The server is gone; treat it as a drain.
                        shutting_down = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
        self.registry.remove(self.id);
    }
}

/// Marks a request in flight on its connection until its response body is done (or dropped).
struct InFlight(Arc<ConnectionState>);

impl InFlight {
    fn start(state: Arc<ConnectionState>) -> Self {
        state.request_started();
        Self(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that keeps its request marked in flight until hyper has taken all of it.
struct GuardedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl http_body::Body for GuardedBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, reporting reads and writes to the connection's state.
struct WatchedIo {
    inner: TcpStream,
    state: Arc<ConnectionState>,
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.bytes_read();
        }
        result
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.state.bytes_written();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.state.bytes_written();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
