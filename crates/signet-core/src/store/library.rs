//! [`LibraryStore`]: the tenant's document library (documents that exist before any envelope
//! uses them, and the versions derived from them).

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::blob::BlobKey;
use crate::ids::{DocumentId, TenantId};
use crate::model::Event;
use crate::signing::library::{LibraryDocument, StoredLibraryDocument};

/// Library storage.
#[async_trait]
pub trait LibraryStore: Send + Sync + 'static {
    /// Stores a new document with the events recording it, in one transaction.
    async fn insert_library_document(
        &self,
        document: &LibraryDocument,
        blob: &BlobKey,
        events: &[Event],
    ) -> Result<(), StoreError>;
    /// The tenant's document, deleted or not.
    async fn library_document(
        &self,
        tenant: &TenantId,
        id: &DocumentId,
    ) -> Result<Option<StoredLibraryDocument>, StoreError>;
    /// Forgets where the bytes are (they are deleted by a job enqueued with the events) and
    /// records the events; [`StoreError::NotFound`] when the tenant has no such live document.
    async fn delete_library_document(
        &self,
        tenant: &TenantId,
        id: &DocumentId,
        now: OffsetDateTime,
        events: &[Event],
        jobs: &[crate::jobs::NewJob],
    ) -> Result<(), StoreError>;
}
