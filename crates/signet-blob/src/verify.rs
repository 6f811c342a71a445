//! Checking a stored blob against what the metadata says about it, for `signet check --blobs`.

use std::fmt;

use futures::StreamExt;
use sha2::{Digest, Sha256};
use signet_core::blob::{BlobError, BlobKey, BlobStore};
use signet_core::values::Sha256Digest;

/// What is wrong with a stored blob.
#[derive(Debug)]
#[non_exhaustive]
pub enum BlobProblem {
    /// No object exists under the blob's key.
    Missing,
    /// The stored bytes fail authentication (a changed, dropped, reordered or appended chunk,
    /// a damaged header, or another master key): `readable` plaintext bytes opened before that.
    Corrupt {
        /// Plaintext bytes that authenticated before the failure.
        readable: u64,
    },
    /// Every chunk authenticates, but the plaintext is not as long as recorded.
    WrongSize {
        /// The size recorded in the metadata.
        expected: u64,
        /// The size of the stored plaintext.
        found: u64,
    },
    /// Every chunk authenticates and the size is right, but the SHA-256 differs from the one
    /// recorded (the blob belongs to another document).
    WrongDigest,
    /// The backend could not be read (unavailable, permissions, …); nothing is known.
    Unreadable(BlobError),
}

impl fmt::Display for BlobProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "blob missing"),
            Self::Corrupt { readable } => write!(
                f,
                "blob fails authentication after {readable} readable bytes (damaged or altered)"
            ),
            Self::WrongSize { expected, found } => {
                write!(f, "blob holds {found} bytes, {expected} recorded")
            }
            Self::WrongDigest => write!(f, "blob's SHA-256 differs from the one recorded"),
            Self::Unreadable(error) => write!(f, "blob cannot be read: {error}"),
        }
    }
}

impl std::error::Error for BlobProblem {}

/// Reads the blob under `key` to its end — which authenticates every chunk, the last-chunk
/// flag included — and checks that its plaintext is `size` bytes long with SHA-256 `sha256`.
/// Memory stays bounded as for any download.
pub async fn verify(
    blobs: &dyn BlobStore,
    key: &BlobKey,
    size: u64,
    sha256: &Sha256Digest,
) -> Result<(), BlobProblem> {
    let mut stream = match blobs.get(key).await {
        Ok(stream) => stream,
        Err(BlobError::NotFound) => return Err(BlobProblem::Missing),
        Err(BlobError::Corrupt) => return Err(BlobProblem::Corrupt { readable: 0 }),
        Err(other) => return Err(BlobProblem::Unreadable(other)),
    };
    let mut hasher = Sha256::new();
    let mut found: u64 = 0;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                hasher.update(&chunk);
                found += chunk.len() as u64;
            }
            Err(error) => {
                let corrupt = error
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<BlobError>())
                    .is_some_and(|e| matches!(e, BlobError::Corrupt));
                return Err(if corrupt {
                    BlobProblem::Corrupt { readable: found }
                } else {
                    BlobProblem::Unreadable(
                        anyhow::Error::new(error).context("reading a blob").into(),
                    )
                });
            }
        }
    }
    if found != size {
        return Err(BlobProblem::WrongSize {
            expected: size,
            found,
        });
    }
    let digest: [u8; 32] = hasher.finalize().into();
    if digest != *sha256.as_bytes() {
        return Err(BlobProblem::WrongDigest);
    }
    Ok(())
}
