//! The durable jobs of signing envelopes: messages to participants, timers, each signer's
//! signature on the documents, and the seal at completion.
//!
//! Each job re-reads the envelope and does nothing once its reason is gone (a reminder for a
//! participant who signed meanwhile, a timer that no longer applies). Signatures and the seal
//! wait for what must come before them by failing and being retried: a signer's signature waits
//! for those who signed before, the seal for every signature, and a time-stamp authority that
//! is down delays both — nothing is ever written without its time-stamp.

use async_trait::async_trait;

use super::fields::{FieldKind, FieldValue, Mark};
use super::library::{FileFacts, LibraryDocument, MediaType, VersionKind};
use super::model::{
    Command, DocumentAction, EnvelopeStatus, Origin, Participant, ParticipantState, Role,
    SignEnvelope,
};
use super::versions::{SignVersion, SignVersionKind, current_version};
use crate::blob::BlobKey;
use crate::error::{CoreError, CoreResult};
use crate::ids::{DocumentId, EnvelopeId, EventId, ParticipantId, TenantId};
use crate::jobs::handler::JobHandler;
use crate::jobs::{JobKind, SigningMailJob, SigningTimerJob};
use crate::mail::{SigningMail, SigningMailKind};
use crate::model::{Actor, Event, EventKind, Feature, Tenant};
use crate::phone::{LinkMessage, LinkPurpose};
use crate::ports::Core;
use crate::seal::SealFailure;
use crate::signature::{
    ActMark, ActRequest, CertificateDocument, CertificateEvent, CertificateParticipant,
    CompletionRecord, MarkContent,
};
use crate::store::StoreError;
use crate::values::DocumentName;

/// The handler of a signing job.
pub(crate) fn handler(kind: &JobKind) -> Box<dyn JobHandler + '_> {
    match kind {
        JobKind::SigningMail {
            tenant_id,
            envelope_id,
            participant_id,
            message,
        } => Box::new(SendSigningMail {
            tenant_id: *tenant_id,
            envelope_id: *envelope_id,
            participant_id: *participant_id,
            kind: *message,
        }),
        JobKind::SigningTimer {
            tenant_id,
            envelope_id,
            timer,
        } => Box::new(RunTimer {
            tenant_id: *tenant_id,
            envelope_id: *envelope_id,
            timer: *timer,
        }),
        JobKind::ApplySignature {
            tenant_id,
            envelope_id,
            participant_id,
        } => Box::new(ApplySignature {
            tenant_id: *tenant_id,
            envelope_id: *envelope_id,
            participant_id: *participant_id,
        }),
        JobKind::SealSignEnvelope {
            tenant_id,
            envelope_id,
        } => Box::new(SealEnvelope {
            tenant_id: *tenant_id,
            envelope_id: *envelope_id,
        }),
        other => unreachable!("not a signing job: {}", other.name()),
    }
}

/// A failure that only waiting can cure: the job is retried with backoff.
fn wait(why: impl Into<String>) -> CoreError {
    CoreError::Unexpected(anyhow::anyhow!("{}", why.into()))
}

fn seal_error(failure: SealFailure) -> CoreError {
    match failure {
        SealFailure::Blob(e) => e.into(),
        other => wait(other.to_string()),
    }
}

impl Core {
    async fn load_signing(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
    ) -> CoreResult<Option<SignEnvelope>> {
        Ok(self
            .store
            .sign_envelope(tenant, envelope)
            .await?
            .map(|s| s.envelope))
    }

    /// Runs a command the instance itself decides (a timer, the seal) on an envelope.
    async fn run_system_command(
        &self,
        tenant: TenantId,
        envelope: EnvelopeId,
        command: Command,
    ) -> CoreResult<SignEnvelope> {
        self.run_sign_command(
            || self.stored_sign_envelope(&tenant, &envelope),
            command,
            &Origin::default(),
            &Actor::System,
        )
        .await
    }
}

/// Writes to a signing participant.
struct SendSigningMail {
    tenant_id: TenantId,
    envelope_id: EnvelopeId,
    participant_id: ParticipantId,
    kind: SigningMailJob,
}

#[async_trait]
impl JobHandler for SendSigningMail {
    fn name(&self) -> &'static str {
        "signing_mail"
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        let Some(envelope) = core
            .load_signing(&self.tenant_id, &self.envelope_id)
            .await?
        else {
            return Ok(());
        };
        let Some(participant) = envelope.participant(self.participant_id) else {
            return Ok(());
        };
        let kind = match self.kind {
            // An invitation or reminder is pointless once the participant acted or it ended.
            SigningMailJob::Invitation | SigningMailJob::Reminder
                if envelope.status != EnvelopeStatus::Open || !participant.state.is_pending() =>
            {
                return Ok(());
            }
            // While a document's bytes are awaited, only the sender can hand out a link that
            // brings them (its own file's URL appended): Signet's plain link would show nothing.
            SigningMailJob::Invitation | SigningMailJob::Reminder
                if envelope.documents.iter().any(|d| d.awaited()) =>
            {
                return Ok(());
            }
            SigningMailJob::Invitation => SigningMailKind::Invitation,
            SigningMailJob::Reminder => SigningMailKind::Reminder,
            SigningMailJob::Completed => SigningMailKind::Completed,
            SigningMailJob::Ended => match envelope.status {
                EnvelopeStatus::Declined => SigningMailKind::Declined,
                EnvelopeStatus::Voided => SigningMailKind::Voided,
                EnvelopeStatus::Expired => SigningMailKind::Expired,
                _ => return Ok(()),
            },
        };
        let Some(tenant) = core.store.tenant(&self.tenant_id).await? else {
            return Ok(());
        };
        let Some(to) = participant.email.clone() else {
            // A participant known only by phone gets their link by SMS (other messages have
            // no text-message form: the sender tells them).
            let purpose = match kind {
                SigningMailKind::Invitation => LinkPurpose::Invitation,
                SigningMailKind::Reminder => LinkPurpose::Reminder,
                _ => return Ok(()),
            };
            return text_link(core, &tenant, &envelope, participant, purpose).await;
        };
        let mail = core.mail_sender().ok_or_else(|| {
            anyhow::anyhow!("no mail transport configured (set smtp_url and mail_from)")
        })?;
        let message = SigningMail {
            to,
            to_name: participant.name.as_str().to_owned(),
            language: participant.language,
            kind,
            sender_name: tenant.name.clone(),
            title: envelope.title.as_str().to_owned(),
            link: matches!(
                kind,
                SigningMailKind::Invitation
                    | SigningMailKind::Reminder
                    | SigningMailKind::Completed
            )
            .then(|| core.signing_url(&participant.id)),
        };
        mail.send_signing_mail(&message)
            .await
            .map_err(|e| CoreError::Unexpected(anyhow::anyhow!("sending a signing mail: {e}")))
    }
}

/// Sends a phone-only participant their link by SMS, when the tenant's plan has the `sms`
/// feature and a provider is configured; otherwise the reason it was not sent is logged (the
/// invitation or reminder itself is already in the envelope's events) and the job ends, since
/// retrying would not change either.
async fn text_link(
    core: &Core,
    tenant: &Tenant,
    envelope: &SignEnvelope,
    participant: &Participant,
    purpose: LinkPurpose,
) -> CoreResult<()> {
    let Some(to) = participant.phone.clone() else {
        return Ok(());
    };
    let not_sent = |why: &str| {
        tracing::warn!(
            envelope = %envelope.id,
            participant = %participant.id,
            why,
            "a signing link was not sent by SMS"
        );
        Ok(())
    };
    if !tenant.plan.allows(Feature::Sms) {
        return not_sent("the tenant's plan has no sms feature");
    }
    let Some(sender) = core.phone_sender() else {
        return not_sent("no SMS provider is configured (sms_url)");
    };
    let message = LinkMessage {
        to,
        purpose,
        language: participant.language,
        sender_name: tenant.name.clone(),
        title: envelope.title.as_str().to_owned(),
        link: core.signing_url(&participant.id),
    };
    sender
        .send_link(&message)
        .await
        .map_err(|e| CoreError::Unexpected(anyhow::anyhow!("sending a signing link by SMS: {e}")))
}

/// Runs a signing envelope's timer.
struct RunTimer {
    tenant_id: TenantId,
    envelope_id: EnvelopeId,
    timer: SigningTimerJob,
}

#[async_trait]
impl JobHandler for RunTimer {
    fn name(&self) -> &'static str {
        "signing_timer"
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        let command = match self.timer {
            SigningTimerJob::Expire => Command::Expire,
            _ => Command::RemindDue,
        };
        let result = core
            .run_system_command(self.tenant_id, self.envelope_id, command)
            .await;
        match result {
            // A timer that no longer applies (not due, already final, none left) is dropped.
            Ok(_) | Err(CoreError::Refused(_)) | Err(CoreError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Whether `participant`'s signature on `document` is stored.
fn applied(versions: &[SignVersion], participant: ParticipantId, document: DocumentId) -> bool {
    versions.iter().any(|v| {
        v.kind == SignVersionKind::Signed
            && v.participant == Some(participant)
            && v.document == Some(document)
    })
}

/// The signers whose signatures are on the documents, in the order they signed.
fn signed_signers(envelope: &SignEnvelope) -> Vec<&Participant> {
    let mut signers: Vec<&Participant> = envelope
        .participants
        .iter()
        .filter(|p| p.role == Role::Signer && p.state == ParticipantState::Signed)
        .collect();
    signers.sort_by_key(|p| (p.finished_at, p.id));
    signers
}

fn sign_documents(envelope: &SignEnvelope) -> impl Iterator<Item = DocumentId> + '_ {
    envelope
        .documents
        .iter()
        .filter(|d| d.action == DocumentAction::Sign)
        .map(|d| d.document)
}

/// The PDF signature field of a participant's act (unique per participant in a document).
fn field_name(participant: &ParticipantId) -> String {
    format!("Signet-{}", &participant.to_string()[..16])
}

/// Stamps and signs one signer's act on each signed document.
struct ApplySignature {
    tenant_id: TenantId,
    envelope_id: EnvelopeId,
    participant_id: ParticipantId,
}

#[async_trait]
impl JobHandler for ApplySignature {
    fn name(&self) -> &'static str {
        "apply_signature"
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        let Some(envelope) = core
            .load_signing(&self.tenant_id, &self.envelope_id)
            .await?
        else {
            return Ok(());
        };
        let Some(signer) = envelope.participant(self.participant_id) else {
            return Ok(());
        };
        if signer.state != ParticipantState::Signed || signer.role != Role::Signer {
            return Ok(());
        }
        let maker = core
            .signatures
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no signature maker configured"))?;
        let versions = core
            .store
            .sign_versions(&self.tenant_id, &self.envelope_id)
            .await?;
        // Signatures go on in the order people signed: wait for everyone before this signer.
        for earlier in signed_signers(&envelope)
            .into_iter()
            .take_while(|p| p.id != signer.id)
        {
            if sign_documents(&envelope).any(|d| !applied(&versions, earlier.id, d)) {
                return Err(wait(format!(
                    "waiting for {}'s signature to be applied first",
                    earlier.key.as_str()
                )));
            }
        }
        // One drawn signature is often placed in many fields of many documents: read it once.
        let mut images = MarkImages::new();
        for document in sign_documents(&envelope) {
            if applied(&versions, signer.id, document) {
                continue;
            }
            let source = Source::current(core, &envelope, &versions, document).await?;
            let at = signer.finished_at.unwrap_or_else(|| core.now());
            let act = ActRequest {
                signer_name: signer.name.as_str().to_owned(),
                signer_email: signer.email.as_ref().map(|e| e.as_str().to_owned()),
                field_name: field_name(&signer.id),
                marks: marks(core, &envelope, signer, document, at, &mut images).await?,
                at,
            };
            let target = BlobKey::random();
            let stored = maker
                .sign_act(core.blobs.as_ref(), &source.key, &target, &act)
                .await
                .map_err(seal_error)?;
            source
                .store_derived(
                    core,
                    &envelope,
                    stored,
                    SignVersionKind::Signed,
                    Some(signer.id),
                )
                .await?;
        }
        Ok(())
    }
}

/// The version of an envelope document a new one is made from.
struct Source {
    /// The envelope's document.
    document: DocumentId,
    /// Its current version.
    version: LibraryDocument,
    /// Where that version's bytes are.
    key: BlobKey,
}

impl Source {
    /// The current version of `document` among `versions`.
    async fn current(
        core: &Core,
        envelope: &SignEnvelope,
        versions: &[SignVersion],
        document: DocumentId,
    ) -> CoreResult<Self> {
        let id = current_version(versions, document);
        let stored = core
            .store
            .library_document(&envelope.tenant_id, &id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("version {id} is missing"))?;
        let key = stored.blob.ok_or(CoreError::ContentDeleted)?;
        Ok(Self {
            document,
            version: stored.document,
            key,
        })
    }

    /// Records `stored` (the result of working on this version) as the next version.
    async fn store_derived(
        &self,
        core: &Core,
        envelope: &SignEnvelope,
        stored: crate::blob::StoredBlob,
        kind: SignVersionKind,
        participant: Option<ParticipantId>,
    ) -> CoreResult<()> {
        let now = core.now();
        let library_kind = match kind {
            SignVersionKind::Sealed => VersionKind::Sealed,
            _ => VersionKind::Signed,
        };
        let version = self
            .version
            .derive(
                DocumentId::generate(),
                library_kind,
                FileFacts {
                    size: stored.size,
                    sha256: stored.sha256,
                    sha3_256: stored.sha3_256,
                    pages: None,
                },
                now,
            )
            .map_err(|e| anyhow::anyhow!("{} version: {e}", kind.as_str()))?;
        let record = SignVersion {
            version: version.id,
            envelope: envelope.id,
            document: Some(self.document),
            derived_from: Some(self.version.id),
            kind,
            participant,
            created_at: now,
        };
        store_version(core, envelope, &record, &version, &stored.key).await
    }
}

/// Stores a version and its event; on a lost race (another version was derived from the same
/// source meanwhile) deletes the blob and asks to be retried.
async fn store_version(
    core: &Core,
    envelope: &SignEnvelope,
    record: &SignVersion,
    document: &LibraryDocument,
    blob: &BlobKey,
) -> CoreResult<()> {
    let event = Event {
        id: EventId::generate(),
        tenant_id: envelope.tenant_id,
        envelope_id: Some(envelope.id),
        participant_id: record.participant,
        document_id: Some(document.id),
        kind: EventKind::SigningVersionStored,
        actor: Actor::System,
        ip: None,
        at: record.created_at,
        data: serde_json::json!({
            "kind": record.kind,
            "document": record.document.map(|d| d.to_string()),
            "derived_from": record.derived_from.map(|d| d.to_string()),
            "sha256": document.sha256,
            "sha3_256": document.sha3_256,
            "size": document.size,
        }),
    };
    // A signed or sealed version of a document the sender keeps goes back to the sender.
    let jobs = match record.kind {
        SignVersionKind::Signed | SignVersionKind::Sealed => {
            core.produced_version_jobs(envelope, document.sha3_256, read_blob(core, blob))
                .await
        }
        _ => Ok(Vec::new()),
    };
    let stored = match jobs {
        Ok(jobs) => match core
            .store
            .insert_sign_version(record, document, blob, &[event], &jobs)
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::Duplicate) => {
                Err(wait("another version was stored meanwhile; retrying"))
            }
            Err(other) => Err(other.into()),
        },
        Err(e) => Err(e),
    };
    if let Err(delete) = core.blobs.delete(blob).await {
        tracing::warn!(error = %delete, "could not delete the blob of an unstored version");
    }
    stored
}

/// A date as stamped: ISO 8601, which reads the same in every language.
fn stamped_date(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The bytes of the images an act draws, by SHA-256, read from the blob store once each.
type MarkImages = std::collections::HashMap<crate::values::Sha256Digest, Vec<u8>>;

/// What the signer's fields on `document` show.
async fn marks(
    core: &Core,
    envelope: &SignEnvelope,
    signer: &Participant,
    document: DocumentId,
    at: time::OffsetDateTime,
    images: &mut MarkImages,
) -> CoreResult<Vec<ActMark>> {
    let mut marks = Vec::new();
    for field in envelope
        .fields_of(signer.id)
        .filter(|f| f.document == document)
    {
        let content = match (&field.kind, &field.value) {
            (FieldKind::SigningDate, None) => Some(MarkContent::Date(stamped_date(at.date()))),
            (FieldKind::Name, None) => Some(MarkContent::Name(signer.name.as_str().to_owned())),
            (_, None) => None,
            (FieldKind::Name, Some(FieldValue::Text(text))) => {
                Some(MarkContent::Name(text.clone()))
            }
            (FieldKind::Initials, Some(FieldValue::Text(text))) => {
                Some(MarkContent::Initials(text.clone()))
            }
            (_, Some(FieldValue::Text(text))) => Some(MarkContent::Text(text.clone())),
            (_, Some(FieldValue::Date(date))) => Some(MarkContent::Date(stamped_date(*date))),
            (_, Some(FieldValue::Checkbox(true))) => Some(MarkContent::Checkmark),
            (_, Some(FieldValue::Checkbox(false))) => None,
            (FieldKind::Initials, Some(FieldValue::Mark(Mark::Typed { text }))) => {
                Some(MarkContent::Initials(text.clone()))
            }
            (_, Some(FieldValue::Mark(Mark::Typed { text }))) => {
                Some(MarkContent::TypedSignature(text.clone()))
            }
            (_, Some(FieldValue::Mark(Mark::Drawn { image } | Mark::Uploaded { image }))) => {
                let bytes = match images.get(&image.sha256) {
                    Some(bytes) => bytes.clone(),
                    None => {
                        let stored = core
                            .store
                            .library_document_by_sha256(&envelope.tenant_id, &image.sha256)
                            .await?
                            .ok_or_else(|| {
                                anyhow::anyhow!("the image of field {} is missing", field.id)
                            })?;
                        let key = stored.blob.ok_or(CoreError::ContentDeleted)?;
                        let bytes = read_blob(core, &key).await?;
                        images.insert(image.sha256, bytes.clone());
                        bytes
                    }
                };
                Some(MarkContent::Image {
                    bytes,
                    media_type: image.media_type,
                })
            }
        };
        if let Some(content) = content {
            marks.push(ActMark {
                page: field.page,
                rect: field.rect,
                content,
            });
        }
    }
    Ok(marks)
}

async fn read_blob(core: &Core, key: &BlobKey) -> CoreResult<Vec<u8>> {
    use futures::StreamExt as _;
    let mut stream = core.blobs.get(key).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.map_err(|e| anyhow::anyhow!(e))?);
    }
    Ok(bytes)
}

/// Seals a completed envelope.
struct SealEnvelope {
    tenant_id: TenantId,
    envelope_id: EnvelopeId,
}

#[async_trait]
impl JobHandler for SealEnvelope {
    fn name(&self) -> &'static str {
        "seal_sign_envelope"
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        let Some(envelope) = core
            .load_signing(&self.tenant_id, &self.envelope_id)
            .await?
        else {
            return Ok(());
        };
        if envelope.status != EnvelopeStatus::Completed || envelope.sealed_at.is_some() {
            return Ok(());
        }
        let maker = core
            .signatures
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no signature maker configured"))?;
        let versions = core
            .store
            .sign_versions(&self.tenant_id, &self.envelope_id)
            .await?;
        for signer in signed_signers(&envelope) {
            if sign_documents(&envelope).any(|d| !applied(&versions, signer.id, d)) {
                return Err(wait(format!(
                    "waiting for {}'s signature to be applied before sealing",
                    signer.key.as_str()
                )));
            }
        }
        let record = completion_record(core, &envelope, &versions).await?;
        for document in sign_documents(&envelope) {
            if versions
                .iter()
                .any(|v| v.kind == SignVersionKind::Sealed && v.document == Some(document))
            {
                continue;
            }
            let source = Source::current(core, &envelope, &versions, document).await?;
            let target = BlobKey::random();
            let stored = maker
                .finish(core.blobs.as_ref(), &source.key, &target, &record)
                .await
                .map_err(seal_error)?;
            source
                .store_derived(core, &envelope, stored, SignVersionKind::Sealed, None)
                .await?;
        }
        if !versions
            .iter()
            .any(|v| v.kind == SignVersionKind::Certificate)
        {
            let target = BlobKey::random();
            let stored = maker
                .certificate(core.blobs.as_ref(), &target, &record)
                .await
                .map_err(seal_error)?;
            let now = core.now();
            let name: DocumentName = format!("certificate-{}.pdf", envelope.id).parse()?;
            let document = LibraryDocument::original(
                DocumentId::generate(),
                envelope.tenant_id,
                name,
                MediaType::pdf(),
                FileFacts {
                    size: stored.size,
                    sha256: stored.sha256,
                    sha3_256: stored.sha3_256,
                    pages: None,
                },
                now,
            );
            let certificate = SignVersion {
                version: document.id,
                envelope: self.envelope_id,
                document: None,
                derived_from: None,
                kind: SignVersionKind::Certificate,
                participant: None,
                created_at: now,
            };
            store_version(core, &envelope, &certificate, &document, &target).await?;
        }
        let result = core
            .run_system_command(self.tenant_id, self.envelope_id, Command::RecordSealed)
            .await;
        match result {
            Ok(_) | Err(CoreError::Refused(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// What the completion certificate says: every participant with their times, the documents'
/// digests, every event with its leaf hash, and a checkpoint covering them.
async fn completion_record(
    core: &Core,
    envelope: &SignEnvelope,
    versions: &[SignVersion],
) -> CoreResult<CompletionRecord> {
    let events = core
        .store
        .envelope_events(&envelope.tenant_id, &envelope.id)
        .await?;
    let checkpoint = core.checkpoint().await?;
    let mut documents = Vec::new();
    for document in sign_documents(envelope) {
        let original = core
            .store
            .library_document(&envelope.tenant_id, &document)
            .await?
            .ok_or_else(|| anyhow::anyhow!("document {document} is missing"))?;
        let current = current_version(versions, document);
        let after = if current == document {
            None
        } else {
            core.store
                .library_document(&envelope.tenant_id, &current)
                .await?
                .map(|s| *s.document.sha256.as_bytes())
        };
        documents.push(CertificateDocument {
            name: original.document.name.as_str().to_owned(),
            sha256_before: *original.document.sha256.as_bytes(),
            sha256_after: after,
        });
    }
    let participants = envelope
        .participants
        .iter()
        .map(|p| {
            let decisive = events.iter().rev().find(|e| {
                e.participant_id == Some(p.id)
                    && matches!(
                        e.kind,
                        EventKind::SigningSigned | EventKind::SigningDeclined
                    )
            });
            CertificateParticipant {
                name: p.name.as_str().to_owned(),
                email: p.email.as_ref().map(|e| e.as_str().to_owned()),
                role: p.role,
                auth: p.auth,
                ip: decisive.and_then(|e| e.ip),
                user_agent: decisive.and_then(|e| {
                    e.data
                        .pointer("/origin/user_agent")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                }),
                invited_at: p.invited_at,
                opened_at: p.opened_at,
                authenticated_at: p.authenticated_at,
                signed_at: (p.state == ParticipantState::Signed)
                    .then_some(p.finished_at)
                    .flatten(),
                declined_at: (p.state == ParticipantState::Declined)
                    .then_some(p.finished_at)
                    .flatten(),
            }
        })
        .collect();
    let names: std::collections::HashMap<String, &str> = envelope
        .participants
        .iter()
        .map(|p| (p.id.to_string(), p.name.as_str()))
        .collect();
    let events = events
        .iter()
        .map(|e| {
            let who = match &e.actor {
                Actor::Participant { participant_id } => names
                    .get(participant_id)
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                Actor::Tenant { .. } => " (sender)".to_owned(),
                _ => String::new(),
            };
            let subject = e
                .participant_id
                .filter(|_| !matches!(e.actor, Actor::Participant { .. }))
                .and_then(|p| names.get(&p.to_string()))
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            CertificateEvent {
                at: e.at,
                description: format!(
                    "{}{subject}{who}",
                    e.kind
                        .as_str()
                        .trim_start_matches("signing_")
                        .replace('_', " ")
                ),
                leaf_hash: crate::evidence::leaf_hash(e),
            }
        })
        .collect();
    Ok(CompletionRecord {
        title: envelope.title.as_str().to_owned(),
        envelope_id: envelope.id.to_string(),
        language: envelope.language,
        completed_at: envelope.closed_at,
        participants,
        documents,
        events,
        checkpoint: checkpoint.checkpoint,
    })
}
