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
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let link = AccessLink {
        id: LinkId::generate(),
        envelope_id: envelope,
        participant_id: participant,
        token_hash: link_token_hash(&token),
        created_at: now,
    };
    (link, format!("{public_url}/r/{token}"))
}

/// SHA-256 of a link token, the form in which links are stored and looked up.
pub fn link_token_hash(token: &str) -> Sha256Digest {
    Sha256Digest::from_bytes(Sha256::digest(token.as_bytes()).into())
}
