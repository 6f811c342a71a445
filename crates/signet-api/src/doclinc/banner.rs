//! The HTML banner a self-sending tenant embeds in its own e-mail: who sent what, and the link —
//! the same fragment as the heart of the invitation e-mail Signet sends itself (inline styles
//! only, no external assets, text escaped).

use signet_core::values::Language;
use signet_notify::Lang;
use signet_notify::mail::templates::{InvitationLink, TemplateError, render_fragment};

/// One banner, with a button per `(recipient, link)`.
pub(crate) fn render(
    language: Language,
    sender: &str,
    documents: &[String],
    days: u32,
    links: &[(String, String)],
) -> Result<String, TemplateError> {
    let lang = match language {
        Language::Fr => Lang::Fr,
        _ => Lang::En,
    };
    let links: Vec<InvitationLink> = links
        .iter()
        .map(|(recipient, url)| InvitationLink {
            recipient: recipient.clone(),
            url: url.clone(),
        })
        .collect();
    render_fragment(lang, sender, documents, &links, days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_escapes_names_and_carries_the_link() {
        let html = render(
            Language::En,
            "Acme <Payroll>",
            &["<script>.pdf".into()],
            14,
            &[("a@example.com".into(), "https://s.example/r/tok".into())],
        )
        .expect("renders");
        assert!(html.contains("Acme &lt;Payroll&gt;"));
        assert!(html.contains("&lt;script&gt;.pdf"));
        assert!(html.contains("href=\"https://s.example/r/tok\""));
        assert!(!html.contains("<script>"));
    }
}
