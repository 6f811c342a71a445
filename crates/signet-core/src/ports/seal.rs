//! The sealing port: how the core turns a completed document into a sealed one (a PAdES
//! signature with the instance's key). The signing flows call it when an envelope completes;
//! the implementation lives with the PDF library, outside the core.

use async_trait::async_trait;

use crate::blob::{BlobKey, BlobStore, StoredBlob};

/// How much validation material a seal carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealLevel {
    /// PAdES B-B: the signature alone.
    Basic,
    /// PAdES B-T: with a signature time-stamp.
    Timestamped,
    /// PAdES B-LT: with the chains and revocation data for long-term validation.
    LongTerm,
}

/// Why sealing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealFailure {
    /// No time-stamp could be had; nothing was produced. Retry later (never downgrade).
    #[error("time-stamp unavailable: {0}")]
    TimestampUnavailable(String),
    /// The input is not a PDF that can be sealed.
    #[error("cannot seal this document: {0}")]
    InvalidDocument(String),
    /// The source could not be read or the result could not be stored (retry later).
    #[error("blob store: {0}")]
    Blob(#[from] crate::blob::BlobError),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Seals PDFs with the instance's identity.
///
/// The document comes from the blob store and the sealed version goes back to it as a new blob,
/// streamed both ways, so that sealing a large file costs disk, not memory.
#[async_trait]
pub trait DocumentSealer: Send + Sync + 'static {
    /// Reads the blob `source` from `blobs`, seals it at `level` (the input plus incremental
    /// updates) and stores the result under `target`, answering what was stored. Nothing is
    /// stored under `target` when sealing fails.
    async fn seal_blob(
        &self,
        blobs: &dyn BlobStore,
        source: &BlobKey,
        target: &BlobKey,
        level: SealLevel,
    ) -> Result<StoredBlob, SealFailure>;
}
