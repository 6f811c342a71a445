//! The blob store against a real S3 API: moto's server on loopback.
//!
//! How these tests expect the server to be started (from the repository root):
//!
//! ```text
//! python3 -m venv .venv && .venv/bin/pip install 'moto[server]'
//! .venv/bin/moto_server -H 127.0.0.1 -p 5055 &      # any free loopback port
//! SIGNET_TEST_S3_ENDPOINT=http://127.0.0.1:5055 cargo test -p signet-blob --test integration s3::
//! ```
//!
//! Each test creates its own bucket with an unsigned `PUT /<bucket>` (moto does not check
//! signatures by default), unless `SIGNET_TEST_S3_BUCKET` names an existing bucket to use instead.
//! Credentials are `SIGNET_TEST_S3_ACCESS_KEY_ID` / `SIGNET_TEST_S3_SECRET_ACCESS_KEY` (default
//! `test`/`test`), the region `us-east-1`. Without `SIGNET_TEST_S3_ENDPOINT` every test prints a
//! notice and passes, except when `CI=true`, where it fails: CI must not skip them silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write as _;
use std::sync::Arc;

use common::*;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use rand::RngCore;
use signet_blob::{CHUNK_LEN, ObjectBlobStore, S3Settings};
use signet_core::blob::{BlobKey, BlobStore};
use signet_core::crypto::MasterKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct S3Test {
    store: ObjectBlobStore,
    raw: Arc<dyn ObjectStore>,
    endpoint: String,
    bucket: String,
}

/// Connects to the test server, or returns `None` (after a notice) when none is configured.
async fn s3(test: &str) -> Option<S3Test> {
    let Ok(endpoint) = std::env::var("SIGNET_TEST_S3_ENDPOINT") else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{test}: SIGNET_TEST_S3_ENDPOINT is not set, and CI=true forbids skipping");
        }
        // Written to stderr directly: the test harness captures `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: set SIGNET_TEST_S3_ENDPOINT to run it against moto"
        );
        return None;
    };
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    let bucket = match std::env::var("SIGNET_TEST_S3_BUCKET") {
        Ok(bucket) => bucket,
        Err(_) => {
            let mut suffix = [0u8; 8];
            rand::rng().fill_bytes(&mut suffix);
            let bucket = format!("signet-test-{}", hex::encode(suffix));
            let (status, body) = http(&endpoint, "PUT", &format!("/{bucket}")).await;
            assert_eq!(status, 200, "creating bucket {bucket}: {body}");
            bucket
        }
    };
    let env_or = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let settings = S3Settings {
        bucket: bucket.clone(),
        endpoint: Some(endpoint.clone()),
        region: "us-east-1".into(),
        access_key_id: Some(env_or("SIGNET_TEST_S3_ACCESS_KEY_ID", "test")),
        secret_access_key: Some(env_or("SIGNET_TEST_S3_SECRET_ACCESS_KEY", "test")),
        allow_http: true,
    };
    let store = ObjectBlobStore::s3(&settings, MasterKey::generate()).unwrap();
    let raw: Arc<dyn ObjectStore> = Arc::new(
        AmazonS3Builder::new()
            .with_bucket_name(&bucket)
            .with_endpoint(&endpoint)
            .with_region("us-east-1")
            .with_access_key_id(settings.access_key_id.clone().unwrap())
            .with_secret_access_key(settings.secret_access_key.clone().unwrap())
            .with_allow_http(true)
            .build()
            .unwrap(),
    );
    Some(S3Test {
        store,
        raw,
        endpoint,
        bucket,
    })
}

/// A bare HTTP/1.1 request without a body; returns the status and the raw response body.
async fn http(endpoint: &str, method: &str, target: &str) -> (u16, String) {
    let authority = endpoint
        .strip_prefix("http://")
        .expect("the test endpoint is plain http on loopback");
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Multipart uploads the server still holds for the bucket: an aborted upload leaves none.
async fn pending_uploads(t: &S3Test) -> usize {
    let (status, body) = http(&t.endpoint, "GET", &format!("/{}?uploads", t.bucket)).await;
    assert_eq!(status, 200, "listing multipart uploads: {body}");
    assert!(body.contains("ListMultipartUploadsResult"), "{body}");
    body.matches("<UploadId>").count()
}

#[tokio::test]
async fn s3_round_trips() {
    let Some(t) = s3("s3_round_trips").await else {
        return;
    };
    round_trips(&t.store).await;
    assert_eq!(pending_uploads(&t).await, 0);
}

/// A put that leaves the SHA3-256 for later is a whole multipart upload like any other, and
/// reading it back gives the digests a full put computes (several parts, so the multipart path
/// is the one taken).
#[tokio::test]
async fn s3_sha3_is_computed_later_from_the_stored_object() {
    let Some(t) = s3("s3_sha3_is_computed_later_from_the_stored_object").await else {
        return;
    };
    let mut data = vec![0u8; signet_blob::PART_LEN + 3 * CHUNK_LEN + 5];
    rand::rng().fill_bytes(&mut data);
    let port: &dyn BlobStore = &t.store;
    let deferred = BlobKey::random();
    let stored = port
        .put_deferring_sha3(&deferred, body(&data), None)
        .await
        .unwrap();
    let full = port
        .put(&BlobKey::random(), body(&data), None)
        .await
        .unwrap();
    assert_eq!((stored.size, stored.sha256), (full.size, full.sha256));
    let digests = port.digests(&deferred).await.unwrap();
    assert_eq!(
        (digests.size, digests.sha256, digests.sha3_256),
        (full.size, full.sha256, full.sha3_256)
    );
    assert_eq!(pending_uploads(&t).await, 0);
}

#[tokio::test]
async fn s3_limit_stores_nothing() {
    let Some(t) = s3("s3_limit_stores_nothing").await else {
        return;
    };
    limit_is_enforced(&t.store, t.raw.as_ref()).await;
    assert_eq!(pending_uploads(&t).await, 0);
}

#[tokio::test]
async fn s3_failed_body_stores_nothing() {
    let Some(t) = s3("s3_failed_body_stores_nothing").await else {
        return;
    };
    // First show that the server does report an upload left open, so the check below can fail.
    let mut open = t.raw.put_multipart(&Path::from("left-open")).await.unwrap();
    open.put_part(PutPayload::from(vec![0u8; 1024]))
        .await
        .unwrap();
    assert_eq!(pending_uploads(&t).await, 1);
    open.abort().await.unwrap();
    assert_eq!(pending_uploads(&t).await, 0);

    failed_body_stores_nothing(&t.store, t.raw.as_ref()).await;
    assert_eq!(pending_uploads(&t).await, 0);
}

#[tokio::test]
async fn s3_delete_and_missing() {
    let Some(t) = s3("s3_delete_and_missing").await else {
        return;
    };
    delete_and_missing(&t.store, t.raw.as_ref()).await;
}

#[tokio::test]
async fn s3_tampered_object_fails() {
    let Some(t) = s3("s3_tampered_object_fails").await else {
        return;
    };
    let data = random_bytes(2 * CHUNK_LEN + 10);
    let key = BlobKey::random();
    t.store.put(&key, body(&data), None).await.unwrap();
    let path = Path::from(key.as_str());
    let mut stored = t
        .raw
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let middle = stored.len() / 2;
    stored[middle] ^= 0x80;
    t.raw.put(&path, PutPayload::from(stored)).await.unwrap();
    assert_corrupt(&t.store, &key, &data).await;
}

#[tokio::test]
async fn s3_damage_is_detected_with_read_ahead() {
    let Some(t) = s3("s3_damage_is_detected_with_read_ahead").await else {
        return;
    };
    // The S3 store writes the default format; the local and memory tests cover both.
    damage_is_detected_with_read_ahead(
        &t.store,
        t.raw.as_ref(),
        signet_blob::BlobFormat::default(),
    )
    .await;
}
