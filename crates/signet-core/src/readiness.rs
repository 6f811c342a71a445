//! Whether this node can do its work: the store answers and accepts writes, and the blob store
//! answers. `/readyz` reports it, so that a load balancer sends no traffic to a node whose
//! database went read-only or whose bucket is unreachable.

use std::time::Duration;

use crate::blob::{BlobError, BlobKey};
use crate::service::Core;

/// How long each probe may take before it counts as a failure.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A key no blob is stored under (stored keys are 32 hex digits).
const PROBE_KEY: &str = "signet-readiness-probe";

/// The outcome of [`Core::readiness`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// `None` when the database answered a write; otherwise why not.
    pub database: Option<String>,
    /// `None` when the blob store answered; otherwise why not.
    pub blobs: Option<String>,
}

impl Readiness {
    /// Both probes passed.
    pub fn is_ready(&self) -> bool {
        self.database.is_none() && self.blobs.is_none()
    }
}

impl Core {
    /// Probes the store with a real write and the blob store with a read.
    ///
    /// The write is the pruning of expired token ids — housekeeping that is always safe to run
    /// and that, being a `DELETE`, fails on a read-only SQLite file or a read-only PostgreSQL
    /// transaction even when there is nothing to prune.
    pub async fn readiness(&self) -> Readiness {
        let database =
            match tokio::time::timeout(PROBE_TIMEOUT, self.store().prune_token_ids(self.now()))
                .await
            {
                Ok(Ok(_)) => None,
                Ok(Err(error)) => Some(error.to_string()),
                Err(_) => Some("no answer within 5 s".to_owned()),
            };
        let key = BlobKey::from_stored(PROBE_KEY);
        let blobs = match tokio::time::timeout(PROBE_TIMEOUT, self.blobs().get(&key)).await {
            Ok(Ok(_) | Err(BlobError::NotFound)) => None,
            Ok(Err(error)) => Some(error.to_string()),
            Err(_) => Some("no answer within 5 s".to_owned()),
        };
        Readiness { database, blobs }
    }
}
