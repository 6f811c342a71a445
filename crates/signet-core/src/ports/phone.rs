//! The phone port: how the core has one-time codes sent by SMS or read out in a voice call (an
//! HTTP provider or the log in `signet-notify`). Codes are sent by durable jobs, so a provider
//! that fails for a moment delays a code instead of losing it.

use async_trait::async_trait;
use secrecy::SecretString;

use crate::values::{Language, Phone};

/// How a code reaches the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeChannel {
    /// A text message.
    Sms,
    /// A voice call.
    Voice,
}

/// A one-time code to deliver.
#[derive(Debug, Clone)]
pub struct CodeMessage {
    /// The participant's number.
    pub to: Phone,
    /// SMS or voice.
    pub channel: CodeChannel,
    /// The six digits.
    pub code: SecretString,
    /// The participant's language.
    pub language: Language,
    /// Minutes the code stays valid.
    pub valid_minutes: u32,
}

/// Why a participant gets their signing link by text message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkPurpose {
    /// Their turn came.
    Invitation,
    /// They have not acted yet.
    Reminder,
}

/// A signing link sent by SMS to a participant known only by their phone number.
#[derive(Debug, Clone)]
pub struct LinkMessage {
    /// The participant's number.
    pub to: Phone,
    /// Invitation or reminder.
    pub purpose: LinkPurpose,
    /// The participant's language.
    pub language: Language,
    /// The sender as participants know them (the tenant's name).
    pub sender_name: String,
    /// The envelope's title.
    pub title: String,
    /// The participant's own signing link.
    pub link: String,
}

/// Sends codes (and signing links) to phones.
#[async_trait]
pub trait PhoneSender: Send + Sync + 'static {
    /// Sends one code; an error means "try again later".
    async fn send_code(&self, message: &CodeMessage) -> Result<(), String>;
    /// Sends a signing link by SMS; an error means "try again later".
    async fn send_link(&self, message: &LinkMessage) -> Result<(), String>;
}
