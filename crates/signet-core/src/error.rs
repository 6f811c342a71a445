//! What a use-case can answer besides success. Dialects map each variant to their vendor's status
//! code and error body, in one function each.

use crate::model::Feature;
use crate::values::InvalidValue;

/// A use-case failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The thing does not exist, or belongs to another tenant (never said apart).
    #[error("not found")]
    NotFound,
    /// The request is malformed or a value is invalid.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The tenant is suspended.
    #[error("the tenant is suspended")]
    TenantSuspended,
    /// The tenant's plan lacks a feature the request needs.
    #[error("the plan does not include {}", .0.name())]
    FeatureNotInPlan(Feature),
    /// Two participants were given the same phone number.
    #[error("phone number {0} appears more than once")]
    DuplicatePhone(String),
    /// The envelope's documents exceed the plan's total size.
    #[error("documents total {total} bytes, the plan allows {limit}")]
    TooLarge {
        /// Total size.
        total: u64,
        /// Allowed size.
        limit: u64,
    },
    /// A document must be uploaded first.
    #[error("a document has not been uploaded")]
    DocumentMissing,
    /// The envelope's state does not allow this.
    #[error("{0}")]
    StateConflict(String),
    /// A signed URL's signature is wrong or it was tampered with.
    #[error("the URL signature is invalid")]
    BadSignature,
    /// A signed URL or link has expired.
    #[error("the URL has expired")]
    Expired,
    /// A single-use upload URL was used again.
    #[error("the document was already uploaded")]
    AlreadyUploaded,
    /// The caller has not proved who they are (no session, or it ended).
    #[error("authentication required")]
    Unauthenticated,
    /// Something failed that the caller could not have caused.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<InvalidValue> for CoreError {
    fn from(err: InvalidValue) -> Self {
        CoreError::Invalid(err.to_string())
    }
}

impl From<crate::store::StoreError> for CoreError {
    fn from(err: crate::store::StoreError) -> Self {
        match err {
            crate::store::StoreError::NotFound => CoreError::NotFound,
            other => CoreError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl From<crate::blob::BlobError> for CoreError {
    fn from(err: crate::blob::BlobError) -> Self {
        use crate::blob::BlobError;
        match err {
            BlobError::TooLarge { limit } => CoreError::TooLarge {
                total: limit.saturating_add(1),
                limit,
            },
            BlobError::NotFound => CoreError::NotFound,
            BlobError::Body(e) => CoreError::Invalid(format!("reading the body failed: {e}")),
            other => CoreError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// The result of a use-case.
pub type CoreResult<T> = Result<T, CoreError>;
