//! The core's signature port over `signet-pdf`: a participant's act becomes a stamped revision
//! signed with a key and a certificate made for that act (PAdES B-T), a completed envelope gets
//! its completion certificate (a PDF of its own) and each signed document its archival seal
//! (PAdES B-LTA), all with the instance's PKI and the built-in or an external time-stamp
//! authority, failing closed when no time-stamp can be had.
//!
//! `finish` does **not** append the certificate's pages to the signed document, although the
//! port allows it: pyHanko 0.29 judges pages added after a signature an illegal modification
//! (`EXTENDED_WITH_OTHER,ILLEGAL_MODIFICATIONS`, "Validation failed") for every earlier
//! signature, while the /DSS and the document time-stamp of the archival seal are accepted as
//! LTA updates. The signers' signatures must stay valid for every validator, so the certificate
//! is served as a document of its own (see ARCHITECTURE.md, "The signed result and its
//! certificate").
//!
//! The PDF library works on whole files in memory (it seeks through cross-reference tables and
//! the signature's byte range); documents are bounded by the tenant's upload limit.

use std::sync::Arc;

use futures::StreamExt as _;
use signet_core::blob::{BlobKey, BlobStore, ByteStream, StoredBlob};
use signet_core::seal::SealFailure;
use signet_core::signature::{ActRequest, CompletionRecord, MarkContent, SignatureMaker};
use signet_core::signing::{AuthMethod, ImageType, Role};
use signet_core::values::Language;
use signet_pdf::act::{ActError, SigningAct};
use signet_pdf::archive::ArchiveMaterial;
use signet_pdf::certificate::{
    CertificateError, CertificateInput, DocumentDigests, Event, Labels, Participant,
};
use signet_pdf::pki::SignerIdentity;
use signet_pdf::stamp::{FontLibrary, FracRect, Mark, MarkKind, StampError};

use crate::{InstanceEvidence, seal_failure, timestamp_source};

/// The core's signature port, implemented with the instance PKI: signer certificates from the
/// instance root, time-stamps from the built-in TSA or `tsa_url`.
#[derive(Debug, Clone)]
pub struct InstanceSignatureMaker {
    evidence: Arc<InstanceEvidence>,
    /// The external TSA's URL; its blocking HTTP client is made on the signing thread (see
    /// [`crate::InstanceSealer`]).
    external_tsa: Option<String>,
    fonts: Arc<FontLibrary>,
}

impl InstanceSignatureMaker {
    /// A signature maker using `tsa_url` when given, the built-in TSA otherwise, and the
    /// carried fonts plus the system's (Noto for Arabic, Hebrew and CJK, when installed).
    pub fn new(evidence: Arc<InstanceEvidence>, tsa_url: Option<&str>) -> anyhow::Result<Self> {
        let external_tsa = crate::check_tsa_url(tsa_url)?;
        Ok(Self {
            evidence,
            external_tsa,
            fonts: Arc::new(FontLibrary::with_system_fonts()),
        })
    }

    /// The same with `fonts` instead of the system's.
    pub fn with_fonts(mut self, fonts: FontLibrary) -> Self {
        self.fonts = Arc::new(fonts);
        self
    }

    /// Stamps and signs `pdf` for `act` (blocking: call from a blocking thread).
    pub fn sign_act_bytes(&self, pdf: &[u8], act: &ActRequest) -> Result<Vec<u8>, SealFailure> {
        let marks = act
            .marks
            .iter()
            .map(stamp_mark)
            .collect::<Result<Vec<_>, _>>()?;
        let mut signing = SigningAct::new(signer_identity(act), act.field_name.clone());
        signing.now = act.at;
        let tsa = timestamp_source(&self.evidence, self.external_tsa.as_deref())?;
        let started = std::time::Instant::now();
        // No marks: nothing is stamped and the signature is invisible (a new field). Marks:
        // stamped and signed with one copy of the document and one hash (`stamp_and_sign`),
        // where stamping then signing copied it twice and hashed it a third time.
        let signed = if marks.is_empty() {
            signet_pdf::act::sign_act(pdf, &self.evidence.pki, &signing, tsa.get())
        } else {
            signet_pdf::act::stamp_and_sign(
                pdf,
                &marks,
                &self.fonts,
                &self.evidence.pki,
                &signing,
                tsa.get(),
            )
            .map(|(out, _, report)| (out, report))
        };
        // With marks, the time includes stamping them.
        metrics::histogram!("signet_act_signature_duration_seconds", "ok" => if signed.is_ok() { "true" } else { "false" })
            .record(started.elapsed().as_secs_f64());
        match signed {
            Ok((out, _)) => Ok(out),
            Err(ActError::Stamp(e)) => Err(stamp_failure(e)),
            Err(ActError::Seal(e)) => Err(seal_failure(e)),
            Err(ActError::Pki(e)) => Err(SealFailure::Unexpected(anyhow::anyhow!(
                "signer certificate: {e}"
            ))),
            Err(other) => Err(SealFailure::Unexpected(anyhow::anyhow!(other.to_string()))),
        }
    }

    /// The completion certificate as a PDF of its own (CPU-bound: call from a blocking thread).
    pub fn certificate_bytes(&self, record: &CompletionRecord) -> Result<Vec<u8>, SealFailure> {
        signet_pdf::certificate::certificate_pdf(&certificate_input(record), &self.fonts)
            .map(|(pdf, _)| pdf)
            .map_err(certificate_failure)
    }

    /// Seals a signed document at PAdES B-LTA (blocking: call from a blocking thread).
    pub fn finish_bytes(&self, pdf: &[u8]) -> Result<Vec<u8>, SealFailure> {
        // One CRL of the instance root for the whole call, whatever the number of signatures:
        // it issues every signer certificate (and the built-in TSA's).
        let mut material = ArchiveMaterial::default();
        material.certs = vec![
            self.evidence.pki.root_cert.clone(),
            self.evidence.tsa.certificate().clone(),
        ];
        material.crls = self.evidence.archive_crls()?;
        let tsa = timestamp_source(&self.evidence, self.external_tsa.as_deref())?;
        let started = std::time::Instant::now();
        let sealed = signet_pdf::archive::archive(pdf, &material, tsa.get());
        metrics::histogram!("signet_archive_duration_seconds", "ok" => if sealed.is_ok() { "true" } else { "false" })
            .record(started.elapsed().as_secs_f64());
        sealed.map(|(out, _)| out).map_err(seal_failure)
    }

    /// Runs `work` on a blocking thread and stores its output under `target`: nothing is
    /// stored when it fails.
    async fn store_blocking(
        &self,
        blobs: &dyn BlobStore,
        target: &BlobKey,
        work: impl FnOnce(&Self) -> Result<Vec<u8>, SealFailure> + Send + 'static,
    ) -> Result<StoredBlob, SealFailure> {
        let this = self.clone();
        let out = tokio::task::spawn_blocking(move || work(&this))
            .await
            .map_err(|e| SealFailure::Unexpected(anyhow::anyhow!(e)))??;
        let body: ByteStream = Box::pin(futures::stream::once(async move { Ok(out.into()) }));
        Ok(blobs.put(target, body, None).await?)
    }
}

#[async_trait::async_trait]
impl SignatureMaker for InstanceSignatureMaker {
    async fn sign_act(
        &self,
        blobs: &dyn BlobStore,
        source: &BlobKey,
        target: &BlobKey,
        act: &ActRequest,
    ) -> Result<StoredBlob, SealFailure> {
        let pdf = read_all(blobs, source).await?;
        let act = act.clone();
        self.store_blocking(blobs, target, move |this| this.sign_act_bytes(&pdf, &act))
            .await
    }

    async fn certificate(
        &self,
        blobs: &dyn BlobStore,
        target: &BlobKey,
        record: &CompletionRecord,
    ) -> Result<StoredBlob, SealFailure> {
        let record = record.clone();
        self.store_blocking(blobs, target, move |this| this.certificate_bytes(&record))
            .await
    }

    /// Seals `source` at B-LTA; the certificate stays a document of its own (see the module
    /// documentation), so `record` is not used.
    async fn finish(
        &self,
        blobs: &dyn BlobStore,
        source: &BlobKey,
        target: &BlobKey,
        _record: &CompletionRecord,
    ) -> Result<StoredBlob, SealFailure> {
        let pdf = read_all(blobs, source).await?;
        self.store_blocking(blobs, target, move |this| this.finish_bytes(&pdf))
            .await
    }
}

/// The signer as their certificate names them. An address that cannot go into a certificate
/// (not ASCII: IA5String) is left out rather than failing the act; it stays in the envelope's
/// record and on the completion certificate.
fn signer_identity(act: &ActRequest) -> SignerIdentity {
    let email = act
        .signer_email
        .as_deref()
        .map(str::trim)
        .filter(|e| e.is_ascii() && e.contains('@'))
        .unwrap_or_default();
    SignerIdentity {
        name: act.signer_name.clone(),
        email: email.to_owned(),
    }
}

/// A core mark as the stamper draws it (pages from 1 in the core, from 0 in the stamper).
fn stamp_mark(mark: &signet_core::signature::ActMark) -> Result<Mark, SealFailure> {
    let page = mark
        .page
        .checked_sub(1)
        .ok_or_else(|| SealFailure::InvalidDocument("pages are numbered from 1".into()))?;
    let rect = FracRect {
        x: mark.rect.x(),
        y: mark.rect.y(),
        width: mark.rect.width(),
        height: mark.rect.height(),
    };
    let kind = match &mark.content {
        MarkContent::Name(t) => MarkKind::Name(t.clone()),
        MarkContent::Date(t) => MarkKind::Date(t.clone()),
        MarkContent::Text(t) => MarkKind::Text(t.clone()),
        MarkContent::Initials(t) => MarkKind::Initials(t.clone()),
        MarkContent::TypedSignature(t) => MarkKind::TypedSignature(t.clone()),
        MarkContent::Checkmark => MarkKind::Checkmark,
        MarkContent::Image {
            bytes,
            media_type: ImageType::Png,
        } => MarkKind::Image { png: bytes.clone() },
        MarkContent::Image {
            bytes,
            media_type: ImageType::Jpeg,
        } => MarkKind::Jpeg {
            jpeg: bytes.clone(),
        },
        other => {
            return Err(SealFailure::Unexpected(anyhow::anyhow!(
                "a mark this version cannot draw: {other:?}"
            )));
        }
    };
    Ok(Mark::new(page, rect, kind))
}

/// Stamping failures: the document or the marks cannot be used as they are, which no retry
/// changes — except a carried font that cannot be read, which is a defect of the build.
fn stamp_failure(e: StampError) -> SealFailure {
    match e {
        StampError::Font(_) => SealFailure::Unexpected(anyhow::anyhow!(e.to_string())),
        other => SealFailure::InvalidDocument(other.to_string()),
    }
}

fn certificate_failure(e: CertificateError) -> SealFailure {
    match e {
        CertificateError::Text(StampError::Font(_)) => {
            SealFailure::Unexpected(anyhow::anyhow!(e.to_string()))
        }
        other => SealFailure::InvalidDocument(other.to_string()),
    }
}

/// The certificate's content in the record's language (English and French; others fall back
/// to English).
fn certificate_input(record: &CompletionRecord) -> CertificateInput {
    let french = matches!(record.language, Language::Fr);
    let labels = if french {
        Labels::french()
    } else {
        Labels::english()
    };
    let mut input = CertificateInput::new(&record.title, &record.envelope_id, labels);
    input.completed = record.completed_at;
    input.participants = record
        .participants
        .iter()
        .map(|p| {
            let mut out = Participant::new(
                &p.name,
                role_word(p.role, french),
                auth_word(p.auth, french),
            );
            out.email = p.email.clone();
            out.ip = p.ip.map(|ip| ip.to_string());
            out.user_agent = p.user_agent.clone();
            out.invited = p.invited_at;
            out.opened = p.opened_at;
            out.authenticated = p.authenticated_at;
            out.signed = p.signed_at;
            out.declined = p.declined_at;
            out
        })
        .collect();
    input.documents = record
        .documents
        .iter()
        .map(|d| DocumentDigests::new(&d.name, d.sha256_before, d.sha256_after))
        .collect();
    input.events = record
        .events
        .iter()
        .map(|e| Event::new(e.at, &e.description, e.leaf_hash))
        .collect();
    input.checkpoint = record.checkpoint.clone();
    input
}

fn role_word(role: Role, french: bool) -> &'static str {
    match (role, french) {
        (Role::Signer, false) => "Signer",
        (Role::Signer, true) => "Signataire",
        (Role::Approver, false) => "Approver",
        (Role::Approver, true) => "Approbateur",
        (Role::Viewer, false) => "Viewer",
        (Role::Viewer, true) => "Lecteur",
        (Role::Copy, false) => "Copy recipient",
        (Role::Copy, true) => "Destinataire en copie",
        (_, false) => "Participant",
        (_, true) => "Participant",
    }
}

fn auth_word(auth: AuthMethod, french: bool) -> &'static str {
    match (auth, french) {
        (AuthMethod::EmailCode, false) => "Code sent by e-mail",
        (AuthMethod::EmailCode, true) => "Code envoyé par e-mail",
        (AuthMethod::SmsCode, false) => "Code sent by SMS",
        (AuthMethod::SmsCode, true) => "Code envoyé par SMS",
        (AuthMethod::VoiceCode, false) => "Code read out in a phone call",
        (AuthMethod::VoiceCode, true) => "Code dicté lors d'un appel téléphonique",
        (AuthMethod::None, false) => "None (the link alone)",
        (AuthMethod::None, true) => "Aucune (le lien seul)",
        (_, false) => "Other",
        (_, true) => "Autre",
    }
}

/// The whole stored file (the PDF library needs it at once; see the module documentation).
async fn read_all(blobs: &dyn BlobStore, key: &BlobKey) -> Result<Vec<u8>, SealFailure> {
    let mut stream = blobs.get(key).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| SealFailure::Unexpected(e.into()))?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_a_certificate_cannot_hold_is_left_out() {
        let act = |email: Option<&str>| ActRequest {
            signer_name: "Zoë".into(),
            signer_email: email.map(str::to_owned),
            field_name: "S".into(),
            marks: Vec::new(),
            at: time::OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(signer_identity(&act(None)).email, "");
        assert_eq!(signer_identity(&act(Some("zoë@exemple.fr"))).email, "");
        assert_eq!(
            signer_identity(&act(Some(" zoe@example.org "))).email,
            "zoe@example.org"
        );
    }

    #[test]
    fn french_records_get_french_words() {
        assert_eq!(role_word(Role::Signer, true), "Signataire");
        assert_eq!(role_word(Role::Signer, false), "Signer");
        assert_eq!(auth_word(AuthMethod::SmsCode, true), "Code envoyé par SMS");
        assert_eq!(auth_word(AuthMethod::None, false), "None (the link alone)");
    }
}
