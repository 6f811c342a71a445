//! Events: every act recorded, with who, when and from where.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{
    DocumentId, EnvelopeId, EventId, FolderId, LinkId, ParticipantId, RegisteredDocumentId,
    TenantId,
};

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
    /// The SHA3-256 of an uploaded document's bytes, which its upload left for later, was
    /// computed from the stored blob (whose SHA-256 still matched the upload's) and recorded.
    DocumentHashed,
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
    /// A document was added to the tenant's library.
    LibraryDocumentStored,
    /// A library document's bytes were deleted (its digests stay as evidence).
    LibraryDocumentDeleted,
    /// A signing envelope was created.
    SigningCreated,
    /// A signing participant's turn came; their link was sent.
    SigningInvited,
    /// A signing participant opened their link.
    SigningOpened,
    /// A one-time code was sent to a signing participant.
    SigningCodeSent,
    /// A signing participant proved who they are (or needed not: method `none`, recorded).
    SigningAuthenticated,
    /// A signing participant filled a field.
    SigningFieldFilled,
    /// A participant signed (or approved).
    SigningSigned,
    /// A participant declined; the envelope ended.
    SigningDeclined,
    /// The sender voided a signing envelope.
    SigningVoided,
    /// A participant was reminded.
    SigningReminded,
    /// Enough others signed: a participant is no longer asked to.
    SigningReleased,
    /// A signing envelope's completion rule was met.
    SigningCompleted,
    /// A signing envelope expired before completion.
    SigningExpired,
    /// A signing envelope's sealed result was stored.
    SigningSealed,
    /// A version of a document (a participant's signature, the seal, the certificate) was
    /// stored, with its digests.
    SigningVersionStored,
    /// A folder was created.
    FolderCreated,
    /// A document was registered in a folder by its digest.
    DocumentRegistered,
    /// An envelope was attached to a registered document.
    EnvelopeAttached,
    /// A registered document was voided.
    RegisteredDocumentVoided,
    /// A registered document's bytes were retrieved from the client and matched.
    RegisteredDocumentRetrieved,
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
    LinkId,
    FolderId,
    RegisteredDocumentId
);
