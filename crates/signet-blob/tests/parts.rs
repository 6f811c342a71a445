//! How many parts of one upload are written at once: the bound that keeps an upload's memory
//! flat whatever its size ([`PARTS_IN_FLIGHT`] parts of [`PART_LEN`] on S3 and any backend but
//! the local directory).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt as _;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result, UploadPart,
};
use signet_blob::{ObjectBlobStore, PART_LEN, PARTS_IN_FLIGHT};
use signet_core::blob::{BlobKey, BlobStore};
use signet_core::crypto::MasterKey;

use crate::common::*;

/// Counts the parts being written at once, and the most ever seen.
#[derive(Debug, Default)]
struct Gauge {
    now: AtomicUsize,
    most: AtomicUsize,
    parts: AtomicUsize,
}

/// An in-memory store whose parts take a little while, so that an upload that does not wait for
/// them would have many at once.
#[derive(Debug, Default)]
struct SlowParts {
    inner: InMemory,
    gauge: Arc<Gauge>,
}

impl fmt::Display for SlowParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlowParts")
    }
}

#[derive(Debug)]
struct SlowUpload {
    inner: Box<dyn MultipartUpload>,
    gauge: Arc<Gauge>,
}

#[async_trait]
impl MultipartUpload for SlowUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let gauge = self.gauge.clone();
        let part = self.inner.put_part(data);
        async move {
            let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.most.fetch_max(now, Ordering::SeqCst);
            gauge.parts.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(300)).await;
            let done = part.await;
            gauge.now.fetch_sub(1, Ordering::SeqCst);
            done
        }
        .boxed()
    }
    async fn complete(&mut self) -> Result<PutResult> {
        self.inner.complete().await
    }
    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}

#[async_trait]
impl ObjectStore for SlowParts {
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
        Ok(Box::new(SlowUpload {
            inner: self.inner.put_multipart_opts(location, opts).await?,
            gauge: self.gauge.clone(),
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

#[tokio::test]
async fn an_upload_writes_at_most_its_bound_of_parts_at_once() -> anyhow::Result<()> {
    let slow = Arc::new(SlowParts::default());
    let gauge = slow.gauge.clone();
    let store = ObjectBlobStore::new(slow, MasterKey::generate());
    // Ten parts' worth: far more than may be in flight.
    let data = random_bytes(10 * PART_LEN + 1234);
    let key = BlobKey::random();
    store.put(&key, body(&data), None).await?;
    assert!(gauge.parts.load(Ordering::SeqCst) >= 10);
    // At most the bound (how many overlap below it depends on how fast the parts are made,
    // which a test cannot rely on; each part here takes 300 ms, far longer than making one).
    let most = gauge.most.load(Ordering::SeqCst);
    assert!(
        (1..=PARTS_IN_FLIGHT).contains(&most),
        "{most} parts written at once"
    );
    assert_eq!(read_all(store.get(&key).await?).await.ok(), Some(data));
    Ok(())
}
