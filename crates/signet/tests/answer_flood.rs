//! A burst of secret answers cannot make the server hash without bound. The probe sent 100
//! concurrent `POST /r/{token}/answer` to one link: every request ran an Argon2id hash (19 MiB
//! each) before the lock was looked at, and the server's peak memory reached 2.4 GiB. Here a real
//! `signet serve` takes 200 concurrent wrong answers on one link; its peak resident set, read
//! from `/proc`, stays within a fixed bound, the surplus requests are told to wait (429) before
//! any hashing, and the link locks after its five attempts, so that even the right answer is
//! refused afterwards.

use crate::common;

use common::{Server, bearer, create_tenant};
use futures::StreamExt as _;
use reqwest::StatusCode;
use serde_json::json;

/// The most the server's peak resident set may reach. It idles at a few tens of MiB; one
/// Argon2id hash takes 19 MiB and at most one per core may run. Unbounded, 200 answers took
/// gigabytes.
const PEAK_RSS_BOUND_KIB: u64 = 200 * 1024;

#[tokio::test]
async fn two_hundred_parallel_answers_stay_within_a_memory_bound() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (tenant_id, api_key) = create_tenant(dir.path(), &["--features", "secret"])?;
    let mut server = Server::start(dir.path(), &[("SIGNET_LOG", "warn")])?;
    // Redirects are looked at, not followed.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()?;
    server.wait_until_serving(&http).await?;
    let base = server.base.clone();

    let created: serde_json::Value = http
        .post(format!("{base}/transactions/secrets"))
        .bearer_auth(bearer(&tenant_id, &api_key))
        .json(&json!({
            "transactionLanguageRef": "EN",
            "subjectLanguageRef": "EN",
            "linkExpirationDays": 14,
            "secretQuestion": "What is your employee number?",
            "contacts": [{"recipientEmail": "recipient@example.com", "secretAnswer": "EMP-00142"}],
            "documents": [{"name": "payslip.pdf"}]
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let upload = created["sendTransaction"]["documents"][0]["url"]
        .as_str()
        .expect("an upload URL");
    http.put(upload)
        .body(&b"%PDF-1.7 payslip\n%%EOF\n"[..])
        .send()
        .await?
        .error_for_status()?;
    let confirm = created["commands"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["rel"] == "Confirm"))
        .and_then(|c| c["href"].as_str())
        .expect("a Confirm command");
    http.post(format!("{base}{confirm}"))
        .bearer_auth(bearer(&tenant_id, &api_key))
        .send()
        .await?
        .error_for_status()?;
    let link = created["banner"]
        .as_str()
        .and_then(|b| b.split("href=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("a link in the banner")
        .to_owned();
    let before = server.status_kib("VmHWM")?;

    let statuses: Vec<StatusCode> = futures::stream::iter(0..200)
        .map(|i| {
            let (http, link) = (http.clone(), link.clone());
            async move {
                http.post(format!("{link}/answer"))
                    .form(&[("answer", format!("wrong guess {i}"))])
                    .send()
                    .await
                    .map(|r| r.status())
                    .unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
        })
        .buffer_unordered(200)
        .collect()
        .await;
    let peak = server.status_kib("VmHWM")?;
    let busy = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let wrong = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    eprintln!(
        "peak RSS {before} KiB before, {peak} KiB after; {busy} told to wait, {wrong} judged wrong"
    );
    assert!(
        peak <= PEAK_RSS_BOUND_KIB,
        "peak RSS {peak} KiB over the bound of {PEAK_RSS_BOUND_KIB} KiB"
    );
    assert!(busy > 0, "surplus answers are turned away: {statuses:?}");
    assert!(wrong <= 5, "at most five answers are judged wrong: {wrong}");
    assert!(
        statuses.iter().all(|s| s.as_u16() < 500),
        "no server error: {statuses:?}"
    );

    // Keep guessing one at a time until the link locks: five attempts in all, whatever the burst.
    // Keep guessing one at a time until the link locks: five attempts in all, whatever the burst.
    let mut judged_wrong = wrong;
    let mut tries = 0;
    loop {
        tries += 1;
        assert!(tries < 20, "the link never locked");
        let response = http
            .post(format!("{link}/answer"))
            .form(&[("answer", "still wrong")])
            .send()
            .await?;
        let status = response.status();
        let page = response.text().await?;
        if page.contains("This link is locked") {
            judged_wrong += 1;
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{page}");
        judged_wrong += 1;
    }
    assert_eq!(
        judged_wrong, 5,
        "the lock comes with the fifth wrong answer"
    );
    let right = http
        .post(format!("{link}/answer"))
        .form(&[("answer", "EMP-00142")])
        .send()
        .await?;
    assert_ne!(right.status(), StatusCode::SEE_OTHER, "the lock holds");
    assert!(right.headers().get("set-cookie").is_none());
    Ok(())
}
