//! The core's inspection port over `signet_pdf::intake`: a stored PDF is read back and checked
//! to be one Signet can have signed. The checker needs the whole file at once (it seeks through
//! cross-reference tables), so the bytes are read into memory — bounded by the tenant's size
//! limit the upload already enforced.

use futures::StreamExt as _;
use signet_core::blob::{BlobKey, BlobStore};
use signet_core::inspect::{DocumentInspector, InspectFailure, Signable, Unsignable};

/// Inspects stored PDFs with the PDF library.
#[derive(Debug, Clone, Copy, Default)]
pub struct PdfInspector;

#[async_trait::async_trait]
impl DocumentInspector for PdfInspector {
    async fn inspect_pdf(
        &self,
        blobs: &dyn BlobStore,
        key: &BlobKey,
    ) -> Result<Signable, InspectFailure> {
        let bytes = read_all(blobs, key).await?;
        let verdict = tokio::task::spawn_blocking(move || signet_pdf::intake::inspect(&bytes))
            .await
            .map_err(|e| InspectFailure::Unexpected(anyhow::anyhow!(e)))?;
        match verdict {
            Ok(info) => Ok(Signable { pages: info.pages }),
            Err(refusal) => Err(Unsignable(refusal.to_string()).into()),
        }
    }

    async fn render_page(
        &self,
        blobs: &dyn BlobStore,
        key: &BlobKey,
        page: u32,
        width_px: u32,
    ) -> Result<Vec<u8>, InspectFailure> {
        let index = page
            .checked_sub(1)
            .ok_or_else(|| Unsignable("pages are numbered from 1".into()))?;
        let bytes = read_all(blobs, key).await?;
        tokio::task::spawn_blocking(move || {
            signet_pdf::render::render_page_png(
                &bytes,
                index,
                width_px,
                &signet_pdf::render::RenderLimits::default(),
            )
        })
        .await
        .map_err(|e| InspectFailure::Unexpected(anyhow::anyhow!(e)))?
        .map_err(|e| match e {
            signet_pdf::render::RenderError::NoSuchPage { .. }
            | signet_pdf::render::RenderError::BadWidth(_) => Unsignable(e.to_string()).into(),
            other => InspectFailure::Unexpected(other.into()),
        })
    }
}

/// The whole stored file: the PDF library seeks through it, so it cannot be streamed (the
/// tenant's size limit bounds it).
async fn read_all(blobs: &dyn BlobStore, key: &BlobKey) -> Result<Vec<u8>, InspectFailure> {
    let mut stream = blobs.get(key).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| InspectFailure::Unexpected(e.into()))?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
