//! Access links, their guards (attempts, lockout, codes) and portal sessions.

use time::OffsetDateTime;

use crate::delivery::model::AuthMethod;
use crate::ids::{EnvelopeId, LinkId, ParticipantId, TenantId};
use crate::values::Sha256Digest;

/// A link that gives one participant access to an envelope. Only the SHA-256 of its token is
/// stored; the token itself appears only in the URL handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLink {
    /// Its id.
    pub id: LinkId,
    /// The envelope.
    pub envelope_id: EnvelopeId,
    /// Who it is for.
    pub participant_id: ParticipantId,
    /// SHA-256 of the token.
    pub token_hash: Sha256Digest,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// The authentication state of one access link: attempts, lock, the code last sent, sessions.
/// Saved with an optimistic version so that concurrent attempts are each counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkGuard {
    /// Wrong codes or answers since the last success or lock.
    pub failed_attempts: u32,
    /// Until when the link refuses every attempt.
    pub locked_until: Option<OffsetDateTime>,
    /// The one-time code waiting to be entered, if any.
    pub code: Option<IssuedCode>,
    /// Codes sent in the current window.
    pub codes_sent: u32,
    /// When the current code-sending window started.
    pub codes_window_start: Option<OffsetDateTime>,
    /// Authenticated sessions started with this link.
    pub sessions_started: u32,
    /// When the link was first opened.
    pub opened_at: Option<OffsetDateTime>,
    /// Optimistic-concurrency version, bumped by every save.
    pub version: i64,
}

/// A one-time code as stored: only its HMAC under an instance key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// HMAC-SHA-256 of the link id and the code.
    pub hmac: [u8; 32],
    /// SMS or voice.
    pub channel: AuthMethod,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// A recipient's authenticated browser session, started by one access link. Only the SHA-256 of
/// the cookie's token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// SHA-256 of the session token.
    pub token_hash: Sha256Digest,
    /// The link that started it.
    pub link_id: LinkId,
    /// The tenant (for scoping).
    pub tenant_id: TenantId,
    /// When it started.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}
