//! The signature port: how the core turns a participant's act into a signed revision of a
//! document (their marks stamped at their fields, then a PAdES signature of their own), and a
//! completed envelope into its completion certificate and archival seal. The implementation
//! lives with the PDF library, outside the core; everything here is in the core's words.
//!
//! Documents come from the blob store and results go back to it as new blobs: nothing is stored
//! under the target key when an operation fails, and a time-stamp failure is reported as
//! [`SealFailure::TimestampUnavailable`] (the job retries it; nothing is ever written without
//! its time-stamp).

use std::net::IpAddr;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::blob::{BlobKey, BlobStore, StoredBlob};
use crate::seal::SealFailure;
use crate::signing::{AuthMethod, ImageType, Rect, Role};
use crate::values::Language;

/// What one mark shows, resolved to what the stamper draws (images loaded, dates formatted in
/// the envelope's language).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MarkContent {
    /// The signer's name.
    Name(String),
    /// A date, formatted.
    Date(String),
    /// Free text.
    Text(String),
    /// Initials, typed.
    Initials(String),
    /// A typed signature (set in a script typeface).
    TypedSignature(String),
    /// A ticked checkbox (an unticked one draws nothing).
    Checkmark,
    /// A drawn or uploaded signature, initials or stamp, as an image file.
    Image {
        /// The file's bytes.
        bytes: Vec<u8>,
        /// PNG or JPEG.
        media_type: ImageType,
    },
}

/// One mark at its field.
#[derive(Debug, Clone, PartialEq)]
pub struct ActMark {
    /// The page, from 1.
    pub page: u32,
    /// The field's box in fractions of the page as displayed.
    pub rect: Rect,
    /// What to draw.
    pub content: MarkContent,
}

/// One participant's act on one document.
#[derive(Debug, Clone, PartialEq)]
pub struct ActRequest {
    /// The signer's name (the certificate's subject).
    pub signer_name: String,
    /// Their e-mail address (the certificate's emailAddress and SAN), if they have one.
    pub signer_email: Option<String>,
    /// The PDF signature field to create; unique in the document (e.g. derived from the
    /// participant's id).
    pub field_name: String,
    /// The marks; may be empty (an invisible signature).
    pub marks: Vec<ActMark>,
    /// When the act happened (the certificate's issue time).
    pub at: OffsetDateTime,
}

/// One participant as the completion certificate shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateParticipant {
    /// Name.
    pub name: String,
    /// E-mail address, if any.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// How they proved who they are.
    pub auth: AuthMethod,
    /// Address of their decisive act (signing or declining).
    pub ip: Option<IpAddr>,
    /// User agent of their decisive act.
    pub user_agent: Option<String>,
    /// When invited.
    pub invited_at: Option<OffsetDateTime>,
    /// When they first opened their link.
    pub opened_at: Option<OffsetDateTime>,
    /// When they authenticated.
    pub authenticated_at: Option<OffsetDateTime>,
    /// When they signed (or approved).
    pub signed_at: Option<OffsetDateTime>,
    /// When they declined.
    pub declined_at: Option<OffsetDateTime>,
}

/// One document's digests before and after signing.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateDocument {
    /// Its name.
    pub name: String,
    /// SHA-256 as uploaded.
    pub sha256_before: [u8; 32],
    /// SHA-256 once signed (before the certificate and the seal), if it changed.
    pub sha256_after: Option<[u8; 32]>,
}

/// One event as the certificate lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateEvent {
    /// When.
    pub at: OffsetDateTime,
    /// What happened and by whom, in the envelope's language.
    pub description: String,
    /// Its leaf hash in the transparency log (its `transaction_hash`).
    pub leaf_hash: [u8; 32],
}

/// Everything the completion certificate shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRecord {
    /// The envelope's title.
    pub title: String,
    /// The envelope's id.
    pub envelope_id: String,
    /// The language to write it in.
    pub language: Language,
    /// When the envelope completed (or ended).
    pub completed_at: Option<OffsetDateTime>,
    /// Participants in envelope order.
    pub participants: Vec<CertificateParticipant>,
    /// Documents in envelope order.
    pub documents: Vec<CertificateDocument>,
    /// Events, oldest first.
    pub events: Vec<CertificateEvent>,
    /// The signed checkpoint covering the events (a signed note).
    pub checkpoint: String,
}

/// Makes participants' signatures and the completion artefacts with the instance's PKI and TSA.
#[async_trait]
pub trait SignatureMaker: Send + Sync + 'static {
    /// Stamps `act`'s marks on the PDF `source` as a new revision, signs that revision as the
    /// act's signer (a key made for the act, a certificate from the instance CA, PAdES B-T) and
    /// stores the result under `target`. Earlier revisions and signatures are kept byte for byte.
    async fn sign_act(
        &self,
        blobs: &dyn BlobStore,
        source: &BlobKey,
        target: &BlobKey,
        act: &ActRequest,
    ) -> Result<StoredBlob, SealFailure>;

    /// Writes the completion certificate as a PDF of its own under `target`.
    async fn certificate(
        &self,
        blobs: &dyn BlobStore,
        target: &BlobKey,
        record: &CompletionRecord,
    ) -> Result<StoredBlob, SealFailure>;

    /// Finishes a signed document: seals `source` at PAdES B-LTA (validation material for every
    /// signature plus a document time-stamp, an incremental update), stored under `target`.
    /// The completion certificate stays a document of its own ([`SignatureMaker::certificate`]):
    /// appending its pages after the signers' signatures makes validators (pyHanko) judge every
    /// earlier signature modified. `record` is there for implementations that embed a summary.
    async fn finish(
        &self,
        blobs: &dyn BlobStore,
        source: &BlobKey,
        target: &BlobKey,
        record: &CompletionRecord,
    ) -> Result<StoredBlob, SealFailure>;
}
