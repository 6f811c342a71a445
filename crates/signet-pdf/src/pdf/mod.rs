//! A minimal PDF reader: finds `startxref`, follows the xref chain (tables and streams) and loads
//! single objects on demand. It never loads the whole object graph.

pub(crate) mod doc;
pub(crate) mod object;
pub(crate) mod update;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

pub(crate) use object::{Dict, Lexer, Object, ParseError, RawArray};

/// Errors from reading a PDF.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// Reading the input failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a PDF this reader understands.
    #[error("malformed PDF: {0}")]
    Malformed(String),
    /// A valid PDF feature this library does not support.
    #[error("unsupported PDF: {0}")]
    Unsupported(&'static str),
    /// The document is encrypted: it cannot be stamped or signed without being rewritten.
    #[error("the document is encrypted")]
    Encrypted,
}

fn bad(msg: impl Into<String>) -> PdfError {
    PdfError::Malformed(msg.into())
}

/// Random access to the input. A window is borrowed where the input is already in memory,
/// and read into a buffer otherwise.
pub(crate) trait Source {
    fn len(&self) -> u64;
    fn read_at(&mut self, offset: u64, len: usize) -> std::io::Result<Cow<'_, [u8]>>;
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&mut self, offset: u64, len: usize) -> std::io::Result<Cow<'_, [u8]>> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(<[u8]>::len(self));
        let end = start.saturating_add(len).min(<[u8]>::len(self));
        Ok(Cow::Borrowed(&self[start..end]))
    }
}

/// A `Read + Seek` input.
pub(crate) struct SeekSource<R> {
    inner: R,
    len: u64,
}

impl<R: Read + Seek> SeekSource<R> {
    pub(crate) fn new(mut inner: R) -> std::io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        Ok(Self { inner, len })
    }

    pub(crate) fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read + Seek> Source for SeekSource<R> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, len: usize) -> std::io::Result<Cow<'_, [u8]>> {
        let len = (len as u64).min(self.len.saturating_sub(offset));
        self.inner.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::with_capacity(len as usize);
        (&mut self.inner).take(len).read_to_end(&mut buf)?;
        Ok(Cow::Owned(buf))
    }
}

/// Where an object lives, per one xref section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Free,
    Offset(u64, u16),
    InStream(u32, u32),
}

/// The kind of cross-reference section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum XrefKind {
    /// A classic `xref` table with a `trailer`.
    Table,
    /// A cross-reference stream (PDF 1.5).
    Stream,
}

/// A section's entries by object number.
///
/// A classic table whose lines are all in the standard 20-byte form is kept as those lines and
/// an entry is decoded when it is looked up: sealing or stamping a long document looks up a
/// handful of objects, and decoding every line of its table was a measurable part of a seal.
/// Other sections (xref streams, tables in a non-standard layout, the entries a hybrid file's
/// /XRefStm adds) are decoded into a vector sorted once and searched by bisection. (Faster to
/// build than a hash map for the thousands of entries of a long document, and without a hash
/// an attacker could aim collisions at.)
#[derive(Debug, Default)]
pub(crate) struct Entries {
    /// Decoded entries, sorted by number, no duplicates. With `table`, only the numbers the
    /// table does not give.
    items: Vec<(u32, Entry)>,
    table: Option<RawTable>,
}

/// A classic table's subsections as their raw fixed-form lines (checked when read).
#[derive(Debug)]
struct RawTable {
    /// Every subsection's lines, 20 bytes each, in file order.
    lines: Vec<u8>,
    /// (first object number, number of lines, index of the first line), in file order.
    subsections: Vec<(u32, u32, usize)>,
}

impl RawTable {
    /// The entry for `num`: the first subsection holding it wins, as when decoding eagerly.
    fn get(&self, num: u32) -> Option<Entry> {
        self.subsections.iter().find_map(|&(start, count, first)| {
            let i = num.checked_sub(start).filter(|i| *i < count)?;
            let at = (first + i as usize) * 20;
            // Every line was checked when the table was read, so this decodes; a line that
            // did not would read as absent, never as a wrong offset.
            fixed_xref_entry(self.lines.get(at..at + 20)?)
        })
    }

    fn decode_all(&self) -> Vec<(u32, Entry)> {
        let mut out = Vec::with_capacity(self.lines.len() / 20);
        for &(start, count, first) in &self.subsections {
            for i in 0..count {
                let at = (first + i as usize) * 20;
                if let Some(e) = self.lines.get(at..at + 20).and_then(fixed_xref_entry) {
                    out.push((start + i, e));
                }
            }
        }
        out
    }
}

impl Entries {
    fn reserve(&mut self, n: usize) {
        self.items.reserve(n);
    }

    /// Adds an entry; when a number appears twice, the first one pushed wins.
    fn push(&mut self, num: u32, e: Entry) {
        self.items.push((num, e));
    }

    /// Sorts by number (stably, so the first of duplicates stays first) and drops duplicates.
    fn finish(&mut self) {
        if !self.items.is_sorted_by_key(|(n, _)| *n) {
            self.items.sort_by_key(|(n, _)| *n);
        }
        self.items.dedup_by_key(|(n, _)| *n);
    }

    /// Adds the entries of `other` whose numbers are not here yet: `finish` keeps the first of
    /// duplicates, so those already here win, and a raw table wins over both (`get` asks it
    /// first, `decoded` puts its entries first).
    fn add_missing(&mut self, other: Entries) {
        self.items.extend(other.decoded());
        self.finish();
    }

    pub(crate) fn get(&self, num: u32) -> Option<Entry> {
        if let Some(e) = self.table.as_ref().and_then(|t| t.get(num)) {
            return Some(e);
        }
        self.items
            .binary_search_by_key(&num, |(k, _)| *k)
            .ok()
            .map(|i| self.items[i].1)
    }

    /// Every entry, sorted by number (decodes a raw table whole: for checks that need all).
    pub(crate) fn decoded(&self) -> Vec<(u32, Entry)> {
        let Some(t) = &self.table else {
            return self.items.clone();
        };
        let mut all = Entries {
            items: t.decode_all(),
            table: None,
        };
        all.items.extend(self.items.iter().copied());
        all.finish();
        all.items
    }

    /// The highest object number with an entry (free or not), without decoding a raw table.
    pub(crate) fn max_num(&self) -> Option<u32> {
        let from_table = self.table.as_ref().and_then(|t| {
            t.subsections
                .iter()
                .filter(|(_, count, _)| *count > 0)
                .map(|(start, count, _)| start + (count - 1))
                .max()
        });
        from_table.max(self.items.last().map(|(n, _)| *n))
    }
}

/// One cross-reference section (one revision, hybrid /XRefStm merged in).
#[derive(Debug)]
#[allow(dead_code)] // `offset` is read by `verify`
pub(crate) struct Section {
    pub offset: u64,
    pub kind: XrefKind,
    pub trailer: Dict,
    pub entries: Entries,
}

const MAX_SECTIONS: usize = 4096;
const MAX_WINDOW: usize = 256 << 20;
const MAX_DECODED: u64 = 256 << 20;

/// A page-tree node's direct /Kids left unparsed, and the place of the key among the node's
/// others (where [`Reader::resolve_node`] took it out).
pub(crate) type DeferredKids = (RawArray, usize);

/// A decoded object stream: (object number, offset) pairs and the data.
type ObjStm = (Vec<(u32, usize)>, Vec<u8>);

/// A lazily-loading PDF reader.
pub(crate) struct Reader<S> {
    pub src: S,
    pub len: u64,
    pub startxref: u64,
    /// Newest first.
    pub sections: Vec<Section>,
    objstm_cache: HashMap<u32, ObjStm>,
}

impl<S: Source> Reader<S> {
    pub(crate) fn open(mut src: S) -> Result<Self, PdfError> {
        let len = src.len();
        if len < 16 {
            return Err(bad("file too short"));
        }
        let head = src.read_at(0, 1024)?;
        if !head.windows(5).any(|w| w == b"%PDF-") {
            return Err(bad("no %PDF- header"));
        }
        let tail_len = len.min(2048);
        let tail = src.read_at(len - tail_len, tail_len as usize)?;
        let pos = rfind(&tail, b"startxref").ok_or_else(|| bad("no startxref"))?;
        let mut lx = Lexer::new(&tail, pos + 9);
        let startxref = match lx.parse_uint() {
            Ok(v) => v,
            Err(ParseError::Truncated) => {
                // The number runs to the very end of the file.
                let t = &tail[pos + 9..];
                let t: Vec<u8> = t
                    .iter()
                    .copied()
                    .filter(|b| !object::is_white(*b))
                    .collect();
                object::parse_u64(&t).ok_or_else(|| bad("bad startxref"))?
            }
            Err(_) => return Err(bad("bad startxref")),
        };
        let mut r = Self {
            src,
            len,
            startxref,
            sections: Vec::new(),
            objstm_cache: HashMap::new(),
        };
        let mut next = Some(startxref);
        let mut seen = std::collections::HashSet::new();
        while let Some(off) = next {
            if !seen.insert(off) || r.sections.len() >= MAX_SECTIONS {
                return Err(bad("xref chain loops"));
            }
            let section = r.read_section(off)?;
            next = match section.trailer.get(b"Prev") {
                Some(Object::Int(p)) if *p >= 0 => Some(*p as u64),
                Some(_) => return Err(bad("bad /Prev")),
                None => None,
            };
            r.sections.push(section);
        }
        if r.trailer().get(b"Encrypt").is_some() {
            return Err(PdfError::Encrypted);
        }
        Ok(r)
    }

    /// The newest trailer (or xref stream dictionary).
    pub(crate) fn trailer(&self) -> &Dict {
        &self.sections[0].trailer
    }

    pub(crate) fn kind(&self) -> XrefKind {
        self.sections[0].kind
    }

    fn read_section(&mut self, off: u64) -> Result<Section, PdfError> {
        if off >= self.len {
            return Err(bad("xref offset beyond end of file"));
        }
        let head = self.src.read_at(off, 16)?;
        let trimmed: Vec<u8> = head
            .iter()
            .copied()
            .skip_while(|b| object::is_white(*b))
            .collect();
        if trimmed.starts_with(b"xref") {
            let mut s = self.read_table(off)?;
            if let Some(Object::Int(x)) = s.trailer.get(b"XRefStm") {
                let x = u64::try_from(*x).map_err(|_| bad("bad /XRefStm"))?;
                if let Ok(hybrid) = self.read_xref_stream(x) {
                    s.entries.add_missing(hybrid.entries);
                }
            }
            Ok(s)
        } else {
            self.read_xref_stream(off)
        }
    }

    fn window<T>(
        &mut self,
        off: u64,
        f: impl FnMut(&[u8]) -> Result<T, ParseError>,
    ) -> Result<T, PdfError> {
        self.window_from(off, 4096, f)
    }

    /// Parses with `f` over a window of the input at `off`, starting `size` bytes long and
    /// growing while `f` finds it truncated.
    fn window_from<T>(
        &mut self,
        off: u64,
        size: usize,
        mut f: impl FnMut(&[u8]) -> Result<T, ParseError>,
    ) -> Result<T, PdfError> {
        let mut size = size.clamp(64, MAX_WINDOW);
        loop {
            let len = self.len;
            let mut padded = self.src.read_at(off, size)?;
            let at_end = off + padded.len() as u64 >= len;
            if at_end {
                // Let a final token end cleanly.
                padded.to_mut().push(b'\n');
            }
            match f(&padded) {
                Ok(v) => return Ok(v),
                Err(ParseError::Truncated) if !at_end && size < MAX_WINDOW => size *= 4,
                Err(ParseError::Truncated) => {
                    return Err(bad(format!("truncated object at {off}")));
                }
                Err(ParseError::Syntax(m)) => return Err(bad(format!("{m} at {off}"))),
            }
        }
    }

    fn read_table(&mut self, off: u64) -> Result<Section, PdfError> {
        // Size the window from the first subsection's count so that a long table is parsed
        // once rather than again after each doubling.
        let head = self.src.read_at(off, 64)?;
        let mut hl = Lexer::new(&head, 0);
        let first_count = (|| {
            hl.expect_keyword(b"xref").ok()?;
            hl.parse_uint().ok()?;
            hl.parse_uint().ok()
        })()
        .unwrap_or(0);
        let size = usize::try_from(first_count.saturating_mul(20))
            .unwrap_or(MAX_WINDOW)
            .saturating_add(4096);
        let (entries, trailer) = self.window_from(off, size, |buf| match raw_table(buf)? {
            Some(parsed) => Ok(parsed),
            None => decoded_table(buf),
        })?;
        Ok(Section {
            offset: off,
            kind: XrefKind::Table,
            trailer,
            entries,
        })
    }

    fn read_xref_stream(&mut self, off: u64) -> Result<Section, PdfError> {
        let (_, obj) = self.read_indirect_at(off)?;
        let Object::Stream(dict, raw) = obj else {
            return Err(bad("xref stream expected"));
        };
        if !dict.name_is(b"Type", b"XRef") {
            return Err(bad("not an xref stream"));
        }
        let data = decode_stream(&dict, &raw)?;
        let w: Vec<usize> = match dict.get(b"W") {
            Some(Object::Array(a)) if a.len() == 3 => a
                .iter()
                .map(|o| match o {
                    Object::Int(i) if (0..=8).contains(i) => Ok(*i as usize),
                    _ => Err(bad("bad /W")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(bad("missing /W")),
        };
        let row = w.iter().sum::<usize>();
        if row == 0 {
            return Err(bad("empty /W"));
        }
        let size = dict.int(b"Size").ok_or_else(|| bad("missing /Size"))?;
        let index: Vec<i64> = match dict.get(b"Index") {
            Some(Object::Array(a)) => a
                .iter()
                .map(|o| if let Object::Int(i) = o { *i } else { -1 })
                .collect(),
            _ => vec![0, size],
        };
        if !index.len().is_multiple_of(2) || index.iter().any(|i| *i < 0) {
            return Err(bad("bad /Index"));
        }
        let mut entries = Entries::default();
        let mut rows = data.chunks_exact(row);
        for pair in index.chunks(2) {
            for i in 0..pair[1] {
                let Some(r) = rows.next() else {
                    return Err(bad("xref stream too short"));
                };
                let field = |k: usize| -> u64 {
                    let s: usize = w[..k].iter().sum();
                    r[s..s + w[k]]
                        .iter()
                        .fold(0u64, |a, b| (a << 8) | u64::from(*b))
                };
                let typ = if w[0] == 0 { 1 } else { field(0) };
                let num = u32::try_from(pair[0] + i).map_err(|_| bad("object number"))?;
                let e = match typ {
                    0 => Entry::Free,
                    1 => Entry::Offset(field(1), u16::try_from(field(2)).unwrap_or(0)),
                    2 => Entry::InStream(
                        u32::try_from(field(1)).map_err(|_| bad("bad stream number"))?,
                        u32::try_from(field(2)).unwrap_or(u32::MAX),
                    ),
                    _ => continue,
                };
                entries.push(num, e);
            }
        }
        entries.finish();
        Ok(Section {
            offset: off,
            kind: XrefKind::Stream,
            trailer: dict,
            entries,
        })
    }

    /// Parses "N G obj ... endobj" at `off`, returning ((N, G), object).
    pub(crate) fn read_indirect_at(&mut self, off: u64) -> Result<((u32, u16), Object), PdfError> {
        if off >= self.len {
            return Err(bad("object offset beyond end of file"));
        }
        let (id, obj, data_at) = self.window(off, |buf| {
            let mut lx = Lexer::new(buf, 0);
            let n = lx.parse_uint()?;
            let g = lx.parse_uint()?;
            lx.expect_keyword(b"obj")?;
            let obj = lx.parse_object()?;
            let save = lx.pos;
            let data_at = match (&obj, lx.token()) {
                (Object::Dict(_), Ok(b"stream")) => {
                    let mut p = lx.pos;
                    if buf.get(p) == Some(&b'\r') {
                        p += 1;
                    }
                    if buf.get(p) == Some(&b'\n') {
                        p += 1;
                    }
                    Some(p)
                }
                _ => {
                    lx.pos = save;
                    None
                }
            };
            let n = u32::try_from(n).map_err(|_| ParseError::Syntax("object number"))?;
            let g = u16::try_from(g).map_err(|_| ParseError::Syntax("generation"))?;
            Ok(((n, g), obj, data_at))
        })?;
        let Some(data_at) = data_at else {
            return Ok((id, obj));
        };
        let Object::Dict(dict) = obj else {
            return Err(bad("stream without dictionary"));
        };
        let start = off + data_at as u64;
        let length = match dict.get(b"Length") {
            Some(Object::Int(l)) if *l >= 0 => Some(*l as u64),
            Some(Object::Ref(n, _)) if *n != id.0 => match self.resolve_no_stream(*n) {
                Ok(Object::Int(l)) if l >= 0 => Some(l as u64),
                _ => None,
            },
            _ => None,
        };
        let length = match length {
            Some(l) if start + l <= self.len && self.endstream_follows(start + l)? => l,
            _ => self.find_endstream(start)?,
        };
        let len = usize::try_from(length).map_err(|_| bad("stream too long"))?;
        if len > MAX_WINDOW {
            return Err(PdfError::Unsupported("streams above 256 MiB"));
        }
        let data = self.src.read_at(start, len)?.into_owned();
        Ok((id, Object::Stream(dict, data)))
    }

    fn endstream_follows(&mut self, at: u64) -> Result<bool, PdfError> {
        let b = self.src.read_at(at, 32)?;
        let t = b
            .iter()
            .position(|c| !object::is_white(*c))
            .map_or(&b[..0], |i| &b[i..]);
        Ok(t.starts_with(b"endstream"))
    }

    fn find_endstream(&mut self, start: u64) -> Result<u64, PdfError> {
        let mut size = 1 << 16;
        loop {
            let buf = self.src.read_at(start, size)?;
            if let Some(p) = find(&buf, b"endstream") {
                let mut end = p;
                while end > 0 && matches!(buf[end - 1], b'\r' | b'\n') {
                    end -= 1;
                }
                return Ok(end as u64);
            }
            if start + buf.len() as u64 >= self.len || size >= MAX_WINDOW {
                return Err(bad("stream without endstream"));
            }
            size *= 4;
        }
    }

    fn resolve_no_stream(&mut self, num: u32) -> Result<Object, PdfError> {
        match self.lookup(num, 0) {
            Some(Entry::Offset(off, _)) => {
                let obj = self.window(off, |buf| {
                    let mut lx = Lexer::new(buf, 0);
                    lx.parse_uint()?;
                    lx.parse_uint()?;
                    lx.expect_keyword(b"obj")?;
                    lx.parse_object()
                })?;
                Ok(obj)
            }
            _ => Ok(Object::Null),
        }
    }

    /// The entry for `num`, looking at sections from index `from` (0 = newest) onwards.
    pub(crate) fn lookup(&self, num: u32, from: usize) -> Option<Entry> {
        self.sections
            .iter()
            .skip(from)
            .find_map(|s| s.entries.get(num))
    }

    /// Loads object `num` as seen by the revision whose newest section is `from`.
    pub(crate) fn resolve_at(&mut self, num: u32, from: usize) -> Result<Object, PdfError> {
        match self.lookup(num, from) {
            None | Some(Entry::Free) => Ok(Object::Null),
            Some(Entry::Offset(off, _)) => {
                let ((n, _), obj) = self.read_indirect_at(off)?;
                if n != num {
                    return Err(bad(format!("xref points object {num} at object {n}")));
                }
                Ok(obj)
            }
            Some(Entry::InStream(stm, idx)) => self.load_from_object_stream(stm, idx, num, from),
        }
    }

    /// Loads object `num` in the newest revision.
    pub(crate) fn resolve(&mut self, num: u32) -> Result<Object, PdfError> {
        self.resolve_at(num, 0)
    }

    /// Follows a reference (if `obj` is one).
    pub(crate) fn deref(&mut self, obj: &Object) -> Result<Object, PdfError> {
        match obj {
            Object::Ref(n, _) => self.resolve(*n),
            other => Ok(other.clone()),
        }
    }

    pub(crate) fn resolve_dict(&mut self, num: u32) -> Result<Dict, PdfError> {
        match self.resolve(num)? {
            Object::Dict(d) | Object::Stream(d, _) => Ok(d),
            _ => Err(bad(format!("object {num} is not a dictionary"))),
        }
    }

    /// Loads page-tree node `num` as a dictionary without parsing its direct `/Kids` array,
    /// which is returned apart (see [`RawArray`]): the root of a long document lists every
    /// page, and finding one page needs only the kids up to it. A node held in an object
    /// stream, or whose /Kids is a reference, comes back whole.
    pub(crate) fn resolve_node(
        &mut self,
        num: u32,
    ) -> Result<(Dict, Option<DeferredKids>), PdfError> {
        if let Some(Entry::Offset(off, _)) = self.lookup(num, 0)
            && off < self.len
        {
            let found = self.window(off, |buf| {
                let mut lx = Lexer::new(buf, 0);
                let n = lx.parse_uint()?;
                lx.parse_uint()?;
                lx.expect_keyword(b"obj")?;
                lx.skip_ws();
                match buf.get(lx.pos..lx.pos + 2) {
                    Some(b"<<") => lx.pos += 2,
                    Some(_) => return Ok(None),
                    None => return Err(ParseError::Truncated),
                }
                let (dict, span) = lx.dict_body_deferring_kids()?;
                let kids = span.map(|s| (RawArray::new(buf[s.start..s.end].to_vec(), s.len), s.at));
                Ok(Some((n, dict, kids)))
            })?;
            if let Some((n, dict, kids)) = found {
                if n != u64::from(num) {
                    return Err(bad(format!("xref points object {num} at object {n}")));
                }
                return Ok((dict, kids));
            }
        }
        Ok((self.resolve_dict(num)?, None))
    }

    fn load_from_object_stream(
        &mut self,
        stm: u32,
        idx: u32,
        num: u32,
        from: usize,
    ) -> Result<Object, PdfError> {
        if !self.objstm_cache.contains_key(&stm) {
            let Some(Entry::Offset(off, _)) = self.lookup(stm, from) else {
                return Err(bad("object stream not found"));
            };
            let (_, obj) = self.read_indirect_at(off)?;
            let Object::Stream(dict, raw) = obj else {
                return Err(bad("object stream expected"));
            };
            let data = decode_stream(&dict, &raw)?;
            let n = dict
                .int(b"N")
                .ok_or_else(|| bad("object stream without /N"))?;
            let first = dict
                .int(b"First")
                .ok_or_else(|| bad("object stream without /First"))?;
            let first = usize::try_from(first).map_err(|_| bad("bad /First"))?;
            let mut lx = Lexer::new(&data, 0);
            let mut index = Vec::new();
            for _ in 0..n.clamp(0, 1_000_000) {
                let on = lx
                    .parse_uint()
                    .map_err(|_| bad("bad object stream header"))?;
                let oo = lx
                    .parse_uint()
                    .map_err(|_| bad("bad object stream header"))?;
                index.push((
                    u32::try_from(on).map_err(|_| bad("object number"))?,
                    first.saturating_add(oo as usize),
                ));
            }
            if self.objstm_cache.len() > 64 {
                self.objstm_cache.clear();
            }
            self.objstm_cache.insert(stm, (index, data));
        }
        let Some((index, data)) = self.objstm_cache.get(&stm) else {
            return Err(bad("object stream"));
        };
        let Some(&(on, at)) = index.get(idx as usize) else {
            return Err(bad("object stream index"));
        };
        if on != num || at >= data.len() {
            return Err(bad("object stream entry mismatch"));
        }
        let mut padded = data.clone();
        padded.push(b' ');
        Lexer::new(&padded, at)
            .parse_object()
            .map_err(|_| bad("bad object in object stream"))
    }
}

/// Parses a classic table (`buf` starts at `xref`) whose entry lines are all in the standard
/// 20-byte form, keeping the lines undecoded; `None` when some line is not in that form (or
/// there are many subsections, where finding an entry would mean a long scan).
fn raw_table(buf: &[u8]) -> Result<Option<(Entries, Dict)>, ParseError> {
    const MAX_RAW_SUBSECTIONS: usize = 32;
    let mut lx = Lexer::new(buf, 0);
    lx.expect_keyword(b"xref")?;
    let mut lines = Vec::new();
    let mut subsections = Vec::new();
    loop {
        lx.skip_ws();
        if buf[lx.pos..].starts_with(b"trailer") {
            lx.pos += 7;
            break;
        }
        if subsections.len() == MAX_RAW_SUBSECTIONS {
            return Ok(None);
        }
        let start = lx.parse_uint()?;
        let count = lx.parse_uint()?;
        if count > 10_000_000 || start > u64::from(u32::MAX) {
            return Err(ParseError::Syntax("xref subsection too large"));
        }
        if count > 0 && start + (count - 1) > u64::from(u32::MAX) {
            return Err(ParseError::Syntax("object number"));
        }
        lx.skip_ws();
        let bytes = (count * 20) as usize;
        let available = buf.len().saturating_sub(lx.pos).min(bytes);
        let here = &buf[lx.pos..lx.pos + available];
        if !here.chunks_exact(20).all(is_fixed_form) {
            return Ok(None);
        }
        if available < bytes {
            // The lines so far are in the fixed form: the window is short, not the table.
            return Err(ParseError::Truncated);
        }
        subsections.push((start as u32, count as u32, lines.len() / 20));
        lines.extend_from_slice(here);
        lx.pos += bytes;
    }
    match lx.parse_object()? {
        Object::Dict(d) => Ok(Some((
            Entries {
                items: Vec::new(),
                table: Some(RawTable { lines, subsections }),
            },
            d,
        ))),
        _ => Err(ParseError::Syntax("trailer is not a dictionary")),
    }
}

/// Parses a classic table (`buf` starts at `xref`) entry by entry, in whatever layout.
fn decoded_table(buf: &[u8]) -> Result<(Entries, Dict), ParseError> {
    let mut lx = Lexer::new(buf, 0);
    lx.expect_keyword(b"xref")?;
    let mut entries = Entries::default();
    loop {
        lx.skip_ws();
        if buf[lx.pos..].starts_with(b"trailer") {
            lx.pos += 7;
            break;
        }
        let start = lx.parse_uint()?;
        let count = lx.parse_uint()?;
        if count > 10_000_000 || start > u64::from(u32::MAX) {
            return Err(ParseError::Syntax("xref subsection too large"));
        }
        entries.reserve(count.min(1 << 20) as usize);
        for i in 0..count {
            // Entries are fixed 20-byte lines ("oooooooooo ggggg n" and a two-byte end of
            // line): read those directly, and anything else token by token.
            lx.skip_ws();
            if let Some(e) = buf.get(lx.pos..lx.pos + 20).and_then(fixed_xref_entry) {
                let num =
                    u32::try_from(start + i).map_err(|_| ParseError::Syntax("object number"))?;
                entries.push(num, e);
                lx.pos += 20;
                continue;
            }
            let o = lx.parse_uint()?;
            let g = lx.parse_uint()?;
            let t = lx.token()?;
            let num = u32::try_from(start + i).map_err(|_| ParseError::Syntax("object number"))?;
            let e = match t {
                b"n" => Entry::Offset(o, u16::try_from(g).unwrap_or(u16::MAX)),
                b"f" => Entry::Free,
                _ => return Err(ParseError::Syntax("bad xref entry")),
            };
            entries.push(num, e);
        }
    }
    entries.finish();
    match lx.parse_object()? {
        Object::Dict(d) => Ok((entries, d)),
        _ => Err(ParseError::Syntax("trailer is not a dictionary")),
    }
}

/// Whether `line` is a classic xref entry in its standard 20-byte form: what
/// [`fixed_xref_entry`] decodes, checked without decoding (a long table's every line is
/// checked when it is read, and only a few are decoded).
fn is_fixed_form(line: &[u8]) -> bool {
    /// Whether all eight bytes of `x` are ASCII digits: each has 3 as its high nibble, and
    /// adding 6 to its low nibble does not carry into the high one (a nibble above 9 would).
    fn digits(x: u64) -> bool {
        const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
        const THREES: u64 = 0x3030_3030_3030_3030;
        x & HIGH == THREES && (x + 0x0606_0606_0606_0606) & HIGH == THREES
    }
    let (Some(a), Some(b)) = (line.get(..8), line.get(8..16)) else {
        return false;
    };
    let (Ok(a), Ok(b)) = (<[u8; 8]>::try_from(a), <[u8; 8]>::try_from(b)) else {
        return false;
    };
    // Bytes 0-9 and 11-15 are digits, byte 10 a space: checked eight at a time (every line
    // of a long table is checked when it is read), the space swapped for a `0` first.
    line.len() == 20
        && line[10] == b' '
        && digits(u64::from_le_bytes(a))
        && digits(u64::from_le_bytes(b) ^ (u64::from(b' ' ^ b'0') << 16))
        && line[16] == b' '
        && matches!(line[17], b'n' | b'f')
        && object::is_white(line[18])
        && object::is_white(line[19])
}

/// One classic xref entry in its standard 20-byte form, or `None` when it is not in that form.
fn fixed_xref_entry(line: &[u8]) -> Option<Entry> {
    if line.len() != 20 || line[10] != b' ' || line[16] != b' ' {
        return None;
    }
    if !object::is_white(line[18]) || !object::is_white(line[19]) {
        return None;
    }
    let offset = object::parse_u64(&line[..10])?;
    let generation = object::parse_u64(&line[11..16])?;
    match line[17] {
        b'n' => Some(Entry::Offset(
            offset,
            u16::try_from(generation).unwrap_or(u16::MAX),
        )),
        b'f' => Some(Entry::Free),
        _ => None,
    }
}

/// Decodes a stream's data (FlateDecode with optional PNG predictors, or unfiltered).
pub(crate) fn decode_stream(dict: &Dict, raw: &[u8]) -> Result<Vec<u8>, PdfError> {
    let filter = match dict.get(b"Filter") {
        None => None,
        Some(Object::Name(n)) => Some(n.clone()),
        Some(Object::Array(a)) if a.is_empty() => None,
        Some(Object::Array(a)) if a.len() == 1 => match &a[0] {
            Object::Name(n) => Some(n.clone()),
            _ => return Err(bad("bad /Filter")),
        },
        _ => return Err(PdfError::Unsupported("filter chains")),
    };
    let decoded = match filter.as_deref() {
        None => raw.to_vec(),
        Some(b"FlateDecode") => {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(raw)
                .take(MAX_DECODED)
                .read_to_end(&mut out)
                .map_err(|e| bad(format!("bad Flate data: {e}")))?;
            out
        }
        Some(_) => {
            return Err(PdfError::Unsupported(
                "stream filters other than FlateDecode",
            ));
        }
    };
    let parms = match dict.get(b"DecodeParms") {
        Some(Object::Dict(d)) => Some(d),
        Some(Object::Array(a)) => a.first().and_then(|o| {
            if let Object::Dict(d) = o {
                Some(d)
            } else {
                None
            }
        }),
        _ => None,
    };
    let predictor = parms.and_then(|p| p.int(b"Predictor")).unwrap_or(1);
    if predictor < 10 {
        if predictor == 1 {
            return Ok(decoded);
        }
        return Err(PdfError::Unsupported("TIFF predictor"));
    }
    let parms = parms.ok_or_else(|| bad("predictor without parameters"))?;
    let columns = parms.int(b"Columns").unwrap_or(1);
    let colors = parms.int(b"Colors").unwrap_or(1);
    let bpc = parms.int(b"BitsPerComponent").unwrap_or(8);
    if !(1..=1 << 20).contains(&columns)
        || !(1..=32).contains(&colors)
        || !matches!(bpc, 1 | 2 | 4 | 8 | 16)
    {
        return Err(bad("bad predictor parameters"));
    }
    let bpp = ((colors * bpc + 7) / 8) as usize;
    let row = ((columns * colors * bpc + 7) / 8) as usize;
    png_unpredict(&decoded, row, bpp)
}

fn png_unpredict(data: &[u8], row: usize, bpp: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        if chunk.len() < row + 1 {
            break;
        }
        let (ft, src) = (chunk[0], &chunk[1..]);
        let mut cur = vec![0u8; row];
        for i in 0..row {
            let a = if i >= bpp { cur[i - bpp] } else { 0 };
            let b = prev[i];
            let c = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = src[i].wrapping_add(match ft {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                _ => return Err(bad("bad PNG predictor")),
            });
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

// The first byte is compared before the rest: comparing every window whole made finding
// `startxref` in a file's last 2 KiB a call to memcmp per byte.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    hay.windows(needle.len())
        .position(|w| w[0] == first && w == needle)
}

pub(crate) fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    hay.windows(needle.len())
        .rposition(|w| w[0] == first && w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One subsection: its first number and its entries, each `Some((offset, generation))` in
    /// use or `None` free.
    type Subsection = (u32, Vec<Option<(u64, u16)>>);

    /// A classic table, written with `eol` after each 18-byte line.
    fn table(subsections: &[Subsection], eol: &str) -> Vec<u8> {
        let mut t = String::from("xref\n");
        for (start, lines) in subsections {
            t.push_str(&format!("{start} {}\n", lines.len()));
            for l in lines {
                match l {
                    Some((o, g)) => t.push_str(&format!("{o:010} {g:05} n{eol}")),
                    None => t.push_str(&format!("0000000000 65535 f{eol}")),
                }
            }
        }
        t.push_str("trailer\n<< /Size 9 /Root 1 0 R >>\n");
        t.into_bytes()
    }

    fn raw(buf: &[u8]) -> Entries {
        raw_table(buf).expect("parses").expect("fixed form").0
    }

    fn eager(buf: &[u8]) -> Entries {
        decoded_table(buf).expect("parses").0
    }

    #[test]
    fn standard_lines_are_kept_raw_and_decoded_on_lookup() {
        let buf = table(
            &[
                (0, vec![None, Some((15, 0)), Some((80, 2))]),
                (10, vec![Some((200, 0))]),
            ],
            "\r\n",
        );
        let e = raw(&buf);
        assert!(e.table.is_some() && e.items.is_empty());
        assert_eq!(e.get(0), Some(Entry::Free));
        assert_eq!(e.get(1), Some(Entry::Offset(15, 0)));
        assert_eq!(e.get(2), Some(Entry::Offset(80, 2)));
        assert_eq!(e.get(3), None);
        assert_eq!(e.get(9), None);
        assert_eq!(e.get(10), Some(Entry::Offset(200, 0)));
        assert_eq!(e.get(11), None);
        assert_eq!(e.max_num(), Some(10));
        assert_eq!(e.decoded(), eager(&buf).decoded());
    }

    #[test]
    fn the_first_subsection_holding_a_number_wins() {
        let buf = table(
            &[(4, vec![Some((10, 0))]), (3, vec![None, Some((99, 0))])],
            " \n",
        );
        assert_eq!(raw(&buf).get(4), Some(Entry::Offset(10, 0)));
        assert_eq!(eager(&buf).get(4), Some(Entry::Offset(10, 0)));
        assert_eq!(raw(&buf).get(3), Some(Entry::Free));
    }

    #[test]
    fn other_layouts_and_bad_lines_are_not_kept_raw() {
        // One-byte ends of line: 19-byte lines.
        let short = table(&[(0, vec![None, Some((15, 0)), Some((80, 0))])], "\n");
        assert!(raw_table(&short).expect("parses").is_none());
        assert_eq!(eager(&short).get(2), Some(Entry::Offset(80, 0)));
        // A letter among the digits: neither reading accepts it.
        let mut bad = table(&[(0, vec![None, Some((15, 0))])], "\r\n");
        let at = find(&bad, b"0000000015").expect("line");
        bad[at + 3] = b'x';
        assert!(raw_table(&bad).expect("parses").is_none());
        assert!(decoded_table(&bad).is_err());
        // Many subsections: decoded.
        let many: Vec<_> = (0..40)
            .map(|i| (i * 2, vec![Some((u64::from(i), 0))]))
            .collect();
        assert!(raw_table(&table(&many, "\r\n")).expect("parses").is_none());
    }

    #[test]
    fn a_window_ending_inside_the_lines_asks_for_more() {
        let buf = table(&[(0, vec![Some((1, 0)); 50])], "\r\n");
        let cut = &buf[..300];
        assert!(matches!(raw_table(cut), Err(ParseError::Truncated)));
    }

    #[test]
    fn numbers_past_the_last_object_number_are_refused() {
        let buf = format!(
            "xref\n{} 2\n0000000010 00000 n\r\n0000000020 00000 n\r\ntrailer\n<< >>\n",
            u32::MAX
        );
        assert!(raw_table(buf.as_bytes()).is_err());
        assert!(decoded_table(buf.as_bytes()).is_err());
    }

    #[test]
    fn page_tree_nodes_are_read_with_their_kids_deferred() {
        let pdf = crate::sample::classic(
            &[
                "<< /Type /Catalog /Pages 2 0 R >>",
                "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
                "<< /Type /Page /Parent 2 0 R >>",
                "<< /Type /Page /Parent 2 0 R /Kids 9 0 R >>",
            ],
            "",
        );
        let mut r = Reader::open(pdf.as_slice()).expect("opens");
        let (d, kids) = r.resolve_node(2).expect("node");
        let (kids, at) = kids.expect("the direct /Kids is deferred");
        assert_eq!((kids.len(), at), (2, 1));
        assert_eq!(kids.get(1), Ok(Some(Object::Ref(4, 0))));
        assert_eq!(d.get(b"Kids"), None);
        assert_eq!(d.int(b"Count"), Some(2));
        // Without a direct /Kids the node comes back whole, as `resolve_dict` reads it.
        for num in [3, 4] {
            let (d, kids) = r.resolve_node(num).expect("node");
            assert!(kids.is_none());
            assert_eq!(d, r.resolve_dict(num).expect("dict"));
        }
        // An absent object is refused as `resolve_dict` refuses it.
        assert!(r.resolve_node(7).is_err() && r.resolve_dict(7).is_err());
    }

    #[test]
    fn hybrid_entries_fill_only_what_the_table_lacks() {
        let mut e = raw(&table(&[(0, vec![None, Some((15, 0))])], "\r\n"));
        let mut stream = Entries::default();
        stream.push(1, Entry::InStream(7, 0));
        stream.push(5, Entry::InStream(7, 1));
        stream.finish();
        e.add_missing(stream);
        assert_eq!(e.get(1), Some(Entry::Offset(15, 0)));
        assert_eq!(e.get(5), Some(Entry::InStream(7, 1)));
        assert_eq!(e.max_num(), Some(5));
        assert_eq!(
            e.decoded(),
            vec![
                (0, Entry::Free),
                (1, Entry::Offset(15, 0)),
                (5, Entry::InStream(7, 1))
            ]
        );
    }

    #[test]
    fn subsection_limits_are_checked_before_the_lines() {
        let max = u32::MAX;
        // Up to the last object number: accepted, and that number is found.
        let last = format!(
            "xref\n{} 2\n0000000010 00000 n\r\n0000000020 00000 n\r\ntrailer\n<< >>\n",
            max - 1
        );
        assert_eq!(raw(last.as_bytes()).get(max), Some(Entry::Offset(20, 0)));
        let one = format!("xref\n{max} 1\n0000000010 00000 n\r\ntrailer\n<< >>\n");
        assert_eq!(raw(one.as_bytes()).get(max), Some(Entry::Offset(10, 0)));
        // A first number past it, even for an empty subsection: refused.
        let past = format!("xref\n{} 0\ntrailer\n<< >>\n", u64::from(max) + 1);
        assert!(matches!(
            raw_table(past.as_bytes()),
            Err(ParseError::Syntax(_))
        ));
        // Ten million lines at most: more is refused at once, that many is read (here the
        // window ends inside them, so more is asked for).
        let lines = "0000000010 00000 n\r\n".repeat(3);
        let many = format!("xref\n0 10000001\n{lines}");
        assert!(matches!(
            raw_table(many.as_bytes()),
            Err(ParseError::Syntax(_))
        ));
        let limit = format!("xref\n0 10000000\n{lines}");
        assert!(matches!(
            raw_table(limit.as_bytes()),
            Err(ParseError::Truncated)
        ));
    }

    #[test]
    fn a_line_off_the_fixed_form_is_not_read_as_one() {
        assert_eq!(
            fixed_xref_entry(b"0000000010 00000 n\r\n"),
            Some(Entry::Offset(10, 0))
        );
        for bad in [
            &b"0000000010x00000 n\r\n"[..],
            b"0000000010 00000xn\r\n",
            b"0000000010 00000 n\rx",
            b"0000000010 00000 x\r\n",
            b"0000000010 00000 n\r",
        ] {
            assert_eq!(
                fixed_xref_entry(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest! {
        /// The quick check of a line agrees with decoding it.
        #[test]
        fn the_fixed_form_check_agrees_with_decoding(line in "[0-9 nfx\r\n\t]{18,21}") {
            let line = line.as_bytes();
            prop_assert_eq!(is_fixed_form(line), fixed_xref_entry(line).is_some());
            let mut fixed = b"0000000010 00000 n\r\n".to_vec();
            let at = line.len() % 20;
            fixed[at] = line[0];
            prop_assert_eq!(is_fixed_form(&fixed), fixed_xref_entry(&fixed).is_some());
        }

        /// Any byte at any place of a valid line (the digit check works eight bytes at a
        /// time: a byte just outside '0'..='9', or with the high bit set, must still fail).
        #[test]
        fn any_byte_anywhere_in_a_line_is_judged_as_decoding_does(at in 0usize..20, byte in any::<u8>()) {
            let mut line = b"0123456789 01234 n\r\n".to_vec();
            line[at] = byte;
            prop_assert_eq!(is_fixed_form(&line), fixed_xref_entry(&line).is_some());
        }

        /// Kept raw or decoded, a table gives the same entry for every number.
        #[test]
        fn raw_and_decoded_tables_agree(
            subsections in proptest::collection::vec(
                (0u32..60, proptest::collection::vec(
                    proptest::option::of((0u64..9_999_999_999, 0u16..65_535)), 0..12)),
                1..6),
        ) {
            let buf = table(&subsections, "\r\n");
            let (r, e) = (raw(&buf), eager(&buf));
            for n in 0..80 {
                prop_assert_eq!(r.get(n), e.get(n), "object {}", n);
            }
            prop_assert_eq!(r.decoded(), e.decoded());
            prop_assert_eq!(r.max_num(), e.max_num());
        }
    }
}
