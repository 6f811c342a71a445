//! The integration tests of the server binary in one test binary: each file here is a module, so the
//! crate and its dependencies are linked once, not once per file (see signet-testkit's
//! `tests/main.rs`).

mod answer_flood;
mod cli;
mod common;
mod crash;
mod nodes;
mod secrets_in_logs;
mod serve;
