//! The e-mails a signing participant gets: their invitation and reminders (each carrying their
//! own link), and word that the envelope completed (the signed copy is behind the link) or ended
//! without them (declined, voided, expired). English and French; other languages fall back to
//! English until their catalogs exist.

use crate::lang::Lang;
use crate::mail::templates::{Rendered, TemplateError, check_link, escape_html, one_line};

/// Why the participant is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigningMailKind {
    /// Their turn to sign.
    Invitation,
    /// They have not signed yet.
    Reminder,
    /// Everyone signed.
    Completed,
    /// Someone declined.
    Declined,
    /// The sender withdrew it.
    Voided,
    /// It expired.
    Expired,
}

/// A signing participant's e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningMessage {
    /// Language.
    pub lang: Lang,
    /// Why.
    pub kind: SigningMailKind,
    /// The participant's name.
    pub to_name: String,
    /// The sender.
    pub sender_name: String,
    /// The envelope's title.
    pub title: String,
    /// Their signing link, where the message has one.
    pub link: Option<String>,
}

/// Subject, first paragraph and button text of a message.
fn words(
    lang: Lang,
    kind: SigningMailKind,
    sender: &str,
    title: &str,
) -> (String, String, &'static str) {
    use SigningMailKind as K;
    match (lang, kind) {
        (Lang::Fr, K::Invitation) => (
            format!("{sender} vous invite à signer « {title} »"),
            format!(
                "{sender} vous demande de signer « {title} ». Le lien ci-dessous vous est personnel ; un code peut vous être demandé pour vérifier votre identité."
            ),
            "Ouvrir et signer",
        ),
        (Lang::Fr, K::Reminder) => (
            format!("Rappel : « {title} » attend votre signature"),
            format!("{sender} attend toujours votre signature sur « {title} »."),
            "Ouvrir et signer",
        ),
        (Lang::Fr, K::Completed) => (
            format!("« {title} » est signé"),
            format!(
                "Tous les signataires ont signé « {title} ». La copie signée est disponible par le lien ci-dessous."
            ),
            "Voir la copie signée",
        ),
        (Lang::Fr, K::Declined) => (
            format!("« {title} » a été refusé"),
            format!(
                "Un participant a refusé de signer « {title} ». Vous n'avez plus rien à faire."
            ),
            "",
        ),
        (Lang::Fr, K::Voided) => (
            format!("« {title} » a été annulé"),
            format!("{sender} a annulé « {title} ». Vous n'avez plus rien à faire."),
            "",
        ),
        (Lang::Fr, K::Expired) => (
            format!("« {title} » a expiré"),
            format!(
                "Le délai de signature de « {title} » est passé. Vous n'avez plus rien à faire."
            ),
            "",
        ),
        (_, K::Invitation) => (
            format!("{sender} invites you to sign \u{201c}{title}\u{201d}"),
            format!(
                "{sender} asks you to sign \u{201c}{title}\u{201d}. The link below is yours alone; you may be asked for a code to confirm who you are."
            ),
            "Open and sign",
        ),
        (_, K::Reminder) => (
            format!("Reminder: \u{201c}{title}\u{201d} awaits your signature"),
            format!("{sender} is still waiting for your signature on \u{201c}{title}\u{201d}."),
            "Open and sign",
        ),
        (_, K::Completed) => (
            format!("\u{201c}{title}\u{201d} is signed"),
            format!(
                "Everyone has signed \u{201c}{title}\u{201d}. The signed copy is available through the link below."
            ),
            "See the signed copy",
        ),
        (_, K::Declined) => (
            format!("\u{201c}{title}\u{201d} was declined"),
            format!(
                "A participant declined to sign \u{201c}{title}\u{201d}. There is nothing more for you to do."
            ),
            "",
        ),
        (_, K::Voided) => (
            format!("\u{201c}{title}\u{201d} was withdrawn"),
            format!(
                "{sender} withdrew \u{201c}{title}\u{201d}. There is nothing more for you to do."
            ),
            "",
        ),
        (_, K::Expired) => (
            format!("\u{201c}{title}\u{201d} expired"),
            format!(
                "The time to sign \u{201c}{title}\u{201d} has passed. There is nothing more for you to do."
            ),
            "",
        ),
    }
}

/// Renders a signing participant's e-mail.
pub fn render_signing_mail(message: &SigningMessage) -> Result<Rendered, TemplateError> {
    let link = message.link.as_deref().map(check_link).transpose()?;
    let (sender, title) = (one_line(&message.sender_name), one_line(&message.title));
    let (subject, paragraph, button) = words(message.lang, message.kind, &sender, &title);
    let greeting = match message.lang {
        Lang::Fr => format!("Bonjour {},", one_line(&message.to_name)),
        _ => format!("Hello {},", one_line(&message.to_name)),
    };
    let mut text = format!("{greeting}\n\n{paragraph}\n");
    let mut action = String::new();
    if let Some(link) = link.filter(|_| !button.is_empty()) {
        text.push_str(&format!("\n{button}: {link}\n"));
        let href = escape_html(link);
        action = format!(
            "<p style=\"margin:24px 0;\"><a href=\"{href}\" style=\"background:#1d4ed8;color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none;display:inline-block;\">{}</a></p>\n<p style=\"margin:0 0 8px 0;font-size:13px;word-break:break-all;\"><a href=\"{href}\" style=\"color:#1d4ed8;\">{href}</a></p>",
            escape_html(button)
        );
    }
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title_html}</title>\n</head>\n<body style=\"margin:0;padding:24px 12px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#1f2933;font-size:16px;line-height:1.5;\">\n<div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:28px;\">\n<p style=\"margin:0 0 16px 0;\">{greeting}</p>\n<p style=\"margin:0 0 16px 0;\">{paragraph}</p>\n{action}\n</div>\n</body>\n</html>\n",
        lang = message.lang.code(),
        title_html = escape_html(&subject),
        greeting = escape_html(&greeting),
        paragraph = escape_html(&paragraph),
    );
    Ok(Rendered {
        subject,
        html,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(lang: Lang, kind: SigningMailKind) -> SigningMessage {
        SigningMessage {
            lang,
            kind,
            to_name: "Ana <b>".into(),
            sender_name: "Acme\r\nBcc: x@evil".into(),
            title: "Lease".into(),
            link: Some("https://signet.example/sign/abc".into()),
        }
    }

    #[test]
    fn invitations_carry_the_link_and_escape_what_people_typed() {
        let mail =
            render_signing_mail(&message(Lang::En, SigningMailKind::Invitation)).expect("renders");
        assert!(mail.subject.contains("Lease"));
        assert!(!mail.subject.contains('\n'), "{}", mail.subject);
        assert!(mail.text.contains("https://signet.example/sign/abc"));
        assert!(
            mail.html
                .contains("href=\"https://signet.example/sign/abc\"")
        );
        assert!(mail.html.contains("Ana &lt;b&gt;"));
        assert!(!mail.html.contains("<b>"));
    }

    #[test]
    fn french_and_endings_without_a_button() {
        let mail =
            render_signing_mail(&message(Lang::Fr, SigningMailKind::Voided)).expect("renders");
        assert!(mail.subject.contains("annulé"), "{}", mail.subject);
        assert!(!mail.text.contains("https://"), "{}", mail.text);
        let reminder =
            render_signing_mail(&message(Lang::Fr, SigningMailKind::Reminder)).expect("renders");
        assert!(reminder.text.contains("Ouvrir et signer"));
    }

    #[test]
    fn only_web_links() {
        let mut bad = message(Lang::En, SigningMailKind::Invitation);
        bad.link = Some("javascript:alert(1)".into());
        assert!(render_signing_mail(&bad).is_err());
    }
}
