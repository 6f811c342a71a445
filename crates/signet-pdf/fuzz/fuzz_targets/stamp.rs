//! Feeds arbitrary bytes to the upload check and to stamping (as the input PDF, and as the
//! text, strokes and image of the marks), then signs what stamping produced.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signet_pdf::intake::inspect;
use signet_pdf::pki::{InstancePki, PkiOptions};
use signet_pdf::seal::{Level, SealOptions, Sealer, seal_with};
use signet_pdf::stamp::{FontLibrary, FracRect, Mark, MarkKind, stamp};

fn fixture() -> &'static (FontLibrary, Sealer) {
    static F: OnceLock<(FontLibrary, Sealer)> = OnceLock::new();
    F.get_or_init(|| {
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let pki = InstancePki::generate(&PkiOptions::new("Fuzz", "http://127.0.0.1:9/crl", now))
            .expect("pki");
        (FontLibrary::builtin(), pki.sealer().expect("sealer"))
    })
}

fuzz_target!(|data: &[u8]| {
    let (fonts, sealer) = fixture();
    // The first bytes choose the marks; the rest is the document (and mark payloads).
    let (head, doc) = data.split_at(data.len().min(8));
    let f = |i: usize| f64::from(*head.get(i).unwrap_or(&0)) / 255.0;
    let rect = FracRect {
        x: f(0) * 0.5,
        y: f(1) * 0.5,
        width: 0.05 + f(2) * 0.45,
        height: 0.05 + f(3) * 0.45,
    };
    let text = String::from_utf8_lossy(&doc[..doc.len().min(64)]).into_owned();
    let kind = match head.get(4).copied().unwrap_or(0) % 5 {
        0 => MarkKind::Text(text),
        1 => MarkKind::TypedSignature(text),
        2 => MarkKind::Checkmark,
        3 => MarkKind::Strokes {
            strokes: vec![
                doc.chunks(2)
                    .take(50)
                    .map(|c| {
                        (
                            f64::from(c[0]) / 255.0,
                            f64::from(*c.get(1).unwrap_or(&0)) / 255.0,
                        )
                    })
                    .collect(),
            ],
            width: Some(f(5)),
        },
        _ => MarkKind::Image { png: doc.to_vec() },
    };
    let page = u32::from(head.get(6).copied().unwrap_or(0) % 3);
    let _ = inspect(doc);
    if let Ok((stamped, _)) = stamp(doc, "Fuzz", &[Mark::new(page, rect, kind)], fonts) {
        assert!(stamped.starts_with(doc));
        let mut out = Vec::new();
        let _ = seal_with(
            std::io::Cursor::new(&stamped),
            &mut out,
            sealer,
            Level::BB,
            None,
            &SealOptions::field("Fuzz"),
        );
    }
});
