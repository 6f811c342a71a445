//! A tenant's document library: documents exist on their own before any envelope uses them
//! (some vendor APIs upload documents first, name them by SHA3-256, or keep them in folders).
//! Each version carries both digests; a stamped, signed or sealed version links to the version
//! it came from, so that a file's history can be followed back to the original.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::blob::BlobKey;
use crate::ids::{DocumentId, TenantId};
use crate::values::{DocumentName, InvalidValue, Sha3Digest, Sha256Digest};

/// A media type such as `application/pdf`: lower-cased, parameters dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MediaType(String);

impl MediaType {
    /// `application/pdf`.
    pub fn pdf() -> Self {
        Self("application/pdf".to_owned())
    }
    /// The type, e.g. `application/pdf`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Whether it is a PDF, the only kind Signet signs.
    pub fn is_pdf(&self) -> bool {
        self.0 == "application/pdf"
    }
}

impl FromStr for MediaType {
    type Err = InvalidValue;
    /// Accepts `type/subtype` with RFC 6838's characters, parameters (`; charset=…`) dropped.
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let essence = text.split(';').next().unwrap_or_default().trim();
        let token = |part: &str| {
            !part.is_empty()
                && part.len() <= 127
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        match essence.split_once('/') {
            Some((kind, sub)) if token(kind) && token(sub) => {
                Ok(Self(essence.to_ascii_lowercase()))
            }
            _ => Err(InvalidValue::new("media type", "expected type/subtype")),
        }
    }
}

impl TryFrom<String> for MediaType {
    type Error = InvalidValue;
    fn try_from(text: String) -> Result<Self, InvalidValue> {
        text.parse()
    }
}

impl From<MediaType> for String {
    fn from(media: MediaType) -> String {
        media.0
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of version a library document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum VersionKind {
    /// As the tenant uploaded it.
    Original,
    /// With marks (field values) stamped on.
    Stamped,
    /// With a participant's signature appended.
    Signed,
    /// With the completion certificate and the archival seal: the last version.
    Sealed,
}

impl VersionKind {
    /// The word used in storage and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionKind::Original => "original",
            VersionKind::Stamped => "stamped",
            VersionKind::Signed => "signed",
            VersionKind::Sealed => "sealed",
        }
    }
}

/// A document of a tenant's library: one version of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryDocument {
    /// Its id.
    pub id: DocumentId,
    /// Whose it is.
    pub tenant_id: TenantId,
    /// File name.
    pub name: DocumentName,
    /// Media type.
    pub media_type: MediaType,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes.
    pub sha256: Sha256Digest,
    /// SHA3-256 of the bytes.
    pub sha3_256: Sha3Digest,
    /// Pages, for a PDF whose pages were counted.
    pub pages: Option<u32>,
    /// What kind of version it is.
    pub kind: VersionKind,
    /// The version it was made from (none for an original).
    pub derived_from: Option<DocumentId>,
    /// When it was stored.
    pub created_at: OffsetDateTime,
}

/// The stored facts about a file's bytes, as the blob store reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256.
    pub sha256: Sha256Digest,
    /// SHA3-256.
    pub sha3_256: Sha3Digest,
    /// Pages, if counted.
    pub pages: Option<u32>,
}

/// A version that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LibraryError {
    /// Only PDF documents can be stamped, signed or sealed.
    #[error("{0} is not a PDF and cannot be signed")]
    NotPdf(MediaType),
    /// An original cannot be derived from another version.
    #[error("an original is not derived from another version")]
    DerivedOriginal,
    /// Nothing is derived from a sealed version: it is the final one.
    #[error("the sealed version is final; nothing is derived from it")]
    FromSealed,
    /// A derived version must keep the page count (marks and signatures add no pages).
    #[error("the new version has {got} pages, its source {expected}")]
    PagesChanged {
        /// The source's pages.
        expected: u32,
        /// The new version's pages.
        got: u32,
    },
    /// The derived bytes are the source's bytes: nothing was added.
    #[error("the new version is identical to its source")]
    Unchanged,
}

impl LibraryDocument {
    /// An original upload.
    pub fn original(
        id: DocumentId,
        tenant_id: TenantId,
        name: DocumentName,
        media_type: MediaType,
        facts: FileFacts,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            tenant_id,
            name,
            media_type,
            size: facts.size,
            sha256: facts.sha256,
            sha3_256: facts.sha3_256,
            pages: facts.pages,
            kind: VersionKind::Original,
            derived_from: None,
            created_at: now,
        }
    }

    /// A new version made from this one (stamped, signed or sealed): same tenant, name and media
    /// type, linked back to this version. Refused for non-PDFs, from a sealed version, for an
    /// "original", when the pages changed, or when the bytes are identical.
    pub fn derive(
        &self,
        id: DocumentId,
        kind: VersionKind,
        facts: FileFacts,
        now: OffsetDateTime,
    ) -> Result<Self, LibraryError> {
        if !self.media_type.is_pdf() {
            return Err(LibraryError::NotPdf(self.media_type.clone()));
        }
        if kind == VersionKind::Original {
            return Err(LibraryError::DerivedOriginal);
        }
        if self.kind == VersionKind::Sealed {
            return Err(LibraryError::FromSealed);
        }
        if let (Some(expected), Some(got)) = (self.pages, facts.pages)
            && expected != got
        {
            return Err(LibraryError::PagesChanged { expected, got });
        }
        if facts.sha256 == self.sha256 || facts.sha3_256 == self.sha3_256 {
            return Err(LibraryError::Unchanged);
        }
        Ok(Self {
            id,
            tenant_id: self.tenant_id,
            name: self.name.clone(),
            media_type: self.media_type.clone(),
            size: facts.size,
            sha256: facts.sha256,
            sha3_256: facts.sha3_256,
            pages: facts.pages.or(self.pages),
            kind,
            derived_from: Some(self.id),
            created_at: now,
        })
    }
}

/// The versions from `start` back to its original, newest first, following `derived_from`
/// through `documents` (which need not be ordered). Stops at a missing link and never loops,
/// even over inconsistent data.
pub fn lineage(documents: &[LibraryDocument], start: DocumentId) -> Vec<&LibraryDocument> {
    let mut chain: Vec<&LibraryDocument> = Vec::new();
    let mut next = Some(start);
    while let Some(id) = next {
        let Some(doc) = documents.iter().find(|d| d.id == id) else {
            break;
        };
        if chain.iter().any(|seen| seen.id == id) {
            break;
        }
        chain.push(doc);
        next = doc.derived_from;
    }
    chain
}

/// The version among `documents` that has this SHA3-256 and belongs to the family of `start`
/// (the same original): how a file handed back by a client is recognised as the registered
/// original or a version Signet produced from it.
pub fn find_in_family<'a>(
    documents: &'a [LibraryDocument],
    start: DocumentId,
    sha3_256: &Sha3Digest,
) -> Option<&'a LibraryDocument> {
    let root = lineage(documents, start).last()?.id;
    documents.iter().find(|d| {
        &d.sha3_256 == sha3_256 && lineage(documents, d.id).last().map(|r| r.id) == Some(root)
    })
}

/// A library document as kept: its facts and where its bytes are (`None` once deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLibraryDocument {
    /// The document.
    pub document: LibraryDocument,
    /// The blob holding its bytes; `None` once deleted, or while awaited.
    pub blob: Option<BlobKey>,
    /// Its bytes have not arrived yet: only its SHA3-256 is known (its size, SHA-256 and pages
    /// are placeholders until they arrive).
    pub awaited: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn facts(byte: u8, pages: Option<u32>) -> FileFacts {
        FileFacts {
            size: u64::from(byte) * 10,
            sha256: Sha256Digest::from_bytes([byte; 32]),
            sha3_256: Sha3Digest::from_bytes([byte; 32]),
            pages,
        }
    }

    fn at(days: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000 + days)
    }

    fn original(byte: u8) -> LibraryDocument {
        LibraryDocument::original(
            DocumentId::generate(),
            TenantId::random(),
            "contract.pdf".parse().expect("a name"),
            MediaType::pdf(),
            facts(byte, Some(3)),
            at(0),
        )
    }

    #[test]
    fn media_types_are_normalised() {
        let media: MediaType = "Application/PDF; charset=binary".parse().expect("valid");
        assert_eq!(media.as_str(), "application/pdf");
        assert!(media.is_pdf());
        assert!(!"text/plain".parse::<MediaType>().expect("valid").is_pdf());
        assert!(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                .parse::<MediaType>()
                .is_ok()
        );
        for bad in ["pdf", "/pdf", "application/", "a b/c", "", "text/pl ain"] {
            assert!(bad.parse::<MediaType>().is_err(), "{bad}");
        }
        assert!(
            format!("a/{}", "b".repeat(127))
                .parse::<MediaType>()
                .is_ok()
        );
        assert!(
            format!("a/{}", "b".repeat(128))
                .parse::<MediaType>()
                .is_err()
        );
    }

    #[test]
    fn media_types_and_kinds_read_back() {
        let media: MediaType = "image/PNG".parse().expect("valid");
        assert_eq!(media.to_string(), "image/png");
        assert_eq!(String::from(media), "image/png");
        for kind in [
            VersionKind::Original,
            VersionKind::Stamped,
            VersionKind::Signed,
            VersionKind::Sealed,
        ] {
            let json = serde_json::to_value(kind).expect("serialises");
            assert_eq!(json.as_str(), Some(kind.as_str()));
        }
    }

    #[test]
    fn versions_link_back_to_their_source() {
        let first = original(1);
        assert_eq!(first.kind, VersionKind::Original);
        assert_eq!(first.derived_from, None);
        let stamped = first
            .derive(
                DocumentId::generate(),
                VersionKind::Stamped,
                facts(2, Some(3)),
                at(1),
            )
            .expect("stamped");
        assert_eq!(stamped.derived_from, Some(first.id));
        assert_eq!(stamped.tenant_id, first.tenant_id);
        assert_eq!(stamped.name, first.name);
        assert_eq!(stamped.media_type, first.media_type);
        assert_eq!(stamped.size, 20);
        assert_eq!(stamped.sha256, Sha256Digest::from_bytes([2; 32]));
        assert_eq!(stamped.sha3_256, Sha3Digest::from_bytes([2; 32]));
        assert_eq!(stamped.created_at, at(1));
        let signed = stamped
            .derive(
                DocumentId::generate(),
                VersionKind::Signed,
                facts(3, None),
                at(2),
            )
            .expect("signed");
        assert_eq!(
            signed.pages,
            Some(3),
            "pages carried over when not recounted"
        );
        let sealed = signed
            .derive(
                DocumentId::generate(),
                VersionKind::Sealed,
                facts(4, Some(3)),
                at(3),
            )
            .expect("sealed");
        assert_eq!(
            sealed.derive(
                DocumentId::generate(),
                VersionKind::Signed,
                facts(5, Some(3)),
                at(4)
            ),
            Err(LibraryError::FromSealed)
        );
        let all = vec![
            sealed.clone(),
            first.clone(),
            signed.clone(),
            stamped.clone(),
        ];
        let chain: Vec<DocumentId> = lineage(&all, sealed.id).iter().map(|d| d.id).collect();
        assert_eq!(chain, vec![sealed.id, signed.id, stamped.id, first.id]);

        // Recognising a returned file: any version of the family, by its SHA3-256.
        let other = original(9);
        let all = [all, vec![other.clone()]].concat();
        let found = find_in_family(&all, first.id, &Sha3Digest::from_bytes([3; 32]));
        assert_eq!(found.map(|d| d.id), Some(signed.id));
        assert_eq!(
            find_in_family(&all, sealed.id, &first.sha3_256).map(|d| d.id),
            Some(first.id)
        );
        assert!(find_in_family(&all, first.id, &other.sha3_256).is_none());
        assert!(find_in_family(&all, DocumentId::generate(), &first.sha3_256).is_none());
    }

    #[test]
    fn bad_derivations_are_refused() {
        let first = original(1);
        assert_eq!(
            first.derive(
                DocumentId::generate(),
                VersionKind::Original,
                facts(2, Some(3)),
                at(1)
            ),
            Err(LibraryError::DerivedOriginal)
        );
        assert_eq!(
            first.derive(
                DocumentId::generate(),
                VersionKind::Signed,
                facts(2, Some(4)),
                at(1)
            ),
            Err(LibraryError::PagesChanged {
                expected: 3,
                got: 4
            })
        );
        assert_eq!(
            first.derive(
                DocumentId::generate(),
                VersionKind::Signed,
                facts(1, Some(3)),
                at(1)
            ),
            Err(LibraryError::Unchanged)
        );
        let mut same_sha3 = facts(2, Some(3));
        same_sha3.sha3_256 = first.sha3_256;
        assert_eq!(
            first.derive(
                DocumentId::generate(),
                VersionKind::Signed,
                same_sha3,
                at(1)
            ),
            Err(LibraryError::Unchanged)
        );
        let mut text = original(1);
        text.media_type = "text/plain".parse().expect("valid");
        assert_eq!(
            text.derive(
                DocumentId::generate(),
                VersionKind::Stamped,
                facts(2, None),
                at(1)
            ),
            Err(LibraryError::NotPdf(text.media_type.clone()))
        );
    }

    #[test]
    fn lineage_survives_loops_and_gaps() {
        let mut a = original(1);
        let mut b = original(2);
        a.derived_from = Some(b.id);
        b.derived_from = Some(a.id);
        let docs = [a.clone(), b.clone()];
        let chain: Vec<DocumentId> = lineage(&docs, a.id).iter().map(|d| d.id).collect();
        assert_eq!(chain, vec![a.id, b.id]);
        a.derived_from = Some(DocumentId::generate());
        assert_eq!(lineage(&[a.clone()], a.id).len(), 1);
        assert!(lineage(&[a.clone()], DocumentId::generate()).is_empty());
    }
}
