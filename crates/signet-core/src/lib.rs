//! Signet's core: the domain vocabulary (tenants, envelopes, documents, participants, events),
//! the pure state transitions of envelopes, the use-cases that every API dialect calls, and the
//! ports (store, blobs, clock) through which those use-cases reach the outside world.
//!
//! This crate knows nothing about HTTP or SQL; a CI check keeps it that way.

pub mod blob;
pub mod clock;
pub mod crypto;
pub mod error;
pub mod evidence;
pub mod ids;
mod job_handlers;
pub mod jobs;
pub mod ledger;
pub mod lifecycle;
pub mod mail;
pub mod model;
pub mod phone;
pub mod portal;
pub mod readiness;
pub mod seal;
pub mod secret;
pub mod service;
pub mod signing;
pub mod store;
pub mod values;
pub mod webhooks;
pub mod worker;

pub use error::{CoreError, CoreResult, ErrorKind};
pub use service::Core;
