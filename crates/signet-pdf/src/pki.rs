//! The instance PKI: a root CA, a document-sealing certificate, a TSA certificate and a CRL,
//! all generated here or loaded from operator-provided PEM.
//!
//! Private-key operations go through aws-lc-rs (constant-time; never the `rsa` crate).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CustomExtension, DistinguishedName, DnType, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::der;

/// Errors from generating or loading key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The PEM text could not be parsed or had the wrong label.
    #[error("invalid PEM: {0}")]
    Pem(String),
    /// The key is malformed or of an unsupported type.
    #[error("unsupported or malformed private key: {0}")]
    Key(String),
    /// The certificate is malformed.
    #[error("malformed certificate: {0}")]
    Certificate(String),
    /// The private key does not match the certificate.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    /// Certificate or CRL generation failed.
    #[error("certificate generation failed: {0}")]
    Generate(String),
    /// The random number generator or signing primitive failed.
    #[error("cryptographic operation failed")]
    Crypto,
}

/// The algorithm of a [`SigningKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 with SHA-256.
    EcdsaP256,
    /// RSA PKCS#1 v1.5 with SHA-256 (aws-lc-rs, constant-time).
    RsaPkcs1Sha256,
}

enum KeyInner {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private key used for sealing, time-stamping or issuing.
pub struct SigningKey {
    inner: KeyInner,
    pkcs8: Vec<u8>,
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        // The key pair itself is freed (and cleansed) by aws-lc; this copy is ours to wipe.
        zeroize::Zeroize::zeroize(&mut self.pkcs8);
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh ECDSA P-256 key.
    pub fn generate_p256() -> Result<Self, PkiError> {
        // Generated as a key pair and serialised, rather than generated as PKCS#8 and parsed:
        // parsing checks the key with a scalar multiplication, as costly as a signature.
        let k = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .map_err(|_| PkiError::Crypto)?;
        let pkcs8 = k.to_pkcs8v1().map_err(|_| PkiError::Crypto)?;
        Ok(Self {
            pkcs8: pkcs8.as_ref().to_vec(),
            inner: KeyInner::Ec(k),
        })
    }

    /// Loads a PKCS#8 DER private key (ECDSA P-256 or RSA).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, PkiError> {
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der) {
            return Ok(Self {
                inner: KeyInner::Ec(k),
                pkcs8: der.to_vec(),
            });
        }
        match RsaKeyPair::from_pkcs8(der) {
            Ok(k) => Ok(Self {
                inner: KeyInner::Rsa(k),
                pkcs8: der.to_vec(),
            }),
            Err(e) => Err(PkiError::Key(format!(
                "neither ECDSA P-256 nor RSA PKCS#8: {e}"
            ))),
        }
    }

    /// Loads a PEM private key: `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` (SEC1, P-256) or
    /// `RSA PRIVATE KEY` (PKCS#1).
    pub fn from_pem(pem_text: &str) -> Result<Self, PkiError> {
        let p = pem::parse(pem_text).map_err(|e| PkiError::Pem(e.to_string()))?;
        match p.tag() {
            "PRIVATE KEY" => Self::from_pkcs8_der(p.contents()),
            "EC PRIVATE KEY" => {
                let k = EcdsaKeyPair::from_private_key_der(
                    &ECDSA_P256_SHA256_ASN1_SIGNING,
                    p.contents(),
                )
                .map_err(|e| PkiError::Key(e.to_string()))?;
                let pkcs8 = k.to_pkcs8v1().map_err(|_| PkiError::Crypto)?;
                Self::from_pkcs8_der(pkcs8.as_ref())
            }
            "RSA PRIVATE KEY" => {
                let k =
                    RsaKeyPair::from_der(p.contents()).map_err(|e| PkiError::Key(e.to_string()))?;
                let pkcs8 =
                    aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&k)
                        .map_err(|_| PkiError::Crypto)?;
                Self::from_pkcs8_der(pkcs8.as_ref())
            }
            other => Err(PkiError::Pem(format!("unexpected PEM label {other:?}"))),
        }
    }

    /// The key as PKCS#8 PEM (`PRIVATE KEY`). Treat the result as a secret.
    pub fn to_pkcs8_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8.clone()))
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.inner {
            KeyInner::Ec(_) => KeyAlgorithm::EcdsaP256,
            KeyInner::Rsa(_) => KeyAlgorithm::RsaPkcs1Sha256,
        }
    }

    /// The raw public key bits as they appear in a certificate's SubjectPublicKeyInfo.
    pub(crate) fn public_key_bits(&self) -> Vec<u8> {
        match &self.inner {
            KeyInner::Ec(k) => k.public_key().as_ref().to_vec(),
            KeyInner::Rsa(k) => k.public_key().as_ref().to_vec(),
        }
    }

    /// Signs `msg` (hashing it with SHA-256 as part of the algorithm).
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, PkiError> {
        let rng = SystemRandom::new();
        match &self.inner {
            KeyInner::Ec(k) => Ok(k
                .sign(&rng, msg)
                .map_err(|_| PkiError::Crypto)?
                .as_ref()
                .to_vec()),
            KeyInner::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| PkiError::Crypto)?;
                Ok(sig)
            }
        }
    }

    /// The CMS `signatureAlgorithm` AlgorithmIdentifier for this key.
    pub(crate) fn cms_signature_algorithm(&self) -> Vec<u8> {
        match self.inner {
            KeyInner::Ec(_) => der::seq(&[&der::oid(crate::oids::ECDSA_WITH_SHA256)]),
            KeyInner::Rsa(_) => der::seq(&[&der::oid(crate::oids::SHA256_WITH_RSA), &der::null()]),
        }
    }

    /// This key as rcgen sees it: signing goes to the aws-lc key pair already loaded, so issuing
    /// a certificate parses no key again (each parse of an EC key checks it with a scalar
    /// multiplication, which cost as much as a signature per act).
    fn rcgen(&self) -> RcgenKey<'_> {
        RcgenKey(self)
    }
}

/// A borrowed [`SigningKey`] implementing rcgen's key traits.
struct RcgenKey<'a>(&'a SigningKey);

impl rcgen::PublicKeyData for RcgenKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        match &self.0.inner {
            KeyInner::Ec(k) => k.public_key().as_ref(),
            KeyInner::Rsa(k) => k.public_key().as_ref(),
        }
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        match self.0.inner {
            KeyInner::Ec(_) => &PKCS_ECDSA_P256_SHA256,
            KeyInner::Rsa(_) => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

impl rcgen::SigningKey for RcgenKey<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0.sign(msg).map_err(|_| rcgen::Error::RingUnspecified)
    }
}

/// An X.509 certificate (DER), validated to parse on construction.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .finish()
    }
}

impl Certificate {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, PkiError> {
        let (rest, _) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| PkiError::Certificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(PkiError::Certificate("trailing data".into()));
        }
        Ok(Self { der: der.to_vec() })
    }

    /// Parses one `CERTIFICATE` PEM block.
    pub fn from_pem(pem_text: &str) -> Result<Self, PkiError> {
        let p = pem::parse(pem_text).map_err(|e| PkiError::Pem(e.to_string()))?;
        if p.tag() != "CERTIFICATE" {
            return Err(PkiError::Pem(format!(
                "expected CERTIFICATE, got {:?}",
                p.tag()
            )));
        }
        Self::from_der(p.contents())
    }

    /// Parses every `CERTIFICATE` block of a PEM bundle, in order.
    pub fn chain_from_pem(pem_text: &str) -> Result<Vec<Self>, PkiError> {
        let blocks = pem::parse_many(pem_text).map_err(|e| PkiError::Pem(e.to_string()))?;
        blocks
            .iter()
            .filter(|p| p.tag() == "CERTIFICATE")
            .map(|p| Self::from_der(p.contents()))
            .collect()
    }

    /// The certificate as PEM.
    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", self.der.clone()))
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject distinguished name, as text.
    pub fn subject(&self) -> String {
        x509_parser::parse_x509_certificate(&self.der)
            .map(|(_, c)| c.subject().to_string())
            .unwrap_or_default()
    }

    pub(crate) fn public_key_bits(&self) -> Vec<u8> {
        x509_parser::parse_x509_certificate(&self.der)
            .map(|(_, c)| c.public_key().subject_public_key.data.to_vec())
            .unwrap_or_default()
    }
}

/// Parses a CRL from PEM (`X509 CRL`) into DER, checking that it parses.
pub fn crl_from_pem(pem_text: &str) -> Result<Vec<u8>, PkiError> {
    let p = pem::parse(pem_text).map_err(|e| PkiError::Pem(e.to_string()))?;
    if p.tag() != "X509 CRL" {
        return Err(PkiError::Pem(format!(
            "expected X509 CRL, got {:?}",
            p.tag()
        )));
    }
    x509_parser::parse_x509_crl(p.contents()).map_err(|e| PkiError::Certificate(e.to_string()))?;
    Ok(p.contents().to_vec())
}

/// Renders a DER CRL as PEM.
pub fn crl_to_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("X509 CRL", der.to_vec()))
}

/// Options for [`InstancePki::generate`].
#[derive(Debug, Clone)]
pub struct PkiOptions {
    /// The organisation name placed in the subjects, e.g. `"Signet example.org"`.
    pub organization: String,
    /// The CRL distribution point URL, e.g. `https://sign.example.org/v1/pki/crl`.
    pub crl_url: String,
    /// Issue time (`notBefore` and the CRL's `thisUpdate`).
    pub now: OffsetDateTime,
    /// Lifetime of the root certificate.
    pub root_validity: Duration,
    /// Lifetime of the sealing and TSA certificates.
    pub leaf_validity: Duration,
    /// Time between the CRL's `thisUpdate` and `nextUpdate`.
    pub crl_validity: Duration,
}

impl PkiOptions {
    /// Defaults: root 20 years, leaves 10 years, CRL 30 days.
    pub fn new(
        organization: impl Into<String>,
        crl_url: impl Into<String>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            organization: organization.into(),
            crl_url: crl_url.into(),
            now,
            root_validity: Duration::days(365 * 20),
            leaf_validity: Duration::days(365 * 10),
            crl_validity: Duration::days(30),
        }
    }
}

/// The instance PKI in PEM form, for storage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InstancePkiPem {
    /// Root CA certificate.
    pub root_cert: String,
    /// Root CA private key (PKCS#8). Secret.
    pub root_key: String,
    /// Document-sealing certificate.
    pub sealing_cert: String,
    /// Document-sealing private key (PKCS#8). Secret.
    pub sealing_key: String,
    /// TSA certificate.
    pub tsa_cert: String,
    /// TSA private key (PKCS#8). Secret.
    pub tsa_key: String,
    /// The current CRL of the root.
    pub crl: String,
}

/// A root CA with a sealing certificate, a TSA certificate and the root's CRL.
#[derive(Debug)]
pub struct InstancePki {
    /// Root CA certificate (the trust anchor).
    pub root_cert: Certificate,
    /// Root CA key.
    pub root_key: SigningKey,
    /// Sealing certificate (digitalSignature + nonRepudiation).
    pub sealing_cert: Certificate,
    /// Sealing key.
    pub sealing_key: SigningKey,
    /// TSA certificate (critical EKU id-kp-timeStamping).
    pub tsa_cert: Certificate,
    /// TSA key.
    pub tsa_key: SigningKey,
    /// DER CRL issued by the root.
    pub crl: Vec<u8>,
}

fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Crypto)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

fn gen_err(e: rcgen::Error) -> PkiError {
    PkiError::Generate(e.to_string())
}

impl InstancePki {
    /// Generates a fresh PKI with ECDSA P-256 keys.
    pub fn generate(opts: &PkiOptions) -> Result<Self, PkiError> {
        let root_key = SigningKey::generate_p256()?;
        let sealing_key = SigningKey::generate_p256()?;
        let tsa_key = SigningKey::generate_p256()?;
        let not_before = opts.now - Duration::minutes(5);
        let cdp = vec![CrlDistributionPoint {
            uris: vec![opts.crl_url.clone()],
        }];
        let name = |cn: &str| {
            let mut dn = DistinguishedName::new();
            dn.push(DnType::OrganizationName, opts.organization.as_str());
            dn.push(DnType::CommonName, format!("{} {cn}", opts.organization));
            dn
        };

        let mut root = CertificateParams::default();
        root.distinguished_name = name("Root CA");
        root.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        root.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        root.not_before = not_before;
        root.not_after = opts.now + opts.root_validity;
        root.serial_number = Some(random_serial()?);
        root.key_identifier_method = KeyIdMethod::Sha256;
        let root_cert = root.self_signed(&root_key.rcgen()).map_err(gen_err)?;
        let issuer = Issuer::new(root, root_key.rcgen());

        let leaf = |cn: &str| -> Result<CertificateParams, PkiError> {
            let mut p = CertificateParams::default();
            p.distinguished_name = name(cn);
            p.not_before = not_before;
            p.not_after = opts.now + opts.leaf_validity;
            p.serial_number = Some(random_serial()?);
            p.crl_distribution_points = cdp.clone();
            p.use_authority_key_identifier_extension = true;
            Ok(p)
        };
        let mut sealing = leaf("Document Sealing")?;
        sealing.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        let sealing_cert = sealing
            .signed_by(&sealing_key.rcgen(), &issuer)
            .map_err(gen_err)?;

        let mut tsa = leaf("Time Stamping")?;
        tsa.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // rcgen writes EKU as non-critical; RFC 3161 requires it critical, so write it ourselves.
        let eku = der::seq(&[&der::oid(crate::oids::KP_TIME_STAMPING)]);
        let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 37], eku);
        ext.set_criticality(true);
        tsa.custom_extensions.push(ext);
        let tsa_cert = tsa.signed_by(&tsa_key.rcgen(), &issuer).map_err(gen_err)?;

        let crl = crl_params(opts.now, opts.now + opts.crl_validity, 1)?
            .signed_by(&issuer)
            .map_err(gen_err)?;
        Ok(Self {
            root_cert: Certificate::from_der(root_cert.der())?,
            root_key,
            sealing_cert: Certificate::from_der(sealing_cert.der())?,
            sealing_key,
            tsa_cert: Certificate::from_der(tsa_cert.der())?,
            tsa_key,
            crl: crl.der().to_vec(),
        })
    }

    /// Issues a new (empty) CRL signed by the root, e.g. before the current one expires.
    pub fn issue_crl(
        &self,
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
        number: u64,
    ) -> Result<Vec<u8>, PkiError> {
        let cert_der = rustls_pki_types::CertificateDer::from(self.root_cert.der().to_vec());
        let issuer = Issuer::from_ca_cert_der(&cert_der, self.root_key.rcgen()).map_err(gen_err)?;
        let crl = crl_params(this_update, next_update, number)?
            .signed_by(&issuer)
            .map_err(gen_err)?;
        Ok(crl.der().to_vec())
    }

    /// Exports everything as PEM.
    pub fn to_pem(&self) -> InstancePkiPem {
        InstancePkiPem {
            root_cert: self.root_cert.to_pem(),
            root_key: self.root_key.to_pkcs8_pem(),
            sealing_cert: self.sealing_cert.to_pem(),
            sealing_key: self.sealing_key.to_pkcs8_pem(),
            tsa_cert: self.tsa_cert.to_pem(),
            tsa_key: self.tsa_key.to_pkcs8_pem(),
            crl: crl_to_pem(&self.crl),
        }
    }

    /// Loads a PKI from PEM (generated here or provided by the operator), checking that each
    /// key matches its certificate.
    pub fn from_pem(p: &InstancePkiPem) -> Result<Self, PkiError> {
        let pair = |c: &str, k: &str| -> Result<(Certificate, SigningKey), PkiError> {
            let cert = Certificate::from_pem(c)?;
            let key = SigningKey::from_pem(k)?;
            check_key_matches(&cert, &key)?;
            Ok((cert, key))
        };
        let (root_cert, root_key) = pair(&p.root_cert, &p.root_key)?;
        let (sealing_cert, sealing_key) = pair(&p.sealing_cert, &p.sealing_key)?;
        let (tsa_cert, tsa_key) = pair(&p.tsa_cert, &p.tsa_key)?;
        Ok(Self {
            root_cert,
            root_key,
            sealing_cert,
            sealing_key,
            tsa_cert,
            tsa_key,
            crl: crl_from_pem(&p.crl)?,
        })
    }

    /// A [`crate::seal::Sealer`] using the sealing key, with the root CRL as revocation material.
    pub fn sealer(&self) -> Result<crate::seal::Sealer, PkiError> {
        let key = SigningKey::from_pkcs8_der(&self.sealing_key.pkcs8)?;
        let mut s =
            crate::seal::Sealer::new(key, vec![self.sealing_cert.clone(), self.root_cert.clone()])?;
        s.crls.push(self.crl.clone());
        Ok(s)
    }

    /// The built-in time-stamp authority.
    pub fn tsa(&self, policy_oid: &str) -> Result<crate::tsa::TimeStampAuthority, PkiError> {
        let key = SigningKey::from_pkcs8_der(&self.tsa_key.pkcs8)?;
        crate::tsa::TimeStampAuthority::new(
            key,
            self.tsa_cert.clone(),
            vec![self.root_cert.clone()],
            policy_oid,
        )
    }
}

/// Who a signer certificate is issued to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerIdentity {
    /// The signer's name, as the subject's commonName.
    pub name: String,
    /// The signer's e-mail address: the subject's emailAddress and an rfc822Name SAN. Empty
    /// for a signer without one: the certificate then names them by commonName only.
    pub email: String,
}

/// OID of PKCS#9 emailAddress.
const EMAIL_ADDRESS: [u64; 7] = [1, 2, 840, 113549, 1, 9, 1];

impl InstancePki {
    /// Issues a certificate for one signing act: `key` (made for that act), `signer`'s name as
    /// commonName, their e-mail (when not empty) as emailAddress and rfc822Name SAN,
    /// digitalSignature and nonRepudiation, valid from five minutes before `now` for
    /// `validity`, with the sealing certificate's CRL distribution point.
    pub fn issue_signer_certificate(
        &self,
        key: &SigningKey,
        signer: &SignerIdentity,
        now: OffsetDateTime,
        validity: Duration,
    ) -> Result<Certificate, PkiError> {
        if signer.name.trim().is_empty() || signer.name.len() > 256 {
            return Err(PkiError::Generate("signer name empty or too long".into()));
        }
        // A signer may have no e-mail address (reached by phone only): then the subject is
        // their name alone and there is no SAN, rather than an empty or made-up address.
        let email = if signer.email.is_empty() {
            None
        } else {
            if !signer.email.contains('@') || signer.email.len() > 254 {
                return Err(PkiError::Generate("not an e-mail address".into()));
            }
            Some(
                rcgen::string::Ia5String::try_from(signer.email.as_str())
                    .map_err(|_| PkiError::Generate("e-mail address is not ASCII".into()))?,
            )
        };
        let mut dn = DistinguishedName::new();
        if let Some(org) = self.organization() {
            dn.push(DnType::OrganizationName, org);
        }
        dn.push(DnType::CommonName, signer.name.as_str());
        let mut p = CertificateParams::default();
        if let Some(email) = email {
            dn.push(
                DnType::CustomDnType(EMAIL_ADDRESS.to_vec()),
                rcgen::DnValue::Ia5String(email.clone()),
            );
            p.subject_alt_names = vec![rcgen::SanType::Rfc822Name(email)];
        }
        p.distinguished_name = dn;
        p.not_before = now - Duration::minutes(5);
        p.not_after = now + validity;
        p.serial_number = Some(random_serial()?);
        p.use_authority_key_identifier_extension = true;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        p.crl_distribution_points = self
            .crl_urls()
            .into_iter()
            .map(|u| CrlDistributionPoint { uris: vec![u] })
            .collect();
        let cert_der = rustls_pki_types::CertificateDer::from(self.root_cert.der().to_vec());
        let issuer = Issuer::from_ca_cert_der(&cert_der, self.root_key.rcgen()).map_err(gen_err)?;
        let cert = p.signed_by(&key.rcgen(), &issuer).map_err(gen_err)?;
        Certificate::from_der(cert.der())
    }

    /// The organisation in the root's subject.
    fn organization(&self) -> Option<String> {
        let (_, c) = x509_parser::parse_x509_certificate(self.root_cert.der()).ok()?;
        c.subject()
            .iter_organization()
            .next()
            .and_then(|o| o.as_str().ok())
            .map(str::to_owned)
    }

    /// The CRL distribution point URLs of the sealing certificate.
    fn crl_urls(&self) -> Vec<String> {
        use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
        let Ok((_, c)) = x509_parser::parse_x509_certificate(self.sealing_cert.der()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for ext in c.extensions() {
            if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
                for p in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &p.distribution_point {
                        for n in names {
                            if let GeneralName::URI(u) = n {
                                out.push((*u).to_owned());
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// Checks that `key` is the private half of `cert`'s public key.
pub fn check_key_matches(cert: &Certificate, key: &SigningKey) -> Result<(), PkiError> {
    if cert.public_key_bits() == key.public_key_bits() {
        Ok(())
    } else {
        Err(PkiError::KeyMismatch)
    }
}

fn crl_params(
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    number: u64,
) -> Result<CertificateRevocationListParams, PkiError> {
    Ok(CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from_slice(&minimal_be(number)),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: KeyIdMethod::Sha256,
    })
}

fn minimal_be(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut out = bytes[skip..].to_vec();
    if out[0] & 0x80 != 0 {
        out.insert(0, 0);
    }
    out
}
