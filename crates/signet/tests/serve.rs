//! A real `signet serve`, configured through its SIGNET_* variables, as an operator runs it:
//! with `ulimit -n 256`, hundreds of idle and slowloris connections neither exhaust its file
//! descriptors nor lock a client out, and they are closed by the timeouts; on a read-only
//! database it says it is not ready and its worker backs off; every log line of a request
//! carries the request id; SIGTERM lets an upload still streaming finish, then exits 0.
//!
//! Waits are bounded generously (a test fails instead of hanging) but nothing asserts speed.

use crate::common;

use common::Server;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const BOUND: Duration = Duration::from_secs(60);

/// Waits until the server closes `stream`, reading and discarding what comes.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
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
    .is_ok()
}

#[tokio::test]
async fn held_connections_do_not_exhaust_descriptors_or_lock_out_clients() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut server = Server::start_with_open_files(
        dir.path(),
        256,
        &[
            ("SIGNET_HEADER_READ_TIMEOUT_SECS", "3"),
            ("SIGNET_IDLE_TIMEOUT_SECS", "3"),
        ],
    )?;
    let http = reqwest::Client::new();
    server.wait_until_serving(&http).await?;
    // (256 - 64) / 2: the cap leaves room for the server's own descriptors.
    assert!(
        server.log().contains("max_connections=96"),
        "{}",
        server.log()
    );

    // 600 idle sockets and 100 half-sent heads: far more than the cap, and than the limit.
    let mut held = Vec::new();
    for _ in 0..600 {
        held.push(TcpStream::connect(server.addr()).await?);
    }
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(server.addr()).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
            .await?;
        slow.push(stream);
    }
    // A client with a fresh connection each time is still served.
    for _ in 0..3 {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(BOUND)
            .build()?;
        let response = client
            .get(format!("{}/healthz", server.base))
            .send()
            .await?;
        assert!(response.status().is_success());
    }
    // The slowloris connections keep trickling header lines; every held connection is closed,
    // by eviction or by the timeouts.
    let trickle = tokio::spawn(async move {
        let mut open = slow;
        let mut closed = 0;
        while !open.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut still = Vec::new();
            for mut stream in open {
                if stream.write_all(b"x-slow: 1\r\n").await.is_ok() {
                    let mut buf = [0u8; 256];
                    match tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf))
                        .await
                    {
                        Ok(Ok(0) | Err(_)) => closed += 1,
                        _ => still.push(stream),
                    }
                } else {
                    closed += 1;
                }
            }
            open = still;
        }
        closed
    });
    let mut closed = 0;
    for stream in &mut held {
        if closed_by_server(stream).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 600, "idle connections left open");
    let slow_closed = tokio::time::timeout(BOUND, trickle).await??;
    assert_eq!(slow_closed, 100);
    let log = server.log();
    assert!(!log.contains("Too many open files"), "{log}");
    Ok(())
}

/// Waits until the server's log satisfies `done`.
async fn wait_for_log(server: &Server, done: impl Fn(&str) -> bool) -> anyhow::Result<String> {
    let start = Instant::now();
    loop {
        let log = server.log();
        if done(&log) {
            return Ok(log);
        }
        anyhow::ensure!(start.elapsed() < BOUND, "the log never got there:\n{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_read_only_database_is_not_ready_and_the_worker_backs_off() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    common::signet(dir.path(), &[], &["init"])?;
    // Read-only as the kernel would make it for a non-root user of a chmod 444 file (the tests
    // may run as root, whom chmod does not stop).
    let url = format!(
        "sqlite://{}?mode=ro",
        dir.path().join("data/signet.db").display()
    );
    let mut server = Server::start_with_open_files(
        dir.path(),
        1024,
        &[
            ("SIGNET_DATABASE_URL", &url),
            ("SIGNET_LOG", "info,tower_http=debug"),
        ],
    )?;
    let http = reqwest::Client::new();
    server.wait_until_serving(&http).await?;

    // Alive, but not ready: the database takes no writes.
    let ready = http
        .get(format!("{}/readyz", server.base))
        .header("x-request-id", "probe-1")
        .send()
        .await?;
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.headers()["x-request-id"], "probe-1");
    let body: serde_json::Value = ready.json().await?;
    assert_eq!(body["database"], "failing");
    assert_eq!(body["blobs"], "ok");

    // The worker fails to claim jobs: one ERROR, then WARNs with doubling pauses (1 s, 2 s,
    // 4 s, 8 s), where it used to log an ERROR every 500 ms.
    let log = wait_for_log(&server, |log| log.contains("retry_in_ms=8000")).await?;
    let worker_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("claiming jobs"))
        .collect();
    let errors = worker_lines.iter().filter(|l| l.contains("ERROR")).count();
    assert_eq!(errors, 1, "{log}");
    let pauses: Vec<&str> = worker_lines
        .iter()
        .filter_map(|l| l.split("retry_in_ms=").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(pauses[..4], ["1000", "2000", "4000", "8000"], "{log}");

    // Every log line of the probe request carries its id; the not-ready warning among them.
    let probe_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("route=/readyz"))
        .collect();
    assert!(probe_lines.len() >= 2, "{log}");
    assert!(
        probe_lines.iter().all(|l| l.contains("request_id=probe-1")),
        "{log}"
    );
    assert!(probe_lines.iter().any(|l| l.contains("not ready")));
    Ok(())
}

#[tokio::test]
async fn sigterm_lets_an_upload_in_flight_finish_then_exits_0() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let tenant: serde_json::Value = serde_json::from_str(&common::signet(
        dir.path(),
        &[],
        &["tenant", "create", "--name", "Acme", "--json"],
    )?)?;
    let tenant_id = tenant["tenantId"].as_str().unwrap_or_default().to_owned();
    let api_key = tenant["apiKey"].as_str().unwrap_or_default().to_owned();
    let mut server = Server::start_with_open_files(dir.path(), 4096, &[("SIGNET_LOG", "info")])?;
    let http = reqwest::Client::new();
    server.wait_until_serving(&http).await?;

    let token = common::bearer(&tenant_id, &api_key);
    let created: serde_json::Value = http
        .post(format!("{}/transactions/cells", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "transactionType": "send",
            "transactionLanguageRef": "EN",
            "subjectLanguageRef": "EN",
            "linkExpirationDays": 14,
            "isLinkReusable": true,
            "isEventNotificationEnabled": false,
            "contacts": [{
                "recipientEmail": "recipient@example.com",
                "recipientIsoCountryCode": "CA",
                "recipientCell": "8191234567",
                "authenticationMethod": "sms"
            }],
            "documents": [{ "name": "pay-stub.pdf" }]
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let url = created["sendTransaction"]["documents"][0]["url"]
        .as_str()
        .unwrap_or_default();
    let path = url
        .strip_prefix(&server.base)
        .ok_or_else(|| anyhow::anyhow!("upload URL {url} is not on {}", server.base))?;

    // An upload of 40 chunks, the first half sent before SIGTERM, the rest after it.
    let chunk = b"%PDF-1.7 slow upload ".repeat(50);
    let total = chunk.len() * 40;
    let mut upload = TcpStream::connect(server.addr()).await?;
    upload
        .write_all(
            format!(
                "PUT {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/pdf\r\ncontent-length: {total}\r\n\r\n",
                server.addr()
            )
            .as_bytes(),
        )
        .await?;
    for _ in 0..20 {
        upload.write_all(&chunk).await?;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    server.terminate()?;
    // The server stops taking connections …
    let start = Instant::now();
    while TcpStream::connect(server.addr()).await.is_ok() {
        anyhow::ensure!(start.elapsed() < BOUND, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // … but the upload it is receiving goes on to the end and is stored whole.
    for _ in 0..20 {
        upload.write_all(&chunk).await?;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut response = String::new();
    tokio::time::timeout(BOUND, upload.read_to_string(&mut response)).await??;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    use sha2::Digest as _;
    let mut whole = Vec::new();
    for _ in 0..40 {
        whole.extend_from_slice(&chunk);
    }
    let sha256 = hex::encode(sha2::Sha256::digest(&whole));
    assert!(response.contains(&sha256), "{response}");

    let status = server.wait_exit()?;
    let log = server.log();
    assert!(status.success(), "exited with {status}:\n{log}");
    assert!(log.contains("job worker stopped"), "{log}");
    Ok(())
}
