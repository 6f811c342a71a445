//! What the operator's command line and the metrics endpoint read and repair, as core calls:
//! nothing outside the core holds the store, so every path to the data goes through a service.

use crate::error::CoreResult;
use crate::ids::{DocumentId, TenantId};
use crate::jobs::{Job, JobState};
use crate::model::{Document, Tenant};
use crate::service::Core;

impl Core {
    /// Every tenant, for the operator.
    pub async fn tenants(&self) -> CoreResult<Vec<Tenant>> {
        Ok(self.store().list_tenants().await?)
    }

    /// At most `limit` jobs in `state`, oldest first.
    pub async fn jobs_in_state(&self, state: JobState, limit: u32) -> CoreResult<Vec<Job>> {
        Ok(self.store().jobs_in_state(state, limit).await?)
    }

    /// Makes a dead job pending again, due now; `false` if no dead job has that id.
    pub async fn replay_job(&self, id: &str) -> CoreResult<bool> {
        Ok(self.store().replay_job(id, self.now()).await?)
    }

    /// How many leaves the transparency log holds.
    pub async fn ledger_size(&self) -> CoreResult<u64> {
        Ok(self.store().ledger_size().await?)
    }

    /// Runs the database's own consistency check.
    pub async fn check_store_integrity(&self) -> CoreResult<()> {
        Ok(self.store().check_integrity().await?)
    }

    /// Documents whose content is stored, with their tenant, in id order after `after`, at most
    /// `limit` of them.
    pub async fn stored_documents(
        &self,
        after: Option<&DocumentId>,
        limit: u32,
    ) -> CoreResult<Vec<(TenantId, Document)>> {
        Ok(self.store().stored_documents(after, limit).await?)
    }
}
