//! Signed tree heads as C2SP `tlog-checkpoint`s inside C2SP `signed-note`s, signed with Ed25519.
//!
//! These formats are what transparency-log witnesses, monitors and the Go `sumdb/note` tooling
//! already read, so a tree head Signet publishes can be checked and cosigned by software nobody
//! here wrote.
//!
//! # Message format
//!
//! A signed checkpoint is UTF-8 text without control characters other than `\n`:
//!
//! ```text
//! <origin>\n                      checkpoint body = the signed note text
//! <tree size in decimal>\n
//! <base64 (standard, padded) of the 32-byte root hash>\n
//! [<extension line>\n ...]
//! \n                              blank line ending the text
//! — <key name> <base64(key ID ‖ signature)>\n    one or more signature lines
//! ```
//!
//! - The signature line starts with U+2014 EM DASH and a space. The key name is non-empty, holds
//!   no whitespace and no `+`.
//! - The key ID is the first 4 bytes of `SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)`,
//!   big-endian; `0x01` names Ed25519.
//! - The Ed25519 signature (64 bytes) is over the note text: the body including its final newline,
//!   without the blank line.
//! - A verifier key is written `<name>+<8 lowercase hex key ID>+<base64(0x01 ‖ public key)>`, a
//!   signer key `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 ‖ 32-byte seed)>`.
//!
//! [`NoteVerifier::open`] accepts a note only if it is well formed, carries at most 100 signature
//! lines, and holds a valid signature by the verifier's own key; signatures by other keys (a
//! witness's cosignature, say) are ignored, as the signed-note specification requires, but a line
//! naming our key with a bad signature is an error. Signatures are checked with
//! `ed25519-dalek`'s `verify_strict` (no small-order keys, canonical `S`): Signet verifies its own
//! signatures, so nothing legitimate is lost by the stricter check.
//!
//! Key IDs and signatures follow golang.org/x/mod/sumdb/note byte for byte (its published vectors
//! are in this crate's tests), so Go tooling and witnesses read these notes unchanged.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::tree::Hash;

/// The algorithm byte for Ed25519 in key IDs and key strings.
const ALG_ED25519: u8 = 0x01;
/// The most signature lines a note may carry (as in the Go reference implementation).
const MAX_SIGNATURES: usize = 100;
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a key, a note or a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A key name that is empty, holds whitespace or `+`.
    #[error("invalid key name")]
    InvalidName,
    /// A signer or verifier key string that does not parse or whose key ID does not match.
    #[error("malformed key")]
    MalformedKey,
    /// A note that does not follow the signed-note syntax.
    #[error("malformed note")]
    MalformedNote,
    /// A note text that is not a checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// The note carries no signature by the verifier's key.
    #[error("the note has no signature by key {0}")]
    UnknownKey(String),
    /// A signature line names the verifier's key but the signature does not verify.
    #[error("invalid signature for key {0}")]
    InvalidSignature(String),
    /// The operating system's random source failed.
    #[error("no randomness available to generate a key")]
    Randomness,
}

/// A tree head: the log's origin, its size and root hash, and optional extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's unique name, conventionally a schema-less URL.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The root hash of the tree of `size` leaves.
    pub root_hash: Hash,
    /// Extra lines after the root hash, without their newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root_hash: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root_hash,
            extensions: Vec::new(),
        }
    }

    /// The checkpoint body (the note text), every line ending in `\n`.
    ///
    /// Call [`Checkpoint::validate`] first if the fields come from outside; an origin or extension
    /// holding a newline would produce a different checkpoint.
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root_hash)
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Checks that [`Checkpoint::to_body`] would produce a body that parses back to `self`.
    pub fn validate(&self) -> Result<(), NoteError> {
        if !is_valid_line(&self.origin) {
            return Err(NoteError::MalformedCheckpoint("invalid origin line"));
        }
        if !self.extensions.iter().all(|line| is_valid_line(line)) {
            return Err(NoteError::MalformedCheckpoint("invalid extension line"));
        }
        Ok(())
    }

    /// Parses a checkpoint body (the text of a note, as [`NoteVerifier::open_text`] returns it).
    pub fn parse(body: &str) -> Result<Self, NoteError> {
        let Some(body) = body.strip_suffix('\n') else {
            return Err(NoteError::MalformedCheckpoint("missing final newline"));
        };
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let (Some(size), Some(root)) = (lines.next(), lines.next()) else {
            return Err(NoteError::MalformedCheckpoint("fewer than three lines"));
        };
        let size =
            parse_decimal(size).ok_or(NoteError::MalformedCheckpoint("invalid tree size"))?;
        let root_hash = BASE64
            .decode(root)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or(NoteError::MalformedCheckpoint("invalid root hash"))?;
        let checkpoint = Self {
            origin: origin.to_owned(),
            size,
            root_hash,
            extensions: lines.map(str::to_owned).collect(),
        };
        checkpoint.validate()?;
        Ok(checkpoint)
    }
}

/// A non-empty line without control characters.
fn is_valid_line(line: &str) -> bool {
    !line.is_empty() && !line.chars().any(char::is_control)
}

/// A canonical decimal number: digits only, no sign, no leading zero.
fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// Whether `name` can name a key: non-empty, no whitespace, no `+`.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn key_id(name: &str, public_key: &VerifyingKey) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ALG_ED25519])
        .chain_update(public_key.as_bytes())
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn encode_key(key: &[u8; 32]) -> String {
    let mut bytes = [0u8; 33];
    bytes[0] = ALG_ED25519;
    bytes[1..].copy_from_slice(key);
    BASE64.encode(bytes)
}

/// Parses `<name>+<hex id>+<base64(0x01 ‖ 32 bytes)>`.
fn parse_key_parts(text: &str) -> Result<(&str, u32, [u8; 32]), NoteError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey);
    };
    if !is_valid_name(name)
        || id.len() != 8
        || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(NoteError::MalformedKey);
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| NoteError::MalformedKey)?;
    let bytes = BASE64.decode(key).map_err(|_| NoteError::MalformedKey)?;
    match bytes.split_first() {
        Some((&ALG_ED25519, key)) => {
            let key = <[u8; 32]>::try_from(key).map_err(|_| NoteError::MalformedKey)?;
            Ok((name, id, key))
        }
        _ => Err(NoteError::MalformedKey),
    }
}

/// Signs notes and checkpoints with one named Ed25519 key.
pub struct NoteSigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A new key named `name`, from the operating system's random source.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| NoteError::Randomness)?;
        Self::from_seed(name, seed)
    }

    /// The key named `name` with this 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        if !is_valid_name(name) {
            return Err(NoteError::InvalidName);
        }
        let key = SigningKey::from_bytes(&seed);
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &key.verifying_key()),
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`, checking the key ID.
    pub fn from_signer_key_string(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::MalformedKey)?;
        let (name, id, seed) = parse_key_parts(rest)?;
        let signer = Self::from_seed(name, seed)?;
        if signer.id != id {
            return Err(NoteError::MalformedKey);
        }
        Ok(signer)
    }

    /// The secret signer key string; whoever holds it can sign tree heads.
    pub fn signer_key_string(&self) -> String {
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            encode_key(self.key.as_bytes())
        )
    }

    /// The public verifier key string to give to verifiers.
    pub fn verifier_key_string(&self) -> String {
        self.verifier().verifier_key_string()
    }

    /// The verifier for this key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Signs a note text: returns the text, a blank line and one signature line.
    ///
    /// The text must be non-empty, end in a newline, hold no blank line and no control
    /// character other than newline.
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        if !is_valid_text(text) {
            return Err(NoteError::MalformedNote);
        }
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.id.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        ))
    }

    /// Signs a checkpoint: returns the whole signed note.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, NoteError> {
        checkpoint.validate()?;
        self.sign_note(&checkpoint.to_body())
    }
}

/// A note text: non-empty, ends in newline, no blank line, no ASCII control character but newline.
fn is_valid_text(text: &str) -> bool {
    text.ends_with('\n')
        && !text.starts_with('\n')
        && !text.contains("\n\n")
        && !text.chars().any(is_forbidden_in_note)
}

/// ASCII control characters other than newline, which signed notes may not hold (as in Go's
/// `sumdb/note`; a checkpoint's own lines are held to all of Unicode's control characters).
fn is_forbidden_in_note(c: char) -> bool {
    c < ' ' && c != '\n'
}

/// Verifies notes and checkpoints signed by one named Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<hex id>+<base64(0x01 ‖ public key)>`, checking the key ID.
    pub fn from_verifier_key_string(text: &str) -> Result<Self, NoteError> {
        let (name, id, key) = parse_key_parts(text)?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| NoteError::MalformedKey)?;
        if key_id(name, &key) != id {
            return Err(NoteError::MalformedKey);
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The verifier key string.
    pub fn verifier_key_string(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.id,
            encode_key(self.key.as_bytes())
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Checks a signed note and returns its text (including the final newline).
    pub fn open_text<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        if note.chars().any(is_forbidden_in_note) {
            return Err(NoteError::MalformedNote);
        }
        // The text ends at the last blank line; signature lines hold no blank line.
        let split = note.rfind("\n\n").ok_or(NoteError::MalformedNote)?;
        let (text, signatures) = (&note[..=split], &note[split + 2..]);
        if !is_valid_text(text) {
            return Err(NoteError::MalformedNote);
        }
        let signatures = signatures
            .strip_suffix('\n')
            .ok_or(NoteError::MalformedNote)?;
        let mut verified = false;
        for (count, line) in signatures.split('\n').enumerate() {
            if count >= MAX_SIGNATURES {
                return Err(NoteError::MalformedNote);
            }
            let (name, blob) = line
                .strip_prefix(SIGNATURE_PREFIX)
                .and_then(|rest| rest.split_once(' '))
                .ok_or(NoteError::MalformedNote)?;
            let blob = BASE64.decode(blob).map_err(|_| NoteError::MalformedNote)?;
            if !is_valid_name(name) || blob.len() < 5 {
                return Err(NoteError::MalformedNote);
            }
            let (id, signature) = blob.split_at(4);
            if name != self.name || id != self.id.to_be_bytes() {
                continue;
            }
            let good = Signature::from_slice(signature)
                .is_ok_and(|sig| self.key.verify_strict(text.as_bytes(), &sig).is_ok());
            if !good {
                return Err(NoteError::InvalidSignature(self.key_label()));
            }
            verified = true;
        }
        if verified {
            Ok(text)
        } else {
            Err(NoteError::UnknownKey(self.key_label()))
        }
    }

    /// Checks a signed checkpoint and returns the checkpoint.
    pub fn open(&self, note: &str) -> Result<Checkpoint, NoteError> {
        Checkpoint::parse(self.open_text(note)?)
    }

    fn key_label(&self) -> String {
        format!("{}+{:08x}", self.name, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_sizes_are_canonical() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "18446744073709551616",
            "1e3",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_refuse_spaces_and_plus() {
        assert!(is_valid_name("log.example/signet"));
        for bad in ["", "a b", "a+b", "a\tb", "a\u{a0}b"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }
}
