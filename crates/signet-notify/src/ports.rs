//! This crate's implementations of the core's delivery ports.

use std::time::Duration;

use async_trait::async_trait;
use signet_core::phone::{CodeChannel, CodeMessage, PhoneSender};
use signet_core::webhooks::{WebhookFailure, WebhookSender};

use crate::sms::{Channel, PhoneProvider, sms_code_text, voice_code_text};
use crate::target::{self, TargetPolicy};
use crate::webhook::{Deliverer, Delivery, WebhookSecret, generate_secret};

/// Standard Webhooks delivery under an outbound target policy.
#[derive(Debug)]
pub struct StandardWebhookSender {
    policy: TargetPolicy,
    deliverer: Deliverer,
}

impl StandardWebhookSender {
    /// A sender that refuses private targets unless `policy` allows them; each attempt gets
    /// `timeout` in all.
    pub fn new(policy: TargetPolicy, timeout: Duration) -> Self {
        Self {
            policy,
            deliverer: Deliverer::new(policy, timeout),
        }
    }
}

#[async_trait]
impl WebhookSender for StandardWebhookSender {
    fn generate_secret(&self) -> String {
        generate_secret()
    }

    async fn check_target(&self, url: &str) -> Result<(), String> {
        match target::validate(url, self.policy).await {
            Ok(_) => Ok(()),
            // A host that does not resolve today may tomorrow; only a refusal is final.
            Err(e) if e.is_retryable() => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn send(
        &self,
        url: &str,
        secrets: &[String],
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<(), WebhookFailure> {
        let secrets = secrets
            .iter()
            .map(|s| WebhookSecret::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WebhookFailure::Failed(format!("stored secret: {e}")))?;
        let delivery = Delivery {
            msg_id,
            timestamp,
            body,
            secrets: &secrets,
        };
        self.deliverer
            .deliver(url, &delivery)
            .await
            .map_err(|e| WebhookFailure::Failed(e.to_string()))
    }
}

/// The core's mail port over SMTP, with the invitation templates of [`crate::mail::templates`].
pub struct SmtpMailSender {
    mailer: crate::mail::Mailer,
}

impl std::fmt::Debug for SmtpMailSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailSender").finish_non_exhaustive()
    }
}

impl SmtpMailSender {
    /// A sender for an `smtp://`, `smtps://` or `smtp+starttls://` URL and a from address.
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, String> {
        let settings =
            crate::mail::MailSettings::from_url(smtp_url, from).map_err(|e| e.to_string())?;
        let mailer = crate::mail::Mailer::new(&settings).map_err(|e| e.to_string())?;
        Ok(Self { mailer })
    }
}

#[async_trait]
impl signet_core::mail::MailSender for SmtpMailSender {
    async fn send_invitation(
        &self,
        mail: &signet_core::mail::InvitationMail,
    ) -> Result<(), String> {
        use crate::mail::MailTransport as _;
        let lang = lang_of(mail.language);
        let invitation = crate::mail::templates::Invitation {
            lang,
            sender_name: mail.sender_name.clone(),
            document_names: mail.document_names.clone(),
            link: mail.link.clone(),
            expiry_days: mail.expiry_days,
        };
        let message = crate::mail::templates::render_invitation(&invitation)
            .map_err(|e| e.to_string())?
            .to(mail.to.as_str());
        self.mailer.send(&message).await.map_err(|e| e.to_string())
    }

    async fn send_signing_mail(&self, mail: &signet_core::mail::SigningMail) -> Result<(), String> {
        use crate::mail::MailTransport as _;
        use crate::mail::signing::SigningMailKind as Kind;
        use signet_core::mail::SigningMailKind as CoreKind;
        let kind = match mail.kind {
            CoreKind::Invitation => Kind::Invitation,
            CoreKind::Reminder => Kind::Reminder,
            CoreKind::Completed => Kind::Completed,
            CoreKind::Declined => Kind::Declined,
            CoreKind::Voided => Kind::Voided,
            _ => Kind::Expired,
        };
        let message = crate::mail::signing::SigningMessage {
            lang: lang_of(mail.language),
            kind,
            to_name: mail.to_name.clone(),
            sender_name: mail.sender_name.clone(),
            title: mail.title.clone(),
            link: mail.link.clone(),
        };
        let message = crate::mail::signing::render_signing_mail(&message)
            .map_err(|e| e.to_string())?
            .to(mail.to.as_str());
        self.mailer.send(&message).await.map_err(|e| e.to_string())
    }
}

fn lang_of(language: signet_core::values::Language) -> crate::lang::Lang {
    match language {
        signet_core::values::Language::Fr => crate::lang::Lang::Fr,
        _ => crate::lang::Lang::En,
    }
}

/// The core's phone port over a [`PhoneProvider`]: writes the code message in the participant's
/// language (digits spaced for voice) and hands it to the provider.
pub struct ProviderPhoneSender {
    provider: std::sync::Arc<dyn PhoneProvider>,
}

impl std::fmt::Debug for ProviderPhoneSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderPhoneSender")
            .finish_non_exhaustive()
    }
}

impl ProviderPhoneSender {
    /// A sender over `provider`.
    pub fn new(provider: std::sync::Arc<dyn PhoneProvider>) -> Self {
        Self { provider }
    }
}

#[async_trait]
impl PhoneSender for ProviderPhoneSender {
    async fn send_code(&self, message: &CodeMessage) -> Result<(), String> {
        use secrecy::ExposeSecret as _;
        let lang = lang_of(message.language);
        let code = message.code.expose_secret();
        let (channel, body) = match message.channel {
            CodeChannel::Voice => (Channel::Voice, voice_code_text(lang, code)),
            _ => (
                Channel::Sms,
                sms_code_text(lang, code, message.valid_minutes),
            ),
        };
        let body = body.map_err(|e| e.to_string())?;
        self.provider
            .send(message.to.e164(), channel, &body)
            .await
            .map_err(|e| e.to_string())
    }
}
