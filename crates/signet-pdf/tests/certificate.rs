//! The completion certificate: its text comes back out of `pdftotext`, in any script and over
//! several pages; `qpdf --check` accepts it; appended to a signed document it leaves the
//! earlier bytes untouched and the signature intact for pdfsig and pyHanko.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use crate::common;

use std::process::Command;

use common::{run, tool};
use signet_pdf::certificate::{
    CertificateError, CertificateInput, DocumentDigests, Event, Labels, Participant,
    append_certificate, certificate_pdf,
};
use signet_pdf::stamp::FontLibrary;
use time::macros::datetime;

fn hash(seed: u8) -> [u8; 32] {
    let mut h = [0u8; 32];
    for (i, b) in h.iter_mut().enumerate() {
        *b = seed.wrapping_mul(31).wrapping_add(i as u8 * 7);
    }
    h
}

const CHECKPOINT: &str = "signet.example.org/log\n1234\nq5Nq0mXbQ3f2n8m0H4W9l6u0b1J0Vt3m6Vf0x4YzA7c=\n\n— signet.example.org/log Az3j8wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

fn participants() -> Vec<Participant> {
    let mut a = Participant::new("Anna Smith", "Signer", "SMS code");
    a.email = Some("anna@example.org".into());
    a.ip = Some("203.0.113.7".into());
    a.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 with a user agent string long enough to wrap onto the next line of its cell".into());
    a.invited = Some(datetime!(2026-11-20 09:00:00 UTC));
    a.opened = Some(datetime!(2026-11-20 09:05:12 UTC));
    a.authenticated = Some(datetime!(2026-11-20 09:05:40 UTC));
    a.signed = Some(datetime!(2026-11-20 09:06:01 UTC));
    let mut b = Participant::new("Ελένη Παπαδοπούλου", "Approver", "E-mail code");
    b.email = Some("eleni@example.org".into());
    b.declined = Some(datetime!(2026-11-21 10:00:00 UTC));
    let c = Participant::new("Дмитрий Иванов", "Signer", "None");
    let d = Participant::new("محمد علي", "Signer", "Voice code");
    let e = Participant::new("שרה כהן", "Viewer", "Secret question");
    let f = Participant::new("山田 太郎", "Signer", "SMS code");
    vec![a, b, c, d, e, f]
}

fn input(labels: Labels, events: usize) -> CertificateInput {
    let mut i = CertificateInput::new("Lease agreement — Flat 4B", "env_7f3a9c2e", labels);
    i.completed = Some(datetime!(2026-11-21 11:00:00 UTC));
    i.participants = participants();
    i.documents = vec![
        DocumentDigests::new("lease.pdf", hash(1), Some(hash(2))),
        DocumentDigests::new("annex.pdf", hash(3), None),
    ];
    i.events = (0..events)
        .map(|n| {
            Event::new(
                datetime!(2026-11-20 09:00:00 UTC) + time::Duration::minutes(n as i64),
                format!("Event number {n} by Anna Smith"),
                hash(n as u8),
            )
        })
        .collect();
    i.checkpoint = CHECKPOINT.into();
    i
}

/// Every piece of `input` the reader must find, without the whitespace that layout changes.
fn expected_strings(i: &CertificateInput) -> Vec<String> {
    let mut v = vec![
        i.labels.title.clone(),
        i.envelope_title.clone(),
        i.envelope_id.clone(),
        "2026-11-21 11:00:00 UTC".into(),
        i.checkpoint.clone(),
        i.labels.proof_help.clone(),
    ];
    for p in &i.participants {
        v.extend([p.name.clone(), p.role.clone(), p.auth_method.clone()]);
        v.extend(p.email.clone());
        v.extend(p.ip.clone());
        v.extend(p.user_agent.clone());
    }
    for d in &i.documents {
        v.push(d.name.clone());
        v.push(hex::encode(d.sha256_before));
        v.extend(d.sha256_after.map(hex::encode));
    }
    for e in &i.events {
        v.push(e.description.clone());
        v.push(hex::encode(e.leaf_hash));
    }
    v
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn pages_of(pdf: &[u8], dir: &std::path::Path, name: &str) -> Option<u32> {
    let tool = tool("pdfinfo", None)?;
    let path = dir.join(format!("{name}-info.pdf"));
    std::fs::write(&path, pdf).expect("write");
    let (ok, text) = run(Command::new(tool).arg(&path));
    assert!(ok, "pdfinfo: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
}

fn check_text(pdf: &[u8], dir: &std::path::Path, name: &str, i: &CertificateInput) {
    let Some(text) = common::pdftotext(pdf, dir, name) else {
        return;
    };
    let flat = squash(&text);
    for s in expected_strings(i) {
        assert!(
            flat.contains(&squash(&s)),
            "{name}: {s:?} not found in the extracted text:\n{text}"
        );
    }
}

#[test]
fn standalone_certificate_reads_back_in_every_script() {
    let fonts = FontLibrary::with_system_fonts();
    let dir = tempfile::tempdir().expect("tempdir");
    let i = input(Labels::english(), 90);
    let (pdf, report) = match certificate_pdf(&i, &fonts) {
        Ok(v) => v,
        Err(CertificateError::Text(e)) if !common::required() => {
            eprintln!("NOTICE: system fonts missing ({e}); install fonts-noto-core fonts-noto-cjk");
            return;
        }
        Err(e) => panic!("certificate: {e}"),
    };
    assert!(report.pages >= 3, "90 events span pages: {report:?}");
    assert_eq!(report.first_page, 0);
    common::qpdf_check(&pdf, dir.path(), "standalone");
    check_text(&pdf, dir.path(), "standalone", &i);
    if let Some(n) = pages_of(&pdf, dir.path(), "standalone") {
        assert_eq!(n, report.pages);
    }
    // Every page carries the footer "Page n / total".
    if let Some(text) = common::pdftotext(&pdf, dir.path(), "footers") {
        for n in 1..=report.pages {
            assert!(
                text.contains(&format!("Page {n} / {}", report.pages)),
                "footer {n}: {text}"
            );
        }
    }
}

/// Korean written without spaces wraps over several lines at legal breaks (UAX #14: between
/// syllables), and `pdftotext` gives every character back, in order.
#[test]
fn korean_without_spaces_wraps_and_reads_back() {
    let fonts = FontLibrary::with_system_fonts();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut i = input(Labels::english(), 0);
    i.participants = vec![Participant::new("김민준", "Signer", "E-mail code")];
    let korean =
        "본계약은양당사자가서명한날부터효력이발생하며본계약서의모든조항은양당사자를구속합니다"
            .repeat(3);
    i.events = vec![Event::new(
        datetime!(2026-11-20 09:01:00 UTC),
        korean.clone(),
        hash(8),
    )];
    let (pdf, _) = match certificate_pdf(&i, &fonts) {
        Ok(v) => v,
        Err(CertificateError::Text(e)) if !common::required() => {
            eprintln!("NOTICE: system fonts missing ({e}); install fonts-noto-core fonts-noto-cjk");
            return;
        }
        Err(e) => panic!("certificate: {e}"),
    };
    common::qpdf_check(&pdf, dir.path(), "korean");
    check_text(&pdf, dir.path(), "korean", &i);
    if let Some(text) = common::pdftotext(&pdf, dir.path(), "korean-lines") {
        // Wrapped: the sentence is not on one line of the extracted text.
        assert!(!text.lines().any(|l| l.contains(&korean)), "{text}");
        assert!(text.lines().any(|l| l.starts_with("본계약은")), "{text}");
    }
}

#[test]
fn french_labels_and_text_are_used() {
    let fonts = FontLibrary::builtin();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut i = input(Labels::french(), 3);
    // The carried fonts cover Latin, Greek and Cyrillic only.
    i.participants.truncate(3);
    let (pdf, report) = certificate_pdf(&i, &fonts).expect("certificate");
    assert_eq!(report.pages, 2);
    common::qpdf_check(&pdf, dir.path(), "french");
    check_text(&pdf, dir.path(), "french", &i);
    if let Some(text) = common::pdftotext(&pdf, dir.path(), "french-words") {
        assert!(text.contains("Certificat d’achèvement"), "{text}");
        assert!(text.contains("Comment vérifier les preuves"), "{text}");
        assert!(!text.contains("How to check"), "{text}");
    }
}

#[test]
fn a_character_no_font_covers_is_refused() {
    let mut i = input(Labels::english(), 1);
    i.participants.truncate(1);
    i.envelope_title = "Contract \u{10FFFD}".into();
    let err = certificate_pdf(&i, &FontLibrary::builtin()).expect_err("private-use character");
    assert!(matches!(err, CertificateError::Text(_)), "{err}");
}

#[test]
fn appended_certificate_keeps_the_signature_and_the_original_pages() {
    let (pki, dir) = common::offline_pki();
    let fonts = FontLibrary::builtin();
    let mut i = input(Labels::english(), 50);
    i.participants.truncate(3);
    let mut inputs = vec![("classic", common::classic_pdf(3))];
    inputs.extend(
        common::qpdf_from_classic_to_xref_stream(&common::classic_pdf(3), dir.path())
            .map(|p| ("xref-stream", p)),
    );
    for (name, original) in inputs {
        let signed = common::sealed_bt(&pki, &original);
        let (out, report) = append_certificate(&signed, &i, &fonts).expect("append");
        assert!(
            out.starts_with(&signed),
            "{name}: not an incremental update"
        );
        assert_eq!(report.first_page, 3);
        assert!(report.pages >= 2);
        common::qpdf_check(&out, dir.path(), name);
        check_text(&out, dir.path(), name, &i);
        if let Some(n) = pages_of(&out, dir.path(), name) {
            assert_eq!(n, 3 + report.pages, "{name}");
        }
        if let Some(text) = common::pdftotext(&out, dir.path(), &format!("{name}-p1")) {
            assert!(text.contains("Signet test page 1"), "{text}");
            assert!(text.contains("Signet test page 3"), "{text}");
        }
        let path = dir.path().join(format!("{name}-with-certificate.pdf"));
        std::fs::write(&path, &out).expect("write");
        if let Some(p) = tool("pdfsig", None) {
            let (ok, text) = run(Command::new(p).arg("-nocert").arg(&path));
            assert!(ok && text.contains("Signature is Valid."), "pdfsig: {text}");
        }
        if let Some(py) = tool("pyhanko", Some("SIGNET_PYHANKO")) {
            let (_, text) = run(Command::new(py)
                .args([
                    "sign",
                    "validate",
                    "--soft-revocation-check",
                    "--trust-replace",
                ])
                .arg("--trust")
                .arg(dir.path().join("root.pem"))
                .arg(&path));
            eprintln!("pyhanko {name}:\n{text}");
            // The signed bytes are untouched and the signature verifies; pyHanko's difference
            // analysis reports the added pages as a later modification outside form filling.
            assert!(
                text.contains("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED"),
                "pyhanko: {text}"
            );
        }
    }
}

#[test]
fn encrypted_input_is_refused() {
    let mut pdf = common::classic_pdf(1);
    let text = String::from_utf8_lossy(&pdf).into_owned();
    let at = text.rfind("/Root 1 0 R").expect("root");
    pdf.splice(
        at..at,
        b"/Encrypt << /Filter /Standard /V 1 /R 2 >> "
            .iter()
            .copied(),
    );
    // The offsets after the trailer do not move, the trailer just grew.
    let err = append_certificate(&pdf, &input(Labels::english(), 1), &FontLibrary::builtin())
        .expect_err("encrypted");
    assert!(matches!(err, CertificateError::Pdf(_)), "{err}");
}

/// Thai, written without spaces between words and with vowels and tone marks drawn over or
/// under their consonants, wraps at dictionary word breaks and `pdftotext` gives every line
/// back exactly as written (each shaped line carries its text as /ActualText).
#[test]
fn thai_without_spaces_wraps_and_reads_back() {
    let fonts = FontLibrary::with_system_fonts();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut i = input(Labels::english(), 0);
    i.participants = vec![Participant::new("สมศักดิ์ รักษ์ไทย", "Signer", "E-mail code")];
    let thai = "สัญญาฉบับนี้มีผลบังคับใช้ตั้งแต่วันที่ลงนามโดยคู่สัญญาทั้งสองฝ่ายและผูกพันคู่สัญญาทุกฝ่าย".repeat(2);
    i.events = vec![Event::new(
        datetime!(2026-11-20 09:01:00 UTC),
        thai.clone(),
        hash(8),
    )];
    let (pdf, _) = match certificate_pdf(&i, &fonts) {
        Ok(v) => v,
        Err(CertificateError::Text(e)) if !common::required() => {
            eprintln!("NOTICE: system fonts missing ({e}); install fonts-noto-core fonts-noto-cjk");
            return;
        }
        Err(e) => panic!("certificate: {e}"),
    };
    common::qpdf_check(&pdf, dir.path(), "thai");
    check_text(&pdf, dir.path(), "thai", &i);
    if let Some(text) = common::pdftotext(&pdf, dir.path(), "thai-lines") {
        // Wrapped over several lines, each a run of the text as written.
        let runs = text
            .lines()
            .map(str::trim)
            .filter(|l| l.chars().count() > 3 && thai.contains(*l))
            .count();
        assert!(runs >= 2, "{text}");
        assert!(!text.lines().any(|l| l.contains(&thai)), "{text}");
        assert!(
            text.lines().any(|l| l.trim().starts_with("สัญญาฉบับนี้")),
            "{text}"
        );
    }
}
