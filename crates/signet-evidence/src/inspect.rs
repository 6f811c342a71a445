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
        let mut stream = blobs.get(key).await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| InspectFailure::Unexpected(e.into()))?;
            bytes.extend_from_slice(&chunk);
        }
        let verdict = tokio::task::spawn_blocking(move || signet_pdf::intake::inspect(&bytes))
            .await
            .map_err(|e| InspectFailure::Unexpected(anyhow::anyhow!(e)))?;
        match verdict {
            Ok(info) => Ok(Signable { pages: info.pages }),
            Err(refusal) => Err(Unsignable(refusal.to_string()).into()),
        }
    }
}
