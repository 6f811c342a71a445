//! The signing lifecycle as pure functions: [`create`] checks a draft and opens the envelope,
//! [`apply`] moves it by one [`Command`]. Both take the time from the caller and return the new
//! envelope with its [`Effect`]s and [`SigningEvent`]s as data; the service stores the envelope,
//! records the events and carries out the effects through durable jobs.
//!
//! The rules:
//! - nobody signs (or opens, or authenticates) before everyone they wait for has signed or was
//!   released; their invitation goes out exactly when that happens, never before;
//! - the envelope completes exactly when enough signers signed (all, or k of n) and every
//!   approver approved. With k of n, once k signed the remaining signers are *released*: they
//!   are not invited, not reminded and can no longer sign or decline, and whoever waited for
//!   them goes ahead;
//! - a decline ends the envelope (with its reason), whatever the completion rule;
//! - the sender may void an open envelope with a reason; an envelope past its expiry refuses
//!   every act until the expiry timer closes it;
//! - nothing leaves a final state: a closed envelope refuses every command, except that a
//!   completed one records its seal once;
//! - a signer's required fields are all filled (required checkboxes ticked) before their
//!   signature is accepted, and every value is checked against its field's kind;
//! - reminders go only to participants whose turn came and who have not acted, at most the
//!   policy's `max` times each.

use std::collections::{BTreeMap, BTreeSet};

use time::{Duration, OffsetDateTime};

use super::fields::{Field, FieldError, FieldId, FieldKind, FieldValue, Rect, check_value};
use super::model::*;
use super::order::{self, OrderError, OrderNode};
use crate::ids::{DocumentId, EnvelopeId, ParticipantId, TenantId};
use crate::values::{Email, Language, Phone};

/// Most participants in one envelope.
pub const MAX_PARTICIPANTS: usize = 100;
/// Most fields in one envelope.
pub const MAX_FIELDS: usize = 2000;
/// Most documents in one envelope.
pub const MAX_DOCUMENTS: usize = 50;

/// A document as the sender lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftDocument {
    /// A document of the tenant's library.
    pub document: DocumentId,
    /// Sign or view.
    pub action: DocumentAction,
}

/// A participant as the sender describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftParticipant {
    /// The sender's key, unique in the envelope.
    pub key: ParticipantKey,
    /// Name.
    pub name: PersonName,
    /// E-mail address.
    pub email: Option<Email>,
    /// Mobile number.
    pub phone: Option<Phone>,
    /// Role.
    pub role: Role,
    /// How they authenticate.
    pub auth: AuthMethod,
    /// Their language, if not the envelope's.
    pub language: Option<Language>,
    /// Whom they wait for.
    pub after: Vec<ParticipantKey>,
}

/// A field as the sender places it: coordinates are checked by [`create`], so that an error
/// can name the field.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftField {
    /// Whose field it is.
    pub participant: ParticipantKey,
    /// On which document.
    pub document: DocumentId,
    /// On which page, from 1.
    pub page: u32,
    /// Left edge, as a fraction of the page's width.
    pub x: f64,
    /// Top edge, as a fraction of the page's height.
    pub y: f64,
    /// Width, as a fraction of the page's width.
    pub width: f64,
    /// Height, as a fraction of the page's height.
    pub height: f64,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether it must be filled.
    pub required: bool,
    /// What it asks for.
    pub label: Option<Label>,
    /// A value filled in advance (the participant may change it).
    pub value: Option<FieldValue>,
}

/// An envelope as the sender asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeDraft {
    /// Title.
    pub title: Title,
    /// Language of messages and pages.
    pub language: Language,
    /// Expiry, if any (must be in the future).
    pub expires_at: Option<OffsetDateTime>,
    /// Documents.
    pub documents: Vec<DraftDocument>,
    /// Participants.
    pub participants: Vec<DraftParticipant>,
    /// Fields.
    pub fields: Vec<DraftField>,
    /// When it is complete.
    pub completion: CompletionRule,
    /// Automatic reminders.
    pub reminders: Option<ReminderPolicy>,
    /// Redirect URLs.
    pub redirects: Redirects,
    /// Whether signers may download the signed copy from the signer's app (true unless the
    /// sender turns it off).
    pub signed_copy_offered: bool,
}

/// A draft that cannot become an envelope: where (a path into the request such as
/// `fields[2].page`) and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct DraftError {
    /// Where in the request, e.g. `participants[1].phone`.
    pub location: String,
    /// What is wrong.
    pub problem: DraftProblem,
}

/// What is wrong with a draft.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DraftProblem {
    /// No documents.
    #[error("at least one document is needed")]
    NoDocuments,
    /// Signers but no document to sign.
    #[error("no document is to be signed")]
    NothingToSign,
    /// A document listed twice.
    #[error("document {0} is listed twice")]
    DuplicateDocument(DocumentId),
    /// No such document in the tenant's library (or not one that can be signed).
    #[error("document {0} does not exist")]
    UnknownDocument(DocumentId),
    /// A field on a document the envelope does not list.
    #[error("document {0} is not one of the envelope's documents")]
    NotInEnvelope(DocumentId),
    /// A field on a document that is only viewed.
    #[error("document {0} is only viewed; fields go on documents to sign")]
    FieldOnViewedDocument(DocumentId),
    /// No signer.
    #[error("at least one signer is needed")]
    NoSigner,
    /// Two participants with one key.
    #[error("key {0} is used twice")]
    DuplicateKey(ParticipantKey),
    /// More than the limit.
    #[error("at most {max} {what}")]
    TooMany {
        /// Of what.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// The authentication method needs a contact the participant lacks.
    #[error("{participant} authenticates by {} and needs {needs}", .method.as_str())]
    MissingContact {
        /// Who.
        participant: ParticipantKey,
        /// Their method.
        method: AuthMethod,
        /// What is missing.
        needs: &'static str,
    },
    /// A copy recipient with no way to reach them.
    #[error("{0} receives a copy and needs an e-mail address or a phone number")]
    CopyUnreachable(ParticipantKey),
    /// The tenant may not use the method.
    #[error("authentication by {} is not allowed for this tenant", .0.as_str())]
    AuthNotAllowed(AuthMethod),
    /// The order cannot be followed.
    #[error(transparent)]
    Order(OrderError),
    /// A field for a participant who does not sign.
    #[error("{participant} is a {} and has no fields to fill", .role.as_str())]
    FieldForNonSigner {
        /// Who.
        participant: ParticipantKey,
        /// Their role.
        role: Role,
    },
    /// No such participant.
    #[error("{0} is not a participant")]
    UnknownParticipant(ParticipantKey),
    /// A page the document does not have.
    #[error("page {page} does not exist: the document has {pages} pages")]
    NoSuchPage {
        /// The page asked for.
        page: u32,
        /// The document's pages.
        pages: u32,
    },
    /// A bad placement or prefilled value.
    #[error(transparent)]
    Field(FieldError),
    /// The k of "k of n" out of range.
    #[error("min_signers must be between 1 and the number of signers ({signers}), not {min}")]
    MinSigners {
        /// What was asked.
        min: u32,
        /// How many signers there are.
        signers: usize,
    },
    /// The expiry is not in the future.
    #[error("the expiry must be in the future")]
    ExpiryPassed,
    /// Reminders every 0 days.
    #[error("reminders need at least one day between them")]
    ReminderInterval,
}

fn problem(location: impl Into<String>, problem: DraftProblem) -> DraftError {
    DraftError {
        location: location.into(),
        problem,
    }
}

/// Checks a draft and opens the envelope: invites whoever waits for nobody and schedules the
/// expiry and the first reminders. `pages` gives the page count of each library document of the
/// tenant that can be signed, or [`PAGES_AWAITED`] for one whose bytes arrive later (its fields'
/// pages are checked then); any other document is unknown. Participant and field ids are drawn
/// at random.
pub fn create(
    id: EnvelopeId,
    tenant_id: TenantId,
    draft: EnvelopeDraft,
    pages: &BTreeMap<DocumentId, u32>,
    policy: AuthPolicy,
    origin: &Origin,
    now: OffsetDateTime,
) -> Result<Outcome, DraftError> {
    let documents = check_documents(&draft, pages)?;
    let participants = check_participants(&draft, policy)?;
    let fields = check_fields(&draft, &documents, &participants)?;
    let signers = participants
        .iter()
        .filter(|p| p.role == Role::Signer)
        .count();
    if let CompletionRule::AtLeast { min_signers } = draft.completion
        && (min_signers == 0 || min_signers as usize > signers)
    {
        return Err(problem(
            "completion.min_signers",
            DraftProblem::MinSigners {
                min: min_signers,
                signers,
            },
        ));
    }
    if draft.expires_at.is_some_and(|at| at <= now) {
        return Err(problem("expires_at", DraftProblem::ExpiryPassed));
    }
    if draft.reminders.is_some_and(|r| r.every_days == 0) {
        return Err(problem(
            "reminders.every_days",
            DraftProblem::ReminderInterval,
        ));
    }
    let envelope = SignEnvelope {
        id,
        tenant_id,
        title: draft.title,
        language: draft.language,
        status: EnvelopeStatus::Open,
        documents,
        participants,
        fields,
        completion: draft.completion,
        reminders: draft.reminders,
        redirects: draft.redirects,
        signed_copy_offered: draft.signed_copy_offered,
        created_at: now,
        expires_at: draft.expires_at,
        closed_at: None,
        void_reason: None,
        sealed_at: None,
    };
    let mut tx = Tx::new(envelope, origin, now);
    tx.event(Actor::Sender, EventKind::Created);
    if let Some(at) = tx.env.expires_at {
        tx.effects.push(Effect::Schedule {
            at,
            timer: Timer::Expire,
        });
    }
    tx.progress();
    Ok(tx.finish())
}

fn check_documents(
    draft: &EnvelopeDraft,
    pages: &BTreeMap<DocumentId, u32>,
) -> Result<Vec<EnvelopeDocument>, DraftError> {
    if draft.documents.is_empty() {
        return Err(problem("documents", DraftProblem::NoDocuments));
    }
    if draft.documents.len() > MAX_DOCUMENTS {
        return Err(problem(
            "documents",
            DraftProblem::TooMany {
                what: "documents",
                max: MAX_DOCUMENTS,
            },
        ));
    }
    let mut seen = BTreeSet::new();
    let mut documents = Vec::with_capacity(draft.documents.len());
    for (i, doc) in draft.documents.iter().enumerate() {
        let at = format!("documents[{i}].id");
        if !seen.insert(doc.document) {
            return Err(problem(at, DraftProblem::DuplicateDocument(doc.document)));
        }
        let Some(&count) = pages.get(&doc.document) else {
            return Err(problem(at, DraftProblem::UnknownDocument(doc.document)));
        };
        documents.push(EnvelopeDocument {
            document: doc.document,
            action: doc.action,
            pages: count,
        });
    }
    if !documents.iter().any(|d| d.action == DocumentAction::Sign) {
        return Err(problem("documents", DraftProblem::NothingToSign));
    }
    Ok(documents)
}

fn check_participants(
    draft: &EnvelopeDraft,
    policy: AuthPolicy,
) -> Result<Vec<Participant>, DraftError> {
    if draft.participants.len() > MAX_PARTICIPANTS {
        return Err(problem(
            "participants",
            DraftProblem::TooMany {
                what: "participants",
                max: MAX_PARTICIPANTS,
            },
        ));
    }
    let mut keys = BTreeSet::new();
    for (i, p) in draft.participants.iter().enumerate() {
        if !keys.insert(&p.key) {
            return Err(problem(
                format!("participants[{i}].key"),
                DraftProblem::DuplicateKey(p.key.clone()),
            ));
        }
        let missing = |needs, field: &str| {
            problem(
                format!("participants[{i}].{field}"),
                DraftProblem::MissingContact {
                    participant: p.key.clone(),
                    method: p.auth,
                    needs,
                },
            )
        };
        match p.auth {
            AuthMethod::EmailCode if p.email.is_none() => {
                return Err(missing("an e-mail address", "email"));
            }
            AuthMethod::SmsCode | AuthMethod::VoiceCode if p.phone.is_none() => {
                return Err(missing("a phone number", "phone"));
            }
            _ => {}
        }
        if !policy.allows(p.auth) {
            return Err(problem(
                format!("participants[{i}].auth"),
                DraftProblem::AuthNotAllowed(p.auth),
            ));
        }
        if p.role == Role::Copy && p.email.is_none() && p.phone.is_none() {
            return Err(problem(
                format!("participants[{i}].email"),
                DraftProblem::CopyUnreachable(p.key.clone()),
            ));
        }
    }
    if !draft.participants.iter().any(|p| p.role == Role::Signer) {
        return Err(problem("participants", DraftProblem::NoSigner));
    }
    let nodes: Vec<OrderNode<'_>> = draft
        .participants
        .iter()
        .map(|p| OrderNode {
            key: &p.key,
            role: p.role,
            after: &p.after,
        })
        .collect();
    if let Err(error) = order::check(&nodes) {
        let culprit = match &error {
            OrderError::UnknownKey { participant, .. }
            | OrderError::SelfEdge { participant }
            | OrderError::Cycle { participant, .. }
            | OrderError::WaitsForNonActor { participant, .. }
            | OrderError::CopyOrdered { participant } => participant,
        };
        let i = draft
            .participants
            .iter()
            .position(|p| &p.key == culprit)
            .unwrap_or_default();
        return Err(problem(
            format!("participants[{i}].after"),
            DraftProblem::Order(error),
        ));
    }
    Ok(draft
        .participants
        .iter()
        .map(|p| Participant {
            id: ParticipantId::generate(),
            key: p.key.clone(),
            name: p.name.clone(),
            email: p.email.clone(),
            phone: p.phone.clone(),
            role: p.role,
            auth: p.auth,
            language: p.language.unwrap_or(draft.language),
            after: p.after.clone(),
            state: ParticipantState::Waiting,
            invited_at: None,
            opened_at: None,
            authenticated_at: None,
            finished_at: None,
            reminders_sent: 0,
            last_reminded_at: None,
            decline_reason: None,
        })
        .collect())
}

fn check_fields(
    draft: &EnvelopeDraft,
    documents: &[EnvelopeDocument],
    participants: &[Participant],
) -> Result<Vec<Field>, DraftError> {
    if draft.fields.len() > MAX_FIELDS {
        return Err(problem(
            "fields",
            DraftProblem::TooMany {
                what: "fields",
                max: MAX_FIELDS,
            },
        ));
    }
    let mut fields = Vec::with_capacity(draft.fields.len());
    for (i, f) in draft.fields.iter().enumerate() {
        let at = |name: &str| format!("fields[{i}].{name}");
        let Some(owner) = participants.iter().find(|p| p.key == f.participant) else {
            return Err(problem(
                at("participant"),
                DraftProblem::UnknownParticipant(f.participant.clone()),
            ));
        };
        if owner.role != Role::Signer {
            return Err(problem(
                at("participant"),
                DraftProblem::FieldForNonSigner {
                    participant: owner.key.clone(),
                    role: owner.role,
                },
            ));
        }
        let Some(doc) = documents.iter().find(|d| d.document == f.document) else {
            return Err(problem(
                at("document"),
                DraftProblem::NotInEnvelope(f.document),
            ));
        };
        if doc.action != DocumentAction::Sign {
            return Err(problem(
                at("document"),
                DraftProblem::FieldOnViewedDocument(f.document),
            ));
        }
        // A document whose bytes are awaited has its pages checked when they arrive.
        if f.page == 0 || (!doc.awaited() && f.page > doc.pages) {
            return Err(problem(
                at("page"),
                DraftProblem::NoSuchPage {
                    page: f.page,
                    pages: doc.pages,
                },
            ));
        }
        let rect = Rect::new(f.x, f.y, f.width, f.height).map_err(|e| {
            let name = match &e {
                FieldError::Coordinate { name, .. } => name,
                FieldError::LeavesPage { edge: "right" } => "width",
                _ => "height",
            };
            problem(at(name), DraftProblem::Field(e))
        })?;
        if let Some(value) = &f.value {
            check_value(f.kind, value).map_err(|e| problem(at("value"), DraftProblem::Field(e)))?;
        }
        fields.push(Field {
            id: FieldId::random(),
            participant: owner.id,
            document: f.document,
            page: f.page,
            rect,
            kind: f.kind,
            required: f.required,
            label: f.label.clone(),
            value: f.value.clone(),
        });
    }
    Ok(fields)
}

/// A participant act, for refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Act {
    /// Opening the link.
    Open,
    /// Asking for a code.
    RequestCode,
    /// Authenticating.
    Authenticate,
    /// Filling a field.
    Fill,
    /// Signing.
    Sign,
    /// Declining.
    Decline,
}

impl Act {
    /// The act in words.
    pub fn as_str(self) -> &'static str {
        match self {
            Act::Open => "open the envelope",
            Act::RequestCode => "ask for a code",
            Act::Authenticate => "authenticate",
            Act::Fill => "fill fields",
            Act::Sign => "sign",
            Act::Decline => "decline",
        }
    }
}

/// Why a command was refused. The envelope is unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The envelope is final.
    #[error("the envelope is {}", .0.as_str())]
    Closed(EnvelopeStatus),
    /// The expiry passed: the caller should run [`Command::Expire`].
    #[error("the envelope has expired")]
    ExpiryPassed,
    /// The expiry has not come (or there is none).
    #[error("the envelope does not expire yet")]
    NotDue,
    /// No such participant in this envelope.
    #[error("no such participant")]
    UnknownParticipant,
    /// No such field in this envelope.
    #[error("no such field")]
    UnknownField(FieldId),
    /// The field is another participant's.
    #[error("this field belongs to another participant")]
    NotYourField(FieldId),
    /// The participant waits for others.
    #[error("{participant} must wait for {}", keys_text(.waiting_for))]
    NotYourTurn {
        /// Who.
        participant: ParticipantKey,
        /// Whom they still wait for.
        waiting_for: Vec<ParticipantKey>,
    },
    /// The participant's role does not allow the act.
    #[error("a {} cannot {}", .role.as_str(), .act.as_str())]
    RoleCannot {
        /// The role.
        role: Role,
        /// The act.
        act: Act,
    },
    /// The participant's state does not allow the act.
    #[error("{participant} is {} and cannot {}", .state.as_str(), .act.as_str())]
    WrongState {
        /// Who.
        participant: ParticipantKey,
        /// Their state.
        state: ParticipantState,
        /// The act.
        act: Act,
    },
    /// The participant authenticates without a code.
    #[error("no code is needed")]
    NoCodeNeeded,
    /// A value does not suit its field.
    #[error("field {field}: {error}")]
    BadValue {
        /// The field.
        field: FieldId,
        /// What is wrong.
        error: FieldError,
    },
    /// Required fields are not filled.
    #[error("{} required fields are not filled", .fields.len())]
    FieldsMissing {
        /// Which.
        fields: Vec<FieldId>,
    },
    /// The participant did not agree to sign electronically.
    #[error("consent to sign electronically is required")]
    NoConsent,
    /// Sealing before completion.
    #[error("the envelope is not completed")]
    NotCompleted,
    /// Sealing twice.
    #[error("the envelope is already sealed")]
    AlreadySealed,
    /// A document to sign has not arrived yet: nobody signs before it does.
    #[error("document {0} has not arrived yet")]
    DocumentAwaited(DocumentId),
    /// The document is not one of the envelope's.
    #[error("document {0} is not one of the envelope's documents")]
    NotInEnvelope(DocumentId),
    /// The arrived document cannot hold the fields placed on it.
    #[error("field {field} is on page {page}, but the document has {pages} pages")]
    NoSuchPage {
        /// The field.
        field: FieldId,
        /// Its page.
        page: u32,
        /// The document's pages.
        pages: u32,
    },
    /// The document arrived before with another page count.
    #[error("the document arrived before with {known} pages, not {got}")]
    PagesDiffer {
        /// The pages known.
        known: u32,
        /// The pages now.
        got: u32,
    },
}

fn keys_text(keys: &[ParticipantKey]) -> String {
    keys.iter()
        .map(ParticipantKey::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a participant no longer holds anyone up: they signed, or were released.
fn done(state: ParticipantState) -> bool {
    matches!(state, ParticipantState::Signed | ParticipantState::Released)
}

/// Whom a participant still waits for (empty once their turn has come).
pub fn waiting_for<'a>(
    envelope: &'a SignEnvelope,
    participant: &'a Participant,
) -> Vec<&'a ParticipantKey> {
    order::unmet(&participant.after, |key| {
        envelope
            .participant_by_key(key)
            .is_some_and(|p| done(p.state))
    })
}

/// The participants who may sign (or approve) now: the envelope is open, their turn has come
/// and they have not acted.
pub fn may_act_now(envelope: &SignEnvelope) -> Vec<ParticipantId> {
    if envelope.status != EnvelopeStatus::Open {
        return Vec::new();
    }
    envelope
        .participants
        .iter()
        .filter(|p| p.role.acts() && p.state.is_pending() && waiting_for(envelope, p).is_empty())
        .map(|p| p.id)
        .collect()
}

/// A transition in progress: the working copy, and what it produced so far.
struct Tx<'o> {
    env: SignEnvelope,
    effects: Vec<Effect>,
    events: Vec<SigningEvent>,
    origin: &'o Origin,
    now: OffsetDateTime,
}

impl<'o> Tx<'o> {
    fn new(env: SignEnvelope, origin: &'o Origin, now: OffsetDateTime) -> Self {
        Self {
            env,
            effects: Vec::new(),
            events: Vec::new(),
            origin,
            now,
        }
    }

    fn finish(self) -> Outcome {
        Outcome {
            envelope: self.env,
            effects: self.effects,
            events: self.events,
        }
    }

    /// Records an act; Signet's own acts carry no origin.
    fn event(&mut self, actor: Actor, kind: EventKind) {
        let origin = match actor {
            Actor::System => Origin::default(),
            _ => self.origin.clone(),
        };
        self.events.push(SigningEvent {
            kind,
            actor,
            at: self.now,
            origin,
        });
    }

    fn participant_mut(&mut self, id: ParticipantId) -> &mut Participant {
        // Callers looked the participant up first: ids never change within a transition.
        let index = self
            .env
            .participants
            .iter()
            .position(|p| p.id == id)
            .unwrap_or_default();
        &mut self.env.participants[index]
    }

    /// What follows a signature (or the opening): releases signers no longer needed, completes
    /// the envelope when the rule is met, otherwise invites whoever's turn has come.
    fn progress(&mut self) {
        let quota_met = self.env.signatures() >= self.env.signatures_needed();
        if quota_met {
            let now = self.now;
            let released: Vec<ParticipantId> = self
                .env
                .participants
                .iter_mut()
                .filter(|p| p.role == Role::Signer && !p.state.is_final())
                .map(|p| {
                    p.state = ParticipantState::Released;
                    p.finished_at = Some(now);
                    p.id
                })
                .collect();
            for participant in released {
                self.event(Actor::System, EventKind::Released { participant });
            }
            let approved = self
                .env
                .participants
                .iter()
                .filter(|p| p.role == Role::Approver)
                .all(|p| p.state == ParticipantState::Signed);
            if approved {
                self.env.status = EnvelopeStatus::Completed;
                self.env.closed_at = Some(self.now);
                self.event(Actor::System, EventKind::Completed);
                self.effects.push(Effect::Notify(Notice::Completed));
                self.effects.push(Effect::Seal);
                return;
            }
        }
        let ready: Vec<ParticipantId> = self
            .env
            .participants
            .iter()
            .filter(|p| {
                p.state == ParticipantState::Waiting
                    && p.role != Role::Copy
                    && waiting_for(&self.env, p).is_empty()
            })
            .map(|p| p.id)
            .collect();
        if ready.is_empty() {
            return;
        }
        for &participant in &ready {
            let now = self.now;
            let p = self.participant_mut(participant);
            p.state = ParticipantState::Invited;
            p.invited_at = Some(now);
            self.event(Actor::System, EventKind::Invited { participant });
        }
        self.effects.push(Effect::Invite(ready));
        if let Some(policy) = self.env.reminders
            && policy.max > 0
        {
            self.effects.push(Effect::Schedule {
                at: self.now + days(policy.every_days),
                timer: Timer::Reminders,
            });
        }
    }

    /// Ends the envelope without completion and tells whoever had their turn.
    fn end(&mut self, status: EnvelopeStatus, notice: Notice, except: Option<ParticipantId>) {
        self.env.status = status;
        self.env.closed_at = Some(self.now);
        self.effects.push(Effect::Notify(notice));
        let told: Vec<ParticipantId> = self
            .env
            .participants
            .iter()
            .filter(|p| p.invited_at.is_some() && Some(p.id) != except)
            .map(|p| p.id)
            .collect();
        if !told.is_empty() {
            self.effects.push(Effect::InformEnded(told));
        }
    }

    /// Sends reminders to `targets` and counts them.
    fn remind(&mut self, targets: Vec<ParticipantId>) {
        if targets.is_empty() {
            return;
        }
        for &participant in &targets {
            let now = self.now;
            let p = self.participant_mut(participant);
            p.reminders_sent += 1;
            p.last_reminded_at = Some(now);
            self.event(Actor::System, EventKind::Reminded { participant });
        }
        self.effects.push(Effect::Remind(targets));
    }
}

fn days(n: u32) -> Duration {
    Duration::days(i64::from(n))
}

/// How many reminders each participant may get.
fn reminder_limit(envelope: &SignEnvelope) -> u32 {
    envelope.reminders.map_or(MANUAL_REMINDER_LIMIT, |r| r.max)
}

/// Participants who may be reminded: their turn came, they have to act and have not, and they
/// have reminders left.
fn remindable(envelope: &SignEnvelope) -> impl Iterator<Item = &Participant> {
    let limit = reminder_limit(envelope);
    envelope
        .participants
        .iter()
        .filter(move |p| p.role.acts() && p.state.is_pending() && p.reminders_sent < limit)
}

/// When a participant's next automatic reminder is due.
fn next_reminder(p: &Participant, policy: ReminderPolicy) -> Option<OffsetDateTime> {
    p.last_reminded_at
        .or(p.invited_at)
        .map(|last| last + days(policy.every_days))
}

/// Moves the envelope by one command at `now`; `origin` is recorded with the acts of the
/// participant or sender who asked. Refused commands change nothing.
pub fn apply(
    envelope: &SignEnvelope,
    command: Command,
    origin: &Origin,
    now: OffsetDateTime,
) -> Result<Outcome, Refusal> {
    if envelope.status.is_final() {
        return match (envelope.status, &command) {
            (EnvelopeStatus::Completed, Command::RecordSealed) => {
                if envelope.sealed_at.is_some() {
                    return Err(Refusal::AlreadySealed);
                }
                let mut tx = Tx::new(envelope.clone(), origin, now);
                tx.env.sealed_at = Some(now);
                tx.event(Actor::System, EventKind::Sealed);
                tx.effects.push(Effect::Notify(Notice::Sealed));
                let to: Vec<ParticipantId> = tx
                    .env
                    .participants
                    .iter()
                    .filter(|p| p.role == Role::Copy || p.invited_at.is_some())
                    .map(|p| p.id)
                    .collect();
                tx.effects.push(Effect::DeliverResult(to));
                Ok(tx.finish())
            }
            (status, _) => Err(Refusal::Closed(status)),
        };
    }
    let expired = envelope.expires_at.is_some_and(|at| now >= at);
    let mut tx = Tx::new(envelope.clone(), origin, now);
    match command {
        Command::Expire => {
            if !expired {
                return Err(Refusal::NotDue);
            }
            tx.event(Actor::System, EventKind::Expired);
            tx.end(EnvelopeStatus::Expired, Notice::Expired, None);
        }
        _ if expired => return Err(Refusal::ExpiryPassed),
        Command::RecordSealed => return Err(Refusal::NotCompleted),
        Command::DocumentArrived { document, pages } => {
            arrive(&mut tx.env, document, pages)?;
        }
        Command::Void { reason } => {
            tx.env.void_reason = Some(reason.clone());
            tx.event(Actor::Sender, EventKind::Voided { reason });
            tx.end(EnvelopeStatus::Voided, Notice::Voided, None);
        }
        Command::Remind => {
            let targets = remindable(&tx.env).map(|p| p.id).collect();
            tx.remind(targets);
        }
        Command::RemindDue => {
            let Some(policy) = tx.env.reminders else {
                return Ok(tx.finish());
            };
            let targets = remindable(&tx.env)
                .filter(|p| next_reminder(p, policy).is_some_and(|due| due <= now))
                .map(|p| p.id)
                .collect();
            tx.remind(targets);
            let next = remindable(&tx.env)
                .filter_map(|p| next_reminder(p, policy))
                .min();
            if let Some(at) = next {
                tx.effects.push(Effect::Schedule {
                    at,
                    timer: Timer::Reminders,
                });
            }
        }
        Command::Open { participant } => {
            let p = gate(&tx.env, participant, Act::Open)?;
            let first = p.state == ParticipantState::Invited;
            let p = tx.participant_mut(participant);
            if first {
                p.state = ParticipantState::Opened;
                p.opened_at = Some(now);
            }
            tx.event(
                Actor::Participant(participant),
                EventKind::Opened { participant },
            );
        }
        Command::RequestCode { participant } => {
            let p = gate(&tx.env, participant, Act::RequestCode)?;
            if !p.auth.needs_code() {
                return Err(Refusal::NoCodeNeeded);
            }
            let method = p.auth;
            tx.event(
                Actor::Participant(participant),
                EventKind::CodeSent {
                    participant,
                    method,
                },
            );
            tx.effects.push(Effect::SendCode {
                participant,
                method,
            });
        }
        Command::Authenticate { participant } => {
            let method = gate(&tx.env, participant, Act::Authenticate)?.auth;
            let p = tx.participant_mut(participant);
            p.state = ParticipantState::Authenticated;
            p.authenticated_at = Some(now);
            tx.event(
                Actor::Participant(participant),
                EventKind::Authenticated {
                    participant,
                    method,
                },
            );
        }
        Command::Fill {
            participant,
            field,
            value,
        } => {
            gate(&tx.env, participant, Act::Fill)?;
            fill(&mut tx, participant, field, value)?;
        }
        Command::Sign {
            participant,
            values,
            consent,
        } => {
            let role = gate(&tx.env, participant, Act::Sign)?.role;
            if let Some(doc) = tx
                .env
                .documents
                .iter()
                .find(|d| d.action == DocumentAction::Sign && d.awaited())
            {
                return Err(Refusal::DocumentAwaited(doc.document));
            }
            for (field, value) in values {
                fill(&mut tx, participant, field, value)?;
            }
            let missing: Vec<FieldId> = tx
                .env
                .fields_of(participant)
                .filter(|f| f.blocks_signing())
                .map(|f| f.id)
                .collect();
            if !missing.is_empty() {
                return Err(Refusal::FieldsMissing { fields: missing });
            }
            if !consent {
                return Err(Refusal::NoConsent);
            }
            let p = tx.participant_mut(participant);
            p.state = ParticipantState::Signed;
            p.finished_at = Some(now);
            tx.event(
                Actor::Participant(participant),
                EventKind::Signed { participant, role },
            );
            tx.effects.push(Effect::Notify(Notice::Signed(participant)));
            tx.progress();
        }
        Command::Decline {
            participant,
            reason,
        } => {
            gate(&tx.env, participant, Act::Decline)?;
            let p = tx.participant_mut(participant);
            p.state = ParticipantState::Declined;
            p.finished_at = Some(now);
            p.decline_reason = Some(reason.clone());
            tx.event(
                Actor::Participant(participant),
                EventKind::Declined {
                    participant,
                    reason,
                },
            );
            tx.end(
                EnvelopeStatus::Declined,
                Notice::Declined(participant),
                Some(participant),
            );
        }
    }
    Ok(tx.finish())
}

/// Records the pages of a document whose bytes arrived, after checking that every field on it
/// lies on a page it has. Arriving again with the same pages changes nothing.
fn arrive(envelope: &mut SignEnvelope, document: DocumentId, pages: u32) -> Result<(), Refusal> {
    let doc = envelope
        .documents
        .iter()
        .position(|d| d.document == document)
        .ok_or(Refusal::NotInEnvelope(document))?;
    let known = envelope.documents[doc].pages;
    if known != PAGES_AWAITED {
        return if known == pages {
            Ok(())
        } else {
            Err(Refusal::PagesDiffer { known, got: pages })
        };
    }
    if let Some(f) = envelope
        .fields
        .iter()
        .find(|f| f.document == document && (f.page == 0 || f.page > pages))
    {
        return Err(Refusal::NoSuchPage {
            field: f.id,
            page: f.page,
            pages,
        });
    }
    envelope.documents[doc].pages = pages;
    Ok(())
}

/// Checks that a participant may perform `act` now: their role allows it, their turn has come,
/// and they reached the step it needs (opened before authenticating, authenticated before
/// filling, signing or declining).
fn gate(envelope: &SignEnvelope, id: ParticipantId, act: Act) -> Result<&Participant, Refusal> {
    let p = envelope
        .participant(id)
        .ok_or(Refusal::UnknownParticipant)?;
    let role_allows = match p.role {
        Role::Signer => true,
        Role::Approver => act != Act::Fill,
        Role::Viewer => matches!(act, Act::Open | Act::RequestCode | Act::Authenticate),
        Role::Copy => false,
    };
    if !role_allows {
        return Err(Refusal::RoleCannot { role: p.role, act });
    }
    use ParticipantState::*;
    if p.state == Waiting {
        return Err(Refusal::NotYourTurn {
            participant: p.key.clone(),
            waiting_for: waiting_for(envelope, p).into_iter().cloned().collect(),
        });
    }
    let step_reached = match act {
        Act::Open => matches!(p.state, Invited | Opened | Authenticated),
        Act::RequestCode | Act::Authenticate => matches!(p.state, Opened | Authenticated),
        Act::Fill | Act::Sign | Act::Decline => p.state == Authenticated,
    };
    if !step_reached {
        return Err(Refusal::WrongState {
            participant: p.key.clone(),
            state: p.state,
            act,
        });
    }
    Ok(p)
}

/// Fills one of the participant's fields with a value of the right kind.
fn fill(
    tx: &mut Tx<'_>,
    participant: ParticipantId,
    field: FieldId,
    value: FieldValue,
) -> Result<(), Refusal> {
    let index = tx
        .env
        .fields
        .iter()
        .position(|f| f.id == field)
        .ok_or(Refusal::UnknownField(field))?;
    let target = &mut tx.env.fields[index];
    if target.participant != participant {
        return Err(Refusal::NotYourField(field));
    }
    check_value(target.kind, &value).map_err(|error| Refusal::BadValue { field, error })?;
    target.value = Some(value);
    tx.event(
        Actor::Participant(participant),
        EventKind::FieldFilled { participant, field },
    );
    Ok(())
}
