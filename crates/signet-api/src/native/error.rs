//! The native API's errors as RFC 9457 problem documents (`application/problem+json`), mapped
//! from core errors in one place: the status of each error's kind, a problem type per kind, and
//! a type of its own for a suspended tenant. The ledger and PKI endpoints answer the same way.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use signet_core::{CoreError, ErrorKind};

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Problem {
    /// A URI naming the kind of problem, e.g. `https://signet.dev/problems/invalid-request`.
    #[serde(rename = "type")]
    kind: String,
    /// A short summary of the kind of problem.
    title: &'static str,
    /// The HTTP status code.
    status: u16,
    /// What went wrong with this request, for a human.
    detail: String,
    /// The request member at fault, as a path into the request body (`participants[1].after`)
    /// or the name of a header or query parameter, when the problem is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

/// A native API error.
#[derive(Debug)]
pub(crate) enum NativeError {
    /// No credentials, or wrong ones.
    Unauthorized,
    /// The request could not be read (query string, path); the text is for the client.
    BadRequest(String),
    /// One member of the request is wrong: its path (`participants[1].email`) and what is wrong.
    InvalidField {
        /// Where in the request.
        field: String,
        /// What is wrong, for the client.
        message: String,
    },
    /// The body's media type is not the one the endpoint takes.
    UnsupportedMediaType(&'static str),
    /// The body is larger than the endpoint takes.
    TooLarge(&'static str),
    /// Anything the core answered.
    Core(CoreError),
}

impl From<CoreError> for NativeError {
    fn from(err: CoreError) -> Self {
        NativeError::Core(err)
    }
}

/// Status, problem type slug and title of each kind of failure.
fn kind_problem(kind: ErrorKind) -> (StatusCode, &'static str, &'static str) {
    match kind {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
        ErrorKind::Invalid => (
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
        ),
        ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict", "Conflict"),
        ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
        ErrorKind::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
        ErrorKind::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Content too large",
        ),
        ErrorKind::Gone => (StatusCode::GONE, "gone", "Gone"),
        ErrorKind::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        ),
    }
}

impl IntoResponse for NativeError {
    fn into_response(self) -> Response {
        let mut field = None;
        let (status, slug, title, detail) = match self {
            NativeError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                "missing or invalid credentials".to_owned(),
            ),
            NativeError::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
                detail,
            ),
            NativeError::InvalidField { field: at, message }
            | NativeError::Core(CoreError::InvalidField { field: at, message }) => {
                let detail = format!("{at}: {message}");
                field = Some(at);
                (
                    StatusCode::BAD_REQUEST,
                    "invalid-request",
                    "Invalid request",
                    detail,
                )
            }
            NativeError::UnsupportedMediaType(detail) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                detail.to_owned(),
            ),
            NativeError::TooLarge(detail) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Content too large",
                detail.to_owned(),
            ),
            NativeError::Core(CoreError::TenantSuspended) => (
                StatusCode::FORBIDDEN,
                "tenant-suspended",
                "Tenant suspended",
                CoreError::TenantSuspended.to_string(),
            ),
            NativeError::Core(err) => {
                let (status, slug, title) = kind_problem(err.kind());
                let detail = if err.kind() == ErrorKind::Unexpected {
                    tracing::error!(error = ?err, "native request failed");
                    "unexpected error".to_owned()
                } else {
                    err.to_string()
                };
                (status, slug, title, detail)
            }
        };
        let problem = Problem {
            kind: format!("https://signet.dev/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail,
            field,
        };
        let mut response = (status, Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"signet\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_has_a_problem_of_its_kind() {
        for err in CoreError::one_of_each() {
            let kind = err.kind();
            let text = err.to_string();
            let response = NativeError::Core(err).into_response();
            assert_eq!(
                response.status() == StatusCode::INTERNAL_SERVER_ERROR,
                kind == ErrorKind::Unexpected,
                "{text} answered {}",
                response.status()
            );
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
        }
    }
}
