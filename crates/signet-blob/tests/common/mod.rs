//! Helpers and backend-independent scenarios shared by the local and S3 test suites.

#![allow(dead_code, clippy::unwrap_used)]

use std::io;

use bytes::Bytes;
use futures::StreamExt;
use object_store::ObjectStore;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sha3::Sha3_256;
use signet_blob::{BlobFormat, CHUNK_LEN, ObjectBlobStore};
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
    read_until_error(&mut stream).await
}

/// Reads a stream to its end or its first error, which it returns with the bytes before it.
pub async fn read_until_error(stream: &mut ByteStream) -> Result<Vec<u8>, (io::Error, Vec<u8>)> {
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
/// before the failure must be an unaltered prefix of the original. Returns how many bytes were
/// yielded before the error, or `None` if `get` itself failed.
pub async fn assert_corrupt(
    store: &ObjectBlobStore,
    key: &BlobKey,
    original: &[u8],
) -> Option<usize> {
    match store.get(key).await {
        Err(BlobError::Corrupt) => None,
        Err(other) => panic!("expected Corrupt, got {other:?}"),
        Ok(mut stream) => match read_until_error(&mut stream).await {
            Ok(_) => panic!("reading a tampered blob succeeded"),
            Err((error, prefix)) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream went on after its error"
                );
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
                Some(prefix.len())
            }
        },
    }
}

/// Reading must yield exactly the first `good_chunks` chunks of `original`, then fail with
/// `Corrupt`: no fewer (every chunk before the damage authenticates) and no more (nothing after
/// it may be yielded, even though later chunks were being decrypted at the same time).
pub async fn assert_corrupt_after(
    store: &ObjectBlobStore,
    key: &BlobKey,
    original: &[u8],
    good_chunks: usize,
) {
    assert_eq!(
        assert_corrupt(store, key, original).await,
        Some(good_chunks * CHUNK_LEN),
        "bytes yielded before the error"
    );
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

/// Plaintext sizes around the chunk boundaries, plus two of several MiB (many more chunks than
/// are decrypted at once), one a whole number of chunks and one not.
pub fn round_trip_sizes() -> Vec<usize> {
    vec![
        0,
        1,
        CHUNK_LEN - 1,
        CHUNK_LEN,
        CHUNK_LEN + 1,
        signet_blob::LOCAL_PART_LEN + 1,
        signet_blob::PART_LEN,
        2 * signet_blob::PART_LEN + 3 * CHUNK_LEN + 12_345,
    ]
}

/// One below, at and one above chunk boundaries up to past the chunks decrypted at once (runs of
/// 8, three runs ahead, local reads of 16 segments), and a stored object that ends exactly where
/// a local file read ends (the header is 102 or 90 bytes, each segment 16 bytes longer than its
/// chunk).
pub fn chunk_boundary_sizes() -> Vec<usize> {
    let mut sizes = vec![0, 1];
    for chunks in [1, 2, 8, 9, 17, 25] {
        sizes.extend([
            chunks * CHUNK_LEN - 1,
            chunks * CHUNK_LEN,
            chunks * CHUNK_LEN + 1,
        ]);
    }
    sizes.extend([16 * CHUNK_LEN - 102, 16 * CHUNK_LEN - 90]);
    sizes
}

pub async fn round_trips(store: &ObjectBlobStore) {
    round_trips_of(store, round_trip_sizes()).await;
}

pub async fn round_trips_of(store: &ObjectBlobStore, sizes: Vec<usize>) {
    for size in sizes {
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

/// Every format the store reads, oldest first.
pub const FORMATS: [BlobFormat; 2] = [BlobFormat::XChaCha20Poly1305, BlobFormat::Aes256Gcm];

/// Header length documented in the crate docs: magic 8 + version 1 + length 2 + sealed key 72 +
/// nonce prefix (19 in version 1, 7 in version 2).
pub fn header_len(format: BlobFormat) -> usize {
    let len = match format {
        BlobFormat::XChaCha20Poly1305 => 102,
        _ => 90,
    };
    assert_eq!(format.header_len(), len, "{format:?}");
    len
}
/// A full chunk and its 16-byte tag, as stored.
pub const SEGMENT_LEN: usize = CHUNK_LEN + 16;

/// Stored bytes of segment `i` in a blob of `format`.
pub fn segment(format: BlobFormat, i: usize) -> std::ops::Range<usize> {
    let header = header_len(format);
    header + i * SEGMENT_LEN..header + (i + 1) * SEGMENT_LEN
}

/// Damage to a blob of 40 full chunks and a short one, far more than are decrypted at once: a
/// damaged chunk in the middle must end the stream right before it, whatever was decrypted
/// ahead of it. The stored object is rewritten through `raw`.
pub async fn damage_is_detected_with_read_ahead(
    store: &ObjectBlobStore,
    raw: &dyn ObjectStore,
    format: BlobFormat,
) {
    let segment = |i| segment(format, i);
    let data = random_bytes(40 * CHUNK_LEN + 100);
    let key = BlobKey::random();
    store.put(&key, body(&data), None).await.unwrap();
    let path = object_store::path::Path::from(key.as_str());
    let stored = raw
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    assert_eq!(stored.len(), segment(40).start + 100 + 16);
    let rewrite = |bytes: Vec<u8>| {
        let path = path.clone();
        async move {
            raw.put(&path, object_store::PutPayload::from(bytes))
                .await
                .unwrap();
        }
    };

    // A flipped bit in a chunk: the chunks before it, then the error.
    for (chunk, offset) in [(20, 5), (1, SEGMENT_LEN - 1), (39, 0), (40, 50)] {
        let mut tampered = stored.clone();
        tampered[segment(chunk).start + offset] ^= 0x01;
        rewrite(tampered).await;
        assert_corrupt_after(store, &key, &data, chunk).await;
    }
    // Cut at a chunk boundary: the chunk before the cut is read as the last one, and it was not
    // sealed as the last.
    rewrite(stored[..segment(20).start].to_vec()).await;
    assert_corrupt_after(store, &key, &data, 19).await;
    // The last (short) chunk dropped.
    rewrite(stored[..segment(40).start].to_vec()).await;
    assert_corrupt_after(store, &key, &data, 39).await;
    // Two chunks in the middle swapped: the first of them is at the wrong position.
    let mut swapped = stored.clone();
    swapped[segment(20).start..segment(22).start]
        .copy_from_slice(&[&stored[segment(21)], &stored[segment(20)]].concat());
    rewrite(swapped).await;
    assert_corrupt_after(store, &key, &data, 20).await;
    // The last chunk's tag cut short by one byte.
    rewrite(stored[..stored.len() - 1].to_vec()).await;
    assert_corrupt_after(store, &key, &data, 40).await;

    // Restored, it reads again: the failures above were due to the damage alone.
    rewrite(stored).await;
    assert!(read_all(store.get(&key).await.unwrap()).await.unwrap() == data);
}
