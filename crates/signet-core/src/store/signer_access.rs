//! [`SignerAccessStore`]: what guards a signing participant's link in the signer app — wrong
//! codes, the lock, the code last sent, the codes sent in the window — their browser sessions,
//! and the form nonces already used.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::ids::{ParticipantId, TenantId};
use crate::jobs::NewJob;
use crate::model::Event;
use crate::signing::model::AuthMethod;
use crate::values::Sha256Digest;

/// The authentication state of one signing participant's link. Saved with an optimistic
/// version, so that concurrent attempts are each counted: the rules in
/// `signing::signer` only reveal a verdict once the attempt it counts was saved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignerGuard {
    /// Wrong codes since the last success or lock.
    pub failed_attempts: u32,
    /// Until when every attempt is refused.
    pub locked_until: Option<OffsetDateTime>,
    /// The one-time code waiting to be entered, if any.
    pub code: Option<SignerCode>,
    /// Codes sent in the current window.
    pub codes_sent: u32,
    /// When the current code-sending window started.
    pub codes_window_start: Option<OffsetDateTime>,
    /// Sessions started (successful authentications).
    pub sessions_started: u32,
    /// Optimistic-concurrency version: 0 for a guard never saved, bumped by every save.
    pub version: i64,
}

/// A one-time code as stored: only its HMAC under an instance key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerCode {
    /// HMAC-SHA-256 of the participant id and the code.
    pub hmac: [u8; 32],
    /// E-mail, SMS or voice.
    pub channel: AuthMethod,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// A signer's authenticated browser session. Only the SHA-256 of the cookie's token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerSession {
    /// SHA-256 of the session token.
    pub token_hash: Sha256Digest,
    /// The participant who authenticated.
    pub participant_id: ParticipantId,
    /// Their envelope's tenant (for scoping).
    pub tenant_id: TenantId,
    /// When it started.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// Signer guards, sessions and used form nonces.
#[async_trait]
pub trait SignerAccessStore: Send + Sync + 'static {
    /// The participant's guard; a default one (version 0) when none was saved yet.
    async fn signer_guard(&self, participant: &ParticipantId) -> Result<SignerGuard, StoreError>;
    /// Saves the guard if its version is still `guard.version` (creating it when that is 0),
    /// bumping the version; [`StoreError::Conflict`] otherwise, writing nothing. Starts
    /// `session` if given, appends the events (a wrong code, a lock) to the log and enqueues
    /// the jobs, all in one transaction.
    async fn save_signer_guard(
        &self,
        tenant: &TenantId,
        participant: &ParticipantId,
        guard: &SignerGuard,
        session: Option<&SignerSession>,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError>;
    /// The session whose token has this SHA-256.
    async fn signer_session(
        &self,
        token_hash: &Sha256Digest,
    ) -> Result<Option<SignerSession>, StoreError>;
    /// Marks a form nonce used; `false` when it already was (the form was posted before).
    async fn claim_signer_nonce(
        &self,
        nonce: &str,
        session_hash: &Sha256Digest,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Forgets sessions and nonces that ended before `now`; answers how many.
    async fn prune_signer_access(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
