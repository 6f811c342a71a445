//! Small-secret cryptography shared by every part of Signet: the instance master key, sealing of
//! short secrets under it (API keys, blob data keys), keyed MACs and constant-time comparison.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const NONCE_LEN: usize = 24;

/// The instance master key: 32 random bytes from which every other key is derived or under which
/// it is sealed. It never leaves the process except in the key file written at first start.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// A sealed secret failed to open: it was altered, or sealed under another key or purpose.
#[derive(Debug, thiserror::Error)]
#[error("sealed secret failed authentication")]
pub struct OpenError;

impl MasterKey {
    /// A fresh random master key.
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the 64-hex-digit form used in key files and `SIGNET_MASTER_KEY`.
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The 64-hex-digit form, for the key file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Derives an independent 32-byte subkey for one purpose (HMAC-SHA256 as a PRF), so that a
    /// key used to sign upload URLs can never open a sealed API key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        hmac_sha256(&self.0, purpose.as_bytes())
    }

    /// Encrypts a short secret under a subkey for `purpose`; the output carries its own nonce.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(&self.derive(purpose).into());
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce length cannot fail; an error here would mean the
        // AEAD implementation broke its own contract.
        #[allow(clippy::expect_used)]
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption is infallible for in-memory buffers");
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`MasterKey::seal`] produced for the same purpose.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(&self.derive(purpose).into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| OpenError)
    }
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    #[allow(clippy::expect_used)]
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secret_opens_only_for_its_purpose() {
        let key = MasterKey::generate();
        let sealed = key.seal("api-key", b"secret");
        assert_eq!(key.open("api-key", &sealed).ok(), Some(b"secret".to_vec()));
        assert!(key.open("data-key", &sealed).is_err());
        assert!(MasterKey::generate().open("api-key", &sealed).is_err());
    }

    #[test]
    fn flipped_byte_fails_to_open() {
        let key = MasterKey::generate();
        let mut sealed = key.seal("p", b"secret");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(key.open("p", &sealed).is_err());
    }

    #[test]
    fn hex_round_trip() {
        let key = MasterKey::generate();
        let again = MasterKey::from_hex(&key.to_hex()).map(|k| k.to_hex());
        assert_eq!(again, Some(key.to_hex()));
        assert!(MasterKey::from_hex("abcd").is_none());
    }
}
