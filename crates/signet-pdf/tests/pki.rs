//! Instance PKI: PEM round trips, certificate profiles checked with `openssl`, and
//! operator-provided keys (RSA via aws-lc-rs, SEC1 EC) used for sealing.
//!
//! Needs `openssl` on PATH (checks are skipped with a NOTICE otherwise, or fail when `CI=true`);
//! pyHanko as for `validators.rs` for the RSA seal check.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use crate::common;

use std::process::Command;

use common::{run, tool};
use signet_pdf::pki::{
    Certificate, InstancePki, InstancePkiPem, KeyAlgorithm, PkiError, PkiOptions, SigningKey,
    crl_to_pem,
};
use signet_pdf::seal::{Level, Sealer, seal_bytes};
use signet_pdf::verify::{VerifyOptions, verify_pdf};

fn generate() -> InstancePki {
    InstancePki::generate(&PkiOptions::new(
        "Signet PKI Test",
        "https://sign.example.org/v1/pki/crl",
        time::OffsetDateTime::now_utc(),
    ))
    .expect("pki")
}

#[test]
fn pem_round_trip_and_key_mismatch() {
    let pki = generate();
    let pem = pki.to_pem();
    let again = InstancePki::from_pem(&pem).expect("load");
    assert_eq!(again.to_pem(), pem);
    let json = serde_json::to_string(&pem).expect("json");
    let back: InstancePkiPem = serde_json::from_str(&json).expect("json");
    assert_eq!(back, pem);
    let swapped = InstancePkiPem {
        sealing_key: pem.tsa_key.clone(),
        ..pem.clone()
    };
    assert!(matches!(
        InstancePki::from_pem(&swapped),
        Err(PkiError::KeyMismatch)
    ));
    assert!(matches!(
        InstancePki::from_pem(&InstancePkiPem {
            crl: pem.root_cert.clone(),
            ..pem
        }),
        Err(PkiError::Pem(_))
    ));
    assert_eq!(pki.sealing_key.algorithm(), KeyAlgorithm::EcdsaP256);
}

#[test]
fn certificate_profiles_pass_openssl() {
    let Some(openssl) = tool("openssl", None) else {
        return;
    };
    let pki = generate();
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n);
    let pem = pki.to_pem();
    for (n, v) in [
        ("root.pem", &pem.root_cert),
        ("seal.pem", &pem.sealing_cert),
        ("tsa.pem", &pem.tsa_cert),
        ("crl.pem", &pem.crl),
    ] {
        std::fs::write(p(n), v).expect("write");
    }
    let text = |f: &str| {
        run(Command::new(&openssl)
            .args(["x509", "-noout", "-text", "-in"])
            .arg(p(f)))
        .1
    };
    let root = text("root.pem");
    assert!(
        root.contains("CA:TRUE") && root.contains("Certificate Sign, CRL Sign"),
        "{root}"
    );
    assert!(root.contains("ASN1 OID: prime256v1"), "{root}");
    let seal = text("seal.pem");
    assert!(
        seal.contains("Digital Signature, Non Repudiation"),
        "{seal}"
    );
    assert!(
        seal.contains("URI:https://sign.example.org/v1/pki/crl"),
        "{seal}"
    );
    let tsa = text("tsa.pem");
    assert!(
        tsa.contains("X509v3 Extended Key Usage: critical") && tsa.contains("Time Stamping"),
        "{tsa}"
    );
    assert!(
        tsa.contains("URI:https://sign.example.org/v1/pki/crl"),
        "{tsa}"
    );
    for leaf in ["seal.pem", "tsa.pem"] {
        let (ok, out) = run(Command::new(&openssl)
            .args(["verify", "-crl_check", "-CAfile"])
            .arg(p("root.pem"))
            .arg("-CRLfile")
            .arg(p("crl.pem"))
            .arg(p(leaf)));
        assert!(ok && out.contains(": OK"), "openssl verify {leaf}: {out}");
    }
    let (ok, out) = run(Command::new(&openssl)
        .args(["crl", "-noout", "-text", "-CAfile"])
        .arg(p("root.pem"))
        .arg("-in")
        .arg(p("crl.pem")));
    assert!(
        ok && out.contains("No Revoked Certificates") && out.contains("verify OK"),
        "{out}"
    );
    // A renewed CRL.
    let now = time::OffsetDateTime::now_utc();
    let crl2 = pki
        .issue_crl(now, now + time::Duration::days(7), 2)
        .expect("crl");
    std::fs::write(p("crl2.pem"), crl_to_pem(&crl2)).expect("write");
    let (ok, out) = run(Command::new(&openssl)
        .args(["crl", "-noout", "-text", "-CAfile"])
        .arg(p("root.pem"))
        .arg("-in")
        .arg(p("crl2.pem")));
    assert!(ok && out.contains("verify OK"), "{out}");
    let number = out
        .lines()
        .skip_while(|l| !l.contains("CRL Number"))
        .nth(1)
        .map(str::trim);
    assert_eq!(number, Some("2"), "{out}");
}

/// An operator brings their own key and certificate (issued by our root here, with openssl).
fn operator_key(
    openssl: &std::path::Path,
    pki: &InstancePki,
    dir: &std::path::Path,
    newkey: &[&str],
    convert: Option<&[&str]>,
) -> (SigningKey, Certificate) {
    let p = |n: &str| dir.join(n);
    std::fs::write(p("root.pem"), pki.root_cert.to_pem()).expect("write");
    std::fs::write(p("root.key"), pki.root_key.to_pkcs8_pem()).expect("write");
    let (ok, out) = run(Command::new(openssl)
        .args([
            "req",
            "-new",
            "-nodes",
            "-subj",
            "/O=Operator/CN=Operator Seal",
        ])
        .args(newkey)
        .arg("-keyout")
        .arg(p("op.key"))
        .arg("-out")
        .arg(p("op.csr")));
    assert!(ok, "{out}");
    std::fs::write(
        p("ext.cnf"),
        "keyUsage=critical,digitalSignature,nonRepudiation\n",
    )
    .expect("write");
    let (ok, out) = run(Command::new(openssl)
        .args(["x509", "-req", "-days", "30", "-sha256", "-in"])
        .arg(p("op.csr"))
        .arg("-CA")
        .arg(p("root.pem"))
        .arg("-CAkey")
        .arg(p("root.key"))
        .arg("-extfile")
        .arg(p("ext.cnf"))
        .arg("-out")
        .arg(p("op.pem")));
    assert!(ok, "{out}");
    if let Some(args) = convert {
        let (ok, out) = run(Command::new(openssl)
            .args(args)
            .arg("-in")
            .arg(p("op.key"))
            .arg("-out")
            .arg(p("op2.key")));
        assert!(ok, "{out}");
        std::fs::rename(p("op2.key"), p("op.key")).expect("rename");
    }
    let key_pem = std::fs::read_to_string(p("op.key")).expect("read");
    let key = SigningKey::from_pem(&key_pem).expect("operator key");
    let cert =
        Certificate::from_pem(&std::fs::read_to_string(p("op.pem")).expect("read")).expect("cert");
    (key, cert)
}

/// (name, `openssl req` key options, key conversion command, expected algorithm).
type Case = (
    &'static str,
    &'static [&'static str],
    Option<&'static [&'static str]>,
    KeyAlgorithm,
);

#[test]
fn operator_rsa_and_sec1_keys_seal() {
    let Some(openssl) = tool("openssl", None) else {
        return;
    };
    let pki = generate();
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [Case; 3] = [
        (
            "rsa-pkcs8",
            &["-newkey", "rsa:2048"],
            None,
            KeyAlgorithm::RsaPkcs1Sha256,
        ),
        (
            "rsa-pkcs1",
            &["-newkey", "rsa:2048"],
            Some(&["rsa", "-traditional"]),
            KeyAlgorithm::RsaPkcs1Sha256,
        ),
        (
            "ec-sec1",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            Some(&["ec"]),
            KeyAlgorithm::EcdsaP256,
        ),
    ];
    for (name, newkey, convert, alg) in cases {
        let (key, cert) = operator_key(&openssl, &pki, dir.path(), newkey, convert);
        assert_eq!(key.algorithm(), alg, "{name}");
        let sealer = Sealer::new(key, vec![cert, pki.root_cert.clone()]).expect("sealer");
        let (sealed, _) =
            seal_bytes(&common::classic_pdf(1), &sealer, Level::BB, None).expect("seal");
        let report = verify_pdf(
            &sealed,
            &VerifyOptions {
                trust_roots: vec![pki.root_cert.clone()],
                now: time::OffsetDateTime::now_utc(),
            },
        )
        .expect("verify");
        assert!(report.valid, "{name}: {}", report.to_text());
        let path = dir.path().join(format!("{name}.pdf"));
        std::fs::write(&path, &sealed).expect("write");
        if let Some((ok, text)) =
            tool("pdfsig", None).map(|p| run(Command::new(p).arg("-nocert").arg(&path)))
        {
            assert!(ok && text.contains("Signature is Valid."), "{name}: {text}");
        }
        if let Some(py) = tool("pyhanko", Some("SIGNET_PYHANKO")) {
            // The operator certificate has no CRL distribution point: skip revocation checks.
            let (_, text) = run(Command::new(py)
                .args([
                    "sign",
                    "validate",
                    "--no-revocation-check",
                    "--trust-replace",
                    "--trust",
                ])
                .arg(dir.path().join("root.pem"))
                .arg(&path));
            eprintln!("pyhanko {name}: {text}");
            assert!(text.contains("INTACT:TRUSTED"), "{name}: {text}");
        }
    }
    // A mismatched chain is refused up front.
    let other = generate();
    assert!(matches!(
        Sealer::new(
            SigningKey::generate_p256().expect("key"),
            vec![other.sealing_cert]
        ),
        Err(PkiError::KeyMismatch)
    ));
}
