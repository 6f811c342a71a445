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
#[derive(Debug, Deserialize)]
pub(super) struct UploadQuery {
    name: String,
}

/// A library document as the native API shows it.
#[derive(Debug, Serialize)]
pub(super) struct LibraryDocumentOut {
    id: String,
    name: String,
    size: u64,
    sha256: String,
    sha3_256: String,
    media_type: String,
    pages: Option<u32>,
    kind: &'static str,
    derived_from: Option<String>,
    created_at: String,
    deleted: bool,
}

impl LibraryDocumentOut {
    fn new(document: &LibraryDocument, deleted: bool) -> Self {
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
    let idempotency_key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| invalid("Idempotency-Key", "visible ASCII characters only"))
        })
        .transpose()?;
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

/// `GET /v1/documents/{id}`.
pub(super) async fn show(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
) -> Result<Json<LibraryDocumentOut>, NativeError> {
    let StoredLibraryDocument { document, blob } = state
        .core
        .library_document(&caller, &document_id(&id)?)
        .await?;
    Ok(Json(LibraryDocumentOut::new(&document, blob.is_none())))
}

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
