//! A real `signet serve` under connection pressure, configured through its SIGNET_* variables:
//! with `ulimit -n 256`, hundreds of idle and slowloris connections neither exhaust its file
//! descriptors nor lock a client out, and they are closed by the timeouts.
//!
//! Waits are bounded generously (a test fails instead of hanging) but nothing asserts speed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const BOUND: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `signet serve` logging to a file, killed if the test ends early.
struct Server {
    child: Child,
    log: PathBuf,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `signet serve` through `sh`, so that `ulimit` can apply first.
    fn start(dir: &Path, open_files: u32, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let port = free_port();
        let log = dir.join("serve.log");
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -n {open_files} && exec \"$@\""))
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_signet"))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("SIGNET_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("SIGNET_DATABASE_URL")
            .stdout(std::fs::File::create(dir.join("serve.stdout"))?)
            .stderr(std::fs::File::create(&log)?);
        for (name, value) in env {
            command.env(name, value);
        }
        Ok(Self {
            child: command.spawn()?,
            log,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_until_serving(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if let Ok(response) = http.get(format!("{}/healthz", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("signet serve exited with {status}:\n{}", self.log());
            }
            anyhow::ensure!(start.elapsed() < BOUND, "{} never answered", self.base);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }
}

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
    let mut server = Server::start(
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
