//! The archival seal, PAdES B-LTA: validation material for every signature and time-stamp in
//! the document (a /DSS update with their certificates and the caller's CRLs and OCSP
//! responses), then a document time-stamp (`/SubFilter /ETSI.RFC3161`) over everything.
//!
//! It fails closed: without a time-stamp token there is no output at all (a document with a
//! /DSS and no archival time-stamp would look sealed and is not). It is idempotent: a document
//! whose last signature is already a document time-stamp, followed by nothing but validation
//! material, is returned unchanged.

use std::collections::HashSet;

use serde::Serialize;
use time::OffsetDateTime;

use crate::cms;
use crate::oids;
use crate::pdf::doc::Document;
use crate::pdf::{Object, PdfError, Reader};
use crate::pki::Certificate;
use crate::seal::{
    Input, Prepared, SealError, SigDict, Tail, check_revocation_coverage, write_dss,
};
use crate::tsa::TimestampSource;

/// Validation material the caller supplies: the issuers' certificates (the instance root, an
/// external TSA's chain) and revocation data for every certificate that is not a trust anchor.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ArchiveMaterial {
    /// Certificates to add to those found in the document's signatures and time-stamps.
    pub certs: Vec<Certificate>,
    /// DER CRLs.
    pub crls: Vec<Vec<u8>>,
    /// DER OCSP responses. When there are any, the caller answers for revocation coverage;
    /// otherwise every certificate must have a CRL from its issuer.
    pub ocsps: Vec<Vec<u8>>,
    /// Bytes reserved for the time-stamp token (0 = automatic).
    pub reserve: usize,
}

/// What [`archive`] did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ArchiveReport {
    /// The document already ended in an archival time-stamp: nothing was added.
    pub already_archived: bool,
    /// Signatures and document time-stamps found before sealing.
    pub signatures: usize,
    /// Certificates, CRLs and OCSP responses added to the /DSS.
    pub dss_certs: usize,
    /// CRLs added.
    pub dss_crls: usize,
    /// OCSP responses added.
    pub dss_ocsps: usize,
    /// The document time-stamp's field.
    pub field_name: Option<String>,
    /// Its genTime.
    #[serde(with = "time::serde::rfc3339::option")]
    pub timestamp: Option<OffsetDateTime>,
    /// Its /ByteRange.
    pub byte_range: Option<[u64; 4]>,
    /// Length of the output.
    pub output_len: u64,
}

/// One signature found in the document.
struct FoundSignature {
    doc_timestamp: bool,
    /// End of its signed range.
    end: u64,
    /// Certificates in its CMS and in its signature time-stamp.
    certs: Vec<Vec<u8>>,
}

/// Seals `input` at B-LTA; see the module documentation. A time-stamp failure is
/// [`SealError::Timestamp`] (retryable, see [`SealError::is_retryable`]).
pub fn archive(
    input: &[u8],
    material: &ArchiveMaterial,
    tsa: &dyn TimestampSource,
) -> Result<(Vec<u8>, ArchiveReport), SealError> {
    let mut r = Reader::open(input)?;
    let doc = Document::load(&mut r)?;
    let found = signatures(&mut r, &doc)?;
    let mut report = ArchiveReport {
        already_archived: false,
        signatures: found.len(),
        dss_certs: 0,
        dss_crls: 0,
        dss_ocsps: 0,
        field_name: None,
        timestamp: None,
        byte_range: None,
        output_len: input.len() as u64,
    };
    if already_archived(&mut r, &found) {
        report.already_archived = true;
        return Ok((input.to_vec(), report));
    }

    // Validation material: everything the signatures carry, plus the caller's.
    let mut certs: Vec<Vec<u8>> = Vec::new();
    let mut push = |c: &[u8]| {
        if !certs.iter().any(|x| x == c) {
            certs.push(c.to_vec());
        }
    };
    found.iter().flat_map(|f| &f.certs).for_each(|c| push(c));
    material.certs.iter().for_each(|c| push(c.der()));
    if material.ocsps.is_empty() {
        check_revocation_coverage(&certs, &material.crls)?;
    }
    let tail = Tail::from_document(&mut r, &doc, input.len() as u64)?;
    let existing = tail.dss_items(&mut r)?;
    let fresh = |items: &[Vec<u8>]| -> Vec<Vec<u8>> {
        items
            .iter()
            .filter(|i| !existing.contains(i.as_slice()))
            .cloned()
            .collect()
    };
    let (new_certs, new_crls, new_ocsps) =
        (fresh(&certs), fresh(&material.crls), fresh(&material.ocsps));
    // The output is built in place: the document time-stamp's revision and the last /DSS are
    // appended to this copy of the input rather than to a second copy of it.
    let mut out = Vec::with_capacity(input.len() + 2 * 16384 + 65536);
    out.extend_from_slice(input);
    if !(new_certs.is_empty() && new_crls.is_empty() && new_ocsps.is_empty()) {
        write_dss(&mut out, &tail, &new_certs, &new_crls, &new_ocsps)?;
    }
    report.dss_certs = new_certs.len();
    report.dss_crls = new_crls.len();
    report.dss_ocsps = new_ocsps.len();

    // The document time-stamp over all of it.
    let reserve = if material.reserve > 0 {
        material.reserve
    } else {
        16384
    };
    out.reserve(reserve * 2 + 4096);
    let mut prep = Prepared::new(out.as_slice(), SigDict::DocTimestamp, None, reserve)?;
    let mut hasher = crate::cms::DigestAlg::Sha256.hasher();
    prep.src.hash_into(&mut hasher, None)?;
    let digest = prep.digest_with(hasher);
    let imprint: [u8; 32] = digest
        .as_slice()
        .try_into()
        .map_err(|_| SealError::Cms("SHA-256 digest of unexpected length".into()))?;
    // Fail closed: any error here returns before the document is complete.
    let token = tsa.timestamp(&imprint)?;
    let info = crate::tsa::check_token(&token, &imprint, None)?;
    report.field_name = Some(prep.field_name.clone());
    report.byte_range = Some(prep.byte_range);
    report.timestamp = Some(info.gen_time);
    let (revision, after) = prep.into_revision(&token)?;
    let mut sealed = out;
    sealed.extend_from_slice(&revision);

    // The token's own certificates, if the caller did not already supply them, go into a last
    // /DSS update so that the archival time-stamp can be validated later too.
    let known: HashSet<&[u8]> = existing
        .iter()
        .map(Vec::as_slice)
        .chain(certs.iter().map(Vec::as_slice))
        .collect();
    let token_certs: Vec<Vec<u8>> = cms::parse_signed_data(&token)
        .map(|sd| {
            sd.certs
                .iter()
                .filter(|c| !known.contains(*c))
                .map(|c| c.to_vec())
                .collect()
        })
        .unwrap_or_default();
    if !token_certs.is_empty() {
        write_dss(&mut sealed, &after, &token_certs, &[], &[])?;
        report.dss_certs += token_certs.len();
    }
    report.output_len = sealed.len() as u64;
    Ok((sealed, report))
}

/// Whether the newest signature is a document time-stamp followed only by validation material.
fn already_archived(r: &mut Reader<&[u8]>, found: &[FoundSignature]) -> bool {
    let Some(last) = found.iter().max_by_key(|f| f.end) else {
        return false;
    };
    if !last.doc_timestamp {
        return false;
    }
    // Revisions (newest first) whose cross-reference section lies after the signed range.
    let later: Vec<usize> = (0..r.sections.len())
        .filter(|i| r.sections[*i].offset >= last.end)
        .collect();
    later
        .into_iter()
        .all(|i| crate::verify::classify_revision(r, i).0 == crate::verify::ChangeKind::DssOnly)
}

/// Every signature and document time-stamp, with the certificates it carries.
fn signatures(r: &mut Reader<&[u8]>, doc: &Document) -> Result<Vec<FoundSignature>, SealError> {
    let mut fields = Vec::new();
    let mut seen = HashSet::new();
    crate::verify::collect_sig_fields(r, doc.fields.items(), "", None, 0, &mut seen, &mut fields);
    let mut out = Vec::new();
    for (name, sig) in fields {
        let sig = sig.ok_or_else(|| {
            PdfError::Malformed(format!("the signature of field {name:?} cannot be read"))
        })?;
        let Some(Object::Str(contents)) = sig.get(b"Contents") else {
            return Err(PdfError::Malformed(format!("field {name:?} has no /Contents")).into());
        };
        let end = match sig.get(b"ByteRange") {
            Some(Object::Array(a)) if a.len() == 4 => match (&a[2], &a[3]) {
                (Object::Int(c), Object::Int(d)) if *c >= 0 && *d >= 0 => (c + d) as u64,
                _ => 0,
            },
            _ => 0,
        };
        let doc_timestamp = sig.name_is(b"SubFilter", b"ETSI.RFC3161");
        // Contents are zero-padded after the DER: parse only the first element.
        let sd = cms::parse_signed_data(contents).map_err(|e| {
            PdfError::Malformed(format!(
                "the signature of field {name:?} is unreadable: {e}"
            ))
        })?;
        let mut certs: Vec<Vec<u8>> = sd.certs.iter().map(|c| c.to_vec()).collect();
        if let Some(tok) = sd.unsigned_attr(oids::SIGNATURE_TIME_STAMP_TOKEN)
            && let Ok(t) = cms::parse_signed_data(tok.raw)
        {
            certs.extend(t.certs.iter().map(|c| c.to_vec()));
        }
        out.push(FoundSignature {
            doc_timestamp,
            end,
            certs,
        });
    }
    Ok(out)
}
