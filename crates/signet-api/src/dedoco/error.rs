//! Dedoco's error body `{statusCode, message, error}` for every failure (the shape NestJS
//! answers: `error` is the status's reason phrase), mapped from core errors in one place.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use signet_core::{CoreError, ErrorKind};

/// An error as Dedoco clients see it.
#[derive(Debug)]
pub enum DedocoError {
    /// 400: the body is not valid JSON, has wrong types or invalid values.
    BadRequest(String),
    /// 401: missing, forged, expired or otherwise refused credentials.
    Unauthorized,
    /// 404: no such resource for this client.
    NotFound,
    /// 413: the body is larger than accepted.
    TooLarge,
    /// 501: the operation needs a part of Signet this build does not have.
    NotImplemented(String),
    /// Anything the core answered.
    Core(CoreError),
}

impl From<CoreError> for DedocoError {
    fn from(err: CoreError) -> Self {
        DedocoError::Core(err)
    }
}

/// The body of every error.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    /// The HTTP status code.
    pub status_code: u16,
    /// What went wrong, for a person.
    pub message: String,
    /// The status's reason phrase.
    pub error: String,
}

fn kind_status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for DedocoError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            DedocoError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            DedocoError::Unauthorized => (StatusCode::UNAUTHORIZED, "Unauthorized".to_owned()),
            DedocoError::NotFound => (StatusCode::NOT_FOUND, "Not found".to_owned()),
            DedocoError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large".to_owned(),
            ),
            DedocoError::NotImplemented(message) => (StatusCode::NOT_IMPLEMENTED, message),
            DedocoError::Core(err) => {
                let status = kind_status(err.kind());
                let message = match err.kind() {
                    ErrorKind::Unexpected => {
                        tracing::error!(error = ?err, "dedoco request failed");
                        "Internal server error".to_owned()
                    }
                    ErrorKind::NotFound => "Not found".to_owned(),
                    _ => match err {
                        CoreError::Invalid(message) | CoreError::StateConflict(message) => message,
                        other => other.to_string(),
                    },
                };
                (status, message)
            }
        };
        let body = ErrorBody {
            status_code: status.as_u16(),
            message,
            error: status.canonical_reason().unwrap_or("Error").to_owned(),
        };
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_has_a_status_of_its_kind() {
        for err in CoreError::one_of_each() {
            let unexpected = err.kind() == ErrorKind::Unexpected;
            let response = DedocoError::Core(err).into_response();
            assert_eq!(
                response.status() == StatusCode::INTERNAL_SERVER_ERROR,
                unexpected
            );
        }
    }

    #[tokio::test]
    async fn the_body_is_the_vendor_shape() {
        let response = DedocoError::BadRequest("folder_name is required".into()).into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("a small body");
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(
            body,
            serde_json::json!({
                "statusCode": 400,
                "message": "folder_name is required",
                "error": "Bad Request"
            })
        );
    }
}
