//! The integration tests of the blob stores in one test binary: each file here is a module, so the
//! crate and its dependencies are linked once, not once per file (see signet-testkit's
//! `tests/main.rs`).

mod common;
mod local;
mod s3;
