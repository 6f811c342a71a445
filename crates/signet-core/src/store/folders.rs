//! [`FolderStore`]: folders of registered documents, their history, public id aliases and the
//! sender callbacks chosen with an API credential or an envelope.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::ids::{EnvelopeId, FolderId, RegisteredDocumentId, TenantId};
use crate::model::Event;
use crate::signing::folders::{
    ApiSession, Folder, HistoryEntry, RegisteredDocument, SenderCallbacks,
};
use crate::values::Sha3Digest;

/// Folder storage. Each writing method is one transaction with the history entries and the
/// events (whose leaf hashes the entries carry) that describe the change.
#[async_trait]
pub trait FolderStore: Send + Sync + 'static {
    /// Stores a new folder with the documents registered in it.
    async fn insert_folder(
        &self,
        folder: &Folder,
        documents: &[RegisteredDocument],
        history: &[HistoryEntry],
        events: &[Event],
    ) -> Result<(), StoreError>;
    /// The tenant's folder.
    async fn folder(&self, tenant: &TenantId, id: &FolderId) -> Result<Option<Folder>, StoreError>;
    /// The documents of the tenant's folder, in the order they were registered.
    async fn folder_documents(
        &self,
        tenant: &TenantId,
        folder: &FolderId,
    ) -> Result<Vec<RegisteredDocument>, StoreError>;
    /// Registers one more document in an existing folder.
    async fn insert_registered_document(
        &self,
        document: &RegisteredDocument,
        history: &[HistoryEntry],
        events: &[Event],
    ) -> Result<(), StoreError>;
    /// The tenant's registered document.
    async fn registered_document(
        &self,
        tenant: &TenantId,
        id: &RegisteredDocumentId,
    ) -> Result<Option<RegisteredDocument>, StoreError>;
    /// Saves a registered document's status, envelopes, digests and library document; envelopes
    /// and digests are only ever added.
    async fn save_registered_document(
        &self,
        document: &RegisteredDocument,
        history: &[HistoryEntry],
        events: &[Event],
    ) -> Result<(), StoreError>;
    /// The tenant's registered documents known by this digest (registered or produced).
    async fn registered_documents_with_digest(
        &self,
        tenant: &TenantId,
        digest: &Sha3Digest,
    ) -> Result<Vec<RegisteredDocument>, StoreError>;
    /// The registered document an envelope is attached to.
    async fn registered_document_of_envelope(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
    ) -> Result<Option<RegisteredDocument>, StoreError>;
    /// The history of a folder or registered document (by its id's text), oldest first.
    async fn history(
        &self,
        tenant: &TenantId,
        subject: &str,
    ) -> Result<Vec<HistoryEntry>, StoreError>;
    /// Records public aliases (`alias → target`) of the tenant's ids; an alias kept already is
    /// left as it was.
    async fn insert_aliases(
        &self,
        tenant: &TenantId,
        aliases: &[(String, String)],
    ) -> Result<(), StoreError>;
    /// What a public alias stands for.
    async fn resolve_alias(
        &self,
        tenant: &TenantId,
        alias: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Keeps the callbacks chosen with an API credential (replacing those of the same digest).
    async fn put_api_session(&self, session: &ApiSession) -> Result<(), StoreError>;
    /// The callbacks chosen with the credential of this digest, while it is valid at `now`.
    async fn api_session(
        &self,
        token_digest: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ApiSession>, StoreError>;
    /// Keeps the sender callbacks of an envelope.
    async fn put_envelope_callbacks(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
        callbacks: &SenderCallbacks,
    ) -> Result<(), StoreError>;
    /// The sender callbacks of an envelope, if it has any.
    async fn envelope_callbacks(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
    ) -> Result<Option<SenderCallbacks>, StoreError>;
}
