//! Streaming, encrypted, hashed blob storage for Signet, over the `object_store` crate.
//!
//! [`ObjectBlobStore`] implements the core's [`BlobStore`] port on a local directory, an
//! S3-compatible bucket or memory (for tests). Document bytes are never held whole in memory: they
//! are cut into chunks, encrypted and uploaded as they arrive, while both digests the evidence
//! layer needs (SHA-256 and SHA3-256) are computed on the way. The operator's storage only ever
//! sees ciphertext, and any change to it — a flipped bit, a dropped, swapped or appended chunk, an
//! object moved to another key — makes reading fail instead of returning altered bytes.
//!
//! # Stored format, versions 1 and 2
//!
//! ```text
//! header:
//!   magic        8 bytes   "SIGNETBL"
//!   version      1 byte    0x01 (XChaCha20-Poly1305) or 0x02 (AES-256-GCM)
//!   sealed_len   2 bytes   big-endian length of the next field (72 today)
//!   sealed_key   sealed_len bytes: MasterKey::seal("blob-data-key", data_key), where data_key is
//!                32 random bytes drawn for this blob alone (XChaCha20-Poly1305: nonce ‖ ct ‖ tag)
//!   nonce_prefix 19 random bytes (version 1) or 7 (version 2)
//! body: the plaintext in chunks of 64 KiB (the last one shorter, possibly empty), each chunk
//!   AEAD(data_key, nonce = nonce_prefix ‖ counter (u32 BE) ‖ last-flag (1 byte),
//!        aad = header ‖ blob key)   → chunk ‖ 16-byte tag
//!   where AEAD is XChaCha20-Poly1305 (24-byte nonce) in version 1 and AES-256-GCM (12-byte
//!   nonce) in version 2.
//! ```
//!
//! This is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár; `aead::stream`'s
//! `StreamBE32`): the counter makes reordering fail, and the last-chunk flag, set on exactly one
//! chunk, makes truncation at a chunk boundary and extension fail. A blob always has at least one
//! chunk, the last one, so an empty plaintext is stored as the header and a lone 16-byte tag. The
//! whole header (its version byte included) and the blob key are authenticated with every chunk.
//!
//! Version 2 is written by default: `ring`'s AES-256-GCM (AES-NI and carry-less multiplication,
//! with VAES where the CPU has it) runs at about 3.3 GB/s on one core of the benchmark machine,
//! against about 1 GB/s for XChaCha20-Poly1305 (see `benches/throughput.rs`). Nonces cannot repeat
//! although AES-GCM's are short: every blob has its own random data key, and within a blob the
//! counter and flag make each chunk's nonce unique. Version 1 blobs are read as before, and
//! [`ObjectBlobStore::writing`] can still write them. A reader rejects any other magic or version.
//!
//! # Streaming and visibility
//!
//! `put` writes through a multipart upload in parts of exactly [`PART_LEN`] bytes (S3's minimum;
//! [`LOCAL_PART_LEN`] on the local backend, which has none) with at most [`PARTS_IN_FLIGHT`] parts
//! ([`LOCAL_PARTS_IN_FLIGHT`] locally) being written at once, so its buffers are bounded by that
//! many parts plus one (15 MiB on S3, 5 MiB on a local directory) plus a short queue of body pieces for the SHA3 thread, whatever
//! the size of the body (the benchmark's 1 GiB put peaks at about 15 MiB of resident memory for
//! the whole process). The object becomes visible under its key only when
//! the upload completes: the local backend writes a staging file (`<key>#<n>`, never listed) and
//! renames it; S3 completes the multipart upload. Any failure — of the body, the limit, a part or
//! the completion — aborts the upload so nothing is left; if the `put` future itself is dropped,
//! the abort is sent from a spawned task. (An S3 upload whose abort never reached the server stays
//! incomplete and invisible; a bucket lifecycle rule for incomplete multipart uploads removes it.)
//!
//! SHA3-256 is the slowest step (≈ 0.37 GB/s per core), so it runs on its own blocking thread fed
//! through a bounded queue, overlapping with SHA-256, encryption and I/O, which run on the calling
//! task in 64 KiB steps. `get` reads the header before it returns (so a blob that cannot be opened
//! at all fails with [`BlobError::Corrupt`] before a response starts), then decrypts a few
//! consecutive chunks at once on one thread per core and yields them strictly in order, with
//! memory bounded by a constant (see `download.rs`); a chunk that fails authentication ends the
//! stream with an `InvalidData` error wrapping [`BlobError::Corrupt`], after only the chunks
//! before it, each of which did authenticate.
//!
//! The local backend does not `fsync` before its rename (`object_store` does not), so a blob
//! written just before a power loss may be lost even though `put` returned.
//!
//! # Tests
//!
//! `tests/s3.rs` runs against moto's S3 server when `SIGNET_TEST_S3_ENDPOINT` is set (see that
//! file for how to start it); without it those tests print a notice and pass, unless `CI=true`.

#![forbid(unsafe_code)]

mod download;
mod format;
mod pool;
mod upload;
mod verify;

use std::fmt;
use std::path::Path as FsPath;
use std::sync::Arc;

use async_trait::async_trait;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use serde::Deserialize;
use signet_core::blob::{BlobDigests, BlobError, BlobKey, BlobStore, ByteStream, StoredBlob};
use signet_core::crypto::MasterKey;

pub use format::{BlobFormat, CHUNK_LEN};
pub use signet_core::blob::StoredWithoutSha3;
pub use upload::{LOCAL_PART_LEN, LOCAL_PARTS_IN_FLIGHT, PART_LEN, PARTS_IN_FLIGHT};
pub use verify::{BlobProblem, verify};

/// A [`BlobStore`] that encrypts, hashes and streams blobs into an `object_store` backend.
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    master: MasterKey,
    /// The format new blobs are written in.
    format: BlobFormat,
    /// The length of the parts an upload is cut into: [`PART_LEN`], S3's minimum, or less on a
    /// backend without a minimum (see [`LOCAL_PART_LEN`]).
    part_len: usize,
    /// Most parts of an upload being written at once: [`PARTS_IN_FLIGHT`], or
    /// [`LOCAL_PARTS_IN_FLIGHT`] for the local backend's smaller parts.
    parts_in_flight: usize,
    /// The directory of the local backend, where crashed uploads leave staging files.
    local_dir: Option<std::path::PathBuf>,
}

impl fmt::Debug for ObjectBlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectBlobStore")
            .field("store", &format_args!("{}", self.store))
            .finish_non_exhaustive()
    }
}

/// Where and how to reach an S3-compatible bucket.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// Bucket name; the bucket must exist.
    pub bucket: String,
    /// Endpoint URL for S3-compatible services (MinIO, Garage, …); `None` means AWS itself.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Region, e.g. `us-east-1` (most S3-compatible services accept any value).
    pub region: String,
    /// Access key id; with the secret key absent too, credentials come from the instance's
    /// environment (instance metadata or web identity).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key matching `access_key_id`.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Allows a plain `http://` endpoint (tests, a service on a private network).
    #[serde(default)]
    pub allow_http: bool,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "[redacted]"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl ObjectBlobStore {
    /// Wraps any `object_store` backend; blobs are stored at the path equal to their key.
    pub fn new(store: Arc<dyn ObjectStore>, master: MasterKey) -> Self {
        Self {
            store,
            master,
            format: BlobFormat::default(),
            part_len: PART_LEN,
            parts_in_flight: PARTS_IN_FLIGHT,
            local_dir: None,
        }
    }

    /// Writes new blobs in `format` instead of the default (the newest); every format is read
    /// whatever this says. Writing an older format is for tests of the readers, and for a store
    /// that an older Signet must still be able to read.
    pub fn writing(mut self, format: BlobFormat) -> Self {
        self.format = format;
        self
    }

    /// Blobs as files under `dir`, which is created if missing.
    pub fn local(dir: &FsPath, master: MasterKey) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::Error::new(e).context(format!("creating blob directory {}", dir.display()))
        })?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| {
            anyhow::Error::new(e).context(format!("opening blob directory {}", dir.display()))
        })?;
        Ok(Self {
            local_dir: Some(dir.to_owned()),
            part_len: LOCAL_PART_LEN,
            parts_in_flight: LOCAL_PARTS_IN_FLIGHT,
            ..Self::new(Arc::new(store), master)
        })
    }

    /// Blobs in an S3-compatible bucket.
    ///
    /// A plain `http://` endpoint is refused here, when the server starts, unless `allow_http`
    /// says so: the S3 client would accept the settings and then fail every upload and download
    /// with "URL scheme is not allowed".
    pub fn s3(settings: &S3Settings, master: MasterKey) -> Result<Self, BlobError> {
        if let Some(endpoint) = &settings.endpoint
            && endpoint
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("http://")
            && !settings.allow_http
        {
            return Err(anyhow::anyhow!(
                "the S3 endpoint {endpoint} is plain http: use https, or allow http explicitly \
                 (s3_allow_http = true, or SIGNET_S3_ALLOW_HTTP=true)"
            )
            .into());
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_allow_http(settings.allow_http);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .map_err(|e| anyhow::Error::new(e).context("configuring the S3 blob store"))?;
        Ok(Self::new(Arc::new(store), master))
    }

    /// Blobs in memory, gone when the store is dropped; for tests.
    pub fn memory(master: MasterKey) -> Self {
        Self::new(Arc::new(InMemory::new()), master)
    }
}

impl ObjectBlobStore {
    /// As [`BlobStore::put`], but without computing the SHA3-256 of the plaintext, the slowest
    /// step of a put (one core hashes ≈ 0.37 GB/s, against several GB/s for everything else):
    /// the blob is as durable and as authenticated as after `put`, and its SHA-256 is known;
    /// its SHA3-256 can be computed later with [`BlobStore::digests`] (from a job, say). The same
    /// as the port's [`BlobStore::put_deferring_sha3`], callable without the trait in scope.
    pub async fn put_deferring_sha3(
        &self,
        key: &BlobKey,
        body: ByteStream,
        limit: Option<u64>,
    ) -> Result<StoredWithoutSha3, BlobError> {
        let digests = upload::put_hashing(self, key, body, limit, false).await?;
        Ok(StoredWithoutSha3 {
            key: key.clone(),
            size: digests.size,
            sha256: signet_core::values::Sha256Digest::from_bytes(digests.sha256),
        })
    }
}

/// Reads a stored blob back and computes the SHA3-256 of its plaintext (and its size), for a blob
/// stored with [`ObjectBlobStore::put_deferring_sha3`]. Works on any [`BlobStore`]; every chunk
/// is authenticated on the way, so damage fails with [`BlobError::Corrupt`] rather than giving a
/// digest of altered bytes. Hashing runs on a blocking thread, decryption on the crate's
/// decryption threads: memory is bounded as for any download.
pub async fn sha3_256_of(
    blobs: &dyn BlobStore,
    key: &BlobKey,
) -> Result<(u64, signet_core::values::Sha3Digest), BlobError> {
    let digests = digests_of(blobs, key).await?;
    Ok((digests.size, digests.sha3_256))
}

/// Both digests of a stored blob, read back: SHA3-256 on its own blocking thread (as in a put),
/// SHA-256 on the calling task while the thread hashes the previous pieces.
async fn digests_of(blobs: &dyn BlobStore, key: &BlobKey) -> Result<BlobDigests, BlobError> {
    use futures::StreamExt as _;
    use sha2::Digest as _;
    let mut stream = blobs.get(key).await?;
    let mut sha3 = upload::Sha3Thread::start();
    let mut sha256 = sha2::Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(download::blob_error)?;
        size += chunk.len() as u64;
        sha3.update(chunk.clone()).await?;
        sha256.update(&chunk);
    }
    Ok(BlobDigests {
        size,
        sha256: signet_core::values::Sha256Digest::from_bytes(sha256.finalize().into()),
        sha3_256: signet_core::values::Sha3Digest::from_bytes(sha3.finish().await?),
    })
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(
        &self,
        key: &BlobKey,
        body: ByteStream,
        limit: Option<u64>,
    ) -> Result<StoredBlob, BlobError> {
        upload::put(self, key, body, limit).await
    }

    async fn put_deferring_sha3(
        &self,
        key: &BlobKey,
        body: ByteStream,
        limit: Option<u64>,
    ) -> Result<StoredWithoutSha3, BlobError> {
        ObjectBlobStore::put_deferring_sha3(self, key, body, limit).await
    }

    async fn digests(&self, key: &BlobKey) -> Result<BlobDigests, BlobError> {
        digests_of(self, key).await
    }

    async fn get(&self, key: &BlobKey) -> Result<ByteStream, BlobError> {
        download::get(self.store.as_ref(), &self.master, key).await
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match self.store.delete(&object_path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unexpected(e, "deleting a blob")),
        }
    }

    /// On the local backend, an upload stages its bytes in `<key>#<n>` and renames on success;
    /// a process killed mid-upload leaves that file behind. Blob keys never contain `#`.
    async fn sweep_abandoned(&self, older_than: std::time::Duration) -> Result<usize, BlobError> {
        let Some(dir) = self.local_dir.clone() else {
            return Ok(0);
        };
        tokio::task::spawn_blocking(move || -> std::io::Result<usize> {
            let cutoff = std::time::SystemTime::now()
                .checked_sub(older_than)
                .unwrap_or(std::time::UNIX_EPOCH);
            let mut removed = 0;
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let staging = entry.file_name().to_string_lossy().contains('#');
                let stale = entry.metadata()?.modified()? < cutoff;
                if staging && stale && entry.file_type()?.is_file() {
                    std::fs::remove_file(entry.path())?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await
        .map_err(|e| BlobError::Unexpected(anyhow::anyhow!(e)))?
        .map_err(|e| BlobError::Unexpected(anyhow::Error::new(e).context("sweeping staging files")))
    }
}

/// The object path of a blob; keys that are not valid paths (empty, `..`, …) are refused.
fn object_path(key: &BlobKey) -> Result<Path, BlobError> {
    match Path::parse(key.as_str()) {
        Ok(path) if !key.as_str().is_empty() => Ok(path),
        _ => Err(anyhow::anyhow!("blob key {:?} is not a valid object path", key.as_str()).into()),
    }
}

fn unexpected(error: object_store::Error, doing: &'static str) -> BlobError {
    BlobError::Unexpected(anyhow::Error::new(error).context(doing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_http_endpoint_is_refused_unless_allowed() {
        let settings = |endpoint: &str, allow_http| S3Settings {
            bucket: "docs".into(),
            region: "us-east-1".into(),
            endpoint: Some(endpoint.into()),
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("secret".into()),
            allow_http,
        };
        let master = || MasterKey::from_bytes([7; 32]);
        let refused = ObjectBlobStore::s3(&settings("HTTP://127.0.0.1:9000", false), master())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("SIGNET_S3_ALLOW_HTTP"), "{refused}");
        assert!(ObjectBlobStore::s3(&settings("http://127.0.0.1:9000", true), master()).is_ok());
        assert!(ObjectBlobStore::s3(&settings("https://s3.example.com", false), master()).is_ok());
    }

    #[test]
    fn s3_settings_parse_and_hide_the_secret() {
        let settings: S3Settings = serde_json::from_str(
            r#"{"bucket": "docs", "region": "eu-west-1", "endpoint": "http://127.0.0.1:9000",
                "access_key_id": "AKID", "secret_access_key": "very-secret", "allow_http": true}"#,
        )
        .expect("valid settings parse");
        assert_eq!(settings.bucket, "docs");
        assert!(settings.allow_http);
        let shown = format!("{settings:?}");
        assert!(
            shown.contains("AKID") && shown.contains("[redacted]"),
            "{shown}"
        );
        assert!(!shown.contains("very-secret"), "{shown}");

        let minimal: S3Settings = serde_json::from_str(r#"{"bucket": "b", "region": "us-east-1"}"#)
            .expect("optional fields may be left out");
        assert!(!minimal.allow_http && minimal.endpoint.is_none());
        assert!(
            serde_json::from_str::<S3Settings>(r#"{"bucket": "b", "region": "r", "secret": "x"}"#)
                .is_err()
        );
    }

    #[test]
    fn invalid_keys_are_refused() {
        for bad in ["", "a//b", "../etc", "a/../b"] {
            assert!(object_path(&BlobKey::from_stored(bad)).is_err(), "{bad:?}");
        }
        assert!(object_path(&BlobKey::random()).is_ok());
    }
}
