//! The inspection port: whether stored bytes are a document Signet can have signed (a PDF that
//! parses, is not encrypted and is not an XFA-only form), and its page count. Implemented over
//! the PDF library outside the core.

use async_trait::async_trait;

use crate::blob::{BlobKey, BlobStore};

/// Why a file cannot be signed, in words fit for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsignable(pub String);

/// What inspection learned of a signable PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signable {
    /// Its number of pages.
    pub pages: u32,
}

/// Why inspection gave no verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectFailure {
    /// The file is not one Signet can sign.
    #[error(transparent)]
    Unsignable(#[from] Unsignable),
    /// The bytes could not be read back.
    #[error(transparent)]
    Blob(#[from] crate::blob::BlobError),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Inspects stored documents.
#[async_trait]
pub trait DocumentInspector: Send + Sync + 'static {
    /// Inspects the PDF stored under `key`.
    async fn inspect_pdf(
        &self,
        blobs: &dyn BlobStore,
        key: &BlobKey,
    ) -> Result<Signable, InspectFailure>;

    /// Renders page `page` (from 1) of the PDF stored under `key` as a PNG `width_px` pixels
    /// wide, as the page is displayed (rotation and crop box applied), for the signer's review.
    async fn render_page(
        &self,
        blobs: &dyn BlobStore,
        key: &BlobKey,
        page: u32,
        width_px: u32,
    ) -> Result<Vec<u8>, InspectFailure>;
}
