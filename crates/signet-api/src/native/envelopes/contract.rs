//! TEMP: the signing contract's envelope use-cases as the lead will land them on `main`
//! (SIGNING-CONTRACT.md), so that this module compiles before they do. Deleted at the merge.
#![allow(dead_code, missing_docs)]

use signet_core::blob::ByteStream;
use signet_core::ids::{DocumentId, EnvelopeId, ParticipantId};
use signet_core::service::Caller;
use signet_core::signing::library::LibraryDocument;
use signet_core::signing::{
    EnvelopeDraft, EnvelopeStatus, Origin, Reason, SignEnvelope, SigningEvent,
};
use signet_core::{Core, CoreError, CoreResult};

pub struct NewSignEnvelope {
    pub draft: EnvelopeDraft,
    pub origin: Origin,
    pub idempotency_key: Option<String>,
}

pub struct EnvelopeView {
    pub envelope: SignEnvelope,
    pub signing_urls: Vec<(ParticipantId, String)>,
    pub current: Vec<LibraryDocument>,
    pub versions: Vec<SignVersion>,
    pub results: Vec<LibraryDocument>,
    pub certificate: Option<LibraryDocument>,
}

pub struct RecordedSigningEvent {
    pub leaf_hash: [u8; 32],
    pub event: SigningEvent,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SignVersionKind {
    Signed,
    Sealed,
    Certificate,
}

pub struct SignVersion {
    pub version: DocumentId,
    pub envelope: EnvelopeId,
    pub document: Option<DocumentId>,
    pub derived_from: Option<DocumentId>,
    pub kind: SignVersionKind,
    pub participant: Option<ParticipantId>,
    pub created_at: time::OffsetDateTime,
}

fn later<T>() -> CoreResult<T> {
    Err(CoreError::Unexpected(anyhow::anyhow!("not on main yet")))
}

pub(crate) trait Contract {
    async fn create_sign_envelope(
        &self,
        caller: &Caller,
        new: NewSignEnvelope,
    ) -> CoreResult<EnvelopeView>;
    async fn sign_envelope(&self, caller: &Caller, id: &EnvelopeId) -> CoreResult<EnvelopeView>;
    async fn list_sign_envelopes(
        &self,
        caller: &Caller,
        status: Option<EnvelopeStatus>,
        after: Option<&EnvelopeId>,
        limit: u32,
    ) -> CoreResult<Vec<SignEnvelope>>;
    async fn void_sign_envelope(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
        reason: Reason,
        origin: Origin,
    ) -> CoreResult<EnvelopeView>;
    async fn remind_sign_envelope(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
        origin: Origin,
    ) -> CoreResult<EnvelopeView>;
    async fn sign_envelope_events(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
    ) -> CoreResult<Vec<RecordedSigningEvent>>;
    async fn sign_envelope_result(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
        document: Option<&DocumentId>,
    ) -> CoreResult<(LibraryDocument, ByteStream)>;
    async fn sign_envelope_certificate(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
    ) -> CoreResult<(LibraryDocument, ByteStream)>;
    fn signing_url(&self, participant: &ParticipantId) -> String;
}

impl Contract for Core {
    async fn create_sign_envelope(
        &self,
        _: &Caller,
        _: NewSignEnvelope,
    ) -> CoreResult<EnvelopeView> {
        later()
    }
    async fn sign_envelope(&self, _: &Caller, _: &EnvelopeId) -> CoreResult<EnvelopeView> {
        later()
    }
    async fn list_sign_envelopes(
        &self,
        _: &Caller,
        _: Option<EnvelopeStatus>,
        _: Option<&EnvelopeId>,
        _: u32,
    ) -> CoreResult<Vec<SignEnvelope>> {
        later()
    }
    async fn void_sign_envelope(
        &self,
        _: &Caller,
        _: &EnvelopeId,
        _: Reason,
        _: Origin,
    ) -> CoreResult<EnvelopeView> {
        later()
    }
    async fn remind_sign_envelope(
        &self,
        _: &Caller,
        _: &EnvelopeId,
        _: Origin,
    ) -> CoreResult<EnvelopeView> {
        later()
    }
    async fn sign_envelope_events(
        &self,
        _: &Caller,
        _: &EnvelopeId,
    ) -> CoreResult<Vec<RecordedSigningEvent>> {
        later()
    }
    async fn sign_envelope_result(
        &self,
        _: &Caller,
        _: &EnvelopeId,
        _: Option<&DocumentId>,
    ) -> CoreResult<(LibraryDocument, ByteStream)> {
        later()
    }
    async fn sign_envelope_certificate(
        &self,
        _: &Caller,
        _: &EnvelopeId,
    ) -> CoreResult<(LibraryDocument, ByteStream)> {
        later()
    }
    fn signing_url(&self, _: &ParticipantId) -> String {
        String::new()
    }
}

/// Whether the core refused a lifecycle act (`CoreError::Refused` on main).
pub(crate) fn is_refusal(err: &CoreError) -> bool {
    matches!(err, CoreError::StateConflict(_))
}
