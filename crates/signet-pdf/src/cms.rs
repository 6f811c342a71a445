//! CMS SignedData (RFC 5652) building and parsing, for PAdES signatures and RFC 3161 tokens.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

use crate::der::{self, DerError, DerResult, Tlv};
use crate::oids;
use crate::pki::{PkiError, SigningKey};

/// A supported digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigestAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlg {
    pub(crate) fn from_oid(oid: &str) -> Option<Self> {
        match oid {
            oids::SHA256 => Some(Self::Sha256),
            oids::SHA384 => Some(Self::Sha384),
            oids::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    pub(crate) fn hasher(self) -> Hasher {
        Hasher(digest::Context::new(match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }))
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

/// An incremental hasher over one of [`DigestAlg`] (aws-lc-rs: several times faster than a
/// portable SHA-256 on CPUs without SHA extensions, and hashing is most of the sealing cost).
pub(crate) struct Hasher(digest::Context);

impl Hasher {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
}

pub(crate) fn sha256_alg_id() -> Vec<u8> {
    der::seq(&[&der::oid(oids::SHA256)])
}

/// The issuer Name (raw DER) and serial INTEGER (raw DER) of a certificate.
pub(crate) fn issuer_and_serial(cert_der: &[u8]) -> DerResult<(&[u8], &[u8])> {
    let cert = der::children_of(Tlv::parse_exact(cert_der)?, der::SEQUENCE)?;
    let tbs = der::children_of(
        *cert.first().ok_or(DerError("empty certificate"))?,
        der::SEQUENCE,
    )?;
    let skip = usize::from(tbs.first().is_some_and(|t| t.tag == 0xA0));
    let serial = tbs
        .get(skip)
        .ok_or(DerError("no serial"))?
        .expect(der::INTEGER)?;
    let issuer = tbs
        .get(skip + 2)
        .ok_or(DerError("no issuer"))?
        .expect(der::SEQUENCE)?;
    Ok((issuer.raw, serial.raw))
}

/// The ESS `SigningCertificateV2` attribute value for `cert_der` (SHA-256, with issuerSerial).
pub(crate) fn signing_certificate_v2(cert_der: &[u8]) -> DerResult<Vec<u8>> {
    let (issuer, serial) = issuer_and_serial(cert_der)?;
    let general_names = der::seq(&[&der::explicit(4, issuer)]);
    let issuer_serial = der::seq(&[&general_names, serial]);
    let cert_id = der::seq(&[
        &der::octets(&DigestAlg::Sha256.digest(cert_der)),
        &issuer_serial,
    ]);
    Ok(der::seq(&[&der::seq(&[&cert_id])]))
}

fn attribute(oid: &str, value: &[u8]) -> Vec<u8> {
    der::seq(&[&der::oid(oid), &der::set_of(vec![value.to_vec()])])
}

/// What to put into a SignedData with one signer.
pub(crate) struct SignedDataSpec<'a> {
    /// eContentType OID.
    pub content_type: &'a str,
    /// Encapsulated content, or `None` for a detached signature.
    pub econtent: Option<&'a [u8]>,
    /// SHA-256 of the content.
    pub content_digest: &'a [u8],
    /// Signer certificate (DER).
    pub signer_cert: &'a [u8],
    /// Certificates to embed (DER), signer included if wanted.
    pub certs: Vec<&'a [u8]>,
}

/// Signed attributes in their signed form (tagged as a SET): contentType, messageDigest,
/// signing-certificate-v2. No signingTime, as PAdES requires.
pub(crate) fn signed_attributes(spec: &SignedDataSpec<'_>) -> DerResult<Vec<u8>> {
    Ok(der::set_of(vec![
        attribute(oids::CONTENT_TYPE, &der::oid(spec.content_type)),
        attribute(oids::MESSAGE_DIGEST, &der::octets(spec.content_digest)),
        attribute(
            oids::SIGNING_CERTIFICATE_V2,
            &signing_certificate_v2(spec.signer_cert)?,
        ),
    ]))
}

/// Assembles the ContentInfo around a computed signature.
pub(crate) fn assemble(
    spec: &SignedDataSpec<'_>,
    signed_attrs: &[u8],
    signature_alg: &[u8],
    signature: &[u8],
    unsigned_attrs: &[(&str, &[u8])],
) -> DerResult<Vec<u8>> {
    let (issuer, serial) = issuer_and_serial(spec.signer_cert)?;
    let sid = der::seq(&[issuer, serial]);
    // [0] IMPLICIT SET OF Attribute: same content, context tag.
    let mut signed_attrs_implicit = signed_attrs.to_vec();
    signed_attrs_implicit[0] = 0xA0;
    let mut signer_info = vec![
        der::small_int(1),
        sid,
        sha256_alg_id(),
        signed_attrs_implicit,
        signature_alg.to_vec(),
        der::octets(signature),
    ];
    if !unsigned_attrs.is_empty() {
        let attrs: Vec<Vec<u8>> = unsigned_attrs
            .iter()
            .map(|(o, v)| attribute(o, v))
            .collect();
        let mut set = der::set_of(attrs);
        set[0] = 0xA1;
        signer_info.push(set);
    }
    let signer_info = der::seq(&signer_info.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let encap = match spec.econtent {
        Some(c) => der::seq(&[
            &der::oid(spec.content_type),
            &der::explicit(0, &der::octets(c)),
        ]),
        None => der::seq(&[&der::oid(spec.content_type)]),
    };
    let version = if spec.content_type == oids::DATA {
        1
    } else {
        3
    };
    let mut parts = vec![
        der::small_int(version),
        der::set_of(vec![sha256_alg_id()]),
        encap,
    ];
    if !spec.certs.is_empty() {
        // Certificates in the given order (signer first), not sorted: a SET OF in BER.
        parts.push(der::tlv(0xA0, &spec.certs.concat()));
    }
    parts.push(der::set_of(vec![signer_info]));
    let signed_data = der::seq(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>());
    Ok(der::seq(&[
        &der::oid(oids::SIGNED_DATA),
        &der::explicit(0, &signed_data),
    ]))
}

/// Builds and signs a complete SignedData, returning (ContentInfo DER, signature value).
pub(crate) fn sign(
    spec: &SignedDataSpec<'_>,
    key: &SigningKey,
    unsigned_attrs: &[(&str, &[u8])],
) -> Result<(Vec<u8>, Vec<u8>), CmsBuildError> {
    let attrs = signed_attributes(spec)?;
    let sig = key.sign(&attrs)?;
    let ci = assemble(
        spec,
        &attrs,
        &key.cms_signature_algorithm(),
        &sig,
        unsigned_attrs,
    )?;
    Ok((ci, sig))
}

/// Failure while building CMS.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CmsBuildError {
    #[error(transparent)]
    Der(#[from] DerError),
    #[error(transparent)]
    Pki(#[from] PkiError),
}

/// A parsed SignedData with its first signer.
#[derive(Debug)]
pub(crate) struct ParsedSignedData<'a> {
    pub econtent_type: String,
    pub econtent: Option<&'a [u8]>,
    pub certs: Vec<&'a [u8]>,
    pub signer_issuer: &'a [u8],
    pub signer_serial: &'a [u8],
    pub digest_alg: String,
    /// The `[0]` signed attributes exactly as encoded, if any.
    pub signed_attrs_raw: Option<&'a [u8]>,
    pub signed_attrs: Vec<(String, Vec<Tlv<'a>>)>,
    pub signature_alg: String,
    pub signature: &'a [u8],
    pub unsigned_attrs: Vec<(String, Vec<Tlv<'a>>)>,
}

fn parse_attrs<'a>(t: &Tlv<'a>) -> DerResult<Vec<(String, Vec<Tlv<'a>>)>> {
    t.children()?
        .into_iter()
        .map(|a| {
            let parts = der::children_of(a, der::SEQUENCE)?;
            let oid = parts
                .first()
                .ok_or(DerError("empty attribute"))?
                .oid_string()?;
            let values = der::children_of(
                *parts.get(1).ok_or(DerError("attribute without values"))?,
                der::SET,
            )?;
            Ok((oid, values))
        })
        .collect()
}

/// Parses a ContentInfo holding SignedData (trailing zero padding, as in /Contents, is allowed).
pub(crate) fn parse_signed_data(input: &[u8]) -> DerResult<ParsedSignedData<'_>> {
    let (ci, rest) = der::read_tlv(input)?;
    if rest.iter().any(|b| *b != 0) {
        return Err(DerError("data after ContentInfo"));
    }
    let ci = der::children_of(ci, der::SEQUENCE)?;
    if ci
        .first()
        .ok_or(DerError("empty ContentInfo"))?
        .oid_string()?
        != oids::SIGNED_DATA
    {
        return Err(DerError("not SignedData"));
    }
    let wrapped = ci.get(1).ok_or(DerError("no content"))?.expect(0xA0)?;
    let sd = der::children_of(Tlv::parse_exact(wrapped.content)?, der::SEQUENCE)?;
    let mut it = sd.into_iter();
    let _version = it
        .next()
        .ok_or(DerError("no version"))?
        .expect(der::INTEGER)?;
    let _digests = it
        .next()
        .ok_or(DerError("no digestAlgorithms"))?
        .expect(der::SET)?;
    let encap = der::children_of(
        it.next().ok_or(DerError("no encapContentInfo"))?,
        der::SEQUENCE,
    )?;
    let econtent_type = encap
        .first()
        .ok_or(DerError("no eContentType"))?
        .oid_string()?;
    let econtent = match encap.get(1) {
        Some(t) => Some(
            Tlv::parse_exact(t.expect(0xA0)?.content)?
                .expect(der::OCTET_STRING)?
                .content,
        ),
        None => None,
    };
    let mut certs = Vec::new();
    let mut next = it.next().ok_or(DerError("no signerInfos"))?;
    if next.tag == 0xA0 {
        certs = next
            .children()?
            .iter()
            .filter(|c| c.tag == der::SEQUENCE)
            .map(|c| c.raw)
            .collect();
        next = it.next().ok_or(DerError("no signerInfos"))?;
    }
    if next.tag == 0xA1 {
        next = it.next().ok_or(DerError("no signerInfos"))?;
    }
    let infos = der::children_of(next, der::SET)?;
    let si = der::children_of(*infos.first().ok_or(DerError("no signer"))?, der::SEQUENCE)?;
    let mut it = si.into_iter();
    let _v = it.next().ok_or(DerError("no signer version"))?;
    let sid = der::children_of(it.next().ok_or(DerError("no sid"))?, der::SEQUENCE)?;
    let signer_issuer = sid
        .first()
        .ok_or(DerError("no issuer"))?
        .expect(der::SEQUENCE)?
        .raw;
    let signer_serial = sid
        .get(1)
        .ok_or(DerError("no serial"))?
        .expect(der::INTEGER)?
        .raw;
    let digest_alg = der::children_of(
        it.next().ok_or(DerError("no digestAlgorithm"))?,
        der::SEQUENCE,
    )?
    .first()
    .ok_or(DerError("empty AlgorithmIdentifier"))?
    .oid_string()?;
    let mut next = it.next().ok_or(DerError("no signatureAlgorithm"))?;
    let (mut signed_attrs_raw, mut signed_attrs) = (None, Vec::new());
    if next.tag == 0xA0 {
        signed_attrs_raw = Some(next.raw);
        signed_attrs = parse_attrs(&next)?;
        next = it.next().ok_or(DerError("no signatureAlgorithm"))?;
    }
    let signature_alg = der::children_of(next, der::SEQUENCE)?
        .first()
        .ok_or(DerError("empty AlgorithmIdentifier"))?
        .oid_string()?;
    let signature = it
        .next()
        .ok_or(DerError("no signature"))?
        .expect(der::OCTET_STRING)?
        .content;
    let unsigned_attrs = match it.next() {
        Some(t) if t.tag == 0xA1 => parse_attrs(&t)?,
        _ => Vec::new(),
    };
    Ok(ParsedSignedData {
        econtent_type,
        econtent,
        certs,
        signer_issuer,
        signer_serial,
        digest_alg,
        signed_attrs_raw,
        signed_attrs,
        signature_alg,
        signature,
        unsigned_attrs,
    })
}

impl<'a> ParsedSignedData<'a> {
    pub(crate) fn signed_attr(&self, oid: &str) -> Option<&Tlv<'a>> {
        self.signed_attrs
            .iter()
            .find(|(o, _)| o == oid)
            .and_then(|(_, v)| v.first())
    }

    pub(crate) fn unsigned_attr(&self, oid: &str) -> Option<&Tlv<'a>> {
        self.unsigned_attrs
            .iter()
            .find(|(o, _)| o == oid)
            .and_then(|(_, v)| v.first())
    }

    /// The embedded certificate matching the signer identifier.
    pub(crate) fn signer_cert(&self) -> Option<&'a [u8]> {
        self.certs.iter().copied().find(|c| {
            issuer_and_serial(c)
                .is_ok_and(|(i, s)| i == self.signer_issuer && s == self.signer_serial)
        })
    }

    /// The messageDigest signed attribute.
    pub(crate) fn message_digest(&self) -> Option<&'a [u8]> {
        self.signed_attr(oids::MESSAGE_DIGEST)
            .and_then(|t| t.expect(der::OCTET_STRING).ok())
            .map(|t| t.content)
    }

    /// Verifies the signature over the signed attributes with `cert_der`'s public key.
    pub(crate) fn verify_signature(&self, cert_der: &[u8]) -> bool {
        let Some(raw) = self.signed_attrs_raw else {
            return false;
        };
        let mut msg = raw.to_vec();
        msg[0] = der::SET;
        let digest = DigestAlg::from_oid(&self.digest_alg);
        verify_with_cert(cert_der, &self.signature_alg, digest, &msg, self.signature)
    }
}

/// Verifies `signature` over `msg` with the public key of `cert_der`.
pub(crate) fn verify_with_cert(
    cert_der: &[u8],
    sig_alg: &str,
    digest: Option<DigestAlg>,
    msg: &[u8],
    sig: &[u8],
) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert_der) else {
        return false;
    };
    let spki = cert.public_key();
    let key_alg = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    let alg: &'static dyn VerificationAlgorithm =
        match (key_alg.as_str(), curve.as_deref(), sig_alg, digest) {
            (oids::EC_PUBLIC_KEY, Some(oids::P256), oids::ECDSA_WITH_SHA256, _) => {
                &signature::ECDSA_P256_SHA256_ASN1
            }
            (oids::EC_PUBLIC_KEY, Some(oids::P256), oids::ECDSA_WITH_SHA384, _) => {
                &signature::ECDSA_P256_SHA384_ASN1
            }
            (oids::EC_PUBLIC_KEY, Some(oids::P256), oids::ECDSA_WITH_SHA512, _) => {
                &signature::ECDSA_P256_SHA512_ASN1
            }
            (oids::EC_PUBLIC_KEY, Some(oids::P384), oids::ECDSA_WITH_SHA256, _) => {
                &signature::ECDSA_P384_SHA256_ASN1
            }
            (oids::EC_PUBLIC_KEY, Some(oids::P384), oids::ECDSA_WITH_SHA384, _) => {
                &signature::ECDSA_P384_SHA384_ASN1
            }
            (oids::RSA_ENCRYPTION, _, oids::SHA256_WITH_RSA, _)
            | (oids::RSA_ENCRYPTION, _, oids::RSA_ENCRYPTION, Some(DigestAlg::Sha256)) => {
                &signature::RSA_PKCS1_2048_8192_SHA256
            }
            (oids::RSA_ENCRYPTION, _, oids::SHA384_WITH_RSA, _)
            | (oids::RSA_ENCRYPTION, _, oids::RSA_ENCRYPTION, Some(DigestAlg::Sha384)) => {
                &signature::RSA_PKCS1_2048_8192_SHA384
            }
            (oids::RSA_ENCRYPTION, _, oids::SHA512_WITH_RSA, _)
            | (oids::RSA_ENCRYPTION, _, oids::RSA_ENCRYPTION, Some(DigestAlg::Sha512)) => {
                &signature::RSA_PKCS1_2048_8192_SHA512
            }
            _ => return false,
        };
    UnparsedPublicKey::new(alg, spki.subject_public_key.data.as_ref())
        .verify(msg, sig)
        .is_ok()
}
