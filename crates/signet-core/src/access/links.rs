//! Link tokens: minted for a participant, stored only as their hash.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::ids::{EnvelopeId, LinkId, ParticipantId};
use crate::model::*;
use crate::values::Sha256Digest;

/// A fresh link token for a participant: the stored link (with only the token's hash) and the
/// absolute URL to hand out.
pub(crate) fn mint_link(
    public_url: &str,
    envelope: EnvelopeId,
    participant: ParticipantId,
    now: OffsetDateTime,
) -> (AccessLink, String) {
    let id = LinkId::generate();
    // The link's id, then 128 random bits: the id lets the link be found without a random key
    // (see `LinkKey`), the random half is what the holder proves.
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(id.as_bytes());
    bytes[16..].copy_from_slice(&rand::random::<[u8; 16]>());
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let link = AccessLink {
        id,
        envelope_id: envelope,
        participant_id: participant,
        key: LinkKey {
            link: Some(id),
            hash: link_token_hash(&token),
        },
        created_at: now,
    };
    (link, format!("{public_url}/r/{token}"))
}

/// SHA-256 of a link token (or a session's), the form in which tokens are stored.
pub fn link_token_hash(token: &str) -> Sha256Digest {
    Sha256Digest::from_bytes(Sha256::digest(token.as_bytes()).into())
}

impl LinkKey {
    /// The keys a token of 32 bytes (43 characters of base64url) can have, the likelier first:
    /// as a token that begins with its link's id, then as a token of 32 random bytes made
    /// before links carried their id. `None` if the token is not 43 characters of base64url.
    pub fn candidates(token: &str) -> Option<[Self; 2]> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            // 32 bytes are 43 characters, without padding.
            .filter(|bytes| bytes.len() == 32)?;
        let hash = link_token_hash(token);
        let id: [u8; 16] = bytes[..16].try_into().ok()?;
        Some([
            Self {
                link: Some(LinkId::from_bytes(id)),
                hash,
            },
            Self { link: None, hash },
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_begins_with_its_links_id_and_is_found_by_its_first_key() {
        let now = time::macros::datetime!(2026-12-01 00:00 UTC);
        let (link, url) = mint_link(
            "https://signet.example",
            EnvelopeId::generate(),
            ParticipantId::generate(),
            now,
        );
        let token = url
            .strip_prefix("https://signet.example/r/")
            .expect("a portal URL");
        assert_eq!(token.len(), 43);
        let [first, older] = LinkKey::candidates(token).expect("a token");
        assert_eq!(first, link.key);
        assert_eq!(link.key.link, Some(link.id));
        assert_eq!(link.key.hash, link_token_hash(token));
        assert_eq!(
            older,
            LinkKey {
                link: None,
                hash: link.key.hash
            }
        );
        // Another token has its own secret half, whatever the id.
        let (other, _) = mint_link(
            "https://signet.example",
            link.envelope_id,
            link.participant_id,
            now,
        );
        assert_ne!(other.key.hash, link.key.hash);
    }

    #[test]
    fn only_43_characters_of_base64url_are_a_token() {
        for bad in [
            "",
            "x",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ] {
            assert_eq!(LinkKey::candidates(bad), None, "{bad:?}");
        }
        assert!(LinkKey::candidates("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_some());
    }

    #[test]
    fn keys_are_stored_as_the_id_then_the_hash_and_read_back() {
        let hash = Sha256Digest::from_bytes([0xab; 32]);
        let link = LinkId::generate();
        let with_id = LinkKey {
            link: Some(link),
            hash,
        };
        assert_eq!(with_id.to_string(), format!("{link}:{}", "ab".repeat(32)));
        assert_eq!(with_id.to_string().parse::<LinkKey>().ok(), Some(with_id));
        let bare = LinkKey { link: None, hash };
        assert_eq!(bare.to_string(), "ab".repeat(32));
        assert_eq!(bare.to_string().parse::<LinkKey>().ok(), Some(bare));
        for bad in ["", ":", "zz", &format!("{link}:zz"), &format!("zz:{hash}")] {
            assert!(bad.parse::<LinkKey>().is_err(), "{bad:?}");
        }
    }
}
