//! The maintenance port: what `signet check` asks of the database as a whole.

use async_trait::async_trait;

use super::StoreError;
use crate::ids::{DocumentId, TenantId};
use crate::model::Document;

/// Whole-database checks, across tenants.
#[async_trait]
pub trait MaintenanceStore: Send + Sync + 'static {
    /// Runs the database's own consistency check (SQLite's `integrity_check`, a catalogue read on
    /// PostgreSQL) and checks the event sequence; an error describes what is wrong.
    async fn check_integrity(&self) -> Result<(), StoreError>;

    /// Documents whose content is stored, with their tenant, in id order after `after`, at most
    /// `limit` of them (`signet check --blobs` walks them all, page by page).
    async fn stored_documents(
        &self,
        after: Option<&DocumentId>,
        limit: u32,
    ) -> Result<Vec<(TenantId, Document)>, StoreError>;
}
