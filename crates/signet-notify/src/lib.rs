//! Signet's outbound messages.
//!
//! - [`mail`]: e-mail over SMTP (lettre, rustls) and the recipient invitation templates;
//! - [`sms`]: SMS and voice codes through a phone provider (HTTP adapter or log);
//! - [`webhook`]: Standard Webhooks signing, delivery and the retry schedule;
//! - [`target`]: validation of outbound URLs given by clients (no private or loopback targets).
//!
//! This crate knows nothing of HTTP servers or databases: callers (the job worker) decide when to
//! send and what to do with a failure; every error says whether retrying can help.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod lang;
pub mod mail;
pub mod sms;
pub mod target;
pub mod webhook;

pub use lang::Lang;
