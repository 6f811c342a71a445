//! The archival seal (B-LTA): after two signers' acts and the completion certificate, a /DSS
//! covers every signature and time-stamp and a document time-stamp closes the file. pyHanko
//! validates it at LTA offline, pdfsig and qpdf accept it, a failing TSA leaves no output, and
//! sealing twice adds nothing.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{run, tool};
use signet_pdf::act::{SigningAct, sign_act};
use signet_pdf::archive::{ArchiveMaterial, archive};
use signet_pdf::certificate::{CertificateInput, Labels, append_certificate};
use signet_pdf::pki::{InstancePki, SignerIdentity};
use signet_pdf::seal::{Level, SealError, seal_bytes};
use signet_pdf::stamp::{FontLibrary, FracRect, Mark, MarkKind, stamp};
use signet_pdf::tsa::{DEFAULT_TSA_POLICY, TimestampError, TimestampSource};
use signet_pdf::verify::{ChangeKind, VerifyOptions, verify_pdf};

struct Fixture {
    pki: InstancePki,
    dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let (pki, dir) = common::offline_pki();
    Fixture { pki, dir }
}

/// Our verifier, trusting the fixture's root, now.
fn our_verify(fx: &Fixture, pdf: &[u8]) -> signet_pdf::verify::VerifyReport {
    let opts = VerifyOptions {
        trust_roots: vec![fx.pki.root_cert.clone()],
        now: time::OffsetDateTime::now_utc(),
    };
    verify_pdf(pdf, &opts).expect("verify")
}

fn material(fx: &Fixture) -> ArchiveMaterial {
    let mut m = ArchiveMaterial::default();
    m.certs = vec![fx.pki.root_cert.clone(), fx.pki.tsa_cert.clone()];
    m.crls = vec![fx.pki.crl.clone()];
    m
}

struct FailingTsa;

impl TimestampSource for FailingTsa {
    fn timestamp(&self, _sha256: &[u8; 32]) -> Result<Vec<u8>, TimestampError> {
        Err(TimestampError::Transport("the TSA is down".into()))
    }
}

/// A document signed by two signers (stamped marks), with the certificate appended.
fn completed(fx: &Fixture) -> Vec<u8> {
    let fonts = FontLibrary::builtin();
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let mut doc = common::classic_pdf(2);
    for (i, (name, email)) in [
        ("Anna Smith", "anna@example.org"),
        ("Boris Ivanov", "boris@example.org"),
    ]
    .iter()
    .enumerate()
    {
        let field = format!("Signer{i}");
        let rect = FracRect {
            x: 0.1,
            y: 0.7 + 0.1 * i as f64,
            width: 0.3,
            height: 0.06,
        };
        let marks = vec![Mark::new(0, rect, MarkKind::TypedSignature((*name).into()))];
        let (stamped, _) = stamp(&doc, &field, &marks, &fonts).expect("stamp");
        let act = SigningAct::new(
            SignerIdentity {
                name: (*name).into(),
                email: (*email).into(),
            },
            field,
        );
        let (signed, _) =
            sign_act(&stamped, &fx.pki, &act, &tsa as &dyn TimestampSource).expect("sign");
        doc = signed;
    }
    let cert = CertificateInput::new("Lease", "env_1", Labels::english());
    let (with_cert, _) = append_certificate(&doc, &cert, &fonts).expect("certificate");
    with_cert
}

fn pyhanko(fx: &Fixture, sub: &str, path: &Path) -> Option<String> {
    let py = tool("pyhanko", Some("SIGNET_PYHANKO"))?;
    let (_, text) = run(Command::new(py)
        .args(["sign", sub, "--trust-replace", "--trust"])
        .arg(fx.dir.path().join("root.pem"))
        .arg(path));
    Some(text)
}

#[test]
fn archival_seal_covers_every_signature_and_validates_offline() {
    let fx = fixture();
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let input = completed(&fx);
    let (sealed, report) =
        archive(&input, &material(&fx), &tsa as &dyn TimestampSource).expect("archive");
    assert!(sealed.starts_with(&input), "incremental");
    assert!(!report.already_archived);
    assert_eq!(report.signatures, 2);
    assert!(
        report.timestamp.is_some() && report.dss_crls == 1,
        "{report:?}"
    );
    assert!(
        report.dss_certs >= 4,
        "two signer certs, root, TSA: {report:?}"
    );

    let path = fx.dir.path().join("lta.pdf");
    std::fs::write(&path, &sealed).expect("write");
    common::qpdf_check(&sealed, fx.dir.path(), "lta");

    // Our verifier: three signatures (two acts, the document time-stamp), all valid offline.
    let verify = our_verify(&fx, &sealed);
    eprintln!("our verify:\n{}", verify.to_text());
    assert_eq!(verify.signatures.len(), 3);
    let ts = verify.signatures.last().expect("doc timestamp");
    assert_eq!(ts.sub_filter.as_deref(), Some("ETSI.RFC3161"));
    assert!(ts.valid && ts.covers_whole_file, "{}", verify.to_text());
    assert!(verify.valid, "{}", verify.to_text());
    // The signers' signatures see the certificate as appended pages, then the seal.
    let kinds: Vec<ChangeKind> = verify.signatures[1]
        .later_revisions
        .iter()
        .map(|l| l.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![
            ChangeKind::PagesAppended,
            ChangeKind::DssOnly,
            ChangeKind::SignatureAdded
        ]
    );

    if let Some(p) = tool("pdfsig", None) {
        let (ok, text) = run(Command::new(p).arg("-nocert").arg(&path));
        eprintln!("pdfsig:\n{text}");
        assert!(ok, "pdfsig: {text}");
        // poppler checks the two CMS signatures; it does not validate document time-stamps
        // ("Unable to validate this type of signature") but sees that it covers the whole file.
        assert_eq!(text.matches("Signature is Valid.").count(), 2, "{text}");
        assert!(!text.contains("Signature is Invalid"), "{text}");
        assert!(text.contains("Total document signed"), "{text}");
    }
    if let Some(text) = pyhanko(&fx, "adesverify", &path) {
        eprintln!("pyhanko adesverify:\n{text}");
        // Offline, both signers' signatures and time-stamps are trusted from the /DSS alone.
        // (pyHanko counts the certificate's appended pages as a modification outside form
        // filling: "EXTENDED_WITH_OTHER".)
        assert_eq!(
            text.matches("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
                .count(),
            2,
            "{text}"
        );
        assert!(!text.contains("UNTRUSTED"), "{text}");
    }
}

#[test]
fn sealing_twice_adds_nothing() {
    let fx = fixture();
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let signed = common::sealed_bt(&fx.pki, &common::classic_pdf(1));
    let (once, first) =
        archive(&signed, &material(&fx), &tsa as &dyn TimestampSource).expect("archive");
    assert!(!first.already_archived);
    // The TSA is not even asked the second time.
    let (twice, second) = archive(&once, &material(&fx), &FailingTsa).expect("archive again");
    assert!(second.already_archived);
    assert_eq!(once, twice);
    // A signature after the archival time-stamp is new content: it gets a new archival seal.
    let resigned = common::sealed_bt(&fx.pki, &once);
    let (_, third) =
        archive(&resigned, &material(&fx), &tsa as &dyn TimestampSource).expect("archive");
    assert!(!third.already_archived);
    assert_eq!(
        third.dss_certs, 0,
        "all certificates are already in the /DSS"
    );
}

#[test]
fn no_timestamp_no_seal() {
    let fx = fixture();
    let signed = common::sealed_bt(&fx.pki, &common::classic_pdf(1));
    let err = archive(&signed, &material(&fx), &FailingTsa).expect_err("fails closed");
    assert!(matches!(err, SealError::Timestamp(_)), "{err}");
    assert!(err.is_retryable());
}

#[test]
fn missing_revocation_data_is_refused() {
    let fx = fixture();
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let signed = common::sealed_bt(&fx.pki, &common::classic_pdf(1));
    let mut m = material(&fx);
    m.crls.clear();
    let err = archive(&signed, &m, &tsa as &dyn TimestampSource).expect_err("no CRL");
    assert!(matches!(err, SealError::MissingRevocationInfo(_)), "{err}");
    assert!(!err.is_retryable());
}

#[test]
fn blt_then_archive_merges_the_dss() {
    let fx = fixture();
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let mut sealer = fx.pki.sealer().expect("sealer");
    sealer.crls.push(fx.pki.crl.clone());
    let (blt, _) = seal_bytes(
        &common::classic_pdf(1),
        &sealer,
        Level::BLT,
        Some(&tsa as &dyn TimestampSource),
    )
    .expect("seal");
    let (sealed, report) =
        archive(&blt, &material(&fx), &tsa as &dyn TimestampSource).expect("archive");
    // Everything was already in the B-LT's /DSS: only the time-stamp is added.
    assert_eq!((report.dss_certs, report.dss_crls), (0, 0), "{report:?}");
    let verify = our_verify(&fx, &sealed);
    assert!(verify.valid, "{}", verify.to_text());
    assert_eq!(
        verify.signatures[0]
            .later_revisions
            .iter()
            .map(|l| l.kind)
            .collect::<Vec<_>>(),
        vec![ChangeKind::DssOnly, ChangeKind::SignatureAdded]
    );
    let path = fx.dir.path().join("blt-lta.pdf");
    std::fs::write(&path, &sealed).expect("write");
    if let Some(text) = pyhanko(&fx, "adesverify", &path) {
        eprintln!("pyhanko adesverify:\n{text}");
        // pyHanko recognises the /DSS and the document time-stamp as LTA updates.
        assert!(
            text.contains(
                "INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED_WITH_LTA_UPDATES,ACCEPTABLE_MODIFICATIONS"
            ),
            "{text}"
        );
        assert!(!text.contains("UNTRUSTED"), "{text}");
    }
}
