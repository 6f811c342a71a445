//! PDF/A input stays identified as PDF/A: stamping, signing, the completion certificate and the
//! archival seal keep the catalog's XMP metadata (with `pdfaid:part` / `pdfaid:conformance`)
//! and its output intent, since every step only appends revisions. Conformance is checked for
//! PDF/A-1b by Apache PDFBox Preflight (Debian `libpdfbox2-java`); veraPDF, which would also
//! check parts 2 and 3, is in none of the package registries this project uses.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use crate::common;

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

/// Apache PDFBox Preflight (Debian `libpdfbox2-java`), a PDF/A-1b validator, as a command line
/// (`java -cp … Validator_A1b`), or `None` (a notice; a failure in CI) when it is not installed.
/// veraPDF is in none of the registries this project uses; Preflight checks part 1 only.
fn preflight() -> Option<Command> {
    let java = tool("java", None)?;
    let jars = [
        "preflight.jar",
        "pdfbox2.jar",
        "fontbox2.jar",
        "xmpbox.jar",
        "commons-logging.jar",
        "javax.activation.jar",
        "jaxb-api.jar",
    ];
    let dir = std::path::Path::new("/usr/share/java");
    if let Some(missing) = jars.iter().find(|j| !dir.join(j).exists()) {
        assert!(
            !common::required(),
            "{missing} missing: install libpdfbox2-java libactivation-java libjaxb-api-java"
        );
        eprintln!(
            "NOTICE: {missing} missing (libpdfbox2-java libactivation-java libjaxb-api-java): skipped"
        );
        return None;
    }
    let cp: Vec<String> = jars
        .iter()
        .map(|j| dir.join(j).display().to_string())
        .collect();
    let mut c = Command::new(java);
    c.arg("-cp")
        .arg(cp.join(":"))
        .arg("org.apache.pdfbox.preflight.Validator_A1b");
    Some(c)
}

/// Preflight's verdict on `pdf`: `Ok` when it is valid PDF/A-1b, else its list of errors.
fn preflight_check(pdf: &[u8], dir: &std::path::Path, name: &str) -> Option<Result<(), String>> {
    let mut c = preflight()?;
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).expect("write");
    let (ok, text) = run(c.arg(&path));
    Some(if ok && text.contains("is a valid PDF/A-1b file") {
        Ok(())
    } else {
        Err(text)
    })
}

/// A genuinely PDF/A-1b conformant one-page document (a coloured square, no text: so no font to
/// embed), with an sRGB output intent from Debian's `icc-profiles-free`; `None` without it.
/// Without `intent`, the same file lacks its output intent and so is *not* conformant (it
/// paints in DeviceRGB).
fn pdfa1b(intent: bool) -> Option<Vec<u8>> {
    let icc_path = std::path::Path::new("/usr/share/color/icc/sRGB.icc");
    let Ok(icc) = std::fs::read(icc_path) else {
        assert!(
            !common::required(),
            "{} missing: install icc-profiles-free",
            icc_path.display()
        );
        eprintln!("NOTICE: no sRGB profile (icc-profiles-free): skipped");
        return None;
    };
    let xmp = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>1</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"#;
    let content = b"0.1 0.3 0.7 rg 100 600 200 100 re f\n";
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    let mut obj = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    let intents: &[u8] = if intent {
        b" /OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) /DestOutputProfile 6 0 R >>]"
    } else {
        b""
    };
    obj(
        &mut out,
        &[
            &b"<< /Type /Catalog /Pages 2 0 R /Metadata 5 0 R"[..],
            intents,
            b" >>",
        ]
        .concat(),
    );
    obj(&mut out, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    obj(
        &mut out,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> /Contents 4 0 R >>",
    );
    let stream = |dict: String, data: &[u8]| {
        let mut v = format!("{dict}\nstream\n").into_bytes();
        v.extend_from_slice(data);
        v.extend_from_slice(b"\nendstream");
        v
    };
    let s4 = stream(format!("<< /Length {} >>", content.len()), content);
    let s5 = stream(
        format!("<< /Type /Metadata /Subtype /XML /Length {} >>", xmp.len()),
        xmp.as_bytes(),
    );
    let s6 = stream(format!("<< /N 3 /Length {} >>", icc.len()), &icc);
    obj(&mut out, &s4);
    obj(&mut out, &s5);
    obj(&mut out, &s6);
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f\r\n", offsets.len() + 1).as_bytes(),
    );
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] >>\nstartxref\n{xref}\n%%EOF\n",
            offsets.len() + 1
        )
        .as_bytes(),
    );
    Some(out)
}

/// PDF/A-1b input stays conformant, as an independent validator (PDFBox Preflight) judges it,
/// through the signer's marks (embedded subset fonts with their CIDSet), the signer's signature
/// and the archival seal. The input is checked first, so a pass cannot come from a validator
/// that accepts anything; a damaged file is checked to fail.
#[test]
fn pdfa_1b_input_stays_conformant_for_preflight() {
    let Some(input) = pdfa1b(true) else {
        return;
    };
    let (pki, dir) = common::offline_pki();
    let Some(verdict) = preflight_check(&input, dir.path(), "pdfa1b-input") else {
        return;
    };
    verdict.expect("the input is PDF/A-1b");
    // A validator that says yes to everything proves nothing: the same file without its
    // output intent must fail.
    let broken = pdfa1b(false).expect("the profile was just read");
    assert!(
        preflight_check(&broken, dir.path(), "pdfa1b-no-intent")
            .expect("preflight")
            .is_err()
    );

    let tsa = pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let fonts = FontLibrary::builtin();
    let mark = |y: f64, kind: MarkKind| {
        Mark::new(
            0,
            FracRect {
                x: 0.1,
                y,
                width: 0.35,
                height: 0.06,
            },
            kind,
        )
    };
    let (stamped, _) = stamp(
        &input,
        "Signer",
        &[
            mark(0.7, MarkKind::TypedSignature("Anna Smith".into())),
            mark(0.8, MarkKind::Name("Ελένη Παπαδοπούλου".into())),
            mark(0.9, MarkKind::Checkmark),
        ],
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
    let (signed, _) = sign_act(&stamped, &pki, &act, &tsa as &dyn TimestampSource).expect("sign");
    let mut m = ArchiveMaterial::default();
    m.certs = vec![pki.root_cert.clone()];
    m.crls = vec![pki.crl.clone()];
    let (sealed, _) = archive(&signed, &m, &tsa as &dyn TimestampSource).expect("archive");
    for (step, pdf) in [
        ("stamped", &stamped),
        ("signed", &signed),
        ("sealed", &sealed),
    ] {
        if let Some(Err(errors)) = preflight_check(pdf, dir.path(), &format!("pdfa1b-{step}")) {
            panic!("{step}: not PDF/A-1b for Preflight:\n{errors}");
        }
    }
}
