//! The jobs port: the durable queue the worker claims from.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::jobs::{Job, JobState, NewJob};

/// Durable jobs: enqueued, claimed under a lease, completed, retried or dead-lettered.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Enqueues jobs on their own.
    async fn enqueue_jobs(&self, jobs: &[NewJob]) -> Result<(), StoreError>;
    /// Claims up to `limit` due jobs for `worker` until `lease_until`: pending jobs whose time
    /// has come, and running jobs whose lease ran out (their worker died). Two workers never
    /// claim the same job.
    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;
    /// Extends to `lease_until` the lease of every job `worker` still holds (claimed, not yet
    /// finished, not taken over); how many. A live worker calls this while it runs jobs, so
    /// leases can be short and a dead worker's jobs are taken over soon.
    async fn renew_job_leases(
        &self,
        worker: &str,
        lease_until: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Marks a claimed job done.
    async fn complete_job(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Records a failure: retried at `retry_at`, or dead-lettered when `None`.
    async fn fail_job(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;
    /// Jobs in a state, oldest first.
    async fn jobs_in_state(&self, state: JobState, limit: u32) -> Result<Vec<Job>, StoreError>;
    /// Makes a dead job pending again, due at `now`; `false` if it is not dead.
    async fn replay_job(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError>;
}
