//! The integration tests of the ledger in one test binary: each file here is a module, so the
//! crate and its dependencies are linked once, not once per file (see signet-testkit's
//! `tests/main.rs`).

mod merkle_vectors;
mod note_properties;
mod note_vectors;
mod properties;
