//! One signature per signer: two signers stamp and sign in turn, on several kinds of input; every
//! signature (and an earlier one already in the file) must stay valid for pyHanko, pdfsig and
//! qpdf.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{PageSpec, build_pdf, run, tool};
use signet_pdf::act::{ActError, SigningAct, sign_act, sign_act_owned};
use signet_pdf::pki::{InstancePki, PkiOptions, SignerIdentity};
use signet_pdf::seal::{Level, seal_bytes};
use signet_pdf::stamp::{FontLibrary, FracRect, Mark, MarkKind, stamp};
use signet_pdf::tsa::{DEFAULT_TSA_POLICY, TimestampSource};
use signet_pdf::verify::{ChangeKind, VerifyOptions, verify_pdf};

struct Fixture {
    pki: InstancePki,
    dir: tempfile::TempDir,
    fonts: FontLibrary,
}

/// Serves `crl` to every HTTP request on a loopback port (the test process ends it).
fn serve_crl(listener: std::net::TcpListener, crl: Vec<u8>) {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                crl.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&crl);
        }
    });
}

fn fixture() -> Fixture {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}/v1/pki/crl");
    let pki = InstancePki::generate(&PkiOptions::new(
        "Signet Test",
        url,
        time::OffsetDateTime::now_utc(),
    ))
    .expect("pki");
    serve_crl(listener, pki.crl.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("root.pem"), pki.root_cert.to_pem()).expect("write");
    Fixture {
        pki,
        dir,
        fonts: FontLibrary::with_system_fonts(),
    }
}

fn b(x: f64, y: f64, w: f64, h: f64) -> FracRect {
    FracRect {
        x,
        y,
        width: w,
        height: h,
    }
}

fn signer(name: &str, email: &str) -> SignerIdentity {
    SignerIdentity {
        name: name.into(),
        email: email.into(),
    }
}

/// How a test signs: stamp then [`sign_act`] (a copy each), or the one-copy paths
/// ([`signet_pdf::act::stamp_and_sign`], [`sign_act_owned`] when there are no marks).
#[derive(Clone, Copy, PartialEq)]
enum How {
    Separate,
    OneCopy,
}

/// Stamps `marks` as `field`, then signs the act; checks the prefix property at each step.
fn stamp_and_sign(
    fx: &Fixture,
    input: &[u8],
    field: &str,
    who: &SignerIdentity,
    marks: &[Mark],
    how: How,
) -> Vec<u8> {
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let act = SigningAct::new(who.clone(), field);
    let tsa = &tsa as &dyn TimestampSource;
    let (signed, report) = match (how, marks.is_empty()) {
        (How::Separate, _) => {
            let stamped = if marks.is_empty() {
                input.to_vec()
            } else {
                let (s, _) = stamp(input, field, marks, &fx.fonts).expect("stamp");
                assert!(s.starts_with(input));
                s
            };
            let (signed, report) = sign_act(&stamped, &fx.pki, &act, tsa).expect("sign");
            assert!(signed.starts_with(&stamped));
            (signed, report)
        }
        (How::OneCopy, true) => {
            let (signed, report) =
                sign_act_owned(input.to_vec(), &fx.pki, &act, tsa).expect("sign");
            assert!(signed.starts_with(input));
            (signed, report)
        }
        (How::OneCopy, false) => {
            let (signed, stamped, report) =
                signet_pdf::act::stamp_and_sign(input, marks, &fx.fonts, &fx.pki, &act, tsa)
                    .expect("stamp and sign");
            assert!(signed.starts_with(input));
            assert_eq!(stamped.widgets, marks.len());
            // The signature covers the stamped revision: its range starts at 0 and runs past
            // the input.
            assert_eq!(report.seal.byte_range[0], 0);
            assert!(report.seal.byte_range[1] > input.len() as u64);
            (signed, report)
        }
    };
    assert!(report.seal.timestamp.is_some());
    assert_eq!(report.seal.field_name, field);
    assert_eq!(report.seal.output_len, signed.len() as u64);
    assert!(
        report.certificate_subject.contains(&who.name),
        "{}",
        report.certificate_subject
    );
    signed
}

fn pyhanko(fx: &Fixture, file: &Path) -> Option<String> {
    let py = tool("pyhanko", Some("SIGNET_PYHANKO"))?;
    let (_, text) = run(Command::new(py)
        .args(["sign", "validate", "--trust-replace", "--trust"])
        .arg(fx.dir.path().join("root.pem"))
        .arg(file));
    Some(text)
}

/// Every one of `count` signatures is intact, trusted and time-stamped, for every validator.
fn check_all_valid(fx: &Fixture, name: &str, pdf: &[u8], count: usize) {
    let path = fx.dir.path().join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).expect("write");
    common::qpdf_check(pdf, fx.dir.path(), name);
    let report = verify_pdf(
        pdf,
        &VerifyOptions {
            trust_roots: vec![fx.pki.root_cert.clone()],
            now: time::OffsetDateTime::now_utc(),
        },
    )
    .expect("verify");
    eprintln!("our verify {name}:\n{}", report.to_text());
    assert!(report.valid, "{}", report.to_text());
    assert_eq!(report.signatures.len(), count);
    for sig in &report.signatures {
        assert!(sig.digest_matches && sig.signature_valid && sig.trusted);
        assert!(sig.timestamp.is_some());
        assert!(
            sig.later_revisions
                .iter()
                .all(|l| l.kind == ChangeKind::SignatureAdded),
            "{}",
            report.to_text()
        );
    }
    if let Some(p) = tool("pdfsig", None) {
        let (ok, text) = run(Command::new(p).arg("-nocert").arg(&path));
        eprintln!("pdfsig {name}:\n{text}");
        assert!(ok, "pdfsig: {text}");
        assert_eq!(
            text.matches("Signature is Valid.").count(),
            count,
            "pdfsig: {text}"
        );
        assert!(!text.contains("Signature is Invalid"), "pdfsig: {text}");
    }
    if let Some(text) = pyhanko(fx, &path) {
        eprintln!("pyhanko {name}:\n{text}");
        assert_eq!(
            text.matches("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
                .count(),
            count,
            "pyhanko: {text}"
        );
        // Earlier signatures see only the permitted additions (signature fields and their
        // widgets); the last one covers the whole file.
        assert_eq!(
            text.matches("EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS")
                .count(),
            count - 1,
            "pyhanko: {text}"
        );
        assert_eq!(text.matches(",UNTOUCHED").count(), 1, "pyhanko: {text}");
        for bad in ["UNTRUSTED", "INVALID", "SUSPICIOUS", "NONSTANDARD", "OTHER"] {
            assert!(!text.contains(bad), "pyhanko says {bad}: {text}");
        }
    }
}

fn marks_a() -> Vec<Mark> {
    vec![
        Mark::new(
            0,
            b(0.1, 0.1, 0.35, 0.08),
            MarkKind::TypedSignature("Anna Smith".into()),
        ),
        Mark::new(
            0,
            b(0.1, 0.2, 0.3, 0.05),
            MarkKind::Date("2026-11-30".into()),
        ),
        Mark::new(0, b(0.6, 0.1, 0.06, 0.04), MarkKind::Checkmark),
    ]
}

fn marks_b(last_page: u32) -> Vec<Mark> {
    vec![
        Mark::new(
            last_page,
            b(0.5, 0.6, 0.4, 0.1),
            MarkKind::Strokes {
                strokes: vec![vec![(0.0, 0.8), (0.2, 0.1), (0.5, 0.9), (1.0, 0.2)]],
                width: None,
            },
        ),
        Mark::new(
            last_page,
            b(0.5, 0.72, 0.4, 0.05),
            MarkKind::Name("Ελένη Παπαδοπούλου".into()),
        ),
        Mark::new(0, b(0.7, 0.9, 0.1, 0.05), MarkKind::Initials("ΕΠ".into())),
    ]
}

fn two_signers(fx: &Fixture, name: &str, input: &[u8], pages: u32, earlier: usize) {
    // The first signer through stamp and `sign_act`, the second through the one-copy path.
    let a = stamp_and_sign(
        fx,
        input,
        "SignerA",
        &signer("Anna Smith", "anna@example.org"),
        &marks_a(),
        How::Separate,
    );
    check_all_valid(fx, &format!("{name}-a"), &a, earlier + 1);
    let b = stamp_and_sign(
        fx,
        &a,
        "SignerB",
        &signer("Ελένη Παπαδοπούλου", "eleni@example.org"),
        &marks_b(pages - 1),
        How::OneCopy,
    );
    assert!(b.starts_with(input));
    check_all_valid(fx, &format!("{name}-ab"), &b, earlier + 2);
}

#[test]
fn two_signers_on_rotated_mixed_pages_with_a_form() {
    let fx = fixture();
    let pages = [
        PageSpec::a4(),
        PageSpec {
            media: [0.0, 0.0, 842.0, 595.0],
            crop: Some([20.0, 20.0, 800.0, 580.0]),
            rotate: Some(90),
        },
    ];
    let input = build_pdf(&pages, Some(180), true);
    two_signers(&fx, "rotated-form", &input, 2, 0);
}

#[test]
fn two_signers_after_an_existing_signature() {
    let fx = fixture();
    let sealer = fx.pki.sealer().expect("sealer");
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let (signed, _) = seal_bytes(
        &build_pdf(&[PageSpec::a4()], None, true),
        &sealer,
        Level::BT,
        Some(&tsa as &dyn TimestampSource),
    )
    .expect("seal");
    two_signers(&fx, "pre-signed", &signed, 1, 1);
}

#[test]
fn two_signers_on_xref_streams_and_prior_updates() {
    let fx = fixture();
    let plain = build_pdf(&[PageSpec::a4(), PageSpec::a4()], None, false);
    two_signers(&fx, "prior", &common::with_prior_update(&plain), 2, 0);
    if let Some(xs) = common::qpdf_from_classic_to_xref_stream(&plain, fx.dir.path()) {
        two_signers(&fx, "xref-stream", &xs, 2, 0);
    }
}

#[test]
fn a_signer_without_marks_signs_invisibly() {
    let fx = fixture();
    let input = build_pdf(&[PageSpec::a4()], None, false);
    let a = stamp_and_sign(
        &fx,
        &input,
        "SignerA",
        &signer("Anna Smith", "anna@example.org"),
        &marks_a(),
        How::OneCopy,
    );
    let b = stamp_and_sign(
        &fx,
        &a,
        "Approver",
        &signer("Bob Jones", "bob@example.org"),
        &[],
        How::Separate,
    );
    check_all_valid(&fx, "invisible", &b, 2);
    let c = stamp_and_sign(
        &fx,
        &b,
        "Viewer",
        &signer("Carla Diaz", "carla@example.org"),
        &[],
        How::OneCopy,
    );
    check_all_valid(&fx, "invisible-owned", &c, 3);
}

/// Always fails, like an unreachable TSA.
struct DownSource;

impl TimestampSource for DownSource {
    fn timestamp(&self, _digest: &[u8; 32]) -> Result<Vec<u8>, signet_pdf::tsa::TimestampError> {
        Err(signet_pdf::tsa::TimestampError::Transport(
            "connection refused".into(),
        ))
    }
}

#[test]
fn the_one_copy_act_fails_closed_and_refuses_what_stamping_refuses() {
    let fx = fixture();
    let input = build_pdf(&[PageSpec::a4()], None, false);
    let act = SigningAct::new(signer("Anna Smith", "anna@example.org"), "SignerA");
    let err =
        signet_pdf::act::stamp_and_sign(&input, &marks_a(), &fx.fonts, &fx.pki, &act, &DownSource)
            .expect_err("no time-stamp, no signature");
    assert!(
        matches!(&err, ActError::Seal(e) if e.is_retryable()),
        "{err}"
    );
    let err = sign_act_owned(input.clone(), &fx.pki, &act, &DownSource).expect_err("no time-stamp");
    assert!(
        matches!(&err, ActError::Seal(e) if e.is_retryable()),
        "{err}"
    );
    // A mark on a page the document does not have: a stamping error, nothing signed.
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let far = vec![Mark::new(5, b(0.1, 0.1, 0.2, 0.05), MarkKind::Checkmark)];
    let err = signet_pdf::act::stamp_and_sign(
        &input,
        &far,
        &fx.fonts,
        &fx.pki,
        &act,
        &tsa as &dyn TimestampSource,
    )
    .expect_err("no such page");
    assert!(matches!(err, ActError::Stamp(_)), "{err}");
}

#[test]
fn signer_certificate_names_the_signer() {
    let fx = fixture();
    let key = signet_pdf::pki::SigningKey::generate_p256().expect("key");
    let now = time::OffsetDateTime::now_utc();
    let cert = fx
        .pki
        .issue_signer_certificate(
            &key,
            &signer("Zoë Ελένη", "zoe@example.org"),
            now,
            time::Duration::hours(2),
        )
        .expect("cert");
    let Some(openssl) = tool("openssl", None) else {
        return;
    };
    let path = fx.dir.path().join("signer.pem");
    std::fs::write(&path, cert.to_pem()).expect("write");
    let (ok, text) = run(Command::new(openssl)
        .args(["x509", "-noout", "-text", "-nameopt", "utf8", "-in"])
        .arg(&path));
    assert!(ok, "{text}");
    eprintln!("{text}");
    assert!(
        text.contains("CN=Zoë Ελένη") || text.contains("CN = Zoë Ελένη"),
        "{text}"
    );
    assert!(
        text.contains("emailAddress=zoe@example.org")
            || text.contains("emailAddress = zoe@example.org"),
        "{text}"
    );
    assert!(text.contains("email:zoe@example.org"), "{text}");
    assert!(
        text.contains("Digital Signature, Non Repudiation"),
        "{text}"
    );
    assert!(text.contains("127.0.0.1"), "CRL distribution point: {text}");
    // A signer without an e-mail address: named by commonName alone, no SAN.
    let no_mail = fx
        .pki
        .issue_signer_certificate(
            &key,
            &signer("Phone Only", ""),
            now,
            time::Duration::hours(2),
        )
        .expect("a certificate without e-mail");
    std::fs::write(&path, no_mail.to_pem()).expect("write");
    let (ok, text) = run(Command::new(tool("openssl", None).expect("openssl"))
        .args(["x509", "-noout", "-text", "-nameopt", "utf8", "-in"])
        .arg(&path));
    assert!(ok, "{text}");
    assert!(text.contains("Phone Only"), "{text}");
    assert!(!text.contains("emailAddress"), "{text}");
    assert!(!text.contains("Subject Alternative Name"), "{text}");
    // Refused: a non-ASCII e-mail address cannot go into an IA5String.
    assert!(
        fx.pki
            .issue_signer_certificate(
                &key,
                &signer("X", "zoë@example.org"),
                now,
                time::Duration::hours(2)
            )
            .is_err()
    );
}

/// A page-content change after a signer's act is still caught by our verifier, next to the
/// stamped revisions it accepts.
#[test]
fn content_change_after_an_act_is_reported() {
    let fx = fixture();
    let input = build_pdf(&[PageSpec::a4()], None, false);
    let a = stamp_and_sign(
        &fx,
        &input,
        "SignerA",
        &signer("Anna Smith", "anna@example.org"),
        &marks_a(),
        How::OneCopy,
    );
    // Stamping alone after the signature is accepted…
    let (stamped, _) = stamp(&a, "SignerB", &marks_b(0), &fx.fonts).expect("stamp");
    let opts = VerifyOptions {
        trust_roots: vec![fx.pki.root_cert.clone()],
        now: time::OffsetDateTime::now_utc(),
    };
    let report = verify_pdf(&stamped, &opts).expect("verify");
    assert!(report.valid, "{}", report.to_text());
    // …but a rewritten content stream (object 6, the page's) is not.
    let text = String::from_utf8_lossy(&stamped).into_owned();
    let startxref: usize = text
        .rsplit("startxref")
        .next()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("startxref");
    let mut out = stamped.clone();
    let off = out.len();
    let body = "BT /F1 24 Tf 72 720 Td (Pay 1,000,000 EUR) Tj ET";
    out.extend_from_slice(
        format!(
            "6 0 obj\n<< /Length {} >>\nstream\n{body}\nendstream\nendobj\n",
            body.len()
        )
        .as_bytes(),
    );
    let xref = out.len();
    out.extend_from_slice(format!("xref\n6 1\n{off:010} 00000 n\r\ntrailer\n<< /Size 200 /Root 1 0 R /Prev {startxref} >>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    let report = verify_pdf(&out, &opts).expect("verify");
    assert!(!report.valid, "{}", report.to_text());
    assert_eq!(
        report.signatures[0].later_revisions.last().map(|l| l.kind),
        Some(ChangeKind::Other)
    );
}

/// The benchmark's image-heavy document (its size in one unfiltered image) goes through both
/// act paths and every validator accepts it.
#[test]
fn an_image_heavy_document_is_stamped_and_signed() {
    let fx = fixture();
    let input = common::pdf_with_image(3, 300_000);
    common::qpdf_check(&input, fx.dir.path(), "image-input");
    two_signers(&fx, "image", &input, 3, 0);
}
