//! Helpers and backend-independent scenarios shared by the local and S3 test suites.

#![allow(dead_code, clippy::unwrap_used)]

use std::io;

use bytes::Bytes;
use futures::StreamExt;
use object_store::ObjectStore;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sha3::Sha3_256;
use signet_blob::{CHUNK_LEN, ObjectBlobStore};
use signet_core::blob::{BlobError, BlobKey, BlobStore, ByteStream};

/// Random bytes, so that no two chunks of a test body are alike.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::rng().fill_bytes(&mut data);
    data
}

/// A body that yields `data` in pieces of varying sizes (never aligned with the chunk size).
pub fn body(data: &[u8]) -> ByteStream {
    let data = Bytes::copy_from_slice(data);
    let mut pieces = Vec::new();
    let mut offset = 0;
    let sizes = [1, 7_000, 65_537, 300_000, 13];
    let mut i = 0;
    while offset < data.len() {
        let len = sizes[i % sizes.len()].min(data.len() - offset);
        pieces.push(Ok(data.slice(offset..offset + len)));
        offset += len;
        i += 1;
    }
    // An empty piece in the middle must be harmless.
    pieces.insert(pieces.len() / 2, Ok(Bytes::new()));
    Box::pin(futures::stream::iter(pieces))
}

/// A body that yields `good` bytes and then fails, like a dropped client connection.
pub fn failing_body(good: usize) -> ByteStream {
    let data = Bytes::from(random_bytes(good));
    let items = vec![
        Ok(data),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ];
    Box::pin(futures::stream::iter(items))
}

/// Reads a stream to its end; on error returns the error and the bytes received before it.
pub async fn read_all(mut stream: ByteStream) -> Result<Vec<u8>, (io::Error, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(e) => return Err((e, out)),
        }
    }
    Ok(out)
}

/// Reading must fail with `Corrupt` — either at `get` or as a stream error — and anything yielded
/// before the failure must be an unaltered prefix of the original.
pub async fn assert_corrupt(store: &ObjectBlobStore, key: &BlobKey, original: &[u8]) {
    match store.get(key).await {
        Err(BlobError::Corrupt) => {}
        Err(other) => panic!("expected Corrupt, got {other:?}"),
        Ok(stream) => match read_all(stream).await {
            Ok(_) => panic!("reading a tampered blob succeeded"),
            Err((error, prefix)) => {
                assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
                assert!(
                    matches!(
                        error.get_ref().and_then(|e| e.downcast_ref::<BlobError>()),
                        Some(BlobError::Corrupt)
                    ),
                    "stream error should wrap BlobError::Corrupt: {error:?}"
                );
                assert!(prefix.len() <= original.len());
                assert!(
                    prefix == original[..prefix.len()],
                    "altered bytes were yielded"
                );
            }
        },
    }
}

/// Names the raw backend lists for `key` (the object itself or anything below it). The local
/// backend's staging files are not listed by object_store; the local tests check the directory too.
pub async fn listed(raw: &dyn ObjectStore, key: &BlobKey) -> Vec<String> {
    raw.list(None)
        .map(|meta| meta.unwrap().location.to_string())
        .filter(|name| {
            let hit = name == key.as_str() || name.starts_with(&format!("{}/", key.as_str()));
            async move { hit }
        })
        .collect()
        .await
}

/// Plaintext sizes around the chunk boundaries, plus one spanning several multipart parts.
pub fn round_trip_sizes() -> Vec<usize> {
    vec![
        0,
        1,
        CHUNK_LEN - 1,
        CHUNK_LEN,
        CHUNK_LEN + 1,
        2 * signet_blob::PART_LEN + 3 * CHUNK_LEN + 12_345,
    ]
}

pub async fn round_trips(store: &ObjectBlobStore) {
    for size in round_trip_sizes() {
        let data = random_bytes(size);
        let key = BlobKey::random();
        let stored = store.put(&key, body(&data), None).await.unwrap();
        assert_eq!(stored.key, key);
        assert_eq!(stored.size, size as u64);
        let sha256: [u8; 32] = Sha256::digest(&data).into();
        let sha3: [u8; 32] = Sha3_256::digest(&data).into();
        assert_eq!(stored.sha256.as_bytes(), &sha256, "sha256 of {size} bytes");
        assert_eq!(stored.sha3_256.as_bytes(), &sha3, "sha3 of {size} bytes");
        let back = read_all(store.get(&key).await.unwrap()).await.unwrap();
        assert!(back == data, "round trip of {size} bytes differs");
    }
}

pub async fn limit_is_enforced(store: &ObjectBlobStore, raw: &dyn ObjectStore) {
    let data = random_bytes(3 * CHUNK_LEN + 5);
    let limit = data.len() as u64 - 1;
    let key = BlobKey::random();
    let result = store.put(&key, body(&data), Some(limit)).await;
    assert!(
        matches!(result, Err(BlobError::TooLarge { limit: l }) if l == limit),
        "{result:?}"
    );
    assert_eq!(listed(raw, &key).await, Vec::<String>::new());
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound)));

    // Exactly at the limit is allowed.
    let stored = store
        .put(&key, body(&data), Some(data.len() as u64))
        .await
        .unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(listed(raw, &key).await, vec![key.as_str().to_owned()]);
}

pub async fn failed_body_stores_nothing(store: &ObjectBlobStore, raw: &dyn ObjectStore) {
    let key = BlobKey::random();
    let result = store.put(&key, failing_body(PART_AND_A_BIT), None).await;
    assert!(matches!(result, Err(BlobError::Body(_))), "{result:?}");
    assert_eq!(listed(raw, &key).await, Vec::<String>::new());
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound)));
}

/// More than one multipart part, so that some parts were already written when the body fails.
pub const PART_AND_A_BIT: usize = signet_blob::PART_LEN + 100_000;

pub async fn delete_and_missing(store: &ObjectBlobStore, raw: &dyn ObjectStore) {
    let key = BlobKey::random();
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound)));
    store.delete(&key).await.unwrap();
    store.put(&key, body(b"to be deleted"), None).await.unwrap();
    assert_eq!(listed(raw, &key).await.len(), 1);
    store.delete(&key).await.unwrap();
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound)));
    assert_eq!(listed(raw, &key).await, Vec::<String>::new());
    store.delete(&key).await.unwrap();
}
