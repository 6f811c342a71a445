//! The e-mails Signet sends, in every [`Lang`], as HTML and plain text.
//!
//! Written as plain Rust formatting rather than with a template engine: there is one message in
//! two languages today, the compiler checks that every placeholder is supplied, and every value
//! that reaches the HTML passes through [`escape_html`] at one visible place. If operators are
//! later allowed to edit templates, minijinja (auto-escaping `.html` templates) is the candidate.
//!
//! The HTML is a complete document with inline styles only and no external assets (no images,
//! fonts or tracking pixels), laid out as a single 560-pixel column that narrows on phones.

use crate::Lang;

use super::Message;

/// A template could not be rendered from the values given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// The link is not an `https://` or `http://` URL.
    #[error("the access link must be an http or https URL")]
    Link,
}

/// A rendered e-mail: subject, HTML and plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The HTML body.
    pub html: String,
    /// The plain-text body.
    pub text: String,
}

impl Rendered {
    /// The message to send to `to`.
    pub fn to(self, to: impl Into<String>) -> Message {
        Message {
            to: to.into(),
            subject: self.subject,
            html: self.html,
            text: self.text,
        }
    }
}

/// The invitation a recipient gets when documents are sent to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The language to write in.
    pub lang: Lang,
    /// Who sends the documents, as the recipient knows them (a person or a company).
    pub sender_name: String,
    /// The documents' names.
    pub document_names: Vec<String>,
    /// The recipient's access link.
    pub link: String,
    /// Days until the link expires (0: expires today).
    pub expiry_days: u32,
}

/// Escapes `&`, `<`, `>`, `"` and `'` so that `text` is inert in HTML content and in quoted
/// attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Removes line breaks and other control characters from a value that goes on one line.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

struct Words {
    subject: fn(&str, usize) -> String,
    heading: fn(&str, usize) -> String,
    button: &'static str,
    link_label: &'static str,
    expiry: fn(u32) -> String,
    fallback: &'static str,
    ignore: &'static str,
    verify: &'static str,
    for_recipient: &'static str,
}

fn words(lang: Lang) -> Words {
    match lang {
        Lang::Fr => Words {
            subject: |sender, n| {
                if n == 1 {
                    format!("{sender} vous a envoyé un document")
                } else {
                    format!("{sender} vous a envoyé {n} documents")
                }
            },
            heading: |sender, n| {
                if n == 1 {
                    format!("{sender} vous a envoyé un document confidentiel :")
                } else {
                    format!("{sender} vous a envoyé {n} documents confidentiels :")
                }
            },
            button: "Consulter les documents",
            link_label: "Pour consulter les documents, ouvrez ce lien :",
            expiry: |days| match days {
                0 => "Ce lien expire aujourd’hui.".to_owned(),
                1 => "Ce lien expire dans 1 jour.".to_owned(),
                n => format!("Ce lien expire dans {n} jours."),
            },
            fallback: "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :",
            ignore: "Si vous n’attendiez pas ce message, vous pouvez l’ignorer.",
            verify: "Une vérification de votre identité vous sera demandée.",
            for_recipient: "Pour",
        },
        Lang::En => Words {
            subject: |sender, n| {
                if n == 1 {
                    format!("{sender} sent you a document")
                } else {
                    format!("{sender} sent you {n} documents")
                }
            },
            heading: |sender, n| {
                if n == 1 {
                    format!("{sender} sent you a confidential document:")
                } else {
                    format!("{sender} sent you {n} confidential documents:")
                }
            },
            button: "View the documents",
            link_label: "To view the documents, open this link:",
            expiry: |days| match days {
                0 => "This link expires today.".to_owned(),
                1 => "This link expires in 1 day.".to_owned(),
                n => format!("This link expires in {n} days."),
            },
            fallback: "If the button does not work, copy this link into your browser:",
            ignore: "If you were not expecting this message, you can ignore it.",
            verify: "You will be asked to confirm who you are.",
            for_recipient: "For",
        },
    }
}

/// One button of an invitation: the recipient it is for and their link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationLink {
    /// The recipient, named above the button when a fragment carries several links.
    pub recipient: String,
    /// Their access link.
    pub url: String,
}

pub(crate) fn check_link(link: &str) -> Result<&str, TemplateError> {
    let link = link.trim();
    let lower = link.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://"))
        || link.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(TemplateError::Link);
    }
    Ok(link)
}

/// The heart of an invitation — who sent which documents, one button per link, until when the
/// links work — as an HTML fragment with inline styles only. The invitation e-mail wraps it in a
/// whole document; a self-sending tenant embeds it in its own e-mail (doclinc's banner), so both
/// say the same thing.
pub fn render_fragment(
    lang: Lang,
    sender_name: &str,
    document_names: &[String],
    links: &[InvitationLink],
    expiry_days: u32,
) -> Result<String, TemplateError> {
    let w = words(lang);
    let sender = one_line(sender_name);
    let names: Vec<String> = document_names.iter().map(|n| one_line(n)).collect();
    let heading = (w.heading)(&sender, names.len());
    let items: String = names
        .iter()
        .map(|name| format!("<li style=\"margin:0 0 6px 0;\">{}</li>", escape_html(name)))
        .collect();
    let mut buttons = String::new();
    for link in links {
        let url = escape_html(check_link(&link.url)?);
        if links.len() > 1 {
            buttons.push_str(&format!(
                "<p style=\"margin:0 0 6px 0;font-size:14px;color:#52606d;\">{} {}</p>",
                escape_html(w.for_recipient),
                escape_html(&one_line(&link.recipient))
            ));
        }
        buttons.push_str(&format!(
            "<p style=\"margin:0 0 20px 0;\"><a href=\"{url}\" style=\"display:inline-block;background:#1d4ed8;\
             color:#ffffff;text-decoration:none;font-weight:bold;padding:12px 20px;border-radius:6px;\">{}</a></p>",
            escape_html(w.button)
        ));
    }
    Ok(format!(
        "<div style=\"font-family:Arial,Helvetica,sans-serif;color:#1f2933;font-size:16px;line-height:1.5;\">\
         <p style=\"margin:0 0 16px 0;font-size:18px;font-weight:bold;\">{heading}</p>\
         <ul style=\"margin:0 0 20px 0;padding-left:20px;\">{items}</ul>{buttons}\
         <p style=\"margin:0 0 16px 0;\">{expiry} {verify}</p></div>",
        heading = escape_html(&heading),
        expiry = escape_html(&(w.expiry)(expiry_days)),
        verify = escape_html(w.verify),
    ))
}

/// Renders the invitation e-mail.
pub fn render_invitation(invitation: &Invitation) -> Result<Rendered, TemplateError> {
    let link = check_link(&invitation.link)?;
    let w = words(invitation.lang);
    let sender = one_line(&invitation.sender_name);
    let names: Vec<String> = invitation
        .document_names
        .iter()
        .map(|n| one_line(n))
        .collect();
    let count = names.len();
    let heading = (w.heading)(&sender, count);
    let expiry = (w.expiry)(invitation.expiry_days);

    let mut text = format!("{heading}\n\n");
    for name in &names {
        text.push_str(&format!("  - {name}\n"));
    }
    text.push_str(&format!(
        "\n{label}\n{link}\n\n{expiry} {verify}\n\n{ignore}\n",
        label = w.link_label,
        verify = w.verify,
        ignore = w.ignore,
    ));

    let fragment = render_fragment(
        invitation.lang,
        &invitation.sender_name,
        &invitation.document_names,
        &[InvitationLink {
            recipient: String::new(),
            url: link.to_owned(),
        }],
        invitation.expiry_days,
    )?;
    let link_html = escape_html(link);
    let html = format!(
        "<!DOCTYPE html>
<html lang=\"{lang}\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>{title}</title>
</head>
<body style=\"margin:0;padding:0;background:#f4f5f7;\">
<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f4f5f7;\">
<tr><td align=\"center\" style=\"padding:24px 12px;\">
<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"max-width:560px;background:#ffffff;border-radius:8px;font-family:Arial,Helvetica,sans-serif;color:#1f2933;font-size:16px;line-height:1.5;\">
<tr><td style=\"padding:28px 28px 8px 28px;\">
{fragment}
<p style=\"margin:0 0 8px 0;font-size:13px;color:#52606d;\">{fallback}</p>
<p style=\"margin:0 0 20px 0;font-size:13px;word-break:break-all;\"><a href=\"{link_html}\" style=\"color:#1d4ed8;\">{link_html}</a></p>
</td></tr>
<tr><td style=\"padding:0 28px 28px 28px;font-size:13px;color:#52606d;\">{ignore}</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
",
        lang = invitation.lang.code(),
        title = escape_html(&(w.subject)(&sender, count)),
        fallback = escape_html(w.fallback),
        ignore = escape_html(w.ignore),
    );

    Ok(Rendered {
        subject: (w.subject)(&sender, count),
        html,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation(lang: Lang) -> Invitation {
        Invitation {
            lang,
            sender_name: "Dupont & <Fils>".to_owned(),
            document_names: vec![
                "contrat \"final\".pdf".to_owned(),
                "annexe<1>.pdf".to_owned(),
            ],
            link: "https://signet.example/r/abc?x=1&y=2".to_owned(),
            expiry_days: 7,
        }
    }

    #[test]
    fn html_is_escaped() {
        let r = render_invitation(&invitation(Lang::En)).expect("render");
        assert!(
            r.html
                .contains("Dupont &amp; &lt;Fils&gt; sent you 2 confidential documents:")
        );
        assert!(r.html.contains("contrat &quot;final&quot;.pdf"));
        assert!(r.html.contains("annexe&lt;1&gt;.pdf"));
        assert!(
            r.html
                .contains("href=\"https://signet.example/r/abc?x=1&amp;y=2\"")
        );
        assert!(!r.html.contains("<Fils>"));
        assert!(!r.html.contains("src="), "no external assets");
        assert!(!r.html.contains("<style"), "inline styles only");
        assert!(
            r.text
                .contains("Dupont & <Fils> sent you 2 confidential documents:")
        );
        assert!(r.text.contains("https://signet.example/r/abc?x=1&y=2"));
        assert!(r.text.contains("This link expires in 7 days."));
        assert_eq!(r.subject, "Dupont & <Fils> sent you 2 documents");
    }

    #[test]
    fn french_and_plurals() {
        let mut inv = invitation(Lang::Fr);
        let r = render_invitation(&inv).expect("render");
        assert_eq!(r.subject, "Dupont & <Fils> vous a envoyé 2 documents");
        assert!(r.html.contains("<html lang=\"fr\">"));
        assert!(r.text.contains("Ce lien expire dans 7 jours."));
        assert!(r.html.contains("Consulter les documents"));
        inv.document_names.truncate(1);
        inv.expiry_days = 1;
        let r = render_invitation(&inv).expect("render");
        assert_eq!(r.subject, "Dupont & <Fils> vous a envoyé un document");
        assert!(r.text.contains("Ce lien expire dans 1 jour."));
    }

    #[test]
    fn header_values_stay_on_one_line() {
        let mut inv = invitation(Lang::En);
        inv.sender_name = "Eve\r\nBcc: victim@example.com".to_owned();
        let r = render_invitation(&inv).expect("render");
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
    }

    #[test]
    fn fragments_name_each_recipient_when_there_are_several() {
        let links = [
            InvitationLink {
                recipient: "a@example.com".into(),
                url: "https://s.example/r/one".into(),
            },
            InvitationLink {
                recipient: "b@example.com".into(),
                url: "https://s.example/r/two".into(),
            },
        ];
        let html = render_fragment(Lang::En, "Acme", &["x.pdf".into()], &links, 3).expect("render");
        assert!(html.contains("For a@example.com") && html.contains("For b@example.com"));
        assert!(html.contains("href=\"https://s.example/r/one\""));
        let single =
            render_fragment(Lang::En, "Acme", &["x.pdf".into()], &links[..1], 3).expect("render");
        assert!(!single.contains("For a@example.com"));
        let invitation = render_invitation(&Invitation {
            lang: Lang::En,
            sender_name: "Acme".into(),
            document_names: vec!["x.pdf".into()],
            link: "https://s.example/r/one".into(),
            expiry_days: 3,
        })
        .expect("render");
        assert!(
            invitation.html.contains(&single),
            "the e-mail carries the same fragment"
        );
    }

    #[test]
    fn only_web_links() {
        for link in ["javascript:alert(1)", "ftp://x", "https://a b", ""] {
            let mut inv = invitation(Lang::En);
            inv.link = link.to_owned();
            assert_eq!(render_invitation(&inv), Err(TemplateError::Link), "{link}");
        }
    }
}
