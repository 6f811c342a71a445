//! Verification of the signatures in a PDF: byte-range coverage, CMS integrity, the chain to
//! given trust roots, the signature time-stamp and what changed after signing.
//!
//! Revocation is checked only against CRLs found in the document's /DSS; no network access.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;

use crate::cms::{self, DigestAlg, ParsedSignedData};
use crate::oids;
use crate::pdf::{Dict, Entry, Object, PdfError, Reader, XrefKind};
use crate::pki::Certificate;

/// Errors that stop verification altogether (per-signature problems go into the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The file could not be parsed as a PDF.
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

/// What to verify against.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Trust anchors (e.g. the instance root).
    pub trust_roots: Vec<Certificate>,
    /// Validation time used when a signature has no valid time-stamp.
    pub now: OffsetDateTime,
}

/// How a revision after a signature changed the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum ChangeKind {
    /// Only validation data was added (/DSS).
    DssOnly,
    /// A signature field was added (and possibly validation data).
    SignatureAdded,
    /// New pages were added after the last page (e.g. the completion certificate), and
    /// possibly signature fields: the signed pages are unchanged. Reported, not an error.
    PagesAppended,
    /// Anything else: the content may have been altered.
    Other,
}

/// One revision written after a signature.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LaterRevision {
    /// Offset of the revision's cross-reference section.
    pub xref_offset: u64,
    /// Classification of the change.
    pub kind: ChangeKind,
    /// Why it was classified as [`ChangeKind::Other`], if it was.
    pub detail: Option<String>,
}

/// The signature time-stamp of a signature.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TimestampReport {
    /// genTime.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// TSA policy OID.
    pub policy: String,
    /// Subject of the TSA certificate.
    pub tsa: Option<String>,
    /// The imprint equals the hash of the signature value.
    pub imprint_matches: bool,
    /// The token's own CMS signature verifies.
    pub signature_valid: bool,
    /// The TSA chains to a trust root (and carries id-kp-timeStamping).
    pub trusted: bool,
    /// Chain subjects, TSA first.
    pub chain: Vec<String>,
    /// Why the chain was not trusted, if it was not.
    pub chain_error: Option<String>,
}

/// The result for one signature.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SignatureReport {
    /// The field's fully qualified name.
    pub field_name: String,
    /// /SubFilter.
    pub sub_filter: Option<String>,
    /// /ByteRange.
    pub byte_range: Vec<u64>,
    /// The range starts at 0 and its gap is exactly the /Contents string.
    pub byte_range_ok: bool,
    /// The range ends exactly at the end of a revision.
    pub covers_revision: bool,
    /// The range covers the whole file (no later revisions).
    pub covers_whole_file: bool,
    /// Digest algorithm of the signer.
    pub digest_algorithm: Option<String>,
    /// messageDigest equals the digest of the covered bytes.
    pub digest_matches: bool,
    /// The signature over the signed attributes verifies with the signer certificate.
    pub signature_valid: bool,
    /// The signer's subject.
    pub signer: Option<String>,
    /// Chain subjects, signer first.
    pub chain: Vec<String>,
    /// The signer chains to a trust root at the validation time.
    pub trusted: bool,
    /// Why the chain was not trusted, if it was not.
    pub chain_error: Option<String>,
    /// Revocation status from /DSS CRLs: `good`, `revoked` or `unknown`.
    pub revocation: String,
    /// A signingTime attribute is present (PAdES forbids it).
    pub has_signing_time_attribute: bool,
    /// The signature time-stamp, if any.
    pub timestamp: Option<TimestampReport>,
    /// Revisions written after this signature.
    pub later_revisions: Vec<LaterRevision>,
    /// Some later revision did more than add signatures or validation data.
    pub modified_after_signing: bool,
    /// Everything above checks out.
    pub valid: bool,
    /// Human-readable problems found.
    pub problems: Vec<String>,
}

/// /DSS contents.
#[derive(Debug, Clone, Serialize, Default)]
#[non_exhaustive]
pub struct DssSummary {
    /// Number of certificates.
    pub certs: usize,
    /// Number of CRLs.
    pub crls: usize,
    /// Number of OCSP responses.
    pub ocsps: usize,
}

/// The verification report for a document.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// File length.
    pub file_len: u64,
    /// Number of revisions (cross-reference sections).
    pub revisions: usize,
    /// Kind of the newest cross-reference section.
    pub xref_kind: XrefKind,
    /// The document security store, if present.
    pub dss: Option<DssSummary>,
    /// One entry per signature field with a value.
    pub signatures: Vec<SignatureReport>,
    /// At least one signature and all of them valid.
    pub valid: bool,
}

/// Verifies every signature of `pdf`.
pub fn verify_pdf(pdf: &[u8], opts: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    let mut r = Reader::open(pdf)?;
    let revision_ends = revision_ends(pdf, &r);
    let catalog = root_catalog(&mut r)?;
    let (dss, dss_certs, dss_crls) = read_dss(&mut r, &catalog);
    let mut fields = Vec::new();
    if let Some(af) = catalog.get(b"AcroForm").cloned()
        && let Ok(Object::Dict(af)) = r.deref(&af)
        && let Some(f) = af.get(b"Fields").cloned()
        && let Ok(Object::Array(items)) = r.deref(&f)
    {
        let mut seen = HashSet::new();
        collect_sig_fields(&mut r, &items, "", None, 0, &mut seen, &mut fields);
    }
    let mut signatures = Vec::new();
    for (name, sig) in fields {
        let Some(sig) = sig else {
            signatures.push(unreadable(name));
            continue;
        };
        signatures.push(check_signature(
            pdf,
            &mut r,
            &revision_ends,
            name,
            &sig,
            opts,
            &dss_certs,
            &dss_crls,
        ));
    }
    let valid = !signatures.is_empty() && signatures.iter().all(|s| s.valid);
    Ok(VerifyReport {
        file_len: pdf.len() as u64,
        revisions: r.sections.len(),
        xref_kind: r.kind(),
        dss,
        signatures,
        valid,
    })
}

fn root_catalog(r: &mut Reader<&[u8]>) -> Result<Dict, PdfError> {
    match r.trailer().get(b"Root").cloned() {
        Some(Object::Ref(n, _)) => r.resolve_dict(n),
        _ => Err(PdfError::Malformed("trailer without /Root".into())),
    }
}

fn read_dss(
    r: &mut Reader<&[u8]>,
    catalog: &Dict,
) -> (Option<DssSummary>, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let Some(d) = catalog.get(b"DSS").cloned() else {
        return (None, Vec::new(), Vec::new());
    };
    let Ok(Object::Dict(d)) = r.deref(&d) else {
        return (None, Vec::new(), Vec::new());
    };
    let mut load = |key: &[u8]| -> Vec<Vec<u8>> {
        let Some(v) = d.get(key).cloned() else {
            return Vec::new();
        };
        let Ok(Object::Array(items)) = r.deref(&v) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|i| match r.deref(i) {
                Ok(Object::Stream(sd, raw)) => crate::pdf::decode_stream(&sd, &raw).ok(),
                _ => None,
            })
            .collect()
    };
    let certs = load(b"Certs");
    let crls = load(b"CRLs");
    let ocsps = load(b"OCSPs");
    (
        Some(DssSummary {
            certs: certs.len(),
            crls: crls.len(),
            ocsps: ocsps.len(),
        }),
        certs,
        crls,
    )
}

fn text(o: Option<&Object>) -> Option<String> {
    match o {
        Some(Object::Str(s)) => Some(if s.starts_with(&[0xfe, 0xff]) {
            let units: Vec<u16> = s[2..]
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            String::from_utf8_lossy(s).into_owned()
        }),
        Some(Object::Name(n)) => Some(String::from_utf8_lossy(n).into_owned()),
        _ => None,
    }
}

pub(crate) fn collect_sig_fields(
    r: &mut Reader<&[u8]>,
    items: &[Object],
    prefix: &str,
    inherited_ft: Option<Vec<u8>>,
    depth: usize,
    seen: &mut HashSet<u32>,
    out: &mut Vec<(String, Option<Dict>)>,
) {
    if depth > 32 {
        return;
    }
    for item in items {
        if let Object::Ref(n, _) = item
            && !seen.insert(*n)
        {
            continue;
        }
        let Ok(Object::Dict(f)) = r.deref(item) else {
            // An unreadable field might hide a signature: report it.
            out.push((format!("{prefix}?"), None));
            continue;
        };
        let partial = text(f.get(b"T"));
        let name = match (&partial, prefix.is_empty()) {
            (Some(p), true) => p.clone(),
            (Some(p), false) => format!("{prefix}.{p}"),
            (None, _) => prefix.to_owned(),
        };
        let ft = match f.get(b"FT") {
            Some(Object::Name(n)) => Some(n.clone()),
            _ => inherited_ft.clone(),
        };
        if let Some(kids) = f.get(b"Kids").cloned()
            && let Ok(Object::Array(kids)) = r.deref(&kids)
        {
            collect_sig_fields(r, &kids, &name, ft.clone(), depth + 1, seen, out);
        }
        if ft.as_deref() == Some(b"Sig")
            && let Some(v) = f.get(b"V").cloned()
        {
            // A value that cannot be read is reported, never silently skipped.
            match r.deref(&v) {
                Ok(Object::Dict(sig)) => out.push((name, Some(sig))),
                _ => out.push((name, None)),
            }
        }
    }
}

/// Ends of revisions: after each `%%EOF` that closes a cross-reference section, with and
/// without its end-of-line.
fn revision_ends(pdf: &[u8], r: &Reader<&[u8]>) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    for s in &r.sections {
        let Ok(start) = usize::try_from(s.offset) else {
            continue;
        };
        if let Some(p) = pdf.get(start..).and_then(|t| crate::pdf::find(t, b"%%EOF")) {
            let end = start + p + 5;
            let eol = match pdf.get(end..end + 2) {
                Some(b"\r\n") => 2,
                Some([b'\n', _]) | Some([b'\r', _]) | Some(b"\n") | Some(b"\r") => 1,
                _ => usize::from(matches!(pdf.get(end), Some(b'\n' | b'\r'))),
            };
            out.push((s.offset, end as u64, (end + eol) as u64));
        }
    }
    out
}

fn empty_report(field_name: String) -> SignatureReport {
    SignatureReport {
        field_name,
        sub_filter: None,
        byte_range: Vec::new(),
        byte_range_ok: false,
        covers_revision: false,
        covers_whole_file: false,
        digest_algorithm: None,
        digest_matches: false,
        signature_valid: false,
        signer: None,
        chain: Vec::new(),
        trusted: false,
        chain_error: None,
        revocation: "unknown".into(),
        has_signing_time_attribute: false,
        timestamp: None,
        later_revisions: Vec::new(),
        modified_after_signing: false,
        valid: false,
        problems: Vec::new(),
    }
}

fn unreadable(field_name: String) -> SignatureReport {
    let mut rep = empty_report(field_name);
    rep.problems
        .push("the signature dictionary cannot be read".into());
    rep
}

#[allow(clippy::too_many_arguments)]
fn check_signature(
    pdf: &[u8],
    r: &mut Reader<&[u8]>,
    revision_ends: &[(u64, u64, u64)],
    field_name: String,
    sig: &Dict,
    opts: &VerifyOptions,
    dss_certs: &[Vec<u8>],
    dss_crls: &[Vec<u8>],
) -> SignatureReport {
    let mut rep = empty_report(field_name);
    rep.sub_filter = text(sig.get(b"SubFilter"));
    let br: Vec<u64> = match sig.get(b"ByteRange") {
        Some(Object::Array(a)) => a
            .iter()
            .filter_map(|o| {
                if let Object::Int(i) = o {
                    u64::try_from(*i).ok()
                } else {
                    None
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    rep.byte_range = br.clone();
    let contents = match sig.get(b"Contents") {
        Some(Object::Str(s)) => s.clone(),
        _ => {
            rep.problems.push("no /Contents".into());
            return rep;
        }
    };
    let len = pdf.len() as u64;
    let ranges = if br.len() == 4 {
        let (a, b, c, d) = (br[0], br[1], br[2], br[3]);
        match (a.checked_add(b), c.checked_add(d)) {
            (Some(e1), Some(e2)) if e1 <= c && e2 <= len => Some((a, e1, c, e2)),
            _ => None,
        }
    } else {
        None
    };
    let Some((a, e1, c, e2)) = ranges else {
        rep.problems.push("malformed /ByteRange".into());
        return rep;
    };
    // The gap must be exactly the hex string holding /Contents.
    let gap = &pdf[e1 as usize..c as usize];
    let hex_ok = gap.len() >= 2
        && gap[0] == b'<'
        && gap[gap.len() - 1] == b'>'
        && gap[1..gap.len() - 1].iter().all(u8::is_ascii_hexdigit)
        && (gap.len() - 2) / 2 >= contents.len();
    rep.byte_range_ok = a == 0 && hex_ok;
    if !rep.byte_range_ok {
        rep.problems
            .push("the /ByteRange does not start at 0 or its gap is not exactly /Contents".into());
    }
    rep.covers_whole_file = e2 == len;
    rep.covers_revision = revision_ends.iter().any(|(_, x, y)| e2 == *x || e2 == *y);
    if !rep.covers_revision {
        rep.problems
            .push("the signed range does not end at the end of a revision".into());
    }

    // Later revisions.
    let signed_idx = r.sections.iter().position(|s| s.offset < e2);
    if let Some(signed_idx) = signed_idx {
        for i in (0..signed_idx).rev() {
            let off = r.sections[i].offset;
            let (kind, detail) = classify_revision(r, i);
            rep.later_revisions.push(LaterRevision {
                xref_offset: off,
                kind,
                detail,
            });
        }
    }
    if e2 < len && rep.later_revisions.is_empty() {
        rep.later_revisions.push(LaterRevision {
            xref_offset: e2,
            kind: ChangeKind::Other,
            detail: Some("data after the signed revision without a cross-reference section".into()),
        });
    }
    rep.modified_after_signing = rep
        .later_revisions
        .iter()
        .any(|l| l.kind == ChangeKind::Other);
    if rep.modified_after_signing {
        rep.problems
            .push("the document was modified after signing".into());
    }

    if sig.name_is(b"SubFilter", b"ETSI.RFC3161") {
        check_document_timestamp(pdf, (a, e1, c, e2), &contents, opts, dss_certs, &mut rep);
        return rep;
    }

    // CMS.
    let sd = match cms::parse_signed_data(&contents) {
        Ok(sd) => sd,
        Err(e) => {
            rep.problems.push(format!("unreadable CMS: {e}"));
            return rep;
        }
    };
    let Some(alg) = DigestAlg::from_oid(&sd.digest_alg) else {
        rep.problems
            .push(format!("unsupported digest algorithm {}", sd.digest_alg));
        return rep;
    };
    rep.digest_algorithm = Some(alg.name().into());
    let mut h = alg.hasher();
    h.update(&pdf[a as usize..e1 as usize]);
    h.update(&pdf[c as usize..e2 as usize]);
    let digest = h.finish();
    rep.digest_matches = sd.message_digest() == Some(digest.as_slice());
    if !rep.digest_matches {
        rep.problems
            .push("the document digest does not match the signed messageDigest".into());
    }
    rep.has_signing_time_attribute = sd.signed_attr(oids::SIGNING_TIME).is_some();
    let Some(signer) = sd.signer_cert() else {
        rep.problems
            .push("the signer certificate is not embedded".into());
        return rep;
    };
    rep.signer = Certificate::from_der(signer).ok().map(|c| c.subject());
    rep.signature_valid = sd.verify_signature(signer);
    if !rep.signature_valid {
        rep.problems
            .push("the CMS signature does not verify".into());
    }

    // Time-stamp.
    let mut validation_time = opts.now;
    if let Some(tok) = sd.unsigned_attr(oids::SIGNATURE_TIME_STAMP_TOKEN) {
        let t = check_timestamp(tok.raw, sd.signature, opts, dss_certs);
        match &t {
            Ok(t) => {
                if t.imprint_matches && t.signature_valid && t.trusted {
                    validation_time = t.time;
                } else {
                    rep.problems
                        .push("the signature time-stamp is not valid".into());
                }
            }
            Err(e) => rep.problems.push(format!("unreadable time-stamp: {e}")),
        }
        rep.timestamp = t.ok();
    }

    let mut pool: Vec<&[u8]> = sd.certs.clone();
    pool.extend(dss_certs.iter().map(Vec::as_slice));
    match build_chain(signer, &pool, &opts.trust_roots, validation_time) {
        Ok(chain) => {
            rep.revocation = revocation_status(&chain, dss_crls);
            rep.chain = chain.iter().map(|c| subject_of(c)).collect();
            rep.trusted = rep.revocation != "revoked";
            if !rep.trusted {
                rep.problems
                    .push("the signer certificate is revoked".into());
            }
        }
        Err(e) => {
            rep.problems.push(format!("untrusted: {e}"));
            rep.chain_error = Some(e);
        }
    }
    rep.valid = rep.byte_range_ok
        && rep.covers_revision
        && rep.digest_matches
        && rep.signature_valid
        && rep.trusted
        && !rep.modified_after_signing
        && rep
            .timestamp
            .as_ref()
            .is_none_or(|t| t.imprint_matches && t.signature_valid && t.trusted);
    rep
}

/// A document time-stamp (`/SubFilter /ETSI.RFC3161`): /Contents is a time-stamp token whose
/// message imprint is the digest of the signed byte range.
fn check_document_timestamp(
    pdf: &[u8],
    (a, e1, c, e2): (u64, u64, u64, u64),
    token: &[u8],
    opts: &VerifyOptions,
    dss_certs: &[Vec<u8>],
    rep: &mut SignatureReport,
) {
    let imprint_alg = cms::parse_signed_data(token)
        .ok()
        .and_then(|sd| sd.econtent)
        .and_then(|e| crate::tsa::parse_tst_info(e).ok())
        .and_then(|i| DigestAlg::from_oid(&i.imprint_alg));
    let Some(alg) = imprint_alg else {
        rep.problems
            .push("unreadable document time-stamp token".into());
        return;
    };
    let mut h = alg.hasher();
    h.update(&pdf[a as usize..e1 as usize]);
    h.update(&pdf[c as usize..e2 as usize]);
    let digest = h.finish();
    // The imprint is checked against the document digest, not a signature value.
    let t = match check_timestamp_over(token, &digest, opts, dss_certs) {
        Ok(t) => t,
        Err(e) => {
            rep.problems
                .push(format!("unreadable document time-stamp: {e}"));
            return;
        }
    };
    rep.digest_algorithm = Some(alg.name().into());
    rep.digest_matches = t.imprint_matches;
    rep.signature_valid = t.signature_valid;
    rep.trusted = t.trusted;
    rep.signer = t.tsa.clone();
    rep.chain = t.chain.clone();
    rep.chain_error = t.chain_error.clone();
    if !rep.digest_matches {
        rep.problems
            .push("the document digest does not match the time-stamp's imprint".into());
    }
    if !(t.signature_valid && t.trusted) {
        rep.problems
            .push("the document time-stamp is not valid".into());
    }
    rep.valid = rep.byte_range_ok
        && rep.covers_revision
        && rep.digest_matches
        && rep.signature_valid
        && rep.trusted
        && !rep.modified_after_signing;
    rep.timestamp = Some(t);
}

fn check_timestamp(
    token: &[u8],
    signature: &[u8],
    opts: &VerifyOptions,
    dss_certs: &[Vec<u8>],
) -> Result<TimestampReport, String> {
    check_timestamp_with(token, signature, None, opts, dss_certs)
}

/// [`check_timestamp`] for a token whose imprint must equal `digest`.
fn check_timestamp_over(
    token: &[u8],
    digest: &[u8],
    opts: &VerifyOptions,
    dss_certs: &[Vec<u8>],
) -> Result<TimestampReport, String> {
    check_timestamp_with(token, &[], Some(digest), opts, dss_certs)
}

fn check_timestamp_with(
    token: &[u8],
    signature: &[u8],
    precomputed: Option<&[u8]>,
    opts: &VerifyOptions,
    dss_certs: &[Vec<u8>],
) -> Result<TimestampReport, String> {
    let sd = cms::parse_signed_data(token).map_err(|e| e.to_string())?;
    let econtent = sd.econtent.ok_or("no TSTInfo")?;
    let info = crate::tsa::parse_tst_info(econtent).map_err(|e| e.to_string())?;
    let imprint_alg =
        DigestAlg::from_oid(&info.imprint_alg).ok_or("unsupported imprint algorithm")?;
    let imprint_matches = match precomputed {
        Some(d) => d == info.imprint.as_slice(),
        None => imprint_alg.digest(signature) == info.imprint,
    };
    let signer = sd.signer_cert();
    let signature_valid = signer.is_some_and(|c| token_signature_ok(&sd, econtent, c));
    let mut rep = TimestampReport {
        time: info.gen_time,
        policy: info.policy,
        tsa: signer.map(subject_of),
        imprint_matches,
        signature_valid,
        trusted: false,
        chain: Vec::new(),
        chain_error: None,
    };
    if let Some(signer) = signer {
        let mut pool = sd.certs.clone();
        pool.extend(dss_certs.iter().map(Vec::as_slice));
        match build_chain(signer, &pool, &opts.trust_roots, info.gen_time) {
            Ok(chain) if has_time_stamping_eku(signer) => {
                rep.chain = chain.iter().map(|c| subject_of(c)).collect();
                rep.trusted = true;
            }
            Ok(_) => rep.chain_error = Some("the TSA certificate lacks id-kp-timeStamping".into()),
            Err(e) => rep.chain_error = Some(e),
        }
    } else {
        rep.chain_error = Some("the TSA certificate is not embedded".into());
    }
    Ok(rep)
}

fn token_signature_ok(sd: &ParsedSignedData<'_>, econtent: &[u8], signer: &[u8]) -> bool {
    let Some(alg) = DigestAlg::from_oid(&sd.digest_alg) else {
        return false;
    };
    sd.message_digest() == Some(alg.digest(econtent).as_slice()) && sd.verify_signature(signer)
}

fn has_time_stamping_eku(cert: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(cert)
        .ok()
        .and_then(|(_, c)| {
            c.extended_key_usage()
                .ok()
                .flatten()
                .map(|e| e.critical && e.value.time_stamping)
        })
        .unwrap_or(false)
}

fn subject_of(cert: &[u8]) -> String {
    x509_parser::parse_x509_certificate(cert)
        .map(|(_, c)| c.subject().to_string())
        .unwrap_or_default()
}

/// Builds a chain from `leaf` to one of `roots` through `pool`, checking signatures, CA flags
/// and validity at `at`. Returns the chain (leaf first, root last).
fn build_chain<'a>(
    leaf: &'a [u8],
    pool: &[&'a [u8]],
    roots: &'a [Certificate],
    at: OffsetDateTime,
) -> Result<Vec<&'a [u8]>, String> {
    use x509_parser::prelude::*;
    let parse = |d: &'a [u8]| {
        parse_x509_certificate(d)
            .map(|(_, c)| c)
            .map_err(|e| e.to_string())
    };
    let valid_at = |c: &X509Certificate<'_>| {
        let t = at.unix_timestamp();
        c.validity().not_before.timestamp() <= t && t <= c.validity().not_after.timestamp()
    };
    let is_ca = |c: &X509Certificate<'_>| {
        c.basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|b| b.value.ca)
    };
    let mut chain = vec![leaf];
    let mut current = parse(leaf)?;
    for _ in 0..8 {
        if !valid_at(&current) {
            return Err(format!("{} is not valid at {at}", current.subject()));
        }
        let cur_der = *chain.last().ok_or("empty chain")?;
        if roots.iter().any(|r| r.der() == cur_der) {
            return Ok(chain);
        }
        for root in roots {
            let rc = parse(root.der())?;
            if rc.subject().as_raw() == current.issuer().as_raw()
                && current.verify_signature(Some(rc.public_key())).is_ok()
            {
                if !valid_at(&rc) {
                    return Err(format!("trust root {} is not valid at {at}", rc.subject()));
                }
                chain.push(root.der());
                return Ok(chain);
            }
        }
        let next = pool.iter().copied().find(|cand| {
            !chain.contains(cand)
                && parse(cand).is_ok_and(|ic| {
                    ic.subject().as_raw() == current.issuer().as_raw()
                        && is_ca(&ic)
                        && current.verify_signature(Some(ic.public_key())).is_ok()
                })
        });
        match next {
            Some(n) => {
                chain.push(n);
                current = parse(n)?;
            }
            None => return Err(format!("no trusted issuer found for {}", current.subject())),
        }
    }
    Err("chain too long".into())
}

/// Looks the chain's non-root certificates up in CRLs signed by their issuers.
fn revocation_status(chain: &[&[u8]], crls: &[Vec<u8>]) -> String {
    let mut all_good = true;
    for pair in chain.windows(2) {
        let (Ok((_, cert)), Ok((_, issuer))) = (
            x509_parser::parse_x509_certificate(pair[0]),
            x509_parser::parse_x509_certificate(pair[1]),
        ) else {
            return "unknown".into();
        };
        let mut covered = false;
        for crl in crls {
            let Ok((_, crl)) = x509_parser::parse_x509_crl(crl) else {
                continue;
            };
            if crl.issuer().as_raw() != issuer.subject().as_raw()
                || crl.verify_signature(issuer.public_key()).is_err()
            {
                continue;
            }
            if crl
                .iter_revoked_certificates()
                .any(|rc| rc.raw_serial() == cert.raw_serial())
            {
                return "revoked".into();
            }
            covered = true;
        }
        all_good &= covered;
    }
    if all_good {
        "good".into()
    } else {
        "unknown".into()
    }
}

/// Marks a revision that signed an existing unsigned signature field (not a real PDF key).
const SIG_FIELD_FILLED: &[u8] = b"\0signature field filled";

/// Marks a page-tree root that gained pages after its last one.
const PAGES_APPENDED: &[u8] = b"\0pages appended";

const SIGNATURE_KEYS: &[&[u8]] = &[
    SIG_FIELD_FILLED,
    PAGES_APPENDED,
    b"AcroForm",
    b"Annots",
    b"Fields",
    b"SigFlags",
    b"DSS",
    b"NeedAppearances",
];

/// Classifies the revision whose section is `idx` against the revision before it.
pub(crate) fn classify_revision(r: &mut Reader<&[u8]>, idx: usize) -> (ChangeKind, Option<String>) {
    let entries = r.sections[idx].entries.decoded();
    let nums: Vec<u32> = entries
        .iter()
        .filter(|(_, e)| !matches!(e, Entry::Free))
        .map(|(n, _)| *n)
        .collect();
    let freed = entries.iter().any(|(n, e)| {
        matches!(e, Entry::Free)
            && *n != 0
            && r.lookup(*n, idx + 1)
                .is_some_and(|e| !matches!(e, Entry::Free))
    });
    if freed {
        return (ChangeKind::Other, Some("objects were deleted".into()));
    }
    // Widgets of signature fields created in this revision (stamped marks): they may join a
    // page's /Annots.
    let mut new_widgets: HashSet<u32> = HashSet::new();
    for num in &nums {
        if matches!(r.lookup(*num, idx + 1), None | Some(Entry::Free))
            && let Ok(Object::Dict(d)) = r.resolve_at(*num, idx)
            && d.name_is(b"FT", b"Sig")
            && let Some(Object::Array(kids)) = d.get(b"Kids")
        {
            new_widgets.extend(kids.iter().filter_map(|k| match k {
                Object::Ref(n, _) => Some(*n),
                _ => None,
            }));
        }
    }
    let mut changed_keys: HashSet<Vec<u8>> = HashSet::new();
    // The page tree's root, and how many pages were appended to it (checked against /Count).
    let pages_root = page_tree_root(r, idx);
    let mut pages_added: i64 = 0;
    let mut count_delta: i64 = 0;
    for num in nums {
        // Compare with the object as of the previous revision.
        let after = r.resolve_at(num, idx);
        let before = match r.lookup(num, idx + 1) {
            None | Some(Entry::Free) => {
                // A new object: it must at least be readable.
                if after.is_err() {
                    return (
                        ChangeKind::Other,
                        Some(format!("object {num} could not be read")),
                    );
                }
                continue;
            }
            Some(_) => r.resolve_at(num, idx + 1),
        };
        let (Ok(before), Ok(after)) = (before, after) else {
            return (
                ChangeKind::Other,
                Some(format!("object {num} could not be read")),
            );
        };
        if before == after {
            continue;
        }
        match (&before, &after) {
            (Object::Dict(b), Object::Dict(a)) => {
                for (k, v) in &a.0 {
                    if b.get(k) != Some(v) {
                        // An unsigned signature field (made by stamping) being signed.
                        if k == b"V"
                            && b.get(k).is_none()
                            && b.name_is(b"FT", b"Sig")
                            && matches!(v, Object::Ref(n, _) if matches!(r.lookup(*n, idx + 1), None | Some(Entry::Free)))
                        {
                            changed_keys.insert(SIG_FIELD_FILLED.to_vec());
                            continue;
                        }
                        if pages_root.is_some_and(|(root, _)| root == num) {
                            match (k.as_slice(), b.get(k), v) {
                                (b"Count", Some(Object::Int(was)), Object::Int(now)) => {
                                    count_delta += now - was;
                                    changed_keys.insert(PAGES_APPENDED.to_vec());
                                    continue;
                                }
                                (b"Kids", Some(Object::Array(was)), Object::Array(now)) => {
                                    match appended_pages(r, was, now, idx) {
                                        Some(n) => {
                                            pages_added += n;
                                            changed_keys.insert(PAGES_APPENDED.to_vec());
                                            continue;
                                        }
                                        None => {
                                            return (
                                                ChangeKind::Other,
                                                Some("the page tree was changed".into()),
                                            );
                                        }
                                    }
                                }
                                _ => {}
                            }
                        }
                        let appended = matches!(k.as_slice(), b"Fields" | b"Annots");
                        if appended && !appends_only_sig_fields(r, b.get(k), v, idx, &new_widgets) {
                            return (
                                ChangeKind::Other,
                                Some(format!(
                                    "object {num}: /{} gained something other than a signature field",
                                    String::from_utf8_lossy(k)
                                )),
                            );
                        }
                        changed_keys.insert(k.clone());
                    }
                }
                for (k, _) in &b.0 {
                    if a.get(k).is_none() {
                        changed_keys.insert(k.clone());
                    }
                }
            }
            (Object::Array(b), Object::Array(a))
                if pages_root.is_some_and(|(_, kids)| kids == Some(num)) =>
            {
                match appended_pages(r, b, a, idx) {
                    Some(n) => {
                        pages_added += n;
                        changed_keys.insert(PAGES_APPENDED.to_vec());
                    }
                    None => {
                        return (ChangeKind::Other, Some("the page tree was changed".into()));
                    }
                }
            }
            (Object::Array(b), Object::Array(a)) if a.starts_with(b) => {
                for extra in &a[b.len()..] {
                    if !is_new_sig_field(r, extra, idx, &new_widgets) {
                        return (
                            ChangeKind::Other,
                            Some(format!(
                                "object {num}: an array gained something other than a signature field"
                            )),
                        );
                    }
                }
                changed_keys.insert(b"Fields".to_vec());
            }
            _ if matches!(after, Object::Stream(ref d, _) if d.name_is(b"Type", b"XRef")) => {}
            _ => return (ChangeKind::Other, Some(format!("object {num} was changed"))),
        }
    }
    if pages_added != count_delta {
        return (
            ChangeKind::Other,
            Some("/Count does not match the pages added".into()),
        );
    }
    if changed_keys.iter().all(|k| k == b"DSS") {
        return (ChangeKind::DssOnly, None);
    }
    if let Some(k) = changed_keys
        .iter()
        .find(|k| !SIGNATURE_KEYS.contains(&k.as_slice()))
    {
        return (
            ChangeKind::Other,
            Some(format!("/{} was changed", String::from_utf8_lossy(k))),
        );
    }
    if changed_keys.contains(PAGES_APPENDED) {
        return (ChangeKind::PagesAppended, None);
    }
    (ChangeKind::SignatureAdded, None)
}

/// The page tree root's number as of revision `idx`, and its /Kids array's number when held by
/// reference.
fn page_tree_root(r: &mut Reader<&[u8]>, idx: usize) -> Option<(u32, Option<u32>)> {
    let Some(Object::Ref(root, _)) = r.sections[idx].trailer.get(b"Root").cloned() else {
        return None;
    };
    let Ok(Object::Dict(catalog)) = r.resolve_at(root, idx) else {
        return None;
    };
    let Some(Object::Ref(pages, _)) = catalog.get(b"Pages").cloned() else {
        return None;
    };
    let kids = match r.resolve_at(pages, idx) {
        Ok(Object::Dict(d)) => match d.get(b"Kids") {
            Some(Object::Ref(k, _)) => Some(*k),
            _ => None,
        },
        _ => None,
    };
    Some((pages, kids))
}

/// How many pages `after` appends to `before`, if it only appends pages made in revision `idx`
/// (new objects of /Type /Page without kids of their own).
fn appended_pages(
    r: &mut Reader<&[u8]>,
    before: &[Object],
    after: &[Object],
    idx: usize,
) -> Option<i64> {
    if !after.starts_with(before) {
        return None;
    }
    for extra in &after[before.len()..] {
        let Object::Ref(n, _) = extra else {
            return None;
        };
        if !matches!(r.lookup(*n, idx + 1), None | Some(Entry::Free)) {
            return None;
        }
        match r.resolve_at(*n, idx) {
            Ok(Object::Dict(d)) if d.name_is(b"Type", b"Page") && d.get(b"Kids").is_none() => {}
            _ => return None,
        }
    }
    Some((after.len() - before.len()) as i64)
}

/// `after` is `before` plus signature fields (following references in their revisions).
fn appends_only_sig_fields(
    r: &mut Reader<&[u8]>,
    before: Option<&Object>,
    after: &Object,
    idx: usize,
    new_widgets: &HashSet<u32>,
) -> bool {
    let before = match before {
        None => Vec::new(),
        Some(Object::Array(a)) => a.clone(),
        Some(Object::Ref(n, _)) => match r.resolve_at(*n, idx + 1) {
            Ok(Object::Array(a)) => a,
            _ => return false,
        },
        Some(_) => return false,
    };
    let after = match after {
        Object::Array(a) => a.clone(),
        Object::Ref(n, _) => match r.resolve_at(*n, idx) {
            Ok(Object::Array(a)) => a,
            _ => return false,
        },
        _ => return false,
    };
    after.starts_with(&before)
        && after[before.len()..]
            .iter()
            .all(|o| is_new_sig_field(r, o, idx, new_widgets))
}

fn is_new_sig_field(
    r: &mut Reader<&[u8]>,
    obj: &Object,
    idx: usize,
    new_widgets: &HashSet<u32>,
) -> bool {
    let Object::Ref(n, _) = obj else { return false };
    let is_new = matches!(r.lookup(*n, idx + 1), None | Some(Entry::Free));
    match r.resolve_at(*n, idx) {
        // A signed signature field, or a new unsigned one holding stamped marks as widgets.
        Ok(Object::Dict(d)) if d.name_is(b"FT", b"Sig") => {
            matches!(d.get(b"V"), Some(Object::Ref(..))) || (is_new && d.get(b"V").is_none())
        }
        // A widget of a signature field made in this same revision.
        Ok(Object::Dict(d)) => {
            is_new
                && new_widgets.contains(n)
                && d.name_is(b"Subtype", b"Widget")
                && d.get(b"FT").is_none()
                && d.get(b"T").is_none()
        }
        _ => false,
    }
}

impl VerifyReport {
    /// Renders the report as readable text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let yn = |b: bool| if b { "yes" } else { "NO" };
        let _ = writeln!(
            s,
            "File: {} bytes, {} revision(s), {:?} cross-reference",
            self.file_len, self.revisions, self.xref_kind
        );
        if let Some(d) = &self.dss {
            let _ = writeln!(
                s,
                "DSS: {} certificate(s), {} CRL(s), {} OCSP response(s)",
                d.certs, d.crls, d.ocsps
            );
        }
        if self.signatures.is_empty() {
            let _ = writeln!(s, "No signatures.");
        }
        for sig in &self.signatures {
            let _ = writeln!(
                s,
                "\nSignature {:?} ({})",
                sig.field_name,
                sig.sub_filter.as_deref().unwrap_or("?")
            );
            let _ = writeln!(
                s,
                "  byte range:        {:?} well-formed: {}",
                sig.byte_range,
                yn(sig.byte_range_ok)
            );
            let _ = writeln!(
                s,
                "  covers revision:   {}   whole file: {}",
                yn(sig.covers_revision),
                yn(sig.covers_whole_file)
            );
            let _ = writeln!(
                s,
                "  digest ({}): {}",
                sig.digest_algorithm.as_deref().unwrap_or("?"),
                if sig.digest_matches {
                    "matches"
                } else {
                    "DOES NOT MATCH"
                }
            );
            let _ = writeln!(
                s,
                "  CMS signature:     {}",
                if sig.signature_valid {
                    "valid"
                } else {
                    "INVALID"
                }
            );
            let _ = writeln!(
                s,
                "  signer:            {}",
                sig.signer.as_deref().unwrap_or("?")
            );
            let _ = writeln!(
                s,
                "  trusted:           {} {}",
                yn(sig.trusted),
                sig.chain_error.as_deref().unwrap_or("")
            );
            for c in &sig.chain {
                let _ = writeln!(s, "    - {c}");
            }
            let _ = writeln!(s, "  revocation (DSS):  {}", sig.revocation);
            match &sig.timestamp {
                Some(t) => {
                    let _ = writeln!(
                        s,
                        "  time-stamp:        {} by {} (imprint {}, signature {}, trusted {})",
                        t.time
                            .format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default(),
                        t.tsa.as_deref().unwrap_or("?"),
                        yn(t.imprint_matches),
                        yn(t.signature_valid),
                        yn(t.trusted)
                    );
                }
                None => {
                    let _ = writeln!(s, "  time-stamp:        none");
                }
            }
            for l in &sig.later_revisions {
                let _ = writeln!(
                    s,
                    "  later revision at {}: {:?} {}",
                    l.xref_offset,
                    l.kind,
                    l.detail.as_deref().unwrap_or("")
                );
            }
            let _ = writeln!(
                s,
                "  modified after signing: {}",
                if sig.modified_after_signing {
                    "YES"
                } else {
                    "no"
                }
            );
            for p in &sig.problems {
                let _ = writeln!(s, "  problem: {p}");
            }
            let _ = writeln!(s, "  => {}", if sig.valid { "VALID" } else { "INVALID" });
        }
        let _ = writeln!(
            s,
            "\nOverall: {}",
            if self.valid { "VALID" } else { "INVALID" }
        );
        s
    }
}
