//! What the native API reads and writes: extractors that answer problem documents when a query
//! or path does not parse, and the response bodies.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::NativeError;
use crate::AppState;

/// A query string parsed into `T`; one that does not parse answers a problem document.
pub(crate) struct NativeQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for NativeQuery<T> {
    type Rejection = NativeError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| NativeQuery(value))
            .map_err(|e| NativeError::BadRequest(crate::rejection::query_text(&e)))
    }
}

/// Path parameters parsed into `T`; a path that does not decode answers a problem document.
pub(crate) struct NativePath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for NativePath<T> {
    type Rejection = NativeError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| NativePath(value))
            .map_err(|e| NativeError::BadRequest(crate::rejection::path_text(&e)))
    }
}

/// A JSON body parsed into `T`: read up to the configured size (a larger one answers 413),
/// refused with 415 when it says it is something else than JSON, and with a 400 problem saying
/// where when it is not JSON or not the expected JSON. Never a panic, whatever the bytes.
pub(crate) struct NativeJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for NativeJson<T> {
    type Rejection = NativeError;

    async fn from_request(
        request: Request<Body>,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let declared = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or_default().to_ascii_lowercase());
        if let Some(declared) = declared {
            let essence = declared.split(';').next().unwrap_or_default().trim();
            if essence != "application/json" && !essence.ends_with("+json") {
                return Err(NativeError::UnsupportedMediaType(
                    "expected application/json",
                ));
            }
        }
        let limit = state.settings.max_json_bytes;
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| NativeError::TooLarge("the JSON body is too large"))?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let message = crate::rejection::json_text(e.inner());
            // A syntax error, or a type error at the top, has no member to name.
            if path == "." || e.inner().is_syntax() || e.inner().is_eof() {
                NativeError::BadRequest(format!("the body is not the expected JSON: {message}"))
            } else {
                NativeError::InvalidField {
                    field: path,
                    message,
                }
            }
        })?;
        // Trailing bytes after the value are as malformed as a missing brace.
        deserializer.end().map_err(|e| {
            NativeError::BadRequest(format!(
                "the body is not the expected JSON: {}",
                crate::rejection::json_text(&e)
            ))
        })?;
        Ok(NativeJson(value))
    }
}

/// The request's `Idempotency-Key`, if it has one; one that is not text is refused.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, NativeError> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| NativeError::InvalidField {
                    field: "Idempotency-Key".into(),
                    message: "visible ASCII characters only".into(),
                })
        })
        .transpose()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct EvidenceOut {
    /// The signed checkpoint (C2SP tlog format) the proofs lead to.
    pub(super) checkpoint: String,
    /// The log's size at that checkpoint.
    pub(super) tree_size: u64,
    /// The log's root hash at that checkpoint, `0x`-prefixed hex.
    pub(super) root_hash: String,
    /// The caller's documents with the hash.
    pub(super) documents: Vec<DocumentEvidenceOut>,
}

/// One document with the hash, and its history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct DocumentEvidenceOut {
    /// The envelope it belongs to.
    pub(super) envelope_id: String,
    /// Its id.
    pub(super) document_id: String,
    /// Its file name.
    pub(super) name: String,
    /// SHA-256, hex.
    pub(super) sha256: Option<String>,
    /// SHA3-256, hex.
    pub(super) sha3_256: Option<String>,
    /// The digests of the versions it came from, oldest first.
    pub(super) hash_chain: Vec<String>,
    /// Its events, in order.
    pub(super) events: Vec<EventOut>,
}

/// A logged event with its proof.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct EventOut {
    /// The event's leaf hash in the log, `0x`-prefixed hex.
    pub(super) transaction_hash: String,
    /// The event record whose digest is the leaf.
    #[schema(value_type = Object)]
    pub(super) record: signet_core::model::Event,
    /// Its inclusion proof in the returned checkpoint.
    pub(super) inclusion_proof: super::ledger::InclusionOut,
}
