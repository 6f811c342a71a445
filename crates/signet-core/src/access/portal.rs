//! The recipient portal's use-cases: opening a link, proving who one is (a one-time code sent by
//! SMS or voice, or the answer to a secret question), and downloading documents in the session
//! that proof starts. The HTML lives in `signet-api`; every rule lives here.
//!
//! Attempts are counted on the link's [`LinkGuard`], saved with an optimistic version: an answer
//! (right or wrong) is only revealed after its attempt was committed, so any number of concurrent
//! guesses gets at most [`PortalSettings::max_failed_attempts`] wrong answers in before the lock.
//! Codes are stored as an HMAC under an instance key and compared in constant time; secret answers
//! are checked against their Argon2id hash (surrounding spaces trimmed, case ignored).

use std::net::IpAddr;

use base64::Engine as _;
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};

use crate::access::links::link_token_hash;
pub use crate::access::settings::PortalSettings;
use crate::blob::{BlobError, ByteStream};
use crate::crypto::{constant_time_eq, hmac_sha256};
use crate::error::{CoreError, CoreResult};
use crate::ids::{DocumentId, EventId, LinkId, TenantId};
use crate::jobs::{JobKind, NewJob};
use crate::model::*;
use crate::ports::Core;
use crate::store::StoreError;
use crate::values::Phone;
use crate::webhooks::{Notification, webhook_job};

const CODE_KEY_PURPOSE: &str = "portal-code";
/// Sealing purpose of codes waiting in the job table.
pub(crate) const CODE_JOB_PURPOSE: &str = "portal-code-job";
const SAVE_ATTEMPTS: usize = 8;

/// Whether a link can be used now, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkStatus {
    /// The participant may authenticate (or is authenticated).
    Usable,
    /// The sender cancelled the envelope.
    Cancelled,
    /// The link's validity ran out.
    Expired,
    /// The envelope is finished or void.
    Closed,
    /// A single-use link already started its one session.
    Used,
    /// Too many wrong attempts; locked until then.
    Locked {
        /// When attempts are accepted again.
        until: OffsetDateTime,
    },
}

/// What a participant sees when opening their link.
#[derive(Debug, Clone)]
pub struct LinkView {
    /// The sender as participants know it.
    pub sender_name: String,
    /// The envelope with its documents.
    pub envelope: EnvelopeAggregate,
    /// The participant the link is for.
    pub participant: Participant,
    /// The link's authentication state.
    pub guard: LinkGuard,
    /// Whether it can be used.
    pub status: LinkStatus,
    /// The valid session the caller presented, if any: the documents may then be downloaded.
    pub session: Option<PortalSession>,
    /// The time of the view.
    pub now: OffsetDateTime,
}

impl LinkView {
    /// The code waiting to be entered, if one was sent and is still valid.
    pub fn pending_code(&self) -> Option<&IssuedCode> {
        self.guard.code.as_ref().filter(|c| c.expires_at > self.now)
    }

    /// How many more codes may be sent in the current window (all of them once it is over).
    pub fn codes_left(&self, settings: &PortalSettings) -> u32 {
        codes_left(&self.guard, settings, self.now)
    }

    /// The documents that can be downloaded, in order.
    pub fn documents(&self) -> impl Iterator<Item = (&Document, &StoredContent)> {
        self.envelope
            .documents
            .iter()
            .filter_map(|d| d.stored().map(|c| (d, c)))
    }
}

/// A portal download that [`Core::portal_document`] authorised.
#[derive(Debug)]
pub struct PortalDownload {
    /// The tenant the document belongs to (for the operator's logs).
    pub tenant: TenantId,
    /// The document.
    pub document: Document,
    /// Its stored content.
    pub content: StoredContent,
    /// What to record once the whole document was sent.
    pub retrieval: Retrieval,
}

/// A document retrieval authorised but not recorded yet (see [`Core::record_retrieval`]).
#[derive(Debug)]
#[must_use = "a retrieval counts only once it is recorded"]
pub struct Retrieval {
    event: Event,
    jobs: Vec<NewJob>,
}

/// The result of an action on the portal.
#[derive(Debug)]
#[non_exhaustive]
pub enum PortalOutcome {
    /// A code is on its way.
    CodeSent {
        /// How many more codes may be sent in the current window.
        codes_left: u32,
    },
    /// The link sent as many codes as it may for now.
    TooManyCodes {
        /// When another code may be sent.
        retry_after: OffsetDateTime,
    },
    /// The code or answer was wrong.
    Wrong {
        /// Attempts left before the link locks.
        attempts_left: u32,
    },
    /// No code is waiting (none sent, or it expired): ask for a new one.
    NoCode,
    /// Another answer for this link is being judged: try again in a moment.
    Busy,
    /// The link is locked.
    Locked {
        /// Until when.
        until: OffsetDateTime,
    },
    /// The link cannot be used (cancelled, expired, already used, closed).
    Unavailable(LinkStatus),
    /// The participant proved who they are: a session started.
    Authenticated {
        /// The session's token, to put in a cookie; shown only now.
        token: SecretString,
        /// The session.
        session: PortalSession,
    },
}

/// What a participant submits to authenticate.
#[derive(Debug)]
#[non_exhaustive]
pub enum Proof<'a> {
    /// Holding the link is enough ([`AuthMethod::None`] and, until it exists, e-mail codes).
    LinkOnly,
    /// A one-time code.
    Code(&'a str),
    /// The answer to the secret question.
    Answer(&'a str),
}

struct Loaded {
    tenant: Tenant,
    link: AccessLink,
    guard: LinkGuard,
    envelope: EnvelopeAggregate,
    participant: Participant,
}

/// The number shown on the page: its first three and last two characters.
pub fn mask_phone(phone: &Phone) -> String {
    let e164 = phone.e164();
    let chars: Vec<char> = e164.chars().collect();
    if chars.len() <= 5 {
        return e164.to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head} {} {tail}", "•".repeat(chars.len() - 5))
}

impl Core {
    fn code_hmac(&self, link: &LinkId, code: &str) -> [u8; 32] {
        let key = self.master().derive(CODE_KEY_PURPOSE);
        hmac_sha256(&key, format!("{link}:{code}").as_bytes())
    }

    async fn load_link(&self, token: &str) -> CoreResult<Loaded> {
        // Tokens are 43 base64url characters; anything else cannot match and costs no query.
        if token.len() != 43
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(CoreError::NotFound);
        }
        let mut found = None;
        for key in LinkKey::candidates(token).ok_or(CoreError::NotFound)? {
            found = self.store().link_by_token(&key).await?;
            if found.is_some() {
                break;
            }
        }
        let (tenant_id, link, guard) = found.ok_or(CoreError::NotFound)?;
        let tenant = self
            .store()
            .tenant(&tenant_id)
            .await?
            .filter(|t| t.status == TenantStatus::Active)
            .ok_or(CoreError::NotFound)?;
        let envelope = self
            .store()
            .envelope(&tenant_id, &link.envelope_id)
            .await?
            .ok_or(CoreError::NotFound)?;
        // A link of an envelope not yet confirmed does not exist as far as its holder knows.
        if matches!(
            envelope.envelope.state,
            EnvelopeState::Draft | EnvelopeState::Uploading
        ) {
            return Err(CoreError::NotFound);
        }
        let participant = envelope
            .participants
            .iter()
            .find(|p| p.id == link.participant_id)
            .cloned()
            .ok_or(CoreError::NotFound)?;
        Ok(Loaded {
            tenant,
            link,
            guard,
            envelope,
            participant,
        })
    }

    fn link_status(&self, loaded: &Loaded, now: OffsetDateTime) -> LinkStatus {
        let envelope = &loaded.envelope;
        match envelope.envelope.state {
            EnvelopeState::Cancelled => return LinkStatus::Cancelled,
            EnvelopeState::Expired => return LinkStatus::Expired,
            EnvelopeState::Open => {}
            _ => return LinkStatus::Closed,
        }
        if !envelope.links_usable(now) {
            return LinkStatus::Expired;
        }
        if !envelope.envelope.links.reusable && loaded.guard.sessions_started > 0 {
            return LinkStatus::Used;
        }
        match loaded.guard.locked_until {
            Some(until) if until > now => LinkStatus::Locked { until },
            _ => LinkStatus::Usable,
        }
    }

    async fn valid_session(
        &self,
        loaded: &Loaded,
        session_token: Option<&str>,
        now: OffsetDateTime,
    ) -> CoreResult<Option<PortalSession>> {
        let Some(token) = session_token else {
            return Ok(None);
        };
        if !loaded.envelope.links_usable(now) {
            return Ok(None);
        }
        let session = self
            .store()
            .portal_session(&link_token_hash(token))
            .await?
            .filter(|s| {
                s.link_id == loaded.link.id && s.tenant_id == loaded.tenant.id && s.expires_at > now
            });
        Ok(session)
    }

    fn portal_event(&self, loaded: &Loaded, kind: EventKind, ip: Option<IpAddr>) -> Event {
        Event {
            id: EventId::generate(),
            tenant_id: loaded.tenant.id,
            envelope_id: Some(loaded.envelope.envelope.id),
            participant_id: Some(loaded.participant.id),
            document_id: None,
            kind,
            actor: Actor::Participant {
                participant_id: loaded.participant.id.to_string(),
            },
            ip,
            at: self.now(),
            data: serde_json::Value::Null,
        }
    }

    /// Opens a link: what the participant may see and do. The first opening is recorded.
    /// Unknown tokens, links of unconfirmed envelopes and suspended tenants answer
    /// [`CoreError::NotFound`].
    pub async fn open_link(
        &self,
        token: &str,
        session_token: Option<&str>,
        ip: Option<IpAddr>,
    ) -> CoreResult<LinkView> {
        let mut loaded = self.load_link(token).await?;
        let now = self.now();
        if loaded.guard.opened_at.is_none() {
            let mut guard = loaded.guard.clone();
            guard.opened_at = Some(now);
            let event = self.portal_event(&loaded, EventKind::LinkOpened, ip);
            match self
                .store()
                .save_link_guard(
                    &loaded.tenant.id,
                    &loaded.link.id,
                    &guard,
                    None,
                    &[event],
                    &[],
                )
                .await
            {
                Ok(()) => {
                    guard.version += 1;
                    loaded.guard = guard;
                }
                // Opened concurrently: the other request recorded it.
                Err(StoreError::Conflict) => loaded = self.load_link(token).await?,
                Err(e) => return Err(e.into()),
            }
        }
        let session = self.valid_session(&loaded, session_token, now).await?;
        let status = self.link_status(&loaded, now);
        Ok(LinkView {
            sender_name: loaded.tenant.name,
            envelope: loaded.envelope,
            participant: loaded.participant,
            guard: loaded.guard,
            status,
            session,
            now,
        })
    }

    /// Loads a link for an attempt: the link with its state (a lock whose time is over lifted)
    /// and the time, or the outcome that refuses any attempt now.
    async fn load_for_attempt(
        &self,
        token: &str,
    ) -> CoreResult<Result<(Loaded, LinkGuard, OffsetDateTime), PortalOutcome>> {
        let loaded = self.load_link(token).await?;
        let now = self.now();
        match self.link_status(&loaded, now) {
            LinkStatus::Usable => {}
            LinkStatus::Locked { until } => return Ok(Err(PortalOutcome::Locked { until })),
            other => return Ok(Err(PortalOutcome::Unavailable(other))),
        }
        let mut guard = loaded.guard.clone();
        release_expired_lock(&mut guard, now);
        Ok(Ok((loaded, guard, now)))
    }

    /// Sends a fresh one-time code to the participant's phone (replacing any earlier one), within
    /// the resend limit.
    pub async fn send_code(&self, token: &str, ip: Option<IpAddr>) -> CoreResult<PortalOutcome> {
        let settings = self.settings().portal.clone();
        // Refused at once rather than queued for a worker that can never send it.
        if self.phone_sender().is_none() {
            return Err(CoreError::Unexpected(anyhow::anyhow!(
                "no SMS/voice provider is configured (set sms_url)"
            )));
        }
        for _ in 0..SAVE_ATTEMPTS {
            let (loaded, mut guard, now) = match self.load_for_attempt(token).await? {
                Ok(attempt) => attempt,
                Err(refused) => return Ok(refused),
            };
            let channel = loaded.participant.auth;
            if !matches!(channel, AuthMethod::Sms | AuthMethod::Voice) {
                return Err(CoreError::Invalid(
                    "this link does not authenticate by phone".into(),
                ));
            }
            let phone =
                loaded.participant.phone.clone().ok_or_else(|| {
                    CoreError::Invalid("the participant has no phone number".into())
                })?;
            let window_start = match guard.codes_window_start {
                Some(start) if now - start < settings.code_window => start,
                _ => {
                    guard.codes_sent = 0;
                    now
                }
            };
            guard.codes_window_start = Some(window_start);
            if guard.codes_sent >= settings.max_codes {
                return Ok(PortalOutcome::TooManyCodes {
                    retry_after: window_start + settings.code_window,
                });
            }
            let code = format!("{:06}", rand::random_range(0..1_000_000u32));
            let expires_at = now + settings.code_ttl;
            guard.code = Some(IssuedCode {
                hmac: self.code_hmac(&loaded.link.id, &code),
                channel,
                expires_at,
            });
            guard.codes_sent += 1;
            let job = JobKind::SendCode {
                tenant_id: loaded.tenant.id,
                envelope_id: loaded.envelope.envelope.id,
                participant_id: loaded.participant.id,
                link_token_hash: loaded.link.key.to_string(),
                channel,
                sealed_code: hex::encode(self.master().seal(CODE_JOB_PURPOSE, code.as_bytes())),
                expires_at,
            };
            let mut event = self.portal_event(&loaded, EventKind::CodeSent, ip);
            event.data = serde_json::json!({
                "channel": channel.as_str(),
                "to": mask_phone(&phone),
            });
            match self
                .store()
                .save_link_guard(
                    &loaded.tenant.id,
                    &loaded.link.id,
                    &guard,
                    None,
                    &[event],
                    &[NewJob::at(job, now)],
                )
                .await
            {
                Ok(()) => {
                    self.wake_worker();
                    return Ok(PortalOutcome::CodeSent {
                        codes_left: settings.max_codes - guard.codes_sent,
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(busy())
    }

    /// Checks a proof of identity; on success starts a session. Every wrong proof counts towards
    /// the lock, and is recorded.
    pub async fn authenticate(
        &self,
        token: &str,
        proof: Proof<'_>,
        ip: Option<IpAddr>,
    ) -> CoreResult<PortalOutcome> {
        match proof {
            Proof::Answer(answer) => self.authenticate_answer(token, answer, ip).await,
            cheap => self.authenticate_cheaply(token, cheap, ip).await,
        }
    }

    /// Proofs that cost nothing to check (a code's HMAC, or the link alone): judged and saved
    /// together, the verdict revealed only once its attempt committed.
    async fn authenticate_cheaply(
        &self,
        token: &str,
        proof: Proof<'_>,
        ip: Option<IpAddr>,
    ) -> CoreResult<PortalOutcome> {
        for _ in 0..SAVE_ATTEMPTS {
            let (loaded, mut guard, now) = match self.load_for_attempt(token).await? {
                Ok(attempt) => attempt,
                Err(refused) => return Ok(refused),
            };
            let correct = match (loaded.participant.auth, &proof) {
                (AuthMethod::None | AuthMethod::Email, Proof::LinkOnly) => true,
                (AuthMethod::Sms | AuthMethod::Voice, Proof::Code(code)) => {
                    let Some(issued) = guard.code.as_ref().filter(|c| c.expires_at > now) else {
                        return Ok(PortalOutcome::NoCode);
                    };
                    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
                    let candidate = self.code_hmac(&loaded.link.id, &code);
                    code.len() == 6 && is_live_code(issued, &candidate, now)
                }
                _ => return Err(another_way()),
            };
            if !correct {
                guard.failed_attempts += 1;
            }
            let (outcome, session, events) = self.verdict(&loaded, &mut guard, correct, now, ip);
            if self
                .saved(&loaded, &guard, session.as_ref(), &events)
                .await?
            {
                return Ok(outcome);
            }
        }
        Err(busy())
    }

    /// A secret answer. Its Argon2id check costs about 19 MiB and tens of milliseconds, so the
    /// work is bounded before it starts: one answer per link is judged at a time in this process
    /// (others are told [`PortalOutcome::Busy`] before any hashing), the attempt is counted and
    /// committed before the hash runs (so no burst, on any number of nodes, hashes more answers
    /// than the link has attempts left), and hashes run on a small pool sized to the cores.
    async fn authenticate_answer(
        &self,
        token: &str,
        answer: &str,
        ip: Option<IpAddr>,
    ) -> CoreResult<PortalOutcome> {
        let settings = self.settings().portal.clone();
        let (mut loaded, mut guard, _) = match self.load_for_attempt(token).await? {
            Ok(attempt) => attempt,
            Err(refused) => return Ok(refused),
        };
        if loaded.participant.auth != AuthMethod::Secret {
            return Err(another_way());
        }
        let Some(_judging) = crate::secret::JudgingSlot::take(&loaded.link.id) else {
            return Ok(PortalOutcome::Busy);
        };
        // Count the attempt first.
        let mut counted = false;
        for _ in 0..SAVE_ATTEMPTS {
            if guard.failed_attempts >= settings.max_failed_attempts {
                // Every attempt left is already being judged (here or on another node).
                return Ok(PortalOutcome::Busy);
            }
            guard.failed_attempts += 1;
            if self.saved(&loaded, &guard, None, &[]).await? {
                counted = true;
                break;
            }
            (loaded, guard, _) = match self.load_for_attempt(token).await? {
                Ok(attempt) => attempt,
                Err(refused) => return Ok(refused),
            };
        }
        if !counted {
            return Err(busy());
        }
        let hash = loaded
            .participant
            .secret_answer_hash
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("secret participant without an answer hash"))?;
        let correct = crate::secret::verify_answer(answer, hash).await?;
        // Then record the verdict on the guard as it is now.
        for _ in 0..SAVE_ATTEMPTS {
            let (loaded, mut guard, now) = match self.load_for_attempt(token).await? {
                Ok(attempt) => attempt,
                Err(refused) => return Ok(refused),
            };
            let (outcome, session, events) = self.verdict(&loaded, &mut guard, correct, now, ip);
            if self
                .saved(&loaded, &guard, session.as_ref(), &events)
                .await?
            {
                return Ok(outcome);
            }
        }
        Err(busy())
    }

    /// Saves the link's guard with what an attempt started and recorded; `false` when another
    /// request saved the guard first, so the attempt must be judged again on the new state.
    async fn saved(
        &self,
        loaded: &Loaded,
        guard: &LinkGuard,
        session: Option<&PortalSession>,
        events: &[Event],
    ) -> CoreResult<bool> {
        match self
            .store()
            .save_link_guard(
                &loaded.tenant.id,
                &loaded.link.id,
                guard,
                session,
                events,
                &[],
            )
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies a verdict to the guard, whose `failed_attempts` already counts this attempt when
    /// it was wrong: a session and its event on success; on failure the event, and the lock once
    /// the attempts are spent.
    fn verdict(
        &self,
        loaded: &Loaded,
        guard: &mut LinkGuard,
        correct: bool,
        now: OffsetDateTime,
        ip: Option<IpAddr>,
    ) -> (PortalOutcome, Option<PortalSession>, Vec<Event>) {
        let settings = &self.settings().portal;
        let method = loaded.participant.auth;
        if correct {
            let session_token =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
            let session = PortalSession {
                token_hash: link_token_hash(&session_token),
                link_id: loaded.link.id,
                tenant_id: loaded.tenant.id,
                created_at: now,
                expires_at: session_end(
                    now,
                    settings.session_ttl,
                    loaded.envelope.envelope.expires_at,
                ),
            };
            guard.failed_attempts = 0;
            guard.code = None;
            guard.sessions_started += 1;
            let mut event = self.portal_event(loaded, EventKind::ParticipantAuthenticated, ip);
            event.data = serde_json::json!({ "method": method.as_str() });
            let outcome = PortalOutcome::Authenticated {
                token: SecretString::from(session_token),
                session: session.clone(),
            };
            return (outcome, Some(session), vec![event]);
        }
        let mut failed = self.portal_event(loaded, EventKind::AuthenticationFailed, ip);
        failed.data = serde_json::json!({
            "method": method.as_str(),
            "attempt": guard.failed_attempts,
        });
        let mut events = vec![failed];
        let outcome = if guard.failed_attempts >= settings.max_failed_attempts {
            let until = now + settings.lockout;
            guard.locked_until = Some(until);
            guard.code = None;
            let mut locked = self.portal_event(loaded, EventKind::LinkLocked, ip);
            locked.data = serde_json::json!({
                "until": until.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                "attempts": guard.failed_attempts,
            });
            events.push(locked);
            PortalOutcome::Locked { until }
        } else {
            PortalOutcome::Wrong {
                attempts_left: settings.max_failed_attempts - guard.failed_attempts,
            }
        };
        (outcome, None, events)
    }

    /// Authorises the participant of an authenticated session to download a stored document.
    ///
    /// Nothing is recorded yet: the caller opens the content with [`Core::open_content`] and
    /// records the retrieval with [`Core::record_retrieval`] only once the whole document has
    /// been sent, so that a failed, abandoned or `HEAD` download counts as no retrieval (and
    /// sends no webhook).
    pub async fn portal_document(
        &self,
        token: &str,
        session_token: Option<&str>,
        document: &DocumentId,
        ip: Option<IpAddr>,
    ) -> CoreResult<PortalDownload> {
        let loaded = self.load_link(token).await?;
        let now = self.now();
        self.valid_session(&loaded, session_token, now)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let doc = loaded
            .envelope
            .documents
            .iter()
            .find(|d| d.id == *document)
            .cloned()
            .ok_or(CoreError::NotFound)?;
        let content = doc.stored().cloned().ok_or(CoreError::NotFound)?;
        let mut event = self.portal_event(&loaded, EventKind::DocumentRetrieved, ip);
        event.document_id = Some(doc.id);
        event.data = serde_json::json!({ "sha256": content.sha256, "name": doc.name.as_str() });
        let mut jobs = Vec::new();
        if loaded.envelope.envelope.notify_events {
            let notification = Notification::DocumentRetrieved {
                envelope: loaded.envelope.envelope.id,
                recipient: loaded.participant.email.clone(),
                document: doc.id,
                document_name: doc.name.clone(),
            };
            let message_id = format!("msg_{}", event.id);
            jobs.push(webhook_job(
                self.notification_renderer(),
                loaded.tenant.id,
                &notification,
                message_id,
                now,
            )?);
        }
        Ok(PortalDownload {
            tenant: loaded.tenant.id,
            document: doc,
            content,
            retrieval: Retrieval { event, jobs },
        })
    }

    /// The plaintext of stored content. The blob store authenticates the first chunk before
    /// answering, so a missing or damaged blob fails here, before a response has started; damage
    /// further on ends the stream with an error.
    pub async fn open_content(&self, content: &StoredContent) -> Result<ByteStream, BlobError> {
        self.blobs().get(&content.blob).await
    }

    /// Records a retrieval that [`Core::portal_document`] authorised, once the whole document
    /// was sent; the event is dated now, when the download ended.
    pub async fn record_retrieval(&self, retrieval: Retrieval) -> CoreResult<()> {
        let Retrieval { mut event, jobs } = retrieval;
        event.at = self.now();
        self.store()
            .append_events_with_jobs(&[event], &jobs)
            .await?;
        if !jobs.is_empty() {
            self.wake_worker();
        }
        Ok(())
    }

    /// Whether `code` is still the one waiting on the link with this key, in its stored form (a
    /// newer code replaces it; success, a lock or expiry clears it).
    pub(crate) async fn code_is_current(
        &self,
        link_token_hash: &str,
        code: &SecretString,
    ) -> CoreResult<bool> {
        use secrecy::ExposeSecret as _;
        let key: LinkKey = link_token_hash
            .parse()
            .map_err(|_| anyhow::anyhow!("stored link key is not one"))?;
        let Some((_, link, guard)) = self.store().link_by_token(&key).await? else {
            return Ok(false);
        };
        let candidate = self.code_hmac(&link.id, code.expose_secret());
        Ok(guard
            .code
            .is_some_and(|issued| is_live_code(&issued, &candidate, self.now())))
    }

    /// Opens a code sealed in a [`JobKind::SendCode`] job.
    pub(crate) fn open_job_code(&self, sealed_hex: &str) -> CoreResult<SecretString> {
        let sealed =
            hex::decode(sealed_hex).map_err(|_| anyhow::anyhow!("sealed code is not hex"))?;
        let plain = self
            .master()
            .open(CODE_JOB_PURPOSE, &sealed)
            .map_err(|_| anyhow::anyhow!("sealed code does not open with this master key"))?;
        let code =
            String::from_utf8(plain).map_err(|_| anyhow::anyhow!("sealed code is not UTF-8"))?;
        Ok(SecretString::from(code))
    }
}

fn codes_left(guard: &LinkGuard, settings: &PortalSettings, now: OffsetDateTime) -> u32 {
    match guard.codes_window_start {
        Some(start) if now - start < settings.code_window => {
            settings.max_codes.saturating_sub(guard.codes_sent)
        }
        _ => settings.max_codes,
    }
}

/// A lock whose time is over is lifted, and its attempts forgotten.
fn release_expired_lock(guard: &mut LinkGuard, now: OffsetDateTime) {
    if guard.locked_until.is_some_and(|until| until <= now) {
        guard.locked_until = None;
        guard.failed_attempts = 0;
    }
}

/// Whether `issued` is unexpired at `now` and is the code whose HMAC is `candidate`.
fn is_live_code(issued: &IssuedCode, candidate: &[u8; 32], now: OffsetDateTime) -> bool {
    issued.expires_at > now && constant_time_eq(&issued.hmac, candidate)
}

/// When a session started now ends: after its time to live, never after the link's end (the
/// signer app's sessions too).
pub(crate) fn session_end(
    now: OffsetDateTime,
    ttl: Duration,
    link_end: Option<OffsetDateTime>,
) -> OffsetDateTime {
    let end = now + ttl;
    link_end.map_or(end, |link_end| end.min(link_end))
}

fn another_way() -> CoreError {
    CoreError::Invalid("this link authenticates another way".into())
}

fn busy() -> CoreError {
    CoreError::Unexpected(anyhow::anyhow!(
        "too much contention on the link; try again"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(n: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(n)
    }

    #[test]
    fn a_code_counts_only_while_it_lives_and_only_if_it_matches() {
        let issued = IssuedCode {
            hmac: [7; 32],
            channel: AuthMethod::Sms,
            expires_at: minute(10),
        };
        assert!(is_live_code(&issued, &[7; 32], minute(9)));
        assert!(!is_live_code(&issued, &[7; 32], minute(10)), "expired");
        assert!(!is_live_code(&issued, &[8; 32], minute(9)), "another code");
        assert!(!is_live_code(&issued, &[8; 32], minute(11)));
    }

    /// What the page shows ("codes left") is the window's count, as the rule computes it.
    #[test]
    fn the_view_counts_the_codes_left_in_its_window() {
        let settings = PortalSettings::default();
        let guard = LinkGuard {
            codes_window_start: Some(minute(0)),
            codes_sent: 2,
            ..LinkGuard::default()
        };
        let participant = Participant {
            id: crate::ids::ParticipantId::generate(),
            sequence: 0,
            role: Role::Recipient,
            email: "recipient@example.com".parse().expect("an address"),
            phone: None,
            auth: AuthMethod::Sms,
            secret_answer_hash: None,
            authenticated_at: None,
            completed_at: None,
        };
        let view = |now| LinkView {
            sender_name: "Acme Payroll".into(),
            envelope: crate::lifecycle::tests::draft(),
            participant: participant.clone(),
            guard: guard.clone(),
            status: LinkStatus::Usable,
            session: None,
            now,
        };
        assert_eq!(
            view(minute(1)).codes_left(&settings),
            settings.max_codes - 2
        );
        let after_window = minute(0) + settings.code_window;
        assert_eq!(view(after_window).codes_left(&settings), settings.max_codes);
    }

    #[test]
    fn sessions_last_their_time_but_never_past_the_link() {
        let ttl = Duration::minutes(30);
        assert_eq!(session_end(minute(0), ttl, None), minute(30));
        assert_eq!(session_end(minute(0), ttl, Some(minute(60))), minute(30));
        assert_eq!(
            session_end(minute(0), ttl, Some(minute(12))),
            minute(12),
            "capped at the link's end"
        );
    }

    #[test]
    fn codes_left_count_down_within_the_window_and_reset_after_it() {
        let settings = PortalSettings::default();
        let mut guard = LinkGuard::default();
        assert_eq!(codes_left(&guard, &settings, minute(0)), settings.max_codes);
        guard.codes_window_start = Some(minute(0));
        guard.codes_sent = 2;
        assert_eq!(
            codes_left(&guard, &settings, minute(1)),
            settings.max_codes - 2
        );
        let window_end = minute(0) + settings.code_window;
        assert_eq!(
            codes_left(&guard, &settings, window_end - Duration::seconds(1)),
            settings.max_codes - 2
        );
        assert_eq!(
            codes_left(&guard, &settings, window_end),
            settings.max_codes
        );
        guard.codes_sent = settings.max_codes + 3;
        assert_eq!(
            codes_left(&guard, &settings, minute(1)),
            0,
            "never below zero"
        );
    }

    #[test]
    fn masked_numbers_keep_the_country_and_the_last_two_digits() {
        let phone = Phone::from_national("CA", "8191234567").expect("phone");
        assert_eq!(mask_phone(&phone), "+18 ••••••• 67");
        let french = Phone::from_national("FR", "0612345678").expect("phone");
        let masked = mask_phone(&french);
        assert!(
            masked.starts_with("+33 ") && masked.ends_with(" 78"),
            "{masked}"
        );
        assert!(!masked.contains("12345"));
    }

    #[test]
    fn a_lock_whose_time_is_over_is_lifted_with_its_attempts() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        let mut guard = LinkGuard {
            failed_attempts: 5,
            locked_until: Some(now + Duration::minutes(1)),
            ..LinkGuard::default()
        };
        release_expired_lock(&mut guard, now);
        assert_eq!(
            (guard.failed_attempts, guard.locked_until.is_some()),
            (5, true)
        );
        release_expired_lock(&mut guard, now + Duration::minutes(1));
        assert_eq!((guard.failed_attempts, guard.locked_until), (0, None));
    }
}
