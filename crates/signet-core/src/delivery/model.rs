//! Envelopes with their documents and participants: plain data; the rules that change it live
//! in [`super::lifecycle`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::blob::BlobKey;
use crate::ids::{DocumentId, EnvelopeId, ParticipantId, TenantId};
use crate::tenancy::model::Feature;
use crate::values::{DocumentName, Email, Language, Phone, Sha3Digest, Sha256Digest};

/// What an envelope is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Purpose {
    /// Deliver documents confidentially.
    Deliver,
    /// Collect signatures on documents.
    CollectSignatures,
}

/// Where an envelope is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EnvelopeState {
    /// Created; no document received yet.
    Draft,
    /// Some documents received; not yet confirmed.
    Uploading,
    /// Confirmed and sent: participants can use their links.
    Open,
    /// Every required participant finished.
    Completed,
    /// Its links expired before completion.
    Expired,
    /// Withdrawn by the sender.
    Cancelled,
    /// Declared void after the fact (signing flows).
    Voided,
}

impl EnvelopeState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvelopeState::Draft => "draft",
            EnvelopeState::Uploading => "uploading",
            EnvelopeState::Open => "open",
            EnvelopeState::Completed => "completed",
            EnvelopeState::Expired => "expired",
            EnvelopeState::Cancelled => "cancelled",
            EnvelopeState::Voided => "voided",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            EnvelopeState::Draft,
            EnvelopeState::Uploading,
            EnvelopeState::Open,
            EnvelopeState::Completed,
            EnvelopeState::Expired,
            EnvelopeState::Cancelled,
            EnvelopeState::Voided,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether nothing can happen to the envelope any more (apart from data retention).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            EnvelopeState::Completed
                | EnvelopeState::Expired
                | EnvelopeState::Cancelled
                | EnvelopeState::Voided
        )
    }
}

/// An envelope's settings for access links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPolicy {
    /// How many days after confirmation the links work.
    pub expiration_days: u32,
    /// Whether a link may start more than one authenticated session.
    pub reusable: bool,
}

/// A set of documents sent to participants, for delivery or for signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Its id.
    pub id: EnvelopeId,
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// Deliver or collect signatures.
    pub purpose: Purpose,
    /// Current state.
    pub state: EnvelopeState,
    /// Optimistic-concurrency version, bumped by every save.
    pub version: i64,
    /// Language of the sender side.
    pub sender_language: Language,
    /// Language shown to participants.
    pub participant_language: Language,
    /// Link policy.
    pub links: LinkPolicy,
    /// Whether the tenant wants events (retrievals, expiry) pushed to it.
    pub notify_events: bool,
    /// The question participants answer when they authenticate with a secret.
    pub secret_question: Option<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Until when documents may be uploaded.
    pub upload_deadline: OffsetDateTime,
    /// When it was confirmed.
    pub confirmed_at: Option<OffsetDateTime>,
    /// When its links stop working (set at confirmation).
    pub expires_at: Option<OffsetDateTime>,
    /// When it reached a final state.
    pub closed_at: Option<OffsetDateTime>,
}

/// Where a document's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentContent {
    /// Announced, not received yet.
    Pending,
    /// Received and stored.
    Stored(StoredContent),
    /// Deleted (envelope cancelled or purged); the digests remain as evidence.
    Deleted {
        /// SHA-256 of what was stored, if anything was.
        sha256: Option<Sha256Digest>,
    },
}

/// A stored document's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContent {
    /// The blob.
    pub blob: BlobKey,
    /// Plaintext size.
    pub size: u64,
    /// SHA-256 of the plaintext.
    pub sha256: Sha256Digest,
    /// SHA3-256 of the plaintext; `None` from the upload until its
    /// [`crate::jobs::JobKind::HashDocument`] job has read the blob back and recorded it (an
    /// upload is answered without it, see [`crate::Core::receive_upload`]).
    pub sha3_256: Option<Sha3Digest>,
    /// The media type.
    pub content_type: String,
    /// When it was received.
    pub stored_at: OffsetDateTime,
}

/// A document inside an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its id.
    pub id: DocumentId,
    /// Its position in the envelope, from 0, in the order the client gave.
    pub position: u32,
    /// File name.
    pub name: DocumentName,
    /// Its bytes.
    pub content: DocumentContent,
    /// The document this one is a new version of (a signed or sealed copy), for the hash chain.
    pub derived_from: Option<DocumentId>,
}

impl Document {
    /// The stored content, if any.
    pub fn stored(&self) -> Option<&StoredContent> {
        match &self.content {
            DocumentContent::Stored(content) => Some(content),
            _ => None,
        }
    }
}

/// How a participant proves who they are before seeing documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AuthMethod {
    /// Just holding the link.
    None,
    /// A code sent by SMS.
    Sms,
    /// A code read out in a voice call.
    Voice,
    /// A code sent by e-mail.
    Email,
    /// The answer to a secret question.
    Secret,
}

impl AuthMethod {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::Sms => "sms",
            AuthMethod::Voice => "voice",
            AuthMethod::Email => "email",
            AuthMethod::Secret => "secret",
        }
    }

    /// Parses the stored name, case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        [
            AuthMethod::None,
            AuthMethod::Sms,
            AuthMethod::Voice,
            AuthMethod::Email,
            AuthMethod::Secret,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The plan feature this method needs, if any.
    pub fn feature(self) -> Option<Feature> {
        match self {
            AuthMethod::Sms => Some(Feature::Sms),
            AuthMethod::Voice => Some(Feature::Voice),
            AuthMethod::Secret => Some(Feature::Secret),
            AuthMethod::None | AuthMethod::Email => None,
        }
    }
}

/// What a participant does in an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// Receives the documents.
    Recipient,
    /// Signs the documents.
    Signer,
}

/// Someone an envelope is sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Its id.
    pub id: ParticipantId,
    /// Order among participants (signing sequence); recipients of a delivery share 0.
    pub sequence: u32,
    /// Recipient or signer.
    pub role: Role,
    /// E-mail address.
    pub email: Email,
    /// Mobile number, for SMS and voice codes.
    pub phone: Option<Phone>,
    /// How they authenticate.
    pub auth: AuthMethod,
    /// Argon2id PHC string of the secret answer, for [`AuthMethod::Secret`].
    pub secret_answer_hash: Option<String>,
    /// When they last authenticated successfully.
    pub authenticated_at: Option<OffsetDateTime>,
    /// When they finished (retrieved every document / signed).
    pub completed_at: Option<OffsetDateTime>,
}

/// An envelope with everything that belongs to it, loaded and saved as one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeAggregate {
    /// The envelope.
    pub envelope: Envelope,
    /// Its documents, by position.
    pub documents: Vec<Document>,
    /// Its participants, by sequence.
    pub participants: Vec<Participant>,
}

/// What a tenant remembers about a recipient, to prefill the next envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// The recipient's address (the key).
    pub email: Email,
    /// Preferred language.
    pub language: Language,
    /// Mobile number and method, if phone authentication was used.
    pub cell: Option<CellContact>,
    /// Secret question and reusable answer, if secret authentication was used.
    pub secret: Option<SecretContact>,
    /// When it was last updated.
    pub updated_at: OffsetDateTime,
}

/// A contact's phone authentication details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellContact {
    /// The number.
    pub phone: Phone,
    /// SMS or voice.
    pub method: AuthMethod,
}

/// A contact's secret question and the reference to its stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretContact {
    /// The question.
    pub question: String,
    /// An opaque handle (40 hex) a client passes back to reuse the answer.
    pub answer_ref: String,
    /// Argon2id PHC string of the answer.
    pub answer_hash: String,
}

/// A verified token's id, to be used once: claimed in the same transaction as the envelope its
/// request creates, so that a create and the use of its token are committed, or not, together.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a verified token's id must be claimed, or a replay of the token would be accepted"]
pub struct TokenClaim {
    /// The token's id (`jti`), unique per tenant while it is remembered.
    pub token_id: String,
    /// Until when the id is remembered: past it the token could no longer be accepted anyway.
    pub valid_until: OffsetDateTime,
}
