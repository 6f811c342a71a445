//! The HTML banner a self-sending tenant embeds in its own e-mail: who sent what, and the link.
//! Inline styles only (mail clients strip stylesheets), no external assets, text escaped.

use signet_core::values::Language;
use signet_notify::mail::templates::escape_html as escape;

/// One recipient's banner.
pub(crate) fn render(
    language: Language,
    sender: &str,
    documents: &[String],
    days: u32,
    links: &[(String, String)],
) -> String {
    let (intro, open, expires, for_whom) = match language {
        Language::Fr => (
            "vous a transmis des documents confidentiels :",
            "Consulter les documents",
            format!(
                "Ce lien est valable {days} jours. Une vérification d'identité vous sera demandée."
            ),
            "Pour",
        ),
        _ => (
            "has sent you confidential documents:",
            "View the documents",
            format!(
                "This link is valid for {days} days. You will be asked to verify your identity."
            ),
            "For",
        ),
    };
    let items: String = documents
        .iter()
        .map(|d| format!("<li>{}</li>", escape(d)))
        .collect();
    let buttons: String = links
        .iter()
        .map(|(email, url)| {
            let label = if links.len() > 1 {
                format!("<p style=\"margin:8px 0 4px\">{for_whom} {}</p>", escape(email))
            } else {
                String::new()
            };
            format!(
                "{label}<p style=\"margin:8px 0\"><a href=\"{}\" style=\"display:inline-block;padding:10px 18px;\
                 background:#1f4e79;color:#ffffff;text-decoration:none;border-radius:4px\">{open}</a></p>",
                escape(url)
            )
        })
        .collect();
    format!(
        "<div style=\"font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222;max-width:560px\">\
         <p><strong>{}</strong> {intro}</p><ul>{items}</ul>{buttons}\
         <p style=\"color:#666;font-size:12px\">{expires}</p></div>",
        escape(sender)
    )
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
        );
        assert!(html.contains("Acme &lt;Payroll&gt;"));
        assert!(html.contains("&lt;script&gt;.pdf"));
        assert!(html.contains("href=\"https://s.example/r/tok\""));
        assert!(!html.contains("<script>"));
    }
}
