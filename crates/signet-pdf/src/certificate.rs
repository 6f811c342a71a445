//! The completion certificate: who took part in an envelope, how they authenticated, when they
//! acted, the documents' digests before and after, each event's ledger leaf hash and the signed
//! checkpoint covering them, with how to check the proofs — set as pages a person reads.
//!
//! The same pages come either as a document of their own ([`certificate_pdf`]) or appended to
//! the signed document as an incremental update ([`append_certificate`]): new page objects are
//! added after the original pages and the page tree's root is rewritten in the new revision, so
//! the original bytes stay an exact prefix and every signature over them keeps verifying
//! cryptographically. But pyHanko (0.29) judges pages added after a signature an illegal
//! modification (`EXTENDED_WITH_OTHER,ILLEGAL_MODIFICATIONS`) and fails that signature, so
//! Signet itself serves the certificate as a document of its own; appending is for callers who
//! accept that.
//!
//! All words come from the caller ([`Labels`], with English and French defaults), so the
//! certificate is in the envelope's language; text in any script is shaped and embedded with the
//! stamping fonts ([`FontLibrary`]), so that text extraction gives back what was put in.

use time::OffsetDateTime;

use crate::linebreak::break_units;
use crate::pdf::doc::Document;
use crate::pdf::update::Update;
use crate::pdf::{Dict, Object, PdfError, Reader};
use crate::stamp::text::{FontSet, Line, Style};
use crate::stamp::{FontLibrary, StampError, deflate, num, reals, show_line, write_fonts};

/// The words of the certificate, in one language. Build one with [`Labels::english`] or
/// [`Labels::french`] and change what you need, or fill every field from a translation file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Labels {
    /// BCP 47 language tag written as the document's /Lang (e.g. `en`, `fr`).
    pub language: String,
    /// The certificate's title.
    pub title: String,
    /// "Envelope" (its title).
    pub envelope: String,
    /// "Envelope id".
    pub envelope_id: String,
    /// "Completed".
    pub completed: String,
    /// Heading of the participants' section.
    pub participants: String,
    /// "E-mail".
    pub email: String,
    /// "Role".
    pub role: String,
    /// "Authentication".
    pub authentication: String,
    /// "IP address".
    pub ip: String,
    /// "User agent".
    pub user_agent: String,
    /// "Invited".
    pub invited: String,
    /// "Opened".
    pub opened: String,
    /// "Authenticated".
    pub authenticated: String,
    /// "Signed".
    pub signed: String,
    /// "Declined".
    pub declined: String,
    /// Heading of the documents' section.
    pub documents: String,
    /// "SHA-256 before".
    pub sha256_before: String,
    /// "SHA-256 after".
    pub sha256_after: String,
    /// Heading of the events' section.
    pub events: String,
    /// "Leaf hash" (the event's transaction hash).
    pub leaf_hash: String,
    /// Heading of the checkpoint's section.
    pub checkpoint: String,
    /// Heading of the section on checking the proofs.
    pub how_to_check: String,
    /// The text of that section.
    pub proof_help: String,
    /// "Page" (followed by "n / total" in the footer).
    pub page: String,
}

impl Labels {
    /// English words and the English text on checking the proofs.
    pub fn english() -> Self {
        Self {
            language: "en".into(),
            title: "Certificate of completion".into(),
            envelope: "Envelope".into(),
            envelope_id: "Envelope id".into(),
            completed: "Completed".into(),
            participants: "Participants".into(),
            email: "E-mail".into(),
            role: "Role".into(),
            authentication: "Authentication".into(),
            ip: "IP address".into(),
            user_agent: "User agent".into(),
            invited: "Invited".into(),
            opened: "Opened".into(),
            authenticated: "Authenticated".into(),
            signed: "Signed".into(),
            declined: "Declined".into(),
            documents: "Documents".into(),
            sha256_before: "SHA-256 before".into(),
            sha256_after: "SHA-256 after".into(),
            events: "Events".into(),
            leaf_hash: "Leaf hash".into(),
            checkpoint: "Signed checkpoint".into(),
            how_to_check: "How to check the proofs".into(),
            proof_help: "Each event above is a leaf of the service's append-only Merkle log \
                (RFC 9162); its leaf hash is the event's transaction hash. The signed checkpoint \
                states the size of the log and its root hash, signed with the log's Ed25519 key. \
                To check an event, ask the service for its inclusion proof against this \
                checkpoint, recompute the root from the leaf hash and the proof, compare it with \
                the checkpoint's root, and verify the checkpoint's signature with the log's \
                public key. To check a document, compute its SHA-256 and compare it with the \
                digests above; `signet verify` does all of this offline."
                .into(),
            page: "Page".into(),
        }
    }

    /// French words and the French text on checking the proofs.
    pub fn french() -> Self {
        Self {
            language: "fr".into(),
            title: "Certificat d’achèvement".into(),
            envelope: "Enveloppe".into(),
            envelope_id: "Identifiant de l’enveloppe".into(),
            completed: "Achevée le".into(),
            participants: "Participants".into(),
            email: "Courriel".into(),
            role: "Rôle".into(),
            authentication: "Authentification".into(),
            ip: "Adresse IP".into(),
            user_agent: "Navigateur".into(),
            invited: "Invité".into(),
            opened: "Ouvert".into(),
            authenticated: "Authentifié".into(),
            signed: "Signé".into(),
            declined: "Refusé".into(),
            documents: "Documents".into(),
            sha256_before: "SHA-256 avant".into(),
            sha256_after: "SHA-256 après".into(),
            events: "Événements".into(),
            leaf_hash: "Empreinte de la feuille".into(),
            checkpoint: "Point de contrôle signé".into(),
            how_to_check: "Comment vérifier les preuves".into(),
            proof_help: "Chaque événement ci-dessus est une feuille du journal de Merkle du \
                service, où l’on ne peut qu’ajouter (RFC 9162) ; l’empreinte de la feuille est \
                l’empreinte de transaction de l’événement. Le point de contrôle signé donne la \
                taille du journal et son empreinte racine, signées avec la clé Ed25519 du \
                journal. Pour vérifier un événement, demandez au service sa preuve d’inclusion \
                pour ce point de contrôle, recalculez la racine à partir de l’empreinte de la \
                feuille et de la preuve, comparez-la à celle du point de contrôle, puis vérifiez \
                la signature du point de contrôle avec la clé publique du journal. Pour vérifier \
                un document, calculez son SHA-256 et comparez-le aux empreintes ci-dessus ; \
                `signet verify` fait tout cela hors ligne."
                .into(),
            page: "Page".into(),
        }
    }
}

/// One participant's record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Participant {
    /// Name as given.
    pub name: String,
    /// E-mail address, if any.
    pub email: Option<String>,
    /// Role, in the envelope's language (signer, approver, viewer…).
    pub role: String,
    /// Authentication method, in the envelope's language.
    pub auth_method: String,
    /// IP address of the decisive action.
    pub ip: Option<String>,
    /// User agent of the decisive action.
    pub user_agent: Option<String>,
    /// When invited.
    pub invited: Option<OffsetDateTime>,
    /// When first opened.
    pub opened: Option<OffsetDateTime>,
    /// When authenticated.
    pub authenticated: Option<OffsetDateTime>,
    /// When signed.
    pub signed: Option<OffsetDateTime>,
    /// When declined.
    pub declined: Option<OffsetDateTime>,
}

impl Participant {
    /// A participant with no times, address or user agent yet.
    pub fn new(
        name: impl Into<String>,
        role: impl Into<String>,
        auth_method: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            email: None,
            role: role.into(),
            auth_method: auth_method.into(),
            ip: None,
            user_agent: None,
            invited: None,
            opened: None,
            authenticated: None,
            signed: None,
            declined: None,
        }
    }
}

/// One document's digests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DocumentDigests {
    /// File name or title.
    pub name: String,
    /// SHA-256 of the document as uploaded.
    pub sha256_before: [u8; 32],
    /// SHA-256 of the signed document (before this certificate), if it changed.
    pub sha256_after: Option<[u8; 32]>,
}

impl DocumentDigests {
    /// A document's digests.
    pub fn new(name: impl Into<String>, before: [u8; 32], after: Option<[u8; 32]>) -> Self {
        Self {
            name: name.into(),
            sha256_before: before,
            sha256_after: after,
        }
    }
}

/// One event of the envelope's history.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// When.
    pub at: OffsetDateTime,
    /// What happened, in the envelope's language (and by whom).
    pub description: String,
    /// The ledger leaf hash (the event's `transaction_hash`).
    pub leaf_hash: [u8; 32],
}

impl Event {
    /// An event.
    pub fn new(at: OffsetDateTime, description: impl Into<String>, leaf_hash: [u8; 32]) -> Self {
        Self {
            at,
            description: description.into(),
            leaf_hash,
        }
    }
}

/// Everything the certificate shows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateInput {
    /// The envelope's title.
    pub envelope_title: String,
    /// The envelope's id as shown to its users.
    pub envelope_id: String,
    /// When the envelope completed.
    pub completed: Option<OffsetDateTime>,
    /// The words, in the envelope's language.
    pub labels: Labels,
    /// The participants, in envelope order.
    pub participants: Vec<Participant>,
    /// The documents.
    pub documents: Vec<DocumentDigests>,
    /// The events, oldest first.
    pub events: Vec<Event>,
    /// The signed checkpoint (signed tree head) covering the events, as text (a signed note).
    pub checkpoint: String,
}

impl CertificateInput {
    /// A certificate for an envelope, with `labels`' words and nothing in it yet.
    pub fn new(
        envelope_title: impl Into<String>,
        envelope_id: impl Into<String>,
        labels: Labels,
    ) -> Self {
        Self {
            envelope_title: envelope_title.into(),
            envelope_id: envelope_id.into(),
            completed: None,
            labels,
            participants: Vec::new(),
            documents: Vec::new(),
            events: Vec::new(),
            checkpoint: String::new(),
        }
    }
}

/// Errors from making the certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The document to append to could not be read (encrypted documents are refused too).
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// Text could not be set: a character no font covers, or an unusable font.
    #[error(transparent)]
    Text(#[from] StampError),
    /// The certificate would have more pages than [`MAX_PAGES`].
    #[error("the certificate would exceed {MAX_PAGES} pages")]
    TooLong,
}

/// What was made.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct CertificateReport {
    /// Number of certificate pages.
    pub pages: u32,
    /// Index (0-based) of the first certificate page in the output.
    pub first_page: u32,
    /// The embedded font subsets (base font names).
    pub fonts: Vec<String>,
}

/// Most pages a certificate may have (about 40 events fit on a page).
pub const MAX_PAGES: usize = 2000;

/// The certificate as a PDF of its own.
pub fn certificate_pdf(
    input: &CertificateInput,
    fonts: &FontLibrary,
) -> Result<(Vec<u8>, CertificateReport), CertificateError> {
    let pages = compose(input, fonts)?;
    let header: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
    let mut upd = Update::new(header.len() as u64, crate::pdf::XrefKind::Table);
    let (catalog_num, root_num) = (1, 2);
    let mut next = 3;
    let mut alloc = || {
        let n = next;
        next += 1;
        n
    };
    let info_num = alloc();
    let (kids, font_names) = write_pages(&mut upd, &mut alloc, (root_num, 0), pages)?;
    let count = kids.len();
    let mut root = Dict::default();
    root.set(b"Type", Object::Name(b"Pages".to_vec()));
    root.set(
        b"Kids",
        Object::Array(kids.iter().map(|n| Object::Ref(*n, 0)).collect()),
    );
    root.set(b"Count", Object::Int(count as i64));
    upd.write_dict_obj(root_num, 0, &root);
    let mut catalog = Dict::default();
    catalog.set(b"Type", Object::Name(b"Catalog".to_vec()));
    catalog.set(b"Pages", Object::Ref(root_num, 0));
    catalog.set(b"Lang", text_string(&input.labels.language));
    upd.write_dict_obj(catalog_num, 0, &catalog);
    let mut info = Dict::default();
    info.set(
        b"Title",
        text_string(&format!(
            "{} — {}",
            input.labels.title, input.envelope_title
        )),
    );
    info.set(b"Producer", text_string("Signet"));
    upd.write_dict_obj(info_num, 0, &info);
    let mut trailer = Dict::default();
    trailer.set(b"Root", Object::Ref(catalog_num, 0));
    trailer.set(b"Info", Object::Ref(info_num, 0));
    let mut id = [0u8; 16];
    // A document id; a failed RNG leaves a fixed one, which only weakens uniqueness.
    let _ = aws_lc_rs::rand::fill(&mut id);
    trailer.set(
        b"ID",
        Object::Array(vec![Object::Str(id.to_vec()), Object::Str(id.to_vec())]),
    );
    upd.finish_standalone(&trailer, next);
    let mut out = header.to_vec();
    out.extend_from_slice(&upd.buf);
    Ok((
        out,
        CertificateReport {
            pages: count as u32,
            first_page: 0,
            fonts: font_names,
        },
    ))
}

/// Appends the certificate's pages after the last page of `pdf`, as an incremental update: `pdf`
/// is an exact prefix of the output, so signatures over it stay valid.
pub fn append_certificate(
    pdf: &[u8],
    input: &CertificateInput,
    fonts: &FontLibrary,
) -> Result<(Vec<u8>, CertificateReport), CertificateError> {
    let mut r = Reader::open(pdf)?;
    let doc = Document::load(&mut r)?;
    let pages = compose(input, fonts)?;
    let mut upd = Update::new(r.len, doc.kind);
    if !matches!(pdf.last(), Some(b'\n' | b'\r')) {
        upd.buf.push(b'\n');
    }
    let mut next = doc.next_num;
    let mut alloc = || {
        let n = next;
        next += 1;
        n
    };
    let (kids, font_names) = write_pages(&mut upd, &mut alloc, doc.pages_root, pages)?;
    let mut root = r.resolve_dict(doc.pages_root.0)?;
    let new_kids = kids.iter().map(|n| Object::Ref(*n, 0));
    match root.get(b"Kids").cloned() {
        Some(Object::Ref(n, g)) => {
            let Object::Array(mut items) = r.resolve(n)? else {
                return Err(PdfError::Malformed("page tree /Kids is not an array".into()).into());
            };
            items.extend(new_kids);
            upd.write_obj(n, g, &Object::Array(items));
        }
        Some(Object::Array(mut items)) => {
            items.extend(new_kids);
            root.set(b"Kids", Object::Array(items));
        }
        // A single page as the tree's root: it is not a node that can hold kids.
        _ => return Err(PdfError::Unsupported("a page tree whose root is a page").into()),
    }
    root.set(
        b"Count",
        Object::Int(i64::from(doc.page_count) + kids.len() as i64),
    );
    upd.write_dict_obj(doc.pages_root.0, doc.pages_root.1, &root);
    upd.finish(&doc.trailer, next, doc.startxref);
    let mut out = Vec::with_capacity(pdf.len() + upd.buf.len());
    out.extend_from_slice(pdf);
    out.extend_from_slice(&upd.buf);
    Ok((
        out,
        CertificateReport {
            pages: kids.len() as u32,
            first_page: doc.page_count,
            fonts: font_names,
        },
    ))
}

/// A PDF text string: PDFDocEncoding-compatible ASCII as is, anything else as UTF-16BE.
fn text_string(s: &str) -> Object {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Object::Str(s.as_bytes().to_vec())
    } else {
        let mut v = vec![0xfe, 0xff];
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_be_bytes());
        }
        Object::Str(v)
    }
}

/// Composed pages: content streams and the fonts they use.
struct Composed<'a> {
    fonts: FontSet<'a>,
    pages: Vec<String>,
}

/// Writes the pages (content, resources, fonts) with /Parent `parent`; returns their numbers
/// and the fonts' names.
fn write_pages(
    upd: &mut Update,
    alloc: &mut dyn FnMut() -> u32,
    parent: (u32, u16),
    composed: Composed<'_>,
) -> Result<(Vec<u32>, Vec<String>), CertificateError> {
    let font_nums: Vec<u32> = (0..composed.fonts.len()).map(|_| alloc()).collect();
    let mut font_dict = Dict::default();
    for (slot, n) in font_nums.iter().enumerate() {
        font_dict.set(format!("F{slot}").as_bytes(), Object::Ref(*n, 0));
    }
    let mut resources = Dict::default();
    resources.set(b"Font", Object::Dict(font_dict));
    let mut kids = Vec::with_capacity(composed.pages.len());
    for content in &composed.pages {
        let content_num = alloc();
        let mut d = Dict::default();
        d.set(b"Filter", Object::Name(b"FlateDecode".to_vec()));
        upd.write_stream_with(content_num, d, &deflate(content.as_bytes()));
        let page_num = alloc();
        let mut page = Dict::default();
        page.set(b"Type", Object::Name(b"Page".to_vec()));
        page.set(b"Parent", Object::Ref(parent.0, parent.1));
        // Set on the page itself so that nothing is inherited from the document's tree.
        page.set(b"MediaBox", reals(&[0.0, 0.0, PAGE_W, PAGE_H]));
        page.set(b"CropBox", reals(&[0.0, 0.0, PAGE_W, PAGE_H]));
        page.set(b"Rotate", Object::Int(0));
        page.set(b"Resources", Object::Dict(resources.clone()));
        page.set(b"Contents", Object::Ref(content_num, 0));
        upd.write_dict_obj(page_num, 0, &page);
        kids.push(page_num);
    }
    let embedded = composed.fonts.embed()?;
    let names = write_fonts(upd, &embedded, &font_nums, alloc);
    Ok((kids, names))
}

// A4, in points.
const PAGE_W: f64 = 595.276;
const PAGE_H: f64 = 841.89;
const MARGIN_X: f64 = 50.0;
const TOP: f64 = PAGE_H - 64.0;
const BOTTOM: f64 = 60.0;
const CONTENT_W: f64 = PAGE_W - 2.0 * MARGIN_X;
const LABEL_W: f64 = 130.0;
const CELL_PAD: f64 = 4.0;
const BODY: f64 = 9.0;
const SMALL: f64 = 7.5;
const LEADING: f64 = 1.32;
const TEXT: &str = "0 0 0 rg";
const GREY: &str = "0.35 0.35 0.35 rg";

/// One wrapped line: shaped text, and whether its paragraph reads right to left.
struct WrappedLine {
    line: Option<Line>,
    rtl: bool,
}

/// Lays text out on pages, top to bottom.
struct Composer<'a> {
    fonts: FontSet<'a>,
    pages: Vec<String>,
    y: f64,
    running_head: String,
}

impl<'a> Composer<'a> {
    fn page(&mut self) -> &mut String {
        // `new_page` runs before anything is drawn, so there is always a page.
        if self.pages.is_empty() {
            self.pages.push(String::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) -> Result<(), CertificateError> {
        if self.pages.len() >= MAX_PAGES {
            return Err(CertificateError::TooLong);
        }
        self.pages.push(String::new());
        self.y = TOP;
        let head = self.running_head.clone();
        let lines = self.wrap(&head, SMALL, CONTENT_W)?;
        if let Some(first) = lines.into_iter().next() {
            self.draw(&first, MARGIN_X, PAGE_H - 36.0, SMALL, CONTENT_W, GREY);
        }
        self.rule(PAGE_H - 42.0, 0.5, "0.6 G");
        Ok(())
    }

    /// Makes room for `h` points, starting a new page if needed.
    fn room(&mut self, h: f64) -> Result<(), CertificateError> {
        if self.y - h < BOTTOM {
            self.new_page()?;
        }
        Ok(())
    }

    fn rule(&mut self, y: f64, width: f64, stroke: &str) {
        let op = format!(
            "q {stroke} {} w {} {} m {} {} l S Q\n",
            num(width),
            num(MARGIN_X),
            num(y),
            num(MARGIN_X + CONTENT_W),
            num(y)
        );
        self.page().push_str(&op);
    }

    fn measure(&mut self, text: &str) -> Result<f64, CertificateError> {
        match self.fonts.layout(text, Style::Sans) {
            Ok(l) => Ok(l.width),
            Err(StampError::EmptyText) => Ok(0.0),
            Err(e) => Err(e.into()),
        }
    }

    /// Breaks `text` into lines at most `width` wide at `size`: at spaces, between Chinese or
    /// Japanese characters, and inside a word (a hash, a URL) that is wider than a line by
    /// itself. Newlines start new lines.
    fn wrap(
        &mut self,
        text: &str,
        size: f64,
        width: f64,
    ) -> Result<Vec<WrappedLine>, CertificateError> {
        let max = width / size;
        let mut out = Vec::new();
        for para in text.split('\n') {
            let rtl = unicode_bidi::BidiInfo::new(para, None)
                .paragraphs
                .first()
                .is_some_and(|p| p.level.is_rtl());
            for l in self.break_lines(para, max)? {
                let line = match self.fonts.layout(&l, Style::Sans) {
                    Ok(line) => Some(line),
                    Err(StampError::EmptyText) => None,
                    Err(e) => return Err(e.into()),
                };
                out.push(WrappedLine { line, rtl });
            }
        }
        Ok(out)
    }

    /// The lines of one paragraph, each at most `max` wide at font size 1.
    fn break_lines(&mut self, para: &str, max: f64) -> Result<Vec<String>, CertificateError> {
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        // Widths add up unit by unit (each unit shaped once); kerning across a break is
        // ignored, which only matters within a hair of the margin.
        let mut current_w = 0.0;
        let space = self.measure("a a")? - 2.0 * self.measure("a")?;
        for unit in break_units(para) {
            let uw = self.measure(unit.text)?;
            let gap = if unit.space_before { space } else { 0.0 };
            if uw > max {
                // Longer than a line: hard-broken, the first piece filling the current line.
                let mut chunk = std::mem::take(&mut current);
                let mut chunk_w = current_w;
                if !chunk.is_empty() && unit.space_before {
                    chunk.push(' ');
                    chunk_w += space;
                }
                for c in unit.text.chars() {
                    let cw = self.measure(c.encode_utf8(&mut [0; 4]))?;
                    if !chunk.is_empty() && chunk_w + cw > max {
                        lines.push(std::mem::take(&mut chunk).trim_end().to_owned());
                        chunk_w = 0.0;
                    }
                    chunk.push(c);
                    chunk_w += cw;
                }
                current = chunk;
                current_w = chunk_w;
                continue;
            }
            if current.is_empty() {
                current = unit.text.to_owned();
                current_w = uw;
            } else if current_w + gap + uw > max {
                lines.push(std::mem::replace(&mut current, unit.text.to_owned()));
                current_w = uw;
            } else {
                if unit.space_before {
                    current.push(' ');
                }
                current.push_str(unit.text);
                current_w += gap + uw;
            }
        }
        lines.push(current);
        Ok(lines)
    }

    /// Draws a line with its baseline at `y`, from `x` (or ending at `x + width` when it reads
    /// right to left).
    fn draw(&mut self, l: &WrappedLine, x: f64, y: f64, size: f64, width: f64, color: &str) {
        let page = self.pages.len().saturating_sub(1);
        self.draw_on(page, l, (x, y), size, width, color);
    }

    /// [`Composer::draw`] on page `page`.
    fn draw_on(
        &mut self,
        page: usize,
        l: &WrappedLine,
        (x, y): (f64, f64),
        size: f64,
        width: f64,
        color: &str,
    ) {
        let Some(line) = &l.line else { return };
        let x0 = if l.rtl {
            x + width - line.width * size
        } else {
            x
        };
        let mut c = format!("q {color} ");
        let mut used = Vec::new();
        show_line(&mut c, line, x0, y, size, &mut used);
        c.push_str("Q\n");
        if let Some(p) = self.pages.get_mut(page) {
            p.push_str(&c);
        }
    }

    /// Text across the full width.
    fn paragraph(&mut self, text: &str, size: f64, color: &str) -> Result<(), CertificateError> {
        for l in self.wrap(text, size, CONTENT_W)? {
            self.room(size * LEADING)?;
            self.y -= size * LEADING;
            self.draw(&l, MARGIN_X, self.y + size * 0.25, size, CONTENT_W, color);
        }
        Ok(())
    }

    fn heading(&mut self, text: &str) -> Result<(), CertificateError> {
        // Keep a heading with at least a few lines of what follows.
        self.room(13.0 * LEADING + 8.0 + 4.0 * BODY * LEADING)?;
        self.y -= 10.0;
        self.paragraph(text, 13.0, TEXT)?;
        self.y -= 3.0;
        self.rule(self.y, 0.8, "0 G");
        self.y -= 2.0;
        Ok(())
    }

    /// A shaded band naming the item the following rows describe.
    fn band(&mut self, text: &str) -> Result<(), CertificateError> {
        let size = 10.0;
        let lines = self.wrap(text, size, CONTENT_W - 2.0 * CELL_PAD)?;
        let h = lines.len() as f64 * size * LEADING + 2.0 * CELL_PAD;
        self.room(h + 2.0 * BODY * LEADING)?;
        self.y -= 4.0;
        let op = format!(
            "q 0.92 g {} {} {} {} re f Q\n",
            num(MARGIN_X),
            num(self.y - h),
            num(CONTENT_W),
            num(h)
        );
        self.page().push_str(&op);
        let mut y = self.y - CELL_PAD;
        for l in &lines {
            y -= size * LEADING;
            self.draw(
                l,
                MARGIN_X + CELL_PAD,
                y + size * 0.25,
                size,
                CONTENT_W - 2.0 * CELL_PAD,
                TEXT,
            );
        }
        self.y -= h;
        Ok(())
    }

    /// A table row: a label on the left and one or more pieces of text (each at its own size)
    /// on the right. A row taller than the space left continues on the next page.
    fn row(&mut self, label: &str, cells: &[(&str, f64)]) -> Result<(), CertificateError> {
        let value_x = MARGIN_X + LABEL_W + CELL_PAD;
        let value_w = CONTENT_W - LABEL_W - 2.0 * CELL_PAD;
        let label_lines = self.wrap(label, SMALL + 0.5, LABEL_W - 2.0 * CELL_PAD)?;
        let mut value_lines = Vec::new();
        for (text, size) in cells {
            for l in self.wrap(text, *size, value_w)? {
                value_lines.push((l, *size));
            }
        }
        let label_h = label_lines.len() as f64 * (SMALL + 0.5) * LEADING;
        let value_h: f64 = value_lines.iter().map(|(_, s)| s * LEADING).sum();
        let h = label_h.max(value_h) + 2.0 * CELL_PAD;
        self.room(h.min(TOP - BOTTOM))?;
        let mut ly = self.y - CELL_PAD;
        for l in &label_lines {
            ly -= (SMALL + 0.5) * LEADING;
            self.draw(
                l,
                MARGIN_X + CELL_PAD,
                ly + SMALL * 0.25,
                SMALL + 0.5,
                LABEL_W - 2.0 * CELL_PAD,
                GREY,
            );
        }
        let mut vy = self.y - CELL_PAD;
        for (l, size) in &value_lines {
            if vy - size * LEADING < BOTTOM {
                self.new_page()?;
                vy = self.y - CELL_PAD;
                ly = vy;
            }
            vy -= size * LEADING;
            self.draw(l, value_x, vy + size * 0.25, *size, value_w, TEXT);
        }
        self.y = ly.min(vy) - CELL_PAD;
        self.rule(self.y, 0.3, "0.75 G");
        Ok(())
    }
}

/// Formats a time in UTC, the same in every language (ISO 8601 order).
fn utc(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// Lays the certificate out.
fn compose<'a>(
    input: &CertificateInput,
    fonts: &'a FontLibrary,
) -> Result<Composed<'a>, CertificateError> {
    let l = &input.labels;
    let mut c = Composer {
        fonts: FontSet::new(fonts),
        pages: Vec::new(),
        y: TOP,
        running_head: format!("{} — {}", l.title, input.envelope_title),
    };
    c.new_page()?;
    c.paragraph(&l.title, 18.0, TEXT)?;
    c.y -= 8.0;
    c.rule(c.y, 0.3, "0.75 G");
    c.row(&l.envelope, &[(&input.envelope_title, BODY)])?;
    c.row(&l.envelope_id, &[(&input.envelope_id, BODY)])?;
    if let Some(t) = input.completed {
        c.row(&l.completed, &[(&utc(t), BODY)])?;
    }

    if !input.participants.is_empty() {
        c.heading(&l.participants)?;
    }
    for p in &input.participants {
        c.band(&p.name)?;
        let mut rows: Vec<(&str, String)> = Vec::new();
        if let Some(e) = &p.email {
            rows.push((&l.email, e.clone()));
        }
        rows.push((&l.role, p.role.clone()));
        rows.push((&l.authentication, p.auth_method.clone()));
        if let Some(ip) = &p.ip {
            rows.push((&l.ip, ip.clone()));
        }
        if let Some(ua) = &p.user_agent {
            rows.push((&l.user_agent, ua.clone()));
        }
        for (label, t) in [
            (&l.invited, p.invited),
            (&l.opened, p.opened),
            (&l.authenticated, p.authenticated),
            (&l.signed, p.signed),
            (&l.declined, p.declined),
        ] {
            if let Some(t) = t {
                rows.push((label, utc(t)));
            }
        }
        for (label, value) in rows {
            c.row(label, &[(&value, BODY)])?;
        }
    }

    if !input.documents.is_empty() {
        c.heading(&l.documents)?;
    }
    for d in &input.documents {
        c.band(&d.name)?;
        c.row(&l.sha256_before, &[(&hex::encode(d.sha256_before), SMALL)])?;
        if let Some(after) = d.sha256_after {
            c.row(&l.sha256_after, &[(&hex::encode(after), SMALL)])?;
        }
    }

    if !input.events.is_empty() {
        c.heading(&l.events)?;
    }
    for e in &input.events {
        let hash = format!("{}: {}", l.leaf_hash, hex::encode(e.leaf_hash));
        c.row(&utc(e.at), &[(&e.description, BODY), (&hash, SMALL)])?;
    }

    if !input.checkpoint.trim().is_empty() {
        c.heading(&l.checkpoint)?;
        c.paragraph(input.checkpoint.trim_end(), SMALL + 0.5, TEXT)?;
    }
    c.heading(&l.how_to_check)?;
    c.paragraph(&l.proof_help, BODY, TEXT)?;

    // Footers, now that the number of pages is known.
    let total = c.pages.len();
    for i in 0..total {
        let text = format!("{} {} / {total}", l.page, i + 1);
        let lines = c.wrap(&text, SMALL, CONTENT_W)?;
        if let Some(line) = lines.first() {
            c.draw_on(i, line, (MARGIN_X, 36.0), SMALL, CONTENT_W, GREY);
        }
    }
    Ok(Composed {
        fonts: c.fonts,
        pages: c.pages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of `text` broken at `width` points (10 pt), with their widths in points.
    fn wrapped(fonts: &FontLibrary, text: &str, width: f64) -> Vec<(String, f64)> {
        let mut c = Composer {
            fonts: FontSet::new(fonts),
            pages: Vec::new(),
            y: TOP,
            running_head: String::new(),
        };
        let lines = c.break_lines(text, width / 10.0).expect("break");
        lines
            .into_iter()
            .map(|l| {
                let w = c.measure(&l).expect("measure") * 10.0;
                (l, w)
            })
            .collect()
    }

    /// Whether every line of `lines` starts at a legal break of `text` (UAX #14, with the Thai
    /// dictionary), i.e. the lines are whole break units laid end to end.
    fn breaks_are_legal(text: &str, lines: &[(String, f64)]) -> bool {
        let units: Vec<&str> = crate::linebreak::break_units(text)
            .iter()
            .map(|u| u.text)
            .collect();
        let mut at = 0;
        for (line, _) in lines {
            let mut rest = line.replace(' ', "");
            while !rest.is_empty() {
                match units.get(at) {
                    Some(u) if rest.starts_with(u) => {
                        rest.drain(..u.len());
                        at += 1;
                    }
                    _ => return false,
                }
            }
        }
        at == units.len()
    }

    #[test]
    fn thai_and_korean_wrap_at_legal_breaks_within_the_width() {
        let fonts = FontLibrary::with_system_fonts();
        let width = 120.0;
        // Thai has no spaces between words: it breaks between dictionary words, never inside.
        let thai = "สัญญาฉบับนี้มีผลบังคับใช้ตั้งแต่วันที่ลงนามโดยคู่สัญญาทั้งสองฝ่าย";
        // Korean breaks between syllables as well as at spaces.
        let korean = "본계약은양당사자가서명한날부터효력이발생합니다 서명완료";
        for (script, text, probe) in [("Thai", thai, "ส"), ("Korean", korean, "서")] {
            if FontSet::new(&fonts).layout(probe, Style::Sans).is_err() {
                eprintln!("NOTICE: no {script} font installed; skipped");
                continue;
            }
            let lines = wrapped(&fonts, text, width);
            assert!(lines.len() >= 2, "{script}: {lines:?}");
            for (line, w) in &lines {
                assert!(*w <= width + 0.01, "{script}: {line:?} is {w} wide");
            }
            // No line is left half empty when the next unit would have fitted.
            for pair in lines.windows(2) {
                let next_unit = crate::linebreak::break_units(&pair[1].0)[0].text.to_owned();
                let mut c = Composer {
                    fonts: FontSet::new(&fonts),
                    pages: Vec::new(),
                    y: TOP,
                    running_head: String::new(),
                };
                let extra = c.measure(&next_unit).expect("measure") * 10.0;
                // A space may stand between them (Korean): count it, to be safe.
                let space = (c.measure("a a").expect("measure")
                    - 2.0 * c.measure("a").expect("measure"))
                    * 10.0;
                assert!(
                    pair[0].1 + space + extra > width,
                    "{script}: {pair:?} could hold more"
                );
            }
            assert!(breaks_are_legal(text, &lines), "{script}: {lines:?}");
        }
        assert!(!breaks_are_legal(
            "สวัสดีครับ",
            &[("สวั".into(), 0.0), ("สดีครับ".into(), 0.0)]
        ));
    }

    #[test]
    fn long_words_and_cjk_wrap_within_the_width() {
        let fonts = FontLibrary::with_system_fonts();
        let width = 150.0;
        // A word longer than a line fills the current line first, then breaks anywhere.
        let word = "x".repeat(120);
        let lines = wrapped(&fonts, &format!("Hash: {word} end"), width);
        assert!(lines.len() >= 3, "{lines:?}");
        assert!(lines[0].0.starts_with("Hash: x"), "{lines:?}");
        for (text, w) in &lines {
            assert!(*w <= width + 0.01, "{text:?} is {w} wide");
        }
        assert_eq!(
            lines
                .iter()
                .map(|(t, _)| t.replace(' ', ""))
                .collect::<String>(),
            format!("Hash:{word}end")
        );
        // Chinese without spaces fills every line but the last, and loses no character.
        let chinese =
            "本合同由双方于签署之日起生效，任何一方不得擅自变更或解除合同内容。".repeat(3);
        if FontSet::new(&fonts).layout("合", Style::Sans).is_ok() {
            let lines = wrapped(&fonts, &chinese, width);
            assert!(lines.len() >= 3, "{lines:?}");
            for (text, w) in &lines {
                assert!(*w <= width + 0.01, "{text:?} is {w} wide");
                assert!(
                    !text.starts_with('，') && !text.starts_with('。'),
                    "{text:?}"
                );
            }
            for (text, w) in &lines[..lines.len() - 1] {
                assert!(*w > width - 25.0, "{text:?} ({w}) leaves a line half empty");
            }
            assert_eq!(
                lines.iter().map(|(t, _)| t.as_str()).collect::<String>(),
                chinese
            );
        } else {
            eprintln!("NOTICE: no CJK font installed; the Chinese case is skipped");
        }
    }
}
