//! The sealing port: how the core turns a completed document into a sealed one (a PAdES
//! signature with the instance's key). The signing flows call it when an envelope completes;
//! the implementation lives with the PDF library, outside the core.

use async_trait::async_trait;

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
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Seals PDFs with the instance's identity.
#[async_trait]
pub trait DocumentSealer: Send + Sync + 'static {
    /// Seals `pdf` at `level`, returning the sealed file (the input plus incremental updates).
    async fn seal(&self, pdf: Vec<u8>, level: SealLevel) -> Result<Vec<u8>, SealFailure>;
}
