//! Malformed input must produce clean errors (or a report saying "invalid"), never a panic.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use crate::common;

use signet_pdf::pki::{Certificate, InstancePki, PkiOptions, SigningKey};
use signet_pdf::seal::{Level, seal_bytes};
use signet_pdf::tsa::{self, DEFAULT_TSA_POLICY, TimestampSource};
use signet_pdf::verify::{VerifyOptions, verify_pdf};

/// xorshift64*, deterministic so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn setup() -> (InstancePki, Vec<Vec<u8>>) {
    let pki = InstancePki::generate(&PkiOptions::new(
        "Robust",
        "http://127.0.0.1:9/crl",
        time::OffsetDateTime::now_utc(),
    ))
    .expect("pki");
    let sealer = pki.sealer().expect("sealer");
    let tsa = pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let plain = common::classic_pdf(2);
    let (blt, _) = seal_bytes(
        &plain,
        &sealer,
        Level::BLT,
        Some(&tsa as &dyn TimestampSource),
    )
    .expect("seal");
    let (twice, _) = seal_bytes(&blt, &sealer, Level::BB, None).expect("seal");
    (pki, vec![plain, blt, twice])
}

fn exercise(pki: &InstancePki, input: &[u8]) {
    let opts = VerifyOptions {
        trust_roots: vec![pki.root_cert.clone()],
        now: time::OffsetDateTime::now_utc(),
    };
    if let Ok(report) = verify_pdf(input, &opts) {
        let _ = report.to_text();
    }
    let sealer = pki.sealer().expect("sealer");
    let _ = seal_bytes(input, &sealer, Level::BB, None);
}

#[test]
fn truncated_files_fail_cleanly() {
    let (pki, docs) = setup();
    for doc in &docs {
        for cut in (0..doc.len())
            .step_by(61)
            .chain([doc.len() - 1, doc.len() - 7])
        {
            exercise(&pki, &doc[..cut]);
        }
    }
    // A truncated document is never reported valid.
    let opts = VerifyOptions {
        trust_roots: vec![pki.root_cert.clone()],
        now: time::OffsetDateTime::now_utc(),
    };
    let blt = &docs[1];
    assert!(
        verify_pdf(&blt[..blt.len() - 40], &opts)
            .map(|r| !r.valid)
            .unwrap_or(true)
    );
}

#[test]
fn garbled_files_fail_cleanly() {
    let (pki, docs) = setup();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let opts = VerifyOptions {
        trust_roots: vec![pki.root_cert.clone()],
        now: time::OffsetDateTime::now_utc(),
    };
    for round in 0..600 {
        let mut doc = docs[round % docs.len()].clone();
        let flips = 1 + rng.below(8);
        for _ in 0..flips {
            let i = rng.below(doc.len());
            doc[i] = match rng.below(4) {
                0 => rng.next() as u8,
                1 => b'0' + rng.below(10) as u8,
                2 => b" <>[]()/\n"[rng.below(9)],
                _ => doc[i] ^ 0x20,
            };
        }
        exercise(&pki, &doc);
    }
    // A single changed byte inside any signed range is always caught.
    for round in 0..300 {
        let orig = &docs[1 + round % 2];
        let signed: Vec<[u64; 4]> = verify_pdf(orig, &opts)
            .expect("verify")
            .signatures
            .iter()
            .map(|s| {
                [
                    s.byte_range[0],
                    s.byte_range[1],
                    s.byte_range[2],
                    s.byte_range[3],
                ]
            })
            .collect();
        let mut doc = orig.clone();
        let p = rng.below(doc.len());
        doc[p] ^= 1 << rng.below(8);
        let in_signed = signed.iter().any(|br| {
            let p = p as u64;
            (br[0]..br[0] + br[1]).contains(&p) || (br[2]..br[2] + br[3]).contains(&p)
        });
        if in_signed {
            assert!(
                verify_pdf(&doc, &opts).map(|r| !r.valid).unwrap_or(true),
                "flip at {p} went unnoticed"
            );
        }
    }
    for junk in [
        &b""[..],
        b"%PDF-",
        b"%PDF-1.7\nstartxref\n999999\n%%EOF",
        b"%PDF-1.7\nxref\n0 1\nstartxref\n9\n%%EOF\n",
    ] {
        exercise(&pki, junk);
    }
}

#[test]
fn xref_loops_and_absurd_values_are_rejected() {
    let (pki, _) = setup();
    // /Prev pointing at itself.
    let mut doc = common::classic_pdf(1);
    let xref = String::from_utf8_lossy(&doc).rfind("xref\n").expect("xref");
    let text = String::from_utf8_lossy(&doc).replace(
        "trailer\n<< /Size",
        &format!("trailer\n<< /Prev {xref} /Size"),
    );
    doc = text.into_bytes();
    assert!(
        verify_pdf(
            &doc,
            &VerifyOptions {
                trust_roots: vec![],
                now: time::OffsetDateTime::now_utc()
            }
        )
        .is_err()
    );
    exercise(&pki, &doc);
    // Deep nesting and a huge /Size.
    let deep = format!(
        "%PDF-1.7\n1 0 obj\n{}\nendobj\nxref\n0 2\n0000000000 65535 f\r\n0000000009 00000 n\r\ntrailer\n<< /Size 4294967295 /Root 1 0 R >>\nstartxref\n{}\n%%EOF\n",
        "[".repeat(5000),
        9 + 12 + 5000 + 8
    );
    exercise(&pki, deep.as_bytes());
}

#[test]
fn der_parsers_reject_garbage() {
    let (pki, _) = setup();
    let tsa = pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let mut rng = Rng(42);
    let good = tsa::build_request(&[9; 32], Some(&[1, 2, 3]));
    for _ in 0..2000 {
        let mut req = good.clone();
        let i = rng.below(req.len());
        req[i] = rng.next() as u8;
        req.truncate(rng.below(req.len() + 1).max(1));
        let resp = tsa.respond(&req);
        let _ = tsa::token_from_response(&resp).map(|t| tsa::parse_token(&t));
        let _ = tsa::parse_token(&req);
        let _ = Certificate::from_der(&req);
        let _ = SigningKey::from_pkcs8_der(&req);
    }
    assert!(Certificate::from_pem("not pem").is_err());
    assert!(
        SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            .is_err()
    );
}

/// Writes seed inputs for the fuzzer into `SIGNET_PDF_FUZZ_SEEDS` (`scripts/fuzz` sets it), or
/// into a temporary directory, checking that every seed is written.
#[test]
fn write_fuzz_seeds() {
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = std::env::var_os("SIGNET_PDF_FUZZ_SEEDS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (_, docs) = setup();
    for (i, d) in docs.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i}.pdf")), d).expect("write");
    }
    std::fs::write(
        dir.join("seed-prior.pdf"),
        common::with_prior_update(&common::classic_pdf(1)),
    )
    .expect("write");
    let written = std::fs::read_dir(&dir).expect("list").count();
    assert!(written > docs.len(), "seeds written: {written}");
}
