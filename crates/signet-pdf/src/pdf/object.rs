//! PDF objects: parsing from bytes and serialising back.

use std::fmt::Write as _;

/// A PDF object. Reals keep their original text so that rewritten objects stay byte-faithful.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Object {
    Null,
    Bool(bool),
    Int(i64),
    Real(Vec<u8>),
    Str(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Object>),
    Dict(Dict),
    Ref(u32, u16),
    /// A stream: its dictionary and its (still encoded) data.
    Stream(Dict, Vec<u8>),
}

/// A dictionary, keeping key order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Dict(pub Vec<(Vec<u8>, Object)>);

impl Dict {
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Object> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn set(&mut self, key: &[u8], value: Object) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_vec(), value)),
        }
    }

    /// [`Dict::set`] with a key the caller already owns (the parser's: no second copy).
    pub(crate) fn set_owned(&mut self, key: Vec<u8>, value: Object) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    #[allow(dead_code)]
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Object> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1)
    }

    pub(crate) fn int(&self, key: &[u8]) -> Option<i64> {
        match self.get(key) {
            Some(Object::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn name_is(&self, key: &[u8], name: &[u8]) -> bool {
        matches!(self.get(key), Some(Object::Name(n)) if n == name)
    }
}

/// Why parsing stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Ran out of input: a larger window may succeed.
    Truncated,
    /// Not valid PDF syntax.
    Syntax(&'static str),
}

pub(crate) type PResult<T> = Result<T, ParseError>;

const MAX_DEPTH: usize = 64;

/// Byte classes (PDF 32000 7.2.2), looked up rather than compared: the lexer asks for every
/// byte it scans.
const WHITE: u8 = 1;
const DELIM: u8 = 2;
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let white = b" \t\r\n\x0c\0";
    let mut i = 0;
    while i < white.len() {
        t[white[i] as usize] = WHITE;
        i += 1;
    }
    let delim = b"()<>[]{}/%";
    let mut i = 0;
    while i < delim.len() {
        t[delim[i] as usize] = DELIM;
        i += 1;
    }
    t
};

pub(crate) fn is_white(b: u8) -> bool {
    CLASS[b as usize] == WHITE
}

pub(crate) fn is_delim(b: u8) -> bool {
    CLASS[b as usize] == DELIM
}

/// Neither white space nor a delimiter: part of a token or a name.
fn is_regular(b: u8) -> bool {
    CLASS[b as usize] == 0
}

/// Where a dictionary's direct `/Kids` array lies in the window it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KidsSpan {
    /// From its `[` …
    pub start: usize,
    /// … to just after its `]`.
    pub end: usize,
    /// Its number of elements.
    pub len: usize,
    /// Its place among the dictionary's keys.
    pub at: usize,
}

/// An array kept as its text (a page-tree node's `/Kids`), its elements parsed when asked for.
#[derive(Debug, Clone)]
pub(crate) struct RawArray {
    /// From `[` to `]`.
    text: Vec<u8>,
    len: usize,
    /// The whole array, parsed once when an element far from the start is asked for.
    all: std::cell::OnceCell<Result<Vec<Object>, ParseError>>,
}

/// Elements up to this index are found by parsing those before them; later ones from the
/// whole array, parsed once (a loop over every page must not scan it again for each).
const RAW_ARRAY_WALK: usize = 32;

impl RawArray {
    /// The array whose text (`[` to `]`, as found by [`Lexer::skip_object`]) is `text`, with
    /// `len` elements.
    pub(crate) fn new(mut text: Vec<u8>, len: usize) -> Self {
        // As in the window it came from, something follows the `]` (a name ending in `#`
        // looks at the next two bytes): a space, which changes nothing else.
        text.push(b' ');
        Self {
            text,
            len,
            all: std::cell::OnceCell::new(),
        }
    }

    /// Its number of elements, as [`Lexer::skip_object`] counted them.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Element `i`, or `None` past the end.
    pub(crate) fn get(&self, i: usize) -> PResult<Option<Object>> {
        if i >= self.len {
            return Ok(None);
        }
        if i >= RAW_ARRAY_WALK {
            return Ok(self.all()?.get(i).cloned());
        }
        let mut lx = Lexer::new(&self.text, 1);
        for n in 0..=i {
            lx.skip_ws();
            if lx.peek()? == b']' {
                return Ok(None);
            }
            let item = lx.parse_depth(1)?;
            if n == i {
                return Ok(Some(item));
            }
        }
        Ok(None)
    }

    /// Every element.
    pub(crate) fn all(&self) -> PResult<&[Object]> {
        let all = self
            .all
            .get_or_init(|| match Lexer::new(&self.text, 0).parse_object()? {
                Object::Array(a) => Ok(a),
                _ => Err(ParseError::Syntax("not an array")),
            });
        all.as_deref().map_err(|e| *e)
    }
}

/// A cursor over a byte window.
pub(crate) struct Lexer<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos }
    }

    pub(crate) fn skip_ws(&mut self) {
        while let Some(&b) = self.buf.get(self.pos) {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(&c) = self.buf.get(self.pos) {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> PResult<u8> {
        self.buf.get(self.pos).copied().ok_or(ParseError::Truncated)
    }

    /// A regular token (keyword or number), after whitespace.
    pub(crate) fn token(&mut self) -> PResult<&'a [u8]> {
        self.skip_ws();
        let start = self.pos;
        while let Some(&b) = self.buf.get(self.pos) {
            if !is_regular(b) {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return if self.pos >= self.buf.len() {
                Err(ParseError::Truncated)
            } else {
                Err(ParseError::Syntax("expected a token"))
            };
        }
        if self.pos >= self.buf.len() {
            // A token touching the end of the window may continue past it.
            return Err(ParseError::Truncated);
        }
        Ok(&self.buf[start..self.pos])
    }

    pub(crate) fn expect_keyword(&mut self, kw: &[u8]) -> PResult<()> {
        let save = self.pos;
        match self.token() {
            Ok(t) if t == kw => Ok(()),
            Err(ParseError::Truncated) => Err(ParseError::Truncated),
            _ => {
                self.pos = save;
                Err(ParseError::Syntax("unexpected keyword"))
            }
        }
    }

    pub(crate) fn parse_uint(&mut self) -> PResult<u64> {
        let t = self.token()?;
        parse_u64(t).ok_or(ParseError::Syntax("expected an unsigned integer"))
    }

    pub(crate) fn parse_object(&mut self) -> PResult<Object> {
        self.parse_depth(0)
    }

    fn parse_depth(&mut self, depth: usize) -> PResult<Object> {
        if depth > MAX_DEPTH {
            return Err(ParseError::Syntax("nesting too deep"));
        }
        self.skip_ws();
        match self.peek()? {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name_body()?))
            }
            b'(' => Ok(Object::Str(self.literal_string()?)),
            b'<' => {
                if self.buf.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    let d = self.dict_body(depth)?;
                    Ok(Object::Dict(d))
                } else {
                    Ok(Object::Str(self.hex_string()?))
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek()? == b']' {
                        self.pos += 1;
                        return Ok(Object::Array(items));
                    }
                    items.push(self.parse_depth(depth + 1)?);
                }
            }
            _ => {
                let t = self.token()?;
                match t {
                    b"true" => Ok(Object::Bool(true)),
                    b"false" => Ok(Object::Bool(false)),
                    b"null" => Ok(Object::Null),
                    _ => self.number_or_ref(t),
                }
            }
        }
    }

    fn number_or_ref(&mut self, t: &'a [u8]) -> PResult<Object> {
        if let Some(n) = parse_u64(t) {
            // Look ahead for "G R".
            let save = self.pos;
            if let (Ok(Some(g)), Ok(b"R")) = (self.token().map(parse_u64), self.token()) {
                {
                    let num = u32::try_from(n)
                        .map_err(|_| ParseError::Syntax("object number too large"))?;
                    let generation =
                        u16::try_from(g).map_err(|_| ParseError::Syntax("generation too large"))?;
                    return Ok(Object::Ref(num, generation));
                }
            }
            self.pos = save;
        }
        if let Some(i) = std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
        {
            return Ok(Object::Int(i));
        }
        let ok = !t.is_empty()
            && t.iter()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
            && t.iter().any(u8::is_ascii_digit);
        if ok {
            Ok(Object::Real(t.to_vec()))
        } else {
            Err(ParseError::Syntax("unknown token"))
        }
    }

    /// Consumes the `>>` that ends a dictionary (the first `>` already seen).
    fn dict_end(&mut self) -> PResult<()> {
        if self
            .buf
            .get(self.pos + 1)
            .copied()
            .ok_or(ParseError::Truncated)?
            != b'>'
        {
            return Err(ParseError::Syntax("bad dictionary end"));
        }
        self.pos += 2;
        Ok(())
    }

    fn dict_body(&mut self, depth: usize) -> PResult<Dict> {
        let mut d = Dict::default();
        loop {
            self.skip_ws();
            match self.peek()? {
                b'>' => {
                    self.dict_end()?;
                    return Ok(d);
                }
                b'/' => {
                    self.pos += 1;
                    let k = self.name_body()?;
                    let v = self.parse_depth(depth + 1)?;
                    d.set_owned(k, v);
                }
                _ => return Err(ParseError::Syntax("dictionary key is not a name")),
            }
        }
    }

    /// A dictionary's body (after `<<`) whose direct `/Kids` array is not parsed: the array is
    /// skipped ([`Lexer::skip_object`]) and where it lies is returned instead, so that a
    /// page-tree node with thousands of kids costs a scan rather than thousands of objects.
    /// Any other value of `/Kids` (a reference) stays in the dictionary.
    pub(crate) fn dict_body_deferring_kids(&mut self) -> PResult<(Dict, Option<KidsSpan>)> {
        let mut d = Dict::default();
        let mut span: Option<KidsSpan> = None;
        loop {
            self.skip_ws();
            match self.peek()? {
                b'>' => {
                    self.dict_end()?;
                    return Ok((d, span));
                }
                b'/' => {
                    self.pos += 1;
                    let k = self.name_body()?;
                    self.skip_ws();
                    if k == b"Kids" && self.peek()? == b'[' {
                        let start = self.pos;
                        let len = self.skip_object()?;
                        // Where the key stands among the others, as `set` would keep it.
                        let at = match (&span, d.0.iter().position(|(x, _)| x == b"Kids")) {
                            (Some(s), _) => s.at,
                            (None, Some(i)) => {
                                d.0.remove(i);
                                i
                            }
                            (None, None) => d.0.len(),
                        };
                        span = Some(KidsSpan {
                            start,
                            end: self.pos,
                            len,
                            at,
                        });
                        continue;
                    }
                    let v = self.parse_depth(1)?;
                    match span.take() {
                        Some(s) if k == b"Kids" => d.0.insert(s.at, (k, v)),
                        other => {
                            span = other;
                            d.set_owned(k, v);
                        }
                    }
                }
                _ => return Err(ParseError::Syntax("dictionary key is not a name")),
            }
        }
    }

    /// Skips one object without building it, checking its structure as [`Lexer::parse_object`]
    /// would (brackets, dictionary keys and ends, strings) but not what its tokens say. Returns
    /// its number of elements if it is an array (a reference `N G R` counts once), else 1.
    pub(crate) fn skip_object(&mut self) -> PResult<usize> {
        self.skip_ws();
        if self.peek()? != b'[' {
            self.skip_depth(0)?;
            return Ok(1);
        }
        self.pos += 1;
        // Every element, and every `R` among the tokens (each closes a reference that counted
        // as three elements).
        if let Some(n) = self.skip_plain_array() {
            return Ok(n);
        }
        let (mut items, mut refs) = (0usize, 0usize);
        loop {
            let b = self.peek()?;
            if is_white(b) {
                // A page tree's kids are mostly white space and digits: one byte at a time
                // here, without the general white-space and token paths.
                self.pos += 1;
                continue;
            }
            if is_regular(b) {
                let start = self.pos;
                let rest = &self.buf[start..];
                let len = rest.iter().position(|&c| !is_regular(c));
                // A token touching the end of the window may continue past it.
                let len = len.ok_or(ParseError::Truncated)?;
                if &rest[..len] == b"R" {
                    refs += 1;
                }
                self.pos += len;
                items += 1;
                continue;
            }
            match b {
                b']' => {
                    self.pos += 1;
                    return Ok(items.saturating_sub(2 * refs));
                }
                b'%' => self.skip_ws(),
                _ => {
                    self.skip_depth(1)?;
                    items += 1;
                }
            }
        }
    }

    /// The common case of [`Lexer::skip_object`] (after the `[`), in one pass: an array of
    /// plain tokens and white space up to its `]` (a page tree's references). `None`, with
    /// nothing consumed, at anything else (a nested object, a comment, the window's end).
    fn skip_plain_array(&mut self) -> Option<usize> {
        let (mut items, mut refs) = (0usize, 0usize);
        // Where the token being read started, if one is.
        let mut token: Option<usize> = None;
        for (i, &b) in self.buf.iter().enumerate().skip(self.pos) {
            if is_regular(b) {
                if token.is_none() {
                    items += 1;
                    token = Some(i);
                }
                continue;
            }
            if is_delim(b) && b != b']' {
                return None;
            }
            // A token ends here.
            if token
                .take()
                .is_some_and(|t| i - t == 1 && self.buf[t] == b'R')
            {
                refs += 1;
            }
            if b == b']' {
                self.pos = i + 1;
                return Some(items.saturating_sub(2 * refs));
            }
        }
        None
    }

    fn skip_depth(&mut self, depth: usize) -> PResult<()> {
        if depth > MAX_DEPTH {
            return Err(ParseError::Syntax("nesting too deep"));
        }
        self.skip_ws();
        match self.peek()? {
            b'/' => {
                self.pos += 1;
                self.skip_name()
            }
            b'(' => self.skip_literal_string(),
            b'<' if self.buf.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b'>' => {
                            if self.buf.get(self.pos + 1).ok_or(ParseError::Truncated)? != &b'>' {
                                return Err(ParseError::Syntax("bad dictionary end"));
                            }
                            self.pos += 2;
                            return Ok(());
                        }
                        b'/' => {
                            self.pos += 1;
                            self.skip_name()?;
                            self.skip_depth(depth + 1)?;
                        }
                        _ => return Err(ParseError::Syntax("dictionary key is not a name")),
                    }
                }
            }
            b'<' => self.skip_hex_string(),
            b'[' => {
                self.pos += 1;
                loop {
                    self.skip_ws();
                    if self.peek()? == b']' {
                        self.pos += 1;
                        return Ok(());
                    }
                    self.skip_depth(depth + 1)?;
                }
            }
            _ => {
                // A reference is three tokens: look ahead as `number_or_ref` does.
                if parse_u64(self.token()?).is_some() {
                    let save = self.pos;
                    if !matches!(
                        (self.token().map(parse_u64), self.token()),
                        (Ok(Some(_)), Ok(b"R"))
                    ) {
                        self.pos = save;
                    }
                }
                Ok(())
            }
        }
    }

    fn skip_name(&mut self) -> PResult<()> {
        loop {
            if !is_regular(self.peek()?) {
                return Ok(());
            }
            self.pos += 1;
        }
    }

    fn skip_literal_string(&mut self) -> PResult<()> {
        self.pos += 1;
        let mut depth = 1usize;
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                b'\\' => {
                    self.peek()?;
                    self.pos += 1;
                }
                _ => {}
            }
        }
    }

    fn skip_hex_string(&mut self) -> PResult<()> {
        self.pos += 1;
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'>' => return Ok(()),
                _ if is_white(b) || b.is_ascii_hexdigit() => {}
                _ => return Err(ParseError::Syntax("bad hex string")),
            }
        }
    }

    fn name_body(&mut self) -> PResult<Vec<u8>> {
        // Most names have no `#` escape: copied in one piece, not grown byte by byte.
        let rest = &self.buf[self.pos.min(self.buf.len())..];
        if let Some(len) = rest.iter().position(|&b| !is_regular(b) || b == b'#')
            && !is_regular(rest[len])
        {
            self.pos += len;
            return Ok(rest[..len].to_vec());
        }
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            if !is_regular(b) {
                return Ok(out);
            }
            self.pos += 1;
            if b == b'#' {
                let h = self
                    .buf
                    .get(self.pos..self.pos + 2)
                    .ok_or(ParseError::Truncated)?;
                let v = std::str::from_utf8(h)
                    .ok()
                    .and_then(|s| u8::from_str_radix(s, 16).ok());
                match v {
                    Some(v) => {
                        out.push(v);
                        self.pos += 2;
                    }
                    None => out.push(b'#'),
                }
            } else {
                out.push(b);
            }
        }
    }

    fn literal_string(&mut self) -> PResult<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut depth = 1usize;
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(out);
                    }
                    out.push(b);
                }
                b'\\' => {
                    let e = self.peek()?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.buf.get(self.pos) == Some(&b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.buf.get(self.pos) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }

    fn hex_string(&mut self) -> PResult<Vec<u8>> {
        self.pos += 1;
        let mut nibbles = Vec::new();
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'>' => break,
                _ if is_white(b) => {}
                _ => nibbles.push(match b {
                    b'0'..=b'9' => b - b'0',
                    b'a'..=b'f' => b - b'a' + 10,
                    b'A'..=b'F' => b - b'A' + 10,
                    _ => return Err(ParseError::Syntax("bad hex string")),
                }),
            }
        }
        if nibbles.len() % 2 == 1 {
            nibbles.push(0);
        }
        Ok(nibbles.chunks(2).map(|c| c[0] << 4 | c[1]).collect())
    }
}

pub(crate) fn parse_u64(t: &[u8]) -> Option<u64> {
    if t.is_empty() || t.len() > 19 {
        return None;
    }
    // At most 19 digits: the value fits in a u64 without overflow checks.
    t.iter().try_fold(0u64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

/// Serialises an object (streams are written by the caller).
pub(crate) fn write_object(out: &mut Vec<u8>, obj: &Object) {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Int(i) => {
            use std::io::Write as _;
            // Writing into a vector cannot fail.
            let _ = write!(out, "{i}");
        }
        Object::Real(r) => out.extend_from_slice(r),
        Object::Str(s) => write_string(out, s),
        Object::Name(n) => write_name(out, n),
        Object::Array(items) => {
            out.push(b'[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(out, it);
            }
            out.push(b']');
        }
        Object::Dict(d) | Object::Stream(d, _) => write_dict(out, d),
        Object::Ref(n, g) => {
            use std::io::Write as _;
            // Writing into a vector cannot fail.
            let _ = write!(out, "{n} {g} R");
        }
    }
}

pub(crate) fn write_dict(out: &mut Vec<u8>, d: &Dict) {
    out.extend_from_slice(b"<<");
    for (k, v) in &d.0 {
        write_name(out, k);
        out.push(b' ');
        write_object(out, v);
    }
    out.extend_from_slice(b">>");
}

pub(crate) fn write_name(out: &mut Vec<u8>, n: &[u8]) {
    out.push(b'/');
    for &b in n {
        if b <= b' ' || b >= 0x7f || b == b'#' || is_delim(b) {
            let mut s = String::new();
            let _ = write!(s, "#{b:02X}");
            out.extend_from_slice(s.as_bytes());
        } else {
            out.push(b);
        }
    }
}

pub(crate) fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter().all(|b| (0x20..0x7f).contains(b)) {
        out.push(b'(');
        for &b in s {
            if matches!(b, b'(' | b')' | b'\\') {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b')');
    } else {
        out.push(b'<');
        out.extend_from_slice(hex::encode(s).as_bytes());
        out.push(b'>');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn roundtrip() {
        let src = b"<< /Type /Catalog /Pages 2 0 R /A [1 2.5 -3 (a\\(b\\)) <414243> true null /N#20x] /D << /K 0 >> >> ";
        let obj = Lexer::new(src, 0).parse_object().expect("valid");
        let mut out = Vec::new();
        write_object(&mut out, &obj);
        let again = Lexer::new(&[out.as_slice(), b" "].concat(), 0)
            .parse_object()
            .expect("valid");
        assert_eq!(obj, again);
        let Object::Dict(d) = obj else {
            panic!("not a dict")
        };
        assert_eq!(d.get(b"Pages"), Some(&Object::Ref(2, 0)));
    }

    #[test]
    fn garbage_is_an_error() {
        for src in [&b"<< /A"[..], b"[[[[", b"<< 1 2 >>", b"(abc", b"<zz>", b")"] {
            assert!(Lexer::new(src, 0).parse_object().is_err());
        }
        let deep = vec![b'['; 10_000];
        assert!(Lexer::new(&deep, 0).parse_object().is_err());
    }

    /// A deferred array as `dict_body_deferring_kids` would keep it.
    fn raw_array(text: &[u8]) -> PResult<RawArray> {
        let mut lx = Lexer::new(text, 0);
        lx.skip_ws();
        let start = lx.pos;
        let len = lx.skip_object()?;
        Ok(RawArray::new(text[start..lx.pos].to_vec(), len))
    }

    /// Arbitrary objects, written with varied white space, comments and string escapes.
    fn any_object() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            (0u32..100_000, 0u16..3).prop_map(|(n, g)| format!("{n} {g} R")),
            (0u32..100_000, 0u16..3).prop_map(|(n, g)| format!("{n}\n{g}\rR")),
            any::<i32>().prop_map(|i| i.to_string()),
            (-999i32..999, 0u32..999).prop_map(|(a, b)| format!("{a}.{b}")),
            "[a-zA-Z#0-9]{0,6}".prop_map(|n| format!("/{n}")),
            "[a-z()\\\\ ]{0,8}".prop_map(|t| {
                // Balanced or escaped parentheses, as a literal string must have them.
                let mut out = String::from("(");
                for c in t.chars() {
                    match c {
                        '(' | ')' => {
                            out.push('\\');
                            out.push(c);
                        }
                        '\\' => out.push_str("\\\\"),
                        _ => out.push(c),
                    }
                }
                out.push_str("(x))");
                out
            }),
            "[0-9a-fA-F ]{0,8}".prop_map(|h| format!("<{h}>")),
            Just("true".to_string()),
            Just("null".to_string()),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6)
                    .prop_map(|items| format!("[{}]", items.join(" "))),
                proptest::collection::vec(("[A-Za-z]{1,4}", inner), 0..4).prop_map(|kv| {
                    let body: Vec<String> =
                        kv.into_iter().map(|(k, v)| format!("/{k} {v}")).collect();
                    format!("<<{}>>", body.join("%c\n"))
                }),
            ]
        })
    }

    proptest! {
        /// Kept as text, an array gives the same number of elements and the same element at
        /// every index (near the start, found by walking; further on, from the whole parse) as
        /// parsing it whole.
        #[test]
        fn deferred_arrays_agree_with_the_full_parse(
            items in proptest::collection::vec(any_object(), 0..70),
            sep in prop_oneof![Just(" "), Just("\n"), Just("  %note\r\n")],
        ) {
            let text = format!("[{}] ", items.join(sep));
            let Ok(Object::Array(full)) = Lexer::new(text.as_bytes(), 0).parse_object() else {
                panic!("generated arrays parse: {text}");
            };
            let raw = raw_array(text.as_bytes()).expect("skipped");
            prop_assert_eq!(raw.len(), full.len());
            for i in 0..=full.len() {
                prop_assert_eq!(raw.get(i).expect("element"), full.get(i).cloned(), "index {}", i);
            }
            prop_assert_eq!(raw.all().expect("all"), full.as_slice());
        }

        /// On any input, skipping is never stricter than parsing (a document that parsed before
        /// still does) and, where both succeed, they agree; nothing panics.
        #[test]
        fn skipping_malformed_arrays_is_never_stricter(
            text in prop_oneof![
                "\\[[0-9R <>/()\\[\\]a-z%\n\\\\]{0,40}\\] ",
                // A valid array with one byte changed to a delimiter, a digit or `R`.
                (proptest::collection::vec(any_object(), 0..12), any::<usize>(), 0usize..12)
                    .prop_map(|(items, at, with)| {
                        let mut t = format!("[{}] ", items.join(" ")).into_bytes();
                        let at = at % t.len();
                        t[at] = b"[]()<>/R 0%\\"[with];
                        String::from_utf8_lossy(&t).into_owned()
                    }),
            ],
        ) {
            let full = Lexer::new(text.as_bytes(), 0).parse_object();
            let raw = raw_array(text.as_bytes());
            if let Ok(Object::Array(full)) = full {
                let raw = raw.expect("skips what parses");
                prop_assert_eq!(raw.len(), full.len());
                for i in 0..=full.len() {
                    prop_assert_eq!(raw.get(i).expect("element"), full.get(i).cloned());
                }
            } else if let Ok(raw) = raw {
                for i in 0..raw.len() {
                    let _ = raw.get(i);
                }
            }
        }
    }

    #[test]
    fn a_plain_array_is_skipped_in_one_pass_and_anything_else_is_left_alone() {
        // (text after the `[`, elements, where the lexer stops)
        for (text, n, end) in [
            (&b"1 0 R 22 0 R]x"[..], 2, 13),
            (b"RR 1 0 R]", 2, 9),
            (b"\n4\r0\tR  ]", 1, 9),
            (b"]", 0, 1),
            (b"1 2 3]", 3, 6),
        ] {
            let mut lx = Lexer::new(text, 0);
            assert_eq!(
                lx.skip_plain_array(),
                Some(n),
                "{}",
                String::from_utf8_lossy(text)
            );
            assert_eq!(lx.pos, end);
        }
        // A nested object, a string, a comment, or no `]` in the window: not for this path,
        // and nothing consumed.
        for text in [&b"1 0 R [2]]"[..], b"1 (a]) ]", b"1 %c]\n]", b"1 0 R 2 0"] {
            let mut lx = Lexer::new(text, 0);
            assert_eq!(
                lx.skip_plain_array(),
                None,
                "{}",
                String::from_utf8_lossy(text)
            );
            assert_eq!(lx.pos, 0);
        }
    }

    #[test]
    fn skipping_and_parsing_refuse_the_same_nesting_depth() {
        for levels in 60..70 {
            let text = format!("{}{} ", "[".repeat(levels), "]".repeat(levels));
            let parsed = Lexer::new(text.as_bytes(), 0).parse_object().is_ok();
            let skipped = Lexer::new(text.as_bytes(), 0).skip_object().is_ok();
            assert_eq!(parsed, skipped, "{levels} levels");
        }
        let deep = format!("{}{} ", "[".repeat(66), "]".repeat(66));
        assert!(Lexer::new(deep.as_bytes(), 0).skip_object().is_err());
        // Dictionaries nested as values count as levels too.
        for levels in 60..70 {
            let text = format!("[{}1{}] ", "<</A ".repeat(levels), ">>".repeat(levels));
            let parsed = Lexer::new(text.as_bytes(), 0).parse_object().is_ok();
            let skipped = Lexer::new(text.as_bytes(), 0).skip_object().is_ok();
            assert_eq!(parsed, skipped, "{levels} dictionaries");
        }
    }

    #[test]
    fn a_node_keeps_its_other_keys_and_the_place_of_its_kids() {
        let src = b"/Type /Pages /Kids [3 0 R 4 0 R /x (a]b)] /Count 2 /Kids [5 0 R] >> ";
        let mut lx = Lexer::new(src, 0);
        let (d, span) = lx.dict_body_deferring_kids().expect("parses");
        let span = span.expect("deferred");
        assert_eq!(&src[span.start..span.end], b"[5 0 R]");
        assert_eq!(span.len, 1);
        // The key given twice keeps its first place, as `Dict::set` keeps it.
        assert_eq!(span.at, 1);
        let keys: Vec<&[u8]> = d.0.iter().map(|(k, _)| k.as_slice()).collect();
        assert_eq!(keys, [&b"Type"[..], b"Count"]);
        // A /Kids by reference stays in the dictionary.
        let src = b"/Kids 7 0 R /Count 3 >> ";
        let (d, span) = Lexer::new(src, 0)
            .dict_body_deferring_kids()
            .expect("parses");
        assert!(span.is_none());
        assert_eq!(d.get(b"Kids"), Some(&Object::Ref(7, 0)));
        // A direct array after a reference replaces it, in its place.
        let src = b"/Kids 7 0 R /Count 3 /Kids [1 0 R] >> ";
        let (d, span) = Lexer::new(src, 0)
            .dict_body_deferring_kids()
            .expect("parses");
        assert_eq!(span.map(|s| (s.at, s.len)), Some((0, 1)));
        assert_eq!(d.get(b"Kids"), None);
        // A reference after a direct array replaces it too, in its place, and nothing stays
        // deferred.
        let src = b"/Kids [1 0 R] /Count 3 /Kids 7 0 R >> ";
        let (d, span) = Lexer::new(src, 0)
            .dict_body_deferring_kids()
            .expect("parses");
        assert!(span.is_none());
        assert_eq!(d.0.first(), Some(&(b"Kids".to_vec(), Object::Ref(7, 0))));
        // The lexer stops just after the `>>`.
        let mut lx = Lexer::new(b"/Count 1 >>endobj", 0);
        lx.dict_body_deferring_kids().expect("parses");
        assert_eq!(lx.pos, 11);
        // Malformed: a lone `>`, unbalanced, a key that is not a name, a bad hex string, a
        // window too short.
        for lone in [&b"/Count 1 >x "[..], b"/Kids [<< /A 1 >x ] >> "] {
            assert_eq!(
                Lexer::new(lone, 0).dict_body_deferring_kids(),
                Err(ParseError::Syntax("bad dictionary end"))
            );
        }
        for bad in [
            &b"/Kids [1 0 R >> "[..],
            b"/Kids [<< 1 2 >>] >> ",
            b"/Kids [<zz>] >> ",
        ] {
            assert!(
                matches!(
                    Lexer::new(bad, 0).dict_body_deferring_kids(),
                    Err(ParseError::Syntax(_))
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            Lexer::new(b"/Kids [1 0 R 2 0", 0).dict_body_deferring_kids(),
            Err(ParseError::Truncated)
        );
    }
}
