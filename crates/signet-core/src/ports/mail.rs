//! The mail port: how the core has e-mail sent (SMTP in `signet-notify`). Messages are sent by
//! durable jobs, so a failing relay delays a message instead of losing it.

use async_trait::async_trait;

use crate::values::{Email, Language};

/// The e-mail inviting a participant to their documents (the same content as the sender's banner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationMail {
    /// The participant.
    pub to: Email,
    /// The participant's language.
    pub language: Language,
    /// The sender as participants know it.
    pub sender_name: String,
    /// The documents' names.
    pub document_names: Vec<String>,
    /// The participant's access link (it carries the secret token).
    pub link: String,
    /// Days until the link expires.
    pub expiry_days: u32,
}

/// Why a signing participant is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigningMailKind {
    /// Their turn has come: sign (or approve, or view) through the link.
    Invitation,
    /// They have not acted yet.
    Reminder,
    /// Everyone signed: the signed documents are ready behind the link.
    Completed,
    /// A participant declined: nothing more to do.
    Declined,
    /// The sender withdrew the envelope.
    Voided,
    /// The envelope expired before everyone signed.
    Expired,
}

/// An e-mail to a signing participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningMail {
    /// The participant.
    pub to: Email,
    /// Their name.
    pub to_name: String,
    /// The envelope's language.
    pub language: Language,
    /// Why.
    pub kind: SigningMailKind,
    /// The sender as participants know it.
    pub sender_name: String,
    /// The envelope's title.
    pub title: String,
    /// The participant's signing link (invitations, reminders, completion).
    pub link: Option<String>,
}

/// Sends e-mail.
#[async_trait]
pub trait MailSender: Send + Sync + 'static {
    /// Sends an invitation; an error means "try again later".
    async fn send_invitation(&self, mail: &InvitationMail) -> Result<(), String>;
    /// Sends a signing participant's message; an error means "try again later".
    async fn send_signing_mail(&self, mail: &SigningMail) -> Result<(), String>;
}
