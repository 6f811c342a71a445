//! [`SigningStore`]: signing envelopes, their participants, order and fields.

use async_trait::async_trait;

use super::StoreError;
use crate::blob::BlobKey;
use crate::ids::{EnvelopeId, ParticipantId, TenantId};
use crate::jobs::NewJob;
use crate::model::Event;
use crate::signing::library::LibraryDocument;
use crate::signing::model::{EnvelopeStatus, SignEnvelope};
use crate::signing::versions::SignVersion;
use crate::store::IdempotencyRecord;

/// A signing envelope as loaded, with the version a save must present.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSignEnvelope {
    /// The envelope.
    pub envelope: SignEnvelope,
    /// Bumped by every save: a save from an older load conflicts.
    pub version: i64,
}

/// Signing envelope storage. Each method is one transaction with the events and jobs the change
/// causes.
#[async_trait]
pub trait SigningStore: Send + Sync + 'static {
    /// Stores a new envelope (version 1), and the idempotency key that made it (first, so that a
    /// taken key stores nothing: [`StoreError::Duplicate`]).
    async fn insert_sign_envelope(
        &self,
        envelope: &SignEnvelope,
        idempotency: Option<&IdempotencyRecord>,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError>;
    /// The tenant's envelope.
    async fn sign_envelope(
        &self,
        tenant: &TenantId,
        id: &EnvelopeId,
    ) -> Result<Option<StoredSignEnvelope>, StoreError>;
    /// Saves a changed envelope (its state, its participants' states and its fields' values)
    /// if it is still at `version`; [`StoreError::Conflict`] otherwise, writing nothing. The
    /// idempotency key of the sender's request that made the change is stored with it
    /// ([`StoreError::Duplicate`], writing nothing, when the key is taken).
    async fn save_sign_envelope(
        &self,
        envelope: &SignEnvelope,
        version: i64,
        idempotency: Option<&IdempotencyRecord>,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError>;
    /// The envelope a participant belongs to, whichever the tenant (a signing link names only
    /// the participant).
    async fn sign_envelope_of_participant(
        &self,
        participant: &ParticipantId,
    ) -> Result<Option<StoredSignEnvelope>, StoreError>;
    /// The tenant's envelopes, oldest first, in `status` if given, after the envelope `after`
    /// (a cursor), at most `limit`.
    async fn list_sign_envelopes(
        &self,
        tenant: &TenantId,
        status: Option<EnvelopeStatus>,
        after: Option<&EnvelopeId>,
        limit: u32,
    ) -> Result<Vec<SignEnvelope>, StoreError>;
    /// Stores a version an envelope made: the library document (under `blob`) and the record of
    /// where it comes from. [`StoreError::Duplicate`] if another version was already derived from
    /// the same one (or the participant's act on that document is already recorded), writing
    /// nothing.
    async fn insert_sign_version(
        &self,
        version: &SignVersion,
        document: &LibraryDocument,
        blob: &BlobKey,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError>;
    /// The versions the tenant's envelope made, oldest first.
    async fn sign_versions(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
    ) -> Result<Vec<SignVersion>, StoreError>;
}
