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

pub(super) async fn checkpoint(State(state): State<AppState>) -> Result<Response, NativeError> {
    Ok(text(state.core.checkpoint().await?.checkpoint))
}

pub(super) async fn public_key(State(state): State<AppState>) -> Result<Response, NativeError> {
    Ok(text(format!(
        "{}\n",
        state.core.ledger_verifier_key().await?
    )))
}

#[derive(Debug, Deserialize)]
pub(super) struct Range {
    start: u64,
    end: u64,
}

#[derive(Debug, Serialize)]
pub(super) struct Leaves {
    start: u64,
    leaf_hashes: Vec<String>,
}

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

#[derive(Debug, Deserialize)]
pub(super) struct InclusionQuery {
    leaf_hash: String,
    tree_size: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct InclusionOut {
    pub leaf_index: u64,
    pub tree_size: u64,
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

pub(super) async fn inclusion(
    State(state): State<AppState>,
    NativeQuery(q): NativeQuery<InclusionQuery>,
) -> Result<Json<InclusionOut>, NativeError> {
    let hash = parse_hash(&q.leaf_hash)?;
    Ok(Json(
        state.core.inclusion_proof(&hash, q.tree_size).await?.into(),
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct ConsistencyQuery {
    first: u64,
    second: u64,
}

#[derive(Debug, Serialize)]
pub(super) struct ConsistencyOut {
    first: u64,
    second: u64,
    proof: Vec<String>,
}

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
