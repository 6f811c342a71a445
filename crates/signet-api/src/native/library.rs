//! The tenant's document library: `POST /v1/documents` (raw body; `Content-Type` gives the media
//! type, `?name=` the file name), `GET /v1/documents/{id}`, `DELETE /v1/documents/{id}`; the
//! bytes at `GET /v1/documents/{id}/content` (`documents.rs`).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt as _;
use serde::{Deserialize, Serialize};
use signet_core::CoreError;
use signet_core::ids::DocumentId;
use signet_core::signing::NewLibraryDocument;
use signet_core::signing::library::{LibraryDocument, MediaType, StoredLibraryDocument};
use signet_core::values::DocumentName;
use time::format_description::well_known::Rfc3339;

use super::NativeError;
use super::auth::NativeCaller;
use super::wire::{NativePath, NativeQuery};
use crate::AppState;

/// The query of an upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UploadQuery {
    /// The file name (no path), e.g. `contract.pdf`.
    name: String,
}

/// A library document as the native API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct LibraryDocumentOut {
    /// Its id.
    id: String,
    /// The file name.
    name: String,
    /// Size in bytes.
    size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    sha256: String,
    /// SHA3-256 of the bytes, lower-case hex.
    sha3_256: String,
    /// The media type, e.g. `application/pdf`.
    media_type: String,
    /// Number of pages of a PDF; `null` for other files (kept for viewing only).
    pages: Option<u32>,
    /// `original`, or the kind of derived version (stamped, signed, sealed, …).
    kind: &'static str,
    /// The version it was derived from.
    derived_from: Option<String>,
    /// When it was stored (RFC 3339).
    created_at: String,
    /// Whether its bytes were deleted (the record and digests stay as evidence).
    deleted: bool,
}

impl LibraryDocumentOut {
    pub(crate) fn new(document: &LibraryDocument, deleted: bool) -> Self {
        Self {
            id: document.id.to_string(),
            name: document.name.as_str().to_owned(),
            size: document.size,
            sha256: document.sha256.to_hex(),
            sha3_256: document.sha3_256.to_hex(),
            media_type: document.media_type.as_str().to_owned(),
            pages: document.pages,
            kind: document.kind.as_str(),
            derived_from: document.derived_from.map(|id| id.to_string()),
            created_at: document.created_at.format(&Rfc3339).unwrap_or_default(),
            deleted,
        }
    }
}

fn invalid(field: &str, problem: impl std::fmt::Display) -> NativeError {
    NativeError::Core(CoreError::Invalid(format!("{field}: {problem}")))
}

fn document_id(id: &str) -> Result<DocumentId, NativeError> {
    id.parse()
        .map_err(|_| NativeError::Core(CoreError::NotFound))
}

#[utoipa::path(
    post,
    path = "/v1/documents",
    operation_id = "uploadDocument",
    tag = "documents",
    summary = "Add a document to the library",
    params(UploadQuery, super::openapi::IdempotencyKey),
    request_body(
        description = "The file's bytes; `Content-Type` gives its media type. A PDF must be one \
                       that can be signed (not encrypted, with pages).",
        content(("application/pdf"), ("application/octet-stream"))
    ),
    responses(
        (status = 201, description = "Stored", body = LibraryDocumentOut,
            headers(("Location" = String, description = "The document's URL"))),
        (status = 400, description = "A bad name or media type, or a PDF that cannot be signed",
            body = super::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The Idempotency-Key was used for a different request",
            body = super::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the plan allows",
            body = super::error::Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `POST /v1/documents?name=…`: stores the body (streamed, never held whole) → 201. With an
/// `Idempotency-Key`, a repeat of the same request answers the same document.
pub(super) async fn upload(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativeQuery(query): NativeQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, NativeError> {
    let name: DocumentName = query.name.parse().map_err(|e| invalid("name", e))?;
    let media_type: MediaType = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| invalid("Content-Type", "required (e.g. application/pdf)"))?
        .parse()
        .map_err(|e| invalid("Content-Type", e))?;
    let idempotency_key = super::wire::idempotency_key(&headers)?;
    let ip = caller.ip;
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let document = state
        .core
        .add_library_document(
            &caller,
            NewLibraryDocument {
                name,
                media_type,
                ip,
                idempotency_key,
            },
            Box::pin(stream),
        )
        .await?;
    let location = format!("/v1/documents/{}", document.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(LibraryDocumentOut::new(&document, false)),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/v1/documents/{id}",
    operation_id = "showDocument",
    tag = "documents",
    summary = "Show a library document",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 200, description = "The document", body = LibraryDocumentOut),
        (status = 404, description = "No such document of the caller's",
            body = super::error::Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `GET /v1/documents/{id}`.
pub(super) async fn show(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
) -> Result<Json<LibraryDocumentOut>, NativeError> {
    let StoredLibraryDocument { document, blob, .. } = state
        .core
        .library_document(&caller, &document_id(&id)?)
        .await?;
    Ok(Json(LibraryDocumentOut::new(&document, blob.is_none())))
}

#[utoipa::path(
    delete,
    path = "/v1/documents/{id}",
    operation_id = "deleteDocument",
    tag = "documents",
    summary = "Delete a library document's bytes",
    description = "The bytes are deleted; the record and its digests stay as evidence.",
    params(("id" = String, Path, description = "The document's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such document, or already deleted",
            body = super::error::Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `DELETE /v1/documents/{id}`: deletes the bytes; the record and its digests stay → 204.
pub(super) async fn delete(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
) -> Result<StatusCode, NativeError> {
    let ip = caller.ip;
    state
        .core
        .delete_library_document(&caller, &document_id(&id)?, ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The bytes of a library document, or `None` when the tenant has no library document with that
/// id (it may be an envelope's document).
pub(super) async fn content(
    state: &AppState,
    caller: &signet_core::service::Caller,
    id: &DocumentId,
) -> Result<Option<Response>, NativeError> {
    match state.core.library_document_content(caller, id).await {
        Ok((document, stream)) => Ok(Some(crate::http::file_response(
            document.name.as_str(),
            document.media_type.as_str(),
            document.size,
            &document.sha256.to_hex(),
            stream,
        ))),
        Err(CoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
