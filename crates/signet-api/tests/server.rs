//! The HTTP server's limits, on a loopback port with short timeouts: held-open and slowloris
//! connections beyond the cap cannot lock a client out, idle and half-sent connections are
//! closed, stalled bodies fail while slow-but-steady ones finish, the peer address reaches
//! handlers, and shutdown lets the request in flight finish.
//!
//! Waits are bounded generously (a test fails instead of hanging) but nothing asserts speed.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::routing::{get, post};
use futures::StreamExt as _;
use signet_api::server::{ServerLimits, serve};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The longest any single wait may take before the test fails.
const BOUND: Duration = Duration::from_secs(30);

/// Holds `/wait` requests until the test releases them, and tells the test when one arrives.
#[derive(Clone)]
struct Gate {
    release: tokio::sync::watch::Receiver<bool>,
    arrived: tokio::sync::mpsc::UnboundedSender<()>,
}

/// The test's side of a [`Gate`].
struct GateControl {
    release: tokio::sync::watch::Sender<bool>,
    arrived: tokio::sync::mpsc::UnboundedReceiver<()>,
}

impl GateControl {
    async fn wait_arrival(&mut self) -> anyhow::Result<()> {
        tokio::time::timeout(BOUND, self.arrived.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the gate is gone"))
    }

    fn open(&self) {
        let _ = self.release.send(true);
    }
}

fn gate() -> (Gate, GateControl) {
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let (arrived_tx, arrived_rx) = tokio::sync::mpsc::unbounded_channel();
    (
        Gate {
            release: release_rx,
            arrived: arrived_tx,
        },
        GateControl {
            release: release_tx,
            arrived: arrived_rx,
        },
    )
}

/// A router with what the tests need: a quick answer, the peer address, a body counter that
/// reports a failed body as 408, and a handler that waits at a gate.
fn test_router(gate: Option<Gate>) -> Router {
    Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
        .route(
            "/count",
            post(|body: Body| async move {
                let mut stream = body.into_data_stream();
                let mut total = 0usize;
                while let Some(chunk) = stream.next().await {
                    match chunk {
                        Ok(bytes) => total += bytes.len(),
                        Err(_) => return (StatusCode::REQUEST_TIMEOUT, "stalled".to_owned()),
                    }
                }
                (StatusCode::OK, total.to_string())
            }),
        )
        .route(
            "/wait",
            get(move || {
                let gate = gate.clone();
                async move {
                    if let Some(mut gate) = gate {
                        let _ = gate.arrived.send(());
                        let _ = gate.release.wait_for(|go| *go).await;
                    }
                    "released"
                }
            }),
        )
}

struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(limits: ServerLimits, router: Router) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, router, limits, async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        stop: Some(stop),
        server,
    })
}

fn limits(max_connections: usize, timeout: Duration) -> ServerLimits {
    ServerLimits {
        max_connections,
        header_read_timeout: timeout,
        idle_timeout: timeout,
        body_timeout: timeout,
        drain_timeout: BOUND,
    }
}

/// One HTTP/1.1 request on a fresh connection; the whole response as text.
async fn request(addr: SocketAddr, raw: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(raw.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut response)).await??;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

async fn get_ok(addr: SocketAddr) -> anyhow::Result<String> {
    request(
        addr,
        "GET /ok HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n",
    )
    .await
}

/// Waits until the server closes `stream` (EOF or reset), reading and discarding what comes.
async fn closed_by_server(stream: &mut TcpStream) -> anyhow::Result<()> {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(BOUND, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("the server kept the connection open"))
}

/// A slowloris: starts a request head and sends one more header line every `every` until the
/// server closes the connection; answers how many lines it got in.
async fn slowloris(addr: SocketAddr, every: Duration) -> anyhow::Result<usize> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /ok HTTP/1.1\r\nhost: test\r\n")
        .await?;
    let mut lines = 0;
    let mut buf = [0u8; 64];
    let result = tokio::time::timeout(BOUND, async {
        loop {
            tokio::select! {
                read = stream.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
                () = tokio::time::sleep(every) => {
                    if stream.write_all(format!("x-slow-{lines}: y\r\n").as_bytes()).await.is_err() {
                        return;
                    }
                    lines += 1;
                }
            }
        }
    })
    .await;
    anyhow::ensure!(result.is_ok(), "the slowloris connection was never closed");
    Ok(lines)
}

#[tokio::test]
async fn held_connections_beyond_the_cap_do_not_lock_out_a_client() -> anyhow::Result<()> {
    // Timeouts far beyond the bound: only making room at the cap can let the client in.
    let (gate, mut control) = gate();
    let server = start(limits(8, Duration::from_secs(600)), test_router(Some(gate))).await?;
    // A request in flight first: it must survive everything that follows.
    let in_flight = tokio::spawn(request(
        server.addr,
        "GET /wait HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n",
    ));
    control.wait_arrival().await?;
    // Three times the cap in idle sockets and half-sent heads.
    let mut held = Vec::new();
    for i in 0..24 {
        let mut stream = TcpStream::connect(server.addr).await?;
        if i % 2 == 1 {
            stream.write_all(b"GET /ok HTTP/1.1\r\nhost: ").await?;
        }
        held.push(stream);
    }
    for _ in 0..3 {
        let response = get_ok(server.addr).await?;
        assert!(
            response.starts_with("HTTP/1.1 200") && response.ends_with("ok"),
            "{response}"
        );
    }
    // Most of the held connections were closed to make room.
    let mut closed = 0;
    for stream in &mut held {
        let mut buf = [0u8; 16];
        // FIN, or a reset when the server closed with unread bytes.
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await
        {
            closed += 1;
        }
    }
    assert!(closed >= 16, "only {closed} of 24 held connections closed");
    // The request in flight was never cut.
    control.open();
    let response = in_flight.await??;
    assert!(response.ends_with("released"), "{response}");
    Ok(())
}

#[tokio::test]
async fn idle_and_slow_connections_are_closed() -> anyhow::Result<()> {
    let server = start(limits(100, Duration::from_secs(1)), test_router(None)).await?;
    // A connection that never sends anything.
    let mut idle = TcpStream::connect(server.addr).await?;
    // A kept-alive connection after one request.
    let mut kept = TcpStream::connect(server.addr).await?;
    kept.write_all(b"GET /ok HTTP/1.1\r\nhost: test\r\n\r\n")
        .await?;
    let mut first = [0u8; 17];
    kept.read_exact(&mut first).await?;
    assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
    // Slowloris: a header line every 200 ms would keep a connection open for ever without a
    // head deadline; with a 1 s deadline it gets only a few lines in.
    let lines = slowloris(server.addr, Duration::from_millis(200)).await?;
    assert!(lines < 60, "{lines} header lines accepted");
    closed_by_server(&mut idle).await?;
    closed_by_server(&mut kept).await?;
    // A handler taking longer than the idle timeout is not idleness.
    let (gate, mut control) = gate();
    let slow = start(limits(100, Duration::from_secs(1)), test_router(Some(gate))).await?;
    let waiting = tokio::spawn(request(
        slow.addr,
        "GET /wait HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n",
    ));
    control.wait_arrival().await?;
    // Let an idle connection opened after the request be closed first: the timer has run.
    let mut later = TcpStream::connect(slow.addr).await?;
    closed_by_server(&mut later).await?;
    control.open();
    let response = waiting.await??;
    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with("released"),
        "{response}"
    );
    Ok(())
}

#[tokio::test]
async fn stalled_bodies_fail_and_steady_ones_finish() -> anyhow::Result<()> {
    let server = start(limits(100, Duration::from_secs(1)), test_router(None)).await?;
    // 12 chunks, 300 ms apart: the upload takes several body timeouts in all, but never stalls
    // for one.
    let mut steady = TcpStream::connect(server.addr).await?;
    steady
        .write_all(b"POST /count HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-length: 12000\r\n\r\n")
        .await?;
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        steady.write_all(&[b'a'; 1000]).await?;
    }
    let mut response = String::new();
    tokio::time::timeout(BOUND, steady.read_to_string(&mut response)).await??;
    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with("12000"),
        "{response}"
    );
    // Half a body, then nothing: the handler sees the body fail.
    let mut stalled = TcpStream::connect(server.addr).await?;
    stalled
        .write_all(b"POST /count HTTP/1.1\r\nhost: test\r\ncontent-length: 1000\r\n\r\n")
        .await?;
    stalled.write_all(&[b'a'; 500]).await?;
    let mut response = Vec::new();
    tokio::time::timeout(BOUND, stalled.read_to_end(&mut response)).await??;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    Ok(())
}

#[tokio::test]
async fn handlers_see_the_peer_address() -> anyhow::Result<()> {
    let server = start(limits(10, Duration::from_secs(30)), test_router(None)).await?;
    let response = request(
        server.addr,
        "GET /peer HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n",
    )
    .await?;
    assert!(response.ends_with("\r\n127.0.0.1"), "{response}");
    Ok(())
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight() -> anyhow::Result<()> {
    let (gate, mut control) = gate();
    let mut server = start(limits(10, Duration::from_secs(30)), test_router(Some(gate))).await?;
    let mut idle = TcpStream::connect(server.addr).await?;
    let waiting = tokio::spawn(request(
        server.addr,
        "GET /wait HTTP/1.1\r\nhost: test\r\n\r\n",
    ));
    control.wait_arrival().await?;
    if let Some(stop) = server.stop.take() {
        let _ = stop.send(());
    }
    // Idle connections are closed at once, the listener stops accepting …
    closed_by_server(&mut idle).await?;
    let refused = tokio::time::timeout(BOUND, async {
        loop {
            if TcpStream::connect(server.addr).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(refused.is_ok(), "still accepting after shutdown");
    assert!(!server.server.is_finished());
    // … and the request in flight still gets its answer, after which the server returns.
    control.open();
    let response = waiting.await??;
    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with("released"),
        "{response}"
    );
    tokio::time::timeout(BOUND, &mut server.server).await???;
    Ok(())
}
