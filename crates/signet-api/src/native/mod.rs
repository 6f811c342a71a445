//! Signet's own API, under `/v1`. Authentication is HTTP Basic with the tenant id as user name
//! and the API key as password (`curl -u TENANT:KEY`); errors are RFC 9457 problem documents.

mod error;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use secrecy::ExposeSecret as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use signet_core::CoreError;
use signet_core::crypto::constant_time_eq;
use signet_core::ids::{DocumentId, TenantId};
use signet_core::model::Actor;
use signet_core::service::Caller;

pub(crate) use error::NativeError;

use crate::{AppState, ClientIp};

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

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/documents/{id}/content", get(download_document))
        .route("/v1/evidence/documents/{digest}", get(document_evidence))
        // Reads only: a request that carries a body is refused before it is read.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(0))
}

/// A tenant authenticated with HTTP Basic.
pub(crate) struct NativeCaller(pub Caller);

impl FromRequestParts<AppState> for NativeCaller {
    type Rejection = NativeError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        let credentials = crate::auth_header::credentials(&parts.headers, "Basic")
            .and_then(|b64| {
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
            })
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(NativeError::Unauthorized)?;
        let (id, key) = credentials
            .split_once(':')
            .ok_or(NativeError::Unauthorized)?;
        let id: TenantId = id.parse().map_err(|_| NativeError::Unauthorized)?;
        let (tenant, api_key) = state
            .core
            .tenant_with_key(&id)
            .await?
            .ok_or(NativeError::Unauthorized)?;
        if !constant_time_eq(api_key.expose_secret().as_bytes(), key.as_bytes()) {
            return Err(NativeError::Unauthorized);
        }
        Ok(NativeCaller(Caller {
            actor: Actor::Tenant {
                tenant_id: tenant.id.to_upper_hex(),
                dialect: "native".into(),
                credential: None,
            },
            tenant,
            ip,
        }))
    }
}

async fn download_document(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
) -> Result<Response, NativeError> {
    let id: DocumentId = id
        .parse()
        .map_err(|_| NativeError::Core(CoreError::NotFound))?;
    let (doc, content, stream) = state.core.document_content(&caller, &id).await?;
    Ok(crate::http::document_response(&doc, &content, stream))
}

#[derive(Debug, Serialize)]
struct EvidenceOut {
    checkpoint: String,
    tree_size: u64,
    root_hash: String,
    documents: Vec<DocumentEvidenceOut>,
}

#[derive(Debug, Serialize)]
struct DocumentEvidenceOut {
    envelope_id: String,
    document_id: String,
    name: String,
    sha256: Option<String>,
    sha3_256: Option<String>,
    hash_chain: Vec<String>,
    events: Vec<EventOut>,
}

#[derive(Debug, Serialize)]
struct EventOut {
    transaction_hash: String,
    record: signet_core::model::Event,
    inclusion_proof: crate::ledger::InclusionOut,
}

/// `GET /v1/evidence/documents/{sha256 or sha3-256 hex}`: the caller's documents with that hash,
/// their events, each with its inclusion proof in the returned checkpoint.
async fn document_evidence(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(digest): NativePath<String>,
) -> Result<Json<EvidenceOut>, NativeError> {
    let (documents, head) = state.core.document_evidence(&caller, &digest).await?;
    if documents.is_empty() {
        return Err(NativeError::Core(CoreError::NotFound));
    }
    Ok(Json(EvidenceOut {
        checkpoint: head.checkpoint,
        tree_size: head.tree_size,
        root_hash: crate::ledger::hex0x(&head.root_hash),
        documents: documents
            .into_iter()
            .map(|d| DocumentEvidenceOut {
                envelope_id: d.envelope_id.to_string(),
                document_id: d.document_id.to_string(),
                name: d.name,
                sha256: d.sha256.map(|h| h.to_hex()),
                sha3_256: d.sha3_256.map(|h| h.to_hex()),
                hash_chain: d.hash_chain.iter().map(|h| h.to_hex()).collect(),
                events: d
                    .events
                    .into_iter()
                    .map(|e| EventOut {
                        transaction_hash: crate::ledger::hex0x(&e.leaf_hash),
                        record: e.event,
                        inclusion_proof: e.proof.into(),
                    })
                    .collect(),
            })
            .collect(),
    }))
}
