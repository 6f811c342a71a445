//! How an event becomes a leaf of the transparency log: the leaf commits to the full event record
//! (kept in the store) by its SHA-256, so the log itself holds no personal data in clear; the
//! record's random id keeps that digest unguessable.

use sha2::{Digest, Sha256};

use crate::model::Event;

/// SHA-256 of the event's canonical JSON (struct fields in declaration order, object keys sorted).
pub fn record_digest(event: &Event) -> [u8; 32] {
    // Serialising a struct of plain data and a `Value` cannot fail.
    let canonical = serde_json::to_vec(event).unwrap_or_default();
    Sha256::digest(&canonical).into()
}

/// The RFC 9162 leaf hash of a stored event record (its canonical JSON text).
pub fn leaf_hash_of_record(record: &str) -> [u8; 32] {
    let digest: [u8; 32] = Sha256::digest(record.as_bytes()).into();
    signet_ledger::leaf_hash(&digest)
}

/// The RFC 9162 leaf hash of an event: SHA-256(0x00 || record digest). Shown publicly, with a
/// `0x` prefix, as the event's `transaction_hash`.
pub fn leaf_hash(event: &Event) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(record_digest(event));
    hasher.finalize().into()
}
