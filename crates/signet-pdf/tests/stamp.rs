//! Stamping marks as an incremental update: placement on rotated, cropped and mixed-size pages
//! (checked on pdftoppm's pixels), text extraction in several scripts (pdftotext), structure
//! (qpdf), and existing form fields kept.

use crate::common;

use std::sync::OnceLock;

use common::{PageSpec, build_pdf};
use signet_pdf::stamp::{FontLibrary, FracRect, Mark, MarkKind, StampError, stamp};

fn fonts() -> &'static FontLibrary {
    static F: OnceLock<FontLibrary> = OnceLock::new();
    F.get_or_init(FontLibrary::with_system_fonts)
}

fn b(x: f64, y: f64, w: f64, h: f64) -> FracRect {
    FracRect {
        x,
        y,
        width: w,
        height: h,
    }
}

/// A small RGBA PNG: an opaque dark square on a transparent background.
fn test_png() -> Vec<u8> {
    let (w, h) = (40u32, 20u32);
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let inside = (5..35).contains(&x) && (3..17).contains(&y);
            data.extend_from_slice(if inside {
                &[20, 20, 120, 255]
            } else {
                &[0, 0, 0, 0]
            });
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().expect("header");
        wr.write_image_data(&data).expect("data");
    }
    out
}

/// One of each kind of mark on `page`, in four separate boxes.
fn marks_for(page: u32) -> Vec<Mark> {
    vec![
        Mark::new(
            page,
            b(0.05, 0.05, 0.4, 0.08),
            MarkKind::Name("Zoë Ελένη Жанна".into()),
        ),
        Mark::new(page, b(0.6, 0.05, 0.3, 0.1), MarkKind::Checkmark),
        Mark::new(
            page,
            b(0.1, 0.45, 0.35, 0.12),
            MarkKind::Strokes {
                strokes: vec![vec![(0.0, 0.5), (0.3, 0.0), (0.6, 1.0), (1.0, 0.4)]],
                width: None,
            },
        ),
        Mark::new(
            page,
            b(0.55, 0.7, 0.3, 0.15),
            MarkKind::Image { png: test_png() },
        ),
        Mark::new(
            page,
            b(0.05, 0.85, 0.4, 0.1),
            MarkKind::TypedSignature("Anna Smith".into()),
        ),
    ]
}

/// Pixels that differ between `before` and `after` all lie inside the boxes (give or take
/// `slack` pixels of anti-aliasing), and every box has some.
fn check_pixels(before: &common::Raster, after: &common::Raster, boxes: &[FracRect], what: &str) {
    assert_eq!(
        (before.width, before.height),
        (after.width, after.height),
        "{what}: size"
    );
    let (w, h) = (after.width as f64, after.height as f64);
    let slack = 2.0;
    let mut hits = vec![0usize; boxes.len()];
    let mut outside = Vec::new();
    for y in 0..after.height {
        for x in 0..after.width {
            let i = y * after.width + x;
            if before.gray[i].abs_diff(after.gray[i]) < 40 {
                continue;
            }
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let mut inside = false;
            for (k, bx) in boxes.iter().enumerate() {
                let (x0, y0) = (bx.x * w - slack, bx.y * h - slack);
                let (x1, y1) = (
                    (bx.x + bx.width) * w + slack,
                    (bx.y + bx.height) * h + slack,
                );
                if px >= x0 && px <= x1 && py >= y0 && py <= y1 {
                    hits[k] += 1;
                    inside = true;
                }
            }
            if !inside {
                outside.push((x, y));
            }
        }
    }
    assert!(
        outside.is_empty(),
        "{what}: {} changed pixels outside every box, e.g. {:?} (image {}×{})",
        outside.len(),
        &outside[..outside.len().min(5)],
        after.width,
        after.height
    );
    for (k, n) in hits.iter().enumerate() {
        assert!(*n > 3, "{what}: box {k} ({:?}) shows nothing", boxes[k]);
    }
}

fn stamp_and_check(name: &str, input: &[u8], marks: &[Mark]) -> Vec<u8> {
    let (out, report) = stamp(input, "Signer1", marks, fonts()).expect("stamp");
    assert!(out.starts_with(input), "{name}: the input must be a prefix");
    assert_eq!(report.widgets, marks.len());
    let dir = tempfile::tempdir().expect("tempdir");
    common::qpdf_check(&out, dir.path(), name);
    let (Some(before), Some(after)) = (
        common::rasterize(input, dir.path(), &format!("{name}-in"), 50),
        common::rasterize(&out, dir.path(), &format!("{name}-out"), 50),
    ) else {
        return out;
    };
    assert_eq!(before.len(), after.len());
    for (p, (bf, af)) in before.iter().zip(&after).enumerate() {
        let boxes: Vec<FracRect> = marks
            .iter()
            .filter(|m| m.page as usize == p)
            .map(|m| m.rect)
            .collect();
        if boxes.is_empty() {
            assert_eq!(
                bf.gray, af.gray,
                "{name}: page {p} has no marks but changed"
            );
        } else {
            check_pixels(bf, af, &boxes, &format!("{name} page {p}"));
        }
    }
    out
}

#[test]
fn marks_land_in_their_boxes_on_every_rotation() {
    for rot in [0, 90, 180, 270] {
        let page = PageSpec {
            rotate: Some(rot),
            ..PageSpec::a4()
        };
        let input = build_pdf(&[page], None, false);
        stamp_and_check(&format!("rot{rot}"), &input, &marks_for(0));
    }
}

#[test]
fn inherited_rotation_and_crop_box_offsets() {
    let pages = [
        PageSpec {
            media: [0.0, 0.0, 612.0, 792.0],
            crop: Some([100.0, 150.0, 500.0, 700.0]),
            rotate: None,
        },
        PageSpec {
            media: [-50.0, -80.0, 400.0, 300.0],
            crop: Some([-20.0, -40.0, 380.0, 280.0]),
            rotate: Some(0),
        },
    ];
    // The page-tree node says 90; the first page inherits it, the second overrides it with 0.
    let input = build_pdf(&pages, Some(90), false);
    let mut marks = marks_for(0);
    marks.extend(marks_for(1));
    stamp_and_check("inherited-crop", &input, &marks);
}

#[test]
fn mixed_page_sizes_and_pages_without_marks() {
    let pages = [
        PageSpec::a4(),
        PageSpec {
            media: [0.0, 0.0, 1224.0, 792.0],
            crop: None,
            rotate: Some(270),
        },
        PageSpec {
            media: [0.0, 0.0, 300.0, 200.0],
            crop: None,
            rotate: None,
        },
    ];
    let input = build_pdf(&pages, None, false);
    let mut marks = marks_for(1);
    marks.extend(marks_for(2));
    stamp_and_check("mixed", &input, &marks);
}

#[test]
fn existing_form_fields_and_values_stay() {
    let input = build_pdf(&[PageSpec::a4()], None, true);
    let out = stamp_and_check("form", &input, &marks_for(0));
    let dir = tempfile::tempdir().expect("tempdir");
    if let Some(text) = common::pdftotext(&out, dir.path(), "form") {
        assert!(text.contains("Filled before stamping"), "{text}");
    }
    // The old field is still listed in /Fields, next to the new one.
    let s = String::from_utf8_lossy(&out);
    let tail = &s[input.len()..];
    assert!(
        tail.contains("/Fields ["),
        "the AcroForm is rewritten with both fields"
    );
    let fields_line = tail
        .split("/Fields [")
        .nth(1)
        .and_then(|t| t.split(']').next())
        .expect("fields");
    assert_eq!(
        fields_line
            .split(" R")
            .filter(|x| !x.trim().is_empty())
            .count(),
        2,
        "{fields_line}"
    );
}

#[test]
fn xref_streams_and_prior_updates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = build_pdf(&[PageSpec::a4(), PageSpec::a4()], None, false);
    let prior = common::with_prior_update(&plain);
    stamp_and_check("prior-update", &prior, &marks_for(1));
    if let Some(xs) = common::qpdf_from_classic_to_xref_stream(&plain, dir.path()) {
        let (out, report) = stamp(&xs, "Signer1", &marks_for(0), fonts()).expect("stamp");
        assert_eq!(report.xref_kind, signet_pdf::pdf::XrefKind::Stream);
        assert!(out.starts_with(&xs));
        stamp_and_check("xref-stream", &xs, &marks_for(0));
    }
}

#[test]
fn text_in_any_script_is_extracted_as_typed() {
    let samples = [
        "Zoë Ελένη Жанна",
        "Ἀλέξανδρος Παπαδόπουλος",
        "Фёдор Достоевский",
        "محمد عبد الله",
        "שלום עליכם",
        "王小明",
        "山田太郎",
        "김민준",
        // Vowels and tone marks drawn over or under their consonant (ั ิ ์ ้), and SARA AM (ำ),
        // which the shaper splits into two glyphs: read back through /ActualText.
        "สมศักดิ์ รักษ์ไทย น้ำใจ",
        // A vowel sign drawn before the consonant it follows in the text (ि).
        "अनिल कुमार",
    ];
    let marks: Vec<Mark> = samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Mark::new(
                0,
                b(0.1, 0.04 + i as f64 * 0.09, 0.8, 0.06),
                MarkKind::Text((*s).into()),
            )
        })
        .collect();
    let input = build_pdf(&[PageSpec::a4()], None, false);
    let out = stamp_and_check("scripts", &input, &marks);
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(text) = common::pdftotext(&out, dir.path(), "scripts") else {
        return;
    };
    eprintln!("pdftotext:\n{text}");
    // poppler wraps right-to-left lines in U+202B … U+202C (embedding marks it adds itself);
    // the characters between them must be exactly what was typed.
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            l.trim()
                .chars()
                .filter(|c| !matches!(*c as u32, 0x202A..=0x202E))
                .collect()
        })
        .collect();
    for s in samples {
        assert!(
            lines.iter().any(|l| l == s),
            "{s:?} not extracted as typed; got:\n{text}"
        );
    }
}

#[test]
fn typed_signature_in_a_non_latin_script_falls_back() {
    let input = build_pdf(&[PageSpec::a4()], None, false);
    let marks = [Mark::new(
        0,
        b(0.1, 0.1, 0.5, 0.1),
        MarkKind::TypedSignature("Ирина Петрова".into()),
    )];
    let out = stamp_and_check("typed-cyrillic", &input, &marks);
    let dir = tempfile::tempdir().expect("tempdir");
    if let Some(text) = common::pdftotext(&out, dir.path(), "typed-cyrillic") {
        assert!(text.contains("Ирина Петрова"), "{text}");
    }
}

#[test]
fn refusals_are_typed() {
    let input = build_pdf(&[PageSpec::a4()], None, false);
    let lib = FontLibrary::builtin();
    let text = |s: &str| {
        [Mark::new(
            0,
            b(0.1, 0.1, 0.3, 0.1),
            MarkKind::Text(s.into()),
        )]
    };
    assert!(matches!(
        stamp(&input, "S", &text("日本"), &lib),
        Err(StampError::NoFontFor('日'))
    ));
    assert!(matches!(
        stamp(&input, "S", &text("  "), &lib),
        Err(StampError::EmptyText)
    ));
    assert!(matches!(
        stamp(&input, "S", &[], &lib),
        Err(StampError::NoMarks)
    ));
    let far = [Mark::new(3, b(0.1, 0.1, 0.3, 0.1), MarkKind::Checkmark)];
    assert!(matches!(
        stamp(&input, "S", &far, &lib),
        Err(StampError::NoSuchPage {
            page: 3,
            count: 1,
            ..
        })
    ));
    let outside = [Mark::new(0, b(0.8, 0.1, 0.3, 0.1), MarkKind::Checkmark)];
    assert!(matches!(
        stamp(&input, "S", &outside, &lib),
        Err(StampError::BadBox(0))
    ));
    assert!(matches!(
        stamp(&input, "a.b", &text("x"), &lib),
        Err(StampError::BadFieldName(_))
    ));
    let (once, _) = stamp(&input, "S", &text("x"), &lib).expect("stamp");
    assert!(matches!(
        stamp(&once, "S", &text("y"), &lib),
        Err(StampError::FieldExists(_))
    ));
    let bad_png = [Mark::new(
        0,
        b(0.1, 0.1, 0.3, 0.1),
        MarkKind::Image {
            png: b"not a png".to_vec(),
        },
    )];
    assert!(matches!(
        stamp(&input, "S", &bad_png, &lib),
        Err(StampError::Image(_))
    ));
    for not_usable in [
        b"not a jpeg".to_vec(),
        // SOI then straight to the scan: no frame header.
        vec![0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02],
        // A CMYK frame (4 components) is refused rather than shown in the wrong colours.
        vec![
            0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 8, 0, 10, 0, 10, 4, 0, 0, 0, 0, 0,
        ],
    ] {
        let jpeg = [Mark::new(
            0,
            b(0.1, 0.1, 0.3, 0.1),
            MarkKind::Jpeg { jpeg: not_usable },
        )];
        assert!(
            matches!(stamp(&input, "S", &jpeg, &lib), Err(StampError::Image(_))),
            "a broken JPEG is refused"
        );
    }
    let empty = [Mark::new(
        0,
        b(0.1, 0.1, 0.3, 0.1),
        MarkKind::Strokes {
            strokes: vec![vec![]],
            width: None,
        },
    )];
    assert!(matches!(
        stamp(&input, "S", &empty, &lib),
        Err(StampError::BadStrokes(0))
    ));
}

/// A JPEG (here made by pdftoppm from a page with a dark band) is embedded as it is — its bytes
/// are in the output unchanged — and shows inside its box only.
#[test]
fn a_jpeg_mark_is_embedded_as_is_and_lands_in_its_box() {
    let Some(pdftoppm) = common::tool("pdftoppm", None) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let band = "0.1 0.1 0.4 rg 0 200 595 442 re f";
    let source = signet_pdf::sample::classic(
        &[
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_owned(),
            format!("<< /Length {} >>\nstream\n{band}\nendstream", band.len()),
        ],
        "",
    );
    let path = dir.path().join("band.pdf");
    std::fs::write(&path, &source).expect("write");
    let (ok, text) = common::run(
        std::process::Command::new(pdftoppm)
            .args(["-r", "12", "-jpeg", "-singlefile"])
            .arg(&path)
            .arg(dir.path().join("band")),
    );
    assert!(ok, "{text}");
    let jpeg = std::fs::read(dir.path().join("band.jpg")).expect("jpeg");
    let marks = [Mark::new(
        0,
        b(0.2, 0.3, 0.3, 0.3),
        MarkKind::Jpeg { jpeg: jpeg.clone() },
    )];
    let input = build_pdf(&[PageSpec::a4()], None, false);
    let out = stamp_and_check("jpeg", &input, &marks);
    assert!(
        out.windows(jpeg.len()).any(|w| w == jpeg.as_slice()),
        "the JPEG is embedded byte for byte"
    );
}

/// Writes sample outputs for a person to look at: `SIGNET_STAMP_SAMPLES=dir cargo test ...`.
#[test]
fn write_samples() {
    let Ok(dir) = std::env::var("SIGNET_STAMP_SAMPLES") else {
        return;
    };
    for rot in [0, 90] {
        let page = PageSpec {
            rotate: Some(rot),
            ..PageSpec::a4()
        };
        let input = build_pdf(&[page], None, false);
        let mut marks = marks_for(0);
        marks.push(Mark::new(
            0,
            b(0.5, 0.3, 0.45, 0.08),
            MarkKind::Text("محمد عبد الله · שלום · 王小明".into()),
        ));
        let (out, _) = stamp(&input, "Signer1", &marks, fonts()).expect("stamp");
        std::fs::write(format!("{dir}/rot{rot}.pdf"), out).expect("write");
    }
}

/// Damaged inputs give errors, never panics (the fuzz target explores further).
#[test]
fn damaged_inputs_fail_cleanly() {
    let lib = FontLibrary::builtin();
    let good = build_pdf(&[PageSpec::a4(), PageSpec::a4()], Some(90), true);
    let (stamped, _) = stamp(&good, "A", &marks_for(1)[..2], &lib).expect("stamp");
    let marks = [
        Mark::new(0, b(0.1, 0.1, 0.3, 0.1), MarkKind::Text("Zoë".into())),
        Mark::new(1, b(0.5, 0.5, 0.3, 0.1), MarkKind::Checkmark),
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for doc in [&good, &stamped] {
        for cut in (0..doc.len()).step_by(97) {
            let _ = signet_pdf::intake::inspect(&doc[..cut]);
            let _ = stamp(&doc[..cut], "B", &marks, &lib);
        }
        for _ in 0..300 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut d = doc.clone();
            let at = (state % d.len() as u64) as usize;
            d[at] = (state >> 32) as u8;
            let _ = signet_pdf::intake::inspect(&d);
            if let Ok((out, _)) = stamp(&d, "B", &marks, &lib) {
                assert!(out.starts_with(&d));
            }
        }
    }
}

/// A /Pages node listed among its own /Kids (found by the `stamp` fuzz target, which then spent
/// over 15 s walking round it): refused as a malformed page tree.
#[test]
fn a_page_tree_with_a_cycle_is_refused() {
    let doc = include_bytes!("data/page-tree-cycle.pdf");
    let marks = [Mark::new(
        0,
        b(0.1, 0.1, 0.3, 0.1),
        MarkKind::Text("x".into()),
    )];
    let refused = stamp(doc, "A", &marks, &FontLibrary::builtin());
    match refused {
        Err(StampError::Pdf(e)) => assert!(e.to_string().contains("cycle"), "{e}"),
        other => panic!("{:?}", other.map(|(_, report)| report)),
    }
}
