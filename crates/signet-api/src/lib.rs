//! Signet's HTTP side. Shared plumbing (client addresses, body limits, request tracing that never
//! records secrets in URLs, the signed-upload endpoint) and one module per API dialect. Dialects
//! translate wire formats and credentials into core calls; they hold no business rules and never
//! reach the store.

mod auth_header;
pub mod dedoco;
pub mod doclinc;
mod endpoint;
mod file_links;
mod http;
mod native;
pub mod ops;
mod portal;
mod rejection;
pub mod server;
mod signer;
mod uploads;
mod web_app;

use std::sync::Arc;

use axum::Router;
use signet_core::Core;

pub use endpoint::{EndpointInfo, Scope};
pub use http::ClientIp;

/// Every operation the dialects serve, with what a caller must present.
pub fn endpoints() -> Vec<EndpointInfo> {
    endpoint::describe::<doclinc::Endpoint>()
        .chain(endpoint::describe::<dedoco::Endpoint>())
        .chain(endpoint::describe::<native::Endpoint>())
        .collect()
}

/// The renderer of tenant webhook bodies the server installs in the core. Only envelopes created
/// through doclinc ask for event webhooks today, so doclinc's words are used; when another
/// dialect's envelopes notify, this dispatches on the envelope's dialect.
pub fn notification_renderer() -> Arc<dyn signet_core::webhooks::NotificationRenderer> {
    Arc::new(doclinc::DoclincRenderer)
}

/// The renderer of sender callbacks (the Dedoco dialect's status and file callbacks).
pub fn sender_callback_renderer() -> Arc<dyn signet_core::signing::folders::SenderCallbackRenderer>
{
    Arc::new(dedoco::DedocoCallbacks)
}

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_forwarded_for: bool,
    /// The largest JSON request body accepted, in bytes.
    pub max_json_bytes: usize,
    /// doclinc token rules.
    pub doclinc: doclinc::DoclincSettings,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            trust_forwarded_for: false,
            max_json_bytes: 1024 * 1024,
            doclinc: doclinc::DoclincSettings::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The core services.
    pub core: Core,
    /// HTTP settings.
    pub settings: Arc<ApiSettings>,
    evidence: Arc<tokio::sync::OnceCell<Arc<signet_evidence::InstanceEvidence>>>,
}

impl AppState {
    /// The instance PKI and TSA, loaded (or made) on first use.
    pub(crate) async fn evidence(&self) -> anyhow::Result<Arc<signet_evidence::InstanceEvidence>> {
        self.evidence
            .get_or_try_init(|| signet_evidence::InstanceEvidence::load(&self.core))
            .await
            .cloned()
    }
}

/// The whole HTTP application: every dialect and the upload endpoint.
pub fn app(core: Core, settings: ApiSettings) -> Router {
    // Installed before the first request, so that every count is kept.
    let _ = ops::prometheus();
    let state = AppState {
        core,
        settings: Arc::new(settings),
        evidence: Arc::default(),
    };
    Router::new()
        .merge(endpoint::router::<doclinc::Endpoint>())
        .merge(endpoint::router::<dedoco::Endpoint>())
        .merge(endpoint::router::<native::Endpoint>())
        .merge(portal::router())
        .merge(signer::router())
        .merge(uploads::router())
        .layer(http::trace_layer())
        // Probes answer 503 by design while not ready: no ERROR line for each of them.
        .merge(ops::router().layer(http::trace_layer().on_failure(())))
        // Outside the trace layer, so that the span carries the request id.
        .layer(axum::middleware::from_fn(ops::observe))
        .with_state(state)
}
