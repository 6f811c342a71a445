//! Upload-time checks: what can be signed is described, what cannot is refused with a reason.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use crate::common;

use std::process::Command;

use common::{PageSpec, build_pdf, run, tool};
use signet_pdf::intake::{Refusal, inspect};
use signet_pdf::stamp::{FontLibrary, FracRect, Mark, MarkKind, StampError, stamp};

#[test]
fn plain_and_signed_documents_are_described() {
    let pages = [
        PageSpec::a4(),
        PageSpec {
            rotate: Some(90),
            ..PageSpec::a4()
        },
    ];
    let info = inspect(&build_pdf(&pages, None, true)).expect("accepted");
    assert_eq!(info.pages, 2);
    assert!(info.has_form && !info.has_xfa);
    assert_eq!(info.signed_fields, 0);
    assert_eq!(info.page_sizes, vec![(595.0, 842.0), (842.0, 595.0)]);
    let pki = signet_pdf::pki::InstancePki::generate(&signet_pdf::pki::PkiOptions::new(
        "Intake",
        "http://127.0.0.1:9/crl",
        time::OffsetDateTime::now_utc(),
    ))
    .expect("pki");
    let (signed, _) = signet_pdf::seal::seal_bytes(
        &common::classic_pdf(1),
        &pki.sealer().expect("sealer"),
        signet_pdf::seal::Level::BB,
        None,
    )
    .expect("seal");
    let info = inspect(&signed).expect("accepted");
    assert_eq!((info.signed_fields, info.revisions), (1, 2));
}

#[test]
fn encrypted_documents_are_refused() {
    let Some(qpdf) = tool("qpdf", None) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain.pdf");
    std::fs::write(&plain, build_pdf(&[PageSpec::a4()], None, false)).expect("write");
    // With a user password, and with an empty one (opens without asking, still encrypted).
    for (name, user) in [("locked", "secret"), ("owner-only", "")] {
        let out = dir.path().join(format!("{name}.pdf"));
        let (ok, text) = run(Command::new(&qpdf)
            .args(["--encrypt", user, "owner", "256", "--"])
            .arg(&plain)
            .arg(&out));
        assert!(ok, "{text}");
        let bytes = std::fs::read(&out).expect("read");
        assert!(matches!(inspect(&bytes), Err(Refusal::Encrypted)), "{name}");
        let mark = [Mark::new(
            0,
            FracRect {
                x: 0.1,
                y: 0.1,
                width: 0.2,
                height: 0.1,
            },
            MarkKind::Checkmark,
        )];
        assert!(matches!(
            stamp(&bytes, "S", &mark, &FontLibrary::builtin()),
            Err(StampError::Pdf(signet_pdf::pdf::PdfError::Encrypted))
        ));
    }
}

#[test]
fn unparseable_files_are_refused() {
    let good = build_pdf(&[PageSpec::a4()], None, false);
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"hello, this is not a PDF at all".to_vec(),
        good[..good.len() / 2].to_vec(),
        good.iter()
            .map(|b| if *b == b'R' { b'Q' } else { *b })
            .collect(),
    ];
    for (i, c) in cases.iter().enumerate() {
        match inspect(c) {
            Err(Refusal::Unparseable(msg)) => assert!(!msg.is_empty()),
            other => panic!("case {i}: expected Unparseable, got {other:?}"),
        }
    }
}

/// An XFA-only form: the catalog says NeedsRendering and the AcroForm has no fields.
fn xfa_pdf(needs_rendering: bool, with_fields: bool) -> Vec<u8> {
    let base = build_pdf(&[PageSpec::a4()], None, with_fields);
    let s = String::from_utf8_lossy(&base).into_owned();
    let xfa = "/XFA [(template) 3 0 R]";
    let mut s = if with_fields {
        s.replacen(
            "/AcroForm << /Fields",
            &format!("/AcroForm << {xfa} /Fields"),
            1,
        )
    } else {
        s.replacen(
            "/Pages 2 0 R",
            &format!("/Pages 2 0 R /AcroForm << /Fields [] {xfa} >>"),
            1,
        )
    };
    if needs_rendering {
        s = s.replacen("/Type /Catalog", "/Type /Catalog /NeedsRendering true", 1);
    }
    // Rebuild the xref offsets after the edit.
    fix_xref(s.into_bytes())
}

fn fix_xref(pdf: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8_lossy(&pdf).into_owned();
    let body_end = text.find("xref\n").expect("xref");
    let mut offsets = Vec::new();
    let mut n = 1;
    while let Some(p) = text[..body_end].find(&format!("\n{n} 0 obj")) {
        offsets.push(p + 1);
        n += 1;
    }
    let mut out = text.as_bytes()[..body_end].to_vec();
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f\r\n", offsets.len() + 1).as_bytes(),
    );
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    let trailer_at = text.find("trailer").expect("trailer");
    let trailer_end = text.find("startxref").expect("startxref");
    out.extend_from_slice(&text.as_bytes()[trailer_at..trailer_end]);
    out.extend_from_slice(format!("startxref\n{xref}\n%%EOF\n").as_bytes());
    out
}

#[test]
fn xfa_only_forms_are_refused_and_hybrids_accepted() {
    for (needs, fields) in [(true, true), (false, false), (true, false)] {
        let pdf = xfa_pdf(needs, fields);
        assert!(
            matches!(inspect(&pdf), Err(Refusal::XfaOnly)),
            "NeedsRendering {needs}, fields {fields}"
        );
    }
    let hybrid = inspect(&xfa_pdf(false, true)).expect("hybrid accepted");
    assert!(hybrid.has_xfa && hybrid.has_form);
}
