//! Confidential delivery: envelopes whose documents reach only their participants — the model,
//! the pure lifecycle rules and the use-cases.

pub mod lifecycle;
pub mod model;
pub mod service;
