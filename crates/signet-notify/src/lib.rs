//! Signet's outbound messages.
//!
//! - [`mail`]: e-mail over SMTP (lettre, rustls) and the recipient invitation templates;
//! - [`sms`]: SMS and voice codes through a phone provider (HTTP adapter or log);
//! - [`webhook`]: Standard Webhooks signing, delivery and the retry schedule;
//! - [`target`]: validation of outbound URLs given by clients (no private or loopback targets).
//!
//! This crate knows nothing of HTTP servers or databases: callers (the job worker) decide when to
//! send and what to do with a failure; every error says whether retrying can help.
//!
//! ```no_run
//! use std::time::Duration;
//! use signet_notify::Lang;
//! use signet_notify::mail::{MailSettings, MailTransport as _, Mailer, templates};
//! use signet_notify::target::TargetPolicy;
//! use signet_notify::webhook::{self, Deliverer, Delivery, WebhookSecret};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = MailSettings::from_url("smtps://user:pass@mail.example.com", "Signet <noreply@example.com>")?;
//! let mailer = Mailer::new(&settings)?;
//! let invitation = templates::render_invitation(&templates::Invitation {
//!     lang: Lang::Fr,
//!     sender_name: "Étude Dupont".into(),
//!     document_names: vec!["bail.pdf".into()],
//!     link: "https://signet.example.com/r/abc".into(),
//!     expiry_days: 14,
//! })?;
//! mailer.send(&invitation.to("zoe@example.org")).await?;
//!
//! let secret = WebhookSecret::parse(&webhook::generate_secret())?;
//! let deliverer = Deliverer::new(TargetPolicy::default(), Duration::from_secs(10));
//! let outcome = deliverer
//!     .deliver("https://hooks.example.com/signet", &Delivery {
//!         msg_id: "msg_1",
//!         timestamp: 1_700_000_000,
//!         body: br#"{"type":"document.retrieved"}"#,
//!         secrets: &[secret],
//!     })
//!     .await;
//! if let Err(e) = outcome {
//!     if e.is_retryable() { /* reschedule (signet_core::webhooks::delivery_backoff) */ } else { /* dead-letter */ }
//! }
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod lang;
pub mod mail;
pub mod ports;
pub mod retrieve;
pub mod sms;
pub mod target;
pub mod webhook;

pub use lang::Lang;
