//! A signer's act: stamp (typed signature, name, date, checkmark) + sign (fresh P-256 key, a
//! certificate from the instance CA, CMS, an RFC 3161 time-stamp from the built-in TSA) on a
//! 1-page and a 200-page PDF, next to the floor (one SHA-256 pass over the file plus one P-256
//! signature).
//!
//! The 200-page documents: "200-page" has one line a page (56 KB), "200-page-text" fifty
//! (about 1 MB, a typed contract's size).
//!
//! Run: `cargo bench -p signet-pdf --bench act` (env `SIGNET_BENCH_N` = iterations, default 200;
//! `SIGNET_BENCH_IMAGE_MB=2` adds a 10-page document carrying a 2 MB image, where hashing
//! rather than the act's fixed cost dominates; `SIGNET_BENCH_DOC=<name>` runs one document).
//! "stamp+sign" is [`stamp`] then [`sign_act`] (two copies of the document and a third pass
//! to hash it); "stamp_and_sign" is the one-copy act.
//! Each figure is given in wall time and in CPU time of the benchmark's thread (from
//! `/proc/thread-self/schedstat`), which other processes' load on a shared machine inflates far
//! less.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]
#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use signet_pdf::act::{SigningAct, sign_act, stamp_and_sign};
use signet_pdf::pki::{InstancePki, PkiOptions, SignerIdentity};
use signet_pdf::stamp::{FontLibrary, FracRect, Mark, MarkKind, stamp};
use signet_pdf::tsa::{DEFAULT_TSA_POLICY, TimestampSource};

fn b(x: f64, y: f64, w: f64, h: f64) -> FracRect {
    FracRect {
        x,
        y,
        width: w,
        height: h,
    }
}

/// CPU time this thread has run, in seconds (Linux); 0 where it cannot be read.
fn cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

fn main() {
    let n: usize = std::env::var("SIGNET_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let pki = InstancePki::generate(&PkiOptions::new(
        "Bench",
        "http://127.0.0.1:9/crl",
        time::OffsetDateTime::now_utc(),
    ))
    .expect("pki");
    let tsa = pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let fonts = FontLibrary::builtin();
    let act = SigningAct::new(
        SignerIdentity {
            name: "Anna Smith".into(),
            email: "anna@example.org".into(),
        },
        "SignerA",
    );
    let mut docs = vec![
        ("1-page".to_string(), common::classic_pdf(1), 0),
        ("200-page".to_string(), common::classic_pdf(200), 199),
        ("200-page-text".to_string(), common::text_pdf(200), 199),
    ];
    if let Some(mb) = std::env::var("SIGNET_BENCH_IMAGE_MB")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
    {
        let bytes = (mb * 1e6) as usize;
        docs.push((
            format!("{mb}MB-image"),
            common::pdf_with_image(10, bytes),
            9,
        ));
    }
    let which = std::env::var("SIGNET_BENCH_DOC").unwrap_or_default();
    println!(
        "signet-pdf act benchmark, N = {n}: stamp 4 marks + sign B-T (fresh P-256 key and certificate)"
    );
    for (name, doc, last) in docs
        .iter()
        .filter(|(n, _, _)| which.is_empty() || *n == which)
    {
        let (name, last) = (name.as_str(), *last);
        let marks = vec![
            Mark::new(
                last,
                b(0.1, 0.7, 0.4, 0.08),
                MarkKind::TypedSignature("Anna Smith".into()),
            ),
            Mark::new(
                last,
                b(0.1, 0.8, 0.3, 0.04),
                MarkKind::Name("Anna Smith".into()),
            ),
            Mark::new(
                last,
                b(0.5, 0.8, 0.2, 0.04),
                MarkKind::Date("2026-11-30".into()),
            ),
            Mark::new(last, b(0.8, 0.8, 0.05, 0.04), MarkKind::Checkmark),
        ];
        let once = || {
            let (stamped, _) = stamp(doc, "SignerA", &marks, &fonts).expect("stamp");
            let (signed, _) =
                sign_act(&stamped, &pki, &act, &tsa as &dyn TimestampSource).expect("sign");
            std::hint::black_box(signed);
        };
        once();
        let (t, c) = (Instant::now(), cpu());
        for _ in 0..n {
            once();
        }
        let per = t.elapsed().as_secs_f64() / n as f64;
        let per_cpu = (cpu() - c) / n as f64;
        println!(
            "  stamp+sign  {name:>8} ({:>7} bytes): {:>8.1} acts/s ({:.3} ms each; CPU {:.3} ms = {:.1} acts/s per core)",
            doc.len(),
            1.0 / per,
            per * 1e3,
            per_cpu * 1e3,
            1.0 / per_cpu
        );
        let one_copy = || {
            let (signed, _, _) = stamp_and_sign(
                doc,
                &marks,
                &fonts,
                &pki,
                &act,
                &tsa as &dyn TimestampSource,
            )
            .expect("stamp and sign");
            std::hint::black_box(signed);
        };
        one_copy();
        let (t, c) = (Instant::now(), cpu());
        for _ in 0..n {
            one_copy();
        }
        let per_one = t.elapsed().as_secs_f64() / n as f64;
        let per_one_cpu = (cpu() - c) / n as f64;
        println!(
            "  stamp_and_sign {name:>5}: {:>8.1} acts/s ({:.3} ms each; CPU {:.3} ms = {:.1} acts/s per core)",
            1.0 / per_one,
            per_one * 1e3,
            per_one_cpu * 1e3,
            1.0 / per_one_cpu
        );
        let (t, c) = (Instant::now(), cpu());
        for _ in 0..n {
            std::hint::black_box(stamp(doc, "SignerA", &marks, &fonts).expect("stamp"));
        }
        let per_stamp = t.elapsed().as_secs_f64() / n as f64;
        let per_stamp_cpu = (cpu() - c) / n as f64;
        println!(
            "    of which stamp alone: {:.3} ms (CPU {:.3} ms)",
            per_stamp * 1e3,
            per_stamp_cpu * 1e3
        );

        let key = aws_lc_rs::signature::EcdsaKeyPair::generate(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        )
        .expect("key");
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let floor_once = || {
            let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, doc);
            std::hint::black_box(key.sign(&rng, d.as_ref()).expect("sign"));
        };
        // The thread's CPU time is only as fresh as its last scheduler tick (a few ms): the
        // floor, far shorter than an act, runs for at least 0.3 s so that this stays small.
        let t = Instant::now();
        for _ in 0..20 {
            floor_once();
        }
        let probe = t.elapsed().as_secs_f64() / 20.0;
        let floor_n = ((0.3 / probe) as usize).clamp(n, 100 * n);
        let (t, c) = (Instant::now(), cpu());
        for _ in 0..floor_n {
            floor_once();
        }
        let per_floor = t.elapsed().as_secs_f64() / floor_n as f64;
        let per_floor_cpu = (cpu() - c) / floor_n as f64;
        println!(
            "  floor       {name:>8}: {:>8.1} ops/s ({:.3} ms each, CPU {:.3} ms: SHA-256 over the file + one P-256 signature)",
            1.0 / per_floor,
            per_floor * 1e3,
            per_floor_cpu * 1e3
        );
        println!(
            "  ratio       {name:>8}: {:.1}x the floor in CPU time (stamp_and_sign: {:.1}x)",
            per_cpu / per_floor_cpu,
            per_one_cpu / per_floor_cpu
        );
    }
}
