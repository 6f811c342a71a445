//! PAdES sealing: a CMS detached signature (ETSI.CAdES.detached) appended as an incremental
//! update, at level B-B, B-T (signature time-stamp) or B-LT (plus a /DSS update).
//!
//! Cost: the input is read once, streamed to the output while being hashed, and signed with one
//! private-key operation. Only the catalog, the AcroForm, the first page and the objects they
//! need are loaded.

use std::io::{Read, Seek, SeekFrom, Write};

use serde::Serialize;
use time::OffsetDateTime;

use crate::cms::{self, DigestAlg, SignedDataSpec};
use crate::oids;
use crate::pdf::object::write_object;
use crate::pdf::update::Update;
use crate::pdf::{Dict, Object, PdfError, Reader, SeekSource, XrefKind};
use crate::pki::{Certificate, PkiError, SigningKey};
use crate::tsa::{TimestampError, TimestampSource};

/// The PAdES baseline level to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Level {
    /// Basic signature.
    BB,
    /// With a signature time-stamp.
    BT,
    /// With a time-stamp and a /DSS holding the certificates and CRLs.
    BLT,
}

/// Errors from sealing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The input could not be read or parsed.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// Writing the output failed.
    #[error("writing the sealed document failed: {0}")]
    Write(std::io::Error),
    /// B-T and B-LT need a time-stamp source.
    #[error("level {0:?} needs a time-stamp source")]
    TimestampRequired(Level),
    /// The time-stamp could not be obtained; the document is not sealed (no silent downgrade).
    #[error("time-stamping failed: {0}")]
    Timestamp(#[from] TimestampError),
    /// B-LT needs a CRL for every certificate that is not a trust anchor.
    #[error("no revocation information for {0}")]
    MissingRevocationInfo(String),
    /// The signature did not fit into the reserved space.
    #[error("signature needs {needed} bytes but only {reserved} were reserved")]
    ContentsTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes reserved.
        reserved: usize,
    },
    /// A key or certificate problem.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The named field exists but is not an unsigned signature field (or the name is invalid).
    #[error("the field {0:?} cannot be signed")]
    FieldNotSignable(String),
    /// Building the CMS structure failed.
    #[error("building the signature failed: {0}")]
    Cms(String),
}

/// A sealing identity: key, certificate chain (signer first) and revocation material for B-LT.
#[derive(Debug)]
pub struct Sealer {
    key: SigningKey,
    chain: Vec<Certificate>,
    /// DER CRLs covering the signer and TSA chains (used for B-LT).
    pub crls: Vec<Vec<u8>>,
    /// Extra certificates to put into the /DSS (e.g. an external TSA's chain).
    pub extra_certs: Vec<Certificate>,
    /// Bytes reserved for the CMS blob (0 = automatic).
    pub reserve: usize,
    /// The `/M` signing time written into the signature dictionary (not signed in CMS).
    pub clock: fn() -> OffsetDateTime,
}

impl Sealer {
    /// A sealer for `key` with `chain` (signer certificate first, then its issuers).
    pub fn new(key: SigningKey, chain: Vec<Certificate>) -> Result<Self, PkiError> {
        let signer = chain
            .first()
            .ok_or_else(|| PkiError::Certificate("empty chain".into()))?;
        crate::pki::check_key_matches(signer, &key)?;
        Ok(Self {
            key,
            chain,
            crls: Vec::new(),
            extra_certs: Vec::new(),
            reserve: 0,
            #[allow(clippy::disallowed_methods, reason = "the library's default clock")]
            clock: OffsetDateTime::now_utc,
        })
    }

    /// The signer certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.chain[0]
    }
}

/// What [`seal`] did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SealReport {
    /// The level produced.
    pub level: Level,
    /// The signature field's name.
    pub field_name: String,
    /// The /ByteRange of the signature.
    pub byte_range: [u64; 4],
    /// SHA-256 over the signed byte range (hex).
    pub document_digest: String,
    /// The xref kind kept in the update(s).
    pub xref_kind: XrefKind,
    /// The time-stamp's genTime, for B-T and B-LT.
    #[serde(with = "time::serde::rfc3339::option")]
    pub timestamp: Option<OffsetDateTime>,
    /// Number of certificates and CRLs written to the /DSS (B-LT).
    pub dss_certs: usize,
    /// Number of CRLs written to the /DSS (B-LT).
    pub dss_crls: usize,
    /// Length of the output.
    pub output_len: u64,
}

/// Seals `input` into `output`. See the module documentation.
///
/// The input is streamed to `output` before the signature exists (that is what makes sealing a
/// single pass), so on error `output` holds a partial document: write to a temporary file and
/// rename it on success. Key, level and revocation-material problems are detected before
/// anything is written.
pub fn seal<R: Read + Seek, W: Write>(
    input: R,
    output: W,
    sealer: &Sealer,
    level: Level,
    tsa: Option<&dyn TimestampSource>,
) -> Result<SealReport, SealError> {
    seal_with(input, output, sealer, level, tsa, &SealOptions::default())
}

/// Options for [`seal_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SealOptions {
    /// The signature field to sign. An existing unsigned signature field of that name (e.g. the
    /// one [`crate::stamp::stamp`] made, whose widgets then show as the signature) is filled;
    /// otherwise a new invisible field of that name is made. `None`: a new invisible field
    /// named `Seal<n>`.
    pub field_name: Option<String>,
}

impl SealOptions {
    /// Options signing the field `name`.
    pub fn field(name: impl Into<String>) -> Self {
        Self {
            field_name: Some(name.into()),
        }
    }
}

/// [`seal`], choosing the signature field (see [`SealOptions`]).
pub fn seal_with<R: Read + Seek, W: Write>(
    input: R,
    mut output: W,
    sealer: &Sealer,
    level: Level,
    tsa: Option<&dyn TimestampSource>,
    opts: &SealOptions,
) -> Result<SealReport, SealError> {
    if let Some(name) = &opts.field_name
        && (name.is_empty() || name.contains('.') || name.len() > 100)
    {
        return Err(SealError::FieldNotSignable(name.clone()));
    }
    if level != Level::BB && tsa.is_none() {
        return Err(SealError::TimestampRequired(level));
    }
    if level == Level::BLT {
        // Checked again with the TSA's certificates once the token is in.
        check_revocation_coverage(&dss_certs(sealer, None), &sealer.crls)?;
    }
    let mut reader = Reader::open(SeekSource::new(input).map_err(PdfError::Io)?)?;
    let plan = plan_update(&mut reader)?;
    let existing = match &opts.field_name {
        Some(name) => {
            let doc = crate::pdf::doc::Document::load(&mut reader)?;
            match doc.find_field(&mut reader, name.as_bytes())? {
                Some((id, d)) if d.name_is(b"FT", b"Sig") && d.get(b"V").is_none() => Some((id, d)),
                Some(_) => return Err(SealError::FieldNotSignable(name.clone())),
                None => None,
            }
        }
        None => None,
    };
    let base = reader.len;
    let mut src = reader.src.into_inner();

    let reserve = if sealer.reserve > 0 {
        sealer.reserve
    } else {
        let certs: usize = sealer.chain.iter().map(|c| c.der().len()).sum();
        certs + 2048 + if level == Level::BB { 0 } else { 16384 }
    };
    let mut upd = Update::new(base, plan.kind);
    let tail = src_tail(&mut src, base)?;
    if !matches!(tail, b'\n' | b'\r') {
        upd.buf.push(b'\n');
    }
    let field_name = opts
        .field_name
        .clone()
        .unwrap_or_else(|| format!("Seal{}", plan.next_num));
    let sig_num = plan.next_num;
    let field_num = plan.next_num + 1;
    // Filling an existing field needs only the signature dictionary.
    let mut next = plan.next_num + if existing.is_some() { 1 } else { 2 };

    // Signature dictionary with placeholders.
    let now = (sealer.clock)();
    upd.begin_obj(sig_num);
    upd.buf.extend_from_slice(
        b"<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M ",
    );
    write_object(&mut upd.buf, &Object::Str(pdf_date(now).into_bytes()));
    upd.buf.extend_from_slice(b" /ByteRange ");
    let br_at = upd.buf.len();
    upd.buf
        .extend_from_slice(b"[0 0000000000 0000000000 0000000000]");
    upd.buf.extend_from_slice(b" /Contents ");
    let contents_at = upd.buf.len();
    upd.buf.push(b'<');
    upd.buf.extend(std::iter::repeat_n(b'0', reserve * 2));
    upd.buf.push(b'>');
    upd.buf.extend_from_slice(b">>");
    upd.end_obj();
    let contents_end = upd.buf.len() - 2 - b"\nendobj\n".len();

    let mut catalog = plan.catalog.clone();
    let mut catalog_dirty = false;
    if let Some((id, mut field)) = existing {
        // Filling the stamped field: only /V changes (and SigFlags if no signature had set it).
        field.set(b"V", Object::Ref(sig_num, 0));
        upd.write_dict_obj(id.0, id.1, &field);
        let needs_flags = |af: &Dict| af.int(b"SigFlags").unwrap_or(0) & 1 == 0;
        let with_flags = |mut af: Dict| {
            let flags = af.int(b"SigFlags").unwrap_or(0);
            af.set(b"SigFlags", Object::Int(flags | 3));
            af
        };
        match &plan.acroform {
            AcroForm::Direct(af) if needs_flags(af) => {
                catalog.set(b"AcroForm", Object::Dict(with_flags(af.clone())));
                catalog_dirty = true;
            }
            AcroForm::Indirect(id, af) if needs_flags(af) => {
                upd.write_dict_obj(id.0, id.1, &with_flags(af.clone()));
            }
            _ => {}
        }
    } else {
        // The field (merged with its invisible widget).
        let mut field = Dict::default();
        field.set(b"Type", Object::Name(b"Annot".to_vec()));
        field.set(b"Subtype", Object::Name(b"Widget".to_vec()));
        field.set(b"FT", Object::Name(b"Sig".to_vec()));
        field.set(b"T", Object::Str(field_name.clone().into_bytes()));
        field.set(b"V", Object::Ref(sig_num, 0));
        field.set(b"F", Object::Int(132));
        field.set(b"Rect", Object::Array(vec![Object::Int(0); 4]));
        field.set(b"P", Object::Ref(plan.page.0, plan.page.1));
        upd.write_dict_obj(field_num, 0, &field);

        // Re-written objects: catalog / AcroForm / Fields / page / Annots.
        let field_ref = Object::Ref(field_num, 0);
        match &plan.acroform {
            AcroForm::Missing => {
                let af_num = next;
                next += 1;
                let mut af = Dict::default();
                af.set(b"Fields", Object::Array(vec![field_ref.clone()]));
                af.set(b"SigFlags", Object::Int(3));
                upd.write_dict_obj(af_num, 0, &af);
                catalog.set(b"AcroForm", Object::Ref(af_num, 0));
                catalog_dirty = true;
            }
            AcroForm::Direct(af) => {
                let af = add_field(af.clone(), &plan.fields, &field_ref, &mut upd);
                catalog.set(b"AcroForm", Object::Dict(af));
                catalog_dirty = true;
            }
            AcroForm::Indirect(id, af) => {
                let af = add_field(af.clone(), &plan.fields, &field_ref, &mut upd);
                upd.write_dict_obj(id.0, id.1, &af);
            }
        }
        match &plan.annots {
            Annots::Indirect(id, items) => {
                let mut items = items.clone();
                items.push(field_ref.clone());
                upd.write_obj(id.0, id.1, &Object::Array(items));
            }
            Annots::Direct(items) => {
                let mut page = plan.page_dict.clone();
                let mut items = items.clone();
                items.push(field_ref.clone());
                page.set(b"Annots", Object::Array(items));
                upd.write_dict_obj(plan.page.0, plan.page.1, &page);
            }
        }
    }
    if catalog_dirty {
        upd.write_dict_obj(plan.root.0, plan.root.1, &catalog);
    }
    let xref_kind = plan.kind;
    upd.finish(&plan.trailer, next, plan.startxref);

    // ByteRange.
    let total = base + upd.buf.len() as u64;
    let c_start = base + contents_at as u64;
    let c_end = base + contents_end as u64;
    let byte_range = [0, c_start, c_end, total - c_end];
    let br = format!("[0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]);
    let placeholder_len = b"[0 0000000000 0000000000 0000000000]".len();
    if br.len() + 1 > placeholder_len {
        return Err(PdfError::Unsupported("documents above 9.9 GB").into());
    }
    let br = format!("{br:<width$}]", width = placeholder_len - 1);
    upd.buf[br_at..br_at + placeholder_len].copy_from_slice(br.as_bytes());

    // One pass: stream the input to the output while hashing it.
    let mut hasher = DigestAlg::Sha256.hasher();
    src.seek(SeekFrom::Start(0)).map_err(PdfError::Io)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = src.read(&mut buf).map_err(PdfError::Io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output.write_all(&buf[..n]).map_err(SealError::Write)?;
    }
    hasher.update(&upd.buf[..contents_at]);
    hasher.update(&upd.buf[contents_end..]);
    let digest = hasher.finish();

    // CMS.
    let chain_der: Vec<&[u8]> = sealer.chain.iter().map(Certificate::der).collect();
    let spec = SignedDataSpec {
        content_type: oids::DATA,
        econtent: None,
        content_digest: &digest,
        signer_cert: chain_der[0],
        certs: chain_der.clone(),
    };
    let cms_err = |e: crate::der::DerError| SealError::Cms(e.to_string());
    let attrs = cms::signed_attributes(&spec).map_err(cms_err)?;
    let signature = sealer.key.sign(&attrs)?;
    let mut token = None;
    let mut timestamp = None;
    if level != Level::BB {
        let tsa = tsa.ok_or(SealError::TimestampRequired(level))?;
        let imprint: [u8; 32] = DigestAlg::Sha256
            .digest(&signature)
            .try_into()
            .map_err(|_| SealError::Cms("SHA-256 digest of unexpected length".into()))?;
        let t = tsa.timestamp(&imprint)?;
        let info = crate::tsa::check_token(&t, &imprint, None)?;
        timestamp = Some(info.gen_time);
        token = Some(t);
    }
    let unsigned: Vec<(&str, &[u8])> = token
        .iter()
        .map(|t| (oids::SIGNATURE_TIME_STAMP_TOKEN, t.as_slice()))
        .collect();
    let blob = cms::assemble(
        &spec,
        &attrs,
        &sealer.key.cms_signature_algorithm(),
        &signature,
        &unsigned,
    )
    .map_err(cms_err)?;
    if blob.len() > reserve {
        return Err(SealError::ContentsTooSmall {
            needed: blob.len(),
            reserved: reserve,
        });
    }
    let hex = hex::encode(&blob);
    upd.buf[contents_at + 1..contents_at + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    if level == Level::BLT {
        check_revocation_coverage(&dss_certs(sealer, token.as_deref()), &sealer.crls)?;
    }
    output.write_all(&upd.buf).map_err(SealError::Write)?;

    let mut report = SealReport {
        level,
        field_name,
        byte_range,
        document_digest: hex::encode(&digest),
        xref_kind,
        timestamp,
        dss_certs: 0,
        dss_crls: 0,
        output_len: total,
    };

    if level == Level::BLT {
        let certs = dss_certs(sealer, token.as_deref());
        let mut plan2 = plan.clone();
        plan2.startxref = upd.xref_offset;
        plan2.next_num = next + u32::from(plan.kind == XrefKind::Stream);
        let mut catalog2 = if catalog_dirty {
            catalog
        } else {
            plan.catalog.clone()
        };
        let mut upd2 = Update::new(total, plan.kind);
        let mut n = plan2.next_num;
        let mut dss = match &plan.dss {
            Some(d) => d.clone(),
            None => Dict::default(),
        };
        let mut add_streams = |key: &[u8], items: &[Vec<u8>], upd2: &mut Update| {
            let mut arr = match dss.get(key) {
                Some(Object::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            for item in items {
                upd2.write_stream_obj(n, item);
                arr.push(Object::Ref(n, 0));
                n += 1;
            }
            dss.set(key, Object::Array(arr));
        };
        add_streams(b"Certs", &certs, &mut upd2);
        add_streams(b"CRLs", &sealer.crls, &mut upd2);
        let dss_num = n;
        n += 1;
        upd2.write_dict_obj(dss_num, 0, &dss);
        catalog2.set(b"DSS", Object::Ref(dss_num, 0));
        upd2.write_dict_obj(plan.root.0, plan.root.1, &catalog2);
        upd2.finish(&plan2.trailer, n, upd.xref_offset);
        output.write_all(&upd2.buf).map_err(SealError::Write)?;
        report.dss_certs = certs.len();
        report.dss_crls = sealer.crls.len();
        report.output_len = total + upd2.buf.len() as u64;
    }
    output.flush().map_err(SealError::Write)?;
    Ok(report)
}

/// Convenience wrapper over [`seal`] for in-memory documents.
pub fn seal_bytes(
    input: &[u8],
    sealer: &Sealer,
    level: Level,
    tsa: Option<&dyn TimestampSource>,
) -> Result<(Vec<u8>, SealReport), SealError> {
    let mut out = Vec::with_capacity(input.len() + 40_000);
    let report = seal(std::io::Cursor::new(input), &mut out, sealer, level, tsa)?;
    Ok((out, report))
}

/// Certificates for the /DSS: the signer chain, extra certificates and those in the token.
fn dss_certs(sealer: &Sealer, token: Option<&[u8]>) -> Vec<Vec<u8>> {
    let mut certs: Vec<Vec<u8>> = Vec::new();
    let mut push = |c: &[u8]| {
        if !certs.iter().any(|x| x == c) {
            certs.push(c.to_vec());
        }
    };
    sealer.chain.iter().for_each(|c| push(c.der()));
    sealer.extra_certs.iter().for_each(|c| push(c.der()));
    if let Some(sd) = token.and_then(|t| cms::parse_signed_data(t).ok()) {
        sd.certs.iter().for_each(|c| push(c));
    }
    certs
}

fn check_revocation_coverage(certs: &[Vec<u8>], crls: &[Vec<u8>]) -> Result<(), SealError> {
    let crl_issuers: Vec<Vec<u8>> = crls
        .iter()
        .filter_map(|c| {
            x509_parser::parse_x509_crl(c)
                .ok()
                .map(|(_, crl)| crl.issuer().as_raw().to_vec())
        })
        .collect();
    for c in certs {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(c) else {
            return Err(PkiError::Certificate("unparsable certificate".into()).into());
        };
        let self_issued = cert.issuer().as_raw() == cert.subject().as_raw();
        if !self_issued && !crl_issuers.iter().any(|i| i == cert.issuer().as_raw()) {
            return Err(SealError::MissingRevocationInfo(cert.subject().to_string()));
        }
    }
    Ok(())
}

fn src_tail<R: Read + Seek>(src: &mut R, len: u64) -> Result<u8, SealError> {
    src.seek(SeekFrom::Start(len - 1)).map_err(PdfError::Io)?;
    let mut b = [0u8; 1];
    src.read_exact(&mut b).map_err(PdfError::Io)?;
    Ok(b[0])
}

fn pdf_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn add_field(mut af: Dict, fields: &Fields, field_ref: &Object, upd: &mut Update) -> Dict {
    match fields {
        Fields::Indirect(id, items) => {
            let mut items = items.clone();
            items.push(field_ref.clone());
            upd.write_obj(id.0, id.1, &Object::Array(items));
        }
        Fields::Direct(items) => {
            let mut items = items.clone();
            items.push(field_ref.clone());
            af.set(b"Fields", Object::Array(items));
        }
    }
    // Once a signature has set SignaturesExist, leave SigFlags alone: changing it after a
    // signature counts as a modification to validators.
    let flags = af.int(b"SigFlags").unwrap_or(0);
    if flags & 1 == 0 {
        af.set(b"SigFlags", Object::Int(flags | 3));
    }
    af
}

#[derive(Debug, Clone)]
enum AcroForm {
    Missing,
    Direct(Dict),
    Indirect((u32, u16), Dict),
}

#[derive(Debug, Clone)]
enum Fields {
    Direct(Vec<Object>),
    Indirect((u32, u16), Vec<Object>),
}

#[derive(Debug, Clone)]
enum Annots {
    Direct(Vec<Object>),
    Indirect((u32, u16), Vec<Object>),
}

/// Everything the update needs from the input.
#[derive(Debug, Clone)]
struct Plan {
    kind: XrefKind,
    startxref: u64,
    trailer: Dict,
    root: (u32, u16),
    catalog: Dict,
    acroform: AcroForm,
    fields: Fields,
    page: (u32, u16),
    page_dict: Dict,
    annots: Annots,
    dss: Option<Dict>,
    next_num: u32,
}

fn malformed(msg: &str) -> PdfError {
    PdfError::Malformed(msg.to_owned())
}

fn plan_update<S: crate::pdf::Source>(r: &mut Reader<S>) -> Result<Plan, PdfError> {
    let trailer = r.trailer().clone();
    let Some(Object::Ref(rn, rg)) = trailer.get(b"Root").cloned() else {
        return Err(malformed("trailer without /Root"));
    };
    let size = trailer
        .int(b"Size")
        .ok_or_else(|| malformed("trailer without /Size"))?;
    let max_known = r
        .sections
        .iter()
        .flat_map(|s| s.entries.keys().copied())
        .max()
        .unwrap_or(0);
    let next_num = u32::try_from(size)
        .map_err(|_| malformed("bad /Size"))?
        .max(max_known.saturating_add(1));
    if next_num > u32::MAX - 1000 {
        return Err(malformed("too many objects"));
    }
    let catalog = r.resolve_dict(rn)?;
    let acroform = match catalog.get(b"AcroForm") {
        None | Some(Object::Null) => AcroForm::Missing,
        Some(Object::Dict(d)) => AcroForm::Direct(d.clone()),
        Some(Object::Ref(n, g)) => match r.resolve(*n)? {
            Object::Dict(d) => AcroForm::Indirect((*n, *g), d),
            Object::Null => AcroForm::Missing,
            _ => return Err(malformed("/AcroForm is not a dictionary")),
        },
        Some(_) => return Err(malformed("/AcroForm is not a dictionary")),
    };
    let fields = match &acroform {
        AcroForm::Missing => Fields::Direct(Vec::new()),
        AcroForm::Direct(d) | AcroForm::Indirect(_, d) => match d.get(b"Fields") {
            Some(Object::Ref(n, g)) => match r.resolve(*n)? {
                Object::Array(a) => Fields::Indirect((*n, *g), a),
                _ => return Err(malformed("/Fields is not an array")),
            },
            Some(Object::Array(a)) => Fields::Direct(a.clone()),
            _ => Fields::Direct(Vec::new()),
        },
    };
    // First page.
    let mut node = match catalog.get(b"Pages") {
        Some(Object::Ref(n, g)) => (*n, *g),
        _ => return Err(malformed("catalog without /Pages")),
    };
    let mut depth = 0;
    let page_dict = loop {
        let d = r.resolve_dict(node.0)?;
        if d.name_is(b"Type", b"Page") || (d.get(b"Kids").is_none() && d.get(b"Contents").is_some())
        {
            break d;
        }
        let kids = r.deref(d.get(b"Kids").unwrap_or(&Object::Null))?;
        node = match kids {
            Object::Array(a) => match a.first() {
                Some(Object::Ref(n, g)) => (*n, *g),
                _ => return Err(malformed("empty page tree")),
            },
            _ => return Err(malformed("page tree node without /Kids")),
        };
        depth += 1;
        if depth > 64 {
            return Err(malformed("page tree too deep"));
        }
    };
    let annots = match page_dict.get(b"Annots") {
        Some(Object::Ref(n, g)) => match r.resolve(*n)? {
            Object::Array(a) => Annots::Indirect((*n, *g), a),
            _ => Annots::Direct(Vec::new()),
        },
        Some(Object::Array(a)) => Annots::Direct(a.clone()),
        _ => Annots::Direct(Vec::new()),
    };
    let dss = match catalog.get(b"DSS") {
        Some(o) => match r.deref(&o.clone())? {
            Object::Dict(mut d) => {
                for key in [&b"Certs"[..], b"CRLs", b"OCSPs"] {
                    if let Some(v) = d.get(key).cloned() {
                        let v = r.deref(&v)?;
                        d.set(key, v);
                    }
                }
                Some(d)
            }
            _ => None,
        },
        None => None,
    };
    Ok(Plan {
        kind: r.kind(),
        startxref: r.startxref,
        trailer,
        root: (rn, rg),
        catalog,
        acroform,
        fields,
        page: node,
        page_dict,
        annots,
        dss,
        next_num,
    })
}
