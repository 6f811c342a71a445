//! The envelope endpoints' wire types: what a client sends (checked into the core's draft here,
//! each problem naming the member at fault) and what it gets back. The field names and words
//! are a contract that outside tools rely on; the snapshot tests freeze them.

use serde::{Deserialize, Serialize};
use signet_core::ids::{DocumentId, EnvelopeId};
use signet_core::signing::library::LibraryDocument;
use signet_core::signing::{
    AuthMethod, CompletionRule, DocumentAction, DraftDocument, DraftField, DraftParticipant,
    EnvelopeDraft, EnvelopeStatus, FieldKind, FieldValue, Mark, Participant, ParticipantKey,
    ParticipantState, Redirects, ReminderPolicy, Role, SignEnvelope,
};
use signet_core::values::{Email, Language, Phone};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::super::NativeError;
use super::super::library::LibraryDocumentOut;
use signet_core::signing::{SignVersion, SignVersionKind};

fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> NativeError {
    NativeError::InvalidField {
        field: field.into(),
        message: message.to_string(),
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// `POST /v1/envelopes`: an envelope that collects signatures.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateEnvelopeIn {
    /// Shown to participants (1 to 255 characters).
    title: String,
    /// Language of messages and pages: `en` or `fr` (default `en`).
    #[serde(default)]
    language: Option<String>,
    /// When the envelope expires (RFC 3339, in the future); never when absent.
    #[serde(default)]
    expires_at: Option<String>,
    /// Library documents, in order.
    documents: Vec<EnvelopeDocumentIn>,
    /// Participants, in order.
    participants: Vec<ParticipantIn>,
    /// Fields placed on pages of the documents to sign.
    #[serde(default)]
    fields: Vec<FieldIn>,
    /// How many signers must sign (default: all).
    #[serde(default)]
    completion: Option<CompletionIn>,
    /// Automatic reminders (default: none).
    #[serde(default)]
    reminders: Option<RemindersIn>,
    /// Where the signer's browser goes afterwards.
    #[serde(default)]
    redirects: Option<RedirectsIn>,
}

/// A library document and what participants do with it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvelopeDocumentIn {
    /// A document of the caller's library (`POST /v1/documents`).
    id: String,
    /// `sign` or `view`.
    action: ActionWire,
}

/// What participants do with a document.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ActionWire {
    /// Signers sign it; fields go on it.
    Sign,
    /// Shown for information.
    View,
}

/// A participant.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ParticipantIn {
    /// Your name for this participant, unique in the envelope (1 to 64 characters); `after`
    /// and fields refer to it.
    key: String,
    /// Their name, as shown and stamped.
    name: String,
    /// E-mail address (needed for `email` authentication).
    #[serde(default)]
    email: Option<String>,
    /// Mobile number in E.164 form, e.g. `+33612345678` (needed for `sms` and `voice`).
    #[serde(default)]
    phone: Option<String>,
    /// `signer`, `approver`, `viewer` or `copy`.
    role: RoleWire,
    /// How they prove who they are: a code by `email`, `sms` or `voice`, or `none`.
    auth: AuthWire,
    /// Their language, if not the envelope's.
    #[serde(default)]
    language: Option<String>,
    /// Keys of the participants who must sign before this one's turn comes.
    #[serde(default)]
    after: Vec<String>,
}

/// A participant's role.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RoleWire {
    /// Signs.
    Signer,
    /// Approves without a signature of their own.
    Approver,
    /// Sees the documents when their turn comes.
    Viewer,
    /// Receives the sealed result.
    Copy,
}

/// How a participant authenticates.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AuthWire {
    /// A code sent by e-mail.
    Email,
    /// A code sent by SMS.
    Sms,
    /// A code read out in a voice call.
    Voice,
    /// The link alone (recorded as such).
    None,
}

/// A field on a page.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldIn {
    /// The key of the participant who fills it (a signer).
    participant: String,
    /// The document it is on (one of the envelope's documents to sign).
    document: String,
    /// The page, from 1.
    page: u32,
    /// Left edge, a fraction (0..1) of the page's width as displayed, from the left.
    x: f64,
    /// Top edge, a fraction (0..1) of the page's height as displayed, from the top.
    y: f64,
    /// Width, a fraction (0..1) of the page's width.
    width: f64,
    /// Height, a fraction (0..1) of the page's height.
    height: f64,
    /// What it holds.
    #[serde(rename = "type")]
    kind: FieldTypeWire,
    /// Whether it must be filled before its participant may sign (default true).
    #[serde(default)]
    required: Option<bool>,
    /// What the participant is asked for (shown as the input's label).
    #[serde(default)]
    label: Option<String>,
    /// A value filled in advance: text for `text`, `name`, `signature` and `initials`,
    /// `YYYY-MM-DD` for `date`, `true`/`false` for `checkbox`.
    #[serde(default)]
    value: Option<PrefillWire>,
}

/// What a field holds.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FieldTypeWire {
    /// A signature.
    Signature,
    /// Initials.
    Initials,
    /// The participant's name.
    Name,
    /// A date.
    Date,
    /// Free text.
    Text,
    /// A box to tick.
    Checkbox,
}

/// A prefilled value.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum PrefillWire {
    /// Text or a date.
    Text(String),
    /// A checkbox.
    Flag(bool),
}

/// The completion rule.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompletionIn {
    /// How many signers must sign (1 to the number of signers); once that many have, the
    /// others are released.
    min_signers: u32,
}

/// Automatic reminders.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RemindersIn {
    /// Days between reminders (at least 1).
    every_days: u32,
    /// Most reminders per participant.
    max: u32,
}

/// Where the signer's browser goes afterwards (absolute http(s) URLs).
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedirectsIn {
    /// After signing.
    #[serde(default)]
    success: Option<String>,
    /// After declining.
    #[serde(default)]
    cancel: Option<String>,
    /// After an error.
    #[serde(default)]
    error: Option<String>,
}

fn parse<T: std::str::FromStr>(field: String, text: &str) -> Result<T, NativeError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| invalid(field, e))
}

/// An E.164 number (`+` and digits) as the core's phone, which is kept with its country.
fn phone(field: String, text: &str) -> Result<Phone, NativeError> {
    let text = text.trim();
    if !text.starts_with('+') {
        return Err(invalid(field, "must be in E.164 form, e.g. +33612345678"));
    }
    let number =
        phonenumber::parse(None, text).map_err(|_| invalid(field.clone(), "not a phone number"))?;
    let country = number
        .country()
        .id()
        .ok_or_else(|| invalid(field.clone(), "no country has this number"))?;
    Phone::from_national(country.as_ref(), &number.national().to_string())
        .map_err(|e| invalid(field, e))
}

impl CreateEnvelopeIn {
    /// The core's draft, each value checked and each problem naming its member.
    pub(crate) fn into_draft(self) -> Result<EnvelopeDraft, NativeError> {
        let language = match &self.language {
            Some(text) => parse::<Language>("language".into(), text)?,
            None => Language::default(),
        };
        let expires_at = self
            .expires_at
            .as_deref()
            .map(|text| {
                OffsetDateTime::parse(text, &Rfc3339)
                    .map_err(|_| invalid("expires_at", "must be an RFC 3339 date and time"))
            })
            .transpose()?;
        let documents = self
            .documents
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                Ok(DraftDocument {
                    document: document_id(format!("documents[{i}].id"), &d.id)?,
                    action: match d.action {
                        ActionWire::Sign => DocumentAction::Sign,
                        ActionWire::View => DocumentAction::View,
                    },
                })
            })
            .collect::<Result<Vec<_>, NativeError>>()?;
        let participants = self
            .participants
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.into_draft(i))
            .collect::<Result<Vec<_>, NativeError>>()?;
        let fields = self
            .fields
            .into_iter()
            .enumerate()
            .map(|(i, f)| f.into_draft(i))
            .collect::<Result<Vec<_>, NativeError>>()?;
        let completion = match self.completion {
            Some(CompletionIn { min_signers }) => CompletionRule::AtLeast { min_signers },
            None => CompletionRule::AllSigners,
        };
        let reminders = self.reminders.map(|r| ReminderPolicy {
            every_days: r.every_days,
            max: r.max,
        });
        let redirects = match self.redirects {
            None => Redirects::default(),
            Some(r) => {
                let url = |name: &str, text: Option<String>| {
                    text.map(|t| parse(format!("redirects.{name}"), &t))
                        .transpose()
                };
                Redirects {
                    success: url("success", r.success)?,
                    cancel: url("cancel", r.cancel)?,
                    error: url("error", r.error)?,
                }
            }
        };
        Ok(EnvelopeDraft {
            title: parse("title".into(), &self.title)?,
            language,
            expires_at,
            documents,
            participants,
            fields,
            completion,
            reminders,
            redirects,
            // The native API has no choice for it yet: signers get their copy.
            signed_copy_offered: true,
        })
    }
}

/// A document reference: one that is not even an id is as unknown as one that does not exist.
fn document_id(field: String, text: &str) -> Result<DocumentId, NativeError> {
    text.parse()
        .map_err(|_| invalid(field, format!("document {text} does not exist")))
}

impl ParticipantIn {
    fn into_draft(self, i: usize) -> Result<DraftParticipant, NativeError> {
        let at = |member: &str| format!("participants[{i}].{member}");
        Ok(DraftParticipant {
            key: parse(at("key"), &self.key)?,
            name: parse(at("name"), &self.name)?,
            email: self
                .email
                .map(|e| parse::<Email>(at("email"), &e))
                .transpose()?,
            phone: self.phone.map(|p| phone(at("phone"), &p)).transpose()?,
            role: match self.role {
                RoleWire::Signer => Role::Signer,
                RoleWire::Approver => Role::Approver,
                RoleWire::Viewer => Role::Viewer,
                RoleWire::Copy => Role::Copy,
            },
            auth: match self.auth {
                AuthWire::Email => AuthMethod::EmailCode,
                AuthWire::Sms => AuthMethod::SmsCode,
                AuthWire::Voice => AuthMethod::VoiceCode,
                AuthWire::None => AuthMethod::None,
            },
            language: self
                .language
                .map(|l| parse::<Language>(at("language"), &l))
                .transpose()?,
            after: self
                .after
                .iter()
                .enumerate()
                .map(|(j, key)| {
                    parse::<ParticipantKey>(format!("participants[{i}].after[{j}]"), key)
                })
                .collect::<Result<_, _>>()?,
        })
    }
}

impl FieldIn {
    fn into_draft(self, i: usize) -> Result<DraftField, NativeError> {
        let at = |member: &str| format!("fields[{i}].{member}");
        let kind = match self.kind {
            FieldTypeWire::Signature => FieldKind::Signature,
            FieldTypeWire::Initials => FieldKind::Initials,
            FieldTypeWire::Name => FieldKind::Name,
            FieldTypeWire::Date => FieldKind::Date,
            FieldTypeWire::Text => FieldKind::Text,
            FieldTypeWire::Checkbox => FieldKind::Checkbox,
        };
        let value = self
            .value
            .map(|value| prefill(at("value"), kind, value))
            .transpose()?;
        Ok(DraftField {
            participant: parse(at("participant"), &self.participant)?,
            document: document_id(at("document"), &self.document)?,
            page: self.page,
            x: self.x,
            y: self.y,
            width: self.width,
            height: self.height,
            kind,
            required: self.required.unwrap_or(true),
            label: self.label.map(|l| parse(at("label"), &l)).transpose()?,
            value,
        })
    }
}

/// A prefilled value as the core's, by the field's type; whether it suits the field is the
/// core's check.
fn prefill(field: String, kind: FieldKind, value: PrefillWire) -> Result<FieldValue, NativeError> {
    Ok(match (kind, value) {
        (FieldKind::Checkbox, PrefillWire::Flag(ticked)) => FieldValue::Checkbox(ticked),
        (FieldKind::Date, PrefillWire::Text(text)) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            FieldValue::Date(
                time::Date::parse(&text, format)
                    .map_err(|_| invalid(field, "must be a date, YYYY-MM-DD"))?,
            )
        }
        (FieldKind::Signature | FieldKind::Initials, PrefillWire::Text(text)) => {
            FieldValue::Mark(Mark::Typed { text })
        }
        (FieldKind::Checkbox, PrefillWire::Text(_)) => {
            return Err(invalid(field, "must be true or false for a checkbox"));
        }
        (_, PrefillWire::Text(text)) => FieldValue::Text(text),
        (_, PrefillWire::Flag(_)) => {
            return Err(invalid(field, "must be text for this type of field"));
        }
    })
}

/// Where an envelope stands.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EnvelopeStateWire {
    /// Collecting signatures.
    Open,
    /// Enough signed (sealing follows).
    Completed,
    /// A participant declined.
    Declined,
    /// The sender voided it.
    Voided,
    /// Its expiry passed.
    Expired,
}

impl EnvelopeStateWire {
    pub(crate) fn from_core(status: EnvelopeStatus) -> Self {
        match status {
            EnvelopeStatus::Open => Self::Open,
            EnvelopeStatus::Completed => Self::Completed,
            EnvelopeStatus::Declined => Self::Declined,
            EnvelopeStatus::Voided => Self::Voided,
            // A state the core gains later shows as final rather than open.
            _ => Self::Expired,
        }
    }

    pub(crate) fn to_core(self) -> EnvelopeStatus {
        match self {
            Self::Open => EnvelopeStatus::Open,
            Self::Completed => EnvelopeStatus::Completed,
            Self::Declined => EnvelopeStatus::Declined,
            Self::Voided => EnvelopeStatus::Voided,
            Self::Expired => EnvelopeStatus::Expired,
        }
    }
}

/// An envelope: where it stands, its participants and its documents.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EnvelopeOut {
    /// Its id.
    id: String,
    /// Its title.
    title: String,
    /// `open`, `completed`, `declined`, `voided` or `expired`.
    state: EnvelopeStateWire,
    /// Its language.
    language: String,
    /// When it was created (RFC 3339).
    created_at: String,
    /// When it expires, if ever.
    expires_at: Option<String>,
    /// When it reached a final state.
    closed_at: Option<String>,
    /// When the sealed result was stored.
    sealed_at: Option<String>,
    /// Why it was voided.
    void_reason: Option<String>,
    /// How many signatures complete it.
    completion: CompletionOut,
    /// Automatic reminders.
    reminders: Option<RemindersIn>,
    /// The participants, in order.
    participants: Vec<ParticipantOut>,
    /// The documents, in order, each with its current version.
    documents: Vec<DocumentOut>,
    /// The sealed result of each signed document, once sealed
    /// (`GET /v1/envelopes/{id}/result?document=`).
    results: Vec<LibraryDocumentOut>,
    /// The completion certificate, once made (`GET /v1/envelopes/{id}/certificate`).
    certificate: Option<LibraryDocumentOut>,
}

/// The completion rule in effect.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CompletionOut {
    /// Signatures needed.
    min_signers: u32,
    /// Signatures so far.
    signed: u32,
}

/// A participant and where they stand.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ParticipantOut {
    /// Its id.
    id: String,
    /// Your key for it.
    key: String,
    /// Name.
    name: String,
    /// E-mail address.
    email: Option<String>,
    /// Mobile number (E.164).
    phone: Option<String>,
    /// Role.
    role: RoleWire,
    /// Authentication.
    auth: AuthWire,
    /// Whom they wait for.
    after: Vec<String>,
    /// `waiting`, `invited`, `opened`, `authenticated`, `signed`, `declined` or `released`.
    state: ParticipantStateWire,
    /// Their own link to the signer's app (the link proves nothing by itself; their code does).
    signing_url: String,
    /// When their turn came.
    invited_at: Option<String>,
    /// When they signed, declined or were released.
    finished_at: Option<String>,
    /// Why they declined.
    decline_reason: Option<String>,
}

/// Where a participant stands.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ParticipantStateWire {
    /// Their turn has not come.
    Waiting,
    /// Sent their link.
    Invited,
    /// Opened their link.
    Opened,
    /// Proved who they are.
    Authenticated,
    /// Signed (an approver: approved).
    Signed,
    /// Declined.
    Declined,
    /// No longer needed (enough others signed).
    Released,
}

impl ParticipantStateWire {
    fn from_core(state: ParticipantState) -> Self {
        match state {
            ParticipantState::Waiting => Self::Waiting,
            ParticipantState::Invited => Self::Invited,
            ParticipantState::Opened => Self::Opened,
            ParticipantState::Authenticated => Self::Authenticated,
            ParticipantState::Signed => Self::Signed,
            ParticipantState::Declined => Self::Declined,
            _ => Self::Released,
        }
    }
}

/// A document of the envelope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DocumentOut {
    /// The library document given at creation.
    id: String,
    /// `sign` or `view`.
    action: ActionWire,
    /// Its pages.
    pages: u32,
    /// Its current version: the latest signed or sealed one, else the original.
    current: Option<LibraryDocumentOut>,
    /// Every version the envelope made of it, oldest first.
    versions: Vec<VersionOut>,
}

/// A version an envelope made of one of its documents.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct VersionOut {
    /// The library document holding it (`GET /v1/documents/{id}/content`).
    id: String,
    /// `signed` (one participant's act) or `sealed` (the archival seal at completion).
    kind: VersionKindWire,
    /// The version it was made from.
    derived_from: Option<String>,
    /// Whose act, for a signed version (their key).
    participant: Option<String>,
    /// When it was made.
    created_at: String,
}

/// What made a version.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum VersionKindWire {
    /// A participant's marks and signature.
    Signed,
    /// The archival seal.
    Sealed,
}

fn role_wire(role: Role) -> RoleWire {
    match role {
        Role::Signer => RoleWire::Signer,
        Role::Approver => RoleWire::Approver,
        Role::Viewer => RoleWire::Viewer,
        _ => RoleWire::Copy,
    }
}

fn auth_wire(auth: AuthMethod) -> AuthWire {
    match auth {
        AuthMethod::EmailCode => AuthWire::Email,
        AuthMethod::SmsCode => AuthWire::Sms,
        AuthMethod::VoiceCode => AuthWire::Voice,
        _ => AuthWire::None,
    }
}

impl ParticipantOut {
    fn new(p: &Participant, signing_url: String) -> Self {
        Self {
            id: p.id.to_string(),
            key: p.key.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            email: p.email.as_ref().map(ToString::to_string),
            phone: p.phone.as_ref().map(|phone| phone.e164().to_owned()),
            role: role_wire(p.role),
            auth: auth_wire(p.auth),
            after: p.after.iter().map(|k| k.as_str().to_owned()).collect(),
            state: ParticipantStateWire::from_core(p.state),
            signing_url,
            invited_at: p.invited_at.map(rfc3339),
            finished_at: p.finished_at.map(rfc3339),
            decline_reason: p.decline_reason.as_ref().map(|r| r.as_str().to_owned()),
        }
    }
}

impl EnvelopeOut {
    /// The envelope as the API shows it; `signing_url` gives each participant's link.
    pub(crate) fn new(
        envelope: &SignEnvelope,
        signing_url: impl Fn(&Participant) -> String,
        current: &[LibraryDocument],
        versions: &[SignVersion],
        results: &[LibraryDocument],
        certificate: Option<&LibraryDocument>,
    ) -> Self {
        Self {
            id: envelope.id.to_string(),
            title: envelope.title.as_str().to_owned(),
            state: EnvelopeStateWire::from_core(envelope.status),
            language: envelope.language.code().to_owned(),
            created_at: rfc3339(envelope.created_at),
            expires_at: envelope.expires_at.map(rfc3339),
            closed_at: envelope.closed_at.map(rfc3339),
            sealed_at: envelope.sealed_at.map(rfc3339),
            void_reason: envelope.void_reason.as_ref().map(|r| r.as_str().to_owned()),
            completion: CompletionOut {
                min_signers: u32::try_from(envelope.signatures_needed()).unwrap_or(u32::MAX),
                signed: u32::try_from(envelope.signatures()).unwrap_or(u32::MAX),
            },
            reminders: envelope.reminders.map(|r| RemindersIn {
                every_days: r.every_days,
                max: r.max,
            }),
            participants: envelope
                .participants
                .iter()
                .map(|p| ParticipantOut::new(p, signing_url(p)))
                .collect(),
            documents: envelope
                .documents
                .iter()
                .enumerate()
                .map(|(i, d)| DocumentOut {
                    id: d.document.to_string(),
                    action: match d.action {
                        DocumentAction::Sign => ActionWire::Sign,
                        _ => ActionWire::View,
                    },
                    pages: d.pages,
                    current: current.get(i).map(|c| LibraryDocumentOut::new(c, false)),
                    versions: versions
                        .iter()
                        .filter(|v| v.document == Some(d.document))
                        .filter_map(|v| {
                            let kind = match v.kind {
                                SignVersionKind::Signed => VersionKindWire::Signed,
                                SignVersionKind::Sealed => VersionKindWire::Sealed,
                                _ => return None,
                            };
                            Some(VersionOut {
                                id: v.version.to_string(),
                                kind,
                                derived_from: v.derived_from.map(|id| id.to_string()),
                                participant: v.participant.map(|id| {
                                    envelope
                                        .participant(id)
                                        .map(|p| p.key.as_str().to_owned())
                                        .unwrap_or_else(|| id.to_string())
                                }),
                                created_at: rfc3339(v.created_at),
                            })
                        })
                        .collect(),
                })
                .collect(),
            results: results
                .iter()
                .map(|r| LibraryDocumentOut::new(r, false))
                .collect(),
            certificate: certificate.map(|c| LibraryDocumentOut::new(c, false)),
        }
    }
}

/// An envelope in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EnvelopeSummaryOut {
    /// Its id.
    id: String,
    /// Its title.
    title: String,
    /// Where it stands.
    state: EnvelopeStateWire,
    /// When it was created.
    created_at: String,
    /// When it expires, if ever.
    expires_at: Option<String>,
    /// When it reached a final state.
    closed_at: Option<String>,
}

impl EnvelopeSummaryOut {
    pub(crate) fn new(envelope: &SignEnvelope) -> Self {
        Self {
            id: envelope.id.to_string(),
            title: envelope.title.as_str().to_owned(),
            state: EnvelopeStateWire::from_core(envelope.status),
            created_at: rfc3339(envelope.created_at),
            expires_at: envelope.expires_at.map(rfc3339),
            closed_at: envelope.closed_at.map(rfc3339),
        }
    }
}

/// A page of envelopes, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EnvelopeListOut {
    /// The envelopes.
    pub(crate) items: Vec<EnvelopeSummaryOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub(crate) next_cursor: Option<String>,
}

/// `POST /v1/envelopes/{id}/void`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VoidIn {
    /// Why (shown to participants and recorded).
    pub(crate) reason: String,
}

/// A recorded act, with its place in the transparency log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EnvelopeEventOut {
    /// Its order in the envelope, from 0.
    seq: u64,
    /// Its leaf hash in the log, `0x`-prefixed hex (prove it with `/v1/ledger/proof/inclusion`).
    transaction_hash: String,
    /// `created`, `invited`, `opened`, `code_sent`, `code_rejected`, `locked`, `authenticated`,
    /// `field_filled`, `signed`, `declined`, `voided`, `reminded`, `released`, `completed`,
    /// `expired` or `sealed`.
    kind: String,
    /// When (RFC 3339).
    at: String,
    /// `sender`, `participant` or `system`.
    actor: String,
    /// The participant it is about or who did it, by key.
    participant: Option<String>,
    /// The authentication method, for `code_sent` and `authenticated`.
    method: Option<AuthWire>,
    /// The reason, for `declined` and `voided`.
    reason: Option<String>,
    /// The client's address.
    ip: Option<String>,
    /// The client's `User-Agent`.
    user_agent: Option<String>,
}

impl EnvelopeEventOut {
    pub(crate) fn new(
        envelope: &SignEnvelope,
        seq: u64,
        leaf_hash: &[u8; 32],
        event: &signet_core::signing::SigningEvent,
    ) -> Self {
        use signet_core::signing::{Actor, EventKind};
        let key = |id: &signet_core::ids::ParticipantId| {
            envelope
                .participant(*id)
                .map(|p| p.key.as_str().to_owned())
                .unwrap_or_else(|| id.to_string())
        };
        // The event's own words are the core's (serde's `kind` tag), read back from its JSON.
        let kind = serde_json::to_value(&event.kind)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_owned)))
            .unwrap_or_default();
        let (mut participant, mut method, mut reason) = (None, None, None);
        match &event.kind {
            EventKind::Invited { participant: p }
            | EventKind::Opened { participant: p }
            | EventKind::FieldFilled { participant: p, .. }
            | EventKind::Signed { participant: p, .. }
            | EventKind::Reminded { participant: p }
            | EventKind::Released { participant: p } => participant = Some(key(p)),
            EventKind::CodeSent {
                participant: p,
                method: m,
            }
            | EventKind::Authenticated {
                participant: p,
                method: m,
            } => {
                participant = Some(key(p));
                method = Some(auth_wire(*m));
            }
            EventKind::Declined {
                participant: p,
                reason: r,
            } => {
                participant = Some(key(p));
                reason = Some(r.as_str().to_owned());
            }
            EventKind::Voided { reason: r } => reason = Some(r.as_str().to_owned()),
            _ => {}
        }
        let actor = match event.actor {
            Actor::Sender => "sender",
            Actor::Participant(p) => {
                participant.get_or_insert_with(|| key(&p));
                "participant"
            }
            _ => "system",
        };
        Self {
            seq,
            transaction_hash: format!("0x{}", hex::encode(leaf_hash)),
            kind,
            at: rfc3339(event.at),
            actor: actor.to_owned(),
            participant,
            method,
            reason,
            ip: event.origin.ip.map(|ip| ip.to_string()),
            user_agent: event.origin.user_agent.clone(),
        }
    }
}

/// A page of an envelope's events, in order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EnvelopeEventsOut {
    /// The events.
    pub(crate) items: Vec<EnvelopeEventOut>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub(crate) next_cursor: Option<String>,
}

/// The id in a path; one that is not an id is an envelope that does not exist.
pub(crate) fn envelope_id(text: &str) -> Result<EnvelopeId, NativeError> {
    text.parse()
        .map_err(|_| NativeError::Core(signet_core::CoreError::NotFound))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> serde_json::Value {
        let doc = "0123456789abcdef0123456789abcdef";
        json!({
            "title": "Contract",
            "documents": [{ "id": doc, "action": "sign" }],
            "participants": [
                { "key": "a", "name": "Alice", "email": "a@example.com", "role": "signer", "auth": "email" },
                { "key": "b", "name": "Bob", "phone": "+33612345678", "role": "approver", "auth": "sms",
                  "after": ["a"], "language": "fr" }
            ],
            "fields": [
                { "participant": "a", "document": doc, "page": 1, "x": 0.1, "y": 0.2,
                  "width": 0.3, "height": 0.05, "type": "checkbox", "value": true },
                { "participant": "a", "document": doc, "page": 1, "x": 0.1, "y": 0.3,
                  "width": 0.3, "height": 0.05, "type": "date", "value": "2026-12-01", "required": false }
            ],
            "completion": { "min_signers": 1 },
            "reminders": { "every_days": 2, "max": 3 }
        })
    }

    fn draft(value: serde_json::Value) -> Result<EnvelopeDraft, NativeError> {
        let parsed: CreateEnvelopeIn = serde_json::from_value(value).expect("parses");
        parsed.into_draft()
    }

    fn field_of(err: NativeError) -> String {
        match err {
            NativeError::InvalidField { field, .. } => field,
            other => panic!("not a field problem: {other:?}"),
        }
    }

    #[test]
    fn a_body_becomes_the_cores_draft() {
        let draft = draft(body()).expect("valid");
        assert_eq!(draft.title.as_str(), "Contract");
        assert_eq!(draft.language, Language::En);
        assert_eq!(draft.participants[1].role, Role::Approver);
        assert_eq!(draft.participants[1].auth, AuthMethod::SmsCode);
        assert_eq!(
            draft.participants[1].phone.as_ref().map(|p| p.e164()),
            Some("+33612345678")
        );
        assert_eq!(
            draft.participants[1]
                .phone
                .as_ref()
                .map(|p| p.iso_country()),
            Some("FR")
        );
        assert_eq!(draft.participants[1].language, Some(Language::Fr));
        assert_eq!(draft.participants[1].after[0].as_str(), "a");
        assert_eq!(draft.fields[0].value, Some(FieldValue::Checkbox(true)));
        assert!(draft.fields[0].required, "required unless said otherwise");
        assert!(!draft.fields[1].required);
        assert!(matches!(draft.fields[1].value, Some(FieldValue::Date(_))));
        assert_eq!(draft.completion, CompletionRule::AtLeast { min_signers: 1 });
        assert_eq!(
            draft.reminders,
            Some(ReminderPolicy {
                every_days: 2,
                max: 3
            })
        );
    }

    #[test]
    fn each_bad_value_names_its_member() {
        for (pointer, value, field) in [
            ("/title", json!(""), "title"),
            ("/language", json!("xx"), "language"),
            ("/expires_at", json!("soon"), "expires_at"),
            ("/documents/0/id", json!("nope"), "documents[0].id"),
            ("/participants/0/key", json!(""), "participants[0].key"),
            ("/participants/0/email", json!("@"), "participants[0].email"),
            (
                "/participants/1/phone",
                json!("0612345678"),
                "participants[1].phone",
            ),
            (
                "/participants/1/phone",
                json!("+999"),
                "participants[1].phone",
            ),
            (
                "/participants/1/after",
                json!(["", "a"]),
                "participants[1].after[0]",
            ),
            ("/fields/1/document", json!("zz"), "fields[1].document"),
            ("/fields/0/value", json!("yes"), "fields[0].value"),
            ("/fields/1/value", json!("01/12/2026"), "fields[1].value"),
            ("/fields/1/value", json!(false), "fields[1].value"),
            (
                "/redirects",
                json!({ "success": "javascript:alert(1)" }),
                "redirects.success",
            ),
        ] {
            let mut value_body = body();
            let (parent, member) = pointer.rsplit_once('/').expect("a pointer");
            match value_body.pointer_mut(parent) {
                Some(serde_json::Value::Object(map)) => {
                    map.insert(member.to_owned(), value);
                }
                _ => panic!("{pointer}"),
            }
            let err = draft(value_body).expect_err(pointer);
            assert_eq!(field_of(err), field, "{pointer}");
        }
    }

    #[test]
    fn the_wire_words_are_the_contract() {
        for (word, _) in [
            ("signer", RoleWire::Signer),
            ("approver", RoleWire::Approver),
            ("viewer", RoleWire::Viewer),
            ("copy", RoleWire::Copy),
        ] {
            assert!(
                serde_json::from_value::<RoleWire>(json!(word)).is_ok(),
                "{word}"
            );
        }
        for word in ["email", "sms", "voice", "none"] {
            assert!(
                serde_json::from_value::<AuthWire>(json!(word)).is_ok(),
                "{word}"
            );
        }
        for word in ["signature", "initials", "name", "date", "text", "checkbox"] {
            assert!(
                serde_json::from_value::<FieldTypeWire>(json!(word)).is_ok(),
                "{word}"
            );
        }
        for word in ["sign", "view"] {
            assert!(
                serde_json::from_value::<ActionWire>(json!(word)).is_ok(),
                "{word}"
            );
        }
        assert!(serde_json::from_value::<AuthWire>(json!("email_code")).is_err());
    }
}
