//! Tenancy: tenants, their plans, API keys, contacts and webhook endpoints.

pub mod model;
pub mod service;
pub mod webhooks;
