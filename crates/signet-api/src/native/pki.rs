//! What is served from the instance PKI (`signet-evidence`): the root certificate, its CRL and
//! an RFC 3161 time-stamp authority.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// The largest time-stamp query read (a real one is under 200 bytes).
pub(super) const MAX_TIMESTAMP_QUERY_BYTES: usize = 64 * 1024;

fn internal(err: anyhow::Error) -> Response {
    super::NativeError::Core(signet_core::CoreError::Unexpected(err)).into_response()
}

#[utoipa::path(
    get,
    path = "/v1/pki/root.pem",
    operation_id = "pkiRoot",
    tag = "pki",
    summary = "The instance's root certificate",
    description = "The CA that issues signers' and the seal's certificates; trust it to validate \
                   Signet's signatures.",
    responses((status = 200, description = "PEM", body = String, content_type = "application/x-pem-file")),
)]
pub(super) async fn root(State(state): State<AppState>) -> Response {
    match state.evidence().await {
        Ok(e) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            e.pki.root_cert.to_pem(),
        )
            .into_response(),
        Err(err) => internal(err),
    }
}

#[utoipa::path(
    get,
    path = "/v1/pki/crl",
    operation_id = "pkiCrl",
    tag = "pki",
    summary = "The root's current certificate revocation list",
    responses((status = 200, description = "DER", content(("application/pkix-crl")))),
)]
pub(super) async fn crl(State(state): State<AppState>) -> Response {
    match state.evidence().await.and_then(|e| e.current_crl()) {
        Ok(der) => ([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response(),
        Err(err) => internal(err),
    }
}

#[utoipa::path(
    post,
    path = "/v1/tsa",
    operation_id = "timestamp",
    tag = "pki",
    summary = "RFC 3161 time-stamp authority",
    request_body(description = "A DER TimeStampReq", content(("application/timestamp-query"))),
    responses(
        (status = 200, description = "A DER TimeStampResp (a malformed query gets a rejection \
                                       reply)", content(("application/timestamp-reply"))),
        (status = 413, description = "Larger than 64 KiB",
            body = super::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/timestamp-query",
            body = super::error::Problem, content_type = "application/problem+json"),
    ),
)]
/// RFC 3161 over HTTP: `application/timestamp-query` in, `application/timestamp-reply` out.
/// Malformed queries get a DER rejection reply (status 200, as RFC 3161 §3.4 has it).
pub(super) async fn timestamp(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/timestamp-query") {
        return super::NativeError::UnsupportedMediaType("expected application/timestamp-query")
            .into_response();
    }
    // Refused on the announced length before a byte is read, and cut off while reading when no
    // length was announced: this endpoint needs no credentials.
    let too_large = || super::NativeError::TooLarge("time-stamp query too large").into_response();
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_TIMESTAMP_QUERY_BYTES as u64) {
        return too_large();
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_TIMESTAMP_QUERY_BYTES).await else {
        return too_large();
    };
    match state.evidence().await {
        Ok(e) => {
            let reply = tokio::task::spawn_blocking(move || e.tsa.respond(&body)).await;
            match reply {
                Ok(reply) => (
                    [(header::CONTENT_TYPE, "application/timestamp-reply")],
                    reply,
                )
                    .into_response(),
                Err(err) => internal(anyhow::anyhow!(err)),
            }
        }
        Err(err) => internal(err),
    }
}
