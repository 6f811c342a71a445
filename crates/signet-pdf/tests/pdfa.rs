//! PDF/A input stays identified as PDF/A: stamping, signing, the completion certificate and the
//! archival seal keep the catalog's XMP metadata (with `pdfaid:part` / `pdfaid:conformance`)
//! and its output intent, since every step only appends revisions. (Conformance itself needs
//! veraPDF, which none of the package registries this project uses provides.)

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

mod common;

use std::process::Command;

use common::{run, tool};
use signet_pdf::act::{SigningAct, sign_act};
use signet_pdf::archive::{ArchiveMaterial, archive};
use signet_pdf::certificate::{CertificateInput, Labels, append_certificate};
use signet_pdf::pki::SignerIdentity;
use signet_pdf::stamp::{FontLibrary, FracRect, Mark, MarkKind, stamp};
use signet_pdf::tsa::{DEFAULT_TSA_POLICY, TimestampSource};

/// A one-page document declaring PDF/A-`part``conformance` in XMP, with an sRGB output intent
/// (added as an incremental update over the plain test document).
fn pdfa(part: u8, conformance: char) -> Vec<u8> {
    let base = common::classic_pdf(1);
    let startxref = common::startxref(&base);
    // classic_pdf(1) has objects 1..=5.
    let xmp = format!(
        r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>{part}</pdfaid:part><pdfaid:conformance>{conformance}</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#
    );
    let mut out = base.clone();
    let mut offsets = Vec::new();
    offsets.push((1, out.len()));
    out.extend_from_slice(
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R /OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB) >>] >>\nendobj\n",
    );
    offsets.push((6, out.len()));
    out.extend_from_slice(
        format!(
            "6 0 obj\n<< /Type /Metadata /Subtype /XML /Length {} >>\nstream\n{xmp}\nendstream\nendobj\n",
            xmp.len()
        )
        .as_bytes(),
    );
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n1 1\n{:010} 00000 n\r\n6 1\n{:010} 00000 n\r\ntrailer\n<< /Size 7 /Root 1 0 R /Prev {startxref} /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] >>\nstartxref\n{xref}\n%%EOF\n",
            offsets[0].1, offsets[1].1
        )
        .as_bytes(),
    );
    out
}

/// The document's XMP as poppler reads it (`pdfinfo -meta`), or `None` without poppler.
fn xmp(pdf: &[u8], dir: &std::path::Path, name: &str) -> Option<String> {
    let tool = tool("pdfinfo", None)?;
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).expect("write");
    let (ok, text) = run(Command::new(tool).arg("-meta").arg(&path));
    assert!(ok, "pdfinfo: {text}");
    Some(text)
}

fn catalog(pdf: &[u8], dir: &std::path::Path, name: &str) -> Option<String> {
    let q = tool("qpdf", None)?;
    let path = dir.join(format!("{name}-cat.pdf"));
    std::fs::write(&path, pdf).expect("write");
    let (ok, text) = run(Command::new(q).arg("--show-object=trailer").arg(&path));
    assert!(ok, "qpdf: {text}");
    let root: String = text
        .split("/Root ")
        .nth(1)
        .and_then(|s| s.split(" R").next())
        .expect("root")
        .replace(' ', ",");
    let (ok, text) = run(Command::new(tool("qpdf", None)?)
        .arg(format!("--show-object={}", root.trim_end_matches(",0")))
        .arg(&path));
    assert!(ok, "qpdf: {text}");
    Some(text)
}

#[test]
fn pdfa_identification_survives_every_step() {
    let (pki, dir) = common::offline_pki();
    let tsa = pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let fonts = FontLibrary::builtin();
    for (part, conf) in [(1, 'B'), (2, 'B')] {
        let name = format!("pdfa-{part}{conf}");
        let input = pdfa(part, conf);
        common::qpdf_check(&input, dir.path(), &name);
        let rect = FracRect {
            x: 0.1,
            y: 0.8,
            width: 0.3,
            height: 0.06,
        };
        let (stamped, _) = stamp(
            &input,
            "Signer",
            &[Mark::new(
                0,
                rect,
                MarkKind::TypedSignature("Anna Smith".into()),
            )],
            &fonts,
        )
        .expect("stamp");
        let act = SigningAct::new(
            SignerIdentity {
                name: "Anna Smith".into(),
                email: "anna@example.org".into(),
            },
            "Signer",
        );
        let (signed, _) =
            sign_act(&stamped, &pki, &act, &tsa as &dyn TimestampSource).expect("sign");
        let (with_cert, _) = append_certificate(
            &signed,
            &CertificateInput::new("PDF/A", "env", Labels::english()),
            &fonts,
        )
        .expect("certificate");
        let mut m = ArchiveMaterial::default();
        m.certs = vec![pki.root_cert.clone()];
        m.crls = vec![pki.crl.clone()];
        let (sealed, _) = archive(&with_cert, &m, &tsa as &dyn TimestampSource).expect("archive");
        common::qpdf_check(&sealed, dir.path(), &format!("{name}-sealed"));
        // Every embedded font subset (stamp and certificate) lists its CIDs, as PDF/A-1 asks.
        let count = |needle: &[u8]| {
            sealed
                .windows(needle.len())
                .filter(|w| *w == needle)
                .count()
        };
        // "/FontDescriptor" stands twice per font: its /Type, and the CID font's reference.
        assert!(count(b"/CIDSet") >= 2);
        assert_eq!(2 * count(b"/CIDSet"), count(b"/FontDescriptor"));
        for (step, pdf) in [
            ("stamped", &stamped),
            ("signed", &signed),
            ("certificate", &with_cert),
            ("sealed", &sealed),
        ] {
            if let Some(meta) = xmp(pdf, dir.path(), &format!("{name}-{step}")) {
                assert!(
                    meta.contains(&format!("<pdfaid:part>{part}</pdfaid:part>"))
                        && meta
                            .contains(&format!("<pdfaid:conformance>{conf}</pdfaid:conformance>")),
                    "{name} {step}: {meta}"
                );
            }
            if let Some(cat) = catalog(pdf, dir.path(), &format!("{name}-{step}")) {
                assert!(
                    cat.contains("/OutputIntents") && cat.contains("/GTS_PDFA1"),
                    "{name} {step}: {cat}"
                );
            }
        }
    }
}
