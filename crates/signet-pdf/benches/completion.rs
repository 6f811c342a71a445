//! Completion: the certificate (standalone and appended to a 200-page document), the archival
//! seal (B-LTA: /DSS + document time-stamp from the built-in TSA) on a signed 1-page and
//! 200-page document, and a page image by `render_page_png` next to plain `pdftoppm` on the
//! same page (file in, file out, no limits).
//!
//! Run: `cargo bench -p signet-pdf --bench completion` (env `SIGNET_BENCH_N`, default 50).
//! Each figure is the best of 5 rounds of N/5, so that other load on the machine counts less.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]
#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::Instant;

use signet_pdf::archive::{ArchiveMaterial, archive};
use signet_pdf::certificate::{
    CertificateInput, DocumentDigests, Event, Labels, Participant, append_certificate,
    certificate_pdf,
};
use signet_pdf::pki::{InstancePki, PkiOptions};
use signet_pdf::render::{RenderLimits, render_page_png};
use signet_pdf::seal::{Level, seal_bytes};
use signet_pdf::stamp::FontLibrary;
use signet_pdf::tsa::{DEFAULT_TSA_POLICY, TimestampSource};

fn best(n: usize, mut f: impl FnMut()) -> f64 {
    let rounds = 5;
    let per_round = (n / rounds).max(1);
    let mut best = f64::MAX;
    f();
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..per_round {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / per_round as f64);
    }
    best
}

fn main() {
    let n: usize = std::env::var("SIGNET_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let now = time::OffsetDateTime::now_utc();
    let pki = InstancePki::generate(&PkiOptions::new("Bench", "http://127.0.0.1:9/crl", now))
        .expect("pki");
    let tsa = pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let sealer = pki.sealer().expect("sealer");
    let fonts = FontLibrary::builtin();
    println!("signet-pdf completion benchmark, N = {n} (best of 5 rounds)");

    let mut input = CertificateInput::new("Lease agreement", "env_7f3a9c2e", Labels::english());
    for i in 0..4 {
        let mut p = Participant::new(format!("Signer number {i}"), "Signer", "SMS code");
        p.email = Some(format!("signer{i}@example.org"));
        p.ip = Some("203.0.113.7".into());
        p.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0".into());
        p.invited = Some(now);
        p.signed = Some(now);
        input.participants.push(p);
    }
    input.documents = vec![DocumentDigests::new("lease.pdf", [1; 32], Some([2; 32]))];
    input.events = (0..40)
        .map(|i| Event::new(now, format!("Event {i}"), [i as u8; 32]))
        .collect();
    input.checkpoint =
        "signet.example.org/log\n1234\nq5Nq0mXbQ3f2n8m0H4W9l6u0b1J0Vt3m6Vf0x4YzA7c=\n".into();
    let (standalone, report) = certificate_pdf(&input, &fonts).expect("certificate");
    let per = best(n, || {
        std::hint::black_box(certificate_pdf(&input, &fonts).expect("certificate"));
    });
    println!(
        "  certificate standalone ({} pages, {} bytes): {:.3} ms",
        report.pages,
        standalone.len(),
        per * 1e3
    );
    let doc200 = common::classic_pdf(200);
    let per = best(n, || {
        std::hint::black_box(append_certificate(&doc200, &input, &fonts).expect("append"));
    });
    println!("  certificate appended to 200 pages: {:.3} ms", per * 1e3);

    let mut m = ArchiveMaterial::default();
    m.certs = vec![pki.root_cert.clone(), pki.tsa_cert.clone()];
    m.crls = vec![pki.crl.clone()];
    for (name, doc) in [
        ("1-page", common::classic_pdf(1)),
        ("200-page", doc200.clone()),
    ] {
        let (signed, _) =
            seal_bytes(&doc, &sealer, Level::BT, Some(&tsa as &dyn TimestampSource)).expect("seal");
        let per = best(n, || {
            std::hint::black_box(
                archive(&signed, &m, &tsa as &dyn TimestampSource).expect("archive"),
            );
        });
        println!(
            "  B-LTA archival seal {name:>8} ({} bytes): {:.3} ms",
            signed.len(),
            per * 1e3
        );
    }

    let (Some(pdftoppm), prlimit) = (
        common::tool("pdftoppm", None),
        common::tool("prlimit", None),
    ) else {
        println!("  page image: pdftoppm missing, skipped");
        return;
    };
    let mut limits = RenderLimits::default();
    limits.pdftoppm = pdftoppm.clone();
    limits.prlimit = prlimit;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("certificate.pdf");
    std::fs::write(&path, &standalone).expect("write");
    let n_img = (n / 2).max(5);
    let per_lib = best(n_img, || {
        std::hint::black_box(render_page_png(&standalone, 1, 800, &limits).expect("render"));
    });
    let out = dir.path().join("page");
    let per_plain = best(n_img, || {
        let st = Command::new(&pdftoppm)
            .args([
                "-f",
                "2",
                "-l",
                "2",
                "-scale-to-x",
                "800",
                "-scale-to-y",
                "-1",
            ])
            .args(["-png", "-singlefile"])
            .arg(&path)
            .arg(&out)
            .status()
            .expect("pdftoppm");
        assert!(st.success());
    });
    println!(
        "  page image 800 px: render_page_png {:.2} ms, plain pdftoppm {:.2} ms ({:+.0} %)",
        per_lib * 1e3,
        per_plain * 1e3,
        (per_lib / per_plain - 1.0) * 100.0
    );
}
