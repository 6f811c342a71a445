//! Writing a blob: body → (SHA-256, SHA3-256) + chunked encryption → multipart upload.
//!
//! SHA3-256 is the slowest step by far (≈ 0.37 GB/s per core against ≈ 1.8 GB/s for SHA-256 and
//! ≈ 3 GB/s for AES-256-GCM here), so a caller that does not need it at once can store without it
//! ([`crate::ObjectBlobStore::put_deferring_sha3`]) and compute it later by reading the blob back
//! ([`crate::sha3_256_of`]), off the request's critical path.

use bytes::Bytes;
use futures::StreamExt;
use object_store::{MultipartUpload, PutPayload};
use sha2::{Digest, Sha256};
use sha3::Sha3_256;
use signet_core::blob::{BlobError, BlobKey, ByteStream, StoredBlob};
use signet_core::crypto::MasterKey;
use signet_core::values::{Sha3Digest, Sha256Digest};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::format::{BlobFormat, ChunkSealer, Header};
use crate::{ObjectBlobStore, object_path, unexpected};

/// Size of one multipart part. S3 requires at least 5 MiB for every part but the last.
pub const PART_LEN: usize = 5 * 1024 * 1024;
/// Size of one part on the local backend, which has no minimum: a part is one positioned write
/// to the staging file, and 1 MiB writes keep the disk as busy as 5 MiB ones while holding a
/// fifth of the memory (`(LOCAL_PARTS_IN_FLIGHT + 1)` parts: 5 MiB instead of 25 per upload).
pub const LOCAL_PART_LEN: usize = 1024 * 1024;
/// Parts of [`PART_LEN`] being written at once; with the part being filled, this bounds an
/// upload's buffers to `(PARTS_IN_FLIGHT + 1)` parts, 15 MiB. Two, not four: with four, a 1 GiB
/// upload to S3 peaked at 75 MB of resident memory, over the 64 MiB goal, since glibc keeps the
/// parts freed on one thread in the arena of the thread that filled them (BENCHMARKS.md, "S3
/// uploads and resident memory"); two still overlap one part's request with the next one's
/// filling.
pub const PARTS_IN_FLIGHT: usize = 2;
/// Parts of [`LOCAL_PART_LEN`] being written at once on the local backend (5 MiB of buffers).
pub const LOCAL_PARTS_IN_FLIGHT: usize = 4;
/// Body pieces (as the body yielded them, shared, not copied) queued for the SHA3 thread before
/// the upload waits for it.
const HASH_QUEUE: usize = 32;

/// What hashing the plaintext produced.
pub(crate) struct Digests {
    pub(crate) size: u64,
    pub(crate) sha256: [u8; 32],
    /// `None` when the SHA3-256 was left for later.
    pub(crate) sha3_256: Option<[u8; 32]>,
}

pub(crate) async fn put(
    blobs: &ObjectBlobStore,
    key: &BlobKey,
    body: ByteStream,
    limit: Option<u64>,
) -> Result<StoredBlob, BlobError> {
    let digests = put_hashing(blobs, key, body, limit, true).await?;
    let sha3_256 = digests
        .sha3_256
        .ok_or_else(|| anyhow::anyhow!("the SHA3-256 of a blob was not computed"))?;
    Ok(StoredBlob {
        key: key.clone(),
        size: digests.size,
        sha256: Sha256Digest::from_bytes(digests.sha256),
        sha3_256: Sha3Digest::from_bytes(sha3_256),
    })
}

/// Stores a blob, computing its SHA3-256 too only if `sha3` says so.
pub(crate) async fn put_hashing(
    blobs: &ObjectBlobStore,
    key: &BlobKey,
    body: ByteStream,
    limit: Option<u64>,
    sha3: bool,
) -> Result<Digests, BlobError> {
    let path = object_path(key)?;
    let upload = blobs
        .store
        .put_multipart(&path)
        .await
        .map_err(|e| unexpected(e, "starting a blob upload"))?;
    let mut writer = Upload::new(upload, blobs.part_len, blobs.parts_in_flight);
    let written = match write_body(
        &mut writer,
        &blobs.master,
        blobs.format,
        key,
        body,
        limit,
        sha3,
    )
    .await
    {
        Ok(digests) => writer.finish().await.map(|()| digests),
        Err(error) => Err(error),
    };
    match written {
        Ok(digests) => Ok(digests),
        Err(error) => {
            writer.abort().await;
            Err(error)
        }
    }
}

async fn write_body(
    writer: &mut Upload,
    master: &MasterKey,
    format: BlobFormat,
    key: &BlobKey,
    mut body: ByteStream,
    limit: Option<u64>,
    sha3: bool,
) -> Result<Digests, BlobError> {
    let header = Header::generate(master, format);
    let mut sealer = ChunkSealer::new(&header, key)?;
    writer.put(Bytes::copy_from_slice(header.encoded())).await?;

    let mut sha3 = sha3.then(Sha3Thread::start);
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
        if let Some(sha3) = &mut sha3 {
            sha3.update(chunk.clone()).await?;
        }
        sha256.update(&chunk);
        for sealed in sealer.push(&chunk)? {
            writer.put(sealed).await?;
        }
    }
    writer.put(sealer.finish()?).await?;
    let sha3_256 = match sha3 {
        Some(sha3) => Some(sha3.finish().await?),
        None => None,
    };
    Ok(Digests {
        size,
        sha256: sha256.finalize().into(),
        sha3_256,
    })
}

/// SHA3-256 computed on a blocking thread of its own, fed through a bounded queue, so that it
/// overlaps with whatever the calling task does and never stalls the async runtime.
pub(crate) struct Sha3Thread {
    queue: mpsc::Sender<Bytes>,
    digest: tokio::task::JoinHandle<[u8; 32]>,
}

impl Sha3Thread {
    pub(crate) fn start() -> Self {
        let (queue, mut pieces) = mpsc::channel::<Bytes>(HASH_QUEUE);
        let digest = tokio::task::spawn_blocking(move || {
            let mut hasher = Sha3_256::new();
            while let Some(piece) = pieces.blocking_recv() {
                hasher.update(&piece);
            }
            hasher.finalize().into()
        });
        Self { queue, digest }
    }

    /// Queues more bytes, waiting while the queue is full.
    pub(crate) async fn update(&mut self, piece: Bytes) -> Result<(), BlobError> {
        self.queue
            .send(piece)
            .await
            .map_err(|_| anyhow::anyhow!("the SHA3 hashing thread stopped").into())
    }

    /// The digest of everything queued.
    pub(crate) async fn finish(self) -> Result<[u8; 32], BlobError> {
        drop(self.queue);
        self.digest.await.map_err(|e| {
            anyhow::Error::new(e)
                .context("the SHA3 hashing thread failed")
                .into()
        })
    }
}

/// A multipart upload cut into parts of exactly `part_len` bytes (the last one shorter; some
/// S3-compatible services require equal parts), with at most [`PARTS_IN_FLIGHT`] (or
/// [`LOCAL_PARTS_IN_FLIGHT`]) being written at once. It is aborted unless it was completed — on any error, and also when the `put` future is
/// dropped half-way (the client went away, a timeout fired).
///
/// `object_store`'s own `WriteMultipart` is not used because a part that fails inside its
/// `finish` leaves the upload un-aborted.
struct Upload {
    upload: Option<Box<dyn MultipartUpload>>,
    /// The length of every part but the last.
    full: usize,
    part: Vec<Bytes>,
    part_len: usize,
    in_flight: JoinSet<object_store::Result<()>>,
    /// Most parts being written at once.
    most_in_flight: usize,
}

impl Upload {
    fn new(upload: Box<dyn MultipartUpload>, full: usize, most_in_flight: usize) -> Self {
        Self {
            upload: Some(upload),
            full,
            part: Vec::new(),
            part_len: 0,
            in_flight: JoinSet::new(),
            most_in_flight: most_in_flight.max(1),
        }
    }

    /// Appends bytes, sending each part as it fills up.
    async fn put(&mut self, mut bytes: Bytes) -> Result<(), BlobError> {
        while !bytes.is_empty() {
            let room = self.full - self.part_len;
            if bytes.len() < room {
                self.part_len += bytes.len();
                self.part.push(bytes);
                return Ok(());
            }
            self.part.push(bytes.split_to(room));
            self.part_len = self.full;
            self.send_part().await?;
        }
        Ok(())
    }

    /// Sends the part being filled, first waiting while the most parts allowed are being
    /// written.
    async fn send_part(&mut self) -> Result<(), BlobError> {
        while self.in_flight.len() >= self.most_in_flight {
            self.join_one().await?;
        }
        let upload = self
            .upload
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("blob upload already closed"))?;
        let part: PutPayload = std::mem::take(&mut self.part).into_iter().collect();
        self.part_len = 0;
        self.in_flight.spawn(upload.put_part(part));
        Ok(())
    }

    /// Waits for one part being written, if any, and reports its failure.
    async fn join_one(&mut self) -> Result<(), BlobError> {
        match self.in_flight.join_next().await {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(unexpected(e, "writing a blob part")),
            Some(Err(e)) => Err(anyhow::Error::new(e).context("writing a blob part").into()),
        }
    }

    /// Writes the last part and completes the upload, making the object visible. On an error the
    /// upload is left for [`Upload::abort`], except a failed completion, which aborts here.
    async fn finish(&mut self) -> Result<(), BlobError> {
        if self.part_len > 0 {
            self.send_part().await?;
        }
        while !self.in_flight.is_empty() {
            self.join_one().await?;
        }
        let mut upload = self
            .upload
            .take()
            .ok_or_else(|| anyhow::anyhow!("blob upload already closed"))?;
        if let Err(error) = upload.complete().await {
            if let Err(abort_error) = upload.abort().await {
                tracing::warn!(error = %abort_error, "aborting a blob upload that failed to complete failed");
            }
            return Err(unexpected(error, "completing a blob upload"));
        }
        Ok(())
    }

    /// Stops writing parts and discards what was written.
    async fn abort(&mut self) {
        self.in_flight.shutdown().await;
        if let Some(mut upload) = self.upload.take()
            && let Err(error) = upload.abort().await
        {
            tracing::warn!(%error, "aborting a failed blob upload failed");
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Dropping `in_flight` cancels the parts being written; the abort itself needs a task.
        if let Some(mut upload) = self.upload.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(error) = upload.abort().await {
                    tracing::warn!(%error, "aborting an abandoned blob upload failed");
                }
            });
        }
    }
}
