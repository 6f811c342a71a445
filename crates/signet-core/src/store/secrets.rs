//! The secrets port: the instance's own keys, sealed under the master key before they reach it.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;

/// Sealed instance secrets, by name.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// A sealed instance secret.
    async fn instance_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores a sealed instance secret unless one exists; returns the one that is stored (so
    /// that processes starting together agree on one key).
    async fn insert_instance_secret(
        &self,
        name: &str,
        sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, StoreError>;
    /// Stores a sealed instance secret, replacing any stored under that name.
    async fn replace_instance_secret(
        &self,
        name: &str,
        sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}
