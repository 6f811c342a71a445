//! Confidential delivery use-cases: create, upload, confirm, cancel, read.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::blob::{BlobKey, ByteStream};
use crate::crypto::{constant_time_eq, hmac_sha256};
use crate::error::{CoreError, CoreResult};
use crate::ids::{DocumentId, EnvelopeId, ParticipantId, TenantId};
use crate::jobs::{JobKind, NewJob};
use crate::lifecycle::{ConfirmError, ReceiveError};
use crate::model::*;
use crate::store::StoreError;
use crate::values::{DocumentName, Email, Language, Phone};

use crate::access::links::mint_link;
use crate::ports::{Caller, Core, require_active};

const UPLOAD_URL_PURPOSE: &str = "upload-url";
/// How often a save is retried when another request changed the envelope meanwhile.
const SAVE_ATTEMPTS: usize = 8;
/// The longest secret question, in characters: it is shown on the recipient's page.
pub const MAX_SECRET_QUESTION_CHARS: usize = 500;
/// The longest secret answer, in characters.
pub const MAX_SECRET_ANSWER_CHARS: usize = 200;

/// A secret answer given for a new participant.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SecretAnswer {
    /// A new answer, in clear; it is hashed and never stored as is.
    New(SecretString),
    /// The reference of an answer stored with one of the tenant's contacts.
    Reference(String),
}

/// A participant to add to a new envelope.
#[derive(Debug, Clone)]
pub struct NewParticipant {
    /// E-mail address.
    pub email: Email,
    /// Mobile number, required for SMS and voice.
    pub phone: Option<Phone>,
    /// How they authenticate.
    pub auth: AuthMethod,
    /// Their secret answer, required for [`AuthMethod::Secret`].
    pub secret_answer: Option<SecretAnswer>,
}

/// A request to deliver documents confidentially.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// Sender-side language.
    pub sender_language: Language,
    /// Participant-side language.
    pub participant_language: Language,
    /// Link policy.
    pub links: LinkPolicy,
    /// Whether the tenant wants retrieval and expiry events.
    pub notify_events: bool,
    /// The secret question, for participants using [`AuthMethod::Secret`].
    pub secret_question: Option<String>,
    /// The participants.
    pub participants: Vec<NewParticipant>,
    /// The documents' names, in order.
    pub documents: Vec<DocumentName>,
}

/// Where and until when a document may be uploaded.
#[derive(Debug, Clone)]
pub struct UploadTicket {
    /// The document.
    pub document_id: DocumentId,
    /// The absolute, signed URL to `PUT` the bytes to.
    pub url: String,
    /// Seconds the URL stays valid.
    pub ttl_seconds: i64,
}

/// A link handed to a participant.
#[derive(Debug, Clone)]
pub struct IssuedLink {
    /// The participant.
    pub participant_id: ParticipantId,
    /// Their address.
    pub email: Email,
    /// The absolute URL (it contains the secret token).
    pub url: String,
}

/// What creating a delivery produced.
#[derive(Debug, Clone)]
pub struct CreatedDelivery {
    /// The new envelope.
    pub envelope_id: EnvelopeId,
    /// One upload URL per document, in request order.
    pub uploads: Vec<UploadTicket>,
    /// One link per participant, in request order.
    pub links: Vec<IssuedLink>,
    /// The sender's name as participants see it.
    pub sender_name: String,
}

impl Core {
    /// Creates an envelope that delivers documents, its upload URLs and its participants' links.
    pub async fn create_delivery(
        &self,
        caller: &Caller,
        request: NewDelivery,
    ) -> CoreResult<CreatedDelivery> {
        self.create_delivery_with(caller, None, request).await
    }

    /// [`Core::create_delivery`] for a request authenticated by a one-use token: the token's id
    /// is claimed in the envelope's own write. When the id was used before, nothing is created
    /// and the answer is [`CoreError::Unauthenticated`]; when the create fails for any other
    /// reason the id is left unclaimed (the caller decides whether to claim it alone).
    pub async fn create_delivery_claiming(
        &self,
        caller: &Caller,
        token: &TokenClaim,
        request: NewDelivery,
    ) -> CoreResult<CreatedDelivery> {
        self.create_delivery_with(caller, Some(token), request)
            .await
    }

    async fn create_delivery_with(
        &self,
        caller: &Caller,
        token: Option<&TokenClaim>,
        request: NewDelivery,
    ) -> CoreResult<CreatedDelivery> {
        require_active(&caller.tenant)?;
        if request.documents.is_empty() {
            return Err(CoreError::Invalid(
                "at least one document is required".into(),
            ));
        }
        if request.participants.is_empty() {
            return Err(CoreError::Invalid(
                "at least one recipient is required".into(),
            ));
        }
        if request.documents.len() > 100 || request.participants.len() > 100 {
            return Err(CoreError::Invalid(
                "at most 100 documents and 100 recipients".into(),
            ));
        }
        if !(1..=365).contains(&request.links.expiration_days) {
            return Err(CoreError::Invalid(
                "the link expiration must be 1 to 365 days".into(),
            ));
        }
        let now = self.clock.now();
        let mut seen_phones = std::collections::HashSet::new();
        let mut participants = Vec::with_capacity(request.participants.len());
        let mut contacts: Vec<Contact> = Vec::new();
        for p in &request.participants {
            // Until e-mail codes exist, holding the link would be the only proof: refuse rather
            // than fail open.
            if p.auth == AuthMethod::Email {
                return Err(CoreError::Invalid(
                    "e-mail authentication is not available yet: use sms, voice or a secret question"
                        .into(),
                ));
            }
            if let Some(feature) = p.auth.feature()
                && !caller.tenant.plan.allows(feature)
            {
                return Err(CoreError::FeatureNotInPlan(feature));
            }
            // Only what this request says about the contact: the store keeps a stored cell or
            // secret that this contact leaves `None` (see `DeliveryStore::insert_envelope`), so
            // no read of the contact is needed. A second participant with the same address
            // adds to what the first one set.
            let mut contact = match contacts.iter().position(|c| c.email == p.email) {
                Some(earlier) => contacts.remove(earlier),
                None => Contact {
                    tenant_id: caller.tenant.id,
                    email: p.email.clone(),
                    language: request.participant_language,
                    cell: None,
                    secret: None,
                    updated_at: now,
                },
            };
            let mut secret_answer_hash = None;
            match p.auth {
                AuthMethod::Sms | AuthMethod::Voice => {
                    let phone = p.phone.clone().ok_or_else(|| {
                        CoreError::Invalid("a phone number is required for sms and voice".into())
                    })?;
                    if !seen_phones.insert(phone.e164().to_owned()) {
                        return Err(CoreError::DuplicatePhone(phone.e164().to_owned()));
                    }
                    contact.cell = Some(CellContact {
                        phone,
                        method: p.auth,
                    });
                }
                AuthMethod::Secret => {
                    let question = request
                        .secret_question
                        .as_deref()
                        .map(str::trim)
                        .filter(|q| !q.is_empty())
                        .ok_or_else(|| {
                            CoreError::Invalid("a secret question is required".into())
                        })?;
                    if question.chars().count() > MAX_SECRET_QUESTION_CHARS {
                        return Err(CoreError::Invalid(format!(
                            "the secret question must be at most {MAX_SECRET_QUESTION_CHARS} characters"
                        )));
                    }
                    let (answer_ref, hash) = match &p.secret_answer {
                        Some(SecretAnswer::New(answer)) => {
                            if answer.expose_secret().trim().is_empty() {
                                return Err(CoreError::Invalid(
                                    "the secret answer is empty".into(),
                                ));
                            }
                            if answer.expose_secret().chars().count() > MAX_SECRET_ANSWER_CHARS {
                                return Err(CoreError::Invalid(format!(
                                    "the secret answer must be at most {MAX_SECRET_ANSWER_CHARS} characters"
                                )));
                            }
                            let hash = crate::secret::hash_answer(answer.expose_secret()).await?;
                            (hex::encode(rand::random::<[u8; 20]>()), hash)
                        }
                        Some(SecretAnswer::Reference(reference)) => {
                            // A reference names one recipient's registered answer (it is read
                            // from that recipient's contact): it is not lent to another one, whose
                            // answer it is not.
                            let owner = self
                                .store
                                .contact_by_secret_ref(&caller.tenant.id, reference.trim())
                                .await?
                                .filter(|c| c.secret.is_some())
                                .ok_or_else(|| {
                                    CoreError::Invalid("unknown secret answer reference".into())
                                })?;
                            if owner.email != p.email {
                                return Err(CoreError::Invalid(
                                    "this secret answer reference belongs to another recipient; use the \
                                     reference from this recipient's own contact"
                                        .into(),
                                ));
                            }
                            let known = owner.secret.ok_or_else(|| {
                                CoreError::Invalid("unknown secret answer reference".into())
                            })?;
                            (known.answer_ref, known.answer_hash)
                        }
                        None => {
                            return Err(CoreError::Invalid("a secret answer is required".into()));
                        }
                    };
                    secret_answer_hash = Some(hash.clone());
                    contact.secret = Some(SecretContact {
                        question: question.to_owned(),
                        answer_ref,
                        answer_hash: hash,
                    });
                }
                AuthMethod::None | AuthMethod::Email => {}
            }
            participants.push(Participant {
                id: ParticipantId::generate(),
                sequence: 0,
                role: Role::Recipient,
                email: p.email.clone(),
                phone: p.phone.clone(),
                auth: p.auth,
                secret_answer_hash,
                authenticated_at: None,
                completed_at: None,
            });
            contacts.push(contact);
        }

        let envelope = Envelope {
            id: EnvelopeId::generate(),
            tenant_id: caller.tenant.id,
            purpose: Purpose::Deliver,
            state: EnvelopeState::Draft,
            version: 0,
            sender_language: request.sender_language,
            participant_language: request.participant_language,
            links: request.links,
            notify_events: request.notify_events,
            secret_question: request.secret_question.map(|q| q.trim().to_owned()),
            created_at: now,
            upload_deadline: now + self.settings.upload_url_ttl,
            confirmed_at: None,
            expires_at: None,
            closed_at: None,
        };
        let documents: Vec<Document> = request
            .documents
            .into_iter()
            .enumerate()
            .map(|(position, name)| Document {
                id: DocumentId::generate(),
                position: u32::try_from(position).unwrap_or(u32::MAX),
                name,
                content: DocumentContent::Pending,
                derived_from: None,
            })
            .collect();

        let mut links = Vec::new();
        let mut issued = Vec::new();
        for p in &participants {
            let (link, url) = mint_link(&self.settings.public_url, envelope.id, p.id, now);
            links.push(link);
            issued.push(IssuedLink {
                participant_id: p.id,
                email: p.email.clone(),
                url,
            });
        }

        let uploads = documents
            .iter()
            .map(|d| UploadTicket {
                document_id: d.id,
                url: self.upload_url(&d.id, envelope.upload_deadline),
                ttl_seconds: self.settings.upload_url_ttl.whole_seconds(),
            })
            .collect();

        let mut event = self.caller_event(caller, EventKind::EnvelopeCreated, envelope.id);
        event.data = serde_json::json!({
            "purpose": envelope.purpose,
            "documents": documents.iter().map(|d| serde_json::json!({"id": d.id, "name": d.name})).collect::<Vec<_>>(),
            "participants": participants.iter().map(|p| serde_json::json!({
                "id": p.id, "email": p.email, "auth": p.auth,
                "phone": p.phone.as_ref().map(Phone::e164),
            })).collect::<Vec<_>>(),
            "link_expiration_days": envelope.links.expiration_days,
            "link_reusable": envelope.links.reusable,
        });
        let aggregate = EnvelopeAggregate {
            envelope,
            documents,
            participants,
        };
        match token {
            None => {
                self.store
                    .insert_envelope(&aggregate, &links, &contacts, &[event])
                    .await?
            }
            Some(token) => {
                self.store
                    .insert_envelope_claiming(token, now, &aggregate, &links, &contacts, &[event])
                    .await?
            }
        }
        Ok(CreatedDelivery {
            envelope_id: aggregate.envelope.id,
            uploads,
            links: issued,
            sender_name: caller.tenant.name.clone(),
        })
    }

    /// The signed URL for uploading one document until `deadline`.
    fn upload_url(&self, document: &DocumentId, deadline: OffsetDateTime) -> String {
        let expires = deadline.unix_timestamp();
        let signature = hex::encode(self.upload_signature(document, expires));
        format!(
            "{}/uploads/{document}?expires={expires}&signature={signature}",
            self.settings.public_url
        )
    }

    fn upload_signature(&self, document: &DocumentId, expires: i64) -> [u8; 32] {
        let key = self.master.derive(UPLOAD_URL_PURPOSE);
        hmac_sha256(&key, format!("PUT\n{document}\n{expires}").as_bytes())
    }

    /// Receives a document through its signed upload URL, streaming the body into the blob
    /// store. Nothing is stored if the URL is invalid or expired, the envelope no longer accepts
    /// uploads, the document was already uploaded, or the body is larger than the plan allows.
    ///
    /// The answer comes once the bytes are durable and their SHA-256 is known; their SHA3-256,
    /// which would cost more CPU than the rest of the upload together and which nobody needs at
    /// once, is left to a [`JobKind::HashDocument`] job enqueued in the upload's transaction (so
    /// a crash cannot lose it). Until it ran, the content's `sha3_256` is `None`; a reader that
    /// needs it sooner computes it then ([`Core::hash_documents_awaiting_sha3`]).
    pub async fn receive_upload(
        &self,
        document: &DocumentId,
        expires: i64,
        signature_hex: &str,
        content_type: Option<&str>,
        body: ByteStream,
        ip: Option<IpAddr>,
    ) -> CoreResult<StoredContent> {
        let expected = self.upload_signature(document, expires);
        let given = hex::decode(signature_hex).map_err(|_| CoreError::BadSignature)?;
        if !constant_time_eq(&expected, &given) {
            return Err(CoreError::BadSignature);
        }
        if self.clock.now().unix_timestamp() > expires {
            return Err(CoreError::Expired);
        }
        let aggregate = self
            .store
            .envelope_of_document(document)
            .await?
            .ok_or(CoreError::NotFound)?;
        let tenant = self
            .store
            .tenant(&aggregate.envelope.tenant_id)
            .await?
            .ok_or(CoreError::NotFound)?;
        require_active(&tenant)?;
        // Refuse early, before reading a byte, when the upload cannot succeed anyway.
        check_receivable(&aggregate, document, self.clock.now())?;

        let blob = BlobKey::random();
        let stored = self
            .blobs
            .put_deferring_sha3(&blob, body, Some(tenant.plan.max_envelope_bytes))
            .await?;
        let doc_name = aggregate
            .documents
            .iter()
            .find(|d| d.id == *document)
            .map(|d| d.name.as_str().to_owned())
            .unwrap_or_default();
        let content = StoredContent {
            blob: stored.key.clone(),
            size: stored.size,
            sha256: stored.sha256,
            sha3_256: None,
            content_type: content_type
                .filter(|t| !t.is_empty() && *t != "application/octet-stream")
                .map(str::to_owned)
                .unwrap_or_else(|| media_type_for(&doc_name).to_owned()),
            stored_at: self.clock.now(),
        };
        let result = self.commit_upload(document, content, ip).await;
        if result.is_err()
            && let Err(e) = self.blobs.delete(&blob).await
        {
            tracing::warn!(error = %e, blob = blob.as_str(), "could not delete the blob of a refused upload");
        }
        result
    }

    async fn commit_upload(
        &self,
        document: &DocumentId,
        content: StoredContent,
        ip: Option<IpAddr>,
    ) -> CoreResult<StoredContent> {
        // Only the document's own row and the envelope's state are written, so uploads of the
        // other documents never conflict with this one; a conflict means the envelope's state
        // moved (the first upload, a confirm, a cancel): the rules are run again on what it is now.
        for _ in 0..SAVE_ATTEMPTS {
            let mut aggregate = self
                .store
                .envelope_of_document(document)
                .await?
                .ok_or(CoreError::NotFound)?;
            let from = aggregate.envelope.state;
            let now = self.clock.now();
            aggregate
                .receive_document(*document, content.clone(), now)
                .map_err(receive_error)?;
            let mut event = self.event(
                aggregate.envelope.tenant_id,
                EventKind::DocumentUploaded,
                Actor::UploadUrl,
                ip,
            );
            event.envelope_id = Some(aggregate.envelope.id);
            event.document_id = Some(*document);
            event.data = serde_json::json!({
                "size": content.size, "sha256": content.sha256,
                "content_type": content.content_type,
            });
            // Recorded at once when known; otherwise its own event follows (`document_hashed`).
            if let Some(sha3_256) = content.sha3_256 {
                event.data["sha3_256"] = serde_json::json!(sha3_256);
            }
            let hash = (content.sha3_256.is_none()).then(|| {
                NewJob::at(
                    JobKind::HashDocument {
                        tenant_id: aggregate.envelope.tenant_id,
                        document_id: *document,
                    },
                    now,
                )
                .deduplicated(format!("hash_document:{document}"))
            });
            match self
                .store
                .record_upload(
                    &aggregate.envelope.tenant_id,
                    &aggregate.envelope.id,
                    document,
                    &content,
                    from,
                    aggregate.envelope.state,
                    &[event],
                    hash.as_slice(),
                )
                .await
            {
                Ok(()) => return Ok(content),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CoreError::Unexpected(anyhow::anyhow!(
            "too much contention saving the upload"
        )))
    }

    /// Computes and records the SHA3-256 of an uploaded document whose upload left it for later
    /// (the [`JobKind::HashDocument`] job). The blob is read back and both digests computed: the
    /// SHA3-256 is recorded, with a `document_hashed` event in the log, only if the SHA-256 and
    /// size are still those recorded at upload, so a blob that changed under the job is caught
    /// (and the job fails, to be retried and then dead-lettered for an operator) rather than
    /// bound to the document. Idempotent: a document already hashed, deleted or unknown is left
    /// alone. Answers whether it recorded a digest.
    pub async fn record_deferred_sha3(
        &self,
        tenant: &TenantId,
        document: &DocumentId,
    ) -> CoreResult<bool> {
        let Some(content) = self.content_awaiting_sha3(tenant, document).await? else {
            return Ok(false);
        };
        let digests = match self.blobs.digests(&content.blob).await {
            Ok(digests) => digests,
            // Deleted meanwhile (a cancel, a purge): nothing to record then.
            Err(crate::blob::BlobError::NotFound)
                if self
                    .content_awaiting_sha3(tenant, document)
                    .await?
                    .is_none() =>
            {
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        };
        if digests.sha256 != content.sha256 || digests.size != content.size {
            return Err(CoreError::Unexpected(anyhow::anyhow!(
                "the stored bytes of document {document} are no longer those uploaded: \
                 SHA-256 {} ({} bytes) recorded, {} ({} bytes) read back",
                content.sha256,
                content.size,
                digests.sha256,
                digests.size,
            )));
        }
        let Some(aggregate) = self
            .store
            .tenant_envelope_of_document(tenant, document)
            .await?
        else {
            return Ok(false);
        };
        let mut event = self.event(*tenant, EventKind::DocumentHashed, Actor::System, None);
        event.envelope_id = Some(aggregate.envelope.id);
        event.document_id = Some(*document);
        event.data = serde_json::json!({
            "size": digests.size, "sha256": digests.sha256, "sha3_256": digests.sha3_256,
        });
        Ok(self
            .store
            .record_sha3(
                tenant,
                document,
                &content.blob,
                &content.sha256,
                &digests.sha3_256,
                &[event],
            )
            .await?)
    }

    /// The stored content of a document whose SHA3-256 is not recorded yet.
    async fn content_awaiting_sha3(
        &self,
        tenant: &TenantId,
        document: &DocumentId,
    ) -> CoreResult<Option<StoredContent>> {
        let Some(aggregate) = self
            .store
            .tenant_envelope_of_document(tenant, document)
            .await?
        else {
            return Ok(None);
        };
        Ok(aggregate
            .documents
            .into_iter()
            .find(|d| d.id == *document)
            .and_then(|d| match d.content {
                DocumentContent::Stored(c) if c.sha3_256.is_none() => Some(c),
                _ => None,
            }))
    }

    /// Computes now the SHA3-256 of every document of the tenant still waiting for its
    /// [`JobKind::HashDocument`] job, for a reader that cannot wait (a lookup by digest must find
    /// a document by its SHA3-256 however recently it was uploaded). A document whose blob cannot
    /// be hashed is logged and left without one (its job reports the failure); answers how many
    /// were recorded.
    pub async fn hash_documents_awaiting_sha3(&self, tenant: &TenantId) -> CoreResult<usize> {
        let mut recorded = 0;
        for document in self.store.documents_awaiting_sha3(tenant).await? {
            match self.record_deferred_sha3(tenant, &document).await {
                Ok(true) => recorded += 1,
                Ok(false) => {}
                Err(error) => tracing::warn!(
                    %document, error = %error,
                    "could not compute a document's SHA3-256 for a reader"
                ),
            }
        }
        Ok(recorded)
    }

    /// Reads an envelope of the caller's tenant.
    pub async fn envelope(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
    ) -> CoreResult<EnvelopeAggregate> {
        require_active(&caller.tenant)?;
        self.store
            .envelope(&caller.tenant.id, id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// Confirms an envelope: every document must be uploaded and within the plan's size. Its
    /// expiry is scheduled in the same transaction.
    pub async fn confirm(&self, caller: &Caller, id: &EnvelopeId) -> CoreResult<EnvelopeAggregate> {
        require_active(&caller.tenant)?;
        let tenant_id = caller.tenant.id;
        let platform_mail = !caller.tenant.self_send;
        self.update_envelope(
            caller,
            id,
            EventKind::EnvelopeConfirmed,
            |aggregate, now| match aggregate.confirm(caller.tenant.plan.max_envelope_bytes, now) {
                Ok(false) => Ok(None),
                Ok(true) => {
                    let expires_at = aggregate.envelope.expires_at.unwrap_or(now);
                    let expire = JobKind::ExpireEnvelope {
                        tenant_id,
                        envelope_id: *id,
                    };
                    let mut jobs =
                        vec![NewJob::at(expire, expires_at).deduplicated(format!("expire:{id}"))];
                    // Tenants not in self-send mode have Signet e-mail each participant.
                    if platform_mail {
                        for p in &aggregate.participants {
                            let invite = JobKind::SendInvitation {
                                tenant_id,
                                envelope_id: *id,
                                participant_id: p.id,
                            };
                            jobs.push(
                                NewJob::at(invite, now)
                                    .deduplicated(format!("invite:{id}:{}", p.id)),
                            );
                        }
                    }
                    Ok(Some(jobs))
                }
                Err(ConfirmError::MissingDocument(_)) => Err(CoreError::DocumentMissing),
                Err(ConfirmError::TooLarge { total, limit }) => {
                    Err(CoreError::TooLarge { total, limit })
                }
                Err(ConfirmError::NotAllowed(e)) => Err(CoreError::StateConflict(e.to_string())),
            },
        )
        .await
        .map(|(aggregate, _)| aggregate)
    }

    /// Cancels an envelope (also after confirmation): links stop working and the documents'
    /// bytes are deleted — at once, and by a durable job in case this process dies first; their
    /// digests remain as evidence.
    pub async fn cancel(&self, caller: &Caller, id: &EnvelopeId) -> CoreResult<EnvelopeAggregate> {
        require_active(&caller.tenant)?;
        let mut doomed = Vec::new();
        let (aggregate, _) = self
            .update_envelope(
                caller,
                id,
                EventKind::EnvelopeCancelled,
                |aggregate, now| {
                    let was = aggregate.envelope.state;
                    doomed = aggregate
                        .cancel(now)
                        .map_err(|e| CoreError::StateConflict(e.to_string()))?;
                    if was == aggregate.envelope.state && doomed.is_empty() {
                        return Ok(None);
                    }
                    Ok(Some(
                        doomed
                            .iter()
                            .map(|key| {
                                NewJob::at(JobKind::DeleteBlob { key: key.clone() }, now)
                                    .deduplicated(format!("delete-blob:{}", key.as_str()))
                            })
                            .collect(),
                    ))
                },
            )
            .await?;
        for blob in doomed {
            if let Err(e) = self.blobs.delete(&blob).await {
                tracing::warn!(error = %e, blob = blob.as_str(), "could not delete a cancelled document now; the job will retry");
            }
        }
        Ok(aggregate)
    }

    /// Loads, changes and saves an envelope, retrying when a concurrent change wins the race.
    /// `change` answers `None` when it changed nothing (nothing is saved), or the jobs to
    /// enqueue with the change.
    async fn update_envelope<F>(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
        kind: EventKind,
        mut change: F,
    ) -> CoreResult<(EnvelopeAggregate, bool)>
    where
        F: FnMut(&mut EnvelopeAggregate, OffsetDateTime) -> CoreResult<Option<Vec<NewJob>>> + Send,
    {
        let actor = (caller.actor.clone(), caller.ip);
        self.change_envelope(&caller.tenant.id, id, kind, actor, &mut change)
            .await
    }

    /// [`Core::update_envelope`] for any actor (the operator, jobs).
    pub(crate) async fn change_envelope<F>(
        &self,
        tenant: &TenantId,
        id: &EnvelopeId,
        kind: EventKind,
        (actor, ip): (Actor, Option<IpAddr>),
        change: &mut F,
    ) -> CoreResult<(EnvelopeAggregate, bool)>
    where
        F: FnMut(&mut EnvelopeAggregate, OffsetDateTime) -> CoreResult<Option<Vec<NewJob>>> + Send,
    {
        for _ in 0..SAVE_ATTEMPTS {
            let mut aggregate = self
                .store
                .envelope(tenant, id)
                .await?
                .ok_or(CoreError::NotFound)?;
            let now = self.clock.now();
            let Some(jobs) = change(&mut aggregate, now)? else {
                return Ok((aggregate, false));
            };
            let mut event = self.event(*tenant, kind, actor.clone(), ip);
            event.envelope_id = Some(*id);
            event.data = serde_json::json!({ "state": aggregate.envelope.state });
            match self.store.save_envelope(&aggregate, &[event], &jobs).await {
                Ok(()) => {
                    aggregate.envelope.version += 1;
                    return Ok((aggregate, true));
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CoreError::Unexpected(anyhow::anyhow!(
            "too much contention saving the envelope"
        )))
    }

    /// Streams a stored document of the caller's tenant, recording the retrieval.
    pub async fn document_content(
        &self,
        caller: &Caller,
        document: &DocumentId,
    ) -> CoreResult<(Document, StoredContent, ByteStream)> {
        require_active(&caller.tenant)?;
        let aggregate = self
            .store
            .tenant_envelope_of_document(&caller.tenant.id, document)
            .await?
            .ok_or(CoreError::NotFound)?;
        let doc = aggregate
            .documents
            .into_iter()
            .find(|d| d.id == *document)
            .ok_or(CoreError::NotFound)?;
        let content = doc.stored().cloned().ok_or(CoreError::NotFound)?;
        let stream = self.blobs.get(&content.blob).await?;
        let mut event =
            self.caller_event(caller, EventKind::DocumentRetrieved, aggregate.envelope.id);
        event.document_id = Some(doc.id);
        event.data = serde_json::json!({ "sha256": content.sha256 });
        self.store.append_events(&[event]).await?;
        Ok((doc, content, stream))
    }

    /// What the tenant knows about a recipient.
    pub async fn contact(&self, caller: &Caller, email: &Email) -> CoreResult<Contact> {
        require_active(&caller.tenant)?;
        let contact = self
            .store
            .contact(&caller.tenant.id, email)
            .await?
            .ok_or(CoreError::NotFound)?;
        let mut event = self.event(
            caller.tenant.id,
            EventKind::ContactViewed,
            caller.actor.clone(),
            caller.ip,
        );
        event.data = serde_json::json!({ "email": email });
        self.store.append_events(&[event]).await?;
        Ok(contact)
    }

    /// The events recorded for an envelope of the caller's tenant.
    pub async fn envelope_events(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
    ) -> CoreResult<Vec<Event>> {
        require_active(&caller.tenant)?;
        Ok(self.store.envelope_events(&caller.tenant.id, id).await?)
    }
}

fn check_receivable(
    aggregate: &EnvelopeAggregate,
    document: &DocumentId,
    now: OffsetDateTime,
) -> CoreResult<()> {
    crate::lifecycle::next_state(
        aggregate.envelope.state,
        crate::lifecycle::Transition::ReceiveDocument,
    )
    .map_err(|e| CoreError::StateConflict(e.to_string()))?;
    if now > aggregate.envelope.upload_deadline {
        return Err(CoreError::Expired);
    }
    match aggregate.documents.iter().find(|d| d.id == *document) {
        None => Err(CoreError::NotFound),
        Some(d) if !matches!(d.content, DocumentContent::Pending) => {
            Err(CoreError::AlreadyUploaded)
        }
        Some(_) => Ok(()),
    }
}

fn receive_error(err: ReceiveError) -> CoreError {
    match err {
        ReceiveError::NotAllowed(e) => CoreError::StateConflict(e.to_string()),
        ReceiveError::UnknownDocument => CoreError::NotFound,
        ReceiveError::AlreadyUploaded => CoreError::AlreadyUploaded,
        ReceiveError::DeadlinePassed => CoreError::Expired,
    }
}

/// A media type guessed from a file name, for uploads that do not say.
pub fn media_type_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "tif" | "tiff" => "image/tiff",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        _ => "application/octet-stream",
    }
}
