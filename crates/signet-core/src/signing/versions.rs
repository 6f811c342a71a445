//! The versions an envelope makes of its documents: each signer's act derives a signed version
//! from the document's current one, completion derives the sealed version, and the completion
//! certificate is a document of its own. Versions are library documents; this is the envelope's
//! record of which is which.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{DocumentId, EnvelopeId, ParticipantId};

/// What made a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignVersionKind {
    /// A participant's act: their marks and their signature.
    Signed,
    /// The archival seal at completion (with the certificate's pages, where appended).
    Sealed,
    /// The completion certificate, a document of its own.
    Certificate,
}

impl SignVersionKind {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            SignVersionKind::Signed => "signed",
            SignVersionKind::Sealed => "sealed",
            SignVersionKind::Certificate => "certificate",
        }
    }
}

/// One version an envelope made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignVersion {
    /// The library document holding it.
    pub version: DocumentId,
    /// The envelope.
    pub envelope: EnvelopeId,
    /// The envelope's document it is a version of (`None` for the certificate).
    pub document: Option<DocumentId>,
    /// The version it was made from (`None` for the certificate).
    pub derived_from: Option<DocumentId>,
    /// What made it.
    pub kind: SignVersionKind,
    /// Whose act, for a signed version.
    pub participant: Option<ParticipantId>,
    /// When.
    pub created_at: OffsetDateTime,
}

/// The current version of `document` among `versions` (in creation order): the end of its
/// chain, or the document itself when the envelope has made none.
pub fn current_version(versions: &[SignVersion], document: DocumentId) -> DocumentId {
    let mut current = document;
    while let Some(next) = versions
        .iter()
        .find(|v| v.document == Some(document) && v.derived_from == Some(current))
    {
        current = next.version;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(document: DocumentId, from: DocumentId, kind: SignVersionKind) -> SignVersion {
        SignVersion {
            version: DocumentId::generate(),
            envelope: EnvelopeId::generate(),
            document: Some(document),
            derived_from: Some(from),
            kind,
            participant: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_current_version_is_the_end_of_the_documents_chain() {
        let (a, b) = (DocumentId::generate(), DocumentId::generate());
        assert_eq!(current_version(&[], a), a);
        let a1 = version(a, a, SignVersionKind::Signed);
        let b1 = version(b, b, SignVersionKind::Signed);
        let a2 = version(a, a1.version, SignVersionKind::Sealed);
        let versions = [a2.clone(), b1.clone(), a1.clone()];
        assert_eq!(current_version(&versions, a), a2.version);
        assert_eq!(current_version(&versions, b), b1.version);
        assert_eq!(current_version(&versions[1..], a), a1.version);
    }

    #[test]
    fn stored_words_are_distinct() {
        let words: std::collections::BTreeSet<_> = [
            SignVersionKind::Signed,
            SignVersionKind::Sealed,
            SignVersionKind::Certificate,
        ]
        .iter()
        .map(|k| k.as_str())
        .collect();
        assert_eq!(words.len(), 3);
        assert_eq!(
            serde_json::to_value(SignVersionKind::Certificate).ok(),
            Some(serde_json::json!("certificate"))
        );
    }
}
