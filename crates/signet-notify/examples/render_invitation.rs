//! Prints the invitation e-mail (subject, text, HTML) in one language: `cargo run -p
//! signet-notify --example render_invitation -- fr`.

use signet_notify::Lang;
use signet_notify::mail::templates::{Invitation, render_invitation};

fn main() {
    let lang = std::env::args()
        .nth(1)
        .and_then(|tag| Lang::from_tag(&tag))
        .unwrap_or_default();
    match render_invitation(&Invitation {
        lang,
        sender_name: "Étude Dupont & Associés".to_owned(),
        document_names: vec!["Bail 2026.pdf".to_owned(), "État des lieux.pdf".to_owned()],
        link: "https://signet.example.com/r/4f9c2a".to_owned(),
        expiry_days: 14,
    }) {
        Ok(mail) => println!(
            "Subject: {}\n\n{}\n---\n{}",
            mail.subject, mail.text, mail.html
        ),
        Err(e) => eprintln!("{e}"),
    }
}
