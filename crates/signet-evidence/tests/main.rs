//! The integration tests of the evidence layer in one test binary: each file here is a module, so the
//! crate and its dependencies are linked once, not once per file (see signet-testkit's
//! `tests/main.rs`).

mod seal_blob;
mod signature;
