//! The stored format of a blob: a header that carries the sealed data key, then the plaintext cut
//! into fixed chunks and encrypted as one STREAM (see the crate documentation for the layout).
//!
//! Two versions exist and both are read: version 1 seals chunks with XChaCha20-Poly1305
//! (RustCrypto, portable code), version 2 with AES-256-GCM (`ring`, assembly using AES-NI and
//! carry-less multiplication), about three times faster per core here. Everything else — the
//! header, the chunking, the STREAM nonces, the associated data — is the same in both.
//!
//! This module is pure: it turns bytes into bytes and knows nothing about object stores, so the
//! rules that keep stored blobs authentic live in one small place.

use bytes::{Bytes, BytesMut};
use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::KeyInit;
use chacha20poly1305::aead::generic_array::GenericArray;
use chacha20poly1305::aead::stream::{NewStream, StreamBE32, StreamPrimitive};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use signet_core::blob::{BlobError, BlobKey};
use signet_core::crypto::MasterKey;

/// First bytes of every stored blob.
pub(crate) const MAGIC: [u8; 8] = *b"SIGNETBL";
/// Plaintext bytes per chunk (every chunk but the last is exactly this long).
pub const CHUNK_LEN: usize = 64 * 1024;
/// Authentication tag appended to every chunk (Poly1305 or GHASH, 16 bytes in both versions).
pub(crate) const TAG_LEN: usize = 16;
/// Stored bytes per full chunk.
pub(crate) const SEGMENT_LEN: usize = CHUNK_LEN + TAG_LEN;
/// Purpose under which the per-blob data key is sealed with the master key.
pub(crate) const DATA_KEY_PURPOSE: &str = "blob-data-key";
/// Bytes before the sealed data key: magic, version, sealed-key length.
const FIXED_LEN: usize = MAGIC.len() + 1 + 2;
/// The longest nonce prefix of any version.
const MAX_NONCE_PREFIX_LEN: usize = 19;
/// The longest header [`Header::parse`] can be given to read (the sealed key's length is a u16).
pub(crate) const MAX_HEADER_LEN: usize = FIXED_LEN + u16::MAX as usize + MAX_NONCE_PREFIX_LEN;

/// How a blob's chunks are encrypted: the stored format's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BlobFormat {
    /// Version 1: XChaCha20-Poly1305, 19-byte nonce prefix. Read, and written only on request.
    XChaCha20Poly1305,
    /// Version 2: AES-256-GCM, 7-byte nonce prefix. Written by default.
    #[default]
    Aes256Gcm,
}

impl BlobFormat {
    /// The version byte stored in the header.
    pub fn version(self) -> u8 {
        match self {
            Self::XChaCha20Poly1305 => 1,
            Self::Aes256Gcm => 2,
        }
    }

    fn from_version(version: u8) -> Option<Self> {
        match version {
            1 => Some(Self::XChaCha20Poly1305),
            2 => Some(Self::Aes256Gcm),
            _ => None,
        }
    }

    /// The cipher's nonce less the STREAM-BE32 overhead (32-bit counter + last-chunk flag):
    /// 24 - 5 for XChaCha20, 12 - 5 for AES-GCM.
    fn nonce_prefix_len(self) -> usize {
        match self {
            Self::XChaCha20Poly1305 => MAX_NONCE_PREFIX_LEN,
            Self::Aes256Gcm => 7,
        }
    }

    /// Length of a header in this format (the sealed key of a 32-byte data key is 72 bytes).
    pub fn header_len(self) -> usize {
        FIXED_LEN + SEALED_KEY_LEN + self.nonce_prefix_len()
    }
}

/// A data key sealed under the master key: XChaCha20-Poly1305 nonce, key, tag.
const SEALED_KEY_LEN: usize = 24 + 32 + 16;

/// Header fields of a blob being written or read.
pub(crate) struct Header {
    /// The encoded header, exactly as stored (it is also part of every chunk's associated data).
    encoded: Vec<u8>,
    format: BlobFormat,
    data_key: [u8; 32],
    /// The first `format.nonce_prefix_len()` bytes are used.
    nonce_prefix: [u8; MAX_NONCE_PREFIX_LEN],
}

impl Header {
    /// A header with a fresh random data key and nonce prefix, the data key sealed under `master`.
    pub(crate) fn generate(master: &MasterKey, format: BlobFormat) -> Self {
        let data_key: [u8; 32] = rand::random();
        let mut nonce_prefix = [0u8; MAX_NONCE_PREFIX_LEN];
        let prefix_len = format.nonce_prefix_len();
        nonce_prefix[..prefix_len]
            .copy_from_slice(&rand::random::<[u8; MAX_NONCE_PREFIX_LEN]>()[..prefix_len]);
        let sealed = master.seal(DATA_KEY_PURPOSE, &data_key);
        let mut encoded = Vec::with_capacity(FIXED_LEN + sealed.len() + prefix_len);
        encoded.extend_from_slice(&MAGIC);
        encoded.push(format.version());
        // A sealed 32-byte key is 72 bytes (nonce + key + tag), far below u16::MAX.
        let sealed_len = u16::try_from(sealed.len()).unwrap_or(u16::MAX);
        encoded.extend_from_slice(&sealed_len.to_be_bytes());
        encoded.extend_from_slice(&sealed);
        encoded.extend_from_slice(&nonce_prefix[..prefix_len]);
        Self {
            encoded,
            format,
            data_key,
            nonce_prefix,
        }
    }

    /// Parses a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` is too short to tell yet, `Ok(Some((header, len)))` with the
    /// header's length once it is complete, and [`BlobError::Corrupt`] when the bytes are not a
    /// header of a known version or the data key does not open under `master`.
    pub(crate) fn parse(
        buf: &[u8],
        master: &MasterKey,
    ) -> Result<Option<(Self, usize)>, BlobError> {
        if buf.len() < FIXED_LEN {
            // A prefix that already disagrees with the magic can be rejected early.
            let n = buf.len().min(MAGIC.len());
            if buf[..n] != MAGIC[..n] {
                return Err(BlobError::Corrupt);
            }
            return Ok(None);
        }
        if buf[..MAGIC.len()] != MAGIC {
            return Err(BlobError::Corrupt);
        }
        let format = BlobFormat::from_version(buf[MAGIC.len()]).ok_or(BlobError::Corrupt)?;
        let prefix_len = format.nonce_prefix_len();
        let sealed_len = usize::from(u16::from_be_bytes([buf[FIXED_LEN - 2], buf[FIXED_LEN - 1]]));
        let total = FIXED_LEN + sealed_len + prefix_len;
        if buf.len() < total {
            return Ok(None);
        }
        let sealed = &buf[FIXED_LEN..FIXED_LEN + sealed_len];
        let data_key: [u8; 32] = master
            .open(DATA_KEY_PURPOSE, sealed)
            .map_err(|_| BlobError::Corrupt)?
            .try_into()
            .map_err(|_| BlobError::Corrupt)?;
        let mut nonce_prefix = [0u8; MAX_NONCE_PREFIX_LEN];
        nonce_prefix[..prefix_len].copy_from_slice(&buf[FIXED_LEN + sealed_len..total]);
        Ok(Some((
            Self {
                encoded: buf[..total].to_vec(),
                format,
                data_key,
                nonce_prefix,
            },
            total,
        )))
    }

    /// The header as stored.
    pub(crate) fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// Associated data authenticated with every chunk: the whole header and the blob's key, so
    /// that neither a header nor a whole object can be moved to another key undetected.
    fn associated_data(&self, key: &BlobKey) -> Vec<u8> {
        let mut aad = self.encoded.clone();
        aad.extend_from_slice(key.as_str().as_bytes());
        aad
    }

    fn cipher(&self) -> Result<ChunkCipher, BlobError> {
        Ok(match self.format {
            BlobFormat::XChaCha20Poly1305 => ChunkCipher::XChaCha(StreamBE32::from_aead(
                XChaCha20Poly1305::new(&self.data_key.into()),
                GenericArray::from_slice(&self.nonce_prefix),
            )),
            BlobFormat::Aes256Gcm => {
                let mut nonce_prefix = [0u8; 7];
                nonce_prefix.copy_from_slice(&self.nonce_prefix[..7]);
                let key = UnboundKey::new(&AES_256_GCM, &self.data_key)
                    .map_err(|_| anyhow::anyhow!("ring refused a 32-byte AES-256-GCM key"))?;
                ChunkCipher::AesGcm {
                    key: Box::new(LessSafeKey::new(key)),
                    nonce_prefix,
                }
            }
        })
    }
}

/// The AEAD of one format, used as a STREAM: chunk `position` is sealed under the nonce
/// `prefix ‖ position (u32 BE) ‖ last-chunk flag (1 byte)`, so that each chunk opens only at its
/// own position, and only the last one with the flag set.
enum ChunkCipher {
    XChaCha(StreamBE32<XChaCha20Poly1305>),
    AesGcm {
        /// Boxed: the expanded key schedule is several hundred bytes.
        key: Box<LessSafeKey>,
        nonce_prefix: [u8; 7],
    },
}

impl ChunkCipher {
    fn gcm_nonce(nonce_prefix: &[u8; 7], position: u32, last: bool) -> Nonce {
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(nonce_prefix);
        nonce[7..11].copy_from_slice(&position.to_be_bytes());
        nonce[11] = u8::from(last);
        Nonce::assume_unique_for_key(nonce)
    }

    /// Encrypts `chunk` in place and appends its tag.
    fn seal(&self, position: u32, last: bool, aad: &[u8], chunk: &mut Vec<u8>) -> Result<(), ()> {
        match self {
            Self::XChaCha(stream) => stream
                .encrypt_in_place(position, last, aad, chunk)
                .map_err(|_| ()),
            Self::AesGcm { key, nonce_prefix } => key
                .seal_in_place_append_tag(
                    Self::gcm_nonce(nonce_prefix, position, last),
                    Aad::from(aad),
                    chunk,
                )
                .map_err(|_| ()),
        }
    }

    /// Checks the tag at the end of `segment` and decrypts it in place, leaving the plaintext.
    fn open(
        &self,
        position: u32,
        last: bool,
        aad: &[u8],
        segment: &mut BytesMut,
    ) -> Result<(), ()> {
        match self {
            Self::XChaCha(stream) => stream
                .decrypt_in_place(position, last, aad, segment)
                .map_err(|_| ()),
            Self::AesGcm { key, nonce_prefix } => {
                let plain_len = key
                    .open_in_place(
                        Self::gcm_nonce(nonce_prefix, position, last),
                        Aad::from(aad),
                        segment,
                    )
                    .map_err(|_| ())?
                    .len();
                segment.truncate(plain_len);
                Ok(())
            }
        }
    }
}

/// Cuts plaintext into chunks and encrypts them; the last chunk is sealed with the STREAM
/// last-chunk flag, so a reader notices truncation and extension.
pub(crate) struct ChunkSealer {
    cipher: ChunkCipher,
    aad: Vec<u8>,
    /// Position of the next chunk.
    position: u32,
    pending: Vec<u8>,
}

impl ChunkSealer {
    pub(crate) fn new(header: &Header, key: &BlobKey) -> Result<Self, BlobError> {
        Ok(Self {
            cipher: header.cipher()?,
            aad: header.associated_data(key),
            position: 0,
            pending: Vec::with_capacity(SEGMENT_LEN),
        })
    }

    /// Takes more plaintext and returns the chunks it completed, encrypted.
    ///
    /// A full chunk is only sealed once a further byte arrives: until then it may be the last one.
    pub(crate) fn push(&mut self, mut data: &[u8]) -> Result<Vec<Bytes>, BlobError> {
        let mut sealed = Vec::new();
        while !data.is_empty() {
            if self.pending.len() == CHUNK_LEN {
                // As STREAM's own encryptor: the highest position is only ever a last chunk's.
                let position = self.position;
                self.position = position
                    .checked_add(1)
                    .filter(|next| *next < u32::MAX)
                    .ok_or_else(|| anyhow::anyhow!("blob exceeds the STREAM chunk counter"))?;
                let mut chunk =
                    std::mem::replace(&mut self.pending, Vec::with_capacity(SEGMENT_LEN));
                self.cipher
                    .seal(position, false, &self.aad, &mut chunk)
                    .map_err(|()| anyhow::anyhow!("sealing a blob chunk failed"))?;
                sealed.push(Bytes::from(chunk));
            }
            let take = (CHUNK_LEN - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(sealed)
    }

    /// Seals what is pending (possibly nothing) as the last chunk.
    pub(crate) fn finish(self) -> Result<Bytes, BlobError> {
        let Self {
            cipher,
            aad,
            position,
            mut pending,
        } = self;
        cipher
            .seal(position, true, &aad, &mut pending)
            .map_err(|()| anyhow::anyhow!("sealing the last blob chunk failed"))?;
        Ok(Bytes::from(pending))
    }
}

/// Decrypts stored segments, each at its own position in the STREAM. It keeps nothing from one
/// segment to the next, so several can be opened at once on different threads; the caller keeps
/// them in order and says which one is the last.
pub(crate) struct ChunkOpener {
    cipher: ChunkCipher,
    aad: Vec<u8>,
}

impl ChunkOpener {
    pub(crate) fn new(header: &Header, key: &BlobKey) -> Result<Self, BlobError> {
        Ok(Self {
            cipher: header.cipher()?,
            aad: header.associated_data(key),
        })
    }

    /// Decrypts the segment at `position` (0 for the first). `last` says that the stored object
    /// ends with this segment; only the segment sealed with the last-chunk flag at exactly this
    /// position opens, so a wrong position or a wrong `last` fails.
    pub(crate) fn open(
        &self,
        position: u64,
        last: bool,
        segment: BytesMut,
    ) -> Result<Bytes, BlobError> {
        let position = u32::try_from(position).map_err(|_| BlobError::Corrupt)?;
        let well_formed = if last {
            (TAG_LEN..=SEGMENT_LEN).contains(&segment.len())
        } else {
            // As STREAM's own decryptor: the highest position is only ever a last chunk's.
            segment.len() == SEGMENT_LEN && position < u32::MAX
        };
        if !well_formed {
            return Err(BlobError::Corrupt);
        }
        let mut buf = segment;
        self.cipher
            .open(position, last, &self.aad, &mut buf)
            .map_err(|()| BlobError::Corrupt)?;
        Ok(buf.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMATS: [BlobFormat; 2] = [BlobFormat::XChaCha20Poly1305, BlobFormat::Aes256Gcm];

    fn seal_all(
        format: BlobFormat,
        master: &MasterKey,
        key: &BlobKey,
        data: &[u8],
    ) -> (Vec<u8>, Vec<Bytes>) {
        let header = Header::generate(master, format);
        assert_eq!(header.encoded().len(), format.header_len());
        assert_eq!(header.encoded()[MAGIC.len()], format.version());
        let mut sealer = ChunkSealer::new(&header, key).expect("a fresh header has a cipher");
        let mut segments = sealer.push(data).expect("sealing in memory works");
        segments.push(sealer.finish().expect("sealing in memory works"));
        (header.encoded().to_vec(), segments)
    }

    fn open_all(
        master: &MasterKey,
        key: &BlobKey,
        header: &[u8],
        segments: &[Bytes],
    ) -> Result<Vec<u8>, BlobError> {
        let (header, len) = Header::parse(header, master)?.ok_or(BlobError::Corrupt)?;
        assert_eq!(len, header.encoded().len());
        let opener = ChunkOpener::new(&header, key)?;
        let mut out = Vec::new();
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            let plain = opener.open(i as u64, last, BytesMut::from(&segment[..]))?;
            out.extend_from_slice(&plain);
        }
        Ok(out)
    }

    #[test]
    fn chunk_boundaries() {
        for format in FORMATS {
            let master = MasterKey::generate();
            let key = BlobKey::random();
            for (len, segments) in [
                (0, 1),
                (1, 1),
                (CHUNK_LEN, 1),
                (CHUNK_LEN + 1, 2),
                (3 * CHUNK_LEN, 3),
            ] {
                let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
                let (header, sealed) = seal_all(format, &master, &key, &data);
                assert_eq!(sealed.len(), segments, "segments for {len} bytes");
                assert_eq!(open_all(&master, &key, &header, &sealed).ok(), Some(data));
            }
        }
    }

    #[test]
    fn segments_open_in_any_order_but_only_at_their_position() {
        for format in FORMATS {
            let master = MasterKey::generate();
            let key = BlobKey::random();
            let data: Vec<u8> = (0..2 * CHUNK_LEN + 5).map(|i| (i % 249) as u8).collect();
            let (header, sealed) = seal_all(format, &master, &key, &data);
            let (header, _) = Header::parse(&header, &master)
                .expect("a fresh header parses")
                .expect("the header is complete");
            let opener = ChunkOpener::new(&header, &key).expect("a parsed header has a cipher");
            let open = |position: u64, last: bool, segment: &Bytes| {
                opener.open(position, last, BytesMut::from(&segment[..]))
            };
            // Last first: several threads may finish in any order.
            let plain: Vec<Bytes> = [(2, true), (1, false), (0, false)]
                .into_iter()
                .map(|(i, last)| open(i, last, &sealed[i as usize]).expect("opens"))
                .collect();
            assert_eq!([&plain[2][..], &plain[1], &plain[0]].concat(), data);

            for (position, last, segment) in [
                (1, false, 0), // moved to another position
                (0, true, 0),  // a middle chunk taken for the last (truncation)
                (2, false, 2), // the last chunk taken for a middle one (extension)
                (1, true, 2),  // the last chunk moved forward
            ] {
                assert!(
                    matches!(
                        open(position, last, &sealed[segment]),
                        Err(BlobError::Corrupt)
                    ),
                    "segment {segment} opened at {position}, last = {last}"
                );
            }
            // Past the 32-bit STREAM counter nothing opens, and its highest value is only a last
            // chunk's.
            assert!(open(u64::from(u32::MAX), false, &sealed[0]).is_err());
            assert!(open(1 << 32, true, &sealed[2]).is_err());
        }
    }

    #[test]
    fn header_is_rejected_under_another_key_or_version() {
        let master = MasterKey::generate();
        let header = Header::generate(&master, BlobFormat::Aes256Gcm);
        let encoded = header.encoded().to_vec();
        assert!(matches!(Header::parse(&encoded[..5], &master), Ok(None)));
        assert!(matches!(
            Header::parse(&encoded, &MasterKey::generate()),
            Err(BlobError::Corrupt)
        ));
        let mut other_version = encoded.clone();
        other_version[MAGIC.len()] = 3;
        assert!(matches!(
            Header::parse(&other_version, &master),
            Err(BlobError::Corrupt)
        ));
        assert!(matches!(
            Header::parse(b"PK\x03\x04", &master),
            Err(BlobError::Corrupt)
        ));
    }

    #[test]
    fn version_byte_swapped_between_formats_fails() {
        let master = MasterKey::generate();
        let key = BlobKey::random();
        for (format, other) in [(FORMATS[0], FORMATS[1]), (FORMATS[1], FORMATS[0])] {
            let (mut header, sealed) = seal_all(format, &master, &key, b"contract");
            assert!(open_all(&master, &key, &header, &sealed).is_ok());
            // The sealed key still opens, but the header is read with the other nonce length
            // and cipher, and it is authenticated with every chunk.
            header[MAGIC.len()] = other.version();
            let reread = [&header[..], &sealed[0][..]].concat();
            let outcome = Header::parse(&reread, &master).and_then(|parsed| {
                let (parsed, len) = parsed.ok_or(BlobError::Corrupt)?;
                let opener = ChunkOpener::new(&parsed, &key)?;
                opener.open(0, true, BytesMut::from(&reread[len..]))
            });
            assert!(
                matches!(outcome, Err(BlobError::Corrupt)),
                "{format:?} read as {other:?}"
            );
        }
    }

    #[test]
    fn blob_moved_to_another_key_fails() {
        for format in FORMATS {
            let master = MasterKey::generate();
            let key = BlobKey::random();
            let (header, sealed) = seal_all(format, &master, &key, b"contract");
            assert!(open_all(&master, &key, &header, &sealed).is_ok());
            assert!(matches!(
                open_all(&master, &BlobKey::random(), &header, &sealed),
                Err(BlobError::Corrupt)
            ));
        }
    }

    #[test]
    fn dropped_or_added_chunk_fails() {
        for format in FORMATS {
            let master = MasterKey::generate();
            let key = BlobKey::random();
            let data = vec![7u8; 2 * CHUNK_LEN];
            let (header, sealed) = seal_all(format, &master, &key, &data);
            assert_eq!(sealed.len(), 2);
            // Treating a middle chunk as the last one (truncation) fails.
            assert!(open_all(&master, &key, &header, &sealed[..1]).is_err());
            // Appending a chunk after the last one (extension) fails.
            let mut extended = sealed.clone();
            extended.push(sealed[1].clone());
            assert!(open_all(&master, &key, &header, &extended).is_err());
        }
    }
}
