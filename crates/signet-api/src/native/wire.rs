//! What the native API reads and writes: extractors that answer problem documents when a query
//! or path does not parse, and the response bodies.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
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

#[derive(Debug, Serialize)]
pub(super) struct EvidenceOut {
    pub(super) checkpoint: String,
    pub(super) tree_size: u64,
    pub(super) root_hash: String,
    pub(super) documents: Vec<DocumentEvidenceOut>,
}

#[derive(Debug, Serialize)]
pub(super) struct DocumentEvidenceOut {
    pub(super) envelope_id: String,
    pub(super) document_id: String,
    pub(super) name: String,
    pub(super) sha256: Option<String>,
    pub(super) sha3_256: Option<String>,
    pub(super) hash_chain: Vec<String>,
    pub(super) events: Vec<EventOut>,
}

#[derive(Debug, Serialize)]
pub(super) struct EventOut {
    pub(super) transaction_hash: String,
    pub(super) record: signet_core::model::Event,
    pub(super) inclusion_proof: super::ledger::InclusionOut,
}
