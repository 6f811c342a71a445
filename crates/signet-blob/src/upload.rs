//! Writing a blob: body → (SHA-256, SHA3-256) + chunked encryption → multipart upload.

use bytes::Bytes;
use futures::StreamExt;
use object_store::{ObjectStore, WriteMultipart};
use sha2::{Digest, Sha256};
use sha3::Sha3_256;
use signet_core::blob::{BlobError, BlobKey, ByteStream, StoredBlob};
use signet_core::crypto::MasterKey;
use signet_core::values::{Sha3Digest, Sha256Digest};
use tokio::sync::mpsc;

use crate::format::{ChunkSealer, Header};
use crate::{object_path, unexpected};

/// Size of one multipart part. S3 requires at least 5 MiB for every part but the last.
pub const PART_LEN: usize = 5 * 1024 * 1024;
/// Parts being written at once; with the part being filled, this bounds an upload's buffers.
pub const PARTS_IN_FLIGHT: usize = 4;
/// Body chunks queued for the SHA3 thread before the upload waits for it.
const HASH_QUEUE: usize = 32;

/// What hashing the plaintext produced.
struct Digests {
    size: u64,
    sha256: [u8; 32],
    sha3_256: [u8; 32],
}

pub(crate) async fn put(
    store: &dyn ObjectStore,
    master: &MasterKey,
    key: &BlobKey,
    body: ByteStream,
    limit: Option<u64>,
) -> Result<StoredBlob, BlobError> {
    let path = object_path(key)?;
    let upload = store
        .put_multipart(&path)
        .await
        .map_err(|e| unexpected(e, "starting a blob upload"))?;
    let mut writer = Upload(Some(WriteMultipart::new_with_chunk_size(upload, PART_LEN)));
    match write_body(&mut writer, master, key, body, limit).await {
        Ok(digests) => {
            writer.finish().await?;
            Ok(StoredBlob {
                key: key.clone(),
                size: digests.size,
                sha256: Sha256Digest::from_bytes(digests.sha256),
                sha3_256: Sha3Digest::from_bytes(digests.sha3_256),
            })
        }
        Err(error) => {
            writer.abort().await;
            Err(error)
        }
    }
}

async fn write_body(
    writer: &mut Upload,
    master: &MasterKey,
    key: &BlobKey,
    mut body: ByteStream,
    limit: Option<u64>,
) -> Result<Digests, BlobError> {
    let header = Header::generate(master);
    let mut sealer = ChunkSealer::new(&header, key);
    writer.put(Bytes::copy_from_slice(header.encoded())).await?;

    let (to_sha3, queue) = mpsc::channel::<Bytes>(HASH_QUEUE);
    let sha3 = tokio::task::spawn_blocking(move || hash_sha3(queue));
    let mut sha256 = Sha256::new();
    let mut size: u64 = 0;

    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(BlobError::Body)?;
        if chunk.is_empty() {
            continue;
        }
        size = size.saturating_add(chunk.len() as u64);
        if let Some(limit) = limit
            && size > limit
        {
            return Err(BlobError::TooLarge { limit });
        }
        // Hand the chunk to the SHA3 thread first, so that it hashes while this task works.
        to_sha3
            .send(chunk.clone())
            .await
            .map_err(|_| anyhow::anyhow!("the SHA3 hashing thread stopped"))?;
        sha256.update(&chunk);
        for sealed in sealer.push(&chunk)? {
            writer.put(sealed).await?;
        }
    }
    writer.put(sealer.finish()?).await?;
    drop(to_sha3);
    let sha3_256 = sha3
        .await
        .map_err(|e| anyhow::Error::new(e).context("the SHA3 hashing thread failed"))?;
    Ok(Digests {
        size,
        sha256: sha256.finalize().into(),
        sha3_256,
    })
}

fn hash_sha3(mut queue: mpsc::Receiver<Bytes>) -> [u8; 32] {
    let mut hasher = Sha3_256::new();
    while let Some(chunk) = queue.blocking_recv() {
        hasher.update(&chunk);
    }
    hasher.finalize().into()
}

/// A multipart upload that is aborted unless it was finished, even when the `put` future is
/// dropped half-way (the client went away, a timeout fired).
struct Upload(Option<WriteMultipart>);

impl Upload {
    /// Queues bytes, first waiting while [`PARTS_IN_FLIGHT`] parts are being written.
    async fn put(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        let writer = self
            .0
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("blob upload already closed"))?;
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|e| unexpected(e, "writing a blob part"))?;
        writer.put(bytes);
        Ok(())
    }

    /// Writes the last part and makes the object visible; on failure nothing is visible.
    async fn finish(&mut self) -> Result<(), BlobError> {
        let writer = self
            .0
            .take()
            .ok_or_else(|| anyhow::anyhow!("blob upload already closed"))?;
        // `WriteMultipart::finish` aborts the upload itself when completing it fails.
        writer
            .finish()
            .await
            .map_err(|e| unexpected(e, "completing a blob upload"))?;
        Ok(())
    }

    async fn abort(&mut self) {
        if let Some(writer) = self.0.take()
            && let Err(error) = writer.abort().await
        {
            tracing::warn!(%error, "aborting a failed blob upload failed");
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(error) = writer.abort().await {
                    tracing::warn!(%error, "aborting an abandoned blob upload failed");
                }
            });
        }
    }
}
