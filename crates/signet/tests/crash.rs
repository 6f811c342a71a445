//! Durable jobs survive a SIGKILL: a real `signet serve` confirms a transaction whose invitation
//! cannot be sent (the SMTP relay is down), is killed with SIGKILL while the job waits for its
//! retry, and after a restart — with the relay up — the e-mail arrives.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use crate::common;

use std::time::{Duration, Instant};

use common::Server;
use serde_json::{Value, json};

/// `signet serve` on `dir`'s data directory and `port`, mailing through `smtp_port`.
fn serve(dir: &std::path::Path, port: u16, smtp_port: u16) -> anyhow::Result<Server> {
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    Server::start_on(
        dir,
        port,
        &[
            ("SIGNET_LOG", "warn"),
            ("SIGNET_SMTP_URL", &smtp_url),
            ("SIGNET_MAIL_FROM", "Signet <no-reply@signet.test>"),
        ],
    )
}

#[tokio::test]
async fn pending_jobs_survive_sigkill() -> anyhow::Result<()> {
    let Some(python) = signet_testkit::smtp::venv_python_with("aiosmtpd") else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let (port, smtp_port) = (common::free_port(), common::free_port());
    let base = format!("http://127.0.0.1:{port}");
    let tenant: serde_json::Value = serde_json::from_str(&common::signet(
        dir.path(),
        &[],
        &[
            "tenant",
            "create",
            "--name",
            "Acme",
            "--self-send",
            "false",
            "--json",
        ],
    )?)?;
    let (id, key) = (
        tenant["tenantId"].as_str().unwrap_or_default(),
        tenant["apiKey"].as_str().unwrap_or_default(),
    );
    let token = || common::bearer(id, key);

    // The relay is down: the invitation job fails and waits for its retry.
    let http = reqwest::Client::new();
    let mut server = serve(dir.path(), port, smtp_port)?;
    server.wait_until_serving(&http).await?;
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
    server.kill()?;

    // The relay comes up and the server restarts: the job runs and the mail arrives.
    let smtp = signet_testkit::smtp::SmtpServer::start(&python, Some(smtp_port)).await?;
    let _server = serve(dir.path(), port, smtp_port)?;
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
