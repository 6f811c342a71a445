//! Plumbing shared by every dialect.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::Request;
use axum::http::request::Parts;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, TraceLayer};

use crate::AppState;

/// The client's address: the TCP peer, or the first `X-Forwarded-For` hop when the operator
/// said a trusted proxy sets it. `None` when neither is known (in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.settings.trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Ok(ClientIp(Some(ip)));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(peer))
    }
}

/// Spans name the route template, never the raw URI: URIs carry upload signatures and link
/// tokens that must not end up in logs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteSpan;

impl<B> MakeSpan<B> for RouteSpan {
    fn make_span(&mut self, request: &Request<B>) -> tracing::Span {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "<unmatched>".to_owned());
        let id = request
            .extensions()
            .get::<crate::ops::RequestId>()
            .map(|id| id.0.as_str())
            .unwrap_or_default();
        tracing::info_span!("request", method = %request.method(), route = %route, request_id = %id)
    }
}

pub(crate) fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RouteSpan> {
    TraceLayer::new_for_http().make_span_with(RouteSpan)
}

/// `Content-Disposition: attachment` with an ASCII fallback and the RFC 5987 UTF-8 name.
fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A stored document as a download: its real name and type, its length, never cached, never
/// sniffed, and sandboxed should a browser render it anyway.
pub(crate) fn document_response(
    doc: &signet_core::model::Document,
    content: &signet_core::model::StoredContent,
    stream: signet_core::blob::ByteStream,
) -> axum::response::Response {
    file_response(
        doc.name.as_str(),
        &content.content_type,
        content.size,
        &content.sha256.to_string(),
        stream,
    )
}

/// A stored file sent as an attachment: never rendered in the browser's origin (sandboxed,
/// no sniffing), never cached, its SHA-256 as the entity tag.
pub(crate) fn file_response(
    name: &str,
    content_type: &str,
    size: u64,
    sha256_hex: &str,
    stream: signet_core::blob::ByteStream,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse as _;
    let headers = [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CONTENT_LENGTH, size.to_string()),
        (header::CONTENT_DISPOSITION, attachment(name)),
        (header::CACHE_CONTROL, "no-store".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox".to_owned(),
        ),
        (header::ETAG, format!("\"{sha256_hex}\"")),
    ];
    (headers, axum::body::Body::from_stream(stream)).into_response()
}
