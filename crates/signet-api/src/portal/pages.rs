//! The portal's pages: one askama template (`templates/portal/page.html`, escaped by default)
//! and the words of each page in every language the portal speaks.

use askama::Template;
use signet_core::values::Language;
use time::OffsetDateTime;

/// Every fixed phrase of the portal, in one language.
pub(crate) struct Texts {
    pub(crate) code: &'static str,
    pub(crate) sent_you: &'static str,
    pub(crate) send_code: &'static str,
    pub(crate) verify: &'static str,
    pub(crate) resend: &'static str,
    pub(crate) open: &'static str,
    pub(crate) answer_hint: &'static str,
    pub(crate) footer: &'static str,
    pub(crate) title_verify: &'static str,
    pub(crate) title_documents: &'static str,
    pub(crate) title_expired: &'static str,
    pub(crate) title_cancelled: &'static str,
    pub(crate) title_used: &'static str,
    pub(crate) title_locked: &'static str,
    pub(crate) title_not_found: &'static str,
    pub(crate) title_closed: &'static str,
    pub(crate) title_error: &'static str,
    pub(crate) by_sms: &'static str,
    pub(crate) by_voice: &'static str,
    pub(crate) expired: &'static str,
    pub(crate) cancelled: &'static str,
    pub(crate) used: &'static str,
    pub(crate) locked: &'static str,
    pub(crate) not_found: &'static str,
    pub(crate) closed: &'static str,
    pub(crate) error: &'static str,
    pub(crate) bad_request: &'static str,
    pub(crate) wrong_code: &'static str,
    pub(crate) wrong_answer: &'static str,
    pub(crate) attempts_left: &'static str,
    pub(crate) no_code: &'static str,
    pub(crate) too_many_codes: &'static str,
    pub(crate) busy: &'static str,
    pub(crate) enter_code: &'static str,
    pub(crate) codes_left: &'static str,
    pub(crate) session_until: &'static str,
    pub(crate) link_until: &'static str,
    pub(crate) single_use: &'static str,
    pub(crate) units: [&'static str; 4],
    pub(crate) decimal: char,
}

const EN: Texts = Texts {
    code: "en",
    sent_you: "sent you these confidential documents:",
    send_code: "Send me the code",
    verify: "Verify",
    resend: "Send a new code",
    open: "Open the documents",
    answer_hint: "Upper and lower case do not matter, nor spaces before or after the answer.",
    footer: "Confidential delivery by Signet",
    title_verify: "Confirm your identity",
    title_documents: "Your documents",
    title_expired: "This link has expired",
    title_cancelled: "This delivery was cancelled",
    title_used: "This link was already used",
    title_locked: "This link is locked for now",
    title_not_found: "This link is not valid",
    title_closed: "This delivery is closed",
    title_error: "Something went wrong",
    by_sms: "To protect these documents, we will send a 6-digit code by text message to",
    by_voice: "To protect these documents, we will call you and read a 6-digit code to",
    expired: "The documents are no longer available through this link. Ask the sender to send them again.",
    cancelled: "The sender withdrew these documents. Contact the sender if you still need them.",
    used: "This link could be used once only, and it already was. Ask the sender for a new link if you need the documents again.",
    locked: "Too many wrong attempts. For your security, try again after",
    not_found: "Check that you copied the whole address from the message you received.",
    closed: "The documents of this delivery are no longer available.",
    error: "Please try again in a moment.",
    bad_request: "The form could not be read. Please try again.",
    wrong_code: "This code is not the right one.",
    wrong_answer: "This answer is not the right one.",
    attempts_left: "Attempts left before the link locks:",
    no_code: "This code has expired or was replaced. Ask for a new one.",
    too_many_codes: "Too many codes were sent. You can ask for a new one after",
    busy: "Another answer for this link is being checked. Please try again in a moment.",
    enter_code: "Enter the 6-digit code sent to",
    codes_left: "New codes you can still ask for:",
    session_until: "Your session ends at",
    link_until: "The link works until",
    single_use: "This link works once only: download every document now.",
    units: ["bytes", "KB", "MB", "GB"],
    decimal: '.',
};

const FR: Texts = Texts {
    code: "fr",
    sent_you: "vous a transmis ces documents confidentiels :",
    send_code: "M'envoyer le code",
    verify: "Valider",
    resend: "Recevoir un nouveau code",
    open: "Ouvrir les documents",
    answer_hint: "Les majuscules et minuscules ne comptent pas, ni les espaces autour de la réponse.",
    footer: "Transmission confidentielle par Signet",
    title_verify: "Confirmez votre identité",
    title_documents: "Vos documents",
    title_expired: "Ce lien a expiré",
    title_cancelled: "Cet envoi a été annulé",
    title_used: "Ce lien a déjà été utilisé",
    title_locked: "Ce lien est bloqué pour le moment",
    title_not_found: "Ce lien n'est pas valide",
    title_closed: "Cet envoi est clos",
    title_error: "Une erreur est survenue",
    by_sms: "Pour protéger ces documents, nous allons envoyer un code à 6 chiffres par SMS au",
    by_voice: "Pour protéger ces documents, nous allons vous appeler pour vous lire un code à 6 chiffres au",
    expired: "Les documents ne sont plus disponibles par ce lien. Demandez à l'expéditeur de vous les renvoyer.",
    cancelled: "L'expéditeur a retiré ces documents. Contactez-le si vous en avez encore besoin.",
    used: "Ce lien ne pouvait servir qu'une fois, et il a déjà servi. Demandez un nouveau lien à l'expéditeur si nécessaire.",
    locked: "Trop de tentatives erronées. Par sécurité, réessayez après",
    not_found: "Vérifiez que vous avez copié l'adresse complète depuis le message reçu.",
    closed: "Les documents de cet envoi ne sont plus disponibles.",
    error: "Merci de réessayer dans un instant.",
    bad_request: "Le formulaire n'a pas pu être lu. Merci de réessayer.",
    wrong_code: "Ce code n'est pas le bon.",
    wrong_answer: "Cette réponse n'est pas la bonne.",
    attempts_left: "Tentatives restantes avant le blocage du lien :",
    no_code: "Ce code a expiré ou a été remplacé. Demandez-en un nouveau.",
    too_many_codes: "Trop de codes ont été envoyés. Vous pourrez en demander un nouveau après",
    busy: "Une autre réponse pour ce lien est en cours de vérification. Réessayez dans un instant.",
    enter_code: "Saisissez le code à 6 chiffres envoyé au",
    codes_left: "Nouveaux codes encore disponibles :",
    session_until: "Votre session se termine le",
    link_until: "Le lien fonctionne jusqu'au",
    single_use: "Ce lien ne sert qu'une fois : téléchargez tous les documents maintenant.",
    units: ["octets", "Ko", "Mo", "Go"],
    decimal: ',',
};

/// The texts of a language.
pub(crate) fn texts(language: Language) -> &'static Texts {
    match language {
        Language::Fr => &FR,
        _ => &EN,
    }
}

/// The language a browser prefers among those the portal speaks (English by default), for pages
/// shown before an envelope is known.
pub(crate) fn preferred_language(accept_language: Option<&str>) -> Language {
    let first = accept_language
        .and_then(|v| v.split(',').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if first.starts_with("fr") {
        Language::Fr
    } else {
        Language::En
    }
}

/// A size as people read it: `1.2 MB`, `1,2 Mo`.
pub(crate) fn human_size(bytes: u64, t: &Texts) -> String {
    if bytes < 1024 {
        return format!("{bytes} {}", t.units[0]);
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < 3 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", t.units[unit]).replace('.', &t.decimal.to_string())
}

/// A time as shown on pages, in UTC.
pub(crate) fn when(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// A document row.
pub(crate) struct DocRow {
    pub(crate) name: String,
    pub(crate) size: String,
    /// The download address, once authenticated.
    pub(crate) href: Option<String>,
}

/// Who sent what.
pub(crate) struct Header {
    pub(crate) sender: String,
    pub(crate) documents: Vec<DocRow>,
}

/// A message above the form.
pub(crate) struct Notice {
    /// `error` or `info` (a CSS class).
    pub(crate) kind: &'static str,
    pub(crate) text: String,
}

pub(crate) struct SendCode {
    pub(crate) action: String,
    pub(crate) explanation: String,
}

pub(crate) struct EnterCode {
    pub(crate) verify_action: String,
    pub(crate) resend_action: String,
    pub(crate) prompt: String,
    pub(crate) can_resend: bool,
    /// How many more codes may be asked for, once some were.
    pub(crate) resend_hint: Option<String>,
}

pub(crate) struct Secret {
    pub(crate) action: String,
    pub(crate) question: String,
}

pub(crate) struct Open {
    pub(crate) action: String,
}

pub(crate) struct Documents {
    pub(crate) note: String,
}

pub(crate) struct Message {
    pub(crate) text: String,
}

/// What the page is for.
pub(crate) enum Body {
    SendCode(SendCode),
    EnterCode(EnterCode),
    Secret(Secret),
    Open(Open),
    Documents(Documents),
    Message(Message),
}

/// A whole portal page.
#[derive(Template)]
#[template(path = "portal/page.html")]
pub(crate) struct Page {
    pub(crate) lang: &'static str,
    pub(crate) t: &'static Texts,
    pub(crate) title: String,
    /// The path prefix of the public URL (empty at the root), for links and forms.
    pub(crate) base: String,
    pub(crate) header: Option<Header>,
    pub(crate) notice: Option<Notice>,
    pub(crate) body: Body,
}

impl Page {
    /// A page with only a title and a message.
    pub(crate) fn message(t: &'static Texts, base: String, title: &str, text: String) -> Self {
        Self {
            lang: t.code,
            t,
            title: title.to_owned(),
            base,
            header: None,
            notice: None,
            body: Body::Message(Message { text }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally_in_each_language() {
        assert_eq!(human_size(900, &EN), "900 bytes");
        assert_eq!(human_size(1536, &EN), "1.5 KB");
        assert_eq!(human_size(5 * 1024 * 1024 + 300_000, &FR), "5,3 Mo");
    }

    #[test]
    fn pages_escape_what_senders_and_documents_say() {
        let page = Page {
            header: Some(Header {
                sender: "Acme <script>".into(),
                documents: vec![DocRow {
                    name: "\"><img src=x>.pdf".into(),
                    size: "1 KB".into(),
                    href: None,
                }],
            }),
            ..Page::message(&EN, String::new(), "T", "<b>m</b>".into())
        };
        let html = page.render().expect("renders");
        assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("<b>"));
        assert!(html.contains("Acme &#60;script&#62;") || html.contains("Acme &lt;script&gt;"));
    }
}
