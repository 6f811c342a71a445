//! What an operator's tooling sees, on SQLite + local blobs and on PostgreSQL + S3: `/healthz`
//! and `/readyz` answer, every response carries a request id (the client's when well-formed),
//! and a Prometheus scrape after a doclinc flow counts the requests by route template and
//! status, the job queue, the jobs run and the ledger — and never shows a raw path. A worker
//! told to stop finishes the job it is running first.

use reqwest::StatusCode;
use serde_json::{Value, json};
use signet_testkit::TestApp;

signet_testkit::on_both!(
    probes_answer_and_requests_carry_ids,
    a_scrape_after_a_doclinc_flow,
    a_stopped_worker_finishes_the_job_it_runs,
);

async fn probes_answer_and_requests_carry_ids(app: TestApp) -> anyhow::Result<()> {
    let health = app.http.get(app.url("/healthz")).send().await?;
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.http.get(app.url("/readyz")).send().await?;
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await?;
    assert_eq!(
        body,
        json!({"status": "ready", "database": "ok", "blobs": "ok"})
    );

    // A well-formed id is echoed, on success and on error alike.
    for path in ["/healthz", "/transactions/cells", "/no/such/route"] {
        let response = app
            .http
            .get(app.url(path))
            .header("x-request-id", "trace-7f3c.1")
            .send()
            .await?;
        assert_eq!(
            response.headers()["x-request-id"],
            "trace-7f3c.1",
            "{path} answered {}",
            response.status()
        );
    }
    // No id, or one that could forge log lines: a fresh one, different each time.
    let mut seen = Vec::new();
    for given in [None, Some("two words"), Some(&*"x".repeat(200))] {
        let mut request = app.http.get(app.url("/healthz"));
        if let Some(given) = given {
            request = request.header("x-request-id", given);
        }
        let response = request.send().await?;
        let id = response.headers()["x-request-id"].to_str()?.to_owned();
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert!(!seen.contains(&id));
        seen.push(id);
    }
    Ok(())
}

/// The value of the sample of `name` whose labels include all of `labels`.
fn sample(scrape: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn scrape(app: &TestApp) -> anyhow::Result<String> {
    let response = app.http.get(app.url("/metrics")).send().await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()?
            .starts_with("text/plain; version=0.0.4")
    );
    Ok(response.text().await?)
}

async fn a_scrape_after_a_doclinc_flow(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let body = json!({
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
    });
    let created = app
        .http
        .post(app.url("/transactions/cells"))
        .header("Authorization", tenant.bearer())
        .json(&body)
        .send()
        .await?;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await?;
    let upload_url = created["sendTransaction"]["documents"][0]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let uploaded = app
        .http
        .put(&upload_url)
        .body(b"%PDF-1.7 pay stub".repeat(100))
        .send()
        .await?;
    assert_eq!(uploaded.status(), StatusCode::OK);
    let confirm = created["commands"][0]["href"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let confirmed = app
        .http
        .post(app.url(&confirm))
        .header("Authorization", tenant.bearer())
        .send()
        .await?;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let cancelled = app
        .http
        .delete(app.url(&confirm))
        .header("Authorization", tenant.bearer())
        .send()
        .await?;
    assert_eq!(cancelled.status(), StatusCode::NO_CONTENT);
    // One refused call, to see a 4xx counted under its own status.
    let refused = app
        .http
        .post(app.url("/transactions/cells"))
        .json(&body)
        .send()
        .await?;
    assert!(refused.status().is_client_error());
    let refused_status = refused.status().as_u16().to_string();

    let before_jobs = scrape(&app).await?;
    let requests = |method, route, status| {
        sample(
            &before_jobs,
            "signet_http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
        .unwrap_or(0.0)
    };
    assert!(
        requests("POST", "/transactions/cells", "201") >= 1.0,
        "{before_jobs}"
    );
    assert!(requests("POST", "/transactions/cells", &refused_status) >= 1.0);
    assert!(requests("PUT", "/uploads/{document}", "200") >= 1.0);
    assert!(requests("POST", "/transactions/cell/{id}", "200") >= 1.0);
    assert!(requests("DELETE", "/transactions/cell/{id}", "204") >= 1.0);
    // Latency histograms, by the same labels.
    assert!(
        sample(
            &before_jobs,
            "signet_http_request_duration_seconds_count",
            &[("route", "/transactions/cells"), ("status", "201")],
        )
        .is_some_and(|n| n >= 1.0),
        "{before_jobs}"
    );
    assert!(before_jobs.contains("signet_http_request_duration_seconds_bucket{"));
    // Jobs are queued (the expiry, the cancelled document's deletion), the ledger has grown.
    assert!(
        sample(&before_jobs, "signet_jobs", &[("state", "pending")]).is_some_and(|n| n >= 1.0),
        "{before_jobs}"
    );
    assert!(sample(&before_jobs, "signet_ledger_leaves", &[]).is_some_and(|n| n >= 3.0));
    // Templates only: no id, token or signature from a path.
    let envelope_id = confirm.rsplit('/').next().unwrap_or_default();
    assert!(!envelope_id.is_empty() && !before_jobs.contains(envelope_id));
    let signature = upload_url.split('?').nth(1).unwrap_or_default();
    assert!(!signature.is_empty() && !before_jobs.contains(signature));

    let ran = app.run_jobs().await?;
    assert!(ran >= 1);
    let after_jobs = scrape(&app).await?;
    assert!(
        sample(&after_jobs, "signet_jobs_completed_total", &[]).is_some_and(|n| n >= 1.0),
        "{after_jobs}"
    );
    assert!(after_jobs.contains("signet_job_duration_seconds_bucket{"));
    Ok(())
}

async fn a_stopped_worker_finishes_the_job_it_runs(app: TestApp) -> anyhow::Result<()> {
    use signet_core::jobs::{JobKind, JobState, NewJob};
    // A webhook receiver that holds each delivery until the test lets it answer.
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (release, released) = tokio::sync::watch::channel(false);
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let arrived_tx = arrived_tx.clone();
            let mut released = released.clone();
            async move {
                let _ = arrived_tx.send(());
                let _ = released.wait_for(|go| *go).await;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let tenant = app.tenant().await?;
    let tenant_id = tenant.id.parse()?;
    app.core.set_webhook(&tenant_id, &hook).await?;
    let job = NewJob::at(
        JobKind::DeliverWebhook {
            tenant_id,
            message_id: "msg_drain".into(),
            body: "{}".into(),
        },
        app.core.now(),
    );
    let job_id = job.id.clone();
    app.store.enqueue_jobs(&[job]).await?;

    let (stop, stopping) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn({
        let core = app.core.clone();
        async move {
            core.run_worker(signet_core::worker::WorkerSettings::default(), stopping)
                .await
        }
    });
    let bound = std::time::Duration::from_secs(30);
    tokio::time::timeout(bound, arrived.recv()).await?;
    // Stop while the delivery is under way; it still completes and is recorded as done.
    let _ = stop.send(true);
    let _ = release.send(true);
    tokio::time::timeout(bound, worker).await??;
    let done = app.store.jobs_in_state(JobState::Done, 100).await?;
    assert!(done.iter().any(|j| j.id == job_id), "the delivery was cut");
    Ok(())
}
