//! This crate's implementations of the core's delivery ports.

use std::time::Duration;

use async_trait::async_trait;
use signet_core::phone::{CodeChannel, CodeMessage, LinkMessage, LinkPurpose, PhoneSender};
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

    async fn send_code(&self, mail: &signet_core::mail::CodeMail) -> Result<(), String> {
        use crate::mail::MailTransport as _;
        let message = code_mail(mail).to(mail.to.as_str());
        self.mailer.send(&message).await.map_err(|e| e.to_string())
    }
}

/// A signing participant's one-time code by e-mail, in French or English: the code large in the
/// HTML, nothing to click.
fn code_mail(mail: &signet_core::mail::CodeMail) -> crate::mail::templates::Rendered {
    use secrecy::ExposeSecret as _;
    let code = mail.code.expose_secret();
    let (subject, intro, validity) = match lang_of(mail.language) {
        crate::lang::Lang::Fr => (
            format!("Votre code de signature : {code}"),
            format!("Votre code pour signer « {} » :", mail.title),
            format!(
                "Il est valable {} minutes. Ne le communiquez à personne.",
                mail.valid_minutes
            ),
        ),
        _ => (
            format!("Your signing code: {code}"),
            format!("Your code to sign “{}”:", mail.title),
            format!(
                "It is valid for {} minutes. Do not share it with anyone.",
                mail.valid_minutes
            ),
        ),
    };
    let escape = crate::mail::templates::escape_html;
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>{}</p>\
         <p style=\"font-size:28px;letter-spacing:4px;font-weight:bold\">{}</p><p>{}</p>\
         </body></html>",
        escape(&intro),
        escape(code),
        escape(&validity)
    );
    crate::mail::templates::Rendered {
        subject,
        html,
        text: format!("{intro}\n\n{code}\n\n{validity}\n"),
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

    async fn send_link(&self, message: &LinkMessage) -> Result<(), String> {
        self.provider
            .send(message.to.e164(), Channel::Sms, &link_text(message))
            .await
            .map_err(|e| e.to_string())
    }
}

/// The text of an SMS carrying a signing link, in the participant's language (English for
/// languages without a text of their own). The link is last, on its own line, so phones make
/// it tappable.
fn link_text(message: &LinkMessage) -> String {
    let (sender, title, link) = (&message.sender_name, &message.title, &message.link);
    match (lang_of(message.language), message.purpose) {
        (crate::lang::Lang::Fr, LinkPurpose::Reminder) => {
            format!("Rappel : {sender} attend votre signature sur « {title} ».\n{link}")
        }
        (crate::lang::Lang::Fr, _) => {
            format!("{sender} vous demande de signer « {title} ».\n{link}")
        }
        (_, LinkPurpose::Reminder) => {
            format!("Reminder: {sender} is waiting for your signature on “{title}”.\n{link}")
        }
        _ => format!("{sender} asks you to sign “{title}”.\n{link}"),
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;
    use signet_core::values::{Language, Phone};

    fn message(language: Language, purpose: LinkPurpose) -> LinkMessage {
        LinkMessage {
            to: Phone::from_national("FR", "612345678").expect("a French mobile number"),
            purpose,
            language,
            sender_name: "Acme".into(),
            title: "Lease".into(),
            link: "https://signet.test/sign/abc".into(),
        }
    }

    #[test]
    fn link_texts_end_with_the_link_in_the_participants_language() {
        let fr = link_text(&message(Language::Fr, LinkPurpose::Invitation));
        assert_eq!(
            fr,
            "Acme vous demande de signer « Lease ».\nhttps://signet.test/sign/abc"
        );
        let reminder = link_text(&message(Language::En, LinkPurpose::Reminder));
        assert!(reminder.starts_with("Reminder: Acme"), "{reminder}");
        assert!(reminder.ends_with("\nhttps://signet.test/sign/abc"));
        // No text of its own: English.
        let de = link_text(&message(Language::De, LinkPurpose::Invitation));
        assert!(de.starts_with("Acme asks you to sign"), "{de}");
    }
}
