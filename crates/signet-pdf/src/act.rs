//! One signature per signer: a signing act ends in a PAdES B-T signature of its own, made with a
//! key generated for that act and a short-lived certificate the instance CA issues to the
//! signer. The key exists only inside [`sign_act`] (or [`sign_act_owned`], [`stamp_and_sign`])
//! and is wiped when it returns.
//!
//! [`stamp_and_sign`] is the cheapest whole act: the document is copied once and hashed once
//! where it lies, where stamping and then signing copy it twice and hash it a third time.
//!
//! The signature fills the field that [`crate::stamp::stamp`] made for the signer's marks, so the
//! marks are the signature's visible widgets; without such a field the signature is invisible.
//! Each act appends a revision, so earlier signatures (the uploaded file's own, and earlier
//! signers') stay valid.

use time::{Duration, OffsetDateTime};

use crate::pki::{Certificate, InstancePki, PkiError, SignerIdentity, SigningKey};
use crate::seal::{
    Level, SealError, SealOptions, SealReport, Sealer, output_capacity, seal_appending,
    seal_slice_with,
};
use crate::stamp::{FontLibrary, Mark, StampError, StampReport, stamp_reserving};
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

/// Errors from [`sign_act`] and [`stamp_and_sign`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActError {
    /// Key generation or certificate issuance failed (e.g. an e-mail address that is not ASCII).
    #[error("issuing the signer certificate failed: {0}")]
    Pki(#[from] PkiError),
    /// Signing failed; nothing is returned (a time-stamp failure is never downgraded to B-B).
    #[error(transparent)]
    Seal(#[from] SealError),
    /// Stamping the marks failed ([`stamp_and_sign`]); nothing was signed.
    #[error(transparent)]
    Stamp(#[from] StampError),
}

/// Appends `act.signer`'s PAdES B-T signature to `input` (the revision carrying their marks).
/// The document is copied once into the output, and hashed on the way.
pub fn sign_act(
    input: &[u8],
    pki: &InstancePki,
    act: &SigningAct,
    tsa: &dyn TimestampSource,
) -> Result<(Vec<u8>, ActReport), ActError> {
    let (sealer, cert) = act_sealer(pki, act)?;
    let mut out = Vec::with_capacity(output_capacity(input.len(), &sealer, Level::BT));
    let report = seal_slice_with(
        input,
        &mut out,
        &sealer,
        Level::BT,
        Some(tsa),
        &SealOptions::field(act.field_name.clone()),
    )?;
    Ok((out, act_report(sealer, &cert, report)))
}

/// [`sign_act`] on a document the caller gives up: the signature's revision is appended to
/// it, so the document is hashed where it lies and not copied (when its spare capacity holds
/// the revision: [`stamp_and_sign`] makes sure of that).
pub fn sign_act_owned(
    mut input: Vec<u8>,
    pki: &InstancePki,
    act: &SigningAct,
    tsa: &dyn TimestampSource,
) -> Result<(Vec<u8>, ActReport), ActError> {
    let (sealer, cert) = act_sealer(pki, act)?;
    let report = seal_into(&mut input, &sealer, act, tsa)?;
    Ok((input, act_report(sealer, &cert, report)))
}

/// A signer's whole act: stamps `marks` into the field `act.field_name` (see
/// [`crate::stamp::stamp`]) and signs that revision (see [`sign_act`]). The document is
/// copied once, into an output with room for both revisions, and hashed once where it lies:
/// [`crate::stamp::stamp`] then [`sign_act`] copy it twice and hash it on a third pass.
pub fn stamp_and_sign(
    input: &[u8],
    marks: &[Mark],
    fonts: &FontLibrary,
    pki: &InstancePki,
    act: &SigningAct,
    tsa: &dyn TimestampSource,
) -> Result<(Vec<u8>, StampReport, ActReport), ActError> {
    let (sealer, cert) = act_sealer(pki, act)?;
    let (mut doc, stamped) = stamp_reserving(
        input,
        &act.field_name,
        marks,
        fonts,
        output_capacity(0, &sealer, Level::BT),
    )?;
    let report = seal_into(&mut doc, &sealer, act, tsa)?;
    Ok((doc, stamped, act_report(sealer, &cert, report)))
}

/// The act's key (made here) and its certificate from the instance CA, as a sealer.
fn act_sealer(pki: &InstancePki, act: &SigningAct) -> Result<(Sealer, Certificate), ActError> {
    let key = SigningKey::generate_p256()?;
    let cert: Certificate =
        pki.issue_signer_certificate(&key, &act.signer, act.now, act.validity)?;
    let mut sealer = Sealer::new(key, vec![cert.clone(), pki.root_cert.clone()])?;
    sealer.crls.push(pki.crl.clone());
    Ok((sealer, cert))
}

fn seal_into(
    doc: &mut Vec<u8>,
    sealer: &Sealer,
    act: &SigningAct,
    tsa: &dyn TimestampSource,
) -> Result<SealReport, SealError> {
    doc.reserve(output_capacity(0, sealer, Level::BT));
    seal_appending(
        doc,
        sealer,
        Level::BT,
        Some(tsa),
        &SealOptions::field(act.field_name.clone()),
    )
}

fn act_report(sealer: Sealer, cert: &Certificate, seal: SealReport) -> ActReport {
    // The act's key ends here: dropping the sealer frees the key pair and wipes its PKCS#8 copy.
    drop(sealer);
    ActReport {
        seal,
        certificate_subject: cert.subject(),
        certificate_pem: cert.to_pem(),
    }
}
