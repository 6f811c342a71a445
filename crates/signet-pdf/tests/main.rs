//! The integration tests of the PDF library in one test binary: each file here is a module, so the
//! crate and its dependencies are linked once, not once per file (see signet-testkit's
//! `tests/main.rs`).

mod act;
mod archive;
mod certificate;
mod common;
mod intake;
mod pdfa;
mod pki;
mod render;
mod robustness;
mod stamp;
mod tsa;
mod validators;
