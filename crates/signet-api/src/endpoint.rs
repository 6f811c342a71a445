//! The skeleton every dialect follows: its operations listed as an enum of [`Endpoint`]s, each
//! with its method, path and the [`Scope`] a caller needs, and its router built from that list —
//! so the list cannot drift from what is served (a test walks every listed endpoint).

use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;

use crate::AppState;

/// What a caller must present to use an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scope {
    /// Nothing: public evidence (the log, the PKI, the time-stamp authority).
    Public,
    /// A tenant's API credential, in the dialect's own scheme.
    Tenant,
}

/// One operation of a dialect.
pub(crate) trait Endpoint: Copy + std::fmt::Debug + 'static {
    /// The dialect's name, as in `Actor::Tenant::dialect`.
    const DIALECT: &'static str;
    /// Every operation of the dialect.
    const ALL: &'static [Self];
    /// The HTTP method.
    fn method(self) -> Method;
    /// The path, in axum's `{param}` syntax.
    fn path(self) -> &'static str;
    /// What the caller must present.
    fn scope(self) -> Scope;
    /// The handler, with its per-operation layers (body limits).
    fn handler(self) -> MethodRouter<AppState>;
}

/// The router serving every endpoint of `E`.
pub(crate) fn router<E: Endpoint>() -> Router<AppState> {
    E::ALL.iter().fold(Router::new(), |router, endpoint| {
        router.route(endpoint.path(), endpoint.handler())
    })
}

/// A served operation, for tests and generated documentation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EndpointInfo {
    /// The dialect serving it.
    pub dialect: &'static str,
    /// The HTTP method.
    pub method: String,
    /// The path, with `{param}` placeholders.
    pub path: &'static str,
    /// What a caller must present.
    pub scope: Scope,
}

pub(crate) fn describe<E: Endpoint>() -> impl Iterator<Item = EndpointInfo> {
    E::ALL.iter().map(|e| EndpointInfo {
        dialect: E::DIALECT,
        method: e.method().to_string(),
        path: e.path(),
        scope: e.scope(),
    })
}
