//! [`SigningStore`]: signing envelopes, their participants, order and fields.

use async_trait::async_trait;

use super::StoreError;
use crate::ids::{EnvelopeId, TenantId};
use crate::jobs::NewJob;
use crate::model::Event;
use crate::signing::model::SignEnvelope;

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
    /// Stores a new envelope (version 1).
    async fn insert_sign_envelope(
        &self,
        envelope: &SignEnvelope,
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
    /// if it is still at `version`; [`StoreError::Conflict`] otherwise, writing nothing.
    async fn save_sign_envelope(
        &self,
        envelope: &SignEnvelope,
        version: i64,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError>;
}
