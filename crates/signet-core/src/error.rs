//! What a use-case can answer besides success. Each error has a [`ErrorKind`]; dialects take
//! their default status from the kind and override only what their vendor documents, in one
//! function each.

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
    /// A document's content was deleted; its record and digests remain.
    #[error("the document's content was deleted")]
    ContentDeleted,
    /// The caller has not proved who they are (no session, or it ended).
    #[error("authentication required")]
    Unauthenticated,
    /// A value of a request is invalid; `field` names it the way the request did (e.g.
    /// `participants[1].after`), so that a client can point at it.
    #[error("{field}: {message}")]
    InvalidField {
        /// Where in the request.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The signing lifecycle refused the act (a final envelope, not the participant's turn, a
    /// field that is not theirs, …). The envelope is unchanged.
    #[error("{0}")]
    Refused(crate::signing::Refusal),
    /// Something failed that the caller could not have caused.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What kind of failure an error is: the one thing a dialect needs to pick its default status.
/// Dialects override the default only where their vendor documents something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The thing does not exist (or is another tenant's).
    NotFound,
    /// The request is malformed or a value is invalid.
    Invalid,
    /// The thing's current state does not allow the request.
    Conflict,
    /// The caller is known but may not do this (suspended tenant, plan, bad URL signature).
    Forbidden,
    /// The caller has not proved who they are.
    Unauthenticated,
    /// The content is larger than allowed.
    TooLarge,
    /// The thing existed but is no longer usable (an expired URL or link).
    Gone,
    /// A service the request needs is not available now; retrying later may work.
    Unavailable,
    /// Something failed that the caller could not have caused.
    Unexpected,
}

impl CoreError {
    /// The kind of failure, from which every dialect takes its default status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::NotFound => ErrorKind::NotFound,
            CoreError::Invalid(_) | CoreError::DuplicatePhone(_) => ErrorKind::Invalid,
            CoreError::TenantSuspended
            | CoreError::FeatureNotInPlan(_)
            | CoreError::BadSignature => ErrorKind::Forbidden,
            CoreError::TooLarge { .. } => ErrorKind::TooLarge,
            CoreError::DocumentMissing
            | CoreError::StateConflict(_)
            | CoreError::AlreadyUploaded => ErrorKind::Conflict,
            CoreError::Expired | CoreError::ContentDeleted => ErrorKind::Gone,
            CoreError::Unauthenticated => ErrorKind::Unauthenticated,
            CoreError::InvalidField { .. } => ErrorKind::Invalid,
            CoreError::Refused(refusal) => refusal_kind(refusal),
            CoreError::Unexpected(_) => ErrorKind::Unexpected,
        }
    }

    /// One error of every variant, for the dialects' tests that each maps to a status of its
    /// kind. The match below has no wildcard: a new variant does not compile until it is added
    /// here (and to [`CoreError::kind`]), so no dialect can miss it.
    #[doc(hidden)]
    pub fn one_of_each() -> Vec<CoreError> {
        let mut all = Vec::new();
        let mut next = Some(CoreError::NotFound);
        while let Some(error) = next {
            next = match &error {
                CoreError::NotFound => Some(CoreError::Invalid("a field is wrong".into())),
                CoreError::Invalid(_) => Some(CoreError::TenantSuspended),
                CoreError::TenantSuspended => Some(CoreError::FeatureNotInPlan(Feature::Voice)),
                CoreError::FeatureNotInPlan(_) => {
                    Some(CoreError::DuplicatePhone("+33612345678".into()))
                }
                CoreError::DuplicatePhone(_) => Some(CoreError::TooLarge { total: 2, limit: 1 }),
                CoreError::TooLarge { .. } => Some(CoreError::DocumentMissing),
                CoreError::DocumentMissing => Some(CoreError::StateConflict("conflict".into())),
                CoreError::StateConflict(_) => Some(CoreError::BadSignature),
                CoreError::BadSignature => Some(CoreError::Expired),
                CoreError::Expired => Some(CoreError::AlreadyUploaded),
                CoreError::AlreadyUploaded => Some(CoreError::ContentDeleted),
                CoreError::ContentDeleted => Some(CoreError::Unauthenticated),
                CoreError::Unauthenticated => Some(CoreError::InvalidField {
                    field: "participants[0].email".into(),
                    message: "not an e-mail address".into(),
                }),
                CoreError::InvalidField { .. } => Some(CoreError::Refused(
                    crate::signing::Refusal::Closed(crate::signing::EnvelopeStatus::Voided),
                )),
                CoreError::Refused(_) => {
                    Some(CoreError::Unexpected(anyhow::anyhow!("a disk failed")))
                }
                CoreError::Unexpected(_) => None,
            };
            all.push(error);
        }
        all
    }
}

/// The kind of a lifecycle refusal: a bad value is the request's fault, an unknown participant
/// is not found, everything else is the envelope's state.
fn refusal_kind(refusal: &crate::signing::Refusal) -> ErrorKind {
    use crate::signing::Refusal as R;
    match refusal {
        R::UnknownParticipant => ErrorKind::NotFound,
        R::UnknownField(_) | R::BadValue { .. } | R::FieldsMissing { .. } | R::NoConsent => {
            ErrorKind::Invalid
        }
        R::NotYourField(_) | R::RoleCannot { .. } => ErrorKind::Forbidden,
        _ => ErrorKind::Conflict,
    }
}

impl From<crate::signing::Refusal> for CoreError {
    fn from(refusal: crate::signing::Refusal) -> Self {
        CoreError::Refused(refusal)
    }
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
            // A replayed token: the caller has not proved who they are with this request.
            crate::store::StoreError::TokenIdUsed => CoreError::Unauthenticated,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_is_listed_once_and_only_unexpected_is_unexpected() {
        let all = CoreError::one_of_each();
        let mut seen: Vec<std::mem::Discriminant<CoreError>> = Vec::new();
        for error in &all {
            let d = std::mem::discriminant(error);
            assert!(!seen.contains(&d), "{error:?} listed twice");
            seen.push(d);
            assert_eq!(
                error.kind() == ErrorKind::Unexpected,
                matches!(error, CoreError::Unexpected(_)),
                "{error:?}"
            );
        }
        assert_eq!(all.len(), 16);
    }

    #[test]
    fn store_and_blob_errors_keep_their_kind() {
        let missing: CoreError = crate::store::StoreError::NotFound.into();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        let big: CoreError = crate::blob::BlobError::TooLarge { limit: 5 }.into();
        assert_eq!(big.kind(), ErrorKind::TooLarge);
    }
}
