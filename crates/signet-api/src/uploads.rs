//! `PUT /uploads/{document}?expires=…&signature=…`: the signed, expiring upload URL that create
//! calls hand out (doclinc's presigned upload, and later the other dialects'). The body streams
//! straight into the blob store; nothing is buffered whole.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use futures::TryStreamExt as _;
use serde::{Deserialize, Serialize};
use signet_core::ids::DocumentId;
use signet_core::{CoreError, ErrorKind};

use crate::{AppState, ClientIp};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/uploads/{document}", put(upload))
        // The plan's size limit is enforced while streaming, by the blob store.
        .layer(DefaultBodyLimit::disable())
}

#[derive(Debug, Deserialize)]
struct Signed {
    expires: Option<i64>,
    signature: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Uploaded {
    document_id: String,
    size: u64,
    sha256: String,
    /// Left out while the upload's SHA3-256 is being computed after the answer (it always is
    /// today, see `Core::receive_upload`): never an empty or provisional value.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha3_256: Option<String>,
}

#[derive(Debug, Serialize)]
struct UploadError {
    error: &'static str,
    message: String,
}

async fn upload(
    State(state): State<AppState>,
    document: Result<Path<String>, PathRejection>,
    signed: Result<Query<Signed>, QueryRejection>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    // A URL whose path or query does not even parse was not made by us: the same answer as a
    // missing signature, in this endpoint's shape.
    let (Ok(Path(document)), Ok(Query(signed))) = (document, signed) else {
        return invalid_url();
    };
    let (Ok(document), Some(expires), Some(signature)) = (
        document.parse::<DocumentId>(),
        signed.expires,
        signed.signature,
    ) else {
        return invalid_url();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    match state
        .core
        .receive_upload(
            &document,
            expires,
            &signature,
            content_type.as_deref(),
            Box::pin(stream),
            ip,
        )
        .await
    {
        Ok(stored) => {
            let etag = format!("\"{}\"", stored.sha256);
            (
                StatusCode::OK,
                [(header::ETAG, etag)],
                Json(Uploaded {
                    document_id: document.to_string(),
                    size: stored.size,
                    sha256: stored.sha256.to_hex(),
                    sha3_256: stored.sha3_256.map(|d| d.to_hex()),
                }),
            )
                .into_response()
        }
        Err(err) => core_error(err),
    }
}

fn invalid_url() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "invalid_signature",
        "the upload URL is not valid".into(),
    )
}

/// The status and error code of a core error: the default of its kind, with the codes this
/// endpoint has always given. An expired URL is refused like a bad signature (403), as signed
/// URLs of object stores are.
fn core_error(err: CoreError) -> Response {
    let (status, code) = match &err {
        CoreError::BadSignature => (StatusCode::FORBIDDEN, "invalid_signature"),
        CoreError::Expired => (StatusCode::FORBIDDEN, "expired"),
        CoreError::AlreadyUploaded => (StatusCode::CONFLICT, "already_uploaded"),
        CoreError::StateConflict(_) => (StatusCode::CONFLICT, "not_accepting_uploads"),
        CoreError::TenantSuspended => (StatusCode::FORBIDDEN, "suspended"),
        other => match other.kind() {
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::Invalid => (StatusCode::BAD_REQUEST, "bad_request"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ErrorKind::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ErrorKind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ErrorKind::Gone => (StatusCode::GONE, "gone"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            _ => {
                tracing::error!(error = ?err, "upload failed");
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "unexpected error".into(),
                );
            }
        },
    };
    error(status, code, err.to_string())
}

fn error(status: StatusCode, code: &'static str, message: String) -> Response {
    (
        status,
        Json(UploadError {
            error: code,
            message,
        }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_has_a_status_of_its_kind() {
        for err in CoreError::one_of_each() {
            let unexpected = err.kind() == ErrorKind::Unexpected;
            let text = err.to_string();
            let response = core_error(err);
            assert_eq!(
                response.status() == StatusCode::INTERNAL_SERVER_ERROR,
                unexpected,
                "{text} answered {}",
                response.status()
            );
        }
    }
}
