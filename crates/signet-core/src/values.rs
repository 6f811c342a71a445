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
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
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
    /// A SHA3-256 digest (the hash Dedoco identifies documents by).
    Sha3Digest,
    "sha3-256"
);
