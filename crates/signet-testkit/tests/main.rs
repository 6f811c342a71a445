//! Every black-box test of the server in one test binary: each file below is a module, so the
//! server, its dependencies' generics and the browser client are compiled and linked once rather
//! than once per file: 23 test binaries each linking the whole server made building the tests
//! the longest part of CI. A new file here needs its `mod` line below.

mod auth_schemes;
mod browser_smoke;
mod dedoco;
mod defects;
mod doclinc;
mod endpoints;
mod evidence;
mod hardening;
mod library;
mod mail;
mod native;
mod native_envelopes;
mod observability;
mod openapi;
mod pki;
mod portal;
mod portal_browser;
mod signer_app;
mod signer_journeys;
mod signing_core;
mod upload_sha3;
mod webhooks;
mod wire_snapshots;
