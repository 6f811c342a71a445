//! [`MaintenanceStore`]: whole-database checks for `signet check`.

use async_trait::async_trait;
use signet_core::ids::{DocumentId, TenantId};
use signet_core::model::Document;
use signet_core::store::{MaintenanceStore, StoreError};

use crate::SqlStore;
use crate::aggregate::{DOCUMENT_COLUMNS, DocumentRow};
use crate::db::Query;
use crate::rows::parse;

#[async_trait]
impl MaintenanceStore for SqlStore {
    async fn check_integrity(&self) -> Result<(), StoreError> {
        self.pool.check_database().await?;
        // The application's own invariant, on both databases: the event sequence has no gap and
        // ends where the ledger says it does.
        let row = self
            .pool
            .fetch_one(Query::new(
                "SELECT (SELECT count(*) FROM events) AS count, (SELECT max(seq) FROM events) AS max, \
                 (SELECT size FROM ledger_state WHERE id = 1) AS size",
            ))
            .await?;
        let (count, max, size): (i64, Option<i64>, i64) =
            (row.get("count")?, row.get("max")?, row.get("size")?);
        if count != size || max.map_or(0, |m| m + 1) != size {
            return Err(anyhow::anyhow!(
                "event sequence broken: {count} events, max seq {max:?}, ledger size {size}"
            )
            .into());
        }
        Ok(())
    }

    async fn stored_documents(
        &self,
        after: Option<&DocumentId>,
        limit: u32,
    ) -> Result<Vec<(TenantId, Document)>, StoreError> {
        let select = Query::new(format!(
            "SELECT tenant_id, {DOCUMENT_COLUMNS} FROM documents \
             WHERE status = 'stored' AND id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.map(ToString::to_string).unwrap_or_default())
        .bind(i64::from(limit));
        self.pool
            .fetch_all(select)
            .await?
            .iter()
            .map(|row| {
                let tenant = parse("documents.tenant_id", &row.get::<String>("tenant_id")?)?;
                Ok((tenant, DocumentRow::read(row)?.into_document()?))
            })
            .collect()
    }
}
