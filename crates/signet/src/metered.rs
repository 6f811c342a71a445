//! Counts the document bytes that go into and come out of the blob store, for `/metrics`
//! (`signet_blob_bytes_total{direction="in"|"out"}`), around whichever backend is configured.

use std::sync::Arc;

use async_trait::async_trait;
use futures::TryStreamExt as _;
use signet_core::blob::{
    BlobDigests, BlobError, BlobKey, BlobStore, ByteStream, StoredBlob, StoredWithoutSha3,
};

/// A blob store that counts the plaintext bytes streamed through it.
pub struct MeteredBlobs(pub Arc<dyn BlobStore>);

fn count(direction: &'static str) -> impl Fn(&bytes::Bytes) + Send + Sync + 'static {
    let counter = metrics::counter!("signet_blob_bytes_total", "direction" => direction);
    move |chunk| counter.increment(chunk.len() as u64)
}

#[async_trait]
impl BlobStore for MeteredBlobs {
    async fn put(
        &self,
        key: &BlobKey,
        body: ByteStream,
        limit: Option<u64>,
    ) -> Result<StoredBlob, BlobError> {
        let body: ByteStream = Box::pin(body.inspect_ok(count("in")));
        self.0.put(key, body, limit).await
    }

    // Forwarded, not left to the port's default, which would compute the SHA3-256 after all.
    async fn put_deferring_sha3(
        &self,
        key: &BlobKey,
        body: ByteStream,
        limit: Option<u64>,
    ) -> Result<StoredWithoutSha3, BlobError> {
        let body: ByteStream = Box::pin(body.inspect_ok(count("in")));
        self.0.put_deferring_sha3(key, body, limit).await
    }

    /// Reading a blob back to hash it is not counted: the metric counts what clients sent and
    /// were sent.
    async fn digests(&self, key: &BlobKey) -> Result<BlobDigests, BlobError> {
        self.0.digests(key).await
    }

    async fn get(&self, key: &BlobKey) -> Result<ByteStream, BlobError> {
        let stream = self.0.get(key).await?;
        Ok(Box::pin(stream.inspect_ok(count("out"))))
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        self.0.delete(key).await
    }

    async fn sweep_abandoned(&self, older_than: std::time::Duration) -> Result<usize, BlobError> {
        self.0.sweep_abandoned(older_than).await
    }
}
