//! The blob store on a local directory and in memory: round trips, limits, failures, and
//! tampering with the stored files.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path as FsPath;
use std::sync::Arc;

use common::*;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use signet_blob::{BlobFormat, CHUNK_LEN, ObjectBlobStore};
use signet_core::blob::{BlobError, BlobKey, BlobStore};
use signet_core::crypto::MasterKey;

fn local_pair(dir: &FsPath) -> (ObjectBlobStore, Arc<dyn ObjectStore>) {
    local_pair_writing(dir, BlobFormat::default())
}

fn local_pair_writing(dir: &FsPath, format: BlobFormat) -> (ObjectBlobStore, Arc<dyn ObjectStore>) {
    let raw: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(dir).unwrap());
    (
        ObjectBlobStore::new(raw.clone(), MasterKey::generate()).writing(format),
        raw,
    )
}

/// Every file in `dir`, staging files included.
fn files_in(dir: &FsPath) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn local_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        ObjectBlobStore::local(&dir.path().join("nested/blobs"), MasterKey::generate()).unwrap();
    round_trips(&store).await;
}

#[tokio::test]
async fn memory_round_trips_limits_and_failures() {
    let raw: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let store = ObjectBlobStore::new(raw.clone(), MasterKey::generate());
    round_trips(&store).await;
    limit_is_enforced(&store, raw.as_ref()).await;
    failed_body_stores_nothing(&store, raw.as_ref()).await;
    delete_and_missing(&store, raw.as_ref()).await;
    // The convenience constructor works the same way.
    round_trips(&ObjectBlobStore::memory(MasterKey::generate())).await;
}

#[tokio::test]
async fn local_limit_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, raw) = local_pair(dir.path());
    limit_is_enforced(&store, raw.as_ref()).await;
    // Only the blob stored exactly at the limit exists: no staging file was left behind.
    assert_eq!(files_in(dir.path()).len(), 1, "{:?}", files_in(dir.path()));
}

#[tokio::test]
async fn local_failed_body_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, raw) = local_pair(dir.path());
    failed_body_stores_nothing(&store, raw.as_ref()).await;
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn local_delete_and_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, raw) = local_pair(dir.path());
    delete_and_missing(&store, raw.as_ref()).await;
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn dropped_put_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _raw) = local_pair(dir.path());
    let key = BlobKey::random();
    // A body that sends more than a part, then never ends: the put is abandoned mid-way.
    let first = futures::stream::iter(vec![Ok(bytes::Bytes::from(random_bytes(PART_AND_A_BIT)))]);
    let stalled = futures::StreamExt::chain(first, futures::stream::pending());
    let put = store.put(&key, Box::pin(stalled), None);
    let timed_out = tokio::time::timeout(std::time::Duration::from_millis(500), put).await;
    assert!(
        timed_out.is_err(),
        "the put should still be waiting for the body"
    );
    // The abort runs on a spawned task; give it a moment.
    for _ in 0..50 {
        if files_in(dir.path()).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound)));
}

/// Stores `data` on a local directory and returns the store, the stored file's path and bytes.
async fn stored_file(
    dir: &FsPath,
    format: BlobFormat,
    data: &[u8],
) -> (ObjectBlobStore, BlobKey, std::path::PathBuf, Vec<u8>) {
    let (store, _raw) = local_pair_writing(dir, format);
    let key = BlobKey::random();
    store.put(&key, body(data), None).await.unwrap();
    let path = dir.join(key.as_str());
    let stored = std::fs::read(&path).unwrap();
    (store, key, path, stored)
}

/// Three full chunks and a short last one.
fn four_chunks() -> Vec<u8> {
    random_bytes(3 * CHUNK_LEN + 100)
}

#[tokio::test]
async fn stored_layout_matches_the_documented_format() {
    for format in FORMATS {
        let header_len = header_len(format);

        let dir = tempfile::tempdir().unwrap();
        let data = vec![b'A'; 3 * CHUNK_LEN + 100];
        let (_store, _key, _path, stored) = stored_file(dir.path(), format, &data).await;
        assert_eq!(&stored[..8], b"SIGNETBL");
        assert_eq!(stored[8], format.version());
        assert_eq!(stored.len(), header_len + 3 * SEGMENT_LEN + 100 + 16);
        // The plaintext does not appear at rest.
        assert!(!stored.windows(64).any(|w| w == &data[..64]));

        let (_store, _key, _path, empty) = stored_file(dir.path(), format, b"").await;
        assert_eq!(empty.len(), header_len + 16);
    }
}

#[tokio::test]
async fn flipped_byte_is_detected() {
    for format in FORMATS {
        let header_len = header_len(format);

        let dir = tempfile::tempdir().unwrap();
        let data = four_chunks();
        let (store, key, path, stored) = stored_file(dir.path(), format, &data).await;
        for offset in [
            header_len + SEGMENT_LEN + 5,     // inside the second chunk
            header_len + 2 * SEGMENT_LEN - 1, // the second chunk's tag
            stored.len() - 1,                 // the last chunk's tag
            header_len + 3,                   // the first chunk
            header_len - 1,                   // the nonce prefix
            20,                               // the sealed data key
        ] {
            let mut tampered = stored.clone();
            tampered[offset] ^= 0x01;
            std::fs::write(&path, &tampered).unwrap();
            assert_corrupt(&store, &key, &data).await;
        }
        // Restored, it reads again: the failures above were due to the tampering alone.
        std::fs::write(&path, &stored).unwrap();
        assert!(read_all(store.get(&key).await.unwrap()).await.unwrap() == data);
    }
}

#[tokio::test]
async fn truncation_is_detected() {
    for format in FORMATS {
        let header_len = header_len(format);

        let dir = tempfile::tempdir().unwrap();
        let data = four_chunks();
        let (store, key, path, stored) = stored_file(dir.path(), format, &data).await;
        for len in [
            header_len + 3 * SEGMENT_LEN, // last chunk dropped
            header_len + SEGMENT_LEN,     // only the first chunk left
            stored.len() - 1,             // last byte of the tag missing
            header_len + 100,             // cut inside the first chunk
            header_len,                   // no chunk at all
            50,                           // cut inside the header
            0,
        ] {
            std::fs::write(&path, &stored[..len]).unwrap();
            assert_corrupt(&store, &key, &data).await;
        }
    }
}

#[tokio::test]
async fn reordered_or_extended_chunks_are_detected() {
    for format in FORMATS {
        let header_len = header_len(format);

        let dir = tempfile::tempdir().unwrap();
        let data = four_chunks();
        let (store, key, path, stored) = stored_file(dir.path(), format, &data).await;
        let segment =
            |i: usize| &stored[header_len + i * SEGMENT_LEN..header_len + (i + 1) * SEGMENT_LEN];

        let mut swapped = stored[..header_len].to_vec();
        swapped.extend_from_slice(segment(1));
        swapped.extend_from_slice(segment(0));
        swapped.extend_from_slice(&stored[header_len + 2 * SEGMENT_LEN..]);
        assert_eq!(swapped.len(), stored.len());
        std::fs::write(&path, &swapped).unwrap();
        assert_corrupt(&store, &key, &data).await;

        let mut extended = stored.clone();
        extended.extend_from_slice(segment(2));
        std::fs::write(&path, &extended).unwrap();
        assert_corrupt(&store, &key, &data).await;

        let mut one_byte_more = stored.clone();
        one_byte_more.push(0);
        std::fs::write(&path, &one_byte_more).unwrap();
        assert_corrupt(&store, &key, &data).await;
    }
}

#[tokio::test]
async fn other_master_key_or_other_blob_key_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let master = MasterKey::generate();
    let store = ObjectBlobStore::local(dir.path(), master.clone()).unwrap();
    let data = four_chunks();
    let key = BlobKey::random();
    store.put(&key, body(&data), None).await.unwrap();

    let stranger = ObjectBlobStore::local(dir.path(), MasterKey::generate()).unwrap();
    assert!(matches!(stranger.get(&key).await, Err(BlobError::Corrupt)));

    // The same object copied under another key does not open, even with the right master key.
    let moved = BlobKey::random();
    std::fs::copy(
        dir.path().join(key.as_str()),
        dir.path().join(moved.as_str()),
    )
    .unwrap();
    assert_corrupt(&store, &moved, &data).await;

    // The original still reads with the right master key.
    let again = ObjectBlobStore::local(dir.path(), master).unwrap();
    assert!(read_all(again.get(&key).await.unwrap()).await.unwrap() == data);
}

/// A backend whose multipart uploads fail on request, recording whether they were aborted.
mod failing {
    use std::fmt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use async_trait::async_trait;
    use futures::stream::BoxStream;
    use object_store::memory::InMemory;
    use object_store::path::Path;
    use object_store::{
        GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
        PutMultipartOptions, PutOptions, PutPayload, PutResult, Result, UploadPart,
    };

    #[derive(Debug, Default)]
    pub struct Failures {
        /// Fail every part after this many succeeded.
        pub parts_before_failure: Option<usize>,
        /// Fail the completion of the upload.
        pub fail_complete: bool,
        pub parts_written: AtomicUsize,
        pub aborted: AtomicBool,
        /// How long each part takes, so that an upload that did not wait for its parts would
        /// have many of them in flight.
        pub part_delay: Option<std::time::Duration>,
        /// Parts in flight now, and the most ever.
        pub parts_in_flight: AtomicUsize,
        pub most_parts_in_flight: AtomicUsize,
    }

    #[derive(Debug)]
    pub struct FailingStore {
        pub inner: InMemory,
        pub failures: Arc<Failures>,
    }

    impl fmt::Display for FailingStore {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("FailingStore")
        }
    }

    fn injected() -> object_store::Error {
        object_store::Error::Generic {
            store: "FailingStore",
            source: "injected failure".into(),
        }
    }

    #[derive(Debug)]
    struct FailingUpload {
        inner: Box<dyn MultipartUpload>,
        failures: Arc<Failures>,
    }

    #[async_trait]
    impl MultipartUpload for FailingUpload {
        fn put_part(&mut self, data: PutPayload) -> UploadPart {
            let done = self.failures.parts_written.fetch_add(1, Ordering::SeqCst);
            let part = match self.failures.parts_before_failure {
                Some(limit) if done >= limit => Box::pin(async { Err(injected()) }),
                _ => self.inner.put_part(data),
            };
            let failures = self.failures.clone();
            Box::pin(async move {
                let now = failures.parts_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                failures
                    .most_parts_in_flight
                    .fetch_max(now, Ordering::SeqCst);
                if let Some(delay) = failures.part_delay {
                    tokio::time::sleep(delay).await;
                }
                let done = part.await;
                failures.parts_in_flight.fetch_sub(1, Ordering::SeqCst);
                done
            })
        }
        async fn complete(&mut self) -> Result<PutResult> {
            if self.failures.fail_complete {
                return Err(injected());
            }
            self.inner.complete().await
        }
        async fn abort(&mut self) -> Result<()> {
            self.failures.aborted.store(true, Ordering::SeqCst);
            self.inner.abort().await
        }
    }

    #[async_trait]
    impl ObjectStore for FailingStore {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> Result<PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            let inner = self.inner.put_multipart_opts(location, opts).await?;
            Ok(Box::new(FailingUpload {
                inner,
                failures: self.failures.clone(),
            }))
        }
        async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
            self.inner.get_opts(location, options).await
        }
        async fn delete(&self, location: &Path) -> Result<()> {
            self.inner.delete(location).await
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy(&self, from: &Path, to: &Path) -> Result<()> {
            self.inner.copy(from, to).await
        }
        async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> Result<()> {
            self.inner.copy_if_not_exists(from, to).await
        }
    }
}

/// How many parts of one upload are written at once: the bound that keeps an upload's memory
/// flat whatever its size (`PARTS_IN_FLIGHT` parts of `PART_LEN` on S3 and any backend but
/// the local directory).
#[tokio::test]
async fn an_upload_writes_at_most_its_bound_of_parts_at_once() -> anyhow::Result<()> {
    let failures = Arc::new(failing::Failures {
        // Far longer than making a part, so that parts would pile up if nothing waited.
        part_delay: Some(std::time::Duration::from_millis(300)),
        ..Default::default()
    });
    let raw: Arc<dyn ObjectStore> = Arc::new(failing::FailingStore {
        inner: InMemory::new(),
        failures: failures.clone(),
    });
    let store = ObjectBlobStore::new(raw, MasterKey::generate());
    let data = random_bytes(10 * signet_blob::PART_LEN + 1234);
    let key = BlobKey::random();
    store.put(&key, body(&data), None).await?;
    assert!(
        failures
            .parts_written
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 10
    );
    // At most the bound; how many overlap below it depends on how fast parts are made.
    let most = failures
        .most_parts_in_flight
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=signet_blob::PARTS_IN_FLIGHT).contains(&most),
        "{most} parts written at once"
    );
    assert_eq!(read_all(store.get(&key).await?).await.ok(), Some(data));
    Ok(())
}

async fn put_with_failures(failures: failing::Failures) -> Arc<failing::Failures> {
    let failures = Arc::new(failures);
    let raw: Arc<dyn ObjectStore> = Arc::new(failing::FailingStore {
        inner: InMemory::new(),
        failures: failures.clone(),
    });
    let store = ObjectBlobStore::new(raw.clone(), MasterKey::generate());
    let key = BlobKey::random();
    let data = random_bytes(3 * signet_blob::PART_LEN + 1000);
    let result = store.put(&key, body(&data), None).await;
    assert!(
        matches!(result, Err(BlobError::Unexpected(_))),
        "{result:?}"
    );
    assert_eq!(listed(raw.as_ref(), &key).await, Vec::<String>::new());
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound)));
    failures
}

#[tokio::test]
async fn backend_failures_abort_the_upload() {
    use std::sync::atomic::Ordering;
    for parts_before_failure in [0, 1, 3] {
        let failures = put_with_failures(failing::Failures {
            parts_before_failure: Some(parts_before_failure),
            ..Default::default()
        })
        .await;
        assert!(
            failures.aborted.load(Ordering::SeqCst),
            "after {parts_before_failure} parts"
        );
    }
    let failures = put_with_failures(failing::Failures {
        fail_complete: true,
        ..Default::default()
    })
    .await;
    assert_eq!(failures.parts_written.load(Ordering::SeqCst), 4);
    assert!(failures.aborted.load(Ordering::SeqCst));
}

#[tokio::test]
async fn sweep_removes_only_stale_staging_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path(), MasterKey::generate()).unwrap();
    let key = BlobKey::random();
    store.put(&key, body(b"kept"), None).await.unwrap();
    let stale = dir.path().join(format!("{}#1", BlobKey::random().as_str()));
    let fresh = dir.path().join(format!("{}#1", BlobKey::random().as_str()));
    std::fs::write(&stale, b"half an upload").unwrap();
    std::fs::write(&fresh, b"an upload in progress").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();

    let removed = store
        .sweep_abandoned(std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(!stale.exists());
    assert!(
        fresh.exists(),
        "an upload still being written is left alone"
    );
    assert_eq!(
        read_all(store.get(&key).await.unwrap()).await.unwrap(),
        b"kept"
    );
    // The memory backend has nothing to sweep.
    let memory = ObjectBlobStore::memory(MasterKey::generate());
    assert_eq!(
        memory
            .sweep_abandoned(std::time::Duration::ZERO)
            .await
            .unwrap(),
        0
    );
}

/// A backend that hands out stored objects as a stream of pieces of awkward sizes, as an HTTP
/// backend does: some shared with the stored object, some not, some straddling segments; and
/// that can fail part-way, like a dropped connection.
mod pieces {
    use std::fmt;

    use async_trait::async_trait;
    use bytes::Bytes;
    use futures::StreamExt;
    use futures::stream::BoxStream;
    use object_store::memory::InMemory;
    use object_store::path::Path;
    use object_store::{
        GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
        ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    };
    use signet_blob::CHUNK_LEN;

    const SEGMENT_LEN: usize = CHUNK_LEN + 16;
    /// Piece sizes, in turn: below, at and above a segment, tiny ones, several segments at once.
    const SIZES: [usize; 8] = [
        1,
        101,
        SEGMENT_LEN - 1,
        SEGMENT_LEN + 1,
        7,
        2 * SEGMENT_LEN,
        SEGMENT_LEN,
        500_000,
    ];

    #[derive(Debug, Default)]
    pub struct PieceStore {
        pub inner: InMemory,
        /// Fail the stream after the pieces that end within this many bytes.
        pub fail_after: Option<usize>,
    }

    impl fmt::Display for PieceStore {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("PieceStore")
        }
    }

    #[async_trait]
    impl ObjectStore for PieceStore {
        async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
            let result = self.inner.get_opts(location, options).await?;
            let (meta, range, attributes) = (
                result.meta.clone(),
                result.range.clone(),
                result.attributes.clone(),
            );
            let all = result.bytes().await?;
            let mut pieces = Vec::new();
            let mut offset = 0;
            while offset < all.len() {
                let len = SIZES[pieces.len() % SIZES.len()].min(all.len() - offset);
                if self.fail_after.is_some_and(|limit| offset + len > limit) {
                    pieces.push(Err(object_store::Error::Generic {
                        store: "PieceStore",
                        source: "connection reset".into(),
                    }));
                    break;
                }
                let piece = all.slice(offset..offset + len);
                // Every other piece is a copy that nothing else holds.
                pieces.push(Ok(if pieces.len() % 2 == 0 {
                    piece
                } else {
                    Bytes::copy_from_slice(&piece)
                }));
                offset += len;
                if pieces.len() == 3 {
                    pieces.push(Ok(Bytes::new()));
                }
            }
            Ok(GetResult {
                payload: GetResultPayload::Stream(futures::stream::iter(pieces).boxed()),
                meta,
                range,
                attributes,
            })
        }
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> Result<PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(location, opts).await
        }
        async fn delete(&self, location: &Path) -> Result<()> {
            self.inner.delete(location).await
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy(&self, from: &Path, to: &Path) -> Result<()> {
            self.inner.copy(from, to).await
        }
        async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> Result<()> {
            self.inner.copy_if_not_exists(from, to).await
        }
    }
}

fn piece_pair(fail_after: Option<usize>) -> (ObjectBlobStore, Arc<dyn ObjectStore>) {
    let raw: Arc<dyn ObjectStore> = Arc::new(pieces::PieceStore {
        fail_after,
        ..Default::default()
    });
    (
        ObjectBlobStore::new(raw.clone(), MasterKey::generate()),
        raw,
    )
}

#[tokio::test]
async fn local_round_trips_around_chunk_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        let (store, _raw) = local_pair_writing(dir.path(), format);
        round_trips_of(&store, chunk_boundary_sizes()).await;
    }
}

#[tokio::test]
async fn pieces_round_trip_around_chunk_boundaries() {
    for format in FORMATS {
        let (store, _raw) = piece_pair(None);
        round_trips_of(&store.writing(format), chunk_boundary_sizes()).await;
    }
}

#[tokio::test]
async fn local_damage_is_detected_with_read_ahead() {
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        let (store, raw) = local_pair_writing(dir.path(), format);
        damage_is_detected_with_read_ahead(&store, raw.as_ref(), format).await;
    }
}

#[tokio::test]
async fn memory_damage_is_detected_with_read_ahead() {
    for format in FORMATS {
        let raw: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let store = ObjectBlobStore::new(raw.clone(), MasterKey::generate()).writing(format);
        damage_is_detected_with_read_ahead(&store, raw.as_ref(), format).await;
        let (store, raw) = piece_pair(None);
        damage_is_detected_with_read_ahead(&store.writing(format), raw.as_ref(), format).await;
    }
}

#[tokio::test]
async fn read_failure_mid_blob_ends_the_stream_with_that_error() {
    let data = random_bytes(20 * CHUNK_LEN + 5);
    let fail_after = header_len(BlobFormat::default()) + 12 * SEGMENT_LEN + 300;
    let (store, _raw) = piece_pair(Some(fail_after));
    let key = BlobKey::random();
    store.put(&key, body(&data), None).await.unwrap();
    let (error, prefix) = read_all(store.get(&key).await.unwrap())
        .await
        .expect_err("the backend's stream fails");
    assert_ne!(error.kind(), std::io::ErrorKind::InvalidData, "{error}");
    assert!(error.to_string().contains("connection reset"), "{error}");
    // Only chunks read in full before the failure, and no more than the bytes that arrived.
    assert!(prefix.len() <= 12 * CHUNK_LEN, "{}", prefix.len());
    assert!(prefix.len() % CHUNK_LEN == 0);
    assert!(prefix == data[..prefix.len()]);
}

#[tokio::test]
async fn abandoned_downloads_do_not_hold_up_others() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let (store, _raw) = local_pair(dir.path());
    let key = BlobKey::random();
    let data = random_bytes(signet_blob::PART_LEN);
    store.put(&key, body(&data), None).await.unwrap();
    // Downloads each read one chunk and are dropped with more decrypting ahead of it.
    for _ in 0..10 {
        let mut stream = store.get(&key).await.unwrap();
        let first = stream.next().await.unwrap().unwrap();
        assert!(first[..] == data[..CHUNK_LEN]);
    }
    let whole = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        read_all(store.get(&key).await.unwrap()),
    )
    .await
    .expect("a download after abandoned ones finishes");
    assert!(whole.unwrap() == data);
}

/// Blobs written by the version-1 code itself (commit 0891286, before version 2 existed), kept as
/// fixed bytes: the reader of today opens them, and not once they are damaged. The master key
/// was `[0x42; 32]`, the keys are the file names, and the plaintext is `(i * 31) % 251` for each
/// byte `i` of `CHUNK_LEN + 10` bytes (two chunks), and nothing for `v1-empty`.
#[tokio::test]
async fn blobs_written_by_the_version_1_code_still_read() {
    let fixtures = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let dir = tempfile::tempdir().unwrap();
    for name in ["v1-two-chunks", "v1-empty"] {
        std::fs::copy(fixtures.join(name), dir.path().join(name)).unwrap();
    }
    let store = ObjectBlobStore::local(dir.path(), MasterKey::from_bytes([0x42; 32])).unwrap();
    let expected: Vec<u8> = (0..CHUNK_LEN + 10).map(|i| (i * 31 % 251) as u8).collect();
    let key = BlobKey::from_stored("v1-two-chunks");
    assert!(read_all(store.get(&key).await.unwrap()).await.unwrap() == expected);
    let empty = BlobKey::from_stored("v1-empty");
    assert_eq!(
        read_all(store.get(&empty).await.unwrap()).await.unwrap(),
        b""
    );

    let path = dir.path().join("v1-two-chunks");
    let stored = std::fs::read(&path).unwrap();
    assert_eq!(stored[8], 1, "the fixture is a version-1 blob");
    assert_eq!(stored.len(), 102 + SEGMENT_LEN + 10 + 16);
    for damage in [
        // A flipped bit in the second chunk: the first one is yielded, then the error.
        Box::new(|b: &mut Vec<u8>| b[102 + SEGMENT_LEN + 3] ^= 0x10) as Box<dyn Fn(&mut Vec<u8>)>,
        // The first chunk's tag: `get` itself fails.
        Box::new(|b: &mut Vec<u8>| b[102 + SEGMENT_LEN - 1] ^= 0x01),
        // Truncated at the chunk boundary, and the version byte changed to 2.
        Box::new(|b: &mut Vec<u8>| b.truncate(102 + SEGMENT_LEN)),
        Box::new(|b: &mut Vec<u8>| b[8] = 2),
    ] {
        let mut tampered = stored.clone();
        damage(&mut tampered);
        std::fs::write(&path, &tampered).unwrap();
        assert_corrupt(&store, &key, &expected).await;
    }
}

/// A blob damaged in its first chunk fails at `get`, before any byte could be sent, in both
/// formats; damage further on fails in the stream, after the chunks before it.
#[tokio::test]
async fn damage_in_the_first_chunk_fails_before_the_stream_starts() {
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        for len in [0, 100, 3 * CHUNK_LEN] {
            let data = random_bytes(len);
            let (store, key, path, stored) = stored_file(dir.path(), format, &data).await;
            let mut tampered = stored.clone();
            // The first chunk's last tag byte.
            let first_tag = header_len(format) + len.min(CHUNK_LEN) + 15;
            tampered[first_tag] ^= 0x80;
            std::fs::write(&path, &tampered).unwrap();
            assert!(
                matches!(store.get(&key).await, Err(BlobError::Corrupt)),
                "{format:?}, {len} bytes"
            );
        }
    }
}

/// `verify` (behind `signet check --blobs`) tells each kind of damage apart, in both formats.
#[tokio::test]
async fn verify_reports_missing_damaged_and_mismatched_blobs() {
    use sha2::Digest as _;
    use signet_blob::{BlobProblem, verify};
    use signet_core::values::Sha256Digest;
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        let data = random_bytes(3 * CHUNK_LEN + 7);
        let sha256 = Sha256Digest::from_bytes(sha2::Sha256::digest(&data).into());
        let size = data.len() as u64;
        let (store, key, path, stored) = stored_file(dir.path(), format, &data).await;
        verify(&store, &key, size, &sha256).await.unwrap();

        let problem = verify(&store, &key, size + 1, &sha256).await.unwrap_err();
        assert!(
            matches!(problem, BlobProblem::WrongSize { expected, found } if expected == size + 1 && found == size),
            "{problem}"
        );
        let other = Sha256Digest::from_bytes([9; 32]);
        let problem = verify(&store, &key, size, &other).await.unwrap_err();
        assert!(matches!(problem, BlobProblem::WrongDigest), "{problem}");

        // The third chunk damaged: two chunks read, then the failure.
        let mut tampered = stored.clone();
        tampered[segment(format, 2).start + 9] ^= 0x02;
        std::fs::write(&path, &tampered).unwrap();
        let problem = verify(&store, &key, size, &sha256).await.unwrap_err();
        assert!(
            matches!(problem, BlobProblem::Corrupt { readable } if readable == 2 * CHUNK_LEN as u64),
            "{problem}"
        );
        // The last chunk dropped.
        std::fs::write(&path, &stored[..segment(format, 3).start]).unwrap();
        let problem = verify(&store, &key, size, &sha256).await.unwrap_err();
        assert!(matches!(problem, BlobProblem::Corrupt { .. }), "{problem}");

        std::fs::remove_file(&path).unwrap();
        let problem = verify(&store, &key, size, &sha256).await.unwrap_err();
        assert!(matches!(problem, BlobProblem::Missing), "{problem}");
    }
}

/// A blob stored without its SHA3-256 is the same blob (it reads back, damage is detected), and
/// `sha3_256_of` computes the digest `put` would have, in both formats and around chunk sizes.
#[tokio::test]
async fn sha3_can_be_left_for_later_and_computed_from_the_stored_blob() {
    use sha3::Digest as _;
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        let (store, _raw) = local_pair_writing(dir.path(), format);
        for size in [0, 1, CHUNK_LEN, 3 * CHUNK_LEN + 11] {
            let data = random_bytes(size);
            let key = BlobKey::random();
            let stored = store
                .put_deferring_sha3(&key, body(&data), None)
                .await
                .unwrap();
            assert_eq!(stored.key, key);
            assert_eq!(stored.size, size as u64);
            let sha256: [u8; 32] = sha2::Sha256::digest(&data).into();
            assert_eq!(stored.sha256.as_bytes(), &sha256);
            assert!(read_all(store.get(&key).await.unwrap()).await.unwrap() == data);

            let (read, sha3) = signet_blob::sha3_256_of(&store, &key).await.unwrap();
            let expected: [u8; 32] = sha3::Sha3_256::digest(&data).into();
            assert_eq!(
                (read, sha3.as_bytes()),
                (size as u64, &expected),
                "{size} bytes"
            );
            // The same as what put computes on the way in.
            let again = BlobKey::random();
            let put = store.put(&again, body(&data), None).await.unwrap();
            assert_eq!(put.sha3_256, sha3);

            // The same through the core's port, which the upload path and its job use.
            let port: &dyn BlobStore = &store;
            let key = BlobKey::random();
            let deferred = port
                .put_deferring_sha3(&key, body(&data), None)
                .await
                .unwrap();
            assert_eq!((deferred.size, deferred.sha256), (put.size, put.sha256));
            let digests = port.digests(&key).await.unwrap();
            assert_eq!(
                (digests.size, digests.sha256, digests.sha3_256),
                (put.size, put.sha256, put.sha3_256),
                "{size} bytes"
            );
        }
        // The limit holds as for put, leaving nothing behind.
        let key = BlobKey::random();
        let refused = store
            .put_deferring_sha3(&key, body(&[1; 10]), Some(9))
            .await;
        assert!(
            matches!(refused, Err(BlobError::TooLarge { limit: 9 })),
            "{refused:?}"
        );
        assert!(matches!(store.get(&key).await, Err(BlobError::NotFound)));
        // A damaged blob gives no digest.
        let data = random_bytes(2 * CHUNK_LEN + 3);
        let (store, key, path, stored) = stored_file(dir.path(), format, &data).await;
        let mut tampered = stored;
        tampered[segment(format, 1).start + 1] ^= 1;
        std::fs::write(&path, tampered).unwrap();
        assert!(matches!(
            signet_blob::sha3_256_of(&store, &key).await,
            Err(BlobError::Corrupt)
        ));
        assert!(matches!(store.digests(&key).await, Err(BlobError::Corrupt)));
        assert!(matches!(
            signet_blob::sha3_256_of(&store, &BlobKey::random()).await,
            Err(BlobError::NotFound)
        ));
        assert!(matches!(
            store.digests(&BlobKey::random()).await,
            Err(BlobError::NotFound)
        ));
    }
}
