//! End-to-end tests with independent validators.
//!
//! Needs (otherwise the checks print a NOTICE and are skipped, or fail when `CI=true`):
//! - `apt-get install -y qpdf poppler-utils openssl` (`qpdf`, `pdfsig`, `openssl` on PATH);
//! - pyHanko: `python3 -m venv .venv && .venv/bin/pip install pyhanko pyhanko-cli
//!   pyhanko-certvalidator` at the workspace root, or `SIGNET_PYHANKO=/path/to/pyhanko`.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{run, tool};
use signet_pdf::pki::{InstancePki, PkiOptions};
use signet_pdf::seal::{Level, seal_bytes};
use signet_pdf::tsa::{DEFAULT_TSA_POLICY, TimestampSource};
use signet_pdf::verify::{ChangeKind, VerifyOptions, VerifyReport, verify_pdf};

struct Fixture {
    pki: InstancePki,
    dir: tempfile::TempDir,
}

/// Serves `crl` to every HTTP request on a loopback port, forever (the test process ends it).
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

/// A fresh PKI. With `online`, its CRL distribution point is served on loopback; otherwise it
/// points at a closed port, so validators must find revocation data in the file.
fn fixture_with(online: bool) -> Fixture {
    let now = time::OffsetDateTime::now_utc();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let url = if online {
        format!("http://127.0.0.1:{port}/v1/pki/crl")
    } else {
        "http://127.0.0.1:9/v1/pki/crl".into()
    };
    let pki = InstancePki::generate(&PkiOptions::new("Signet Test", url, now)).expect("pki");
    if online {
        serve_crl(listener, pki.crl.clone());
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("root.pem"), pki.root_cert.to_pem()).expect("write");
    std::fs::write(dir.path().join("tsa.pem"), pki.tsa_cert.to_pem()).expect("write");
    Fixture { pki, dir }
}

fn fixture() -> Fixture {
    fixture_with(true)
}

fn pyhanko_validate(dir: &Path, file: &Path, extra: &[&str]) -> Option<String> {
    let py = tool("pyhanko", Some("SIGNET_PYHANKO"))?;
    let (_, text) = run(Command::new(py)
        .args(["sign", "validate", "--trust-replace", "--trust"])
        .arg(dir.join("root.pem"))
        .args(extra)
        .arg(file));
    Some(text)
}

fn pdfsig(file: &Path) -> Option<(bool, String)> {
    let p = tool("pdfsig", None)?;
    Some(run(Command::new(p).arg("-nocert").arg(file)))
}

fn qpdf_check(file: &Path) {
    if let Some(q) = tool("qpdf", None) {
        let (ok, text) = run(Command::new(q).arg("--check").arg(file));
        assert!(ok && !text.contains("ERROR"), "qpdf --check failed: {text}");
    }
}

fn our_verify(fx: &Fixture, pdf: &[u8]) -> VerifyReport {
    let opts = VerifyOptions {
        trust_roots: vec![fx.pki.root_cert.clone()],
        now: time::OffsetDateTime::now_utc(),
    };
    let report = verify_pdf(pdf, &opts).expect("verify");
    // The report is serialisable.
    serde_json::to_string(&report).expect("json");
    report
}

/// Flips one byte inside the first signed range: our verifier and pdfsig must both object.
fn check_tamper_detected(fx: &Fixture, name: &str, sealed: &[u8]) {
    let mut bad = sealed.to_vec();
    bad[11] ^= 0x01; // inside the binary comment of the header line
    let report = our_verify(fx, &bad);
    assert!(
        !report.valid && report.signatures.iter().all(|s| !s.digest_matches),
        "{}",
        report.to_text()
    );
    let path = fx.dir.path().join(format!("{name}-tampered.pdf"));
    std::fs::write(&path, &bad).expect("write");
    if let Some((_, text)) = pdfsig(&path) {
        eprintln!("pdfsig {name}-tampered:\n{text}");
        assert!(
            !text.contains("Signature is Valid."),
            "pdfsig accepted a tampered file: {text}"
        );
    }
}

fn check_sealed(fx: &Fixture, name: &str, sealed: &[u8], level: Level) {
    let path = fx.dir.path().join(format!("{name}.pdf"));
    std::fs::write(&path, sealed).expect("write");
    let report = our_verify(fx, sealed);
    eprintln!("our verify {name}:\n{}", report.to_text());
    assert!(report.valid, "{}", report.to_text());
    let sig = report.signatures.last().expect("a signature");
    assert!(sig.covers_whole_file && !sig.has_signing_time_attribute);
    assert_eq!(sig.timestamp.is_some(), level != Level::BB);
    check_tamper_detected(fx, name, sealed);
    qpdf_check(&path);
    if let Some((ok, text)) = pdfsig(&path) {
        eprintln!("pdfsig {name}:\n{text}");
        assert!(ok, "pdfsig failed: {text}");
        assert!(text.contains("Signature is Valid."), "pdfsig: {text}");
        assert!(!text.contains("Signature is Invalid"), "pdfsig: {text}");
    }
    if let Some(text) = pyhanko_validate(fx.dir.path(), &path, &[]) {
        eprintln!("pyhanko {name}:\n{text}");
        assert!(text.contains("INTACT:"), "pyhanko: {text}");
        assert!(text.contains("TRUSTED"), "pyhanko: {text}");
        assert!(!text.contains("UNTRUSTED"), "pyhanko: {text}");
        if level != Level::BB {
            assert!(
                text.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
                "pyhanko timestamp: {text}"
            );
        }
    }
}

#[test]
fn bb_classic_xref() {
    let fx = fixture();
    let sealer = fx.pki.sealer().expect("sealer");
    let (sealed, report) =
        seal_bytes(&common::classic_pdf(1), &sealer, Level::BB, None).expect("seal");
    assert_eq!(report.byte_range[0], 0);
    check_sealed(&fx, "bb-classic", &sealed, Level::BB);
}

#[test]
fn bt_requires_timestamp_source() {
    let fx = fixture();
    let sealer = fx.pki.sealer().expect("sealer");
    let err = seal_bytes(&common::classic_pdf(1), &sealer, Level::BT, None).expect_err("no tsa");
    assert!(matches!(
        err,
        signet_pdf::seal::SealError::TimestampRequired(_)
    ));
}

#[test]
fn bt_classic_xref() {
    let fx = fixture();
    let sealer = fx.pki.sealer().expect("sealer");
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let (sealed, report) = seal_bytes(
        &common::classic_pdf(2),
        &sealer,
        Level::BT,
        Some(&tsa as &dyn TimestampSource),
    )
    .expect("seal");
    assert!(report.timestamp.is_some());
    check_sealed(&fx, "bt-classic", &sealed, Level::BT);
}

#[test]
fn bb_and_bt_xref_stream() {
    let fx = fixture();
    let Some(input) =
        common::qpdf_from_classic_to_xref_stream(&common::classic_pdf(3), fx.dir.path())
    else {
        return;
    };
    assert!(
        !String::from_utf8_lossy(&input).contains("\ntrailer"),
        "qpdf should write an xref stream"
    );
    let sealer = fx.pki.sealer().expect("sealer");
    let (sealed, report) = seal_bytes(&input, &sealer, Level::BB, None).expect("seal");
    assert_eq!(report.xref_kind, signet_pdf::pdf::XrefKind::Stream);
    check_sealed(&fx, "bb-objstm", &sealed, Level::BB);
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let (sealed, _) = seal_bytes(
        &input,
        &sealer,
        Level::BT,
        Some(&tsa as &dyn TimestampSource),
    )
    .expect("seal");
    check_sealed(&fx, "bt-objstm", &sealed, Level::BT);
}

#[test]
fn bb_after_prior_incremental_update() {
    let fx = fixture();
    let input = common::with_prior_update(&common::classic_pdf(1));
    let sealer = fx.pki.sealer().expect("sealer");
    let (sealed, _) = seal_bytes(&input, &sealer, Level::BB, None).expect("seal");
    check_sealed(&fx, "bb-prior-update", &sealed, Level::BB);
}

#[test]
fn sealing_twice_keeps_both_signatures_valid() {
    let fx = fixture();
    let sealer = fx.pki.sealer().expect("sealer");
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let (once, _) = seal_bytes(
        &common::classic_pdf(1),
        &sealer,
        Level::BT,
        Some(&tsa as &dyn TimestampSource),
    )
    .expect("seal");
    let (twice, _) = seal_bytes(
        &once,
        &sealer,
        Level::BT,
        Some(&tsa as &dyn TimestampSource),
    )
    .expect("seal");
    let path = fx.dir.path().join("twice.pdf");
    std::fs::write(&path, &twice).expect("write");
    qpdf_check(&path);
    if let Some((ok, text)) = pdfsig(&path) {
        eprintln!("pdfsig twice:\n{text}");
        assert!(
            ok && text.matches("Signature is Valid.").count() == 2,
            "pdfsig: {text}"
        );
    }
    if let Some(text) = pyhanko_validate(fx.dir.path(), &path, &[]) {
        eprintln!("pyhanko twice:\n{text}");
        assert_eq!(
            text.matches("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
                .count(),
            2,
            "pyhanko: {text}"
        );
    }
}

#[test]
fn blt_validates_offline() {
    // The CRL distribution point is a closed port: revocation data must come from the /DSS.
    let fx = fixture_with(false);
    let sealer = fx.pki.sealer().expect("sealer");
    let tsa = fx.pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let input = common::classic_pdf(1);
    let (blt, report) = seal_bytes(
        &input,
        &sealer,
        Level::BLT,
        Some(&tsa as &dyn TimestampSource),
    )
    .expect("seal");
    assert!(report.dss_certs >= 3 && report.dss_crls == 1, "{report:?}");
    let (bt, _) = seal_bytes(
        &input,
        &sealer,
        Level::BT,
        Some(&tsa as &dyn TimestampSource),
    )
    .expect("seal");
    let blt_path = fx.dir.path().join("blt.pdf");
    let bt_path = fx.dir.path().join("bt-offline.pdf");
    std::fs::write(&blt_path, &blt).expect("write");
    std::fs::write(&bt_path, &bt).expect("write");
    qpdf_check(&blt_path);
    if let Some((ok, text)) = pdfsig(&blt_path) {
        assert!(ok && text.contains("Signature is Valid."), "pdfsig: {text}");
    }
    let report = our_verify(&fx, &blt);
    eprintln!("our verify B-LT:\n{}", report.to_text());
    assert!(report.valid, "{}", report.to_text());
    let sig = &report.signatures[0];
    assert!(!sig.covers_whole_file && sig.covers_revision);
    assert_eq!(sig.later_revisions.len(), 1);
    assert_eq!(sig.later_revisions[0].kind, ChangeKind::DssOnly);
    assert_eq!(sig.revocation, "good");
    check_tamper_detected(&fx, "blt", &blt);
    let Some(py) = tool("pyhanko", Some("SIGNET_PYHANKO")) else {
        return;
    };
    let ades = |file: &Path| {
        run(Command::new(&py)
            .args(["sign", "adesverify", "--trust-replace", "--trust"])
            .arg(fx.dir.path().join("root.pem"))
            .arg(file))
        .1
    };
    let text = ades(&blt_path);
    eprintln!("pyhanko adesverify B-LT (offline):\n{text}");
    assert!(
        text.contains("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
        "B-LT: {text}"
    );
    assert!(
        text.contains("EXTENDED"),
        "the DSS update should be accepted: {text}"
    );
    let text = ades(&bt_path);
    eprintln!("pyhanko adesverify B-T (offline, control):\n{text}");
    assert!(
        !text.contains("INTACT:TRUSTED"),
        "B-T without revocation data must not be trusted offline: {text}"
    );
}

#[test]
fn later_content_change_is_reported() {
    let fx = fixture();
    let sealer = fx.pki.sealer().expect("sealer");
    let (sealed, _) = seal_bytes(&common::classic_pdf(1), &sealer, Level::BB, None).expect("seal");
    // An incremental update replacing the page's content stream (object 5).
    let text = String::from_utf8_lossy(&sealed).into_owned();
    let startxref: usize = text
        .rsplit("startxref")
        .next()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("startxref");
    let mut out = sealed.clone();
    let off = out.len();
    let body = "BT /F1 24 Tf 72 720 Td (Pay 1,000,000 EUR) Tj ET";
    out.extend_from_slice(
        format!(
            "5 0 obj\n<< /Length {} >>\nstream\n{body}\nendstream\nendobj\n",
            body.len()
        )
        .as_bytes(),
    );
    let xref = out.len();
    out.extend_from_slice(format!("xref\n5 1\n{off:010} 00000 n\r\ntrailer\n<< /Size 20 /Root 1 0 R /Prev {startxref} >>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    let report = our_verify(&fx, &out);
    eprintln!("{}", report.to_text());
    let sig = &report.signatures[0];
    assert!(
        sig.digest_matches && sig.signature_valid && sig.trusted,
        "the signed revision itself is intact"
    );
    assert!(sig.modified_after_signing && !report.valid);
    assert_eq!(sig.later_revisions[0].kind, ChangeKind::Other);
    let path = fx.dir.path().join("modified.pdf");
    std::fs::write(&path, &out).expect("write");
    if let Some(text) = pyhanko_validate(fx.dir.path(), &path, &[]) {
        eprintln!("pyhanko modified:\n{text}");
        assert!(
            !text.contains("UNTOUCHED") && !text.contains("ACCEPTABLE_MODIFICATIONS"),
            "{text}"
        );
    }
}
