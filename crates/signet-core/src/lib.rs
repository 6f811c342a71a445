//! Signet's core: the domain vocabulary (tenants, envelopes, documents, participants, events),
//! the pure state transitions of envelopes, the use-cases that every API dialect calls, and the
//! ports (store, blobs, clock) through which those use-cases reach the outside world.
//!
//! This crate knows nothing about HTTP or SQL; a CI check keeps it that way.

pub mod access;
pub mod clock;
pub mod crypto;
pub mod delivery;
pub mod error;
pub mod evidence;
pub mod ids;
pub mod jobs;
pub mod model;
pub mod operator;
pub mod ports;
pub mod readiness;
pub mod service;
pub mod signing;
pub mod store;
pub mod tenancy;
pub mod values;

// The paths the dialects have used since before the aggregates had folders.
pub use access::{portal, secret};
pub use delivery::lifecycle;
pub use evidence::ledger;
pub use jobs::worker;
pub use ports::{blob, inspect, mail, phone, seal, signature, webhooks};

pub use error::{CoreError, CoreResult, ErrorKind};
pub use ports::Core;
