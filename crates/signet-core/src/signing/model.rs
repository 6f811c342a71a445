//! The signing envelope as data: its participants, documents, fields and rules, the commands that
//! move it, the effects those commands ask for and the events they leave behind. The rules that
//! change it live in [`super::lifecycle`]; the order between participants in [`super::order`].

use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::fields::{Field, FieldId, FieldValue};
pub use super::text::{Label, ParticipantKey, PersonName, Reason, Title};
use crate::ids::{DocumentId, EnvelopeId, ParticipantId, TenantId};
use crate::values::{Email, InvalidValue, Language, Phone, is_hidden_or_control};

/// An absolute `http`/`https` URL the sender gave to send the signer's browser to. Only its
/// shape is checked here; whether the tenant registered it is the service's business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUrl(String);

impl RedirectUrl {
    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RedirectUrl {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let bad = |reason: &str| InvalidValue::new("redirect URL", reason);
        let text = text.trim();
        if text.len() > 2048 {
            return Err(bad("must be at most 2048 characters"));
        }
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| bad("must be an absolute http or https URL"))?;
        // A host is needed: "https:///x" or "https://?" would send the browser nowhere useful.
        if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
            return Err(bad("needs a host"));
        }
        if text
            .chars()
            .any(|c| c.is_whitespace() || is_hidden_or_control(c))
        {
            return Err(bad("must not contain spaces or control characters"));
        }
        Ok(Self(text.to_owned()))
    }
}

impl TryFrom<String> for RedirectUrl {
    type Error = InvalidValue;
    fn try_from(text: String) -> Result<Self, InvalidValue> {
        text.parse()
    }
}

impl From<RedirectUrl> for String {
    fn from(url: RedirectUrl) -> String {
        url.0
    }
}

/// Where the signer's browser goes after signing, declining, or a failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirects {
    /// After the participant signed.
    pub success: Option<RedirectUrl>,
    /// After the participant declined or left.
    pub cancel: Option<RedirectUrl>,
    /// When something went wrong.
    pub error: Option<RedirectUrl>,
}

/// What a participant is there for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// Signs; counts towards the completion rule.
    Signer,
    /// Approves (a sign-off without a signature of their own); every approver must approve
    /// before the envelope completes.
    Approver,
    /// May look at the documents once their turn comes; never acts, never holds anyone up.
    Viewer,
    /// Receives the sealed result once the envelope completes; nothing before.
    Copy,
}

impl Role {
    /// Whether the participant has to act (sign or approve) — only those can be waited for.
    pub fn acts(self) -> bool {
        matches!(self, Role::Signer | Role::Approver)
    }

    /// The word used in messages and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Signer => "signer",
            Role::Approver => "approver",
            Role::Viewer => "viewer",
            Role::Copy => "copy",
        }
    }
}

/// How a participant proves who they are before acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// A one-time code sent by e-mail.
    EmailCode,
    /// A one-time code sent by SMS.
    SmsCode,
    /// A one-time code read out in a voice call.
    VoiceCode,
    /// Nothing but the link (allowed unless the operator forbids it; recorded as such).
    None,
}

impl AuthMethod {
    /// The word used in messages and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::EmailCode => "email_code",
            AuthMethod::SmsCode => "sms_code",
            AuthMethod::VoiceCode => "voice_code",
            AuthMethod::None => "none",
        }
    }

    /// Whether a code must be sent before the participant can authenticate.
    pub fn needs_code(self) -> bool {
        !matches!(self, AuthMethod::None)
    }
}

/// Which authentication methods the tenant may use: the operator's and the plan's decision,
/// checked when an envelope is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthPolicy {
    /// Participants may act on the link alone.
    pub allow_none: bool,
    /// The plan includes SMS codes.
    pub allow_sms: bool,
    /// The plan includes voice codes.
    pub allow_voice: bool,
}

impl AuthPolicy {
    /// Every method allowed.
    pub const ALL: AuthPolicy = AuthPolicy {
        allow_none: true,
        allow_sms: true,
        allow_voice: true,
    };

    /// Whether `method` may be used.
    pub fn allows(self, method: AuthMethod) -> bool {
        match method {
            AuthMethod::EmailCode => true,
            AuthMethod::SmsCode => self.allow_sms,
            AuthMethod::VoiceCode => self.allow_voice,
            AuthMethod::None => self.allow_none,
        }
    }
}

/// What participants do with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DocumentAction {
    /// Signers sign it (fields may be placed on it).
    Sign,
    /// It is shown for information only.
    View,
}

/// When the envelope is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CompletionRule {
    /// Every signer signs.
    AllSigners,
    /// At least `min_signers` of the signers sign (between 1 and the number of signers).
    /// Once that many have signed, the others are released: they are no longer invited,
    /// reminded or able to sign, and the envelope goes on without them.
    AtLeast {
        /// How many signatures are enough.
        min_signers: u32,
    },
}

/// Automatic reminders: every `every_days` days after the invitation (or the previous reminder)
/// to each participant who has to act and has not, at most `max` times each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPolicy {
    /// Days between reminders (at least 1).
    pub every_days: u32,
    /// Reminders per participant at most, the sender's own included.
    pub max: u32,
}

/// How many reminders the sender may send each participant by hand when the envelope has no
/// reminder policy (one with a policy uses its `max`).
pub const MANUAL_REMINDER_LIMIT: u32 = 3;

/// Where a participant stands. `Signed`, `Declined` and `Released` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParticipantState {
    /// Their turn has not come (or, for a copy recipient, the envelope is not complete).
    Waiting,
    /// Their turn came and they were sent their link.
    Invited,
    /// They opened their link.
    Opened,
    /// They proved who they are.
    Authenticated,
    /// They signed (an approver: approved).
    Signed,
    /// They declined, which ended the envelope.
    Declined,
    /// Enough others signed (k of n): they are no longer asked to.
    Released,
}

impl ParticipantState {
    /// Whether nothing more can happen to the participant.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ParticipantState::Signed | ParticipantState::Declined | ParticipantState::Released
        )
    }

    /// Whether the participant's turn has come and they still have something to do.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            ParticipantState::Invited | ParticipantState::Opened | ParticipantState::Authenticated
        )
    }

    /// The word used in messages and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantState::Waiting => "waiting",
            ParticipantState::Invited => "invited",
            ParticipantState::Opened => "opened",
            ParticipantState::Authenticated => "authenticated",
            ParticipantState::Signed => "signed",
            ParticipantState::Declined => "declined",
            ParticipantState::Released => "released",
        }
    }
}

/// Where an envelope stands. Every state but `Open` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EnvelopeStatus {
    /// Collecting signatures.
    Open,
    /// The completion rule was met.
    Completed,
    /// A participant declined.
    Declined,
    /// The sender voided it.
    Voided,
    /// Its expiry passed first.
    Expired,
}

impl EnvelopeStatus {
    /// Whether nothing more can change (sealing a completed envelope aside).
    pub fn is_final(self) -> bool {
        !matches!(self, EnvelopeStatus::Open)
    }

    /// The word used in messages and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvelopeStatus::Open => "open",
            EnvelopeStatus::Completed => "completed",
            EnvelopeStatus::Declined => "declined",
            EnvelopeStatus::Voided => "voided",
            EnvelopeStatus::Expired => "expired",
        }
    }
}

/// A document of the envelope: a library document and what to do with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeDocument {
    /// The library document (its version when the envelope was created).
    pub document: DocumentId,
    /// Sign or view.
    pub action: DocumentAction,
    /// Its number of pages; [`PAGES_AWAITED`] while its bytes have not arrived (a document
    /// registered by its digest, whose file the sender hands over later).
    pub pages: u32,
}

/// The page count of an envelope document whose bytes have not arrived yet: its fields' pages
/// are checked when they arrive ([`Command::DocumentArrived`]), and nobody signs before.
pub const PAGES_AWAITED: u32 = 0;

impl EnvelopeDocument {
    /// Whether its bytes have not arrived yet.
    pub fn awaited(&self) -> bool {
        self.pages == PAGES_AWAITED
    }
}

/// A participant of a signing envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Its id.
    pub id: ParticipantId,
    /// The sender's key for it, unique within the envelope.
    pub key: ParticipantKey,
    /// Name.
    pub name: PersonName,
    /// E-mail address, if any.
    pub email: Option<Email>,
    /// Mobile number, if any.
    pub phone: Option<Phone>,
    /// Signer, approver, viewer or copy.
    pub role: Role,
    /// How they authenticate.
    pub auth: AuthMethod,
    /// Their language (the envelope's unless given).
    pub language: Language,
    /// Whom they wait for: they may act only once each of these has signed (or was released).
    pub after: Vec<ParticipantKey>,
    /// Where they stand.
    pub state: ParticipantState,
    /// When their turn came.
    pub invited_at: Option<OffsetDateTime>,
    /// When they first opened their link.
    pub opened_at: Option<OffsetDateTime>,
    /// When they authenticated.
    pub authenticated_at: Option<OffsetDateTime>,
    /// When they signed, declined or were released.
    pub finished_at: Option<OffsetDateTime>,
    /// Reminders sent so far.
    pub reminders_sent: u32,
    /// When the last reminder went.
    pub last_reminded_at: Option<OffsetDateTime>,
    /// Why they declined.
    pub decline_reason: Option<Reason>,
}

/// A signing envelope: the aggregate the lifecycle moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignEnvelope {
    /// Its id.
    pub id: EnvelopeId,
    /// Whose it is.
    pub tenant_id: TenantId,
    /// Title.
    pub title: Title,
    /// Default language of messages and pages.
    pub language: Language,
    /// Where it stands.
    pub status: EnvelopeStatus,
    /// The documents, in the sender's order.
    pub documents: Vec<EnvelopeDocument>,
    /// The participants, in the sender's order.
    pub participants: Vec<Participant>,
    /// The fields, in the sender's order.
    pub fields: Vec<Field>,
    /// When it is complete.
    pub completion: CompletionRule,
    /// Automatic reminders, if any.
    pub reminders: Option<ReminderPolicy>,
    /// The sender's redirect URLs.
    pub redirects: Redirects,
    /// Whether signers may download the signed copy from the signer's app once it is sealed.
    /// Envelopes recorded before the choice existed offered it, hence the default.
    #[serde(default = "offered")]
    pub signed_copy_offered: bool,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it expires, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When it reached a final state.
    pub closed_at: Option<OffsetDateTime>,
    /// Why it was voided.
    pub void_reason: Option<Reason>,
    /// When the sealed result was recorded.
    pub sealed_at: Option<OffsetDateTime>,
}

/// The signed copy is offered unless the sender said otherwise.
fn offered() -> bool {
    true
}

impl SignEnvelope {
    /// The participant with this id.
    pub fn participant(&self, id: ParticipantId) -> Option<&Participant> {
        self.participants.iter().find(|p| p.id == id)
    }

    /// The participant with this key.
    pub fn participant_by_key(&self, key: &ParticipantKey) -> Option<&Participant> {
        self.participants.iter().find(|p| &p.key == key)
    }

    /// The field with this id.
    pub fn field(&self, id: FieldId) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The fields assigned to a participant.
    pub fn fields_of(&self, participant: ParticipantId) -> impl Iterator<Item = &Field> {
        self.fields
            .iter()
            .filter(move |f| f.participant == participant)
    }

    /// How many signatures complete the envelope.
    pub fn signatures_needed(&self) -> usize {
        match self.completion {
            CompletionRule::AllSigners => self.signers().count(),
            CompletionRule::AtLeast { min_signers } => min_signers as usize,
        }
    }

    /// The signers.
    pub fn signers(&self) -> impl Iterator<Item = &Participant> {
        self.participants.iter().filter(|p| p.role == Role::Signer)
    }

    /// How many signers have signed.
    pub fn signatures(&self) -> usize {
        self.signers()
            .filter(|p| p.state == ParticipantState::Signed)
            .count()
    }
}

/// Where a request came from: recorded with every act.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "participant", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Actor {
    /// The tenant that sent the envelope (through whichever API).
    Sender,
    /// A participant, through their link.
    Participant(ParticipantId),
    /// Signet itself (timers, sealing).
    System,
}

/// What happened, in Signet's own words (dialects render their vendor's names from these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The envelope was created.
    Created,
    /// A participant's turn came; their link is sent.
    Invited {
        /// Who.
        participant: ParticipantId,
    },
    /// A participant opened their link.
    Opened {
        /// Who.
        participant: ParticipantId,
    },
    /// A one-time code was sent to a participant.
    CodeSent {
        /// To whom.
        participant: ParticipantId,
        /// By which channel.
        method: AuthMethod,
    },
    /// A participant entered a wrong one-time code.
    CodeRejected {
        /// Who.
        participant: ParticipantId,
        /// Wrong codes they may still enter before their link locks.
        attempts_left: u32,
    },
    /// Too many wrong codes: the participant's link is locked for a while.
    Locked {
        /// Whose link.
        participant: ParticipantId,
        /// Until when every attempt is refused.
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
    },
    /// A participant proved who they are.
    Authenticated {
        /// Who.
        participant: ParticipantId,
        /// How (`none` is recorded as such).
        method: AuthMethod,
    },
    /// A participant filled a field.
    FieldFilled {
        /// Who.
        participant: ParticipantId,
        /// Which field.
        field: FieldId,
    },
    /// A participant signed (an approver: approved).
    Signed {
        /// Who.
        participant: ParticipantId,
        /// Their role, which tells a signature from an approval.
        role: Role,
    },
    /// A participant declined; the envelope ended.
    Declined {
        /// Who.
        participant: ParticipantId,
        /// Why.
        reason: Reason,
    },
    /// The sender voided the envelope.
    Voided {
        /// Why.
        reason: Reason,
    },
    /// A participant was reminded.
    Reminded {
        /// Who.
        participant: ParticipantId,
    },
    /// Enough others signed: a participant is no longer asked to.
    Released {
        /// Who.
        participant: ParticipantId,
    },
    /// The completion rule was met.
    Completed,
    /// The expiry passed before completion.
    Expired,
    /// The sealed result was stored.
    Sealed,
}

/// A recorded act: what, who, when and from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningEvent {
    /// What happened.
    pub kind: EventKind,
    /// Who did it.
    pub actor: Actor,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// From where (empty for Signet's own acts).
    pub origin: Origin,
}

/// Something the caller must do after a transition: data, carried out by the service through
/// durable jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// Send these participants their link: their turn has come.
    Invite(Vec<ParticipantId>),
    /// Remind these participants that they have to act.
    Remind(Vec<ParticipantId>),
    /// Send a one-time code to a participant.
    SendCode {
        /// To whom.
        participant: ParticipantId,
        /// By which channel.
        method: AuthMethod,
    },
    /// Seal the signed documents (completion certificate, archival seal), then answer with
    /// [`Command::RecordSealed`].
    Seal,
    /// Send these participants the sealed result.
    DeliverResult(Vec<ParticipantId>),
    /// Tell these participants the envelope ended without them (declined, voided, expired).
    InformEnded(Vec<ParticipantId>),
    /// Tell the sender (webhooks, vendor callbacks).
    Notify(Notice),
    /// Run a timer at `at`. A timer that fires once it no longer applies is refused by the
    /// lifecycle and can be dropped.
    Schedule {
        /// When.
        at: OffsetDateTime,
        /// Which.
        timer: Timer,
    },
}

/// A timer the service schedules as a durable job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// Send [`Command::Expire`].
    Expire,
    /// Send [`Command::RemindDue`].
    Reminders,
}

/// What the sender is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// A participant signed (or approved).
    Signed(ParticipantId),
    /// The envelope completed.
    Completed,
    /// A participant declined.
    Declined(ParticipantId),
    /// The sender voided it.
    Voided,
    /// It expired.
    Expired,
    /// The sealed result is ready.
    Sealed,
}

/// Something asked of an envelope.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Command {
    /// A participant opened their link.
    Open {
        /// Who.
        participant: ParticipantId,
    },
    /// A participant asks for a one-time code (rate limits are the portal's business).
    RequestCode {
        /// Who.
        participant: ParticipantId,
    },
    /// A participant proved who they are (the portal checked the code).
    Authenticate {
        /// Who.
        participant: ParticipantId,
    },
    /// A participant fills a field (or changes what they filled).
    Fill {
        /// Who.
        participant: ParticipantId,
        /// Which field.
        field: FieldId,
        /// The value.
        value: FieldValue,
    },
    /// A participant signs (an approver: approves), filling the given fields first.
    Sign {
        /// Who.
        participant: ParticipantId,
        /// Field values sent with the signature (a plain form posts them together).
        values: Vec<(FieldId, FieldValue)>,
        /// They agreed to sign electronically.
        consent: bool,
    },
    /// A participant declines.
    Decline {
        /// Who.
        participant: ParticipantId,
        /// Why.
        reason: Reason,
    },
    /// The sender voids the envelope.
    Void {
        /// Why.
        reason: Reason,
    },
    /// The sender asks for reminders now.
    Remind,
    /// The reminder timer fired.
    RemindDue,
    /// The expiry timer fired.
    Expire,
    /// The sealer stored the sealed result.
    RecordSealed,
    /// The bytes of a document whose bytes were awaited arrived, with this many pages: the
    /// fields on it are checked against them.
    DocumentArrived {
        /// The envelope document.
        document: DocumentId,
        /// Its pages.
        pages: u32,
    },
}

/// What a successful transition produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The envelope afterwards.
    pub envelope: SignEnvelope,
    /// What the caller must do.
    pub effects: Vec<Effect>,
    /// What to record.
    pub events: Vec<SigningEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_are_trimmed_bounded_and_visible() {
        assert_eq!(
            " Alice ".parse::<PersonName>().map(String::from).ok(),
            Some("Alice".to_owned())
        );
        assert!("".parse::<PersonName>().is_err());
        assert!("a".repeat(201).parse::<PersonName>().is_err());
        assert!("a".repeat(200).parse::<PersonName>().is_ok());
        assert!("Al\u{202e}ice".parse::<PersonName>().is_err());
        assert!("two\nlines".parse::<Title>().is_err());
        assert!("two\nlines".parse::<Reason>().is_ok());
        assert!("a\u{0}b".parse::<Reason>().is_err());
        assert!("k".repeat(65).parse::<ParticipantKey>().is_err());
    }

    #[test]
    fn redirects_must_be_absolute_web_urls() {
        for good in ["https://example.com/done?x=1", "http://localhost:8080/"] {
            assert!(good.parse::<RedirectUrl>().is_ok(), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "/relative",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "ftp://example.com",
        ] {
            assert!(bad.parse::<RedirectUrl>().is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2029));
        assert_eq!(long.len(), 2049);
        assert!(long.parse::<RedirectUrl>().is_err());
        assert!(long[..2048].parse::<RedirectUrl>().is_ok());
    }

    /// The words stored and shown for each state and method are the ones the wire uses
    /// (serde), one per variant.
    #[test]
    fn stored_words_match_the_serialised_names() {
        fn check<T: Serialize>(values: &[T], word: impl Fn(&T) -> &'static str) {
            let mut seen = std::collections::BTreeSet::new();
            for value in values {
                let json = serde_json::to_value(value).expect("serialises");
                assert_eq!(json.as_str(), Some(word(value)));
                assert!(seen.insert(word(value)), "{} twice", word(value));
            }
        }
        use ParticipantState as P;
        check(
            &[
                P::Waiting,
                P::Invited,
                P::Opened,
                P::Authenticated,
                P::Signed,
                P::Declined,
                P::Released,
            ],
            |s| s.as_str(),
        );
        check(
            &[
                AuthMethod::EmailCode,
                AuthMethod::SmsCode,
                AuthMethod::VoiceCode,
                AuthMethod::None,
            ],
            |m| m.as_str(),
        );
        check(
            &[Role::Signer, Role::Approver, Role::Viewer, Role::Copy],
            |r| r.as_str(),
        );
        use EnvelopeStatus as E;
        check(
            &[E::Open, E::Completed, E::Declined, E::Voided, E::Expired],
            |s| s.as_str(),
        );
    }

    #[test]
    fn redirect_urls_keep_their_text() {
        let url: RedirectUrl = " https://example.com/done ".parse().expect("valid");
        assert_eq!(url.as_str(), "https://example.com/done");
        assert_eq!(String::from(url), "https://example.com/done");
    }

    #[test]
    fn auth_policy_gates_each_method() {
        let none = AuthPolicy {
            allow_none: false,
            allow_sms: false,
            allow_voice: false,
        };
        assert!(none.allows(AuthMethod::EmailCode));
        for method in [AuthMethod::SmsCode, AuthMethod::VoiceCode, AuthMethod::None] {
            assert!(!none.allows(method));
            assert!(AuthPolicy::ALL.allows(method));
        }
        assert!(
            AuthPolicy {
                allow_sms: true,
                ..none
            }
            .allows(AuthMethod::SmsCode)
        );
        assert!(
            !AuthPolicy {
                allow_sms: true,
                ..none
            }
            .allows(AuthMethod::VoiceCode)
        );
    }
}
