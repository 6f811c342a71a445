//! The transparency log's public endpoints. They carry no tenant data: leaf hashes commit to
//! event records by their digest only. Errors, unreadable query strings included, are the native
//! API's problem documents.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use signet_core::CoreError;

use super::{NativeError, NativeQuery};
use crate::AppState;

pub(super) fn hex0x(hash: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(hash))
}

fn text(body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/v1/ledger/checkpoint",
    operation_id = "ledgerCheckpoint",
    tag = "ledger",
    summary = "The log's latest signed checkpoint",
    responses((status = 200, description = "A C2SP signed note", body = String, content_type = "text/plain")),
)]
pub(super) async fn checkpoint(State(state): State<AppState>) -> Result<Response, NativeError> {
    Ok(text(state.core.checkpoint().await?.checkpoint))
}

#[utoipa::path(
    get,
    path = "/v1/ledger/public-key",
    operation_id = "ledgerPublicKey",
    tag = "ledger",
    summary = "The key that signs checkpoints",
    responses((status = 200, description = "A note verifier key", body = String, content_type = "text/plain")),
)]
pub(super) async fn public_key(State(state): State<AppState>) -> Result<Response, NativeError> {
    Ok(text(format!(
        "{}\n",
        state.core.ledger_verifier_key().await?
    )))
}

/// A range of leaves, `start` included, `end` excluded.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Range {
    /// The first leaf's index.
    start: u64,
    /// One past the last leaf's index.
    end: u64,
}

/// Leaf hashes from `start` on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Leaves {
    /// The first leaf's index.
    start: u64,
    /// The leaf hashes, `0x`-prefixed hex.
    leaf_hashes: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/v1/ledger/leaves",
    operation_id = "ledgerLeaves",
    tag = "ledger",
    summary = "Leaf hashes of a range",
    params(Range),
    responses(
        (status = 200, description = "The leaves", body = Leaves),
        (status = 400, description = "A bad range",
            body = super::error::Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn leaves(
    State(state): State<AppState>,
    NativeQuery(range): NativeQuery<Range>,
) -> Result<Json<Leaves>, NativeError> {
    let hashes = state.core.ledger_leaves(range.start, range.end).await?;
    Ok(Json(Leaves {
        start: range.start,
        leaf_hashes: hashes.iter().map(hex0x).collect(),
    }))
}

/// Which leaf, in which tree.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct InclusionQuery {
    /// The leaf hash (a `transaction_hash`), hex with or without `0x`.
    leaf_hash: String,
    /// The size of the tree the proof is for.
    tree_size: u64,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct InclusionOut {
    /// The leaf's index.
    pub leaf_index: u64,
    /// The tree's size.
    pub tree_size: u64,
    /// The audit path, `0x`-prefixed hex.
    pub proof: Vec<String>,
}

impl From<signet_core::ledger::InclusionProof> for InclusionOut {
    fn from(p: signet_core::ledger::InclusionProof) -> Self {
        Self {
            leaf_index: p.leaf_index,
            tree_size: p.tree_size,
            proof: p.proof.iter().map(hex0x).collect(),
        }
    }
}

fn parse_hash(text: &str) -> Result<[u8; 32], NativeError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            NativeError::Core(CoreError::Invalid("leaf_hash must be 64 hex digits".into()))
        })
}

#[utoipa::path(
    get,
    path = "/v1/ledger/proof/inclusion",
    operation_id = "ledgerInclusionProof",
    tag = "ledger",
    summary = "Inclusion proof of a leaf",
    params(InclusionQuery),
    responses(
        (status = 200, description = "The proof", body = InclusionOut),
        (status = 400, description = "A bad hash or size",
            body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such leaf in that tree",
            body = super::error::Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn inclusion(
    State(state): State<AppState>,
    NativeQuery(q): NativeQuery<InclusionQuery>,
) -> Result<Json<InclusionOut>, NativeError> {
    let hash = parse_hash(&q.leaf_hash)?;
    Ok(Json(
        state.core.inclusion_proof(&hash, q.tree_size).await?.into(),
    ))
}

/// Two tree sizes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ConsistencyQuery {
    /// The older size.
    first: u64,
    /// The newer size.
    second: u64,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct ConsistencyOut {
    /// The older size.
    first: u64,
    /// The newer size.
    second: u64,
    /// The proof, `0x`-prefixed hex.
    proof: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/v1/ledger/proof/consistency",
    operation_id = "ledgerConsistencyProof",
    tag = "ledger",
    summary = "Consistency proof between two tree sizes",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof", body = ConsistencyOut),
        (status = 400, description = "A bad range",
            body = super::error::Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn consistency(
    State(state): State<AppState>,
    NativeQuery(q): NativeQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyOut>, NativeError> {
    let proof = state.core.consistency_proof(q.first, q.second).await?;
    Ok(Json(ConsistencyOut {
        first: q.first,
        second: q.second,
        proof: proof.iter().map(hex0x).collect(),
    }))
}
