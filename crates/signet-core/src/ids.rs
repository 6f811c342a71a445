//! Opaque, unguessable identifiers (the 16-byte ones begin with their creation time, so that
//! rows made together are stored together: see `time_ordered`). Each kind of thing has its own
//! type so that a document id can never be passed where an envelope id is expected. Dialects show these in their vendor's format;
//! the core only ever sees these types.

use std::fmt;
use std::str::FromStr;

use crate::values::{InvalidValue, LOWER_HEX, UPPER_HEX, hex_string, write_hex};

/// The first bytes of a [`time_ordered`] id: milliseconds since the Unix epoch, 48 bits (until
/// the year 10889).
const TIME_PREFIX: usize = 6;

/// A fresh 16-byte id: the time in milliseconds, big-endian, then 80 random bits.
///
/// Why not 128 random bits: ids are the keys of the tables a create writes to, and random keys
/// put each new row in a random leaf of each index, so every create dirtied a dozen pages of
/// its own that the database wrote out whole (on SQLite its WAL carried ~27 pages per create,
/// on PostgreSQL each first touch after a checkpoint is a full-page image). Ids made one after
/// another share their prefix and land in the same few pages. 80 random bits keep an id
/// unguessable; the time in it is the server's clock at creation, recorded nowhere else as
/// evidence, and is not read back by anything.
fn time_ordered() -> [u8; 16] {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    let mut id: [u8; 16] = rand::random();
    let millis = u64::try_from(millis).unwrap_or(u64::MAX).to_be_bytes();
    id[..TIME_PREFIX].copy_from_slice(&millis[8 - TIME_PREFIX..]);
    id
}

macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $len:literal, $label:literal) => {
        random_id!(@type $(#[$doc])* $name, $len, $label);
        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                Self(rand::random())
            }
        }
    };
    (time_ordered $(#[$doc:meta])* $name:ident, $label:literal) => {
        random_id!(@type $(#[$doc])* $name, 16, $label);
        impl $name {
            /// A fresh id: ids made one after another sort together (see [`time_ordered`]).
            pub fn generate() -> Self {
                Self(time_ordered())
            }
        }
    };
    (@type $(#[$doc:meta])* $name:ident, $len:literal, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $len]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// The id with these raw bytes.
            pub fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0, LOWER_HEX)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!($label, ":"))?;
                write_hex(f, &self.0, LOWER_HEX)
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
    time_ordered
    /// An envelope (a confidential delivery, a signing order, …).
    EnvelopeId,
    "envelope"
);
random_id!(
    time_ordered
    /// A document inside an envelope.
    DocumentId,
    "document"
);
random_id!(
    time_ordered
    /// A participant of an envelope (recipient or signer).
    ParticipantId,
    "participant"
);
random_id!(
    time_ordered
    /// An access link handed to a participant.
    LinkId,
    "link"
);
random_id!(
    time_ordered
    /// A recorded event.
    EventId,
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
        hex_string(&self.0, UPPER_HEX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_show_as_lower_hex_and_debug_names_their_kind() {
        let id = EnvelopeId::generate();
        let shown = id.to_string();
        assert_eq!(shown, hex::encode(id.as_bytes()));
        assert_eq!(format!("{id:?}"), format!("envelope:{shown}"));
        assert_eq!(shown.to_uppercase().parse::<EnvelopeId>().ok(), Some(id));
    }

    fn millis_now() -> u64 {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    }

    fn prefix_millis(id: &EnvelopeId) -> u64 {
        let mut millis = [0u8; 8];
        millis[8 - TIME_PREFIX..].copy_from_slice(&id.as_bytes()[..TIME_PREFIX]);
        u64::from_be_bytes(millis)
    }

    #[test]
    fn generated_ids_begin_with_their_time_and_end_unguessable() {
        let before = millis_now();
        let ids: Vec<EnvelopeId> = (0..1_000).map(|_| EnvelopeId::generate()).collect();
        let after = millis_now();
        for pair in ids.windows(2) {
            assert!(
                prefix_millis(&pair[0]) <= prefix_millis(&pair[1]),
                "ids made later sort later"
            );
        }
        for id in &ids {
            assert!((before..=after).contains(&prefix_millis(id)), "{id:?}");
        }
        // The random part: no two alike, and not constant within one millisecond.
        let tails: std::collections::HashSet<_> = ids
            .iter()
            .map(|id| id.as_bytes()[TIME_PREFIX..].to_vec())
            .collect();
        assert_eq!(tails.len(), ids.len());
        let ones = ids
            .iter()
            .map(|id| {
                id.as_bytes()[TIME_PREFIX..]
                    .iter()
                    .map(|b| b.count_ones())
                    .sum::<u32>()
            })
            .sum::<u32>();
        let bits = u32::try_from(ids.len() * (16 - TIME_PREFIX) * 8).unwrap_or(u32::MAX);
        // 80,000 fair coin flips: within 2 % of half is over 10 standard deviations.
        assert!(
            ones.abs_diff(bits / 2) < bits / 50,
            "{ones} ones in {bits} bits"
        );
    }

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
