//! Opaque, unguessable identifiers. Each kind of thing has its own type so that a document id can
//! never be passed where an envelope id is expected. Dialects show these in their vendor's format;
//! the core only ever sees these types.

use std::fmt;
use std::str::FromStr;

use crate::values::InvalidValue;

macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $len:literal, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $len]);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                Self(rand::random())
            }
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, ":{}"), hex::encode(self.0))
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            /// Parses the hex form, in either case.
            fn from_str(text: &str) -> Result<Self, InvalidValue> {
                let bytes = hex::decode(text)
                    .map_err(|_| InvalidValue::new($label, "not a valid id"))?;
                let bytes = bytes
                    .try_into()
                    .map_err(|_| InvalidValue::new($label, "not a valid id"))?;
                Ok(Self(bytes))
            }
        }
    };
}

random_id!(
    /// A tenant: 15 random bytes, shown as 30 upper-case hex digits (a format every dialect can
    /// carry as its tenant identifier).
    TenantId,
    15,
    "tenant"
);
random_id!(
    /// An envelope (a confidential delivery, a signing order, …).
    EnvelopeId,
    16,
    "envelope"
);
random_id!(
    /// A document inside an envelope.
    DocumentId,
    16,
    "document"
);
random_id!(
    /// A participant of an envelope (recipient or signer).
    ParticipantId,
    16,
    "participant"
);
random_id!(
    /// An access link handed to a participant.
    LinkId,
    16,
    "link"
);
random_id!(
    /// A recorded event.
    EventId,
    16,
    "event"
);
random_id!(
    /// A folder of a tenant, grouping registered documents and their envelopes: 12 random bytes,
    /// so that APIs that show 24-hex ids can carry it as it is.
    FolderId,
    12,
    "folder"
);
random_id!(
    /// A document registered in a folder by its digest, whose bytes arrive later: 12 random
    /// bytes, like [`FolderId`].
    RegisteredDocumentId,
    12,
    "registered document"
);

impl TenantId {
    /// The canonical upper-case hex form, as printed by `signet tenant create`.
    pub fn to_upper_hex(&self) -> String {
        hex::encode_upper(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_id_is_30_upper_hex_and_parses_back() {
        let id = TenantId::random();
        let text = id.to_upper_hex();
        assert_eq!(text.len(), 30);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert_eq!(text.parse::<TenantId>().ok(), Some(id));
        assert_eq!(text.to_lowercase().parse::<TenantId>().ok(), Some(id));
    }

    #[test]
    fn wrong_length_is_rejected() {
        assert!("abcd".parse::<EnvelopeId>().is_err());
        assert!("zz".repeat(16).parse::<EnvelopeId>().is_err());
    }
}
