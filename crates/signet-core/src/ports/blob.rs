//! The blob port: where document bytes live.
//!
//! Implementations stream: they never hold a whole document in memory, they encrypt what they
//! store, and they compute the digests the evidence layer needs while the bytes go by (both, or
//! only the SHA-256 when the caller leaves the slower SHA3-256 for later, see
//! [`BlobStore::put_deferring_sha3`]). A blob becomes visible under its key only once it has been
//! completely written.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

use crate::values::{Sha3Digest, Sha256Digest};

/// A stream of byte chunks, as received from a client or sent to one.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Where a blob lives inside the blob store; opaque to everything but the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct BlobKey(String);

impl BlobKey {
    /// A fresh, unguessable key (each upload attempt gets its own, so that two concurrent
    /// uploads for one document can never overwrite each other).
    pub fn random() -> Self {
        let bytes: [u8; 16] = rand::random();
        Self(hex::encode(bytes))
    }

    /// Rebuilds a key that was stored earlier.
    pub fn from_stored(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key as stored in the metadata database.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the blob store learned while writing a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// The key the blob was stored under.
    pub key: BlobKey,
    /// Size of the plaintext in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext.
    pub sha256: Sha256Digest,
    /// SHA3-256 of the plaintext.
    pub sha3_256: Sha3Digest,
}

/// What the blob store learned while writing a blob whose SHA3-256 was left for later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWithoutSha3 {
    /// The key the blob was stored under.
    pub key: BlobKey,
    /// Size of the plaintext in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext.
    pub sha256: Sha256Digest,
}

/// The digests of a stored blob's plaintext, computed by reading it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobDigests {
    /// Size of the plaintext in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext.
    pub sha256: Sha256Digest,
    /// SHA3-256 of the plaintext.
    pub sha3_256: Sha3Digest,
}

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// The body was longer than the caller allowed; nothing was stored.
    #[error("the body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        limit: u64,
    },
    /// No blob exists under that key.
    #[error("blob not found")]
    NotFound,
    /// The stored bytes failed authentication: they were changed or damaged at rest.
    #[error("blob failed integrity check")]
    Corrupt,
    /// Reading the client's body failed (connection dropped, …); nothing was stored.
    #[error("reading the body failed: {0}")]
    Body(std::io::Error),
    /// Anything else (backend unavailable, disk full, …).
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Encrypted, hashed, streaming storage for document bytes.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Streams `body` into a new blob under `key`, encrypting it with a fresh data key and
    /// hashing the plaintext. Fails with [`BlobError::TooLarge`] (storing nothing) once more than
    /// `limit` bytes arrive. The blob is visible under `key` only after this returns `Ok`.
    async fn put(
        &self,
        key: &BlobKey,
        body: ByteStream,
        limit: Option<u64>,
    ) -> Result<StoredBlob, BlobError>;

    /// As [`BlobStore::put`], but leaving out the SHA3-256, which costs more CPU than the rest of
    /// a put together: the blob is as durable when this returns and its SHA-256 is as known. Its
    /// SHA3-256 is computed later with [`BlobStore::digests`]. The default stores with both
    /// digests and forgets the SHA3-256, for stores with no cheaper way.
    async fn put_deferring_sha3(
        &self,
        key: &BlobKey,
        body: ByteStream,
        limit: Option<u64>,
    ) -> Result<StoredWithoutSha3, BlobError> {
        let stored = self.put(key, body, limit).await?;
        Ok(StoredWithoutSha3 {
            key: stored.key,
            size: stored.size,
            sha256: stored.sha256,
        })
    }

    /// Reads a stored blob back and computes both digests of its plaintext, without holding it
    /// whole in memory. Stored bytes that fail authentication fail with [`BlobError::Corrupt`]
    /// rather than giving the digests of altered bytes.
    async fn digests(&self, key: &BlobKey) -> Result<BlobDigests, BlobError>;

    /// Streams the decrypted plaintext of a blob. A chunk that fails authentication ends the
    /// stream with an error instead of yielding altered bytes.
    async fn get(&self, key: &BlobKey) -> Result<ByteStream, BlobError>;

    /// Deletes a blob; deleting a missing blob is not an error.
    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;

    /// Removes what uploads interrupted by a crash left behind (staging files untouched for
    /// longer than `older_than`) and answers how many. Backends whose leftovers are invisible
    /// here answer 0 (on S3, give the bucket a lifecycle rule for incomplete multipart uploads).
    async fn sweep_abandoned(&self, older_than: std::time::Duration) -> Result<usize, BlobError> {
        let _ = older_than;
        Ok(0)
    }
}
