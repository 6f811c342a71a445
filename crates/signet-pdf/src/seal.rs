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
use std::collections::HashSet;

use crate::pdf::doc::{AcroForm, Document};
use crate::pdf::object::write_object;
use crate::pdf::update::Update;
use crate::pdf::{Dict, Object, PdfError, Reader, SeekSource, Source, XrefKind};
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

impl SealError {
    /// Whether trying again later may succeed: the time-stamp authority failed or was
    /// unreachable (nothing was sealed), or the output could not be written.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SealError::Timestamp(_) | SealError::Write(_))
    }
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
    output: W,
    sealer: &Sealer,
    level: Level,
    tsa: Option<&dyn TimestampSource>,
    opts: &SealOptions,
) -> Result<SealReport, SealError> {
    let reserve = check_request(sealer, level, tsa, opts)?;
    let src = SeekSource::new(input).map_err(PdfError::Io)?;
    seal_source(src, output, sealer, level, tsa, opts, reserve)
}

/// [`seal_with`] for a document in memory: parsed where it lies (no window is copied out of
/// it) and written to `output` with one copy, hashed on the way.
pub fn seal_slice_with<W: Write>(
    input: &[u8],
    output: W,
    sealer: &Sealer,
    level: Level,
    tsa: Option<&dyn TimestampSource>,
    opts: &SealOptions,
) -> Result<SealReport, SealError> {
    let reserve = check_request(sealer, level, tsa, opts)?;
    seal_source(input, output, sealer, level, tsa, opts, reserve)
}

/// Seals `doc` in place: the signed revision is appended to it, and the document itself is
/// hashed where it lies, never copied (unless `doc` must grow: give it the capacity of
/// [`output_capacity`]). On error `doc` is left as it was.
pub(crate) fn seal_appending(
    doc: &mut Vec<u8>,
    sealer: &Sealer,
    level: Level,
    tsa: Option<&dyn TimestampSource>,
    opts: &SealOptions,
) -> Result<SealReport, SealError> {
    let reserve = check_request(sealer, level, tsa, opts)?;
    let mut prep = Prepared::new(
        doc.as_slice(),
        cades(sealer),
        opts.field_name.as_deref(),
        reserve,
    )?;
    let mut hasher = DigestAlg::Sha256.hasher();
    prep.src.hash_into(&mut hasher, None)?;
    let digest = prep.digest_with(hasher);
    let signed = sign_digest(&digest, sealer, level, tsa)?;
    let mut report = signed.report(&prep, &digest);
    let (revision, tail) = prep.into_revision(&signed.blob)?;
    let dss = match level {
        Level::BLT => {
            let certs = dss_certs(sealer, signed.token.as_deref());
            let mut buf = Vec::new();
            let tail = write_dss(&mut buf, &tail, &certs, &sealer.crls, &[])?;
            report.dss_certs = certs.len();
            report.dss_crls = sealer.crls.len();
            report.output_len = tail.len;
            buf
        }
        _ => Vec::new(),
    };
    doc.extend_from_slice(&revision);
    doc.extend_from_slice(&dss);
    Ok(report)
}

/// Checks what can be checked before anything is read or written; returns the bytes to
/// reserve for the signature.
fn check_request(
    sealer: &Sealer,
    level: Level,
    tsa: Option<&dyn TimestampSource>,
    opts: &SealOptions,
) -> Result<usize, SealError> {
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
    Ok(reserve_for(sealer, level))
}

fn cades(sealer: &Sealer) -> SigDict {
    SigDict::Cades {
        signing_time: (sealer.clock)(),
    }
}

/// Streams `src` to `output` with its signed revision (and, at B-LT, the /DSS update).
fn seal_source<S: Input, W: Write>(
    src: S,
    mut output: W,
    sealer: &Sealer,
    level: Level,
    tsa: Option<&dyn TimestampSource>,
    opts: &SealOptions,
    reserve: usize,
) -> Result<SealReport, SealError> {
    let mut prep = Prepared::new(src, cades(sealer), opts.field_name.as_deref(), reserve)?;
    let digest = prep.stream(&mut output)?;
    let signed = sign_digest(&digest, sealer, level, tsa)?;
    let mut report = signed.report(&prep, &digest);
    let tail = prep.finish(&mut output, &signed.blob)?;
    if level == Level::BLT {
        let certs = dss_certs(sealer, signed.token.as_deref());
        let mut buf = Vec::new();
        let tail = write_dss(&mut buf, &tail, &certs, &sealer.crls, &[])?;
        output.write_all(&buf).map_err(SealError::Write)?;
        report.dss_certs = certs.len();
        report.dss_crls = sealer.crls.len();
        report.output_len = tail.len;
    }
    output.flush().map_err(SealError::Write)?;
    Ok(report)
}

/// A CMS signature over a document digest, time-stamped below B-B.
struct Signed {
    level: Level,
    blob: Vec<u8>,
    token: Option<Vec<u8>>,
    timestamp: Option<OffsetDateTime>,
}

impl Signed {
    /// The report, before any /DSS update.
    fn report<S>(&self, prep: &Prepared<S>, digest: &[u8]) -> SealReport {
        SealReport {
            level: self.level,
            field_name: prep.field_name.clone(),
            byte_range: prep.byte_range,
            document_digest: hex::encode(digest),
            xref_kind: prep.tail.kind,
            timestamp: self.timestamp,
            dss_certs: 0,
            dss_crls: 0,
            output_len: prep.total,
        }
    }
}

fn sign_digest(
    digest: &[u8],
    sealer: &Sealer,
    level: Level,
    tsa: Option<&dyn TimestampSource>,
) -> Result<Signed, SealError> {
    let chain_der: Vec<&[u8]> = sealer.chain.iter().map(Certificate::der).collect();
    let spec = SignedDataSpec {
        content_type: oids::DATA,
        econtent: None,
        content_digest: digest,
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
    if level == Level::BLT {
        check_revocation_coverage(&dss_certs(sealer, token.as_deref()), &sealer.crls)?;
    }
    Ok(Signed {
        level,
        blob,
        token,
        timestamp,
    })
}

/// Bytes reserved for the CMS blob of a signature by `sealer` at `level`.
fn reserve_for(sealer: &Sealer, level: Level) -> usize {
    if sealer.reserve > 0 {
        sealer.reserve
    } else {
        let certs: usize = sealer.chain.iter().map(|c| c.der().len()).sum();
        certs + 2048 + if level == Level::BB { 0 } else { 16384 }
    }
}

/// A capacity for an in-memory output of sealing `input_len` bytes that the sealed document
/// fits in: the input, the /Contents in hex (twice the reservation), the /DSS for B-LT, and the
/// revision's few objects. A smaller one made the output grow mid-way, copying the whole
/// document again (and, past glibc's 128 KiB threshold, onto freshly mapped pages).
pub(crate) fn output_capacity(input_len: usize, sealer: &Sealer, level: Level) -> usize {
    let dss = if level == Level::BLT {
        let certs: usize = sealer.chain.iter().map(|c| c.der().len()).sum();
        let extra: usize = sealer.extra_certs.iter().map(|c| c.der().len()).sum();
        certs + extra + sealer.crls.iter().map(Vec::len).sum::<usize>() + 16384
    } else {
        0
    };
    input_len + 2 * reserve_for(sealer, level) + dss + 16384
}

/// Convenience wrapper over [`seal`] for in-memory documents.
pub fn seal_bytes(
    input: &[u8],
    sealer: &Sealer,
    level: Level,
    tsa: Option<&dyn TimestampSource>,
) -> Result<(Vec<u8>, SealReport), SealError> {
    let mut out = Vec::with_capacity(output_capacity(input.len(), sealer, level));
    let report = seal_slice_with(input, &mut out, sealer, level, tsa, &SealOptions::default())?;
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

pub(crate) fn check_revocation_coverage(
    certs: &[Vec<u8>],
    crls: &[Vec<u8>],
) -> Result<(), SealError> {
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

/// The signature dictionary to write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SigDict {
    /// A CAdES detached signature (`/Type /Sig`), with `/M`.
    Cades { signing_time: OffsetDateTime },
    /// A document time-stamp (`/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`).
    DocTimestamp,
}

/// What a follow-on incremental update needs to know about the document as it ends.
#[derive(Debug, Clone)]
pub(crate) struct Tail {
    pub kind: XrefKind,
    /// The trailer of the original revision (its /Root, /Info and first /ID are kept).
    pub trailer: Dict,
    pub root: (u32, u16),
    /// The catalog as of the last revision.
    pub catalog: Dict,
    /// The catalog's /DSS, its arrays resolved.
    pub dss: Option<Dict>,
    /// The next free object number.
    pub next_num: u32,
    /// Offset of the last cross-reference section.
    pub startxref: u64,
    /// Length of the document.
    pub len: u64,
}

impl Tail {
    pub(crate) fn from_document<S: crate::pdf::Source>(
        r: &mut Reader<S>,
        doc: &Document,
        len: u64,
    ) -> Result<Self, PdfError> {
        Ok(Self {
            kind: doc.kind,
            trailer: doc.trailer.clone(),
            root: doc.root,
            catalog: doc.catalog.clone(),
            dss: doc.dss(r)?,
            next_num: doc.next_num,
            startxref: doc.startxref,
            len,
        })
    }

    /// The decoded items already in the catalog's /DSS (certificates, CRLs, OCSP responses).
    pub(crate) fn dss_items<S: crate::pdf::Source>(
        &self,
        r: &mut Reader<S>,
    ) -> Result<HashSet<Vec<u8>>, PdfError> {
        let mut out = HashSet::new();
        let Some(dss) = &self.dss else {
            return Ok(out);
        };
        for key in [&b"Certs"[..], b"CRLs", b"OCSPs"] {
            let Some(v) = dss.get(key).cloned() else {
                continue;
            };
            let Object::Array(items) = r.deref(&v)? else {
                continue;
            };
            for item in items {
                if let Object::Stream(d, raw) = r.deref(&item)? {
                    out.insert(crate::pdf::decode_stream(&d, &raw)?);
                }
            }
        }
        Ok(out)
    }
}

/// Appends a /DSS update (new streams added to the existing /DSS arrays) to `out`, after the
/// document described by `tail`; returns the new tail.
pub(crate) fn write_dss(
    out: &mut Vec<u8>,
    tail: &Tail,
    certs: &[Vec<u8>],
    crls: &[Vec<u8>],
    ocsps: &[Vec<u8>],
) -> Result<Tail, SealError> {
    let mut upd = Update::new(tail.len, tail.kind);
    let mut n = tail.next_num;
    // The existing /DSS is written again as a new object, its arrays extended.
    let mut dss = tail.dss.clone().unwrap_or_default();
    let mut add = |key: &[u8], items: &[Vec<u8>], upd: &mut Update, dss: &mut Dict| {
        if items.is_empty() {
            return;
        }
        let mut arr = match dss.get(key) {
            Some(Object::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        for item in items {
            upd.write_stream_obj(n, item);
            arr.push(Object::Ref(n, 0));
            n += 1;
        }
        dss.set(key, Object::Array(arr));
    };
    add(b"Certs", certs, &mut upd, &mut dss);
    add(b"CRLs", crls, &mut upd, &mut dss);
    add(b"OCSPs", ocsps, &mut upd, &mut dss);
    let dss_num = n;
    n += 1;
    upd.write_dict_obj(dss_num, 0, &dss);
    let mut catalog = tail.catalog.clone();
    catalog.set(b"DSS", Object::Ref(dss_num, 0));
    upd.write_dict_obj(tail.root.0, tail.root.1, &catalog);
    upd.finish(&tail.trailer, n, tail.startxref);
    out.extend_from_slice(&upd.buf);
    Ok(Tail {
        catalog,
        dss: Some(dss),
        next_num: n + u32::from(tail.kind == XrefKind::Stream),
        startxref: upd.xref_offset,
        len: tail.len + upd.buf.len() as u64,
        ..tail.clone()
    })
}

/// A document to sign: read at random while its revision is planned, then hashed (and
/// copied out) in one pass.
pub(crate) trait Input: Source {
    /// Hashes the whole input into `hasher`, writing it to `out` on the way if given.
    fn hash_into(
        &mut self,
        hasher: &mut crate::cms::Hasher,
        out: Option<&mut dyn Write>,
    ) -> Result<(), SealError>;
}

impl<R: Read + Seek> Input for SeekSource<R> {
    fn hash_into(
        &mut self,
        hasher: &mut crate::cms::Hasher,
        out: Option<&mut dyn Write>,
    ) -> Result<(), SealError> {
        /// Hashes what it passes on to `out`.
        struct Hashing<'a, 'h> {
            out: Option<&'a mut dyn Write>,
            hasher: &'h mut crate::cms::Hasher,
            /// Whether writing failed (rather than reading the input).
            failed: bool,
        }
        impl Write for Hashing<'_, '_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let n = match &mut self.out {
                    Some(out) => out.write(buf).inspect_err(|_| self.failed = true)?,
                    None => buf.len(),
                };
                self.hasher.update(&buf[..n]);
                Ok(n)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                self.out.as_mut().map_or(Ok(()), |o| o.flush())
            }
        }
        let inner = self.get_mut();
        inner.seek(SeekFrom::Start(0)).map_err(PdfError::Io)?;
        let mut hashing = Hashing {
            out,
            hasher,
            failed: false,
        };
        // `io::copy` goes through a buffer on the stack that it never zeroes (a heap buffer
        // here was allocated and zeroed on every seal).
        match std::io::copy(inner, &mut hashing) {
            Ok(_) => Ok(()),
            Err(e) if hashing.failed => Err(SealError::Write(e)),
            Err(e) => Err(PdfError::Io(e).into()),
        }
    }
}

impl Input for &[u8] {
    fn hash_into(
        &mut self,
        hasher: &mut crate::cms::Hasher,
        out: Option<&mut dyn Write>,
    ) -> Result<(), SealError> {
        match out {
            // In pieces, each hashed right after it is written, while it is still in cache.
            Some(out) => {
                for piece in self.chunks(1 << 16) {
                    out.write_all(piece).map_err(SealError::Write)?;
                    hasher.update(piece);
                }
            }
            None => hasher.update(self),
        }
        Ok(())
    }
}

/// A signature revision written up to its /Contents: the input is then streamed out and
/// hashed ([`Prepared::stream`]) and the signature filled in ([`Prepared::finish`]).
pub(crate) struct Prepared<S> {
    pub src: S,
    upd: Update,
    contents_at: usize,
    contents_end: usize,
    reserve: usize,
    pub field_name: String,
    pub byte_range: [u64; 4],
    /// Length of the document with this revision.
    pub total: u64,
    /// The document after this revision.
    pub tail: Tail,
}

impl<S: Input> Prepared<S> {
    /// Plans the revision: a signature dictionary with placeholders, filling the unsigned
    /// signature field `field_name` if it exists (else a new invisible field on page 1).
    pub(crate) fn new(
        input: S,
        dict: SigDict,
        field_name: Option<&str>,
        reserve: usize,
    ) -> Result<Self, SealError> {
        let mut r = Reader::open(input)?;
        let doc = Document::load(&mut r)?;
        let existing = match field_name {
            Some(name) => match doc.find_field(&mut r, name.as_bytes())? {
                Some((id, d)) if d.name_is(b"FT", b"Sig") && d.get(b"V").is_none() => Some((id, d)),
                Some(_) => return Err(SealError::FieldNotSignable(name.into())),
                None => None,
            },
            None => None,
        };
        let base = r.len;
        let mut upd = Update::new(base, doc.kind);
        // The /Contents placeholder (two hex digits a byte) and a few small objects: sized
        // once, not grown (and copied) mid-way.
        upd.buf.reserve(2 * reserve + 4096);
        let last = r.src.read_at(base - 1, 1).map_err(PdfError::Io)?;
        if !matches!(last.first(), Some(b'\n' | b'\r')) {
            upd.buf.push(b'\n');
        }
        let prefix = match dict {
            SigDict::DocTimestamp => "Archive",
            SigDict::Cades { .. } => "Seal",
        };
        let field_name = field_name
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{prefix}{}", doc.next_num));
        let mut next = doc.next_num;
        let mut alloc = || {
            let n = next;
            next += 1;
            n
        };
        let sig_num = alloc();

        // Signature dictionary with placeholders.
        upd.begin_obj(sig_num);
        match dict {
            SigDict::Cades { signing_time } => {
                upd.buf.extend_from_slice(
                    b"<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M ",
                );
                write_object(
                    &mut upd.buf,
                    &Object::Str(pdf_date(signing_time).into_bytes()),
                );
            }
            SigDict::DocTimestamp => upd.buf.extend_from_slice(
                b"<</Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161",
            ),
        }
        upd.buf.extend_from_slice(b" /ByteRange ");
        let br_at = upd.buf.len();
        upd.buf.extend_from_slice(BR_PLACEHOLDER);
        upd.buf.extend_from_slice(b" /Contents ");
        let contents_at = upd.buf.len();
        upd.buf.push(b'<');
        upd.buf.extend(std::iter::repeat_n(b'0', reserve * 2));
        upd.buf.push(b'>');
        upd.buf.extend_from_slice(b">>");
        upd.end_obj();
        let contents_end = upd.buf.len() - 2 - b"\nendobj\n".len();

        let mut catalog = doc.catalog.clone();
        let mut catalog_dirty = false;
        if let Some((id, mut field)) = existing {
            // Filling the stamped field: only /V changes (and SigFlags if no signature had
            // set it).
            field.set(b"V", Object::Ref(sig_num, 0));
            upd.write_dict_obj(id.0, id.1, &field);
            let with_flags = |af: &Dict| {
                let flags = af.int(b"SigFlags").unwrap_or(0);
                let mut af = af.clone();
                af.set(b"SigFlags", Object::Int(flags | 3));
                (flags & 1 == 0).then_some(af)
            };
            match &doc.acroform {
                AcroForm::Direct(af) => {
                    if let Some(af) = with_flags(af) {
                        catalog.set(b"AcroForm", Object::Dict(af));
                        catalog_dirty = true;
                    }
                }
                AcroForm::Indirect(id, af) => {
                    if let Some(af) = with_flags(af) {
                        upd.write_dict_obj(id.0, id.1, &af);
                    }
                }
                AcroForm::Missing => {}
            }
        } else {
            let page = doc
                .page(&mut r, 0)?
                .ok_or_else(|| PdfError::Malformed("the document has no pages".into()))?;
            let field_num = alloc();
            // The field, merged with its invisible widget.
            let mut field = Dict::default();
            field.set(b"Type", Object::Name(b"Annot".to_vec()));
            field.set(b"Subtype", Object::Name(b"Widget".to_vec()));
            field.set(b"FT", Object::Name(b"Sig".to_vec()));
            field.set(b"T", Object::Str(field_name.clone().into_bytes()));
            field.set(b"V", Object::Ref(sig_num, 0));
            field.set(b"F", Object::Int(132));
            field.set(b"Rect", Object::Array(vec![Object::Int(0); 4]));
            field.set(b"P", Object::Ref(page.id.0, page.id.1));
            // An empty appearance where the document has output intents (PDF/A): PDF/A-1
            // requires one on every widget, invisible ones too, and PDFBox Preflight rejects
            // the file without it. Only there, because pyHanko then classes an archival
            // time-stamp's revision as form filling rather than as an LTA update (both are
            // acceptable modifications).
            if doc.catalog.get(b"OutputIntents").is_some() {
                let ap_num = alloc();
                let mut form = Dict::default();
                form.set(b"Type", Object::Name(b"XObject".to_vec()));
                form.set(b"Subtype", Object::Name(b"Form".to_vec()));
                form.set(b"BBox", Object::Array(vec![Object::Int(0); 4]));
                upd.write_stream_with(ap_num, form, b"");
                let mut ap = Dict::default();
                ap.set(b"N", Object::Ref(ap_num, 0));
                field.set(b"AP", Object::Dict(ap));
            }
            upd.write_dict_obj(field_num, 0, &field);
            let field_ref = Object::Ref(field_num, 0);
            catalog_dirty |= doc.add_field(
                &mut r,
                &mut catalog,
                field_ref.clone(),
                &mut alloc,
                &mut upd,
                true,
            )?;
            doc.append_annots(&mut r, &page, vec![field_ref], &mut upd)?;
        }
        if catalog_dirty {
            upd.write_dict_obj(doc.root.0, doc.root.1, &catalog);
        }
        let size = next;
        upd.finish(&doc.trailer, size, doc.startxref);

        // ByteRange.
        let total = base + upd.buf.len() as u64;
        let c_start = base + contents_at as u64;
        let c_end = base + contents_end as u64;
        let byte_range = [0, c_start, c_end, total - c_end];
        let br = format!("[0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]);
        if br.len() + 1 > BR_PLACEHOLDER.len() {
            return Err(PdfError::Unsupported("documents above 9.9 GB").into());
        }
        let br = format!("{br:<width$}]", width = BR_PLACEHOLDER.len() - 1);
        upd.buf[br_at..br_at + BR_PLACEHOLDER.len()].copy_from_slice(br.as_bytes());
        let tail = Tail {
            kind: doc.kind,
            trailer: doc.trailer.clone(),
            root: doc.root,
            catalog,
            dss: doc.dss(&mut r)?,
            next_num: size + u32::from(doc.kind == XrefKind::Stream),
            startxref: upd.xref_offset,
            len: total,
        };
        Ok(Self {
            src: r.src,
            upd,
            contents_at,
            contents_end,
            reserve,
            field_name,
            byte_range,
            total,
            tail,
        })
    }

    /// Streams the input to `output` while hashing it with the new revision's signed parts, in
    /// one pass; returns the SHA-256 digest of the signed byte range.
    pub(crate) fn stream<W: Write>(&mut self, output: &mut W) -> Result<Vec<u8>, SealError> {
        let mut hasher = DigestAlg::Sha256.hasher();
        self.src.hash_into(&mut hasher, Some(output))?;
        Ok(self.digest_with(hasher))
    }

    /// The digest of the signed byte range, given `hasher` that has hashed the input.
    pub(crate) fn digest_with(&self, mut hasher: crate::cms::Hasher) -> Vec<u8> {
        hasher.update(&self.upd.buf[..self.contents_at]);
        hasher.update(&self.upd.buf[self.contents_end..]);
        hasher.finish()
    }

    /// Puts `blob` into /Contents and writes the revision to `output`.
    pub(crate) fn finish<W: Write>(self, output: &mut W, blob: &[u8]) -> Result<Tail, SealError> {
        let (revision, tail) = self.into_revision(blob)?;
        output.write_all(&revision).map_err(SealError::Write)?;
        Ok(tail)
    }

    /// Puts `blob` into /Contents and returns the revision's bytes (the input is let go of, so
    /// that the revision can be appended to it).
    pub(crate) fn into_revision(mut self, blob: &[u8]) -> Result<(Vec<u8>, Tail), SealError> {
        if blob.len() > self.reserve {
            return Err(SealError::ContentsTooSmall {
                needed: blob.len(),
                reserved: self.reserve,
            });
        }
        let at = self.contents_at + 1;
        // Two lowercase digits a byte, as `hex` writes them, from a table (`hex`'s iterator
        // was a measurable part of a plain seal).
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (pair, b) in self.upd.buf[at..at + 2 * blob.len()]
            .chunks_exact_mut(2)
            .zip(blob)
        {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 15)];
        }
        Ok((self.upd.buf, self.tail))
    }
}

const BR_PLACEHOLDER: &[u8] = b"[0 0000000000 0000000000 0000000000]";
