//! Documents and their evidence, for the tenant that sent them.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use signet_core::CoreError;
use signet_core::ids::DocumentId;

use super::NativeError;
use super::auth::NativeCaller;
use super::wire::{DocumentEvidenceOut, EventOut, EvidenceOut, NativePath};
use crate::AppState;

pub(super) async fn download_document(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
) -> Result<Response, NativeError> {
    let id: DocumentId = id
        .parse()
        .map_err(|_| NativeError::Core(CoreError::NotFound))?;
    if let Some(response) = super::library::content(&state, &caller, &id).await? {
        return Ok(response);
    }
    let (doc, content, stream) = state.core.document_content(&caller, &id).await?;
    Ok(crate::http::document_response(&doc, &content, stream))
}

/// `GET /v1/evidence/documents/{sha256 or sha3-256 hex}`: the caller's documents with that hash,
/// their events, each with its inclusion proof in the returned checkpoint.
pub(super) async fn document_evidence(
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
        root_hash: super::ledger::hex0x(&head.root_hash),
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
                        transaction_hash: super::ledger::hex0x(&e.leaf_hash),
                        record: e.event,
                        inclusion_proof: e.proof.into(),
                    })
                    .collect(),
            })
            .collect(),
    }))
}
