//! The presigned upload answers once the bytes are durable and their SHA-256 known, leaving the
//! SHA3-256 to a durable `hash_document` job (issue 9 item 2): the job records it, survives a
//! crash of the process that took the upload, and refuses to bind a digest to bytes that changed
//! under it. On both backends.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest as _;
use signet_core::blob::BlobKey;
use signet_core::ids::{DocumentId, TenantId};
use signet_core::jobs::{JobKind, JobState};
use signet_core::model::{EnvelopeAggregate, EventKind};
use signet_core::values::Sha3Digest;
use signet_testkit::{TestApp, TestTenant, delivery};

signet_testkit::on_both!(
    the_upload_answers_without_sha3_and_its_job_records_it,
    a_crash_before_the_job_still_ends_with_the_hash,
    bytes_changed_under_the_job_are_not_hashed,
);

/// Creates a transaction with one document and uploads `content` into it (not confirmed, no job
/// run); answers the upload's answer and the document's envelope.
async fn upload(
    app: &TestApp,
    tenant: &TestTenant,
    content: &[u8],
) -> anyhow::Result<(Value, EnvelopeAggregate)> {
    let body = json!({
        "contacts": [{"recipientEmail": "r@example.com", "recipientIsoCountryCode": "CA",
                      "recipientCell": "8191234567"}],
        "documents": [{"name": "contract.pdf"}]
    });
    let created = delivery::create(app, tenant, "/transactions/cells", &body).await?;
    let url = delivery::upload_url(&created, 0)?;
    let response = app.http.put(url).body(content.to_vec()).send().await?;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await?;
    let document: DocumentId = answer["documentId"].as_str().unwrap_or_default().parse()?;
    let envelope = envelope_of(app, tenant, &document).await?;
    Ok((answer, envelope))
}

async fn envelope_of(
    app: &TestApp,
    tenant: &TestTenant,
    document: &DocumentId,
) -> anyhow::Result<EnvelopeAggregate> {
    let tenant: TenantId = tenant.id.parse()?;
    Ok(app
        .store
        .tenant_envelope_of_document(&tenant, document)
        .await?
        .expect("the uploaded document's envelope"))
}

fn sha3_of(content: &[u8]) -> Sha3Digest {
    Sha3Digest::from_bytes(sha3::Sha3_256::digest(content).into())
}

fn hash_jobs(jobs: &[signet_core::jobs::Job]) -> usize {
    jobs.iter()
        .filter(|j| matches!(j.kind, JobKind::HashDocument { .. }))
        .count()
}

async fn event_kinds(
    app: &TestApp,
    envelope: &EnvelopeAggregate,
) -> anyhow::Result<Vec<EventKind>> {
    Ok(app
        .store
        .envelope_events(&envelope.envelope.tenant_id, &envelope.envelope.id)
        .await?
        .into_iter()
        .map(|e| e.kind)
        .collect())
}

async fn the_upload_answers_without_sha3_and_its_job_records_it(
    app: TestApp,
) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let content = b"a payslip, hashed after the answer".to_vec();
    let (answer, envelope) = upload(&app, &tenant, &content).await?;
    assert_eq!(
        answer["sha256"],
        hex::encode(sha2::Sha256::digest(&content)),
        "the SHA-256 is known when the upload answers"
    );
    assert!(
        answer.get("sha3_256").is_none(),
        "no SHA3-256, rather than an empty or provisional one: {answer}"
    );
    let stored = envelope.documents[0].stored().expect("stored").clone();
    assert_eq!(stored.sha3_256, None);
    let uploaded = app
        .store
        .envelope_events(&envelope.envelope.tenant_id, &envelope.envelope.id)
        .await?
        .into_iter()
        .find(|e| e.kind == EventKind::DocumentUploaded)
        .expect("the upload's event");
    assert!(uploaded.data.get("sha3_256").is_none(), "{}", uploaded.data);
    assert_eq!(
        hash_jobs(&app.store.jobs_in_state(JobState::Pending, 100).await?),
        1,
        "the upload enqueued its hash job"
    );

    app.run_jobs().await?;
    let document = envelope.documents[0].id;
    let hashed = envelope_of(&app, &tenant, &document).await?;
    assert_eq!(
        hashed.documents[0].stored().and_then(|c| c.sha3_256),
        Some(sha3_of(&content))
    );
    let events = app
        .store
        .envelope_events(&envelope.envelope.tenant_id, &envelope.envelope.id)
        .await?;
    let recorded = events
        .iter()
        .find(|e| e.kind == EventKind::DocumentHashed)
        .expect("the digest is in the log");
    assert_eq!(recorded.document_id, Some(document));
    assert_eq!(recorded.data["sha3_256"], sha3_of(&content).to_hex());
    assert_eq!(recorded.data["sha256"], stored.sha256.to_hex());

    // Idempotent: running it again (a retried job) records nothing more.
    assert!(
        !app.core
            .record_deferred_sha3(&envelope.envelope.tenant_id, &document)
            .await?
    );
    assert_eq!(
        event_kinds(&app, &envelope)
            .await?
            .iter()
            .filter(|k| **k == EventKind::DocumentHashed)
            .count(),
        1
    );
    Ok(())
}

/// The job is a row written with the upload: a process that never saw the upload (the one that
/// took it died before hashing) finds it and records the digest.
async fn a_crash_before_the_job_still_ends_with_the_hash(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let content = vec![7u8; 300_000];
    let (_, envelope) = upload(&app, &tenant, &content).await?;
    let document = envelope.documents[0].id;

    // Another process: its own connection to the database, the same blob store, no memory of
    // the upload.
    let store = signet_store::open_with_clock(&app.database_url, app.clock.clone()).await?;
    let restarted = signet_core::Core::new(
        store,
        Arc::clone(&app.blobs),
        app.clock.clone(),
        signet_core::crypto::MasterKey::generate(),
        app.core.settings().clone(),
    );
    let ran = restarted
        .run_due_jobs(&signet_core::worker::WorkerSettings::default())
        .await?;
    assert!(ran >= 1, "the hash job was found by the other process");
    let hashed = envelope_of(&app, &tenant, &document).await?;
    assert_eq!(
        hashed.documents[0].stored().and_then(|c| c.sha3_256),
        Some(sha3_of(&content))
    );
    assert_eq!(
        hash_jobs(&app.store.jobs_in_state(JobState::Pending, 100).await?),
        0
    );
    assert_eq!(
        hash_jobs(&app.store.jobs_in_state(JobState::Done, 100).await?),
        1
    );
    Ok(())
}

/// Bytes that changed at rest after the upload are never hashed into the record: damaged ones
/// fail authentication, and validly re-encrypted different ones fail the SHA-256 check. The job
/// fails (to be retried, then dead-lettered), the digest stays absent, and a lookup shows none
/// rather than a wrong one.
async fn bytes_changed_under_the_job_are_not_hashed(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    for replace in [false, true] {
        let content = b"the bytes that were uploaded".to_vec();
        let (answer, envelope) = upload(&app, &tenant, &content).await?;
        let blob: BlobKey = envelope.documents[0].stored().expect("stored").blob.clone();
        if replace {
            let other: signet_core::blob::ByteStream = Box::pin(futures::stream::iter([Ok(
                axum::body::Bytes::from_static(b"other bytes, properly encrypted"),
            )]));
            app.blobs.put(&blob, other, None).await?;
        } else {
            app.tamper_with_blob(&blob, |stored| {
                let last = stored.len() - 1;
                stored[last] ^= 1;
            })
            .await?;
        }
        app.run_jobs().await?;
        let document = envelope.documents[0].id;
        let after = envelope_of(&app, &tenant, &document).await?;
        assert_eq!(
            after.documents[0].stored().and_then(|c| c.sha3_256),
            None,
            "replaced: {replace}"
        );
        assert!(
            !event_kinds(&app, &envelope)
                .await?
                .contains(&EventKind::DocumentHashed)
        );
        let failed = app.store.jobs_in_state(JobState::Pending, 100).await?;
        let job = failed
            .iter()
            .find(|j| {
                matches!(&j.kind, JobKind::HashDocument { document_id, .. } if *document_id == document)
            })
            .expect("the job waits for a retry");
        assert_eq!(job.attempts, 1);
        assert!(job.last_error.is_some());

        // A lookup by the SHA-256 still answers, without a SHA3-256.
        let sha256 = answer["sha256"].as_str().unwrap_or_default();
        let evidence: Value = app
            .http
            .get(app.url(&format!("/v1/evidence/documents/{sha256}")))
            .basic_auth(&tenant.id, Some(&tenant.api_key))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let shown = &evidence["documents"][0];
        assert_eq!(shown["sha256"], sha256);
        assert!(shown["sha3_256"].is_null(), "{shown}");
        // Not found by the digest of what was uploaded either.
        let by_sha3: Value = app
            .http
            .get(app.url(&format!(
                "/v1/evidence/documents/{}",
                sha3_of(&content).to_hex()
            )))
            .basic_auth(&tenant.id, Some(&tenant.api_key))
            .send()
            .await?
            .json()
            .await?;
        assert!(
            by_sha3["documents"]
                .as_array()
                .is_none_or(|d| d.iter().all(|d| d["document_id"] != shown["document_id"])),
            "{by_sha3}"
        );
    }
    Ok(())
}
