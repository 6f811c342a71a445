//! [`JobStore`]: the durable job queue. [`insert_jobs`] enqueues inside the transaction of the
//! change that causes the jobs.

use async_trait::async_trait;
use signet_core::jobs::{Job, JobState, NewJob};
use signet_core::store::{JobStore, StoreError};
use time::OffsetDateTime;

use crate::SqlStore;
use crate::db::{Query, Row, Tx};
use crate::rows::{corrupt, from_i64, from_micros, micros};

const JOB_COLUMNS: &str = "id, payload, state, attempts, run_at, last_error";

/// Enqueues jobs, created at `now`; a job whose dedupe key a pending or running job holds is
/// dropped (that job does the work).
pub(crate) async fn insert_jobs(
    tx: &mut Tx,
    jobs: &[NewJob],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.execute_all(&insert_jobs_statements(jobs, now)?).await?;
    Ok(())
}

/// The statements of [`insert_jobs`], one per job (each may be dropped on its own).
pub(crate) fn insert_jobs_statements(
    jobs: &[NewJob],
    now: OffsetDateTime,
) -> Result<Vec<Query>, StoreError> {
    jobs.iter()
        .map(|job| {
            let payload = serde_json::to_string(&job.kind).map_err(corrupt)?;
            Ok(Query::new(
                "INSERT INTO jobs (id, kind, payload, dedupe_key, state, run_at, attempts, \
                 max_attempts, created_at, ordering_key) \
                 VALUES ($1, $2, $3, $4, 'pending', $5, 0, $6, $7, $8) \
                 ON CONFLICT (dedupe_key) WHERE state IN ('pending', 'running') DO NOTHING",
            )
            .bind(&job.id)
            .bind(job.kind.name())
            .bind(payload)
            .bind(job.dedupe_key.clone())
            .bind(micros(job.run_at))
            .bind(i64::from(job.kind.max_attempts()))
            .bind(micros(now))
            .bind(job.ordering_key.clone()))
        })
        .collect()
}

fn job_from_row(row: &Row) -> Result<Job, StoreError> {
    let state: String = row.get("state")?;
    Ok(Job {
        id: row.get("id")?,
        kind: serde_json::from_str(&row.get::<String>("payload")?).map_err(corrupt)?,
        state: JobState::parse(&state).ok_or_else(|| corrupt(&state))?,
        attempts: from_i64(row.get("attempts")?)?,
        run_at: from_micros(row.get("run_at")?)?,
        last_error: row.get("last_error")?,
    })
}

#[async_trait]
impl JobStore for SqlStore {
    async fn enqueue_jobs(&self, jobs: &[NewJob]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_jobs(&mut tx, jobs, self.clock.now()).await?;
        tx.commit().await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        // A job with an ordering key waits while an earlier one with the key is live; the claim
        // reads the table as it was, so of several due jobs with one key only the first is taken.
        let claim = Query::new(format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $2, \
             worker = $3 WHERE id IN (SELECT id FROM jobs AS due \
             WHERE ((state = 'pending' AND run_at <= $1) OR (state = 'running' AND lease_until < $1)) \
             AND (ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs AS earlier \
             WHERE earlier.ordering_key = due.ordering_key AND earlier.state IN ('pending', 'running') \
             AND earlier.seq < due.seq)) \
             ORDER BY run_at LIMIT $4{}) \
             RETURNING {JOB_COLUMNS}",
            self.pool.claim_lock()
        ))
        .bind(micros(now))
        .bind(micros(lease_until))
        .bind(worker)
        .bind(i64::from(limit));
        self.pool
            .fetch_all(claim)
            .await?
            .iter()
            .map(job_from_row)
            .collect()
    }

    async fn renew_job_leases(
        &self,
        worker: &str,
        lease_until: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        // A job another worker took over has that worker's name: it is not renewed.
        let renew =
            Query::new("UPDATE jobs SET lease_until = $2 WHERE state = 'running' AND worker = $1")
                .bind(worker)
                .bind(micros(lease_until));
        self.pool.execute(renew).await
    }

    async fn complete_job(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let complete = Query::new(
            "UPDATE jobs SET state = 'done', finished_at = $2, lease_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(micros(now));
        self.pool.execute(complete).await?;
        Ok(())
    }

    async fn fail_job(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let (state, run_at) = match retry_at {
            Some(at) => ("pending", Some(micros(at))),
            None => ("dead", None),
        };
        let fail = Query::new(
            "UPDATE jobs SET state = $2, run_at = COALESCE($3, run_at), last_error = $4, \
             lease_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(state)
        .bind(run_at)
        .bind(error);
        self.pool.execute(fail).await?;
        Ok(())
    }

    async fn jobs_in_state(&self, state: JobState, limit: u32) -> Result<Vec<Job>, StoreError> {
        let select = Query::new(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY run_at, id LIMIT $2"
        ))
        .bind(state.as_str())
        .bind(i64::from(limit));
        self.pool
            .fetch_all(select)
            .await?
            .iter()
            .map(job_from_row)
            .collect()
    }

    async fn replay_job(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        // Not while another job with its dedupe key is live: that one does the work.
        let replay = Query::new(
            "UPDATE jobs SET state = 'pending', run_at = $2, attempts = 0 \
             WHERE id = $1 AND state = 'dead' AND NOT EXISTS (SELECT 1 FROM jobs AS live \
             WHERE live.dedupe_key = jobs.dedupe_key AND live.state IN ('pending', 'running'))",
        )
        .bind(id)
        .bind(micros(now));
        Ok(self.pool.execute(replay).await? == 1)
    }
}
