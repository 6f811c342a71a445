//! Durable jobs survive a SIGKILL: a real `signet serve` confirms a transaction whose invitation
//! cannot be sent (the SMTP relay is down), is killed with SIGKILL while the job waits for its
//! retry, and after a restart — with the relay up — the e-mail arrives.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path, port: u16, smtp_port: u16) -> Killed {
    let child = Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("SIGNET_LOG", "warn")
        .env("SIGNET_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
        .env("SIGNET_MAIL_FROM", "Signet <no-reply@signet.test>")
        .env_remove("SIGNET_DATABASE_URL")
        .stdout(Stdio::null())
        .spawn()
        .expect("start signet");
    Killed(child)
}

async fn wait_for_port(port: u16) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "port {port} never opened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn pending_jobs_survive_sigkill() -> anyhow::Result<()> {
    let Some(python) = signet_testkit::smtp::venv_python_with("aiosmtpd") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let (port, smtp_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");

    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("--data-dir")
        .arg(&data)
        .args([
            "tenant",
            "create",
            "--name",
            "Acme",
            "--self-send",
            "false",
            "--json",
        ])
        .env_remove("SIGNET_DATABASE_URL")
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tenant: Value = serde_json::from_slice(&out.stdout)?;
    let (id, key) = (
        tenant["tenantId"].as_str().unwrap_or_default(),
        tenant["apiKey"].as_str().unwrap_or_default(),
    );
    let token = || {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let header = json!({"alg": "HS256", "typ": "JWT"});
        signet_testkit::jwt::hs256(
            &header,
            &signet_testkit::jwt::claims(id, now, now + 600),
            key.as_bytes(),
        )
    };

    // The relay is down: the invitation job fails and waits for its retry.
    let server = serve(&data, port, smtp_port);
    wait_for_port(port).await;
    let http = reqwest::Client::new();
    let body = json!({
        "contacts": [{"recipientEmail": "r@example.com", "recipientIsoCountryCode": "CA", "recipientCell": "8191234567"}],
        "documents": [{"name": "a.pdf"}]
    });
    let created: Value = http
        .post(format!("{base}/transactions/cells"))
        .bearer_auth(token())
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    let upload = created["sendTransaction"]["documents"][0]["url"]
        .as_str()
        .unwrap_or_default();
    http.put(upload)
        .body("pdf")
        .send()
        .await?
        .error_for_status()?;
    let confirm = created["commands"][0]["href"].as_str().unwrap_or_default();
    http.post(format!("{base}{confirm}"))
        .bearer_auth(token())
        .send()
        .await?
        .error_for_status()?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // SIGKILL: no shutdown, no flush.
    drop(server);

    // The relay comes up and the server restarts: the job runs and the mail arrives.
    let smtp = signet_testkit::smtp::SmtpServer::start(&python, Some(smtp_port)).await?;
    let _server = serve(&data, port, smtp_port);
    let start = Instant::now();
    while smtp.message_count() == 0 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delivered = smtp.message_count();
    assert_eq!(
        delivered, 1,
        "the invitation queued before the SIGKILL was sent after the restart"
    );
    Ok(())
}
