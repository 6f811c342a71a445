//! Shared helpers for the integration tests: test PDFs and external validators.
#![allow(dead_code, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes a minimal classic-xref PDF with `pages` pages.
pub fn classic_pdf(pages: usize) -> Vec<u8> {
    helvetica_pages(pages, |i| {
        format!("BT /F1 24 Tf 72 720 Td (Signet test page {}) Tj ET", i + 1)
    })
}

/// A `pages`-page PDF like [`classic_pdf`] with every page full of text (50 lines of 80
/// characters, about 5 KB of content a page, unfiltered): a typed contract's size, where
/// [`classic_pdf`]'s one line a page is a sparse, unusually small document.
pub fn text_pdf(pages: usize) -> Vec<u8> {
    helvetica_pages(pages, |i| {
        let mut text = String::from("BT /F1 9 Tf 11 TL 56 790 Td");
        for line in 0..50 {
            text.push_str(&format!(
                " (Page {:03} line {:02}: the parties agree to the terms set out in this agreement.) '",
                i + 1,
                line + 1
            ));
        }
        text.push_str(" ET");
        text
    })
}

/// A classic-xref PDF of `pages` A4 pages in Helvetica, page `i`'s content stream (unfiltered)
/// being `content(i)`.
fn helvetica_pages(pages: usize, content: impl Fn(usize) -> String) -> Vec<u8> {
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
        let text = content(i);
        objs.push(format!(
            "<< /Length {} >>\nstream\n{text}\nendstream",
            text.len()
        ));
    }
    signet_pdf::sample::classic(&objs, FIXED_ID)
}

/// A `pages`-page PDF like [`classic_pdf`] whose first page also shows an RGB image of about
/// `image_bytes` bytes, stored unfiltered (incompressible noise): a document whose size, like
/// a scanned contract's, is in its images rather than its pages.
pub fn pdf_with_image(pages: usize, image_bytes: usize) -> Vec<u8> {
    let width = 1024usize;
    let height = (image_bytes / (3 * width)).max(1);
    let mut pixels = vec![0u8; width * height * 3];
    // A fixed xorshift sequence: the same document every run.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for p in pixels.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *p = (x >> 24) as u8;
    }
    let image_num = 4 + 2 * pages;
    let mut objs: Vec<Vec<u8>> = Vec::new();
    objs.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objs.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objs.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec());
    for i in 0..pages {
        let xobject = if i == 0 {
            format!(" /XObject << /Im0 {image_num} 0 R >>")
        } else {
            String::new()
        };
        objs.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >>{xobject} >> /Contents {} 0 R >>",
            5 + 2 * i
        ).into_bytes());
        let draw = if i == 0 {
            "q 400 0 0 300 100 100 cm /Im0 Do Q "
        } else {
            ""
        };
        let text = format!(
            "{draw}BT /F1 24 Tf 72 720 Td (Signet test page {}) Tj ET",
            i + 1
        );
        objs.push(format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()).into_bytes());
    }
    let mut image = format!(
        "<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length {} >>\nstream\n",
        pixels.len()
    )
    .into_bytes();
    image.extend_from_slice(&pixels);
    image.extend_from_slice(b"\nendstream");
    objs.push(image);
    signet_pdf::sample::classic(&objs, FIXED_ID)
}

/// The trailer's /ID of the test PDFs: fixed, so that a document is the same every run.
const FIXED_ID: &str =
    " /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]";

/// A fresh instance PKI whose CRL distribution point is a closed port (validators must use what
/// the file carries), and a temporary directory holding its root as `root.pem`.
#[allow(clippy::disallowed_methods, reason = "tests take the real time")]
pub fn offline_pki() -> (signet_pdf::pki::InstancePki, tempfile::TempDir) {
    let pki = signet_pdf::pki::InstancePki::generate(&signet_pdf::pki::PkiOptions::new(
        "Signet Test",
        "http://127.0.0.1:9/v1/pki/crl",
        time::OffsetDateTime::now_utc(),
    ))
    .expect("pki");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("root.pem"), pki.root_cert.to_pem()).expect("write");
    (pki, dir)
}

/// `pdf` sealed at B-T with the PKI's sealing key and built-in TSA.
pub fn sealed_bt(pki: &signet_pdf::pki::InstancePki, pdf: &[u8]) -> Vec<u8> {
    let tsa = pki.tsa(signet_pdf::tsa::DEFAULT_TSA_POLICY).expect("tsa");
    let sealer = pki.sealer().expect("sealer");
    signet_pdf::seal::seal_bytes(
        pdf,
        &sealer,
        signet_pdf::seal::Level::BT,
        Some(&tsa as &dyn signet_pdf::tsa::TimestampSource),
    )
    .expect("seal")
    .0
}

/// The offset after the last `startxref`.
pub fn startxref(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.rsplit("startxref")
        .next()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("startxref")
}

/// Appends a trivial incremental update (a new /Info dictionary) to a classic-xref PDF.
pub fn with_prior_update(pdf: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(pdf);
    let startxref = startxref(pdf);
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

/// One page of a test document.
#[derive(Clone, Debug)]
pub struct PageSpec {
    pub media: [f64; 4],
    pub crop: Option<[f64; 4]>,
    /// /Rotate on the page itself.
    pub rotate: Option<i32>,
}

impl PageSpec {
    pub fn a4() -> Self {
        Self {
            media: [0.0, 0.0, 595.0, 842.0],
            crop: None,
            rotate: None,
        }
    }
}

/// Writes a classic-xref PDF. Pages are grouped under one intermediate /Pages node carrying
/// `inherited_rotate` (when set), so that /Rotate can be inherited. With `form`, the document
/// has an AcroForm with a filled text field (value "Filled before stamping") on page 1.
pub fn build_pdf(pages: &[PageSpec], inherited_rotate: Option<i32>, form: bool) -> Vec<u8> {
    // 1 catalog, 2 root Pages, 3 font, 4 inner Pages, then per page: page, content.
    let first_page = 5;
    let field_num = first_page + 2 * pages.len();
    let mut objs: Vec<String> = Vec::new();
    let acro = if form {
        format!(
            " /AcroForm << /Fields [{field_num} 0 R] /DA (/Helv 0 Tf 0 g) /DR << /Font << /Helv 3 0 R >> >> >>"
        )
    } else {
        String::new()
    };
    objs.push(format!("<< /Type /Catalog /Pages 2 0 R{acro} >>"));
    objs.push(format!(
        "<< /Type /Pages /Kids [4 0 R] /Count {} >>",
        pages.len()
    ));
    objs.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", first_page + 2 * i))
        .collect();
    let rot = inherited_rotate
        .map(|r| format!(" /Rotate {r}"))
        .unwrap_or_default();
    objs.push(format!(
        "<< /Type /Pages /Parent 2 0 R /Kids [{}] /Count {}{rot} >>",
        kids.join(" "),
        pages.len()
    ));
    let r4 = |v: &[f64; 4]| format!("[{} {} {} {}]", v[0], v[1], v[2], v[3]);
    for (i, p) in pages.iter().enumerate() {
        let mut extra = String::new();
        if let Some(c) = &p.crop {
            extra.push_str(&format!(" /CropBox {}", r4(c)));
        }
        if let Some(r) = p.rotate {
            extra.push_str(&format!(" /Rotate {r}"));
        }
        if form && i == 0 {
            extra.push_str(&format!(" /Annots [{field_num} 0 R]"));
        }
        objs.push(format!(
            "<< /Type /Page /Parent 4 0 R /MediaBox {}{extra} /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            r4(&p.media),
            first_page + 2 * i + 1
        ));
        let x = p.media[0] + 20.0;
        let y = p.media[1] + 20.0;
        let text = format!("BT /F1 10 Tf {x} {y} Td (Signet test page {}) Tj ET", i + 1);
        objs.push(format!(
            "<< /Length {} >>\nstream\n{text}\nendstream",
            text.len()
        ));
    }
    if form {
        let ap_num = field_num + 1;
        objs.push(format!(
            "<< /Type /Annot /Subtype /Widget /FT /Tx /T (applicant) /V (Filled before stamping) /Rect [300 20 500 40] /F 4 /P {first_page} 0 R /DA (/Helv 10 Tf 0 g) /AP << /N {ap_num} 0 R >> >>"
        ));
        let body = "/Tx BMC BT /Helv 10 Tf 0 g 2 6 Td (Filled before stamping) Tj ET EMC";
        objs.push(format!(
            "<< /Type /XObject /Subtype /Form /BBox [0 0 200 20] /Resources << /Font << /Helv 3 0 R >> >> /Length {} >>\nstream\n{body}\nendstream",
            body.len()
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
            "trailer\n<< /Size {} /Root 1 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A grey-scale raster of a rendered page.
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub gray: Vec<u8>,
}

/// Renders every page with `pdftoppm -r DPI -gray`, or `None` when pdftoppm is missing.
pub fn rasterize(pdf: &[u8], dir: &Path, name: &str, dpi: u32) -> Option<Vec<Raster>> {
    let tool = tool("pdftoppm", None)?;
    let input = dir.join(format!("{name}.pdf"));
    std::fs::write(&input, pdf).expect("write");
    let prefix = dir.join(format!("{name}-r"));
    let (ok, text) = run(Command::new(tool)
        .args(["-r", &dpi.to_string(), "-gray", "-png", "-cropbox"])
        .arg(&input)
        .arg(&prefix));
    assert!(ok, "pdftoppm failed: {text}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{name}-r-")) && n.ends_with(".png"))
        })
        .collect();
    // pdftoppm pads page numbers to the same width, so name order is page order.
    files.sort();
    Some(
        files
            .iter()
            .map(|f| {
                let dec = png::Decoder::new(std::io::BufReader::new(
                    std::fs::File::open(f).expect("open"),
                ));
                let mut r = dec.read_info().expect("png");
                let mut buf = vec![0; r.output_buffer_size().expect("size")];
                let info = r.next_frame(&mut buf).expect("frame");
                let ch = match info.color_type {
                    png::ColorType::Grayscale => 1,
                    png::ColorType::GrayscaleAlpha => 2,
                    png::ColorType::Rgb => 3,
                    _ => 4,
                };
                let (w, h) = (info.width as usize, info.height as usize);
                let mut gray = Vec::with_capacity(w * h);
                for y in 0..h {
                    for x in 0..w {
                        gray.push(buf[y * info.line_size + x * ch]);
                    }
                }
                Raster {
                    width: w,
                    height: h,
                    gray,
                }
            })
            .collect(),
    )
}

/// Runs `pdftotext` (raw order off, UTF-8) on the file, or `None` when missing.
pub fn pdftotext(pdf: &[u8], dir: &Path, name: &str) -> Option<String> {
    let tool = tool("pdftotext", None)?;
    let input = dir.join(format!("{name}.pdf"));
    std::fs::write(&input, pdf).expect("write");
    let out = Command::new(tool)
        .arg("-enc")
        .arg("UTF-8")
        .arg(&input)
        .arg("-")
        .output()
        .expect("spawn");
    assert!(out.status.success(), "pdftotext failed");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `qpdf --check` must pass (skipped when qpdf is missing).
pub fn qpdf_check(pdf: &[u8], dir: &Path, name: &str) {
    if let Some(q) = tool("qpdf", None) {
        let path = dir.join(format!("{name}.pdf"));
        std::fs::write(&path, pdf).expect("write");
        let (ok, text) = run(Command::new(q).arg("--check").arg(&path));
        assert!(
            ok && !text.contains("ERROR"),
            "qpdf --check failed for {name}: {text}"
        );
    }
}
