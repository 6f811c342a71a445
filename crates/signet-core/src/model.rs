//! The domain model: tenants and their plans, envelopes with their documents and participants,
//! access links, contacts and events. Plain data; the rules that change it live in
//! [`crate::lifecycle`] and [`crate::service`].

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::blob::BlobKey;
use crate::ids::{DocumentId, EnvelopeId, EventId, LinkId, ParticipantId, TenantId};
use crate::values::{DocumentName, Email, Language, Phone, Sha3Digest, Sha256Digest};

/// A feature a tenant's plan may include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Feature {
    /// Recipient authentication by a code sent by SMS.
    Sms,
    /// Recipient authentication by a code read out in a voice call.
    Voice,
    /// Recipient authentication by a secret question.
    Secret,
}

impl Feature {
    /// Every feature, in a stable order.
    pub const ALL: [Feature; 3] = [Feature::Sms, Feature::Voice, Feature::Secret];

    /// The name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Sms => "sms",
            Feature::Voice => "voice",
            Feature::Secret => "secret",
        }
    }
}

impl std::str::FromStr for Feature {
    type Err = crate::values::InvalidValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Feature::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                crate::values::InvalidValue::new("feature", "expected sms, voice or secret")
            })
    }
}

/// What a tenant has paid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Enabled features.
    pub features: Vec<Feature>,
    /// The largest total size of the documents of one envelope, in bytes.
    pub max_envelope_bytes: u64,
}

impl Plan {
    /// Whether the plan includes a feature.
    pub fn allows(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            features: Feature::ALL.to_vec(),
            max_envelope_bytes: 100 * 1024 * 1024,
        }
    }
}

/// Whether a tenant may use the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TenantStatus {
    /// In good standing.
    Active,
    /// Blocked by the operator (unpaid subscription, abuse, …).
    Suspended,
}

/// A customer of the platform. Its API key is kept sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Display name, shown to recipients as the sender.
    pub name: String,
    /// Active or suspended.
    pub status: TenantStatus,
    /// Its plan.
    pub plan: Plan,
    /// Self-send mode: the tenant e-mails recipients itself (with the banner we return) instead
    /// of Signet e-mailing them.
    pub self_send: bool,
    /// The API key sealed with [`crate::crypto::MasterKey::seal`].
    pub api_key_sealed: Vec<u8>,
    /// Where its events are pushed, if anywhere.
    pub webhook: Option<crate::webhooks::WebhookEndpoint>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

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
    /// SHA3-256 of the plaintext.
    pub sha3_256: Sha3Digest,
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

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Actor {
    /// A tenant, through an API, with the id of the credential it used (e.g. a JWT's jti).
    Tenant {
        /// The tenant.
        tenant_id: String,
        /// Which dialect it spoke.
        dialect: String,
        /// The credential's id, if it has one.
        credential: Option<String>,
    },
    /// A participant, through the portal.
    Participant {
        /// The participant.
        participant_id: String,
    },
    /// Someone holding an upload URL.
    UploadUrl,
    /// Signet itself (expiry sweeper, jobs).
    System,
    /// The operator, through the command line.
    Operator,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A tenant was created.
    TenantCreated,
    /// A tenant's plan or settings changed.
    TenantUpdated,
    /// A tenant was suspended.
    TenantSuspended,
    /// An envelope was created.
    EnvelopeCreated,
    /// A document's bytes were received.
    DocumentUploaded,
    /// A participant was e-mailed their link.
    InvitationSent,
    /// The sender confirmed the envelope; links now work.
    EnvelopeConfirmed,
    /// The sender cancelled the envelope.
    EnvelopeCancelled,
    /// The envelope's links expired.
    EnvelopeExpired,
    /// A contact's stored details were read.
    ContactViewed,
    /// A participant opened their link.
    LinkOpened,
    /// An authentication code was sent.
    CodeSent,
    /// A participant authenticated.
    ParticipantAuthenticated,
    /// A participant failed to authenticate.
    AuthenticationFailed,
    /// A link was locked after too many failures.
    LinkLocked,
    /// A participant downloaded a document.
    DocumentRetrieved,
}

impl EventKind {
    /// The stored name.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }
}

/// A recorded action. Its canonical JSON is what the transparency log commits to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Its id (random, which also keeps the record's hash unguessable).
    pub id: EventId,
    /// The tenant it concerns.
    pub tenant_id: TenantId,
    /// The envelope it concerns, if any.
    pub envelope_id: Option<EnvelopeId>,
    /// The participant it concerns, if any.
    pub participant_id: Option<ParticipantId>,
    /// The document it concerns, if any.
    pub document_id: Option<DocumentId>,
    /// What happened.
    pub kind: EventKind,
    /// Who did it.
    pub actor: Actor,
    /// From which address.
    pub ip: Option<IpAddr>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Details specific to the kind (names, sizes, digests, reasons).
    pub data: serde_json::Value,
}

macro_rules! id_serde {
    ($($name:ident),*) => {$(
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
id_serde!(
    TenantId,
    EnvelopeId,
    DocumentId,
    ParticipantId,
    EventId,
    LinkId
);
