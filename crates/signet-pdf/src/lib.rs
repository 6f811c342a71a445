//! PAdES sealing and verification of PDF documents for Signet.
//!
//! - [`intake`]: refusing, at upload, what cannot be signed (encrypted, unparseable, XFA-only).
//! - [`pki`]: an instance PKI (root CA, sealing and TSA certificates, CRL), generated or loaded.
//! - [`tsa`]: a built-in RFC 3161 time-stamp authority and the [`tsa::TimestampSource`] port.
//! - [`seal`]: PAdES B-B / B-T / B-LT sealing as incremental updates, in one hashing pass.
//! - [`stamp`]: a signer's marks (text in any script, typed or drawn signatures, checkmarks,
//!   images) as an incremental update, at boxes given in fractions of the displayed page.
//! - [`archive`]: the archival seal (PAdES B-LTA): /DSS for every signature, then a document
//!   time-stamp.
//! - [`certificate`]: the completion certificate, standalone or appended as pages.
//! - [`act`]: one signer's PAdES B-T signature, with a key and a certificate made for the act.
//! - [`render`]: page images (PNG) by `pdftoppm` in a bounded subprocess.
//! - [`verify`]: signature verification with a serialisable report.
//!
//! The PDF reader is minimal on purpose: it follows the xref chain and loads only the objects
//! sealing needs, so memory does not grow with the page count.
#![forbid(unsafe_code)]

pub mod act;
pub mod archive;
pub mod certificate;
mod cms;
mod der;
pub mod intake;
mod linebreak;
#[allow(dead_code)]
mod oids;
pub mod pdf;
pub mod pki;
pub mod render;
pub mod sample;
pub mod seal;
pub mod stamp;
pub mod tsa;
pub mod verify;

pub use der::DerError;
