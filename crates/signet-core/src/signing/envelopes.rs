//! Signing envelopes, as use-cases: the sender creates, reads, lists, voids and reminds; a
//! participant acts through their signing link; Signet's own timers and jobs move the rest.
//!
//! Every change goes the same way: load the envelope, let the pure lifecycle
//! ([`super::lifecycle`]) decide, then save the new state with the events it recorded (as
//! transparency-log events) and the durable jobs its effects call for, in one transaction under
//! the envelope's version. A concurrent change makes the save conflict; the command is then
//! decided again on the fresh state, so two acts never interleave.

use std::collections::BTreeMap;

use sha2::Digest as _;

use super::library::LibraryDocument;
use super::lifecycle::{self, EnvelopeDraft};
use super::model::{
    Actor as SigningActor, AuthPolicy, Command, Effect, EnvelopeStatus, EventKind as SigningKind,
    Notice, Origin, Outcome, Reason, Role, SignEnvelope, SigningEvent, Timer,
};
use super::versions::{SignVersion, SignVersionKind, current_version};
use crate::blob::ByteStream;
use crate::error::{CoreError, CoreResult};
use crate::ids::{DocumentId, EnvelopeId, EventId, ParticipantId, TenantId};
use crate::jobs::{JobKind, NewJob, SigningMailJob, SigningTimerJob};
use crate::model::{Actor, Event, EventKind, Feature, Tenant};
use crate::ports::{Caller, Core, require_active};
use crate::store::{IdempotencyRecord, StoreError, StoredSignEnvelope};
use crate::webhooks::{Notification, SigningUpdate, webhook_job};

/// How often a command is decided again after its save conflicted with another change.
const SAVE_ATTEMPTS: usize = 8;
/// The operation name idempotency keys of envelope creation are kept under.
const CREATE_OPERATION: &str = "envelope.create";
/// The most envelopes one list call answers.
pub const MAX_LIST_LIMIT: u32 = 200;

/// A sender's request for a new envelope.
#[derive(Debug, Clone)]
pub struct NewSignEnvelope {
    /// What to create.
    pub draft: EnvelopeDraft,
    /// Where the request came from.
    pub origin: Origin,
    /// The client's `Idempotency-Key`: a repeat of the same request answers the envelope the
    /// first one made; the same key with a different request is refused.
    pub idempotency_key: Option<String>,
}

/// An envelope as its sender sees it.
#[derive(Debug, Clone)]
pub struct EnvelopeView {
    /// The envelope.
    pub envelope: SignEnvelope,
    /// Each participant's signing link, in envelope order.
    pub signing_urls: Vec<(ParticipantId, String)>,
    /// Each envelope document's current version (the latest signed or sealed one, else the
    /// document itself), in envelope order.
    pub current: Vec<LibraryDocument>,
    /// Every version the envelope made, oldest first.
    pub versions: Vec<SignVersion>,
    /// The sealed result of each signed document, once sealed.
    pub results: Vec<LibraryDocument>,
    /// The completion certificate, once made.
    pub certificate: Option<LibraryDocument>,
}

/// One recorded act of an envelope, with its leaf in the transparency log.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSigningEvent {
    /// The RFC 9162 leaf hash of the event's record (its `transaction_hash`).
    pub leaf_hash: [u8; 32],
    /// The event's id in the log.
    pub event_id: EventId,
    /// What happened.
    pub event: SigningEvent,
}

/// The transparency-log kind of a signing event.
fn ledger_kind(kind: &SigningKind) -> EventKind {
    match kind {
        SigningKind::Created => EventKind::SigningCreated,
        SigningKind::Invited { .. } => EventKind::SigningInvited,
        SigningKind::Opened { .. } => EventKind::SigningOpened,
        SigningKind::CodeSent { .. } => EventKind::SigningCodeSent,
        // The signer app's guard records these, with the portal's words for the same acts.
        SigningKind::CodeRejected { .. } => EventKind::AuthenticationFailed,
        SigningKind::Locked { .. } => EventKind::LinkLocked,
        SigningKind::Authenticated { .. } => EventKind::SigningAuthenticated,
        SigningKind::FieldFilled { .. } => EventKind::SigningFieldFilled,
        SigningKind::Signed { .. } => EventKind::SigningSigned,
        SigningKind::Declined { .. } => EventKind::SigningDeclined,
        SigningKind::Voided { .. } => EventKind::SigningVoided,
        SigningKind::Reminded { .. } => EventKind::SigningReminded,
        SigningKind::Released { .. } => EventKind::SigningReleased,
        SigningKind::Completed => EventKind::SigningCompleted,
        SigningKind::Expired => EventKind::SigningExpired,
        SigningKind::Sealed => EventKind::SigningSealed,
    }
}

/// The participant an event concerns.
fn event_participant(kind: &SigningKind) -> Option<ParticipantId> {
    match kind {
        SigningKind::Invited { participant }
        | SigningKind::Opened { participant }
        | SigningKind::CodeSent { participant, .. }
        | SigningKind::CodeRejected { participant, .. }
        | SigningKind::Locked { participant, .. }
        | SigningKind::Authenticated { participant, .. }
        | SigningKind::FieldFilled { participant, .. }
        | SigningKind::Signed { participant, .. }
        | SigningKind::Declined { participant, .. }
        | SigningKind::Reminded { participant }
        | SigningKind::Released { participant } => Some(*participant),
        _ => None,
    }
}

/// The operation a sender's command's idempotency keys are kept under.
fn command_operation(command: &Command) -> &'static str {
    match command {
        Command::Void { .. } => "envelope.void",
        Command::Remind => "envelope.remind",
        _ => "envelope.command",
    }
}

/// The request digest a command's idempotency key is bound to: the envelope and the command as
/// the core parsed it (a void's reason included).
fn command_digest(id: &EnvelopeId, command: &Command) -> String {
    hex::encode(sha2::Sha256::digest(
        format!("{id}\n{command:?}").as_bytes(),
    ))
}

/// The request digest an idempotency key is bound to: the draft as the core parsed it. `Debug`
/// writes every field, in declaration order, so equal drafts digest equally.
fn draft_digest(draft: &EnvelopeDraft) -> String {
    hex::encode(sha2::Sha256::digest(format!("{draft:?}").as_bytes()))
}

/// The authentication methods the tenant may invite signers with: the channels its plan pays
/// for, and `none` (recorded as such) unless the operator requires a code for this tenant.
fn auth_policy(tenant: &Tenant) -> AuthPolicy {
    AuthPolicy {
        allow_none: !tenant.plan.signer_auth_required,
        allow_sms: tenant.plan.allows(Feature::Sms),
        allow_voice: tenant.plan.allows(Feature::Voice),
    }
}

/// The jobs that make an envelope's versions: a signature for each signer who just signed,
/// then the seal when the envelope just completed. The seal shares an ordering key with the
/// signature enqueued with it (the last one), so a worker does not take the seal while that
/// signature is pending or running: the seal finds it applied instead of failing and waiting
/// out the retry backoff. (Without the key, a seal claimed first — same time, arbitrary order —
/// found the signature missing and was retried 5 s later: every envelope was sealed seconds
/// late, after a failed job.) Earlier signatures are not keyed: they wait for each other in
/// the order the signers' finishing times give, which need not be the order of their jobs, and
/// a queue order disagreeing with it would hold both back.
fn version_jobs(
    tenant_id: TenantId,
    envelope_id: EnvelopeId,
    signed: impl IntoIterator<Item = ParticipantId>,
    seal: bool,
    now: time::OffsetDateTime,
) -> Vec<NewJob> {
    let order = format!("sign-seal:{envelope_id}");
    let mut jobs: Vec<NewJob> = signed
        .into_iter()
        .map(|participant| {
            NewJob::at(
                JobKind::ApplySignature {
                    tenant_id,
                    envelope_id,
                    participant_id: participant,
                },
                now,
            )
            .deduplicated(format!("sign-apply:{participant}"))
        })
        .collect();
    if seal {
        if let Some(last) = jobs.pop() {
            jobs.push(last.ordered(order.clone()));
        }
        jobs.push(
            NewJob::at(
                JobKind::SealSignEnvelope {
                    tenant_id,
                    envelope_id,
                },
                now,
            )
            .deduplicated(format!("sign-seal:{envelope_id}"))
            .ordered(order),
        );
    }
    jobs
}

impl Core {
    /// Turns a signing event into its transparency-log record. `sender` is how the tenant is
    /// recorded when it acted (through whichever API).
    pub(super) fn signing_ledger_event(
        &self,
        envelope: &SignEnvelope,
        event: &SigningEvent,
        sender: &Actor,
    ) -> Event {
        let actor = match event.actor {
            SigningActor::Sender => sender.clone(),
            SigningActor::Participant(id) => Actor::Participant {
                participant_id: id.to_string(),
            },
            _ => Actor::System,
        };
        Event {
            id: EventId::generate(),
            tenant_id: envelope.tenant_id,
            envelope_id: Some(envelope.id),
            participant_id: event_participant(&event.kind),
            document_id: None,
            kind: ledger_kind(&event.kind),
            actor,
            ip: event.origin.ip,
            at: event.at,
            data: serde_json::to_value(event).unwrap_or(serde_json::Value::Null),
        }
    }

    /// The durable jobs an outcome's effects and events call for.
    fn signing_jobs(&self, outcome: &Outcome) -> CoreResult<Vec<NewJob>> {
        let envelope = &outcome.envelope;
        let (tenant_id, envelope_id) = (envelope.tenant_id, envelope.id);
        let now = self.clock.now();
        let mail = |participant: ParticipantId, kind: SigningMailJob| {
            let dedupe = format!("sign-mail:{participant}:{}", kind.as_str());
            NewJob::at(
                JobKind::SigningMail {
                    tenant_id,
                    envelope_id,
                    participant_id: participant,
                    message: kind,
                },
                now,
            )
            .deduplicated(dedupe)
        };
        let mut jobs = Vec::new();
        for effect in &outcome.effects {
            match effect {
                Effect::Invite(participants) => {
                    jobs.extend(
                        participants
                            .iter()
                            .map(|p| mail(*p, SigningMailJob::Invitation)),
                    );
                }
                Effect::Remind(participants) => {
                    jobs.extend(
                        participants
                            .iter()
                            .map(|p| mail(*p, SigningMailJob::Reminder)),
                    );
                }
                Effect::DeliverResult(participants) => {
                    jobs.extend(
                        participants
                            .iter()
                            .map(|p| mail(*p, SigningMailJob::Completed)),
                    );
                }
                Effect::InformEnded(participants) => {
                    jobs.extend(participants.iter().map(|p| mail(*p, SigningMailJob::Ended)));
                }
                // Enqueued with the signatures, below.
                Effect::Seal => {}
                Effect::Notify(notice) => {
                    let (update, participant) = match notice {
                        Notice::Signed(p) => (SigningUpdate::Signed, Some(*p)),
                        Notice::Completed => (SigningUpdate::Completed, None),
                        Notice::Declined(p) => (SigningUpdate::Declined, Some(*p)),
                        Notice::Voided => (SigningUpdate::Voided, None),
                        Notice::Expired => (SigningUpdate::Expired, None),
                        _ => (SigningUpdate::Sealed, None),
                    };
                    let notification = Notification::Signing {
                        envelope: envelope_id,
                        update,
                        participant,
                        status: envelope.status.as_str(),
                    };
                    jobs.push(webhook_job(
                        self.notification_renderer(),
                        tenant_id,
                        &notification,
                        format!("msg_{}", hex::encode(rand::random::<[u8; 16]>())),
                        now,
                    )?);
                }
                Effect::Schedule { at, timer } => {
                    let timer = match timer {
                        Timer::Expire => SigningTimerJob::Expire,
                        _ => SigningTimerJob::Reminders,
                    };
                    jobs.push(
                        NewJob::at(
                            JobKind::SigningTimer {
                                tenant_id,
                                envelope_id,
                                timer,
                            },
                            *at,
                        )
                        .deduplicated(format!(
                            "sign-timer:{envelope_id}:{}:{}",
                            timer.as_str(),
                            at.unix_timestamp()
                        )),
                    );
                }
                // Codes are generated, kept and sent by the signer's access rules, which know
                // the participant's guard; the lifecycle's effect only records that one is due.
                Effect::SendCode { .. } => {}
            }
        }
        // A signer's act becomes a signature on the documents, made by a job: a time-stamp
        // authority that is down delays it, never loses it.
        let signed = outcome.events.iter().filter_map(|event| match event.kind {
            SigningKind::Signed {
                participant,
                role: Role::Signer,
            } => Some(participant),
            _ => None,
        });
        let seal = outcome.effects.iter().any(|e| matches!(e, Effect::Seal));
        jobs.extend(version_jobs(tenant_id, envelope_id, signed, seal, now));
        Ok(jobs)
    }

    /// Decides `command` on the envelope `load` answers and saves the outcome, deciding again on
    /// the fresh state when a concurrent change got there first. A refusal changes nothing.
    pub(crate) async fn run_sign_command<L, F>(
        &self,
        load: L,
        command: Command,
        origin: &Origin,
        sender: &Actor,
    ) -> CoreResult<SignEnvelope>
    where
        L: Fn() -> F,
        F: std::future::Future<Output = CoreResult<StoredSignEnvelope>>,
    {
        self.run_recorded_sign_command(load, command, origin, sender, None)
            .await
    }

    /// [`Self::run_sign_command`], storing `idempotency` with the change it made, in its
    /// transaction ([`CoreError`] from [`StoreError::Duplicate`] when the key is taken).
    async fn run_recorded_sign_command<L, F>(
        &self,
        load: L,
        command: Command,
        origin: &Origin,
        sender: &Actor,
        idempotency: Option<&IdempotencyRecord>,
    ) -> CoreResult<SignEnvelope>
    where
        L: Fn() -> F,
        F: std::future::Future<Output = CoreResult<StoredSignEnvelope>>,
    {
        for _ in 0..SAVE_ATTEMPTS {
            let stored = load().await?;
            let now = self.clock.now();
            let outcome = match lifecycle::apply(&stored.envelope, command.clone(), origin, now) {
                Ok(outcome) => outcome,
                // The expiry passed but its timer has not run yet: expire now, then refuse.
                Err(lifecycle::Refusal::ExpiryPassed) => {
                    let expired = lifecycle::apply(
                        &stored.envelope,
                        Command::Expire,
                        &Origin::default(),
                        now,
                    )?;
                    match self.save_outcome(&stored, &expired, sender, None).await {
                        Ok(()) | Err(CoreError::StateConflict(_)) => {}
                        Err(e) => return Err(e),
                    }
                    return Err(lifecycle::Refusal::Closed(EnvelopeStatus::Expired).into());
                }
                Err(refusal) => return Err(refusal.into()),
            };
            match self
                .save_outcome(&stored, &outcome, sender, idempotency)
                .await
            {
                Ok(()) => return Ok(outcome.envelope),
                Err(CoreError::StateConflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CoreError::StateConflict(
            "the envelope is changing too fast; try again".into(),
        ))
    }

    /// Saves an outcome under the version it was decided on: [`CoreError::StateConflict`] when
    /// the envelope changed meanwhile.
    async fn save_outcome(
        &self,
        stored: &StoredSignEnvelope,
        outcome: &Outcome,
        sender: &Actor,
        idempotency: Option<&IdempotencyRecord>,
    ) -> CoreResult<()> {
        let events: Vec<Event> = outcome
            .events
            .iter()
            .map(|e| self.signing_ledger_event(&outcome.envelope, e, sender))
            .collect();
        let mut jobs = self.signing_jobs(outcome)?;
        jobs.extend(self.sender_status_jobs(outcome).await?);
        match self
            .store
            .save_sign_envelope(
                &outcome.envelope,
                stored.version,
                idempotency,
                &events,
                &jobs,
            )
            .await
        {
            Ok(()) => {
                if !jobs.is_empty() {
                    self.wake_worker();
                }
                Ok(())
            }
            Err(StoreError::Conflict) => Err(CoreError::StateConflict("changed meanwhile".into())),
            Err(e) => Err(e.into()),
        }
    }

    async fn caller_envelope(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
    ) -> CoreResult<StoredSignEnvelope> {
        require_active(&caller.tenant)?;
        self.stored_sign_envelope(&caller.tenant.id, id).await
    }

    /// The tenant's envelope with its version, [`CoreError::NotFound`] when there is none: what
    /// every command on an envelope loads (again after a conflict).
    pub(crate) async fn stored_sign_envelope(
        &self,
        tenant: &TenantId,
        id: &EnvelopeId,
    ) -> CoreResult<StoredSignEnvelope> {
        self.store
            .sign_envelope(tenant, id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// The sender's view of an envelope: links, current versions, results.
    async fn envelope_view(&self, envelope: SignEnvelope) -> CoreResult<EnvelopeView> {
        let tenant = envelope.tenant_id;
        let versions = self.store.sign_versions(&tenant, &envelope.id).await?;
        let mut current = Vec::with_capacity(envelope.documents.len());
        let mut results = Vec::new();
        for document in &envelope.documents {
            let id = current_version(&versions, document.document);
            let stored = self
                .store
                .library_document(&tenant, &id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("version {id} of an envelope is missing"))?;
            if versions
                .iter()
                .any(|v| v.version == id && v.kind == SignVersionKind::Sealed)
            {
                results.push(stored.document.clone());
            }
            current.push(stored.document);
        }
        let certificate = match versions
            .iter()
            .find(|v| v.kind == SignVersionKind::Certificate)
        {
            Some(v) => self
                .store
                .library_document(&tenant, &v.version)
                .await?
                .map(|s| s.document),
            None => None,
        };
        let signing_urls = envelope
            .participants
            .iter()
            .map(|p| (p.id, self.signing_url(&p.id)))
            .collect();
        Ok(EnvelopeView {
            envelope,
            signing_urls,
            current,
            versions,
            results,
            certificate,
        })
    }

    /// Creates an envelope from the caller's library documents and opens it: whoever waits for
    /// nobody is invited at once; the expiry and the first reminders are scheduled.
    pub async fn create_sign_envelope(
        &self,
        caller: &Caller,
        new: NewSignEnvelope,
    ) -> CoreResult<EnvelopeView> {
        require_active(&caller.tenant)?;
        let record = new
            .idempotency_key
            .clone()
            .map(|key| -> CoreResult<IdempotencyRecord> {
                Ok(IdempotencyRecord {
                    operation: CREATE_OPERATION,
                    key: super::service::checked_idempotency_key(key)?,
                    request_digest: draft_digest(&new.draft),
                })
            })
            .transpose()?;
        if let Some(record) = &record
            && let Some(existing) = self.replayed_envelope(caller, record).await?
        {
            return Ok(existing);
        }
        let mut pages = BTreeMap::new();
        for document in &new.draft.documents {
            if let Some(stored) = self
                .store
                .library_document(&caller.tenant.id, &document.document)
                .await?
                && stored.blob.is_some()
                && let Some(count) = stored.document.pages
            {
                pages.insert(document.document, count);
            } else if let Some(stored) = self
                .store
                .library_document(&caller.tenant.id, &document.document)
                .await?
                && stored.awaited
            {
                // Its bytes arrive later; the fields' pages are checked then.
                pages.insert(document.document, super::model::PAGES_AWAITED);
            }
        }
        let outcome = lifecycle::create(
            EnvelopeId::generate(),
            caller.tenant.id,
            new.draft,
            &pages,
            auth_policy(&caller.tenant),
            &new.origin,
            self.clock.now(),
        )
        .map_err(|e| CoreError::InvalidField {
            field: e.location,
            message: e.problem.to_string(),
        })?;
        let events: Vec<Event> = outcome
            .events
            .iter()
            .map(|e| self.signing_ledger_event(&outcome.envelope, e, &caller.actor))
            .collect();
        let jobs = self.signing_jobs(&outcome)?;
        match self
            .store
            .insert_sign_envelope(&outcome.envelope, record.as_ref(), &events, &jobs)
            .await
        {
            Ok(()) => {}
            // A concurrent request with the same key stored first: answer as its repeat.
            Err(StoreError::Duplicate) if record.is_some() => {
                let record = record
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("no record"))?;
                return self
                    .replayed_envelope(caller, record)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("idempotency key lost").into());
            }
            Err(e) => return Err(e.into()),
        }
        self.wake_worker();
        self.envelope_view(outcome.envelope).await
    }

    /// The envelope an earlier request with the same idempotency key made, if any; a conflict
    /// when the key was used for a different request.
    async fn replayed_envelope(
        &self,
        caller: &Caller,
        record: &IdempotencyRecord,
    ) -> CoreResult<Option<EnvelopeView>> {
        let Some((digest, id)) = self
            .store
            .idempotent_resource(&caller.tenant.id, record.operation, &record.key)
            .await?
        else {
            return Ok(None);
        };
        if digest != record.request_digest {
            return Err(CoreError::StateConflict(
                "this Idempotency-Key was already used for a different request".into(),
            ));
        }
        let id: EnvelopeId = id
            .parse()
            .map_err(|_| anyhow::anyhow!("stored idempotent resource id {id:?} is not an id"))?;
        Ok(Some(self.sign_envelope(caller, &id).await?))
    }

    /// The caller's envelope.
    pub async fn sign_envelope(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
    ) -> CoreResult<EnvelopeView> {
        let stored = self.caller_envelope(caller, id).await?;
        self.envelope_view(stored.envelope).await
    }

    /// The caller's envelopes, oldest first, in `status` if given, after the envelope `after`
    /// (the cursor), at most `limit` (capped at [`MAX_LIST_LIMIT`]).
    pub async fn list_sign_envelopes(
        &self,
        caller: &Caller,
        status: Option<EnvelopeStatus>,
        after: Option<&EnvelopeId>,
        limit: u32,
    ) -> CoreResult<Vec<SignEnvelope>> {
        require_active(&caller.tenant)?;
        Ok(self
            .store
            .list_sign_envelopes(
                &caller.tenant.id,
                status,
                after,
                limit.clamp(1, MAX_LIST_LIMIT),
            )
            .await?)
    }

    /// Runs a sender's command on the caller's envelope.
    ///
    /// With an idempotency key, a repeat of the same command on the same envelope answers the
    /// envelope as it is now and changes nothing (a second void is not refused, a second remind
    /// reminds nobody); the key used for another command or envelope is a conflict.
    async fn sender_command(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
        command: Command,
        origin: Origin,
        idempotency_key: Option<String>,
    ) -> CoreResult<EnvelopeView> {
        self.caller_envelope(caller, id).await?;
        let record = idempotency_key
            .map(|key| -> CoreResult<IdempotencyRecord> {
                Ok(IdempotencyRecord {
                    operation: command_operation(&command),
                    key: super::service::checked_idempotency_key(key)?,
                    request_digest: command_digest(id, &command),
                })
            })
            .transpose()?;
        if let Some(record) = &record
            && let Some(existing) = self.replayed_envelope(caller, record).await?
        {
            return Ok(existing);
        }
        let result = self
            .run_recorded_sign_command(
                || self.caller_envelope(caller, id),
                command,
                &origin,
                &caller.actor,
                record.as_ref(),
            )
            .await;
        match (result, &record) {
            (Ok(envelope), _) => self.envelope_view(envelope).await,
            // A concurrent request with the same key stored first: answer as its repeat.
            (Err(e), Some(record)) => match self.replayed_envelope(caller, record).await? {
                Some(existing) => Ok(existing),
                None => Err(e),
            },
            (Err(e), None) => Err(e),
        }
    }

    /// Voids the caller's open envelope: everyone still pending is told; a final envelope is
    /// refused ([`CoreError::Refused`]).
    pub async fn void_sign_envelope(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
        reason: Reason,
        origin: Origin,
        idempotency_key: Option<String>,
    ) -> CoreResult<EnvelopeView> {
        self.sender_command(
            caller,
            id,
            Command::Void { reason },
            origin,
            idempotency_key,
        )
        .await
    }

    /// Reminds every participant whose turn it is and who has not acted.
    pub async fn remind_sign_envelope(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
        origin: Origin,
        idempotency_key: Option<String>,
    ) -> CoreResult<EnvelopeView> {
        self.sender_command(caller, id, Command::Remind, origin, idempotency_key)
            .await
    }

    /// The envelope's acts, oldest first, each with its transparency-log leaf hash.
    pub async fn sign_envelope_events(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
    ) -> CoreResult<Vec<RecordedSigningEvent>> {
        self.caller_envelope(caller, id).await?;
        let events = self.store.envelope_events(&caller.tenant.id, id).await?;
        Ok(events
            .into_iter()
            .filter_map(|event| {
                let signing: SigningEvent = serde_json::from_value(event.data.clone()).ok()?;
                Some(RecordedSigningEvent {
                    leaf_hash: crate::evidence::leaf_hash(&event),
                    event_id: event.id,
                    event: signing,
                })
            })
            .collect())
    }

    /// The sealed result of one signed document (the first when `document` is not given);
    /// [`CoreError::StateConflict`] until the envelope is sealed.
    pub async fn sign_envelope_result(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
        document: Option<&DocumentId>,
    ) -> CoreResult<(LibraryDocument, ByteStream)> {
        let view = self.sign_envelope(caller, id).await?;
        if view.envelope.sealed_at.is_none() {
            return Err(CoreError::StateConflict(format!(
                "the envelope is {} and not sealed yet",
                view.envelope.status.as_str()
            )));
        }
        let wanted = match document {
            Some(document) => view
                .versions
                .iter()
                .find(|v| {
                    v.kind == SignVersionKind::Sealed && v.document.as_ref() == Some(document)
                })
                .map(|v| v.version)
                .ok_or(CoreError::NotFound)?,
            None => view
                .results
                .first()
                .map(|d| d.id)
                .ok_or(CoreError::NotFound)?,
        };
        self.version_content(&caller.tenant.id, &wanted).await
    }

    /// The completion certificate; [`CoreError::StateConflict`] until it is made.
    pub async fn sign_envelope_certificate(
        &self,
        caller: &Caller,
        id: &EnvelopeId,
    ) -> CoreResult<(LibraryDocument, ByteStream)> {
        let view = self.sign_envelope(caller, id).await?;
        let certificate = view.certificate.ok_or_else(|| {
            CoreError::StateConflict(format!(
                "the envelope is {} and has no certificate yet",
                view.envelope.status.as_str()
            ))
        })?;
        self.version_content(&caller.tenant.id, &certificate.id)
            .await
    }

    pub(crate) async fn version_content(
        &self,
        tenant: &TenantId,
        id: &DocumentId,
    ) -> CoreResult<(LibraryDocument, ByteStream)> {
        let stored = self
            .store
            .library_document(tenant, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        let key = stored.blob.ok_or(CoreError::ContentDeleted)?;
        Ok((stored.document, self.blobs.get(&key).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seal comes after the signature enqueued with it and waits for it through the
    /// ordering key; the other signatures keep no queue order.
    #[test]
    fn the_seal_waits_for_the_signature_enqueued_with_it() {
        let (tenant, envelope) = (TenantId::random(), EnvelopeId::generate());
        let (ana, ben) = (ParticipantId::generate(), ParticipantId::generate());
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let apply = |participant| JobKind::ApplySignature {
            tenant_id: tenant,
            envelope_id: envelope,
            participant_id: participant,
        };
        let seal = JobKind::SealSignEnvelope {
            tenant_id: tenant,
            envelope_id: envelope,
        };
        let jobs = version_jobs(tenant, envelope, [ana, ben], true, now);
        let kinds: Vec<_> = jobs.iter().map(|j| j.kind.clone()).collect();
        assert_eq!(kinds, vec![apply(ana), apply(ben), seal.clone()]);
        let order = format!("sign-seal:{envelope}");
        let keys: Vec<_> = jobs.iter().map(|j| j.ordering_key.clone()).collect();
        assert_eq!(keys, vec![None, Some(order.clone()), Some(order)]);
        assert!(jobs.iter().all(|j| j.run_at == now));
        assert_eq!(
            jobs.iter()
                .map(|j| j.dedupe_key.clone().unwrap_or_default())
                .collect::<Vec<_>>(),
            vec![
                format!("sign-apply:{ana}"),
                format!("sign-apply:{ben}"),
                format!("sign-seal:{envelope}"),
            ]
        );
        // A signature without completion keeps no order; another envelope's seal has its own.
        let alone = version_jobs(tenant, envelope, [ana], false, now);
        assert_eq!(alone.len(), 1);
        assert_eq!(alone[0].ordering_key, None);
        let other = EnvelopeId::generate();
        let elsewhere = version_jobs(tenant, other, [ana], true, now);
        assert_eq!(
            elsewhere[1].ordering_key,
            Some(format!("sign-seal:{other}"))
        );
        // Completion without a signature (an approver's): the seal alone.
        let kinds: Vec<_> = version_jobs(tenant, envelope, [], true, now)
            .into_iter()
            .map(|j| j.kind)
            .collect();
        assert_eq!(kinds, vec![seal]);
        assert!(version_jobs(tenant, envelope, [], false, now).is_empty());
    }
}
