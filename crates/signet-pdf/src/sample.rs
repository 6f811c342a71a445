//! Small PDFs written from scratch, for tests and examples across the workspace: one revision,
//! a classic cross-reference table, objects numbered from 1 (the catalog first).

/// A PDF whose objects `1 0 obj` … are `objects` (text, or bytes for a binary stream; object 1
/// must be the catalog), with
/// `trailer_extra` added to the trailer dictionary (e.g. ` /Encrypt …`).
pub fn classic<S: AsRef<[u8]>>(objects: &[S], trailer_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body.as_ref());
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R{trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A PDF of `pages` empty A4 pages.
pub fn blank(pages: usize) -> Vec<u8> {
    blank_with_trailer(pages, "")
}

/// A PDF of `pages` empty A4 pages with `trailer_extra` in its trailer (an `/Encrypt`
/// dictionary, say, to make a file that claims to be encrypted).
pub fn blank_with_trailer(pages: usize, trailer_extra: &str) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 3)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        ),
    ];
    objects.extend(
        (0..pages).map(|_| "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".to_owned()),
    );
    classic(&objects, trailer_extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_pdfs_have_the_pages_asked_for() {
        for pages in [1, 3] {
            let info = crate::intake::inspect(&blank(pages)).expect("a signable PDF");
            assert_eq!(info.pages as usize, pages);
        }
        assert!(crate::intake::inspect(&blank(0)).is_err(), "no pages");
    }
}
