//! Stamping a signer's marks as an incremental update.
//!
//! The marks (text, typed signature, checkmark, drawn strokes, PNG image) become the widgets of
//! one new, unsigned signature field: each widget sits at its mark's box and carries the mark as
//! its appearance stream. Nothing on the pages' own content changes, and the original bytes are
//! an exact prefix of the output. This shape is deliberate: the only additions after a signature
//! that validators such as pyHanko accept as harmless are new signature fields and their widgets
//! (plain annotations or content changes make earlier signatures "modified"). Signing the act
//! afterwards ([`crate::act::sign_act`]) fills that same field, so the signer's marks are the
//! visible appearance of their signature.
//!
//! The widgets carry no /Parent (ISO 32000 asks for one when a field has several widgets):
//! poppler would otherwise read each widget as a separate, unsigned field.
//!
//! Boxes are fractions of the page *as displayed* — after /Rotate (inherited too) and within the
//! CropBox — and every appearance is drawn upright for the reader and clipped to its box.

pub(crate) mod geometry;
pub(crate) mod text;

pub use geometry::FracRect;
pub use text::{DEFAULT_FONT_DIRS, FontLibrary};

use crate::pdf::object::write_dict;
use crate::pdf::update::Update;
use crate::pdf::{Dict, Object, PdfError, Reader, XrefKind};
use geometry::Placement;
use text::{FontSet, Line, Style};

/// What a mark shows.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MarkKind {
    /// The signer's name.
    Name(String),
    /// A date, already formatted in the envelope's language.
    Date(String),
    /// Free text (one line, shrunk to fit).
    Text(String),
    /// Initials.
    Initials(String),
    /// A typed signature, set in a script typeface (Dancing Script) where it covers the text.
    TypedSignature(String),
    /// A checkmark (vector).
    Checkmark,
    /// A drawn signature: polylines with points as fractions of the box (origin top-left).
    Strokes {
        /// The polylines.
        strokes: Vec<Vec<(f64, f64)>>,
        /// Line width as a fraction of the box's smaller side (default 0.04).
        width: Option<f64>,
    },
    /// A PNG image (e.g. a drawn signature captured as a picture), fitted into the box keeping
    /// its aspect ratio; transparency is kept.
    Image {
        /// The PNG file.
        png: Vec<u8>,
    },
    /// A JPEG image (baseline or progressive, greyscale or RGB), embedded as it is (PDF reads
    /// JPEG natively: no decoding, no quality loss) and fitted into the box like a PNG.
    Jpeg {
        /// The JPEG file.
        jpeg: Vec<u8>,
    },
}

/// One mark: what, on which page (0-based), where.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Mark {
    /// Page index, 0-based.
    pub page: u32,
    /// The box, in fractions of the displayed page.
    pub rect: FracRect,
    /// What to draw.
    pub kind: MarkKind,
}

impl Mark {
    /// A mark of `kind` in `rect` on page `page` (0-based).
    pub fn new(page: u32, rect: FracRect, kind: MarkKind) -> Self {
        Self { page, rect, kind }
    }
}

/// Errors from stamping.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StampError {
    /// The input could not be read or parsed (encrypted documents are refused here too).
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// No marks were given.
    #[error("no marks to stamp")]
    NoMarks,
    /// A mark names a page the document does not have.
    #[error("mark {mark} is on page {page} but the document has {count} pages")]
    NoSuchPage {
        /// Index of the mark.
        mark: usize,
        /// The page asked for (0-based).
        page: u32,
        /// Pages in the document.
        count: u32,
    },
    /// A mark's box is empty, not finite or not inside the page.
    #[error("mark {0} has a box outside the page or empty")]
    BadBox(usize),
    /// The field name is empty, has a period, or is too long.
    #[error("invalid field name {0:?}")]
    BadFieldName(String),
    /// The document already has a field of that name.
    #[error("the document already has a field named {0:?}")]
    FieldExists(String),
    /// No available font has a glyph for this character (never drawn as an empty box).
    #[error("no font covers the character {0:?} (U+{code:04X})", code = u32::from(*.0))]
    NoFontFor(char),
    /// A text mark holds no visible text.
    #[error("a text mark is empty")]
    EmptyText,
    /// A font could not be read or subset.
    #[error("font error: {0}")]
    Font(&'static str),
    /// The image is not a PNG this stamper can read, or is too large.
    #[error("unusable image: {0}")]
    Image(String),
    /// A stroke mark has no points, or points that are not finite.
    #[error("mark {0} has no usable strokes")]
    BadStrokes(usize),
}

/// What [`stamp`] did.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct StampReport {
    /// The new (unsigned) signature field holding the marks.
    pub field_name: String,
    /// Number of widgets (one per mark).
    pub widgets: usize,
    /// The embedded font subsets (base font names).
    pub fonts: Vec<String>,
    /// The xref kind kept in the update.
    pub xref_kind: XrefKind,
    /// Length of the input, which is an exact prefix of the output.
    pub input_len: u64,
}

/// The largest image accepted, in pixels.
const MAX_IMAGE_PIXELS: u64 = 16 << 20;
/// Most marks in one act.
const MAX_MARKS: usize = 1000;

/// Appends `marks` to `input` as a new revision: one unsigned signature field named
/// `field_name`, whose widgets show the marks. The input is an exact prefix of the output.
pub fn stamp(
    input: &[u8],
    field_name: &str,
    marks: &[Mark],
    fonts: &FontLibrary,
) -> Result<(Vec<u8>, StampReport), StampError> {
    stamp_reserving(input, field_name, marks, fonts, 0)
}

/// [`stamp`], the output given `extra` bytes of spare capacity (for a signature revision to be
/// appended without copying the document again).
pub(crate) fn stamp_reserving(
    input: &[u8],
    field_name: &str,
    marks: &[Mark],
    fonts: &FontLibrary,
    extra: usize,
) -> Result<(Vec<u8>, StampReport), StampError> {
    if marks.is_empty() || marks.len() > MAX_MARKS {
        return Err(StampError::NoMarks);
    }
    if field_name.is_empty()
        || field_name.len() > 100
        || field_name.contains('.')
        || field_name.chars().any(char::is_control)
    {
        return Err(StampError::BadFieldName(field_name.into()));
    }
    for (i, m) in marks.iter().enumerate() {
        if !m.rect.is_valid() {
            return Err(StampError::BadBox(i));
        }
    }
    let mut r = Reader::open(input)?;
    let doc = crate::pdf::doc::Document::load(&mut r)?;
    if doc.field_exists(&mut r, field_name.as_bytes())? {
        return Err(StampError::FieldExists(field_name.into()));
    }

    // Pages, each looked up once.
    let mut pages: Vec<crate::pdf::doc::Page> = Vec::new();
    let mut page_of_mark = Vec::with_capacity(marks.len());
    for (i, m) in marks.iter().enumerate() {
        let slot = match pages.iter().position(|p| p.index == m.page) {
            Some(s) => s,
            None => {
                let p = doc.page(&mut r, m.page)?.ok_or(StampError::NoSuchPage {
                    mark: i,
                    page: m.page,
                    count: doc.page_count,
                })?;
                pages.push(p);
                pages.len() - 1
            }
        };
        page_of_mark.push(slot);
    }

    let mut upd = Update::new(r.len, doc.kind);
    if !matches!(input.last(), Some(b'\n' | b'\r')) {
        upd.buf.push(b'\n');
    }
    let mut next = doc.next_num;
    let mut alloc = || {
        let n = next;
        next += 1;
        n
    };
    let field_num = alloc();

    // Appearances first (they decide which fonts are needed), numbered as we go.
    let mut font_set = FontSet::new(fonts);
    let mut font_nums: Vec<u32> = Vec::new();
    let mut widgets: Vec<(usize, u32)> = Vec::new(); // (page slot, widget number)
    let mut pending: Vec<(usize, u32, Placement, Appearance)> = Vec::new();
    for (i, m) in marks.iter().enumerate() {
        let page = &pages[page_of_mark[i]];
        let placement = page.geometry.place(&m.rect);
        let ap = draw(i, &m.kind, placement.size, &mut font_set)?;
        while font_nums.len() < font_set.len() {
            font_nums.push(alloc());
        }
        let widget_num = alloc();
        widgets.push((page_of_mark[i], widget_num));
        pending.push((page_of_mark[i], widget_num, placement, ap));
    }

    for (slot, widget_num, placement, ap) in pending {
        let mut resources = Dict::default();
        if !ap.fonts.is_empty() {
            let mut f = Dict::default();
            for slot in &ap.fonts {
                f.set(
                    format!("F{slot}").as_bytes(),
                    Object::Ref(font_nums[*slot], 0),
                );
            }
            resources.set(b"Font", Object::Dict(f));
        }
        if let Some(img) = &ap.image {
            let img_num = alloc();
            let smask = match &img.alpha {
                Some(alpha) => {
                    let n = alloc();
                    let mut d = image_dict(img.width, img.height, b"DeviceGray");
                    d.set(b"Filter", Object::Name(b"FlateDecode".to_vec()));
                    upd.write_stream_with(n, d, &deflate(alpha));
                    Some(n)
                }
                None => None,
            };
            let cs: &[u8] = if img.gray {
                b"DeviceGray"
            } else {
                b"DeviceRGB"
            };
            let mut d = image_dict(img.width, img.height, cs);
            if let Some(n) = smask {
                d.set(b"SMask", Object::Ref(n, 0));
            }
            if img.jpeg {
                d.set(b"Filter", Object::Name(b"DCTDecode".to_vec()));
                upd.write_stream_with(img_num, d, &img.pixels);
            } else {
                d.set(b"Filter", Object::Name(b"FlateDecode".to_vec()));
                upd.write_stream_with(img_num, d, &deflate(&img.pixels));
            }
            let mut x = Dict::default();
            x.set(b"Im0", Object::Ref(img_num, 0));
            resources.set(b"XObject", Object::Dict(x));
        }
        let ap_num = alloc();
        let mut form = Dict::default();
        form.set(b"Type", Object::Name(b"XObject".to_vec()));
        form.set(b"Subtype", Object::Name(b"Form".to_vec()));
        form.set(
            b"BBox",
            reals(&[0.0, 0.0, placement.size.0, placement.size.1]),
        );
        form.set(b"Matrix", reals(&placement.matrix));
        form.set(b"Resources", Object::Dict(resources));
        upd.write_stream_with(ap_num, form, &ap.content);

        let page_ref = pages[slot].id;
        let mut w = Dict::default();
        w.set(b"Type", Object::Name(b"Annot".to_vec()));
        w.set(b"Subtype", Object::Name(b"Widget".to_vec()));
        w.set(b"Rect", reals(&placement.rect));
        // Print, and locked so that viewers do not let anyone move it.
        w.set(b"F", Object::Int(4 | 128));
        w.set(b"P", Object::Ref(page_ref.0, page_ref.1));
        // No /Parent, on purpose: poppler (pdfsig, Evince, Okular) takes any kid with a /Parent
        // for a child *field* (merged with its widget) and then reads /V from the kid, so a
        // signed field with several widgets shows as several unsigned ones. The field's /Kids
        // is what pyHanko, Acrobat and poppler walk to find the widgets.
        let mut apd = Dict::default();
        apd.set(b"N", Object::Ref(ap_num, 0));
        w.set(b"AP", Object::Dict(apd));
        upd.write_dict_obj(widget_num, 0, &w);
    }

    let embedded = font_set.embed()?;
    let font_names = write_fonts(&mut upd, &embedded, &font_nums, &mut alloc);

    // The field, its widgets as kids.
    let mut field = Dict::default();
    field.set(b"FT", Object::Name(b"Sig".to_vec()));
    field.set(b"T", Object::Str(field_name.as_bytes().to_vec()));
    field.set(
        b"Kids",
        Object::Array(widgets.iter().map(|(_, n)| Object::Ref(*n, 0)).collect()),
    );
    upd.write_dict_obj(field_num, 0, &field);

    // Pages' /Annots.
    for (slot, page) in pages.iter().enumerate() {
        let new: Vec<Object> = widgets
            .iter()
            .filter(|(p, _)| *p == slot)
            .map(|(_, n)| Object::Ref(*n, 0))
            .collect();
        doc.append_annots(&mut r, page, new, &mut upd)?;
    }
    // The form's /Fields.
    let mut catalog = doc.catalog.clone();
    let catalog_dirty = doc.add_field(
        &mut r,
        &mut catalog,
        Object::Ref(field_num, 0),
        &mut alloc,
        &mut upd,
        false,
    )?;
    if catalog_dirty {
        upd.write_dict_obj(doc.root.0, doc.root.1, &catalog);
    }
    let size = next;
    upd.finish(&doc.trailer, size, doc.startxref);

    let mut out = Vec::with_capacity(input.len() + upd.buf.len() + extra);
    out.extend_from_slice(input);
    out.extend_from_slice(&upd.buf);
    Ok((
        out,
        StampReport {
            field_name: field_name.into(),
            widgets: widgets.len(),
            fonts: font_names,
            xref_kind: doc.kind,
            input_len: input.len() as u64,
        },
    ))
}

/// Writes the embedded fonts as Type0 fonts over CID fonts, each at its number in `type0_nums`
/// (the numbers the content streams' resources already refer to). Returns the base font names.
pub(crate) fn write_fonts(
    upd: &mut Update,
    embedded: &[text::EmbeddedFont],
    type0_nums: &[u32],
    alloc: &mut dyn FnMut() -> u32,
) -> Vec<String> {
    let mut font_names = Vec::new();
    for (font, type0_num) in embedded.iter().zip(type0_nums) {
        let (cid_num, desc_num, file_num, tu_num) = (alloc(), alloc(), alloc(), alloc());
        let mut file = Dict::default();
        file.set(b"Filter", Object::Name(b"FlateDecode".to_vec()));
        if font.cff {
            file.set(b"Subtype", Object::Name(b"CIDFontType0C".to_vec()));
        } else {
            file.set(b"Length1", Object::Int(font.program.len() as i64));
        }
        upd.write_stream_with(file_num, file, &deflate(&font.program));
        upd.write_stream_with(tu_num, Dict::default(), &font.to_unicode);

        let name = Object::Name(font.base_font.clone().into_bytes());
        let mut fd = Dict::default();
        fd.set(b"Type", Object::Name(b"FontDescriptor".to_vec()));
        fd.set(b"FontName", name.clone());
        // Symbolic: the glyphs are addressed by CID, not by a standard encoding.
        fd.set(b"Flags", Object::Int(4));
        fd.set(b"FontBBox", reals(&font.bbox));
        fd.set(b"ItalicAngle", real(font.italic_angle));
        fd.set(b"Ascent", real(font.ascent));
        fd.set(b"Descent", real(font.descent));
        fd.set(b"CapHeight", real(font.cap_height));
        fd.set(b"StemV", Object::Int(80));
        fd.set(
            if font.cff { b"FontFile3" } else { b"FontFile2" },
            Object::Ref(file_num, 0),
        );
        // The CIDs the subset holds (PDF/A-1 asks for this set on subset CID fonts): the
        // subsetter numbers its glyphs from 0 (.notdef) without gaps.
        let count = usize::from(font.glyph_count.max(1));
        let mut cid_set = vec![0u8; count.div_ceil(8)];
        for cid in 0..count {
            cid_set[cid / 8] |= 0x80 >> (cid % 8);
        }
        let cid_set_num = alloc();
        upd.write_stream_with(cid_set_num, Dict::default(), &cid_set);
        fd.set(b"CIDSet", Object::Ref(cid_set_num, 0));
        upd.write_dict_obj(desc_num, 0, &fd);

        let mut sysinfo = Dict::default();
        sysinfo.set(b"Registry", Object::Str(b"Adobe".to_vec()));
        sysinfo.set(b"Ordering", Object::Str(b"Identity".to_vec()));
        sysinfo.set(b"Supplement", Object::Int(0));
        let mut cid = Dict::default();
        cid.set(b"Type", Object::Name(b"Font".to_vec()));
        cid.set(
            b"Subtype",
            Object::Name(if font.cff {
                b"CIDFontType0".to_vec()
            } else {
                b"CIDFontType2".to_vec()
            }),
        );
        cid.set(b"BaseFont", name.clone());
        cid.set(b"CIDSystemInfo", Object::Dict(sysinfo));
        cid.set(b"FontDescriptor", Object::Ref(desc_num, 0));
        cid.set(b"DW", Object::Int(1000));
        let mut w = Vec::new();
        for (c, width) in &font.widths {
            w.push(Object::Int(i64::from(*c)));
            w.push(Object::Array(vec![real(*width)]));
        }
        cid.set(b"W", Object::Array(w));
        if !font.cff {
            cid.set(b"CIDToGIDMap", Object::Name(b"Identity".to_vec()));
        }
        upd.write_dict_obj(cid_num, 0, &cid);

        let mut t0 = Dict::default();
        t0.set(b"Type", Object::Name(b"Font".to_vec()));
        t0.set(b"Subtype", Object::Name(b"Type0".to_vec()));
        t0.set(b"BaseFont", name);
        t0.set(b"Encoding", Object::Name(b"Identity-H".to_vec()));
        t0.set(
            b"DescendantFonts",
            Object::Array(vec![Object::Ref(cid_num, 0)]),
        );
        t0.set(b"ToUnicode", Object::Ref(tu_num, 0));
        upd.write_dict_obj(*type0_num, 0, &t0);
        font_names.push(font.base_font.clone());
    }
    font_names
}

/// A drawn appearance: content stream, the font slots it uses, maybe one image.
struct Appearance {
    content: Vec<u8>,
    fonts: Vec<usize>,
    image: Option<Image>,
}

struct Image {
    width: u32,
    height: u32,
    gray: bool,
    /// Raw samples, or the JPEG file itself when `jpeg`.
    pixels: Vec<u8>,
    alpha: Option<Vec<u8>>,
    jpeg: bool,
}

fn draw(
    index: usize,
    kind: &MarkKind,
    (w, h): (f64, f64),
    fonts: &mut FontSet<'_>,
) -> Result<Appearance, StampError> {
    let mut c = String::new();
    let mut used_fonts = Vec::new();
    let mut image = None;
    match kind {
        MarkKind::Name(t) | MarkKind::Date(t) | MarkKind::Text(t) | MarkKind::Initials(t) => {
            let line = fonts.layout(t, Style::Sans)?;
            text_content(&mut c, &line, w, h, 0.72, "0 0 0 rg", &mut used_fonts);
        }
        MarkKind::TypedSignature(t) => {
            let line = fonts.layout(t, Style::Script)?;
            text_content(
                &mut c,
                &line,
                w,
                h,
                0.95,
                "0.05 0.1 0.45 rg",
                &mut used_fonts,
            );
        }
        MarkKind::Checkmark => {
            // A square centred in the box, the tick inset by half the line width.
            let s = w.min(h);
            let lw = s * 0.12;
            let (ox, oy) = ((w - s) / 2.0, (h - s) / 2.0);
            let p = |fx: f64, fy: f64| {
                let inner = s - lw;
                (ox + lw / 2.0 + fx * inner, oy + lw / 2.0 + fy * inner)
            };
            let pts = [p(0.05, 0.5), p(0.38, 0.12), p(0.95, 0.9)];
            c.push_str(&format!(
                "q 0 0 0 RG {} w 1 J 1 j {} {} m {} {} l {} {} l S Q\n",
                num(lw),
                num(pts[0].0),
                num(pts[0].1),
                num(pts[1].0),
                num(pts[1].1),
                num(pts[2].0),
                num(pts[2].1)
            ));
        }
        MarkKind::Strokes { strokes, width } => {
            let lw = w.min(h) * width.unwrap_or(0.04).clamp(0.001, 0.5);
            c.push_str(&format!("q 0.05 0.1 0.45 RG {} w 1 J 1 j\n", num(lw)));
            let mut any = false;
            for stroke in strokes {
                let pts: Vec<(f64, f64)> = stroke
                    .iter()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .map(|(x, y)| {
                        // Inside the box, inset by half the line width so ink stays inside.
                        let x = lw / 2.0 + x.clamp(0.0, 1.0) * (w - lw).max(0.0);
                        let y = lw / 2.0 + (1.0 - y.clamp(0.0, 1.0)) * (h - lw).max(0.0);
                        (x, y)
                    })
                    .collect();
                let Some(first) = pts.first() else { continue };
                any = true;
                c.push_str(&format!("{} {} m\n", num(first.0), num(first.1)));
                if pts.len() == 1 {
                    // A dot: a zero-length segment with round caps.
                    c.push_str(&format!("{} {} l\n", num(first.0), num(first.1)));
                }
                for p in &pts[1..] {
                    c.push_str(&format!("{} {} l\n", num(p.0), num(p.1)));
                }
                c.push_str("S\n");
            }
            if !any {
                return Err(StampError::BadStrokes(index));
            }
            c.push_str("Q\n");
        }
        MarkKind::Image { png } => image = Some(decode_png(png)?),
        MarkKind::Jpeg { jpeg } => image = Some(jpeg_image(jpeg)?),
    }
    if let Some(img) = &image {
        // Fitted into the box, keeping its aspect ratio, centred.
        let (iw, ih) = (f64::from(img.width), f64::from(img.height));
        let scale = (w / iw).min(h / ih);
        let (dw, dh) = (iw * scale, ih * scale);
        c.push_str(&format!(
            "q {} 0 0 {} {} {} cm /Im0 Do Q\n",
            num(dw),
            num(dh),
            num((w - dw) / 2.0),
            num((h - dh) / 2.0)
        ));
    }
    Ok(Appearance {
        content: c.into_bytes(),
        fonts: used_fonts,
        image,
    })
}

/// Sets `line` centred in a `w` × `h` box, as large as fits (at most `fill` of the height).
fn text_content(
    c: &mut String,
    line: &Line,
    w: f64,
    h: f64,
    fill: f64,
    color: &str,
    used: &mut Vec<usize>,
) {
    let line_h = (line.ascent - line.descent).max(0.5);
    let pad = (w.min(h) * 0.04).min(2.0);
    let size = (h * fill / line_h)
        .min((w - 2.0 * pad).max(1.0) / line.width.max(0.01))
        .max(0.5);
    let x0 = (w - line.width * size) / 2.0;
    let baseline = (h - line_h * size) / 2.0 - line.descent * size;
    c.push_str(&format!("q {color} "));
    show_line(c, line, x0, baseline, size, used);
    c.push_str("Q\n");
}

/// Shows `line` at font size `size` with its origin at (`x0`, `baseline`), as one BT … ET
/// block; the font slots it uses are added to `used`.
pub(crate) fn show_line(
    c: &mut String,
    line: &Line,
    x0: f64,
    baseline: f64,
    size: f64,
    used: &mut Vec<usize>,
) {
    if let Some(text) = &line.actual_text {
        // A span whose text replaces that of its glyphs for extraction (PDF 32000 14.9.4).
        c.push_str("/Span <</ActualText <FEFF");
        for unit in text.encode_utf16() {
            c.push_str(&format!("{unit:04X}"));
        }
        c.push_str(">>> BDC\n");
    }
    c.push_str("BT\n");
    let mut current = usize::MAX;
    for g in &line.glyphs {
        if g.font != current {
            c.push_str(&format!("/F{} {} Tf\n", g.font, num(size)));
            current = g.font;
            if !used.contains(&g.font) {
                used.push(g.font);
            }
        }
        c.push_str(&format!(
            "1 0 0 1 {} {} Tm <{:04X}> Tj\n",
            num(x0 + g.x * size),
            num(baseline + g.y * size),
            g.cid
        ));
    }
    c.push_str("ET\n");
    if line.actual_text.is_some() {
        c.push_str("EMC\n");
    }
}

fn decode_png(data: &[u8]) -> Result<Image, StampError> {
    let err = |e: png::DecodingError| StampError::Image(e.to_string());
    let mut dec =
        png::Decoder::new_with_limits(std::io::Cursor::new(data), png::Limits { bytes: 256 << 20 });
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(err)?;
    let (width, height) = reader.info().size();
    if width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(StampError::Image(format!("{width}×{height} pixels")));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| StampError::Image("too large".into()))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(err)?;
    buf.truncate(info.line_size * info.height as usize);
    let (channels, gray, has_alpha) = match info.color_type {
        png::ColorType::Grayscale => (1, true, false),
        png::ColorType::GrayscaleAlpha => (2, true, true),
        png::ColorType::Rgb => (3, false, false),
        png::ColorType::Rgba => (4, false, true),
        png::ColorType::Indexed => return Err(StampError::Image("unexpanded palette".into())),
    };
    let row = info.line_size;
    let colour = if has_alpha { channels - 1 } else { channels };
    let mut pixels = Vec::with_capacity((width * height) as usize * colour);
    let mut alpha = has_alpha.then(|| Vec::with_capacity((width * height) as usize));
    for y in 0..height as usize {
        let line = &buf[y * row..y * row + width as usize * channels];
        for px in line.chunks_exact(channels) {
            pixels.extend_from_slice(&px[..colour]);
            if let Some(a) = alpha.as_mut() {
                a.push(px[channels - 1]);
            }
        }
    }
    Ok(Image {
        width,
        height,
        gray,
        pixels,
        alpha,
        jpeg: false,
    })
}

/// A JPEG file as an image to embed as it is: only its frame header is read (size and colour
/// components), the data stays compressed. CMYK and other component counts are refused, since
/// their colour depends on Adobe markers viewers read differently.
fn jpeg_image(data: &[u8]) -> Result<Image, StampError> {
    let bad = |why: &str| StampError::Image(format!("JPEG: {why}"));
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(bad("not a JPEG file"));
    }
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes (0xFF).
        while data.get(at) == Some(&0xFF) && data.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(0xFF), Some(&marker)) = (data.get(at), data.get(at + 1)) else {
            return Err(bad("no frame header"));
        };
        at += 2;
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            return Err(bad("no frame header before the image data"));
        }
        let len = data
            .get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or_else(|| bad("truncated"))?;
        if len < 2 {
            return Err(bad("bad segment length"));
        }
        // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let seg = data.get(at + 2..at + len).ok_or_else(|| bad("truncated"))?;
            if seg.len() < 6 {
                return Err(bad("short frame header"));
            }
            if seg[0] != 8 {
                return Err(bad("only 8 bits per sample are supported"));
            }
            let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
            let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
            let gray = match seg[5] {
                1 => true,
                3 => false,
                n => return Err(bad(&format!("{n} colour components (only grey or RGB)"))),
            };
            if width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS
            {
                return Err(StampError::Image(format!("{width}×{height} pixels")));
            }
            return Ok(Image {
                width,
                height,
                gray,
                pixels: data.to_vec(),
                alpha: None,
                jpeg: true,
            });
        }
        at += len;
    }
}

fn image_dict(width: u32, height: u32, cs: &[u8]) -> Dict {
    let mut d = Dict::default();
    d.set(b"Type", Object::Name(b"XObject".to_vec()));
    d.set(b"Subtype", Object::Name(b"Image".to_vec()));
    d.set(b"Width", Object::Int(i64::from(width)));
    d.set(b"Height", Object::Int(i64::from(height)));
    d.set(b"ColorSpace", Object::Name(cs.to_vec()));
    d.set(b"BitsPerComponent", Object::Int(8));
    d
}

/// zlib-compresses `data` (FlateDecode) at the fastest level: what it compresses (a signer's
/// font subsets, marks, certificate pages) is small, and the default level's search took
/// ~5 % of a signer's act (BENCHMARKS.md, "the act on a full-text 200-page document").
///
/// The compressor is kept per thread and reset between uses: a new one allocates and zeroes
/// about 160 KB of hash tables, which cost more than compressing a font subset (a signer's act
/// compresses one or two).
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    thread_local! {
        static COMPRESS: std::cell::RefCell<flate2::Compress> =
            std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::fast(), true));
    }
    COMPRESS.with(|c| {
        let mut c = c.borrow_mut();
        c.reset();
        // zlib's worst case is a few bytes per 16 KiB block over the input's size.
        let mut out = Vec::with_capacity(data.len() + data.len() / 1000 + 64);
        loop {
            let read = usize::try_from(c.total_in()).unwrap_or(usize::MAX);
            let rest = data.get(read..).unwrap_or_default();
            match c.compress_vec(rest, &mut out, flate2::FlushCompress::Finish) {
                Ok(flate2::Status::StreamEnd) => break,
                // Out of room: grow and go on.
                Ok(_) => out.reserve(out.capacity().max(64)),
                // Not reachable with a Vec output; an empty stream is still valid PDF.
                Err(_) => return Vec::new(),
            }
        }
        out
    })
}

/// A number for a content stream or dictionary: at most 4 decimals, no exponent.
pub(crate) fn num(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    // In fixed point (ten-thousandths) with integer formatting: `format!("{v:.4}")` took the
    // exact (bignum) float path, and a font's widths array has a number per glyph.
    let scaled = (v * 10_000.0).round();
    if scaled.abs() >= 1e15 {
        // Beyond exact integers in f64; no page coordinate is this large.
        let s = format!("{v:.4}");
        return s.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    // In range: |scaled| < 1e15 fits an i64 exactly.
    let scaled = scaled as i64;
    let (whole, frac) = (
        scaled.unsigned_abs() / 10_000,
        scaled.unsigned_abs() % 10_000,
    );
    let sign = if scaled < 0 { "-" } else { "" };
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{frac:04}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

pub(crate) fn real(v: f64) -> Object {
    Object::Real(num(v).into_bytes())
}

pub(crate) fn reals(v: &[f64]) -> Object {
    Object::Array(v.iter().map(|x| real(*x)).collect())
}

/// Serialises a dictionary (for tests and debugging).
#[allow(dead_code)]
fn dict_bytes(d: &Dict) -> Vec<u8> {
    let mut out = Vec::new();
    write_dict(&mut out, d);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(-0.00001), "0");
        assert_eq!(num(12.34567), "12.3457");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(-3.5), "-3.5");
        assert_eq!(num(0.00005), "0.0001");
        assert_eq!(num(-0.04), "-0.04");
        assert_eq!(num(612.0), "612");
        assert_eq!(num(1e20), "100000000000000000000");
        assert_eq!(num(f64::INFINITY), "0");
    }

    #[test]
    fn numbers_match_the_decimal_formatting() {
        // The fixed-point path gives what rounding the decimal text to 4 places gives.
        for i in -20_000..20_000 {
            let v = f64::from(i) * 0.013_7 + 0.000_03;
            let s = format!("{v:.4}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            let want = if s == "-0" { "0" } else { s };
            assert_eq!(num(v), want, "{v}");
        }
    }

    #[test]
    fn deflate_round_trips_and_reuses_its_compressor() {
        use std::io::Read as _;
        let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for data in [&b""[..], b"hello hello hello", &big, b"again"] {
            let z = deflate(data);
            let mut back = Vec::new();
            flate2::read::ZlibDecoder::new(&z[..])
                .read_to_end(&mut back)
                .expect("inflate");
            assert_eq!(back, data);
        }
    }
}
