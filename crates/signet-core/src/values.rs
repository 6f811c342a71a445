//! Validated values: each is parsed once at the edge, and the core never sees the raw string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value that could not be parsed; the message says what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    /// The kind of value being parsed.
    pub field: &'static str,
    /// Why it was rejected.
    pub reason: String,
}

impl InvalidValue {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Hex digits in order, lower case.
pub(crate) const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
/// Hex digits in order, upper case.
pub(crate) const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Writes `bytes` in hex with `digits` ([`LOWER_HEX`] or [`UPPER_HEX`]), without allocating.
///
/// Why not the hex crate's `encode`: it builds a new string one `char` at a time through an
/// iterator, and ids and digests are written out many times per request (bound as statement
/// parameters, shown in answers): that was about 2.5 % of a create's server CPU.
pub(crate) fn write_hex(out: &mut impl fmt::Write, bytes: &[u8], digits: &[u8; 16]) -> fmt::Result {
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(buf.len() / 2) {
        let mut used = 0;
        for byte in chunk {
            buf[used] = digits[usize::from(byte >> 4)];
            buf[used + 1] = digits[usize::from(byte & 0x0f)];
            used += 2;
        }
        // Only ASCII digits were written, so this never fails.
        out.write_str(std::str::from_utf8(&buf[..used]).map_err(|_| fmt::Error)?)?;
    }
    Ok(())
}

/// `bytes` in hex with `digits`, as a new string (see [`write_hex`]).
pub(crate) fn hex_string(bytes: &[u8], digits: &[u8; 16]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    // Writing to a `String` does not fail.
    let _ = write_hex(&mut out, bytes, digits);
    out
}

/// `bytes` in lower-case hex (see [`write_hex`]).
pub fn lower_hex(bytes: &[u8]) -> String {
    hex_string(bytes, LOWER_HEX)
}

macro_rules! digest_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps a raw 32-byte digest.
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }
            /// The raw digest.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
            /// Lower-case hex, without prefix.
            pub fn to_hex(&self) -> String {
                lower_hex(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0, LOWER_HEX)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, "({})"), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            /// Accepts 64 hex digits in either case, with or without a `0x` prefix.
            fn from_str(text: &str) -> Result<Self, InvalidValue> {
                let digits = text.strip_prefix("0x").unwrap_or(text);
                let bytes = hex::decode(digits)
                    .map_err(|_| InvalidValue::new($label, "must be hexadecimal"))?;
                let bytes: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| InvalidValue::new($label, "must be 64 hex digits"))?;
                Ok(Self(bytes))
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

digest_type!(
    /// A SHA-256 digest.
    Sha256Digest,
    "sha256"
);
digest_type!(
    /// A SHA3-256 digest (some vendor APIs identify documents by it).
    Sha3Digest,
    "sha3-256"
);

/// An e-mail address, held to the rules the mailer applies when it sends (so that an address
/// accepted here is never refused later, leaving an invitation retrying for ever): trimmed,
/// lower-cased and NFC-normalised; no control, bidirectional-override or invisible characters; a
/// local part that is a valid dot-atom (RFC 5321/6531, as `email_address` checks it for lettre;
/// quoted local parts are refused); a dotted host name that converts to ASCII by IDNA (no address
/// literals). At most 254 characters.
/// Compared case-insensitively (stored lower-case) because that is how every mail system in
/// practice treats them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        use unicode_normalization::UnicodeNormalization as _;
        let bad = |reason: &str| InvalidValue::new("email", reason);
        let text = text.trim();
        if text.chars().any(is_hidden_or_control) {
            return Err(bad(
                "contains a control, direction-changing or invisible character",
            ));
        }
        let text: String = text.to_lowercase().nfc().collect();
        if text.is_empty() || text.len() > 254 {
            return Err(bad("must be 1 to 254 characters"));
        }
        if text
            .chars()
            .any(|c| c.is_whitespace() || "<>()[],;:\"\\".contains(c))
        {
            return Err(bad("contains a character not allowed in an address"));
        }
        let (local, domain) = text.rsplit_once('@').ok_or_else(|| bad("needs an @"))?;
        if local.is_empty() || !email_address::EmailAddress::is_valid_local_part(local) {
            return Err(bad("the part before the @ is not a valid mailbox name"));
        }
        let ascii_domain =
            idna::domain_to_ascii(domain).map_err(|_| bad("the domain is not valid"))?;
        let labels_ok = ascii_domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if !ascii_domain.contains('.')
            || !labels_ok
            || !email_address::EmailAddress::is_valid_domain(&ascii_domain)
        {
            return Err(bad("needs a domain such as example.com"));
        }
        Ok(Self(text))
    }
}

/// Characters that change how text around them is shown without being seen themselves, or are
/// not text at all: control characters, the bidirectional embeddings, overrides, isolates and
/// marks, zero-width spaces and joiners, the word joiner and invisible operators, the byte-order
/// mark, the soft hyphen. In a name or an address they only serve to disguise it
/// (`invoice\u{202e}fdp.exe` shows as "invoiceexe.pdf").
pub fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
        )
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(text: String) -> Result<Self, InvalidValue> {
        text.parse()
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mobile number in E.164 form, together with the country and national number it was built
/// from (vendor APIs echo those back in contact lookups).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone {
    e164: String,
    iso_country: String,
    national: String,
}

impl Phone {
    /// Builds and validates a number from an ISO 3166 alpha-2 country and a national number,
    /// using libphonenumber's metadata.
    pub fn from_national(iso_country: &str, national: &str) -> Result<Self, InvalidValue> {
        let country_code = iso_country.trim().to_ascii_uppercase();
        let country: phonenumber::country::Id = country_code
            .parse()
            .map_err(|_| InvalidValue::new("country", "unknown ISO country code"))?;
        let national = national.trim();
        let number = phonenumber::parse(Some(country), national)
            .map_err(|_| InvalidValue::new("phone", "not a phone number"))?;
        // The length check first: it reads a table, where `is_valid` tries the patterns of
        // every region sharing the calling code (two dozen for +1), ~7 % of a create's CPU.
        if !has_possible_length(&country_code, &number) && !phonenumber::is_valid(&number) {
            return Err(InvalidValue::new(
                "phone",
                "not a valid number for that country",
            ));
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Self {
            e164,
            iso_country: country_code,
            national: national.to_owned(),
        })
    }

    /// Builds and validates a number given in E.164 form (`+` and digits); its country is the
    /// one the number belongs to.
    pub fn from_e164(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim();
        if !text.starts_with('+') {
            return Err(InvalidValue::new("phone", "an E.164 number starts with +"));
        }
        let number = phonenumber::parse(None, text)
            .map_err(|_| InvalidValue::new("phone", "not a phone number"))?;
        let country = number
            .country()
            .id()
            .ok_or_else(|| InvalidValue::new("phone", "no country has this number"))?;
        Self::from_national(country.as_ref(), &number.national().to_string())
    }

    /// Rebuilds a phone from its stored parts without re-validating.
    pub fn from_stored(e164: String, iso_country: String, national: String) -> Self {
        Self {
            e164,
            iso_country,
            national,
        }
    }

    /// `+` and digits.
    pub fn e164(&self) -> &str {
        &self.e164
    }
    /// The ISO 3166 alpha-2 country the number was given with.
    pub fn iso_country(&self) -> &str {
        &self.iso_country
    }
    /// The national number as the client gave it.
    pub fn national(&self) -> &str {
        &self.national
    }
}

/// Whether the number has a length that numbers of that country can have. Full validity
/// (libphonenumber's number plans) is too strict for us: vendors' own examples use fictional
/// exchanges such as 819-123-xxxx that no plan assigns, and the SMS provider is the one that
/// finally knows whether a number is reachable.
fn has_possible_length(iso_country: &str, number: &phonenumber::PhoneNumber) -> bool {
    let Some(meta) = phonenumber::metadata::DATABASE.by_id(iso_country) else {
        return false;
    };
    if number.code().value() != meta.country_code() {
        return false;
    }
    let Ok(digits) = u16::try_from(number.national().value().to_string().len()) else {
        return false;
    };
    let d = meta.descriptors();
    std::iter::once(d.general())
        .chain(
            [
                d.fixed_line(),
                d.mobile(),
                d.voip(),
                d.personal_number(),
                d.uan(),
                d.pager(),
            ]
            .into_iter()
            .flatten(),
        )
        .any(|desc| desc.possible_length().contains(&digits))
}

/// A language the portal and messages are available in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Language {
    /// English.
    #[default]
    En,
    /// French.
    Fr,
    /// Danish.
    Da,
    /// German.
    De,
    /// Finnish.
    Fi,
    /// Norwegian Bokmål.
    Nb,
    /// Norwegian Nynorsk.
    Nn,
    /// Swedish.
    Sv,
}

impl Language {
    /// The ISO 639-1 code in lower case.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
            Language::Da => "da",
            Language::De => "de",
            Language::Fi => "fi",
            Language::Nb => "nb",
            Language::Nn => "nn",
            Language::Sv => "sv",
        }
    }

    /// Every language, English first.
    pub const ALL: [Language; 8] = [
        Language::En,
        Language::Fr,
        Language::Da,
        Language::De,
        Language::Fi,
        Language::Nb,
        Language::Nn,
        Language::Sv,
    ];
}

impl FromStr for Language {
    type Err = InvalidValue;
    /// Accepts `EN`, `fr`, `fr-CA`, `en_US`, `de`, … (`no`, plain Norwegian, is Bokmål).
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let primary = text
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Ok(Language::En),
            "fr" => Ok(Language::Fr),
            "da" => Ok(Language::Da),
            "de" => Ok(Language::De),
            "fi" => Ok(Language::Fi),
            "nb" | "no" => Ok(Language::Nb),
            "nn" => Ok(Language::Nn),
            "sv" => Ok(Language::Sv),
            _ => Err(InvalidValue::new(
                "language",
                "supported languages are EN, FR, DA, DE, FI, NB, NN and SV",
            )),
        }
    }
}

/// A document's file name: 1 to 255 characters, no path separators, control, bidirectional or
/// invisible characters (see [`is_hidden_or_control`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocumentName(String);

impl DocumentName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DocumentName {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 255 {
            return Err(InvalidValue::new(
                "document name",
                "must be 1 to 255 characters",
            ));
        }
        if text
            .chars()
            .any(|c| is_hidden_or_control(c) || c == '/' || c == '\\')
            || text == "."
            || text == ".."
        {
            return Err(InvalidValue::new(
                "document name",
                "must not contain path separators, control, direction-changing or invisible characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }
}

impl TryFrom<String> for DocumentName {
    type Error = InvalidValue;
    fn try_from(text: String) -> Result<Self, InvalidValue> {
        text.parse()
    }
}

impl From<DocumentName> for String {
    fn from(name: DocumentName) -> String {
        name.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_every_byte_as_two_digits_in_either_case_at_any_length() {
        // Lengths around the 32-byte chunk, and every byte value.
        let bytes: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        for len in [0, 1, 2, 31, 32, 33, 64, 65, 512] {
            let bytes = &bytes[..len];
            assert_eq!(lower_hex(bytes), hex::encode(bytes), "{len}");
            let mut upper = String::new();
            write_hex(&mut upper, bytes, UPPER_HEX).expect("writes to a string");
            assert_eq!(upper, hex::encode_upper(bytes), "{len}");
        }
    }

    #[test]
    fn phone_from_vendor_example_is_e164() {
        let phone = Phone::from_national("CA", "8191234567").map(|p| p.e164().to_owned());
        assert_eq!(phone.ok().as_deref(), Some("+18191234567"));
    }

    #[test]
    fn bad_phones_are_rejected() {
        assert!(Phone::from_national("XX", "8191234567").is_err());
        assert!(Phone::from_national("CA", "12").is_err());
        assert!(Phone::from_national("CA", "not a number").is_err());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            " Recipient@Example.COM "
                .parse::<Email>()
                .map(String::from)
                .ok()
                .as_deref(),
            Some("recipient@example.com")
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@example.com",
            "a b@example.com",
            "a@.com",
            "a@b@example.com",
            // What the mailer refused after the API had accepted them (the probe's addresses).
            "rtlo\u{202e}@example.com",
            "zw\u{200b}@example.com",
            "\u{130}\u{130}\u{130}@example.com",
            "a\u{2066}b@example.com",
            "a@exa\u{200d}mple.com",
            "a..b@example.com",
            "a@-example.com",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?} accepted");
        }
        // Internationalised addresses stay welcome, NFC-normalised.
        let decomposed = "jose\u{301}@exa\u{301}mple.com"
            .parse::<Email>()
            .expect("IDN");
        assert_eq!(decomposed.as_str(), "jos\u{e9}@ex\u{e1}mple.com");
        assert!(
            "\u{5f20}\u{4f1f}@\u{4f8b}\u{5b50}.\u{4e2d}\u{56fd}"
                .parse::<Email>()
                .is_ok()
        );
        assert!("first.last+tag@sub.example.co.uk".parse::<Email>().is_ok());
    }

    #[test]
    fn languages_parse_loosely() {
        assert_eq!("FR".parse::<Language>().ok(), Some(Language::Fr));
        assert_eq!("en-CA".parse::<Language>().ok(), Some(Language::En));
        assert_eq!("DE".parse::<Language>().ok(), Some(Language::De));
        assert_eq!("no-NO".parse::<Language>().ok(), Some(Language::Nb));
        assert!("XX".parse::<Language>().is_err());
        for language in Language::ALL {
            assert_eq!(language.code().parse::<Language>().ok(), Some(language));
        }
    }

    #[test]
    fn digests_round_trip_with_prefix() {
        let hex = "ab".repeat(32);
        let digest: Sha256Digest = format!("0x{hex}").parse().expect("valid digest");
        assert_eq!(digest.to_hex(), hex);
        assert!("ab".parse::<Sha3Digest>().is_err());
    }

    #[test]
    fn document_names_refuse_paths() {
        assert!("pay.pdf".parse::<DocumentName>().is_ok());
        assert!("../etc/passwd".parse::<DocumentName>().is_err());
        assert!("".parse::<DocumentName>().is_err());
    }

    #[test]
    fn document_names_refuse_disguises() {
        for disguised in [
            "invoice\u{202e}fdp.exe",
            "invoice\u{2067}fdp.exe",
            "pay\u{200b}slip.pdf",
            "pay\u{feff}.pdf",
            "a\u{0}b.pdf",
        ] {
            assert!(disguised.parse::<DocumentName>().is_err(), "{disguised:?}");
        }
        assert!(
            "fiche de paie \u{e9}t\u{e9} \u{5e9}\u{5dc}\u{5d5}\u{5dd}.pdf"
                .parse::<DocumentName>()
                .is_ok()
        );
    }
}
