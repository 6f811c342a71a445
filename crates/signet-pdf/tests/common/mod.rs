//! Shared helpers for the integration tests: test PDFs and external validators.
#![allow(dead_code, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes a minimal classic-xref PDF with `pages` pages.
pub fn classic_pdf(pages: usize) -> Vec<u8> {
    let mut objs: Vec<String> = Vec::new();
    objs.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objs.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {pages} >>",
        kids.join(" ")
    ));
    objs.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    for i in 0..pages {
        objs.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        let text = format!("BT /F1 24 Tf 72 720 Td (Signet test page {}) Tj ET", i + 1);
        objs.push(format!(
            "<< /Length {} >>\nstream\n{text}\nendstream",
            text.len()
        ));
    }
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f\r\n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Appends a trivial incremental update (a new /Info dictionary) to a classic-xref PDF.
pub fn with_prior_update(pdf: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(pdf);
    let startxref: usize = text
        .rsplit("startxref")
        .next()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("startxref");
    let size: usize = text
        .rsplit("/Size ")
        .next()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("size");
    let mut out = pdf.to_vec();
    let off = out.len();
    out.extend_from_slice(format!("{size} 0 obj\n<< /Title (Updated before sealing) /Producer (signet-pdf tests) >>\nendobj\n").as_bytes());
    let xref = out.len();
    out.extend_from_slice(format!("xref\n{size} 1\n{off:010} 00000 n\r\ntrailer\n<< /Size {} /Root 1 0 R /Info {size} 0 R /Prev {startxref} /ID [<0123456789abcdef0123456789abcdef> <00112233445566778899aabbccddeeff>] >>\nstartxref\n{xref}\n%%EOF\n", size + 1).as_bytes());
    out
}

/// Whether external tools are required (CI) rather than optional.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Finds a tool on PATH (or via an env var); prints a notice or panics in CI when missing.
pub fn tool(name: &str, env: Option<&str>) -> Option<PathBuf> {
    if let Some(p) = env.and_then(|var| std::env::var(var).ok()) {
        return Some(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/bin")
        .join(name);
    if local.exists() {
        return Some(local);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.exists())
    });
    if found.is_none() {
        assert!(!required(), "{name} is required when CI=true");
        eprintln!("NOTICE: {name} not found; skipping its checks");
    }
    found
}

/// Runs a command, returning (success, stdout+stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("spawn");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub fn qpdf_from_classic_to_xref_stream(pdf: &[u8], dir: &Path) -> Option<Vec<u8>> {
    let qpdf = tool("qpdf", None)?;
    let a = dir.join("in-classic.pdf");
    let b = dir.join("in-objstm.pdf");
    std::fs::write(&a, pdf).expect("write");
    let (ok, text) = run(Command::new(qpdf)
        .arg("--object-streams=generate")
        .arg(&a)
        .arg(&b));
    assert!(ok, "qpdf failed: {text}");
    Some(std::fs::read(b).expect("read"))
}
