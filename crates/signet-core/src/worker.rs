//! The job worker: claims due jobs, runs each, and records the outcome. It runs inside
//! `signet serve` and alone as `signet worker`; any number of workers on any number of nodes
//! may share one database.

use std::time::Duration as StdDuration;

use time::Duration;

use crate::error::CoreResult;
use crate::jobs::Job;
use crate::service::Core;

/// How old a staging file must be before it counts as abandoned: well beyond the longest upload
/// an upload URL allows to start.
pub const ABANDONED_UPLOAD_AGE: StdDuration = StdDuration::from_secs(6 * 3600);

/// How a worker polls.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// This worker's name (host and process), recorded on the jobs it claims.
    pub name: String,
    /// How long to sleep when no job is due.
    pub poll_interval: StdDuration,
    /// How long a claimed job stays reserved before another worker may take it over.
    pub lease: Duration,
    /// Jobs claimed at once.
    pub batch: u32,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            name: format!("worker-{}", std::process::id()),
            poll_interval: StdDuration::from_millis(500),
            lease: Duration::minutes(5),
            batch: 16,
        }
    }
}

impl Core {
    /// Claims and runs the jobs due now; returns how many ran.
    pub async fn run_due_jobs(&self, settings: &WorkerSettings) -> CoreResult<usize> {
        let now = self.now();
        let jobs = self
            .store()
            .claim_jobs(&settings.name, now, now + settings.lease, settings.batch)
            .await?;
        for job in &jobs {
            match self.run_job(job).await {
                Ok(()) => self.store().complete_job(&job.id, self.now()).await?,
                Err(error) => {
                    let retry_at = (job.attempts < job.kind.max_attempts())
                        .then(|| self.now() + job.kind.backoff(job.attempts));
                    tracing::warn!(job = %job.id, kind = job.kind.name(), attempt = job.attempts, dead = retry_at.is_none(), error = %error, "job failed");
                    self.store()
                        .fail_job(&job.id, &error.to_string(), retry_at)
                        .await?;
                }
            }
        }
        Ok(jobs.len())
    }

    /// Runs one job with its kind's handler.
    async fn run_job(&self, job: &Job) -> CoreResult<()> {
        let handler = crate::job_handlers::handler(&job.kind);
        tracing::debug!(job = %job.id, kind = handler.name(), dedupe = ?handler.dedupe(), attempt = job.attempts, "running a job");
        handler.run(self).await
    }

    /// Housekeeping that needs no job row: staging files of uploads cut short by a crash, and
    /// token ids too old to be replayed. Returns how many staging files were removed.
    pub async fn housekeeping(&self) -> CoreResult<usize> {
        self.store().prune_token_ids(self.now()).await?;
        self.store().prune_portal_sessions(self.now()).await?;
        Ok(self.blobs().sweep_abandoned(ABANDONED_UPLOAD_AGE).await?)
    }

    /// Runs jobs until `shutdown` turns true, with housekeeping at start and hourly.
    pub async fn run_worker(
        &self,
        settings: WorkerSettings,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        tracing::info!(worker = %settings.name, "job worker started");
        let mut next_housekeeping = tokio::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if tokio::time::Instant::now() >= next_housekeeping {
                match self.housekeeping().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(removed = n, "removed staging files of interrupted uploads")
                    }
                    Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
                }
                next_housekeeping += StdDuration::from_secs(3600);
            }
            let ran = match self.run_due_jobs(&settings).await {
                Ok(ran) => ran,
                Err(e) => {
                    tracing::error!(error = %e, "claiming jobs failed");
                    0
                }
            };
            if ran == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(settings.poll_interval) => {}
                    _ = self.jobs_enqueued() => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        tracing::info!(worker = %settings.name, "job worker stopped");
    }
}
