//! A minimal DER writer and a tolerant TLV reader, enough for CMS, RFC 3161 and X.509 plumbing.
//!
//! Kept in-house on purpose: RustCrypto's `der` rejects the fractional seconds RFC 3161 allows,
//! and the structures we emit are few and fixed.

use time::OffsetDateTime;

/// A DER decoding failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DER: {0}")]
pub struct DerError(pub &'static str);

pub(crate) type DerResult<T> = Result<T, DerError>;

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const BOOLEAN: u8 = 0x01;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const UTC_TIME: u8 = 0x17;

/// Encodes one TLV.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A constructed TLV from already-encoded parts.
pub(crate) fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    cons(SEQUENCE, parts)
}

/// A DER `SET OF`: elements sorted by their encoding.
pub(crate) fn set_of(mut parts: Vec<Vec<u8>>) -> Vec<u8> {
    parts.sort();
    tlv(SET, &parts.concat())
}

/// `[n] EXPLICIT`.
pub(crate) fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xA0 | n, inner)
}

pub(crate) fn octets(b: &[u8]) -> Vec<u8> {
    tlv(OCTET_STRING, b)
}

pub(crate) fn null() -> Vec<u8> {
    vec![NULL, 0]
}

pub(crate) fn boolean(v: bool) -> Vec<u8> {
    vec![BOOLEAN, 1, if v { 0xff } else { 0 }]
}

/// An INTEGER from unsigned big-endian magnitude bytes.
pub(crate) fn uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = {
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        &bytes[skip.min(bytes.len().saturating_sub(1))..]
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.is_empty() {
        content.push(0);
    } else {
        if trimmed[0] & 0x80 != 0 {
            content.push(0);
        }
        content.extend_from_slice(trimmed);
    }
    tlv(INTEGER, &content)
}

pub(crate) fn small_int(v: u64) -> Vec<u8> {
    uint(&v.to_be_bytes())
}

/// Encodes a dotted OID. Panics only on a malformed literal, which are all compile-time constants.
pub(crate) fn oid(dotted: &str) -> Vec<u8> {
    tlv(OID, &oid_content(dotted))
}

pub(crate) fn oid_content(dotted: &str) -> Vec<u8> {
    // Digits read by hand, without intermediate vectors: a seal encodes eight OIDs, and
    // `str::parse` per arc was a measurable part of a plain seal.
    let mut arcs = dotted
        .as_bytes()
        .split(|b| *b == b'.')
        .filter(|a| !a.is_empty() && a.len() <= 19 && a.iter().all(u8::is_ascii_digit))
        .map(|a| a.iter().fold(0u64, |v, b| v * 10 + u64::from(b - b'0')));
    let a0 = arcs.next().unwrap_or(0);
    let a1 = arcs.next().unwrap_or(0);
    let mut out = Vec::with_capacity(dotted.len());
    for arc in std::iter::once(a0 * 40 + a1).chain(arcs) {
        // Base 128, most significant group first, every group but the last flagged 0x80.
        let groups = (64 - arc.leading_zeros()).div_ceil(7).max(1);
        for g in (0..groups).rev() {
            let bits = ((arc >> (7 * g)) & 0x7f) as u8;
            out.push(if g == 0 { bits } else { 0x80 | bits });
        }
    }
    out
}

/// Renders OID content bytes as dotted text.
pub(crate) fn oid_to_string(content: &[u8]) -> String {
    let mut arcs = Vec::new();
    let mut acc: u64 = 0;
    for (i, b) in content.iter().enumerate() {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (a, b) = if acc < 80 {
                    (acc / 40, acc % 40)
                } else {
                    (2, acc - 80)
                };
                arcs.push(a);
                arcs.push(b);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        } else if i == content.len() - 1 || acc > (u64::MAX >> 8) {
            return "invalid".into();
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// `GeneralizedTime` in whole seconds, UTC.
pub(crate) fn generalized_time(t: OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    tlv(GENERALIZED_TIME, s.as_bytes())
}

/// Parses `GeneralizedTime` (with optional fractional seconds, as RFC 3161 allows) or `UTCTime`.
pub(crate) fn parse_time(tag: u8, content: &[u8]) -> DerResult<OffsetDateTime> {
    let s = std::str::from_utf8(content).map_err(|_| DerError("time is not ASCII"))?;
    let s = s.strip_suffix('Z').ok_or(DerError("time is not in UTC"))?;
    let (year, rest) = match tag {
        GENERALIZED_TIME => {
            let y: i32 = s
                .get(0..4)
                .and_then(|v| v.parse().ok())
                .ok_or(DerError("bad year"))?;
            (y, s.get(4..).ok_or(DerError("short time"))?)
        }
        UTC_TIME => {
            let y: i32 = s
                .get(0..2)
                .and_then(|v| v.parse().ok())
                .ok_or(DerError("bad year"))?;
            (
                if y >= 50 { 1900 + y } else { 2000 + y },
                s.get(2..).ok_or(DerError("short time"))?,
            )
        }
        _ => return Err(DerError("not a time")),
    };
    let num = |r: std::ops::Range<usize>| -> DerResult<u8> {
        rest.get(r)
            .and_then(|v| v.parse().ok())
            .ok_or(DerError("bad time field"))
    };
    let (month, day, hour, minute, second) =
        (num(0..2)?, num(2..4)?, num(4..6)?, num(6..8)?, num(8..10)?);
    let frac = &rest[10..];
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        let digits = frac.strip_prefix('.').ok_or(DerError("bad fraction"))?;
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DerError("bad fraction"));
        }
        let padded = format!("{digits:0<9}");
        padded.parse().map_err(|_| DerError("bad fraction"))?
    };
    let month = time::Month::try_from(month).map_err(|_| DerError("bad month"))?;
    let date =
        time::Date::from_calendar_date(year, month, day).map_err(|_| DerError("bad date"))?;
    let tod =
        time::Time::from_hms_nano(hour, minute, second, nanos).map_err(|_| DerError("bad time"))?;
    Ok(time::PrimitiveDateTime::new(date, tod).assume_utc())
}

/// One parsed TLV.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    /// The whole encoding, header included.
    pub raw: &'a [u8],
}

/// Reads one TLV from the front of `input`, returning it and the rest.
pub(crate) fn read_tlv(input: &[u8]) -> DerResult<(Tlv<'_>, &[u8])> {
    let tag = *input.first().ok_or(DerError("unexpected end"))?;
    if tag & 0x1f == 0x1f {
        return Err(DerError("multi-byte tags are not supported"));
    }
    let first = *input.get(1).ok_or(DerError("unexpected end"))?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 {
            return Err(DerError("indefinite length"));
        }
        if n > 4 {
            return Err(DerError("length too large"));
        }
        let bytes = input.get(2..2 + n).ok_or(DerError("unexpected end"))?;
        (
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize),
            2 + n,
        )
    };
    let end = header.checked_add(len).ok_or(DerError("length overflow"))?;
    if input.len() < end {
        return Err(DerError("truncated"));
    }
    Ok((
        Tlv {
            tag,
            content: &input[header..end],
            raw: &input[..end],
        },
        &input[end..],
    ))
}

impl<'a> Tlv<'a> {
    /// Parses exactly one TLV spanning all of `input`.
    pub(crate) fn parse_exact(input: &'a [u8]) -> DerResult<Self> {
        let (t, rest) = read_tlv(input)?;
        if !rest.is_empty() {
            return Err(DerError("trailing data"));
        }
        Ok(t)
    }

    pub(crate) fn expect(self, tag: u8) -> DerResult<Self> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(DerError("unexpected tag"))
        }
    }

    /// The children of a constructed TLV.
    pub(crate) fn children(&self) -> DerResult<Vec<Tlv<'a>>> {
        let mut out = Vec::new();
        let mut rest = self.content;
        while !rest.is_empty() {
            let (t, r) = read_tlv(rest)?;
            out.push(t);
            rest = r;
        }
        Ok(out)
    }

    pub(crate) fn oid_string(&self) -> DerResult<String> {
        if self.tag != OID || self.content.is_empty() {
            return Err(DerError("expected OID"));
        }
        Ok(oid_to_string(self.content))
    }

    /// Unsigned magnitude of an INTEGER (leading zero stripped).
    pub(crate) fn uint_bytes(&self) -> DerResult<&'a [u8]> {
        if self.tag != INTEGER || self.content.is_empty() {
            return Err(DerError("expected INTEGER"));
        }
        let c = self.content;
        Ok(if c.len() > 1 && c[0] == 0 { &c[1..] } else { c })
    }

    pub(crate) fn small_uint(&self) -> DerResult<u64> {
        let b = self.uint_bytes()?;
        if b.len() > 8 || self.content[0] & 0x80 != 0 {
            return Err(DerError("integer out of range"));
        }
        Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
    }
}

/// Children of `t`, requiring tag `tag`.
pub(crate) fn children_of<'a>(t: Tlv<'a>, tag: u8) -> DerResult<Vec<Tlv<'a>>> {
    t.expect(tag)?.children()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_roundtrip() {
        for o in [
            "1.2.840.113549.1.7.2",
            "2.16.840.1.101.3.4.2.1",
            "1.3.6.1.5.5.7.3.8",
        ] {
            let enc = oid(o);
            let t = Tlv::parse_exact(&enc).expect("valid");
            assert_eq!(t.oid_string().expect("oid"), o);
        }
        assert_eq!(
            oid("1.2.840.113549.1.7.2"),
            hex::decode("06092a864886f70d010702").expect("hex")
        );
    }

    #[test]
    fn ints() {
        assert_eq!(small_int(0), vec![2, 1, 0]);
        assert_eq!(small_int(128), vec![2, 2, 0, 128]);
        assert_eq!(uint(&[0, 0, 1]), vec![2, 1, 1]);
    }

    #[test]
    fn times_with_fractions() {
        let t = parse_time(GENERALIZED_TIME, b"20261122101112.345Z").expect("valid");
        assert_eq!(t.millisecond(), 345);
        assert!(parse_time(GENERALIZED_TIME, b"20261122101112.Z").is_err());
        assert!(parse_time(GENERALIZED_TIME, b"2026").is_err());
        let t = parse_time(UTC_TIME, b"261122101112Z").expect("valid");
        assert_eq!(t.year(), 2026);
    }

    #[test]
    fn garbage_never_panics() {
        for input in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x82, 0xff],
            &[0x1f, 0],
        ] {
            assert!(read_tlv(input).is_err());
        }
    }
}
