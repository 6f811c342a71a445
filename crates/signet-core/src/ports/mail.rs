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

/// Sends e-mail.
#[async_trait]
pub trait MailSender: Send + Sync + 'static {
    /// Sends an invitation; an error means "try again later".
    async fn send_invitation(&self, mail: &InvitationMail) -> Result<(), String>;
}
