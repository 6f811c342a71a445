//! doclinc's status codes and error body, mapped from core errors in one place.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use signet_core::CoreError;

/// An error as doclinc clients see it.
#[derive(Debug)]
pub enum DoclincError {
    /// 400: the body is not valid JSON or has invalid values.
    BadRequest(String),
    /// 401: the token was refused.
    Unauthorized,
    /// 413: the body is larger than accepted.
    TooLarge,
    /// Anything the core answered.
    Core(CoreError),
}

impl From<CoreError> for DoclincError {
    fn from(err: CoreError) -> Self {
        DoclincError::Core(err)
    }
}

/// The JSON error body: the vendor's status code and name, and a human description.
#[derive(Debug, Serialize)]
struct ErrorBody {
    code: u16,
    status: &'static str,
    message: String,
}

fn status(code: u16) -> StatusCode {
    // Only codes in the vendor's tables are passed here, all in the valid 100..=999 range.
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for DoclincError {
    fn into_response(self) -> Response {
        let (code, name, message) = match self {
            DoclincError::BadRequest(message) => (400, "BAD REQUEST", message),
            DoclincError::Unauthorized => (401, "UNAUTHORIZED", "Invalid authorization".into()),
            DoclincError::TooLarge => (
                413,
                "PAYLOAD TOO LARGE",
                "The request body is too large".into(),
            ),
            DoclincError::Core(err) => match err {
                CoreError::Invalid(message) => (400, "BAD REQUEST", message),
                CoreError::NotFound => (404, "NOT FOUND", "Not found".into()),
                CoreError::DocumentMissing => {
                    (404, "NOT FOUND", "Transaction or document not found".into())
                }
                CoreError::TenantSuspended => (461, "INVALID SUB", "Invalid subscription".into()),
                CoreError::DuplicatePhone(_) => (
                    463,
                    "DUPLICATE",
                    "Duplicate phone number in the list".into(),
                ),
                CoreError::TooLarge { total, limit } => (
                    465,
                    "DOCUMENT SIZE EXCEEDED",
                    format!("Total document size exceeded: {total} bytes, the plan allows {limit}"),
                ),
                CoreError::FeatureNotInPlan(feature) => (
                    470,
                    "FEATURE NOT AVAILABLE",
                    format!("Feature not included in your plan: {}", feature.name()),
                ),
                CoreError::StateConflict(message) => (409, "CONFLICT", message),
                other => {
                    tracing::error!(error = ?other, "doclinc request failed");
                    (500, "SERVER ERROR", "Unexpected error".into())
                }
            },
        };
        (
            status(code),
            Json(ErrorBody {
                code,
                status: name,
                message,
            }),
        )
            .into_response()
    }
}
