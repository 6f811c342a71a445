//! doclinc's status codes and error body, mapped from core errors in one place: the default
//! status of each error's kind, and the vendor's own codes where it documents them.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use signet_core::{CoreError, ErrorKind};

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

/// The vendor's status for a core error: the default of its kind, except where doclinc
/// documents its own code (461, 463, 465, 470, and 404 for a document not yet uploaded).
fn core_status(err: &CoreError) -> (u16, &'static str, String) {
    match err {
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
        CoreError::DocumentMissing => {
            (404, "NOT FOUND", "Transaction or document not found".into())
        }
        CoreError::NotFound => (404, "NOT FOUND", "Not found".into()),
        CoreError::Invalid(message) | CoreError::StateConflict(message) => {
            let (code, name) = kind_status(err.kind());
            (code, name, message.clone())
        }
        other => {
            let (code, name) = kind_status(other.kind());
            let message = if other.kind() == ErrorKind::Unexpected {
                "Unexpected error".to_owned()
            } else {
                other.to_string()
            };
            (code, name, message)
        }
    }
}

/// The default status and its name for each kind of failure.
fn kind_status(kind: ErrorKind) -> (u16, &'static str) {
    match kind {
        ErrorKind::NotFound => (404, "NOT FOUND"),
        ErrorKind::Invalid => (400, "BAD REQUEST"),
        ErrorKind::Conflict => (409, "CONFLICT"),
        ErrorKind::Forbidden => (403, "FORBIDDEN"),
        ErrorKind::Unauthenticated => (401, "UNAUTHORIZED"),
        ErrorKind::TooLarge => (413, "PAYLOAD TOO LARGE"),
        ErrorKind::Gone => (410, "GONE"),
        ErrorKind::Unavailable => (503, "SERVICE UNAVAILABLE"),
        _ => (500, "SERVER ERROR"),
    }
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
            DoclincError::Core(err) => {
                if err.kind() == ErrorKind::Unexpected {
                    tracing::error!(error = ?err, "doclinc request failed");
                }
                core_status(&err)
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_has_a_status_of_its_kind() {
        for err in CoreError::one_of_each() {
            let unexpected = err.kind() == ErrorKind::Unexpected;
            let text = err.to_string();
            let response = DoclincError::Core(err).into_response();
            assert_eq!(
                response.status() == StatusCode::INTERNAL_SERVER_ERROR,
                unexpected,
                "{text} answered {}",
                response.status()
            );
        }
    }

    #[test]
    fn vendor_codes_stay() {
        let code = |err| DoclincError::Core(err).into_response().status().as_u16();
        assert_eq!(code(CoreError::TenantSuspended), 461);
        assert_eq!(code(CoreError::DuplicatePhone("+1".into())), 463);
        assert_eq!(code(CoreError::TooLarge { total: 2, limit: 1 }), 465);
        assert_eq!(
            code(CoreError::FeatureNotInPlan(
                signet_core::model::Feature::Sms
            )),
            470
        );
        assert_eq!(code(CoreError::DocumentMissing), 404);
        assert_eq!(code(CoreError::Expired), 410);
    }
}
