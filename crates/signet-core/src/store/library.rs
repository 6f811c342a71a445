//! [`LibraryStore`]: the tenant's document library (documents that exist before any envelope
//! uses them, and the versions derived from them).

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::blob::BlobKey;
use crate::ids::{DocumentId, TenantId};
use crate::model::Event;
use crate::signing::library::{LibraryDocument, StoredLibraryDocument};

/// An `Idempotency-Key` kept with the resource its first request made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The operation (`library.upload`, …): keys are per tenant and operation.
    pub operation: &'static str,
    /// The client's key.
    pub key: String,
    /// SHA-256 (hex) of what identifies the request.
    pub request_digest: String,
}

/// Library storage.
#[async_trait]
pub trait LibraryStore: Send + Sync + 'static {
    /// Stores a new document with the events recording it, and the idempotency key of the
    /// request that made it, in one transaction; [`StoreError::Duplicate`] when the key is
    /// already taken (nothing is stored then).
    async fn insert_library_document(
        &self,
        document: &LibraryDocument,
        blob: &BlobKey,
        idempotency: Option<&IdempotencyRecord>,
        events: &[Event],
    ) -> Result<(), StoreError>;
    /// The request digest and resource id kept for `key` of `operation`, if any.
    async fn idempotent_resource(
        &self,
        tenant: &TenantId,
        operation: &str,
        key: &str,
    ) -> Result<Option<(String, String)>, StoreError>;
    /// The tenant's document, deleted or not.
    async fn library_document(
        &self,
        tenant: &TenantId,
        id: &DocumentId,
    ) -> Result<Option<StoredLibraryDocument>, StoreError>;
    /// The tenant's newest library document with these bytes (SHA-256), if any.
    async fn library_document_by_sha256(
        &self,
        tenant: &TenantId,
        sha256: &crate::values::Sha256Digest,
    ) -> Result<Option<StoredLibraryDocument>, StoreError>;
    /// Stores a document whose bytes arrive later (no blob, no page count; only its SHA3-256
    /// is known), with the events recording it.
    async fn insert_awaited_library_document(
        &self,
        document: &LibraryDocument,
        events: &[Event],
    ) -> Result<(), StoreError>;
    /// Gives an awaited document its bytes: size, SHA-256 and pages from `document`, the blob
    /// holding them; [`StoreError::Conflict`] when the document is not awaited any more (another
    /// request gave it its bytes first) or its SHA3-256 differs.
    async fn fill_awaited_library_document(
        &self,
        document: &LibraryDocument,
        blob: &BlobKey,
        events: &[Event],
    ) -> Result<(), StoreError>;
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
