//! Page images: the right page at the asked width, typed errors for bad requests and for a
//! renderer that runs out of time or memory.

use crate::common;

use std::time::Duration;

use common::{PageSpec, build_pdf, tool};
use signet_pdf::render::{RenderError, RenderLimits, render_page_png};

fn limits() -> Option<RenderLimits> {
    let pdftoppm = tool("pdftoppm", None)?;
    let mut l = RenderLimits::default();
    l.pdftoppm = pdftoppm;
    l.prlimit = tool("prlimit", None);
    Some(l)
}

fn size(png: &[u8]) -> (u32, u32) {
    let dec = png::Decoder::new(std::io::Cursor::new(png));
    let r = dec.read_info().expect("png");
    (r.info().width, r.info().height)
}

#[test]
fn renders_each_page_as_displayed_at_the_asked_width() {
    let Some(limits) = limits() else { return };
    // A4 portrait, then a landscape page given as portrait + /Rotate 90, then a cropped page.
    let mut rotated = PageSpec::a4();
    rotated.rotate = Some(90);
    let mut cropped = PageSpec::a4();
    cropped.crop = Some([100.0, 100.0, 400.0, 400.0]);
    let pdf = build_pdf(&[PageSpec::a4(), rotated, cropped], None, false);
    let png = render_page_png(&pdf, 0, 600, &limits).expect("render");
    let (w, h) = size(&png);
    assert_eq!(w, 600);
    assert!((848..=850).contains(&h), "A4 at 600 px: {h}");
    let (w, h) = size(&render_page_png(&pdf, 1, 600, &limits).expect("render"));
    assert_eq!(w, 600);
    assert!((423..=426).contains(&h), "rotated: {h}");
    let (w, h) = size(&render_page_png(&pdf, 2, 300, &limits).expect("render"));
    assert_eq!((w, h), (300, 300), "the crop box is what is shown");
}

#[test]
fn bad_requests_are_typed_errors() {
    let Some(limits) = limits() else { return };
    let pdf = common::classic_pdf(2);
    assert!(matches!(
        render_page_png(&pdf, 2, 600, &limits),
        Err(RenderError::NoSuchPage { page: 2, count: 2 })
    ));
    assert!(matches!(
        render_page_png(&pdf, 0, 0, &limits),
        Err(RenderError::BadWidth(0))
    ));
    assert!(matches!(
        render_page_png(&pdf, 0, 100_000, &limits),
        Err(RenderError::BadWidth(_))
    ));
    assert!(matches!(
        render_page_png(b"not a pdf", 0, 600, &limits),
        Err(RenderError::Pdf(_))
    ));
    let mut missing = limits.clone();
    missing.pdftoppm = "/nonexistent/pdftoppm".into();
    missing.prlimit = None;
    assert!(matches!(
        render_page_png(&pdf, 0, 600, &missing),
        Err(RenderError::Spawn(_))
    ));
}

#[test]
fn a_renderer_over_its_time_is_killed() {
    let Some(mut limits) = limits() else { return };
    limits.timeout = Duration::ZERO;
    let err = render_page_png(&common::classic_pdf(1), 0, 600, &limits).expect_err("timeout");
    assert!(matches!(err, RenderError::Timeout(_)), "{err}");
}

#[test]
fn a_renderer_over_its_memory_is_stopped() {
    let Some(mut limits) = limits() else { return };
    if limits.prlimit.is_none() {
        return;
    }
    // 4096 px wide is about 4096 × 5793 × 3 bytes = 71 MB of raster: above a 48 MB allowance.
    limits.memory_bytes = 48 << 20;
    let err = render_page_png(&common::classic_pdf(1), 0, 4096, &limits).expect_err("memory");
    assert!(matches!(err, RenderError::MemoryLimit), "{err}");
    // The same page at a small width fits.
    render_page_png(&common::classic_pdf(1), 0, 200, &limits).expect("small render fits");
}
