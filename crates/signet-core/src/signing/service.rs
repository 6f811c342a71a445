//! The tenant's document library, as use-cases: add a document (streamed into the blob store,
//! hashed both ways, and — when it claims to be a PDF — checked to be one Signet can have signed),
//! read it, read its bytes, delete them. Every change is an event in the transparency log.

use std::net::IpAddr;

use super::library::StoredLibraryDocument;
use super::library::{FileFacts, LibraryDocument, MediaType};
use crate::blob::{BlobKey, ByteStream};
use crate::error::{CoreError, CoreResult};
use crate::ids::DocumentId;
use crate::inspect::InspectFailure;
use crate::jobs::{JobKind, NewJob};
use crate::model::EventKind;
use crate::ports::{Caller, Core, require_active};
use crate::store::{IdempotencyRecord, StoreError};
use crate::values::DocumentName;

/// The file a tenant adds to its library.
#[derive(Debug)]
pub struct NewLibraryDocument {
    /// Its file name.
    pub name: DocumentName,
    /// Its media type, as the client declared it.
    pub media_type: MediaType,
    /// Where the request came from.
    pub ip: Option<IpAddr>,
    /// The client's `Idempotency-Key`: a repeat of the same request answers the document the
    /// first one made; the same key with a different request is refused.
    pub idempotency_key: Option<String>,
}

/// The operation name idempotency keys of library uploads are kept under.
const UPLOAD_OPERATION: &str = "library.upload";
/// The longest idempotency key accepted.
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

pub(super) fn checked_idempotency_key(key: String) -> CoreResult<String> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_CHARS
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(CoreError::Invalid(format!(
            "Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"
        )));
    }
    Ok(key)
}

/// What identifies an upload request: its name, media type and bytes.
fn upload_digest(name: &DocumentName, media_type: &MediaType, sha256: &str) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for part in [name.as_str(), media_type.as_str(), sha256] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(hasher.finalize())
}

impl Core {
    /// Adds a document to the caller's library. A PDF that cannot be signed (encrypted, broken,
    /// XFA-only, no pages) is refused and nothing is kept; other media types are stored as they
    /// are, for viewing.
    pub async fn add_library_document(
        &self,
        caller: &Caller,
        new: NewLibraryDocument,
        body: ByteStream,
    ) -> CoreResult<LibraryDocument> {
        require_active(&caller.tenant)?;
        let idempotency_key = new
            .idempotency_key
            .clone()
            .map(checked_idempotency_key)
            .transpose()?;
        let key = BlobKey::random();
        let stored = self
            .blobs
            .put(&key, body, Some(caller.tenant.plan.max_envelope_bytes))
            .await?;
        let record = idempotency_key.map(|idempotency_key| IdempotencyRecord {
            operation: UPLOAD_OPERATION,
            key: idempotency_key,
            request_digest: upload_digest(&new.name, &new.media_type, &stored.sha256.to_hex()),
        });
        // `(document, whether this request stored it)`.
        let outcome = match &record {
            None => self
                .keep_library_document(caller, new, &key, stored, None)
                .await
                .map(|document| (document, true)),
            Some(record) => {
                self.keep_idempotently(caller, new, &key, stored, record)
                    .await
            }
        };
        if !matches!(outcome, Ok((_, true)))
            && let Err(e) = self.blobs.delete(&key).await
        {
            tracing::warn!(error = %e, blob = key.as_str(), "could not delete the blob of a refused or repeated upload");
        }
        outcome.map(|(document, _)| document)
    }

    /// Stores the upload under `record`'s key, or answers the document an earlier request with
    /// that key stored: `(document, whether this request stored it)`.
    async fn keep_idempotently(
        &self,
        caller: &Caller,
        new: NewLibraryDocument,
        key: &BlobKey,
        stored: crate::blob::StoredBlob,
        record: &IdempotencyRecord,
    ) -> CoreResult<(LibraryDocument, bool)> {
        if let Some(existing) = self.replayed_upload(caller, record).await? {
            return Ok((existing, false));
        }
        match self
            .keep_library_document(caller, new, key, stored, Some(record))
            .await
        {
            Ok(document) => Ok((document, true)),
            // A concurrent request with the same key stored first: answer as its repeat.
            Err(CoreError::StateConflict(_)) => {
                let winner = self
                    .replayed_upload(caller, record)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("idempotency key lost"))?;
                Ok((winner, false))
            }
            Err(e) => Err(e),
        }
    }

    /// The document a request with the same idempotency key made, if any; a conflict when the
    /// key was used for a different request.
    async fn replayed_upload(
        &self,
        caller: &Caller,
        record: &IdempotencyRecord,
    ) -> CoreResult<Option<LibraryDocument>> {
        let Some((digest, id)) = self
            .store
            .idempotent_resource(&caller.tenant.id, record.operation, &record.key)
            .await?
        else {
            return Ok(None);
        };
        if digest != record.request_digest {
            return Err(CoreError::StateConflict(
                "this Idempotency-Key was already used for a different request".into(),
            ));
        }
        let id: DocumentId = id
            .parse()
            .map_err(|_| anyhow::anyhow!("stored idempotent resource id {id:?} is not an id"))?;
        Ok(Some(self.library_document(caller, &id).await?.document))
    }

    async fn keep_library_document(
        &self,
        caller: &Caller,
        new: NewLibraryDocument,
        key: &BlobKey,
        stored: crate::blob::StoredBlob,
        idempotency: Option<&IdempotencyRecord>,
    ) -> CoreResult<LibraryDocument> {
        let pages = if new.media_type.is_pdf() {
            let inspector = self
                .inspector
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("no document inspector configured"))?;
            match inspector.inspect_pdf(self.blobs.as_ref(), key).await {
                Ok(signable) => Some(signable.pages),
                Err(InspectFailure::Unsignable(why)) => {
                    return Err(CoreError::Invalid(format!(
                        "this PDF cannot be signed: {why}"
                    )));
                }
                Err(InspectFailure::Blob(e)) => return Err(e.into()),
                Err(InspectFailure::Unexpected(e)) => return Err(CoreError::Unexpected(e)),
            }
        } else {
            None
        };
        let now = self.clock.now();
        let document = LibraryDocument::original(
            DocumentId::generate(),
            caller.tenant.id,
            new.name,
            new.media_type,
            FileFacts {
                size: stored.size,
                sha256: stored.sha256,
                sha3_256: stored.sha3_256,
                pages,
            },
            now,
        );
        let mut event = self.event(
            caller.tenant.id,
            EventKind::LibraryDocumentStored,
            caller.actor.clone(),
            new.ip,
        );
        event.document_id = Some(document.id);
        event.data = serde_json::json!({
            "sha256": document.sha256,
            "sha3_256": document.sha3_256,
            "size": document.size,
        });
        match self
            .store
            .insert_library_document(&document, key, idempotency, &[event])
            .await
        {
            Ok(()) => Ok(document),
            Err(StoreError::Duplicate) if idempotency.is_some() => Err(CoreError::StateConflict(
                "this Idempotency-Key is being used by another request".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The caller's library document (also once its bytes are deleted).
    pub async fn library_document(
        &self,
        caller: &Caller,
        id: &DocumentId,
    ) -> CoreResult<StoredLibraryDocument> {
        require_active(&caller.tenant)?;
        self.store
            .library_document(&caller.tenant.id, id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// The bytes of the caller's library document; [`CoreError::ContentDeleted`] once deleted.
    pub async fn library_document_content(
        &self,
        caller: &Caller,
        id: &DocumentId,
    ) -> CoreResult<(LibraryDocument, ByteStream)> {
        let stored = self.library_document(caller, id).await?;
        let key = stored.blob.ok_or(CoreError::ContentDeleted)?;
        let stream = self.blobs.get(&key).await?;
        Ok((stored.document, stream))
    }

    /// Deletes the bytes of the caller's library document (a job removes the blob); the record
    /// and its digests stay, as evidence.
    pub async fn delete_library_document(
        &self,
        caller: &Caller,
        id: &DocumentId,
        ip: Option<IpAddr>,
    ) -> CoreResult<()> {
        let stored = self.library_document(caller, id).await?;
        let key = stored.blob.ok_or(CoreError::NotFound)?;
        let now = self.clock.now();
        let mut event = self.event(
            caller.tenant.id,
            EventKind::LibraryDocumentDeleted,
            caller.actor.clone(),
            ip,
        );
        event.document_id = Some(*id);
        let job = NewJob::at(JobKind::DeleteBlob { key }, now);
        match self
            .store
            .delete_library_document(&caller.tenant.id, id, now, &[event], &[job])
            .await
        {
            Ok(()) => {
                self.wake_worker();
                Ok(())
            }
            Err(StoreError::NotFound) => Err(CoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}
