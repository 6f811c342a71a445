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

#[utoipa::path(
    get,
    path = "/v1/documents/{id}/content",
    operation_id = "downloadDocument",
    tag = "documents",
    summary = "Download a document's bytes",
    description = "A library document, or a document of a delivery envelope, as an attachment; \
                   its SHA-256 is the entity tag.",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 200, description = "The bytes, with the document's media type",
            content(("application/pdf"), ("application/octet-stream"))),
        (status = 404, description = "No such document of the caller's",
            body = super::error::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The bytes were deleted",
            body = super::error::Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `GET /v1/documents/{id}/content`.
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

#[utoipa::path(
    get,
    path = "/v1/evidence/documents/{digest}",
    operation_id = "documentEvidence",
    tag = "evidence",
    summary = "Evidence of a document by its hash",
    params(("digest" = String, Path, description = "SHA-256 or SHA3-256 of the document, hex")),
    responses(
        (status = 200, description = "The caller's documents with that hash and their events, \
                                       each with an inclusion proof", body = EvidenceOut),
        (status = 400, description = "Not a digest",
            body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No document of the caller's has that hash",
            body = super::error::Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
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
