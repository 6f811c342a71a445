//! [`SecretStore`]: sealed instance secrets.

use async_trait::async_trait;
use signet_core::store::{SecretStore, StoreError};
use time::OffsetDateTime;

use crate::SqlStore;
use crate::db::Query;
use crate::rows::micros;

#[async_trait]
impl SecretStore for SqlStore {
    async fn instance_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let select = Query::new("SELECT sealed FROM instance_secrets WHERE name = $1").bind(name);
        self.pool
            .fetch_optional(select)
            .await?
            .map(|row| row.get("sealed"))
            .transpose()
    }

    async fn insert_instance_secret(
        &self,
        name: &str,
        sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, StoreError> {
        let insert = Query::new(
            "INSERT INTO instance_secrets (name, sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sealed)
        .bind(micros(now));
        self.pool.execute(insert).await?;
        self.instance_secret(name)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn replace_instance_secret(
        &self,
        name: &str,
        sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let upsert = Query::new(
            "INSERT INTO instance_secrets (name, sealed, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET sealed = $2, created_at = $3",
        )
        .bind(name)
        .bind(sealed)
        .bind(micros(now));
        self.pool.execute(upsert).await?;
        Ok(())
    }
}
