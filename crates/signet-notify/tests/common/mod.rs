//! Helpers shared by the integration tests: finding the test Python and a tiny HTTP capture
//! server (hand-written HTTP/1.1 on a tokio listener, so that no server framework is needed).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The Python that has the test packages (`test-requirements.txt`): `$SIGNET_TEST_PYTHON`, else
/// `<workspace>/.venv/bin/python`. `None` (with a notice) when it is missing or lacks one of
/// `modules`; under `CI=true` that is a failure instead.
pub fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let candidate = match std::env::var_os("SIGNET_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
    };
    let imports = format!("import {}", modules.join(", "));
    let usable = Command::new(&candidate)
        .args(["-c", &imports])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if usable {
        return Some(candidate);
    }
    let notice = format!(
        "{} cannot `{imports}`: create the venv (python3 -m venv .venv && .venv/bin/pip install \
         -r crates/signet-notify/test-requirements.txt) or set SIGNET_TEST_PYTHON",
        candidate.display()
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{notice}");
    }
    eprintln!("SKIPPED: {notice}");
    None
}

/// One request received by the capture server.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub path: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP server on 127.0.0.1 that records every request and answers with a settable status.
pub struct CaptureServer {
    pub addr: std::net::SocketAddr,
    status: Arc<AtomicU16>,
    received: mpsc::UnboundedReceiver<Captured>,
}

impl CaptureServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let status = Arc::new(AtomicU16::new(200));
        let (tx, received) = mpsc::unbounded_channel();
        let answer = status.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let tx = tx.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    if let Some(request) = read_request(&mut sock).await {
                        let code = answer.load(Ordering::SeqCst);
                        let _ = tx.send(request);
                        let response = format!(
                            "HTTP/1.1 {code} Status\r\nlocation: /followed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        );
                        let _ = sock.write_all(response.as_bytes()).await;
                        let _ = sock.shutdown().await;
                    }
                });
            }
        });
        Self {
            addr,
            status,
            received,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Whether a request arrives within `wait`.
    pub async fn quiet_for(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.received.recv())
            .await
            .is_err()
    }

    pub async fn next(&mut self) -> Captured {
        tokio::time::timeout(Duration::from_secs(10), self.received.recv())
            .await
            .expect("a request within 10 s")
            .expect("server running")
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Captured> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Captured {
        method,
        path,
        headers,
        body,
    })
}

/// A loopback port that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
