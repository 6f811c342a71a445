//! Access links, their guards (attempts, lockout, codes) and portal sessions.

use time::OffsetDateTime;

use crate::delivery::model::AuthMethod;
use crate::ids::{EnvelopeId, LinkId, ParticipantId, TenantId};
use crate::values::Sha256Digest;

/// A link that gives one participant access to an envelope. Only the SHA-256 of its token is
/// stored (in its [`LinkKey`]); the token itself appears only in the URL handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLink {
    /// Its id.
    pub id: LinkId,
    /// The envelope.
    pub envelope_id: EnvelopeId,
    /// Who it is for.
    pub participant_id: ParticipantId,
    /// What the link is found by, from its token.
    pub key: LinkKey,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// What a link is found by, from its token: the token's SHA-256, after the link's id when the
/// token begins with that id.
///
/// Why the id: the lookup key is a unique index, and a bare hash puts every new link in a random
/// leaf of it; a whole batch of creates then dirtied a page per link, written to the log and
/// copied into the database apart (BENCHMARKS.md, "the link's id in its token"). Keys that begin
/// with a time-ordered id land in the same few pages. The hash still covers the whole token, so
/// finding a link still takes its secret half. Links minted before the change have bare keys,
/// and their tokens are looked up both ways (see [`LinkKey::candidates`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkKey {
    /// The link's id, when its token begins with it.
    pub link: Option<LinkId>,
    /// SHA-256 of the whole token.
    pub hash: Sha256Digest,
}

impl std::fmt::Display for LinkKey {
    /// `<link id>:<hash>` or `<hash>`, in lower-case hex: the stored form.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.link {
            Some(link) => write!(f, "{link}:{}", self.hash),
            None => write!(f, "{}", self.hash),
        }
    }
}

impl std::str::FromStr for LinkKey {
    type Err = crate::values::InvalidValue;

    /// Parses the stored form (see `Display`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(':') {
            Some((link, hash)) => Ok(Self {
                link: Some(link.parse()?),
                hash: hash.parse()?,
            }),
            None => Ok(Self {
                link: None,
                hash: text.parse()?,
            }),
        }
    }
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
