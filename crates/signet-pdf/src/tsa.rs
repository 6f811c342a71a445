//! RFC 3161 time-stamping: a built-in time-stamp authority, and the [`TimestampSource`]
//! abstraction the sealer uses (in-process TSA or an external TSA over HTTP).
//!
//! [`TimestampSource`] is a synchronous trait: sealing is CPU-bound and is expected to run on a
//! blocking thread (e.g. `tokio::task::spawn_blocking`), where the HTTP implementation's
//! blocking client is allowed. Do not call it from inside an async task.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::cms::{self, DigestAlg, SignedDataSpec};
use crate::der::{self, DerError, Tlv};
use crate::oids;
use crate::pki::{Certificate, PkiError, SigningKey};

/// A placeholder TSA policy OID under the ITU-T example arc; operators should configure their own.
pub const DEFAULT_TSA_POLICY: &str = "2.999.3161.1";

/// Errors while obtaining or checking a time-stamp token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The TSA could not be reached or answered with an HTTP error.
    #[error("time-stamp authority unreachable: {0}")]
    Transport(String),
    /// The TSA refused the request.
    #[error("time-stamp request rejected (status {status}): {text}")]
    Rejected {
        /// PKIStatus value.
        status: u64,
        /// Status text or failure info, if any.
        text: String,
    },
    /// The reply or token is malformed.
    #[error("malformed time-stamp reply: {0}")]
    Malformed(String),
    /// The token does not cover the requested digest or echoes the wrong nonce.
    #[error("time-stamp token does not match the request: {0}")]
    Mismatch(&'static str),
    /// Signing the token failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
}

impl From<DerError> for TimestampError {
    fn from(e: DerError) -> Self {
        Self::Malformed(e.to_string())
    }
}

/// Something that returns an RFC 3161 TimeStampToken (a DER CMS ContentInfo) for a SHA-256
/// digest. Implementations must fail rather than return a token over another digest.
pub trait TimestampSource: Send + Sync {
    /// Time-stamps `sha256_digest`, returning the DER TimeStampToken.
    fn timestamp(&self, sha256_digest: &[u8; 32]) -> Result<Vec<u8>, TimestampError>;
}

/// Parsed fields of a TSTInfo.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TstInfo {
    /// TSA policy OID.
    pub policy: String,
    /// Hash algorithm of the message imprint.
    pub imprint_alg: String,
    /// The hashed message.
    pub imprint: Vec<u8>,
    /// Serial number (hex).
    pub serial: String,
    /// Time of stamping (fractional seconds accepted).
    pub gen_time: OffsetDateTime,
    /// Nonce, if any (big-endian magnitude).
    pub nonce: Option<Vec<u8>>,
}

/// Parses the TSTInfo of a token (the eContent of its SignedData).
pub fn parse_token(token: &[u8]) -> Result<TstInfo, TimestampError> {
    let sd = cms::parse_signed_data(token)?;
    if sd.econtent_type != oids::TST_INFO {
        return Err(TimestampError::Malformed(
            "eContentType is not id-ct-TSTInfo".into(),
        ));
    }
    let content = sd
        .econtent
        .ok_or_else(|| TimestampError::Malformed("no TSTInfo".into()))?;
    parse_tst_info(content)
}

pub(crate) fn parse_tst_info(content: &[u8]) -> Result<TstInfo, TimestampError> {
    let f = der::children_of(Tlv::parse_exact(content)?, der::SEQUENCE)?;
    let get = |i: usize| f.get(i).copied().ok_or(DerError("short TSTInfo"));
    let policy = get(1)?.oid_string()?;
    let mi = der::children_of(get(2)?, der::SEQUENCE)?;
    let alg = der::children_of(
        *mi.first().ok_or(DerError("no imprint alg"))?,
        der::SEQUENCE,
    )?;
    let imprint_alg = alg
        .first()
        .ok_or(DerError("no imprint alg"))?
        .oid_string()?;
    let imprint = mi
        .get(1)
        .ok_or(DerError("no imprint"))?
        .expect(der::OCTET_STRING)?
        .content
        .to_vec();
    let serial = hex::encode(get(3)?.uint_bytes()?);
    let gt = get(4)?;
    let gen_time = der::parse_time(gt.tag, gt.content)?;
    let nonce = f[5..]
        .iter()
        .find(|t| t.tag == der::INTEGER)
        .map(|t| t.uint_bytes())
        .transpose()?
        .map(<[u8]>::to_vec);
    Ok(TstInfo {
        policy,
        imprint_alg,
        imprint,
        serial,
        gen_time,
        nonce,
    })
}

/// Checks that `token` is a well-formed TimeStampToken over `digest` (and `nonce`, if given).
pub fn check_token(
    token: &[u8],
    digest: &[u8; 32],
    nonce: Option<&[u8]>,
) -> Result<TstInfo, TimestampError> {
    let info = parse_token(token)?;
    if info.imprint_alg != oids::SHA256 || info.imprint != digest {
        return Err(TimestampError::Mismatch("message imprint"));
    }
    if let Some(n) = nonce {
        let strip = |b: &[u8]| {
            b.iter()
                .skip_while(|x| **x == 0)
                .copied()
                .collect::<Vec<_>>()
        };
        if info.nonce.as_deref().map(strip) != Some(strip(n)) {
            return Err(TimestampError::Mismatch("nonce"));
        }
    }
    Ok(info)
}

type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// A built-in RFC 3161 time-stamp authority.
pub struct TimeStampAuthority {
    key: SigningKey,
    cert: Certificate,
    chain: Vec<Certificate>,
    policy: String,
    clock: Clock,
    millis: bool,
}

impl std::fmt::Debug for TimeStampAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeStampAuthority")
            .field("cert", &self.cert)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Outcome of a request the TSA refuses.
fn rejection(fail_bit: u8, text: &str) -> Vec<u8> {
    // PKIFailureInfo BIT STRING with one bit set.
    let byte = fail_bit / 8;
    let mut bits = vec![0u8; usize::from(byte) + 1];
    bits[usize::from(byte)] = 0x80 >> (fail_bit % 8);
    let unused = 7 - (fail_bit % 8);
    let mut bs = vec![unused];
    bs.extend(bits);
    let status = der::seq(&[
        &der::small_int(2),
        &der::seq(&[&der::tlv(0x0C, text.as_bytes())]),
        &der::tlv(0x03, &bs),
    ]);
    der::seq(&[&status])
}

struct Request<'a> {
    imprint: Tlv<'a>,
    policy: Option<String>,
    nonce: Option<Tlv<'a>>,
    cert_req: bool,
}

fn parse_request(req: &[u8]) -> Result<Request<'_>, DerError> {
    let f = der::children_of(Tlv::parse_exact(req)?, der::SEQUENCE)?;
    if f.first().ok_or(DerError("empty request"))?.small_uint()? != 1 {
        return Err(DerError("unsupported version"));
    }
    let mi = f
        .get(1)
        .ok_or(DerError("no imprint"))?
        .expect(der::SEQUENCE)?;
    let mut r = Request {
        imprint: mi,
        policy: None,
        nonce: None,
        cert_req: false,
    };
    for t in &f[2..] {
        match t.tag {
            der::OID => r.policy = Some(t.oid_string()?),
            der::INTEGER => r.nonce = Some(*t),
            der::BOOLEAN => r.cert_req = t.content.first().is_some_and(|b| *b != 0),
            0xA0 => return Err(DerError("extensions are not supported")),
            _ => return Err(DerError("unexpected field")),
        }
    }
    Ok(r)
}

impl TimeStampAuthority {
    /// A TSA signing with `key`/`cert`; `chain` are issuer certificates added when the client
    /// asks for certificates.
    pub fn new(
        key: SigningKey,
        cert: Certificate,
        chain: Vec<Certificate>,
        policy_oid: &str,
    ) -> Result<Self, PkiError> {
        crate::pki::check_key_matches(&cert, &key)?;
        if der::oid_content(policy_oid).is_empty() || policy_oid.split('.').count() < 2 {
            return Err(PkiError::Generate(format!(
                "invalid policy OID {policy_oid:?}"
            )));
        }
        Ok(Self {
            key,
            cert,
            chain,
            policy: policy_oid.to_owned(),
            // signet-pdf is a library of its own: its default clock is the system's.
            #[allow(clippy::disallowed_methods, reason = "the library's default clock")]
            clock: Arc::new(OffsetDateTime::now_utc),
            millis: false,
        })
    }

    /// Uses `clock` for genTime instead of the system clock.
    pub fn with_clock(
        mut self,
        clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static,
    ) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Writes genTime with millisecond precision (e.g. `20261122101112.345Z`).
    pub fn with_millisecond_precision(mut self) -> Self {
        self.millis = true;
        self
    }

    /// The TSA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// Answers a DER TimeStampReq with a DER TimeStampResp. Malformed or unsupported requests get
    /// a `rejection` response, never an error.
    pub fn respond(&self, request_der: &[u8]) -> Vec<u8> {
        let req = match parse_request(request_der) {
            Ok(r) => r,
            Err(_) => return rejection(2, "bad request"),
        };
        let Ok(imprint) = req.imprint.children() else {
            return rejection(2, "bad message imprint");
        };
        let alg = imprint
            .first()
            .and_then(|a| der::children_of(*a, der::SEQUENCE).ok())
            .and_then(|a| a.first().and_then(|o| o.oid_string().ok()))
            .and_then(|o| DigestAlg::from_oid(&o));
        let hashed = imprint
            .get(1)
            .and_then(|t| t.expect(der::OCTET_STRING).ok());
        match (alg, hashed) {
            (Some(a), Some(h)) if a.digest(b"").len() == h.content.len() => {}
            (None, _) => return rejection(0, "unsupported hash algorithm"),
            _ => return rejection(5, "bad message imprint"),
        }
        if req.policy.as_ref().is_some_and(|p| *p != self.policy) {
            return rejection(15, "unaccepted policy");
        }
        match self.token(req.imprint.raw, req.nonce.map(|n| n.raw), req.cert_req) {
            Ok(token) => der::seq(&[&der::seq(&[&der::small_int(0)]), &token]),
            Err(_) => rejection(25, "system failure"),
        }
    }

    fn gen_time(&self) -> Vec<u8> {
        let now = (self.clock)();
        if !self.millis {
            return der::generalized_time(now);
        }
        let whole = der::generalized_time(now);
        // "YYYYMMDDHHMMSSZ" -> "YYYYMMDDHHMMSS.mmmZ", dropping trailing zeros as DER requires.
        let text = String::from_utf8_lossy(&whole[2..whole.len() - 1]).into_owned();
        let frac = format!("{:03}", now.millisecond());
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            return whole;
        }
        der::tlv(der::GENERALIZED_TIME, format!("{text}.{frac}Z").as_bytes())
    }

    fn token(
        &self,
        imprint_raw: &[u8],
        nonce_raw: Option<&[u8]>,
        cert_req: bool,
    ) -> Result<Vec<u8>, TimestampError> {
        let mut serial = [0u8; 16];
        aws_lc_rs::rand::fill(&mut serial).map_err(|_| PkiError::Crypto)?;
        serial[0] &= 0x7f;
        let accuracy = der::seq(&[&der::small_int(1)]);
        let mut fields = vec![
            der::small_int(1),
            der::oid(&self.policy),
            imprint_raw.to_vec(),
            der::uint(&serial),
            self.gen_time(),
            accuracy,
        ];
        if let Some(n) = nonce_raw {
            fields.push(n.to_vec());
        }
        let tst = der::seq(&fields.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let digest = DigestAlg::Sha256.digest(&tst);
        let mut certs = Vec::new();
        if cert_req {
            certs.push(self.cert.der());
            certs.extend(self.chain.iter().map(Certificate::der));
        }
        let spec = SignedDataSpec {
            content_type: oids::TST_INFO,
            econtent: Some(&tst),
            content_digest: &digest,
            signer_cert: self.cert.der(),
            certs,
        };
        let (ci, _) = cms::sign(&spec, &self.key, &[])
            .map_err(|e| TimestampError::Malformed(e.to_string()))?;
        Ok(ci)
    }
}

/// Builds a DER TimeStampReq for a SHA-256 digest (certReq = true).
pub fn build_request(sha256_digest: &[u8; 32], nonce: Option<&[u8]>) -> Vec<u8> {
    let imprint = der::seq(&[&cms::sha256_alg_id(), &der::octets(sha256_digest)]);
    let mut parts = vec![der::small_int(1), imprint];
    if let Some(n) = nonce {
        parts.push(der::uint(n));
    }
    parts.push(der::boolean(true));
    der::seq(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

/// Extracts the token from a DER TimeStampResp, failing unless the status is granted (0 or 1).
pub fn token_from_response(resp: &[u8]) -> Result<Vec<u8>, TimestampError> {
    let f = der::children_of(Tlv::parse_exact(resp)?, der::SEQUENCE)?;
    let status = der::children_of(*f.first().ok_or(DerError("empty response"))?, der::SEQUENCE)?;
    let code = status.first().ok_or(DerError("no status"))?.small_uint()?;
    if code > 1 {
        let text = status
            .get(1)
            .and_then(|t| t.children().ok())
            .map(|v| {
                v.iter()
                    .map(|s| String::from_utf8_lossy(s.content).into_owned())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        return Err(TimestampError::Rejected { status: code, text });
    }
    Ok(f.get(1)
        .ok_or(DerError("granted without a token"))?
        .raw
        .to_vec())
}

impl TimestampSource for TimeStampAuthority {
    fn timestamp(&self, sha256_digest: &[u8; 32]) -> Result<Vec<u8>, TimestampError> {
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| PkiError::Crypto)?;
        let resp = self.respond(&build_request(sha256_digest, Some(&nonce)));
        let token = token_from_response(&resp)?;
        check_token(&token, sha256_digest, Some(&nonce))?;
        Ok(token)
    }
}

/// An external RFC 3161 TSA reached over HTTP(S) (`application/timestamp-query`).
#[cfg(feature = "http-tsa")]
#[derive(Debug, Clone)]
pub struct HttpTimestampSource {
    url: String,
    client: reqwest::blocking::Client,
}

#[cfg(feature = "http-tsa")]
impl HttpTimestampSource {
    /// A client for the TSA at `url`, with the given request timeout.
    pub fn new(
        url: impl Into<String>,
        timeout: std::time::Duration,
    ) -> Result<Self, TimestampError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| TimestampError::Transport(e.to_string()))?;
        Ok(Self {
            url: url.into(),
            client,
        })
    }
}

#[cfg(feature = "http-tsa")]
impl TimestampSource for HttpTimestampSource {
    fn timestamp(&self, sha256_digest: &[u8; 32]) -> Result<Vec<u8>, TimestampError> {
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| PkiError::Crypto)?;
        let resp = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/timestamp-query")
            .header("Accept", "application/timestamp-reply")
            .body(build_request(sha256_digest, Some(&nonce)))
            .send()
            .and_then(reqwest::blocking::Response::error_for_status)
            .map_err(|e| TimestampError::Transport(e.to_string()))?;
        let body = resp
            .bytes()
            .map_err(|e| TimestampError::Transport(e.to_string()))?;
        let token = token_from_response(&body)?;
        check_token(&token, sha256_digest, Some(&nonce))?;
        Ok(token)
    }
}
