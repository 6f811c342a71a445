//! Signing links: each participant's link carries a token that names them and proves it was
//! minted by this instance, so no table of links is needed and the same link can be shown to the
//! sender, e-mailed in every invitation and reminder, and handed to a dialect's client.
//!
//! The token is the participant id followed by a MAC of it under a key derived from the master
//! key, in URL-safe base64. It proves nothing about the person holding it: the signer's app
//! still asks for the participant's code (where their authentication method has one).

use base64::Engine as _;

use crate::crypto::{MasterKey, constant_time_eq, hmac_sha256};
use crate::ids::ParticipantId;
use crate::ports::Core;

/// The key derivation purpose of signing-link MACs.
const LINK_KEY_PURPOSE: &str = "signing-link";
/// Bytes of MAC kept in a token (128 bits: forging one is a 2^-128 guess).
const MAC_BYTES: usize = 16;
/// Characters of a token: base64 of 16 id bytes and 16 MAC bytes, unpadded.
pub const TOKEN_CHARS: usize = 43;

fn mac(master: &MasterKey, participant: &ParticipantId) -> [u8; 32] {
    hmac_sha256(&master.derive(LINK_KEY_PURPOSE), participant.as_bytes())
}

/// The signing token of `participant`.
pub(crate) fn signing_token(master: &MasterKey, participant: &ParticipantId) -> String {
    let mut raw = Vec::with_capacity(32);
    raw.extend_from_slice(participant.as_bytes());
    raw.extend_from_slice(&mac(master, participant)[..MAC_BYTES]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The participant a token names, if this instance minted it.
pub(crate) fn participant_of_token(master: &MasterKey, token: &str) -> Option<ParticipantId> {
    if token.len() != TOKEN_CHARS {
        return None;
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let (id, tag) = raw.split_at_checked(16)?;
    let participant: ParticipantId = hex::encode(id).parse().ok()?;
    constant_time_eq(tag, &mac(master, &participant)[..MAC_BYTES]).then_some(participant)
}

impl Core {
    /// The absolute URL of `participant`'s signing link.
    pub fn signing_url(&self, participant: &ParticipantId) -> String {
        format!(
            "{}/sign/{}",
            self.settings().public_url,
            signing_token(self.master(), participant)
        )
    }

    /// The participant a signing token names; `None` for anything this instance did not mint.
    pub fn participant_of_signing_token(&self, token: &str) -> Option<ParticipantId> {
        participant_of_token(self.master(), token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_participant_and_nothing_else_passes() {
        let master = MasterKey::generate();
        let participant = ParticipantId::generate();
        let token = signing_token(&master, &participant);
        assert_eq!(token.len(), TOKEN_CHARS);
        assert_eq!(participant_of_token(&master, &token), Some(participant));
        // Another instance's key, a changed character, a truncated or padded token: refused.
        assert_eq!(participant_of_token(&MasterKey::generate(), &token), None);
        let mut chars: Vec<char> = token.chars().collect();
        for i in [0, 20, 42] {
            let original = chars[i];
            chars[i] = if original == 'A' { 'B' } else { 'A' };
            let forged: String = chars.iter().collect();
            assert_eq!(
                participant_of_token(&master, &forged),
                None,
                "changed at {i}"
            );
            chars[i] = original;
        }
        assert_eq!(participant_of_token(&master, &token[..42]), None);
        assert_eq!(participant_of_token(&master, &format!("{token}=")), None);
        assert_eq!(participant_of_token(&master, ""), None);
        // Another participant's token does not name this one.
        let other = signing_token(&master, &ParticipantId::generate());
        assert_ne!(participant_of_token(&master, &other), Some(participant));
    }
}
