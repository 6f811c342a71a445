//! The parts of a document that updates touch: catalog, AcroForm and its fields, pages (found by
//! index through the page tree, with inherited attributes) and their /Annots.

use std::borrow::Cow;

use super::object::RawArray;
use super::update::Update;
use super::{DeferredKids, Dict, Object, ParseError, PdfError, Reader, Source, XrefKind};

fn malformed(msg: &str) -> PdfError {
    PdfError::Malformed(msg.to_owned())
}

/// How the catalog holds its AcroForm.
#[derive(Debug, Clone)]
pub(crate) enum AcroForm {
    Missing,
    Direct(Dict),
    Indirect((u32, u16), Dict),
}

/// How the AcroForm holds its /Fields.
#[derive(Debug, Clone)]
pub(crate) enum Fields {
    Direct(Vec<Object>),
    Indirect((u32, u16), Vec<Object>),
}

impl Fields {
    pub(crate) fn items(&self) -> &[Object] {
        match self {
            Fields::Direct(a) | Fields::Indirect(_, a) => a,
        }
    }
}

/// The document's top-level structure, as of its newest revision.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub kind: XrefKind,
    pub startxref: u64,
    pub trailer: Dict,
    pub root: (u32, u16),
    pub catalog: Dict,
    pub acroform: AcroForm,
    pub fields: Fields,
    pub pages_root: (u32, u16),
    pub page_count: u32,
    /// The page tree root's dictionary (kept: `page` starts every walk there), without its
    /// direct /Kids, which is kept unparsed in `pages_root_kids`.
    pub pages_root_dict: Dict,
    pub pages_root_kids: Option<DeferredKids>,
    /// The first object number no revision uses.
    pub next_num: u32,
}

/// A field: its reference and dictionary.
pub(crate) type FieldRef = ((u32, u16), Dict);

/// One page found by index.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub index: u32,
    pub id: (u32, u16),
    pub dict: Dict,
    pub geometry: crate::stamp::geometry::PageGeometry,
}

pub(crate) fn number(o: &Object) -> Option<f64> {
    match o {
        Object::Int(i) => Some(*i as f64),
        Object::Real(r) => std::str::from_utf8(r).ok()?.parse::<f64>().ok(),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

fn rect<S: Source>(r: &mut Reader<S>, o: &Object) -> Result<Option<[f64; 4]>, PdfError> {
    let Object::Array(a) = r.deref(o)? else {
        return Ok(None);
    };
    if a.len() != 4 {
        return Ok(None);
    }
    let mut v = [0.0; 4];
    for (i, item) in a.iter().enumerate() {
        match number(&r.deref(item)?) {
            Some(n) => v[i] = n,
            None => return Ok(None),
        }
    }
    Ok(Some([
        v[0].min(v[2]),
        v[1].min(v[3]),
        v[0].max(v[2]),
        v[1].max(v[3]),
    ]))
}

/// Whether a page-tree node is a page: so typed, or without kids.
fn is_leaf(d: &Dict, deferred: Option<&DeferredKids>) -> bool {
    d.name_is(b"Type", b"Page") || (deferred.is_none() && d.get(b"Kids").is_none())
}

fn parse_error(e: ParseError, num: u32) -> PdfError {
    match e {
        ParseError::Truncated => malformed(&format!("truncated /Kids in object {num}")),
        ParseError::Syntax(m) => malformed(&format!("{m} in the /Kids of object {num}")),
    }
}

/// A node's /Kids: parsed, or kept as text ([`RawArray`]).
enum Kids<'a> {
    Parsed(&'a [Object]),
    Raw(&'a RawArray),
}

impl Kids<'_> {
    fn len(&self) -> usize {
        match self {
            Kids::Parsed(a) => a.len(),
            Kids::Raw(r) => r.len(),
        }
    }

    fn get(&self, i: u32) -> Result<Option<Object>, ParseError> {
        match self {
            Kids::Parsed(a) => Ok(a.get(i as usize).cloned()),
            Kids::Raw(r) => r.get(i as usize),
        }
    }

    fn all(&self) -> Result<&[Object], ParseError> {
        match self {
            Kids::Parsed(a) => Ok(a),
            Kids::Raw(r) => r.all(),
        }
    }
}

/// How many levels a page tree may have (real ones have a handful).
const MAX_PAGE_TREE_DEPTH: usize = 256;

impl Document {
    pub(crate) fn load<S: Source>(r: &mut Reader<S>) -> Result<Self, PdfError> {
        let trailer = r.trailer().clone();
        let Some(Object::Ref(rn, rg)) = trailer.get(b"Root").cloned() else {
            return Err(malformed("trailer without /Root"));
        };
        let size = trailer
            .int(b"Size")
            .ok_or_else(|| malformed("trailer without /Size"))?;
        let max_known = r
            .sections
            .iter()
            .filter_map(|s| s.entries.max_num())
            .max()
            .unwrap_or(0);
        let next_num = u32::try_from(size)
            .map_err(|_| malformed("bad /Size"))?
            .max(max_known.saturating_add(1));
        if next_num > u32::MAX - 1_000_000 {
            return Err(malformed("too many objects"));
        }
        let catalog = r.resolve_dict(rn)?;
        let acroform = match catalog.get(b"AcroForm") {
            None | Some(Object::Null) => AcroForm::Missing,
            Some(Object::Dict(d)) => AcroForm::Direct(d.clone()),
            Some(Object::Ref(n, g)) => match r.resolve(*n)? {
                Object::Dict(d) => AcroForm::Indirect((*n, *g), d),
                Object::Null => AcroForm::Missing,
                _ => return Err(malformed("/AcroForm is not a dictionary")),
            },
            Some(_) => return Err(malformed("/AcroForm is not a dictionary")),
        };
        let fields = match &acroform {
            AcroForm::Missing => Fields::Direct(Vec::new()),
            AcroForm::Direct(d) | AcroForm::Indirect(_, d) => match d.get(b"Fields") {
                Some(Object::Ref(n, g)) => match r.resolve(*n)? {
                    Object::Array(a) => Fields::Indirect((*n, *g), a),
                    _ => return Err(malformed("/Fields is not an array")),
                },
                Some(Object::Array(a)) => Fields::Direct(a.clone()),
                _ => Fields::Direct(Vec::new()),
            },
        };
        let pages_root = match catalog.get(b"Pages") {
            Some(Object::Ref(n, g)) => (*n, *g),
            _ => return Err(malformed("catalog without /Pages")),
        };
        let (root_dict, root_kids) = r.resolve_node(pages_root.0)?;
        let page_count = match root_dict.get(b"Count") {
            Some(o) => match r.deref(&o.clone())? {
                Object::Int(c) if c >= 0 => u32::try_from(c).unwrap_or(u32::MAX),
                _ => return Err(malformed("bad page count")),
            },
            None if root_dict.get(b"Kids").is_none() && root_kids.is_none() => 1,
            None => return Err(malformed("page tree without /Count")),
        };
        Ok(Self {
            kind: r.kind(),
            startxref: r.startxref,
            trailer,
            root: (rn, rg),
            catalog,
            acroform,
            fields,
            pages_root,
            page_count,
            pages_root_dict: root_dict,
            pages_root_kids: root_kids,
            next_num,
        })
    }

    /// The catalog's /DSS with its /Certs, /CRLs and /OCSPs arrays resolved, if it has one.
    pub(crate) fn dss<S: Source>(&self, r: &mut Reader<S>) -> Result<Option<Dict>, PdfError> {
        let Some(o) = self.catalog.get(b"DSS").cloned() else {
            return Ok(None);
        };
        let Object::Dict(mut d) = r.deref(&o)? else {
            return Ok(None);
        };
        for key in [&b"Certs"[..], b"CRLs", b"OCSPs"] {
            if let Some(v) = d.get(key).cloned() {
                let v = r.deref(&v)?;
                d.set(key, v);
            }
        }
        Ok(Some(d))
    }

    /// The top-level field named `name`, if any: (reference, dictionary).
    pub(crate) fn find_field<S: Source>(
        &self,
        r: &mut Reader<S>,
        name: &[u8],
    ) -> Result<Option<FieldRef>, PdfError> {
        for f in self.fields.items() {
            let Object::Ref(n, g) = f else { continue };
            if let Object::Dict(d) = r.resolve(*n)?
                && matches!(d.get(b"T"), Some(Object::Str(t)) if t == name)
            {
                return Ok(Some(((*n, *g), d)));
            }
        }
        Ok(None)
    }

    pub(crate) fn field_exists<S: Source>(
        &self,
        r: &mut Reader<S>,
        name: &[u8],
    ) -> Result<bool, PdfError> {
        Ok(self.find_field(r, name)?.is_some())
    }

    /// Page `index` (0-based), walking the tree with /Count so that only one path is loaded.
    pub(crate) fn page<S: Source>(
        &self,
        r: &mut Reader<S>,
        index: u32,
    ) -> Result<Option<Page>, PdfError> {
        if index >= self.page_count {
            return Ok(None);
        }
        let mut node = self.pages_root;
        let mut remaining = index;
        let mut media: Option<[f64; 4]> = None;
        let mut crop: Option<[f64; 4]> = None;
        let mut rotate: i64 = 0;
        let mut visited = 0usize;
        // Each step goes one level down: a node seen again is a cycle (a fuzzed file had a
        // /Pages node among its own /Kids, and the walk went round it for ever).
        let mut descended = std::collections::HashSet::new();
        // A page found by trying the kid at the index directly, already loaded.
        let mut loaded: Option<(Dict, Option<DeferredKids>)> = None;
        loop {
            if !descended.insert(node.0) || descended.len() > MAX_PAGE_TREE_DEPTH {
                return Err(malformed("page tree has a cycle or is too deep"));
            }
            let (d, deferred): (Cow<'_, Dict>, Cow<'_, Option<DeferredKids>>) = match loaded.take()
            {
                Some((d, k)) => (Cow::Owned(d), Cow::Owned(k)),
                None if node == self.pages_root => (
                    Cow::Borrowed(&self.pages_root_dict),
                    Cow::Borrowed(&self.pages_root_kids),
                ),
                None => {
                    let (d, k) = r.resolve_node(node.0)?;
                    (Cow::Owned(d), Cow::Owned(k))
                }
            };
            if let Some(o) = d.get(b"MediaBox") {
                media = rect(r, &o.clone())?.or(media);
            }
            if let Some(o) = d.get(b"CropBox") {
                crop = rect(r, &o.clone())?.or(crop);
            }
            if let Some(o) = d.get(b"Rotate")
                && let Object::Int(v) = r.deref(&o.clone())?
            {
                rotate = v;
            }
            if is_leaf(&d, (*deferred).as_ref()) {
                if remaining != 0 {
                    return Ok(None);
                }
                let media = media.unwrap_or([0.0, 0.0, 612.0, 792.0]);
                let mut c = crop.unwrap_or(media);
                // The CropBox is clipped to the MediaBox.
                c = [
                    c[0].max(media[0]),
                    c[1].max(media[1]),
                    c[2].min(media[2]),
                    c[3].min(media[3]),
                ];
                if c[2] - c[0] < 1.0 || c[3] - c[1] < 1.0 {
                    c = media;
                }
                let mut dict = d.into_owned();
                // A page is written back whole (e.g. with new /Annots): its /Kids, if it has
                // one against the rules, goes back in its place.
                if let Some((kids, at)) = (*deferred).as_ref() {
                    let all = kids.all().map_err(|e| parse_error(e, node.0))?;
                    dict.0
                        .insert(*at, (b"Kids".to_vec(), Object::Array(all.to_vec())));
                }
                return Ok(Some(Page {
                    index,
                    id: node,
                    dict,
                    geometry: crate::stamp::geometry::PageGeometry {
                        crop: c,
                        rotate: crate::stamp::geometry::PageGeometry::normalise_rotate(rotate),
                    },
                }));
            }
            // Borrowed when direct: the root's /Kids of a long document is as long as it.
            let kids_held;
            let kids = match ((*deferred).as_ref(), d.get(b"Kids")) {
                (Some((raw, _)), _) => Kids::Raw(raw),
                (None, Some(Object::Array(a))) => Kids::Parsed(a),
                (None, Some(o @ Object::Ref(..))) => match r.deref(o)? {
                    Object::Array(a) => {
                        kids_held = a;
                        Kids::Parsed(&kids_held)
                    }
                    _ => return Err(malformed("page tree node without /Kids")),
                },
                _ => return Err(malformed("page tree node without /Kids")),
            };
            let mut descend = None;
            // A node whose /Count equals its number of kids usually holds only pages: try the
            // kid at the index directly, and scan only if it turns out to be a subtree.
            let node_count = match d.get(b"Count") {
                Some(Object::Int(c)) => *c,
                _ => -1,
            };
            if node_count == kids.len() as i64
                && let Some(Object::Ref(kn, kg)) =
                    kids.get(remaining).map_err(|e| parse_error(e, node.0))?
            {
                let (kd, kk) = r.resolve_node(kn)?;
                if kd.name_is(b"Type", b"Page") {
                    node = (kn, kg);
                    remaining = 0;
                    loaded = Some((kd, kk));
                    continue;
                }
            }
            for kid in kids.all().map_err(|e| parse_error(e, node.0))? {
                visited += 1;
                if visited > 10_000_000 {
                    return Err(malformed("page tree too large"));
                }
                let Object::Ref(kn, kg) = kid else {
                    return Err(malformed("page tree kid is not a reference"));
                };
                let (kd, kk) = r.resolve_node(*kn)?;
                let count = if is_leaf(&kd, kk.as_ref()) {
                    1
                } else {
                    match kd.get(b"Count") {
                        Some(o) => match r.deref(&o.clone())? {
                            Object::Int(c) if c >= 0 => u32::try_from(c).unwrap_or(u32::MAX),
                            _ => return Err(malformed("bad page count")),
                        },
                        None => return Err(malformed("page tree node without /Count")),
                    }
                };
                if remaining < count {
                    descend = Some((*kn, *kg));
                    break;
                }
                remaining -= count;
            }
            node = descend.ok_or_else(|| malformed("page tree shorter than its /Count"))?;
            if visited > 1 << 24 {
                return Err(malformed("page tree too deep"));
            }
        }
    }

    /// Appends annotation references to a page's /Annots (rewriting the array object if the
    /// page holds it by reference, else the page).
    pub(crate) fn append_annots<S: Source>(
        &self,
        r: &mut Reader<S>,
        page: &Page,
        new: Vec<Object>,
        upd: &mut Update,
    ) -> Result<(), PdfError> {
        match page.dict.get(b"Annots") {
            Some(Object::Ref(n, g)) => {
                let mut items = match r.resolve(*n)? {
                    Object::Array(a) => a,
                    _ => Vec::new(),
                };
                items.extend(new);
                upd.write_obj(*n, *g, &Object::Array(items));
            }
            other => {
                let mut items = match other {
                    Some(Object::Array(a)) => a.clone(),
                    _ => Vec::new(),
                };
                items.extend(new);
                let mut d = page.dict.clone();
                d.set(b"Annots", Object::Array(items));
                upd.write_dict_obj(page.id.0, page.id.1, &d);
            }
        }
        Ok(())
    }

    /// Adds `field` to the AcroForm's /Fields, creating the AcroForm if missing. With
    /// `signed`, SigFlags gets SignaturesExist|AppendOnly unless it already has SignaturesExist
    /// (changing it after a signature would count as a modification). Returns whether the
    /// caller must rewrite the catalog (`catalog` has been updated).
    pub(crate) fn add_field<S: Source>(
        &self,
        _r: &mut Reader<S>,
        catalog: &mut Dict,
        field: Object,
        alloc: &mut dyn FnMut() -> u32,
        upd: &mut Update,
        signed: bool,
    ) -> Result<bool, PdfError> {
        let fix_flags = |af: &mut Dict| {
            let flags = af.int(b"SigFlags").unwrap_or(0);
            if signed && flags & 1 == 0 {
                af.set(b"SigFlags", Object::Int(flags | 3));
            }
        };
        match &self.acroform {
            AcroForm::Missing => {
                let n = alloc();
                let mut af = Dict::default();
                af.set(b"Fields", Object::Array(vec![field]));
                fix_flags(&mut af);
                upd.write_dict_obj(n, 0, &af);
                catalog.set(b"AcroForm", Object::Ref(n, 0));
                Ok(true)
            }
            AcroForm::Direct(af) | AcroForm::Indirect(_, af) => {
                let mut af = af.clone();
                let before = af.clone();
                match &self.fields {
                    Fields::Indirect(id, items) => {
                        let mut items = items.clone();
                        items.push(field);
                        upd.write_obj(id.0, id.1, &Object::Array(items));
                    }
                    Fields::Direct(items) => {
                        let mut items = items.clone();
                        items.push(field);
                        af.set(b"Fields", Object::Array(items));
                    }
                }
                fix_flags(&mut af);
                if af == before {
                    return Ok(false);
                }
                match &self.acroform {
                    AcroForm::Indirect(id, _) => {
                        upd.write_dict_obj(id.0, id.1, &af);
                        Ok(false)
                    }
                    _ => {
                        catalog.set(b"AcroForm", Object::Dict(af));
                        Ok(true)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A page tree: a page, or a node with kids.
    #[derive(Debug, Clone)]
    enum Tree {
        Page,
        Node(Vec<Tree>),
    }

    fn tree() -> impl Strategy<Value = Tree> {
        Just(Tree::Page).prop_recursive(3, 40, 8, |inner| {
            proptest::collection::vec(inner, 1..8).prop_map(Tree::Node)
        })
    }

    fn pages_in(t: &Tree) -> usize {
        match t {
            Tree::Page => 1,
            Tree::Node(kids) => kids.iter().map(pages_in).sum(),
        }
    }

    /// Writes `t` as objects from `num` on (a node's /Rotate is its depth × 90, so that
    /// inheritance shows); returns the node's number.
    fn write_tree(t: &Tree, objs: &mut Vec<String>, depth: usize, kids_first: bool) -> u32 {
        objs.push(String::new());
        let num = objs.len() as u32;
        let body = match t {
            Tree::Page => "<< /Type /Page /MediaBox [0 0 200 300] >>".to_string(),
            Tree::Node(kids) => {
                let refs: Vec<String> = kids
                    .iter()
                    .map(|k| format!("{} 0 R", write_tree(k, objs, depth + 1, !kids_first)))
                    .collect();
                let kids = format!("/Kids [{}]", refs.join("\n"));
                let count = format!("/Count {}", pages_in(t));
                let rotate = format!("/Rotate {}", depth * 90);
                if kids_first {
                    format!("<< /Type /Pages {kids} {rotate} {count} >>")
                } else {
                    format!("<< {count} /Type /Pages {rotate} %c\n{kids}>>")
                }
            }
        };
        objs[num as usize - 1] = body;
        num
    }

    fn pdf(objs: &[String], root_pages: u32) -> Vec<u8> {
        let mut objs = objs.to_vec();
        objs.push(format!("<< /Type /Catalog /Pages {root_pages} 0 R >>"));
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objs.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f\r\n", objs.len() + 1).as_bytes(),
        );
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objs.len() + 1,
                objs.len()
            )
            .as_bytes(),
        );
        out
    }

    /// The pages in order with their inherited /Rotate, by parsing every node whole.
    fn reference_walk(r: &mut Reader<&[u8]>, num: u32, rotate: i64, out: &mut Vec<(u32, i64)>) {
        let d = r.resolve_dict(num).expect("node");
        let rotate = d.int(b"Rotate").unwrap_or(rotate);
        match d.get(b"Kids") {
            Some(Object::Array(kids)) => {
                for k in kids {
                    let Object::Ref(n, _) = k else { panic!("kid") };
                    reference_walk(r, *n, rotate, out);
                }
            }
            _ => out.push((num, rotate)),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the tree (flat, nested, /Kids before or after /Count), the walk that
        /// parses /Kids only up to the kid it needs finds the same page, with the same
        /// dictionary and inherited rotation, as parsing every node whole.
        #[test]
        fn pages_found_with_deferred_kids_agree_with_a_full_walk(
            // Past 32 kids a node's elements come from its whole parse rather than a walk.
            // A flat tree, where the kid at the index is tried directly.
            kids in prop_oneof![
                proptest::collection::vec(tree(), 1..50),
                (1usize..120).prop_map(|n| vec![Tree::Page; n]),
            ],
            kids_first in any::<bool>(),
        ) {
            let root = Tree::Node(kids);
            let mut objs = Vec::new();
            let root_num = write_tree(&root, &mut objs, 0, kids_first);
            let bytes = pdf(&objs, root_num);
            let mut r = Reader::open(bytes.as_slice()).expect("opens");
            let doc = Document::load(&mut r).expect("loads");
            prop_assert_eq!(doc.page_count as usize, pages_in(&root));
            let mut expected = Vec::new();
            reference_walk(&mut r, root_num, 0, &mut expected);
            for (i, (num, rotate)) in expected.iter().enumerate() {
                let page = doc.page(&mut r, i as u32).expect("walks").expect("a page");
                prop_assert_eq!(page.id, (*num, 0));
                prop_assert_eq!(page.dict, r.resolve_dict(*num).expect("page"));
                prop_assert_eq!(
                    page.geometry.rotate,
                    crate::stamp::geometry::PageGeometry::normalise_rotate(*rotate)
                );
            }
            prop_assert!(doc.page(&mut r, expected.len() as u32).expect("walks").is_none());
        }
    }

    fn one_node(pages_root: &str, extra: &[&str]) -> Vec<u8> {
        let mut objs: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        objs.insert(0, pages_root.to_string());
        pdf(&objs, 1)
    }

    #[test]
    fn malformed_kids_are_refused_when_reached() {
        let page = "<< /Type /Page >>";
        // Unbalanced: refused at load, as the whole parse refused it.
        let bytes = one_node("<< /Type /Pages /Kids [2 0 R (x] /Count 1 >>", &[page]);
        let mut r = Reader::open(bytes.as_slice()).expect("opens");
        assert!(Document::load(&mut r).is_err());
        // A kid that is not a reference, after the one asked for: page 0 is found, the
        // walk to page 1 meets it and refuses.
        let bytes = one_node(
            "<< /Type /Pages /Kids [2 0 R /NotAKid] /Count 2 >>",
            &[page],
        );
        let mut r = Reader::open(bytes.as_slice()).expect("opens");
        let doc = Document::load(&mut r).expect("loads");
        assert_eq!(
            doc.page(&mut r, 0).expect("walks").map(|p| p.id),
            Some((2, 0))
        );
        assert!(doc.page(&mut r, 1).is_err());
        // Fewer kids than /Count says: the direct try misses, the scan runs out.
        let bytes = one_node("<< /Type /Pages /Kids [2 0 R] /Count 3 >>", &[page]);
        let mut r = Reader::open(bytes.as_slice()).expect("opens");
        let doc = Document::load(&mut r).expect("loads");
        assert!(doc.page(&mut r, 2).is_err());
        // A page with a /Kids of its own keeps it, in its place, when written back.
        let bytes = one_node(
            "<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
            &["<< /Type /Page /Kids [] /Rotate 90 >>"],
        );
        let mut r = Reader::open(bytes.as_slice()).expect("opens");
        let doc = Document::load(&mut r).expect("loads");
        let page = doc.page(&mut r, 0).expect("walks").expect("a page");
        assert_eq!(page.dict, r.resolve_dict(2).expect("page"));
        assert_eq!(page.geometry.rotate, 90);
    }
}
