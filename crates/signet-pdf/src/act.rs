//! One signature per signer: a signing act ends in a PAdES B-T signature of its own, made with a
//! key generated for that act and a short-lived certificate the instance CA issues to the
//! signer. The key exists only inside [`sign_act`] and is wiped when it returns.
//!
//! The signature fills the field that [`crate::stamp::stamp`] made for the signer's marks, so the
//! marks are the signature's visible widgets; without such a field the signature is invisible.
//! Each act appends a revision, so earlier signatures (the uploaded file's own, and earlier
//! signers') stay valid.

use time::{Duration, OffsetDateTime};

use crate::pki::{Certificate, InstancePki, PkiError, SignerIdentity, SigningKey};
use crate::seal::{Level, SealError, SealOptions, SealReport, Sealer, seal_with};
use crate::tsa::TimestampSource;

/// Default lifetime of a signer certificate: the signature's time-stamp, not the certificate's
/// lifetime, proves when it was made.
pub const DEFAULT_SIGNER_CERT_VALIDITY: Duration = Duration::days(1);

/// One signer's act.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SigningAct {
    /// Who signs.
    pub signer: SignerIdentity,
    /// The signature field: the one holding the signer's stamped marks, or a new invisible one.
    pub field_name: String,
    /// Issue time of the certificate.
    pub now: OffsetDateTime,
    /// Lifetime of the certificate.
    pub validity: Duration,
}

impl SigningAct {
    /// An act by `signer` over the field `field_name`, now, with the default validity. (A
    /// library default: a caller with an injected clock sets [`SigningAct::now`] from it.)
    #[allow(clippy::disallowed_methods)]
    pub fn new(signer: SignerIdentity, field_name: impl Into<String>) -> Self {
        Self {
            signer,
            field_name: field_name.into(),
            now: OffsetDateTime::now_utc(),
            validity: DEFAULT_SIGNER_CERT_VALIDITY,
        }
    }
}

/// What [`sign_act`] did.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct ActReport {
    /// The signature.
    pub seal: SealReport,
    /// The certificate issued for the act (PEM), for the evidence record.
    pub certificate_pem: String,
    /// Its subject.
    pub certificate_subject: String,
}

/// Errors from [`sign_act`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActError {
    /// Key generation or certificate issuance failed (e.g. an e-mail address that is not ASCII).
    #[error("issuing the signer certificate failed: {0}")]
    Pki(#[from] PkiError),
    /// Signing failed; nothing is returned (a time-stamp failure is never downgraded to B-B).
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// Appends `act.signer`'s PAdES B-T signature to `input` (the revision carrying their marks).
pub fn sign_act(
    input: &[u8],
    pki: &InstancePki,
    act: &SigningAct,
    tsa: &dyn TimestampSource,
) -> Result<(Vec<u8>, ActReport), ActError> {
    let key = SigningKey::generate_p256()?;
    let cert: Certificate =
        pki.issue_signer_certificate(&key, &act.signer, act.now, act.validity)?;
    let mut sealer = Sealer::new(key, vec![cert.clone(), pki.root_cert.clone()])?;
    sealer.crls.push(pki.crl.clone());
    let mut out = Vec::with_capacity(crate::seal::output_capacity(
        input.len(),
        &sealer,
        Level::BT,
    ));
    let report = seal_with(
        std::io::Cursor::new(input),
        &mut out,
        &sealer,
        Level::BT,
        Some(tsa),
        &SealOptions::field(act.field_name.clone()),
    )?;
    // The act's key ends here: dropping the sealer frees the key pair and wipes its PKCS#8 copy.
    drop(sealer);
    Ok((
        out,
        ActReport {
            seal: report,
            certificate_subject: cert.subject(),
            certificate_pem: cert.to_pem(),
        },
    ))
}
