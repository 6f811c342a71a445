//! Text for marks: picking a font for every character, bidi ordering, shaping (rustybuzz) and
//! embedding the glyphs used as subset CID fonts (subsetter) with a ToUnicode CMap, so that text
//! extraction gives back exactly what was typed.
//!
//! Latin, Greek and Cyrillic come from DejaVu Sans (subset to those scripts, carried in the
//! binary); typed signatures use Dancing Script (Latin) first. Anything else comes from system
//! fonts found at run time (Debian's Noto fonts), loaded once and only when a character needs
//! them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustybuzz::{BufferClusterLevel, Direction, UnicodeBuffer};
use subsetter::GlyphRemapper;
use unicode_bidi::ParagraphBidiInfo;

use super::StampError;

static SANS: &[u8] = include_bytes!("../../fonts/DejaVuSans-LGC.ttf");
static SCRIPT: &[u8] = include_bytes!("../../fonts/DancingScript-Regular.otf");

/// Largest font file read from the system (the Noto CJK collection is about 20 MB).
const MAX_FONT_FILE: u64 = 64 << 20;

/// Directories searched by [`FontLibrary::with_system_fonts`].
pub const DEFAULT_FONT_DIRS: &[&str] = &["/usr/share/fonts", "/usr/local/share/fonts"];

/// System font files tried first, in this order (file name, face index in a collection):
/// right-to-left scripts and CJK as Debian's `fonts-noto-core` and `fonts-noto-cjk` install them.
const PREFERRED_SYSTEM_FONTS: &[(&str, u32)] = &[
    ("NotoSansArabic-Regular.ttf", 0),
    ("NotoNaskhArabic-Regular.ttf", 0),
    ("NotoSansHebrew-Regular.ttf", 0),
    ("NotoSansCJK-Regular.ttc", 0),
    ("NotoSansCJKjp-Regular.otf", 0),
    ("NotoSans-Regular.ttf", 0),
];

/// Which typeface a text mark asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Style {
    /// Plain text: DejaVu Sans, then system fonts.
    Sans,
    /// A typed signature: Dancing Script, then DejaVu Sans, then system fonts.
    Script,
}

/// One font face, its bytes shared.
struct Face {
    data: Arc<[u8]>,
    index: u32,
    name: String,
    cff: bool,
    upem: f64,
    ascender: f64,
    descender: f64,
    cap_height: f64,
    bbox: [f64; 4],
    italic_angle: f64,
}

impl Face {
    fn load(data: Arc<[u8]>, index: u32) -> Option<Self> {
        let f = rustybuzz::ttf_parser::Face::parse(&data, index).ok()?;
        let upem = f64::from(f.units_per_em());
        if upem <= 0.0 {
            return None;
        }
        let name = f
            .names()
            .into_iter()
            .find(|n| n.name_id == rustybuzz::ttf_parser::name_id::POST_SCRIPT_NAME)
            .and_then(|n| n.to_string())
            .unwrap_or_else(|| "Font".into());
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(60)
            .collect();
        let bb = f.global_bounding_box();
        let cff = f.tables().cff.is_some();
        let has_outlines = f.tables().glyf.is_some() || cff;
        if !has_outlines {
            // CFF2 and bitmap-only fonts cannot be embedded by our subsetter.
            return None;
        }
        let scale = |v: i16| f64::from(v) * 1000.0 / upem;
        Some(Self {
            name: if name.is_empty() { "Font".into() } else { name },
            cff,
            upem,
            ascender: scale(f.ascender()),
            descender: scale(f.descender()),
            cap_height: f.capital_height().map(scale).unwrap_or(700.0),
            bbox: [
                scale(bb.x_min),
                scale(bb.y_min),
                scale(bb.x_max),
                scale(bb.y_max),
            ],
            italic_angle: f64::from(f.italic_angle()),
            index,
            data,
        })
    }
}

/// A system font file, loaded on first use.
struct SystemFont {
    path: PathBuf,
    index: u32,
    face: OnceLock<Option<Face>>,
}

impl SystemFont {
    fn face(&self) -> Option<&Face> {
        self.face
            .get_or_init(|| {
                let meta = std::fs::metadata(&self.path).ok()?;
                if meta.len() > MAX_FONT_FILE {
                    return None;
                }
                let data: Arc<[u8]> = std::fs::read(&self.path).ok()?.into();
                Face::load(data, self.index)
            })
            .as_ref()
    }
}

/// The fonts available to stamping: the two carried in the binary and, optionally, system fonts
/// that are read only when a character needs them. Build it once and share it (it is `Sync`).
pub struct FontLibrary {
    sans: Face,
    script: Face,
    system: Vec<SystemFont>,
}

impl std::fmt::Debug for FontLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontLibrary")
            .field("system_fonts", &self.system.len())
            .finish_non_exhaustive()
    }
}

impl Default for FontLibrary {
    fn default() -> Self {
        Self::builtin()
    }
}

impl FontLibrary {
    /// Only the carried fonts: Latin, Greek and Cyrillic.
    pub fn builtin() -> Self {
        // The carried fonts are checked by the tests; failing to parse them is a build defect.
        #[allow(clippy::expect_used)]
        let load = |b: &'static [u8]| Face::load(Arc::from(b), 0).expect("carried font parses");
        Self {
            sans: load(SANS),
            script: load(SCRIPT),
            system: Vec::new(),
        }
    }

    /// The carried fonts plus the fonts under [`DEFAULT_FONT_DIRS`].
    pub fn with_system_fonts() -> Self {
        let mut lib = Self::builtin();
        for dir in DEFAULT_FONT_DIRS {
            lib.add_font_dir(Path::new(dir));
        }
        lib
    }

    /// Adds the font files found under `dir` (recursively): the preferred Noto files first, then
    /// every other `.ttf`, `.otf`, `.ttc` and `.otc` in name order.
    pub fn add_font_dir(&mut self, dir: &Path) {
        let mut files = Vec::new();
        collect_font_files(dir, 0, &mut files);
        files.sort();
        let mut ordered: Vec<(PathBuf, u32)> = Vec::new();
        for (name, index) in PREFERRED_SYSTEM_FONTS {
            for f in &files {
                if f.file_name().and_then(|n| n.to_str()) == Some(*name) {
                    ordered.push((f.clone(), *index));
                }
            }
        }
        for f in files {
            if !ordered.iter().any(|(p, _)| *p == f) {
                ordered.push((f, 0));
            }
        }
        for (path, index) in ordered {
            self.add_font_file(path, index);
        }
    }

    /// Adds one font file (face `index` of a collection), read when first needed.
    pub fn add_font_file(&mut self, path: PathBuf, index: u32) {
        if self
            .system
            .iter()
            .any(|s| s.path == path && s.index == index)
        {
            return;
        }
        self.system.push(SystemFont {
            path,
            index,
            face: OnceLock::new(),
        });
    }

    fn face(&self, key: FontKey) -> Option<&Face> {
        match key {
            FontKey::Sans => Some(&self.sans),
            FontKey::Script => Some(&self.script),
            FontKey::System(i) => self.system.get(i).and_then(SystemFont::face),
        }
    }

    /// The fonts to try for `style`, in order.
    fn chain(&self, style: Style) -> impl Iterator<Item = FontKey> + '_ {
        let head: &[FontKey] = match style {
            Style::Sans => &[FontKey::Sans],
            Style::Script => &[FontKey::Script, FontKey::Sans],
        };
        head.iter()
            .copied()
            .chain((0..self.system.len()).map(FontKey::System))
    }
}

fn collect_font_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 6 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_font_files(&p, depth + 1, out);
        } else if p.extension().and_then(|x| x.to_str()).is_some_and(|x| {
            matches!(
                x.to_ascii_lowercase().as_str(),
                "ttf" | "otf" | "ttc" | "otc"
            )
        }) {
            out.push(p);
        }
    }
}

/// Identifies a face in a [`FontLibrary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum FontKey {
    Sans,
    Script,
    System(usize),
}

/// One positioned glyph of a laid-out line, at font size 1 (units: text space).
#[derive(Debug, Clone)]
pub(crate) struct PlacedGlyph {
    /// Index into [`FontSet`]'s fonts.
    pub font: usize,
    /// The CID (the glyph's id in the subset).
    pub cid: u16,
    pub x: f64,
    pub y: f64,
}

/// A line of text shaped and positioned at font size 1.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub glyphs: Vec<PlacedGlyph>,
    pub width: f64,
    /// Highest ascender and lowest descender of the fonts used (descender is negative).
    pub ascent: f64,
    pub descent: f64,
    /// The line's text, to be given as /ActualText, when glyph by glyph it would not read back
    /// in order: a left-to-right line where the shaper positioned marks against their base
    /// (Thai vowels and tone marks) or drew one character with several glyphs or reordered
    /// them (Indic vowel signs). Text extractors order glyphs by position, and a mark drawn
    /// back over its base comes out before it or not at all. Not for right-to-left lines:
    /// extractors reverse the glyphs of those themselves, and would reverse this text too.
    pub actual_text: Option<String>,
}

/// The fonts used by one stamping act: glyph remapping and ToUnicode text per font.
pub(crate) struct FontSet<'a> {
    lib: &'a FontLibrary,
    fonts: Vec<UsedFont>,
    /// Faces parsed once per act (parsing a face's tables costs more than shaping a word).
    parsed: Vec<(FontKey, Option<rustybuzz::Face<'a>>)>,
}

struct UsedFont {
    key: FontKey,
    remapper: GlyphRemapper,
    /// CID → text; the first text seen for a glyph wins.
    to_unicode: BTreeMap<u16, String>,
    /// CID → advance width (thousandths of an em).
    widths: BTreeMap<u16, f64>,
}

/// The PDF objects of one embedded font, to be numbered and written by the caller.
pub(crate) struct EmbeddedFont {
    /// Base font name with its subset tag.
    pub base_font: String,
    pub cff: bool,
    /// The font program (an OpenType file for TrueType outlines, a bare CFF otherwise).
    pub program: Vec<u8>,
    pub to_unicode: Vec<u8>,
    /// Glyphs in the subset (CIDs 0 to `glyph_count - 1`).
    pub glyph_count: u16,
    /// The /W array's content.
    pub widths: Vec<(u16, f64)>,
    pub ascent: f64,
    pub descent: f64,
    pub cap_height: f64,
    pub bbox: [f64; 4],
    pub italic_angle: f64,
}

fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x180B..=0x180F | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x206F | 0xFE00..=0xFE0F | 0xFEFF | 0xE0000..=0xE0FFF)
}

impl<'a> FontSet<'a> {
    pub(crate) fn new(lib: &'a FontLibrary) -> Self {
        Self {
            lib,
            fonts: Vec::new(),
            parsed: Vec::new(),
        }
    }

    /// The parsed face for `key`, parsed on first use.
    fn parsed(&mut self, key: FontKey) -> Option<&rustybuzz::Face<'a>> {
        let i = match self.parsed.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let lib: &'a FontLibrary = self.lib;
                let face = lib
                    .face(key)
                    .and_then(|f| rustybuzz::Face::from_slice(&f.data, f.index));
                self.parsed.push((key, face));
                self.parsed.len() - 1
            }
        };
        self.parsed[i].1.as_ref()
    }

    fn covers(&mut self, key: FontKey, c: char) -> bool {
        self.parsed(key)
            .is_some_and(|f| f.glyph_index(c).is_some_and(|g| g.0 != 0))
    }

    fn slot(&mut self, key: FontKey) -> usize {
        if let Some(i) = self.fonts.iter().position(|f| f.key == key) {
            return i;
        }
        self.fonts.push(UsedFont {
            key,
            remapper: GlyphRemapper::new(),
            to_unicode: BTreeMap::new(),
            widths: BTreeMap::new(),
        });
        self.fonts.len() - 1
    }

    /// Picks a font for every character: the current run's font while it covers the character,
    /// else the first font of the chain that does.
    fn assign_fonts(&mut self, text: &str, style: Style) -> Result<Vec<FontKey>, StampError> {
        let mut out = Vec::with_capacity(text.len());
        let mut current: Option<FontKey> = None;
        let lib = self.lib;
        for c in text.chars() {
            let key = match current {
                Some(k) if is_default_ignorable(c) || self.covers(k, c) => k,
                // An invisible character (a direction mark pasted before a name) must not choose
                // the run's font, even where a fallback font has a glyph for it: it takes the
                // style's first font, which the characters after it then keep where it covers
                // them. The shaper hides it whatever the font.
                None if is_default_ignorable(c) => lib.chain(style).next().unwrap_or(FontKey::Sans),
                _ => match lib.chain(style).find(|k| self.covers(*k, c)) {
                    Some(k) => k,
                    None => return Err(StampError::NoFontFor(c)),
                },
            };
            current = Some(key);
            out.extend(std::iter::repeat_n(key, c.len_utf8()));
        }
        Ok(out)
    }

    /// Shapes one line of `text` in visual order.
    pub(crate) fn layout(&mut self, text: &str, style: Style) -> Result<Line, StampError> {
        let text: String = text
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        let text = text.trim();
        if text.is_empty() {
            return Err(StampError::EmptyText);
        }
        let fonts = self.assign_fonts(text, style)?;
        let bidi = ParagraphBidiInfo::new(text, None);
        let (levels, runs) = bidi.visual_runs(0..text.len());
        let mut line = Line {
            glyphs: Vec::new(),
            width: 0.0,
            ascent: 0.0,
            descent: 0.0,
            actual_text: None,
        };
        let mut complex = false;
        let any_rtl = runs.iter().any(|run| levels[run.start].is_rtl());
        for run in runs {
            let rtl = levels[run.start].is_rtl();
            // Split the run where the font changes; right-to-left pieces go right to left.
            let mut pieces = Vec::new();
            let mut start = run.start;
            for i in run.start + 1..=run.end {
                if i == run.end || (text.is_char_boundary(i) && fonts[i] != fonts[start]) {
                    pieces.push(start..i);
                    start = i;
                }
            }
            if rtl {
                pieces.reverse();
            }
            for piece in pieces {
                complex |=
                    self.shape_piece(&text[piece.clone()], fonts[piece.start], rtl, &mut line)?;
            }
        }
        if complex && !any_rtl {
            line.actual_text = Some(text.to_owned());
        }
        Ok(line)
    }

    fn shape_piece(
        &mut self,
        piece: &str,
        key: FontKey,
        rtl: bool,
        line: &mut Line,
    ) -> Result<bool, StampError> {
        let slot = self.slot(key);
        let lib = self.lib;
        let face = lib.face(key).ok_or(StampError::Font("font vanished"))?;
        self.parsed(key)
            .ok_or(StampError::Font("font does not parse"))?;
        let hb = self
            .parsed
            .iter()
            .find_map(|(k, f)| (*k == key).then_some(f.as_ref()).flatten())
            .ok_or(StampError::Font("font does not parse"))?;
        let mut buf = UnicodeBuffer::new();
        buf.push_str(piece);
        buf.guess_segment_properties();
        buf.set_direction(if rtl {
            Direction::RightToLeft
        } else {
            Direction::LeftToRight
        });
        // One cluster per character where the font allows it, so that each glyph maps back to
        // the characters it shows.
        buf.set_cluster_level(BufferClusterLevel::MonotoneCharacters);
        let out = rustybuzz::shape(hb, &[], buf);
        let infos = out.glyph_infos();
        let positions = out.glyph_positions();
        let mut starts: Vec<usize> = infos.iter().map(|g| g.cluster as usize).collect();
        starts.sort_unstable();
        starts.dedup();
        let cluster_text = |c: usize| -> &str {
            let i = starts.partition_point(|s| *s <= c);
            let end = starts.get(i).copied().unwrap_or(piece.len());
            piece.get(c..end).unwrap_or("")
        };
        // Which glyph carries each cluster's text: the first one in logical order.
        let mut carrier: HashMap<usize, usize> = HashMap::new();
        let order: Box<dyn Iterator<Item = usize>> = if rtl {
            Box::new((0..infos.len()).rev())
        } else {
            Box::new(0..infos.len())
        };
        for i in order {
            carrier.entry(infos[i].cluster as usize).or_insert(i);
        }
        // Whether the glyphs do not map one to one, in order, onto the characters: a cluster
        // of several glyphs (or of none), or a glyph moved off the pen position (a mark).
        let mut complex = carrier.len() != infos.len();
        let used = &mut self.fonts[slot];
        let scale = 1.0 / face.upem;
        for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
            let gid = u16::try_from(info.glyph_id).map_err(|_| StampError::Font("glyph id"))?;
            if gid == 0 {
                let c = cluster_text(info.cluster as usize)
                    .chars()
                    .next()
                    .unwrap_or('?');
                return Err(StampError::NoFontFor(c));
            }
            let cid = used.remapper.remap(gid);
            if carrier.get(&(info.cluster as usize)) == Some(&i) {
                let t = cluster_text(info.cluster as usize);
                if !t.is_empty() {
                    used.to_unicode.entry(cid).or_insert_with(|| t.to_owned());
                }
            }
            let adv = hb
                .glyph_hor_advance(rustybuzz::ttf_parser::GlyphId(gid))
                .map(f64::from)
                .unwrap_or(0.0);
            used.widths.insert(cid, adv * 1000.0 / face.upem);
            complex |= pos.x_offset != 0 || pos.y_offset != 0 || pos.x_advance == 0;
            line.glyphs.push(PlacedGlyph {
                font: slot,
                cid,
                x: line.width + f64::from(pos.x_offset) * scale,
                y: f64::from(pos.y_offset) * scale,
            });
            line.width += f64::from(pos.x_advance) * scale;
        }
        line.ascent = line.ascent.max(face.ascender / 1000.0);
        line.descent = line.descent.min(face.descender / 1000.0);
        Ok(complex)
    }

    /// Number of fonts used so far.
    pub(crate) fn len(&self) -> usize {
        self.fonts.len()
    }

    /// Subsets and describes every font used.
    pub(crate) fn embed(&self) -> Result<Vec<EmbeddedFont>, StampError> {
        self.fonts.iter().map(|u| self.embed_one(u)).collect()
    }

    fn embed_one(&self, used: &UsedFont) -> Result<EmbeddedFont, StampError> {
        let face = self
            .lib
            .face(used.key)
            .ok_or(StampError::Font("font vanished"))?;
        let subset = subsetter::subset(&face.data, face.index, &used.remapper)
            .map_err(|_| StampError::Font("subsetting failed"))?;
        // Every glyph of the subset, components of composite glyphs included.
        let glyph_count = rustybuzz::ttf_parser::Face::parse(&subset, 0)
            .map(|f| f.number_of_glyphs())
            .map_err(|_| StampError::Font("subset does not parse"))?;
        let program = if face.cff {
            // Embedded as a bare CID-keyed CFF (FontFile3 /CIDFontType0C), the most widely read
            // form; the subsetter has made it CID-keyed with CID = new glyph id.
            let raw = rustybuzz::ttf_parser::RawFace::parse(&subset, 0)
                .map_err(|_| StampError::Font("subset does not parse"))?;
            raw.table(rustybuzz::ttf_parser::Tag::from_bytes(b"CFF "))
                .ok_or(StampError::Font("subset without CFF table"))?
                .to_vec()
        } else {
            subset
        };
        // A subset tag derived from the glyphs used (six capitals, as the PDF format asks): from
        // the font's own glyph ids, so that two different subsets of a font (two signers'
        // names) get different names. The subset's ids, hashed before, are 0, 1, 2, … for any
        // subset of that size. FNV-1a.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for gid in used.remapper.remapped_gids() {
            h = (h ^ u64::from(gid)).wrapping_mul(0x100_0000_01b3);
        }
        let tag: String = (0..6)
            .map(|i| char::from(b'A' + ((h >> (i * 8)) % 26) as u8))
            .collect();
        Ok(EmbeddedFont {
            base_font: format!("{tag}+{}", face.name),
            cff: face.cff,
            program,
            to_unicode: to_unicode_cmap(&used.to_unicode),
            glyph_count,
            widths: used.widths.iter().map(|(k, v)| (*k, *v)).collect(),
            ascent: face.ascender,
            descent: face.descender,
            cap_height: face.cap_height,
            bbox: face.bbox,
            italic_angle: face.italic_angle,
        })
    }
}

/// A ToUnicode CMap for 2-byte CIDs.
fn to_unicode_cmap(map: &BTreeMap<u16, String>) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = map.iter().collect();
    for chunk in entries.chunks(100) {
        s.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (cid, text) in chunk {
            let utf16: String = text.encode_utf16().map(|u| format!("{u:04X}")).collect();
            s.push_str(&format!("<{cid:04X}> <{utf16}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carried_fonts_parse_and_cover_their_scripts() {
        let lib = FontLibrary::builtin();
        assert!(!lib.sans.cff && lib.script.cff);
        let mut set = FontSet::new(&lib);
        for c in ['A', 'é', 'Ω', 'Ж', 'ß', '€'] {
            assert!(set.covers(FontKey::Sans, c), "{c}");
        }
        assert!(set.covers(FontKey::Script, 'a'));
    }

    #[test]
    fn uncovered_character_is_a_clear_error() {
        let lib = FontLibrary::builtin();
        let mut set = FontSet::new(&lib);
        match set.layout("Hello 世界", Style::Sans) {
            Err(StampError::NoFontFor(c)) => assert_eq!(c, '世'),
            other => panic!("expected NoFontFor, got {other:?}"),
        }
    }

    #[test]
    fn latin_layout_maps_back_to_text() {
        let lib = FontLibrary::builtin();
        let mut set = FontSet::new(&lib);
        let line = set.layout("Zoë Ελένη Жанна", Style::Sans).expect("layout");
        assert!(line.width > 5.0 && line.ascent > 0.5 && line.descent < 0.0);
        let text: String = set.fonts[0].to_unicode.values().cloned().collect();
        for c in "ZoëΕλένηЖанна".chars() {
            assert!(text.contains(c), "{c} missing from ToUnicode");
        }
        // x positions increase left to right.
        assert!(line.glyphs.windows(2).all(|w| w[1].x >= w[0].x));
        let fonts = set.embed().expect("embed");
        assert_eq!(fonts.len(), 1);
        assert!(fonts[0].program.len() < 40_000, "subset is small");
    }

    #[test]
    fn default_ignorable_characters_need_no_font_and_stay_in_the_run() {
        let lib = FontLibrary::builtin();
        let mut set = FontSet::new(&lib);
        // A zero-width joiner, an emoji variation selector, a word joiner: in a typed name they
        // neither fail for want of a glyph nor pull the run out of the signature's font.
        let keys = set
            .assign_fonts("An\u{200D}na\u{FE0F}Le\u{2060}e", Style::Script)
            .expect("ignorable characters need no font");
        assert!(keys.iter().all(|k| *k == FontKey::Script), "{keys:?}");
        assert!(!is_default_ignorable('a') && is_default_ignorable('\u{00AD}'));
        // A left-to-right mark pasted before the name keeps the typed signature in its script
        // font, and the line shapes.
        let mut set = FontSet::new(&lib);
        set.layout("\u{200E}Anna Lee", Style::Script)
            .expect("a leading mark lays out");
        let used: Vec<FontKey> = set.fonts.iter().map(|f| f.key).collect();
        assert_eq!(used, vec![FontKey::Script]);
    }

    #[test]
    fn glyphs_sit_at_the_pen_and_widths_are_in_thousandths_of_an_em() {
        let lib = FontLibrary::builtin();
        let mut set = FontSet::new(&lib);
        let line = set.layout("WW", Style::Sans).expect("layout");
        let [first, second] = line.glyphs.as_slice() else {
            panic!("two glyphs: {:?}", line.glyphs.len());
        };
        assert_eq!((first.x, first.y, second.y), (0.0, 0.0, 0.0));
        assert!(
            (second.x - line.width / 2.0).abs() < 1e-9,
            "{} of {}",
            second.x,
            line.width
        );
        let widths: Vec<f64> = set.fonts[0].widths.values().copied().collect();
        assert_eq!(widths.len(), 1, "one glyph, one width");
        assert!(
            (widths[0] - line.width * 500.0).abs() < 1e-6,
            "{widths:?} vs {}",
            line.width
        );
        assert!(widths[0] > 500.0 && widths[0] < 1500.0, "{widths:?}");
        // Ascender and descender in ems, as the font's metrics give them.
        assert!(line.ascent > 0.5 && line.ascent < 1.5, "{}", line.ascent);
        assert!(
            line.descent < 0.0 && line.descent > -0.6,
            "{}",
            line.descent
        );
    }

    #[test]
    fn plain_text_reads_back_glyph_by_glyph_without_actual_text() {
        let lib = FontLibrary::builtin();
        let mut set = FontSet::new(&lib);
        let line = set.layout("Zoë Жанна", Style::Sans).expect("layout");
        assert_eq!(line.actual_text, None);
        // Each glyph maps back to exactly its own character, in order.
        let by_glyph: Vec<String> = line
            .glyphs
            .iter()
            .map(|g| set.fonts[g.font].to_unicode[&g.cid].clone())
            .collect();
        assert_eq!(by_glyph.concat(), "Zoë Жанна");
    }

    #[test]
    fn typed_signature_falls_back_per_character() {
        let lib = FontLibrary::builtin();
        let mut set = FontSet::new(&lib);
        set.layout("Anna Ωmega", Style::Script).expect("layout");
        let keys: Vec<FontKey> = set.fonts.iter().map(|f| f.key).collect();
        assert_eq!(keys, vec![FontKey::Script, FontKey::Sans]);
        let fonts = set.embed().expect("embed");
        assert!(fonts[0].cff && fonts[0].program.starts_with(&[1, 0]));
    }

    /// The subset tags of one glyph: `A` and `V`, alone, each a one-glyph subset of DejaVu Sans.
    fn tag_of(text: &str) -> String {
        let lib = FontLibrary::builtin();
        let mut set = FontSet::new(&lib);
        set.layout(text, Style::Sans).expect("layout");
        let embedded = set.embed().expect("embed");
        embedded[0].base_font.clone()
    }

    #[test]
    fn subset_tags_name_the_glyphs_used() {
        let (a, v) = (tag_of("A"), tag_of("V"));
        // Different glyphs, different names (two signers' subsets of one font in one document
        // must not share a name); the same glyphs, the same name, run after run.
        assert_ne!(a, v);
        assert_eq!(a, tag_of("A"));
        assert_eq!(a, tag_of("AA"));
        let (tag, name) = a.split_once('+').expect("tag+name");
        assert_eq!(name, "DejaVuSans");
        assert!(
            tag.len() == 6 && tag.bytes().all(|b| b.is_ascii_uppercase()),
            "{a}"
        );
        // Pinned: the tag of a glyph set does not change between versions either.
        assert_eq!(a, "HEHSVQ+DejaVuSans");
    }

    #[test]
    fn ligatures_are_shaped_within_a_run() {
        let lib = FontLibrary::builtin();
        let mut set = FontSet::new(&lib);
        let line = set.layout("office", Style::Sans).expect("layout");
        // o, the ffi ligature, c, e: the run is shaped as one piece, not character by character.
        assert_eq!(line.glyphs.len(), 4);
        let texts: Vec<&str> = line
            .glyphs
            .iter()
            .map(|g| set.fonts[g.font].to_unicode[&g.cid].as_str())
            .collect();
        assert_eq!(texts, ["o", "ffi", "c", "e"]);
        assert_eq!(line.actual_text, None);
    }

    #[test]
    fn marks_placed_against_their_base_make_a_left_to_right_line_carry_its_text() {
        let lib = FontLibrary::builtin();
        let mut set = FontSet::new(&lib);
        // Two combining marks the font has no precomposed glyph for: drawn as marks over and
        // under the q, which extraction by position would not give back in order.
        let text = "q\u{301}\u{323}";
        let line = set.layout(text, Style::Sans).expect("layout");
        assert_eq!(line.glyphs.len(), 3);
        assert_eq!(line.actual_text.as_deref(), Some(text));
    }

    #[test]
    fn to_unicode_maps_each_cid_to_its_utf16_text_in_blocks_of_100() {
        let map: BTreeMap<u16, String> = [
            (3, "A".to_string()),
            (0x104, "Ж".to_string()),
            (7, "ffi".to_string()),
            (9, "\u{1F600}".to_string()),
        ]
        .into_iter()
        .collect();
        let cmap = String::from_utf8(to_unicode_cmap(&map)).expect("ascii");
        assert!(
            cmap.starts_with("/CIDInit /ProcSet findresource begin\n"),
            "{cmap}"
        );
        assert!(cmap.contains("1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"));
        assert!(
            cmap.contains(
                "4 beginbfchar\n<0003> <0041>\n<0007> <006600660069>\n<0009> <D83DDE00>\n<0104> <0416>\nendbfchar\n"
            ),
            "{cmap}"
        );
        assert!(
            cmap.ends_with("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
        );
        // More than 100 entries: blocks of at most 100 (the limit PostScript CMaps set).
        let many: BTreeMap<u16, String> = (0..150u16).map(|c| (c, "x".to_string())).collect();
        let cmap = String::from_utf8(to_unicode_cmap(&many)).expect("ascii");
        assert_eq!(cmap.matches("100 beginbfchar\n").count(), 1);
        assert_eq!(cmap.matches("50 beginbfchar\n").count(), 1);
        assert_eq!(cmap.matches("endbfchar\n").count(), 2);
    }

    #[test]
    fn font_directories_are_searched_in_depth_with_the_preferred_files_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let write = |rel: &str, bytes: &[u8]| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, bytes).expect("write");
            p
        };
        let plain = write("b/Plain.TTF", SANS);
        let broken = write("a/Broken.otf", b"not a font");
        write("a/notes.txt", SANS);
        let preferred = write("z/deep/NotoSansHebrew-Regular.ttf", SANS);
        // Six levels below the directory given: the deepest searched; seven: past it.
        let six = write("1/2/3/4/5/6/Six.ttf", SANS);
        write("1/2/3/4/5/6/7/TooDeep.ttf", SANS);
        let mut lib = FontLibrary::builtin();
        lib.add_font_dir(root);
        let found: Vec<(&Path, u32)> = lib
            .system
            .iter()
            .map(|s| (s.path.as_path(), s.index))
            .collect();
        // The preferred Noto file first, then the others in name order; the text file and the
        // file too deep are not taken.
        assert_eq!(
            found,
            [
                (preferred.as_path(), 0),
                (six.as_path(), 0),
                (broken.as_path(), 0),
                (plain.as_path(), 0)
            ]
        );
        // Read when first needed: a font that parses gives a face, one that does not gives none.
        assert!(lib.face(FontKey::System(0)).is_some());
        assert!(lib.face(FontKey::System(2)).is_none());
        assert_eq!(
            lib.face(FontKey::System(3)).map(|f| f.name.as_str()),
            Some("DejaVuSans")
        );
        // The same file and face again is not added twice; another face of it is.
        lib.add_font_file(plain.clone(), 0);
        assert_eq!(lib.system.len(), 4);
        lib.add_font_file(plain, 1);
        assert_eq!(lib.system.len(), 5);
        assert_eq!(format!("{lib:?}"), "FontLibrary { system_fonts: 5, .. }");
        // A system font is in the fallback chain after the carried ones.
        let chain: Vec<FontKey> = lib.chain(Style::Script).collect();
        assert_eq!(
            chain[..3],
            [FontKey::Script, FontKey::Sans, FontKey::System(0)]
        );
    }

    #[test]
    fn a_face_is_named_after_its_postscript_name() {
        let face = Face::load(Arc::from(SANS), 0).expect("parses");
        assert_eq!(face.name, "DejaVuSans");
        assert!(!face.cff);
        assert!(Face::load(Arc::from(&b"not a font"[..]), 0).is_none());
    }
}
