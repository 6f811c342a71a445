//! The signer app's access rules: who may see and do what through a signing link. The pages
//! live in `signet-api` (`signer/`); the envelope's own rules (turn, state, order, fields,
//! completion) live in [`super::lifecycle`] and are reached only through
//! [`Core::act_as_participant`], never re-implemented here.
//!
//! What this module adds on top of the lifecycle:
//! - a **guard** per participant ([`SignerGuard`]): one-time codes (stored as an HMAC, sent by
//!   e-mail or through the phone port by a durable job), the resend limit per window, and the
//!   lock after [`PortalSettings::max_failed_attempts`] wrong codes. Attempts are counted on the
//!   guard, saved with an optimistic version, and a verdict is revealed only once its attempt
//!   was committed: any number of concurrent guesses gets at most that many wrong codes in;
//! - **sessions**: a successful proof starts a browser session whose token only the browser
//!   holds (the store keeps its SHA-256); every later act needs it, and it is bound to the one
//!   participant who started it;
//! - **form tokens**: each form carries a nonce MAC'd with the session, claimed once, so a
//!   cross-site or replayed post does nothing;
//! - **page images**: every page of every document rendered on the server for review, kept in
//!   a small in-process LRU per document version, page and width.

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use secrecy::SecretString;
use time::OffsetDateTime;

use super::fields::{FieldValue, ImageRef, ImageType};
use super::library::LibraryDocument;
use super::lifecycle::waiting_for;
use super::model::{
    Actor as SigningActor, AuthMethod, Command, EnvelopeStatus, EventKind, Origin, Participant,
    ParticipantState, PersonName, Reason, Role, SignEnvelope, SigningEvent,
};
use super::versions::{SignVersionKind, current_version};
use crate::access::links::link_token_hash;
use crate::access::settings::PortalSettings;
use crate::blob::ByteStream;
use crate::crypto::{constant_time_eq, hmac_sha256};
use crate::error::{CoreError, CoreResult};
use crate::ids::{DocumentId, ParticipantId};
use crate::jobs::{JobKind, NewJob};
use crate::ports::Core;
use crate::store::{SignerCode, SignerGuard, SignerSession, StoreError};
use crate::values::{Language, Sha256Digest};

const CODE_KEY_PURPOSE: &str = "signer-code";
/// Sealing purpose of codes waiting in the job table.
const CODE_JOB_PURPOSE: &str = "signer-code-job";
const FORM_KEY_PURPOSE: &str = "signer-form";
const SAVE_ATTEMPTS: usize = 8;
/// Widths a page may be rendered at: a few fixed sizes keep the cache small and useful.
pub const PAGE_WIDTHS: [u32; 3] = [480, 960, 1440];
/// Page images kept in memory per process.
const PAGE_CACHE_ENTRIES: usize = 64;

/// Where the participant stands, as the signer app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerStep {
    /// Their turn has not come: they wait for these people.
    Waiting {
        /// The names of those who must sign first.
        names: Vec<PersonName>,
    },
    /// Too many wrong codes; locked until then.
    Locked {
        /// When attempts are accepted again.
        until: OffsetDateTime,
    },
    /// They must prove who they are.
    Authenticate {
        /// How.
        method: AuthMethod,
        /// A code was sent and is still valid.
        code_pending: bool,
        /// Codes they may still ask for in the current window.
        codes_left: u32,
    },
    /// Authenticated: they review, fill and sign (or decline).
    Review,
    /// They signed (or approved).
    Signed,
    /// They declined.
    Declined,
    /// Enough others signed (k of n): nothing is asked of them any more.
    Released,
    /// The envelope ended before they acted (declined by another, voided, expired), or they
    /// only receive a copy.
    Closed(EnvelopeStatus),
}

/// What a participant sees when opening their link.
#[derive(Debug, Clone)]
pub struct SignerPage {
    /// The sender as participants know them.
    pub sender_name: String,
    /// The envelope.
    pub envelope: SignEnvelope,
    /// Whose link it is.
    pub participant: ParticipantId,
    /// Their language.
    pub language: Language,
    /// What comes next.
    pub step: SignerStep,
    /// The valid session the browser presented, if any.
    pub session: Option<SignerSession>,
    /// The file name of each envelope document.
    pub document_names: Vec<(DocumentId, String)>,
    /// The time of the view.
    pub now: OffsetDateTime,
}

impl SignerPage {
    /// The participant whose link it is.
    pub fn me(&self) -> CoreResult<&Participant> {
        self.envelope
            .participant(self.participant)
            .ok_or(CoreError::NotFound)
    }
}

/// The answer to asking for a code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeRequest {
    /// A code is on its way.
    Sent {
        /// How many more may be asked for in the current window.
        codes_left: u32,
    },
    /// The window's codes are spent.
    TooMany {
        /// When another may be asked for.
        retry_after: OffsetDateTime,
    },
    /// Too many wrong codes.
    Locked {
        /// Until when.
        until: OffsetDateTime,
    },
}

/// The answer to a proof of identity.
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// A session started: its token goes into a cookie and is shown only now.
    Authenticated {
        /// The session's token.
        token: SecretString,
        /// The session.
        session: SignerSession,
    },
    /// The code was wrong.
    Wrong {
        /// Attempts left before the lock.
        attempts_left: u32,
    },
    /// No code is waiting (none sent, or it expired).
    NoCode,
    /// Too many concurrent attempts: try again.
    Busy,
    /// Locked.
    Locked {
        /// Until when.
        until: OffsetDateTime,
    },
}

/// The answer to a form post that acts on the envelope.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FormAct {
    /// Done; the envelope afterwards.
    Done(Box<SignEnvelope>),
    /// The same form was posted before: nothing was done this time.
    Replayed,
}

impl Core {
    /// Opens a signing link: the envelope, where the participant stands and what comes next.
    /// The first opening is recorded (through the lifecycle, with `origin`). A forged or
    /// unknown token answers [`CoreError::NotFound`].
    pub async fn signer_page(
        &self,
        token: &str,
        session_token: Option<&str>,
        origin: &Origin,
    ) -> CoreResult<SignerPage> {
        let (mut envelope, participant) = self.participant_envelope(token).await?;
        let first_opening = envelope.status == EnvelopeStatus::Open
            && envelope
                .participant(participant)
                .is_some_and(|p| p.state == ParticipantState::Invited);
        if first_opening {
            envelope = self
                .act_as_participant(token, |participant| Command::Open { participant }, origin)
                .await?;
        }
        let guard = self.store().signer_guard(&participant).await?;
        let now = self.now();
        let session = self
            .valid_signer_session(&envelope, participant, session_token, now)
            .await?;
        let me = envelope
            .participant(participant)
            .ok_or(CoreError::NotFound)?;
        let step = step_of(
            &envelope,
            me,
            &guard,
            session.is_some(),
            &self.settings().portal,
            now,
        );
        let sender_name = self
            .store()
            .tenant(&envelope.tenant_id)
            .await?
            .map(|t| t.name)
            .unwrap_or_default();
        let mut document_names = Vec::with_capacity(envelope.documents.len());
        for doc in &envelope.documents {
            if let Some(stored) = self
                .store()
                .library_document(&envelope.tenant_id, &doc.document)
                .await?
            {
                document_names.push((doc.document, stored.document.name.as_str().to_owned()));
            }
        }
        Ok(SignerPage {
            document_names,
            sender_name,
            language: me.language,
            participant,
            step,
            session,
            envelope,
            now,
        })
    }

    /// The participant's envelope, their first opening recorded if a form is posted before any
    /// page was shown (a client without the page, or a page opened before their turn came).
    async fn opened(
        &self,
        token: &str,
        origin: &Origin,
    ) -> CoreResult<(SignEnvelope, ParticipantId)> {
        let (envelope, participant) = self.participant_envelope(token).await?;
        let invited = envelope.status == EnvelopeStatus::Open
            && envelope
                .participant(participant)
                .is_some_and(|p| p.state == ParticipantState::Invited);
        if !invited {
            return Ok((envelope, participant));
        }
        let envelope = self
            .act_as_participant(token, |participant| Command::Open { participant }, origin)
            .await?;
        Ok((envelope, participant))
    }

    /// A session that belongs to this participant of this envelope and has not ended.
    async fn valid_signer_session(
        &self,
        envelope: &SignEnvelope,
        participant: ParticipantId,
        session_token: Option<&str>,
        now: OffsetDateTime,
    ) -> CoreResult<Option<SignerSession>> {
        let Some(token) = session_token.filter(|t| is_token_shaped(t)) else {
            return Ok(None);
        };
        Ok(self
            .store()
            .signer_session(&link_token_hash(token))
            .await?
            .filter(|s| {
                s.participant_id == participant
                    && s.tenant_id == envelope.tenant_id
                    && s.expires_at > now
            }))
    }

    /// The envelope, participant and session of an authenticated request, or
    /// [`CoreError::Unauthenticated`].
    async fn signer_session_of(
        &self,
        token: &str,
        session_token: Option<&str>,
    ) -> CoreResult<(SignEnvelope, ParticipantId, SignerSession)> {
        let (envelope, participant) = self.participant_envelope(token).await?;
        let session = self
            .valid_signer_session(&envelope, participant, session_token, self.now())
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        Ok((envelope, participant, session))
    }

    fn signer_code_hmac(&self, participant: &ParticipantId, code: &str) -> [u8; 32] {
        let key = self.master().derive(CODE_KEY_PURPOSE);
        hmac_sha256(&key, format!("{participant}:{code}").as_bytes())
    }

    /// Sends the participant a fresh one-time code (replacing any earlier one) by their method,
    /// within the resend limit. The lifecycle decides whether they may ask now (their turn,
    /// their state) and records that a code was sent.
    pub async fn signer_request_code(
        &self,
        token: &str,
        origin: &Origin,
    ) -> CoreResult<CodeRequest> {
        let settings = self.settings().portal.clone();
        let (envelope, participant) = self.opened(token, origin).await?;
        let me = envelope
            .participant(participant)
            .ok_or(CoreError::NotFound)?;
        let method = me.auth;
        match method {
            AuthMethod::EmailCode if self.mail_sender().is_none() => {
                return Err(CoreError::Unexpected(anyhow::anyhow!(
                    "no mail transport is configured (set smtp_url and mail_from)"
                )));
            }
            AuthMethod::SmsCode | AuthMethod::VoiceCode if self.phone_sender().is_none() => {
                return Err(CoreError::Unexpected(anyhow::anyhow!(
                    "no SMS/voice provider is configured (set sms_url)"
                )));
            }
            AuthMethod::None => {
                return Err(CoreError::Invalid("this link needs no code".into()));
            }
            _ => {}
        }
        // Refused before the lifecycle records anything.
        let guard = self.store().signer_guard(&participant).await?;
        if let Some(refused) = code_refusal(&guard, &settings, self.now()) {
            return Ok(refused);
        }
        self.act_as_participant(
            token,
            |participant| Command::RequestCode { participant },
            origin,
        )
        .await?;
        for _ in 0..SAVE_ATTEMPTS {
            let mut guard = self.store().signer_guard(&participant).await?;
            let now = self.now();
            if let Some(refused) = code_refusal(&guard, &settings, now) {
                return Ok(refused);
            }
            release_expired_lock(&mut guard, now);
            open_window(&mut guard, &settings, now);
            let code = format!("{:06}", rand::random_range(0..1_000_000u32));
            let expires_at = now + settings.code_ttl;
            guard.code = Some(SignerCode {
                hmac: self.signer_code_hmac(&participant, &code),
                channel: method,
                expires_at,
            });
            guard.codes_sent += 1;
            let job = JobKind::SendSignerCode {
                tenant_id: envelope.tenant_id,
                envelope_id: envelope.id,
                participant_id: participant,
                sealed_code: hex::encode(self.master().seal(CODE_JOB_PURPOSE, code.as_bytes())),
                expires_at,
            };
            match self
                .store()
                .save_signer_guard(
                    &envelope.tenant_id,
                    &participant,
                    &guard,
                    None,
                    &[],
                    &[NewJob::at(job, now)],
                )
                .await
            {
                Ok(()) => {
                    self.wake_worker();
                    return Ok(CodeRequest::Sent {
                        codes_left: settings.max_codes.saturating_sub(guard.codes_sent),
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(busy())
    }

    /// Checks a proof of identity — the code, or nothing for a link whose method is `none`
    /// (recorded as such by the lifecycle) — and on success starts a session. Every wrong code
    /// counts towards the lock, and is committed before the answer is given.
    pub async fn signer_verify(
        &self,
        token: &str,
        code: Option<&str>,
        origin: &Origin,
    ) -> CoreResult<Verdict> {
        let settings = self.settings().portal.clone();
        let (envelope, participant) = self.opened(token, origin).await?;
        let me = envelope
            .participant(participant)
            .ok_or(CoreError::NotFound)?;
        let method = me.auth;
        // The lifecycle refuses out of turn, out of order or after the end, before any code is
        // judged (so a refused participant learns nothing about codes).
        let may_sign_in = me.role.acts() || me.role == Role::Viewer;
        if !may_sign_in || envelope.status.is_final() {
            return Err(CoreError::StateConflict(
                "this link can no longer be used to sign".into(),
            ));
        }
        for _ in 0..SAVE_ATTEMPTS {
            let mut guard = self.store().signer_guard(&participant).await?;
            let now = self.now();
            release_expired_lock(&mut guard, now);
            if let Some(until) = guard.locked_until {
                return Ok(Verdict::Locked { until });
            }
            let correct = match (method, code) {
                (AuthMethod::None, _) => true,
                (_, None) => return Err(CoreError::Invalid("the code is missing".into())),
                (_, Some(code)) => {
                    let Some(issued) = guard.code.as_ref().filter(|c| c.expires_at > now) else {
                        return Ok(Verdict::NoCode);
                    };
                    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
                    let candidate = self.signer_code_hmac(&participant, &code);
                    code.len() == 6 && is_live_code(issued, &candidate, now)
                }
            };
            let (verdict, session, token_text) = if correct {
                let token_text = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(rand::random::<[u8; 32]>());
                let session = SignerSession {
                    token_hash: link_token_hash(&token_text),
                    participant_id: participant,
                    tenant_id: envelope.tenant_id,
                    created_at: now,
                    expires_at: crate::portal::session_end(
                        now,
                        settings.session_ttl,
                        envelope.expires_at,
                    ),
                };
                guard.failed_attempts = 0;
                guard.code = None;
                guard.sessions_started += 1;
                (None, Some(session), Some(token_text))
            } else {
                guard.failed_attempts += 1;
                let verdict = if guard.failed_attempts >= settings.max_failed_attempts {
                    let until = now + settings.lockout;
                    guard.locked_until = Some(until);
                    guard.code = None;
                    Verdict::Locked { until }
                } else {
                    Verdict::Wrong {
                        attempts_left: settings.max_failed_attempts - guard.failed_attempts,
                    }
                };
                (Some(verdict), None, None)
            };
            // Every wrong code, and the lock it may cause, is an act on the envelope: it is
            // logged with the attempt it counts, in the same transaction, so the log holds
            // exactly the attempts that counted.
            let events: Vec<_> = failure_events(participant, verdict.as_ref())
                .into_iter()
                .map(|kind| {
                    let event = SigningEvent {
                        kind,
                        actor: SigningActor::Participant(participant),
                        at: now,
                        origin: origin.clone(),
                    };
                    self.signing_ledger_event(&envelope, &event, &crate::model::Actor::System)
                })
                .collect();
            match self
                .store()
                .save_signer_guard(
                    &envelope.tenant_id,
                    &participant,
                    &guard,
                    session.as_ref(),
                    &events,
                    &[],
                )
                .await
            {
                Ok(()) => {}
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
            if let Some(verdict) = verdict {
                return Ok(verdict);
            }
            // The proof held: the lifecycle records the authentication (with its method), or
            // refuses it (not their turn, envelope closed), in which case the session is of no
            // use — every act goes through the lifecycle again.
            self.act_as_participant(
                token,
                |participant| Command::Authenticate { participant },
                origin,
            )
            .await?;
            return match (session, token_text) {
                (Some(session), Some(token)) => Ok(Verdict::Authenticated {
                    token: SecretString::from(token),
                    session,
                }),
                _ => Err(busy()),
            };
        }
        Ok(Verdict::Busy)
    }

    /// A fresh form token for the session: a random nonce and its MAC under the session, so a
    /// form is good for that session only, and once ([`Core::signer_sign`] and
    /// [`Core::signer_decline`] claim it).
    pub fn signer_form_token(&self, session: &SignerSession) -> String {
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let mac = self.form_mac(&session.token_hash, &nonce);
        format!("{nonce}.{mac}")
    }

    fn form_mac(&self, session_hash: &Sha256Digest, nonce: &str) -> String {
        let key = self.master().derive(FORM_KEY_PURPOSE);
        hex::encode(
            &hmac_sha256(
                &key,
                format!("{}:{nonce}", session_hash.to_hex()).as_bytes(),
            )[..16],
        )
    }

    /// Checks a form token against the session and claims it: `Ok(false)` when it was used
    /// before (a replayed post), [`CoreError::Unauthenticated`] when it is not this session's.
    async fn claim_form(&self, session: &SignerSession, form_token: &str) -> CoreResult<bool> {
        let (nonce, mac) = form_token
            .split_once('.')
            .ok_or(CoreError::Unauthenticated)?;
        let expected = self.form_mac(&session.token_hash, nonce);
        if nonce.len() != 32 || !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
            return Err(CoreError::Unauthenticated);
        }
        Ok(self
            .store()
            .claim_signer_nonce(nonce, &session.token_hash, session.expires_at)
            .await?)
    }

    /// Signs (an approver: approves) with the filled values and the consent, through the
    /// lifecycle, in an authenticated session, with a form token used once.
    pub async fn signer_sign(
        &self,
        token: &str,
        session_token: Option<&str>,
        form_token: &str,
        values: Vec<(super::fields::FieldId, FieldValue)>,
        consent: bool,
        origin: &Origin,
    ) -> CoreResult<FormAct> {
        let (_, _, session) = self.signer_session_of(token, session_token).await?;
        if !self.claim_form(&session, form_token).await? {
            return Ok(FormAct::Replayed);
        }
        let envelope = self
            .act_as_participant(
                token,
                |participant| Command::Sign {
                    participant,
                    values: values.clone(),
                    consent,
                },
                origin,
            )
            .await?;
        Ok(FormAct::Done(Box::new(envelope)))
    }

    /// Declines with a reason, through the lifecycle, in an authenticated session, with a form
    /// token used once.
    pub async fn signer_decline(
        &self,
        token: &str,
        session_token: Option<&str>,
        form_token: &str,
        reason: Reason,
        origin: &Origin,
    ) -> CoreResult<FormAct> {
        let (_, _, session) = self.signer_session_of(token, session_token).await?;
        if !self.claim_form(&session, form_token).await? {
            return Ok(FormAct::Replayed);
        }
        let envelope = self
            .act_as_participant(
                token,
                |participant| Command::Decline {
                    participant,
                    reason: reason.clone(),
                },
                origin,
            )
            .await?;
        Ok(FormAct::Done(Box::new(envelope)))
    }

    /// Stores a drawn or uploaded signature image for the session's participant (it becomes a
    /// field value only when they sign). The form token proves the request comes from the app.
    pub async fn signer_store_mark(
        &self,
        token: &str,
        session_token: Option<&str>,
        form_token: &str,
        bytes: Vec<u8>,
        media: ImageType,
    ) -> CoreResult<ImageRef> {
        let (envelope, participant, session) = self.signer_session_of(token, session_token).await?;
        let (nonce, mac) = form_token
            .split_once('.')
            .ok_or(CoreError::Unauthenticated)?;
        if !constant_time_eq(
            self.form_mac(&session.token_hash, nonce).as_bytes(),
            mac.as_bytes(),
        ) {
            return Err(CoreError::Unauthenticated);
        }
        let me = envelope
            .participant(participant)
            .ok_or(CoreError::NotFound)?;
        if envelope.status.is_final() || me.state != ParticipantState::Authenticated {
            return Err(CoreError::StateConflict(
                "a signature can be added only while signing".into(),
            ));
        }
        self.store_mark_image(&envelope.tenant_id, bytes, media)
            .await
    }

    /// Page `page` (from 1) of an envelope document, in its current version, as a PNG `width`
    /// pixels wide (one of [`PAGE_WIDTHS`], the nearest is taken), for the session's
    /// participant. Rendered by the inspector and kept in an in-process LRU keyed by document
    /// version, page and width.
    pub async fn signer_page_png(
        &self,
        token: &str,
        session_token: Option<&str>,
        document: &DocumentId,
        page: u32,
        width: u32,
    ) -> CoreResult<Vec<u8>> {
        let (envelope, _, _) = self.signer_session_of(token, session_token).await?;
        let listed = envelope
            .documents
            .iter()
            .find(|d| d.document == *document)
            .ok_or(CoreError::NotFound)?;
        if page == 0 || page > listed.pages {
            return Err(CoreError::NotFound);
        }
        let width = nearest_width(width);
        // The participant reviews what they will sign: the current version, with the marks of
        // those who signed before them, not the original.
        let versions = self
            .store()
            .sign_versions(&envelope.tenant_id, &envelope.id)
            .await?;
        let version = current_version(&versions, *document);
        let key = (version, page, width);
        if let Some(png) = page_cache().get(&key) {
            return Ok(png);
        }
        let stored = self
            .store()
            .library_document(&envelope.tenant_id, &version)
            .await?
            .ok_or(CoreError::NotFound)?;
        let blob = stored.blob.ok_or(CoreError::ContentDeleted)?;
        let inspector = self.inspector.as_ref().ok_or_else(|| {
            CoreError::Unexpected(anyhow::anyhow!("no document inspector is configured"))
        })?;
        let png = inspector
            .render_page(self.blobs().as_ref(), &blob, page, width)
            .await
            .map_err(|e| CoreError::Unexpected(anyhow::anyhow!("rendering page {page}: {e}")))?;
        page_cache().put(key, png.clone());
        Ok(png)
    }

    /// The sealed result of one signed envelope document, for a participant who signed it, in
    /// their session, once the envelope is sealed ([`CoreError::StateConflict`] before). Anyone
    /// else — another participant, a signer who has not signed, a browser without the session —
    /// gets nothing.
    pub async fn signer_signed_copy(
        &self,
        token: &str,
        session_token: Option<&str>,
        document: &DocumentId,
    ) -> CoreResult<(LibraryDocument, ByteStream)> {
        let (envelope, participant, _) = self.signer_session_of(token, session_token).await?;
        let me = envelope
            .participant(participant)
            .ok_or(CoreError::NotFound)?;
        if me.state != ParticipantState::Signed {
            return Err(CoreError::Unauthenticated);
        }
        // The sender withheld it: there is nothing here for the signer, as for an unknown
        // document.
        if !envelope.signed_copy_offered {
            return Err(CoreError::NotFound);
        }
        if envelope.sealed_at.is_none() {
            return Err(CoreError::StateConflict(
                "the signed copy is not ready yet".into(),
            ));
        }
        let versions = self
            .store()
            .sign_versions(&envelope.tenant_id, &envelope.id)
            .await?;
        let sealed = versions
            .iter()
            .find(|v| v.kind == SignVersionKind::Sealed && v.document.as_ref() == Some(document))
            .ok_or(CoreError::NotFound)?;
        self.version_content(&envelope.tenant_id, &sealed.version)
            .await
    }

    /// Sends a code a [`JobKind::SendSignerCode`] job carries, unless it expired or a newer one
    /// replaced it (or a success or lock cleared it).
    pub(crate) async fn deliver_signer_code(
        &self,
        tenant: &crate::ids::TenantId,
        envelope_id: &crate::ids::EnvelopeId,
        participant: &ParticipantId,
        sealed_hex: &str,
        expires_at: OffsetDateTime,
    ) -> CoreResult<()> {
        let now = self.now();
        if now >= expires_at {
            return Ok(());
        }
        let sealed =
            hex::decode(sealed_hex).map_err(|_| anyhow::anyhow!("sealed code is not hex"))?;
        let plain = self
            .master()
            .open(CODE_JOB_PURPOSE, &sealed)
            .map_err(|_| anyhow::anyhow!("sealed code does not open with this master key"))?;
        let code =
            String::from_utf8(plain).map_err(|_| anyhow::anyhow!("sealed code is not UTF-8"))?;
        let guard = self.store().signer_guard(participant).await?;
        let candidate = self.signer_code_hmac(participant, &code);
        if !guard
            .code
            .as_ref()
            .is_some_and(|issued| is_live_code(issued, &candidate, now))
        {
            return Ok(());
        }
        let Some(stored) = self.store().sign_envelope(tenant, envelope_id).await? else {
            return Ok(());
        };
        let Some(me) = stored.envelope.participant(*participant) else {
            return Ok(());
        };
        let valid_minutes =
            u32::try_from(self.settings().portal.code_ttl.whole_minutes()).unwrap_or(10);
        let code = SecretString::from(code);
        match me.auth {
            AuthMethod::EmailCode => {
                let Some(to) = me.email.clone() else {
                    return Ok(());
                };
                let mail = self.mail_sender().ok_or_else(|| {
                    anyhow::anyhow!("no mail transport configured (set smtp_url and mail_from)")
                })?;
                let message = crate::mail::CodeMail {
                    to,
                    language: me.language,
                    code,
                    valid_minutes,
                    title: stored.envelope.title.as_str().to_owned(),
                };
                mail.send_code(&message).await.map_err(|e| {
                    CoreError::Unexpected(anyhow::anyhow!("sending the code by e-mail: {e}"))
                })
            }
            AuthMethod::SmsCode | AuthMethod::VoiceCode => {
                let Some(to) = me.phone.clone() else {
                    return Ok(());
                };
                let sender = self.phone_sender().ok_or_else(|| {
                    anyhow::anyhow!("no SMS/voice provider configured (set sms_url)")
                })?;
                let message = crate::phone::CodeMessage {
                    to,
                    channel: if me.auth == AuthMethod::VoiceCode {
                        crate::phone::CodeChannel::Voice
                    } else {
                        crate::phone::CodeChannel::Sms
                    },
                    code,
                    language: me.language,
                    valid_minutes,
                };
                sender
                    .send_code(&message)
                    .await
                    .map_err(|e| CoreError::Unexpected(anyhow::anyhow!("sending the code: {e}")))
            }
            _ => Ok(()),
        }
    }
}

/// What comes next for `me`, from the envelope (the lifecycle's state), the guard and whether a
/// valid session was presented.
fn step_of(
    envelope: &SignEnvelope,
    me: &Participant,
    guard: &SignerGuard,
    authenticated: bool,
    settings: &PortalSettings,
    now: OffsetDateTime,
) -> SignerStep {
    match me.state {
        ParticipantState::Signed => return SignerStep::Signed,
        ParticipantState::Declined => return SignerStep::Declined,
        ParticipantState::Released => return SignerStep::Released,
        _ => {}
    }
    if envelope.status.is_final() || me.role == Role::Copy {
        return SignerStep::Closed(envelope.status);
    }
    if me.state == ParticipantState::Waiting {
        let names = waiting_for(envelope, me)
            .into_iter()
            .filter_map(|key| envelope.participant_by_key(key))
            .map(|p| p.name.clone())
            .collect();
        return SignerStep::Waiting { names };
    }
    if authenticated && me.state == ParticipantState::Authenticated {
        return SignerStep::Review;
    }
    if let Some(until) = guard.locked_until.filter(|until| *until > now) {
        return SignerStep::Locked { until };
    }
    SignerStep::Authenticate {
        method: me.auth,
        code_pending: guard.code.as_ref().is_some_and(|c| c.expires_at > now),
        codes_left: codes_left(guard, settings, now),
    }
}

/// What a failed proof records: the wrong code, and the lock when it caused one.
fn failure_events(participant: ParticipantId, verdict: Option<&Verdict>) -> Vec<EventKind> {
    match verdict {
        Some(Verdict::Wrong { attempts_left }) => vec![EventKind::CodeRejected {
            participant,
            attempts_left: *attempts_left,
        }],
        Some(Verdict::Locked { until }) => vec![
            EventKind::CodeRejected {
                participant,
                attempts_left: 0,
            },
            EventKind::Locked {
                participant,
                until: *until,
            },
        ],
        _ => Vec::new(),
    }
}

/// Why no code may be sent now, if so.
fn code_refusal(
    guard: &SignerGuard,
    settings: &PortalSettings,
    now: OffsetDateTime,
) -> Option<CodeRequest> {
    if let Some(until) = guard.locked_until.filter(|until| *until > now) {
        return Some(CodeRequest::Locked { until });
    }
    match guard.codes_window_start {
        Some(start)
            if now - start < settings.code_window && guard.codes_sent >= settings.max_codes =>
        {
            Some(CodeRequest::TooMany {
                retry_after: start + settings.code_window,
            })
        }
        _ => None,
    }
}

/// Starts a new code window once the last one is over.
fn open_window(guard: &mut SignerGuard, settings: &PortalSettings, now: OffsetDateTime) {
    match guard.codes_window_start {
        Some(start) if now - start < settings.code_window => {}
        _ => {
            guard.codes_window_start = Some(now);
            guard.codes_sent = 0;
        }
    }
}

fn codes_left(guard: &SignerGuard, settings: &PortalSettings, now: OffsetDateTime) -> u32 {
    match guard.codes_window_start {
        Some(start) if now - start < settings.code_window => {
            settings.max_codes.saturating_sub(guard.codes_sent)
        }
        _ => settings.max_codes,
    }
}

/// A lock whose time is over is lifted, and its attempts forgotten.
fn release_expired_lock(guard: &mut SignerGuard, now: OffsetDateTime) {
    if guard.locked_until.is_some_and(|until| until <= now) {
        guard.locked_until = None;
        guard.failed_attempts = 0;
    }
}

/// Whether `issued` is unexpired at `now` and is the code whose HMAC is `candidate`.
fn is_live_code(issued: &SignerCode, candidate: &[u8; 32], now: OffsetDateTime) -> bool {
    issued.expires_at > now && constant_time_eq(&issued.hmac, candidate)
}

/// Session tokens are 43 base64url characters; anything else costs no query.
fn is_token_shaped(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn nearest_width(width: u32) -> u32 {
    PAGE_WIDTHS
        .iter()
        .copied()
        .min_by_key(|w| w.abs_diff(width))
        .unwrap_or(PAGE_WIDTHS[0])
}

fn busy() -> CoreError {
    CoreError::Unexpected(anyhow::anyhow!(
        "too much contention on the signing link; try again"
    ))
}

type PageKey = (DocumentId, u32, u32);

/// A small least-recently-used cache of rendered pages. A document version never changes, so
/// entries never go stale; the bound keeps memory flat (a 960-pixel page is some 100 KiB).
struct PageCache {
    entries: Mutex<VecDeque<(PageKey, Vec<u8>)>>,
}

impl PageCache {
    fn get(&self, key: &PageKey) -> Option<Vec<u8>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let at = entries.iter().position(|(k, _)| k == key)?;
        let entry = entries.remove(at)?;
        let png = entry.1.clone();
        entries.push_front(entry);
        Some(png)
    }

    fn put(&self, key: PageKey, png: Vec<u8>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(k, _)| *k != key);
        entries.push_front((key, png));
        entries.truncate(PAGE_CACHE_ENTRIES);
    }
}

fn page_cache() -> &'static PageCache {
    static CACHE: OnceLock<PageCache> = OnceLock::new();
    CACHE.get_or_init(|| PageCache {
        entries: Mutex::new(VecDeque::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn minute(n: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(n)
    }

    #[test]
    fn codes_are_refused_while_locked_or_once_the_window_is_spent() {
        let settings = PortalSettings::default();
        let mut guard = SignerGuard::default();
        assert_eq!(code_refusal(&guard, &settings, minute(0)), None);
        open_window(&mut guard, &settings, minute(0));
        guard.codes_sent = settings.max_codes;
        assert_eq!(
            code_refusal(&guard, &settings, minute(1)),
            Some(CodeRequest::TooMany {
                retry_after: minute(0) + settings.code_window
            })
        );
        let later = minute(0) + settings.code_window;
        assert_eq!(code_refusal(&guard, &settings, later), None);
        open_window(&mut guard, &settings, later);
        assert_eq!(
            (guard.codes_sent, guard.codes_window_start),
            (0, Some(later))
        );
        guard.locked_until = Some(later + Duration::minutes(5));
        assert!(matches!(
            code_refusal(&guard, &settings, later),
            Some(CodeRequest::Locked { .. })
        ));
    }

    #[test]
    fn a_code_counts_only_while_it_lives_and_only_if_it_matches() {
        let issued = SignerCode {
            hmac: [7; 32],
            channel: AuthMethod::EmailCode,
            expires_at: minute(10),
        };
        assert!(is_live_code(&issued, &[7; 32], minute(9)));
        assert!(!is_live_code(&issued, &[7; 32], minute(10)));
        assert!(!is_live_code(&issued, &[8; 32], minute(9)));
    }

    #[test]
    fn locks_lift_with_their_attempts_when_their_time_is_over() {
        let mut guard = SignerGuard {
            failed_attempts: 5,
            locked_until: Some(minute(30)),
            ..SignerGuard::default()
        };
        release_expired_lock(&mut guard, minute(29));
        assert_eq!(guard.failed_attempts, 5);
        release_expired_lock(&mut guard, minute(30));
        assert_eq!((guard.failed_attempts, guard.locked_until), (0, None));
    }

    #[test]
    fn a_wrong_code_is_recorded_and_the_lock_with_the_last_one() {
        let who = ParticipantId::generate();
        assert_eq!(
            failure_events(who, Some(&Verdict::Wrong { attempts_left: 3 })),
            vec![EventKind::CodeRejected {
                participant: who,
                attempts_left: 3
            }]
        );
        let locked = failure_events(who, Some(&Verdict::Locked { until: minute(15) }));
        assert_eq!(locked.len(), 2);
        assert_eq!(
            locked[1],
            EventKind::Locked {
                participant: who,
                until: minute(15)
            }
        );
        assert!(failure_events(who, None).is_empty());
        assert!(failure_events(who, Some(&Verdict::NoCode)).is_empty());
    }

    #[test]
    fn widths_snap_to_the_few_that_are_cached() {
        assert_eq!(nearest_width(0), 480);
        assert_eq!(nearest_width(1000), 960);
        assert_eq!(nearest_width(5000), 1440);
    }

    #[test]
    fn the_page_cache_keeps_the_most_recent_pages() {
        let cache = PageCache {
            entries: Mutex::new(VecDeque::new()),
        };
        let doc = DocumentId::generate();
        for page in 1..=(PAGE_CACHE_ENTRIES as u32 + 1) {
            cache.put((doc, page, 960), vec![page as u8]);
        }
        assert_eq!(cache.get(&(doc, 1, 960)), None, "the oldest went");
        assert_eq!(cache.get(&(doc, 2, 960)), Some(vec![2]));
        cache.put((doc, 99, 960), vec![99]);
        assert_eq!(cache.get(&(doc, 2, 960)), Some(vec![2]), "used, so kept");
        assert_eq!(cache.get(&(doc, 3, 960)), None);
    }

    #[test]
    fn session_tokens_have_one_shape() {
        assert!(is_token_shaped(&"a".repeat(43)));
        assert!(!is_token_shaped(&"a".repeat(42)));
        assert!(!is_token_shaped(&format!("{}=", "a".repeat(42))));
    }
}
