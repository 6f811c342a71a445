//! The delivery port: envelopes with their documents and participants (one aggregate, loaded and
//! saved whole), the uploads into them, and the tenant's contacts.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::ids::{DocumentId, EnvelopeId, TenantId};
use crate::model::{
    AccessLink, Contact, EnvelopeAggregate, EnvelopeState, Event, StoredContent, TokenClaim,
};
use crate::values::Email;

/// Envelopes, documents, uploads and contacts.
#[async_trait]
pub trait DeliveryStore: Send + Sync + 'static {
    /// Creates an envelope with its documents, participants and links, updates the tenant's
    /// contacts, and records the events.
    ///
    /// A contact is created, or its language and `updated_at` are set and its cell and its secret
    /// replaced only where the given contact has one: `None` keeps what is stored (a recipient
    /// reached by SMS keeps the secret answer registered for another envelope).
    async fn insert_envelope(
        &self,
        envelope: &EnvelopeAggregate,
        links: &[AccessLink],
        contacts: &[Contact],
        events: &[Event],
    ) -> Result<(), StoreError>;
    /// [`DeliveryStore::insert_envelope`], claiming `token`'s id for the envelope's tenant in the
    /// same transaction: a new id is recorded, one remembered past its `valid_until` (as of
    /// `now`) is taken over, and one still remembered writes nothing and answers
    /// [`StoreError::TokenIdUsed`].
    async fn insert_envelope_claiming(
        &self,
        token: &TokenClaim,
        now: OffsetDateTime,
        envelope: &EnvelopeAggregate,
        links: &[AccessLink],
        contacts: &[Contact],
        events: &[Event],
    ) -> Result<(), StoreError>;
    /// Reads an envelope of a tenant.
    async fn envelope(
        &self,
        tenant: &TenantId,
        id: &EnvelopeId,
    ) -> Result<Option<EnvelopeAggregate>, StoreError>;
    /// Reads the envelope a document belongs to, whatever its tenant: only for callers that hold
    /// a credential bound to that document (a signed upload URL).
    async fn envelope_of_document(
        &self,
        document: &DocumentId,
    ) -> Result<Option<EnvelopeAggregate>, StoreError>;
    /// Reads the envelope of the tenant that holds `document`.
    async fn tenant_envelope_of_document(
        &self,
        tenant: &TenantId,
        document: &DocumentId,
    ) -> Result<Option<EnvelopeAggregate>, StoreError>;
    /// The tenant's envelopes holding a document whose SHA-256 or SHA3-256 is `digest_hex`.
    async fn envelopes_with_document_hash(
        &self,
        tenant: &TenantId,
        digest_hex: &str,
    ) -> Result<Vec<EnvelopeAggregate>, StoreError>;
    /// Records one document's stored bytes, with its events and jobs, in one transaction: only
    /// while the document is still pending and its envelope is still in state `from` (which becomes `to`,
    /// and the envelope's version is bumped so that a concurrent whole-envelope save sees the
    /// change). Uploads of different documents of one envelope never conflict with each other;
    /// [`StoreError::Conflict`] when the document is no longer pending or the envelope left
    /// `from`.
    #[allow(clippy::too_many_arguments)]
    async fn record_upload(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
        document: &DocumentId,
        content: &StoredContent,
        from: EnvelopeState,
        to: EnvelopeState,
        events: &[Event],
        jobs: &[crate::jobs::NewJob],
    ) -> Result<(), StoreError>;
    /// Records the SHA3-256 of a stored document whose upload left it out, with the events, in
    /// one transaction; only while the document is still stored in `blob` with SHA-256 `sha256`
    /// and no SHA3-256 yet. Answers whether it was recorded (nothing is written otherwise).
    async fn record_sha3(
        &self,
        tenant: &TenantId,
        document: &DocumentId,
        blob: &crate::blob::BlobKey,
        sha256: &crate::values::Sha256Digest,
        sha3_256: &crate::values::Sha3Digest,
        events: &[Event],
    ) -> Result<bool, StoreError>;
    /// The tenant's stored documents whose SHA3-256 is not recorded yet.
    async fn documents_awaiting_sha3(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<DocumentId>, StoreError>;
    /// Saves a changed envelope if its version is still `envelope.envelope.version`, and bumps
    /// the version; [`StoreError::Conflict`] otherwise. Records the events and enqueues the jobs
    /// in the same transaction.
    ///
    /// Only what changed since the caller loaded that version is written: a document or
    /// participant row equal to the stored one is left alone, one the aggregate gained is
    /// inserted. (Rows are never deleted by a save: a document's bytes are removed by marking it
    /// deleted.)
    async fn save_envelope(
        &self,
        envelope: &EnvelopeAggregate,
        events: &[Event],
        jobs: &[crate::jobs::NewJob],
    ) -> Result<(), StoreError>;

    /// A tenant's contact.
    async fn contact(
        &self,
        tenant: &TenantId,
        email: &Email,
    ) -> Result<Option<Contact>, StoreError>;
    /// The contact whose stored secret answer has this reference.
    async fn contact_by_secret_ref(
        &self,
        tenant: &TenantId,
        answer_ref: &str,
    ) -> Result<Option<Contact>, StoreError>;
}
