//! Deciding at upload time whether a PDF can be stamped and signed, with a typed reason when it
//! cannot: encrypted files, files that do not parse, and XFA-only (dynamic XFA) forms, whose
//! pages are drawn by an XFA processor at view time, so marks placed on them would not show.

use serde::Serialize;

use crate::pdf::doc::Document;
use crate::pdf::{Object, PdfError, Reader, XrefKind};

/// Why a document is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The document is encrypted (with or without a user password).
    #[error("the document is encrypted; remove the encryption and upload it again")]
    Encrypted,
    /// The file is not a PDF this library can read.
    #[error("the file is not a readable PDF: {0}")]
    Unparseable(String),
    /// An XFA-only (dynamic XFA) form: its pages exist only for an XFA processor.
    #[error("the document is an XFA-only form; save it as a standard PDF and upload it again")]
    XfaOnly,
    /// The document has no pages.
    #[error("the document has no pages")]
    NoPages,
}

impl From<PdfError> for Refusal {
    fn from(e: PdfError) -> Self {
        match e {
            PdfError::Encrypted => Refusal::Encrypted,
            other => Refusal::Unparseable(other.to_string()),
        }
    }
}

/// What an accepted document looks like.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DocumentInfo {
    /// Number of pages.
    pub pages: u32,
    /// Number of revisions (1 + incremental updates).
    pub revisions: usize,
    /// Cross-reference kind of the newest revision.
    pub xref_kind: XrefKind,
    /// Top-level signature fields that hold a signature.
    pub signed_fields: usize,
    /// An AcroForm is present.
    pub has_form: bool,
    /// A hybrid form: XFA next to AcroForm fields (accepted; marks go on the AcroForm pages).
    pub has_xfa: bool,
    /// The page size as displayed of each page (points, after /Rotate), for placing fields.
    pub page_sizes: Vec<(f64, f64)>,
}

/// Most pages whose geometry is reported (and checked) at upload.
const MAX_PAGES_CHECKED: u32 = 100_000;

/// Checks that `input` can be stamped and signed; see the module documentation.
pub fn inspect(input: &[u8]) -> Result<DocumentInfo, Refusal> {
    let mut r = Reader::open(input)?;
    let doc = Document::load(&mut r)?;
    if doc.page_count == 0 {
        return Err(Refusal::NoPages);
    }
    let needs_rendering = matches!(doc.catalog.get(b"NeedsRendering"), Some(Object::Bool(true)));
    let (has_form, has_xfa) = match &doc.acroform {
        crate::pdf::doc::AcroForm::Missing => (false, false),
        crate::pdf::doc::AcroForm::Direct(d) | crate::pdf::doc::AcroForm::Indirect(_, d) => {
            (true, d.get(b"XFA").is_some_and(|x| *x != Object::Null))
        }
    };
    if needs_rendering || (has_xfa && doc.fields.items().is_empty()) {
        return Err(Refusal::XfaOnly);
    }
    let mut signed_fields = 0;
    for f in doc.fields.items() {
        if let Object::Ref(n, _) = f
            && let Object::Dict(d) = r.resolve(*n)?
            && d.name_is(b"FT", b"Sig")
            && d.get(b"V").is_some()
        {
            signed_fields += 1;
        }
    }
    let mut page_sizes = Vec::new();
    for i in 0..doc.page_count.min(MAX_PAGES_CHECKED) {
        let page = doc
            .page(&mut r, i)?
            .ok_or_else(|| Refusal::Unparseable(format!("page {} cannot be found", i + 1)))?;
        page_sizes.push(page.geometry.displayed_size());
    }
    Ok(DocumentInfo {
        pages: doc.page_count,
        revisions: r.sections.len(),
        xref_kind: doc.kind,
        signed_fields,
        has_form,
        has_xfa,
        page_sizes,
    })
}
