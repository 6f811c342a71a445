//! Writing an incremental update: new object versions appended after the existing bytes, then
//! a cross-reference section of the same kind as the input's, chained with /Prev.

use super::object::{write_dict, write_object};
use super::{Dict, Object, XrefKind};

/// An incremental update being written.
pub(crate) struct Update {
    /// Length of the input: offsets in `buf` start there.
    pub base: u64,
    pub kind: XrefKind,
    pub buf: Vec<u8>,
    offsets: Vec<(u32, u16, u64)>,
    pub xref_offset: u64,
}

impl Update {
    pub(crate) fn new(base: u64, kind: XrefKind) -> Self {
        Self {
            base,
            kind,
            buf: Vec::with_capacity(8192),
            offsets: Vec::new(),
            xref_offset: 0,
        }
    }

    pub(crate) fn begin_obj_gen(&mut self, num: u32, generation: u16) {
        self.offsets
            .push((num, generation, self.base + self.buf.len() as u64));
        write_into(&mut self.buf, format_args!("{num} {generation} obj\n"));
    }

    pub(crate) fn begin_obj(&mut self, num: u32) {
        self.begin_obj_gen(num, 0);
    }

    pub(crate) fn end_obj(&mut self) {
        self.buf.extend_from_slice(b"\nendobj\n");
    }

    pub(crate) fn write_obj(&mut self, num: u32, generation: u16, obj: &Object) {
        self.begin_obj_gen(num, generation);
        write_object(&mut self.buf, obj);
        self.end_obj();
    }

    pub(crate) fn write_dict_obj(&mut self, num: u32, generation: u16, d: &Dict) {
        self.begin_obj_gen(num, generation);
        write_dict(&mut self.buf, d);
        self.end_obj();
    }

    pub(crate) fn write_stream_obj(&mut self, num: u32, data: &[u8]) {
        self.begin_obj(num);
        write_into(
            &mut self.buf,
            format_args!("<</Length {}>>\nstream\n", data.len()),
        );
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\nendstream");
        self.end_obj();
    }

    /// Writes a stream object with `dict` (its /Length is set here) and already-encoded `data`.
    pub(crate) fn write_stream_with(&mut self, num: u32, mut dict: Dict, data: &[u8]) {
        dict.set(b"Length", Object::Int(data.len() as i64));
        self.begin_obj(num);
        write_dict(&mut self.buf, &dict);
        self.buf.extend_from_slice(b"\nstream\n");
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\nendstream");
        self.end_obj();
    }

    /// Writes the xref section and trailer. `size` is the next free object number.
    pub(crate) fn finish(&mut self, old_trailer: &Dict, size: u32, prev: u64) {
        let mut trailer = Dict::default();
        for key in [&b"Root"[..], b"Info"] {
            if let Some(v) = old_trailer.get(key) {
                trailer.set(key, v.clone());
            }
        }
        let new_id = fresh_id();
        let first_id = match old_trailer.get(b"ID") {
            Some(Object::Array(a)) => a.first().cloned(),
            _ => None,
        }
        .unwrap_or_else(|| Object::Str(new_id.to_vec()));
        trailer.set(
            b"ID",
            Object::Array(vec![first_id, Object::Str(new_id.to_vec())]),
        );
        trailer.set(b"Prev", Object::Int(prev as i64));
        let mut entries = self.offsets.clone();
        let xref_at = self.base + self.buf.len() as u64;
        self.xref_offset = xref_at;
        match self.kind {
            XrefKind::Table => {
                trailer.set(b"Size", Object::Int(i64::from(size)));
                entries.sort();
                self.buf.extend_from_slice(b"xref\n");
                for run in runs(&entries) {
                    write_into(&mut self.buf, format_args!("{} {}\n", run[0].0, run.len()));
                    for (_, g, off) in run {
                        write_into(&mut self.buf, format_args!("{off:010} {g:05} n\r\n"));
                    }
                }
                self.buf.extend_from_slice(b"trailer\n");
                write_dict(&mut self.buf, &trailer);
                self.buf.push(b'\n');
            }
            XrefKind::Stream => {
                let xref_num = size;
                entries.push((xref_num, 0, xref_at));
                entries.sort();
                let mut data = Vec::new();
                let mut index = Vec::new();
                for run in runs(&entries) {
                    index.push(Object::Int(i64::from(run[0].0)));
                    index.push(Object::Int(run.len() as i64));
                    for (_, g, off) in run {
                        data.push(1);
                        data.extend_from_slice(&off.to_be_bytes());
                        data.extend_from_slice(&g.to_be_bytes());
                    }
                }
                trailer.set(b"Type", Object::Name(b"XRef".to_vec()));
                trailer.set(b"Size", Object::Int(i64::from(size) + 1));
                trailer.set(b"Index", Object::Array(index));
                trailer.set(
                    b"W",
                    Object::Array(vec![Object::Int(1), Object::Int(8), Object::Int(2)]),
                );
                trailer.set(b"Length", Object::Int(data.len() as i64));
                write_into(&mut self.buf, format_args!("{xref_num} 0 obj\n"));
                write_dict(&mut self.buf, &trailer);
                self.buf.extend_from_slice(b"\nstream\n");
                self.buf.extend_from_slice(&data);
                self.buf.extend_from_slice(b"\nendstream\nendobj\n");
            }
        }
        write_into(&mut self.buf, format_args!("startxref\n{xref_at}\n%%EOF\n"));
    }
}

impl Update {
    /// Ends a document written from scratch (`base` is the header's length, objects numbered
    /// 1 to `size - 1` without gaps): a complete classic xref table and a trailer.
    pub(crate) fn finish_standalone(&mut self, trailer_extra: &Dict, size: u32) {
        let mut entries = self.offsets.clone();
        entries.sort();
        let xref_at = self.base + self.buf.len() as u64;
        self.xref_offset = xref_at;
        write_into(
            &mut self.buf,
            format_args!("xref\n0 {size}\n0000000000 65535 f\r\n"),
        );
        let mut expected = 1;
        for (num, g, off) in entries {
            // Numbers without an object (none when the caller keeps its promise) are free.
            while expected < num {
                self.buf.extend_from_slice(b"0000000000 00000 f\r\n");
                expected += 1;
            }
            write_into(&mut self.buf, format_args!("{off:010} {g:05} n\r\n"));
            expected = num + 1;
        }
        let mut trailer = trailer_extra.clone();
        trailer.set(b"Size", Object::Int(i64::from(size)));
        self.buf.extend_from_slice(b"trailer\n");
        write_dict(&mut self.buf, &trailer);
        write_into(
            &mut self.buf,
            format_args!("\nstartxref\n{xref_at}\n%%EOF\n"),
        );
    }
}

fn runs(entries: &[(u32, u16, u64)]) -> Vec<&[(u32, u16, u64)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || entries[i].0 != entries[i - 1].0 + 1 {
            out.push(&entries[start..i]);
            start = i;
        }
    }
    out
}

/// A fresh second /ID element (unique per revision, PDF 32000 14.4): SHA-256 of a per-thread
/// random seed and a counter. Drawing 16 bytes from the system generator for each revision
/// cost as much as a tenth of a plain seal's own work (aws-lc gathers entropy on each call).
fn fresh_id() -> [u8; 16] {
    use std::cell::Cell;
    thread_local! {
        static SEED: [u8; 32] = {
            let mut seed = [0u8; 32];
            // A failed generator leaves a fixed seed: the IDs then still differ by counter
            // within the thread, which is all the /ID needs (it is not a secret).
            let _ = aws_lc_rs::rand::fill(&mut seed);
            seed
        };
        static COUNTER: Cell<u64> = const { Cell::new(0) };
    }
    let n = COUNTER.with(|c| {
        let n = c.get();
        c.set(n.wrapping_add(1));
        n
    });
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    SEED.with(|s| ctx.update(s));
    ctx.update(&n.to_le_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&ctx.finish().as_ref()[..16]);
    id
}

/// Writes formatted text straight into `buf` (no intermediate `String`).
fn write_into(buf: &mut Vec<u8>, args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    // Writing into a vector cannot fail (it grows or aborts on allocation failure).
    let _ = buf.write_fmt(args);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_revision_gets_its_own_second_id() {
        let ids: std::collections::HashSet<[u8; 16]> = (0..1000).map(|_| fresh_id()).collect();
        assert_eq!(ids.len(), 1000);
        // Another thread has its own seed: no collisions with this one's.
        let other = std::thread::spawn(|| (0..1000).map(|_| fresh_id()).collect::<Vec<_>>())
            .join()
            .expect("thread");
        assert!(other.iter().all(|id| !ids.contains(id)));
    }
}
