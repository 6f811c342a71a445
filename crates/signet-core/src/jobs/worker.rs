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
    /// This worker's name, recorded on the jobs it claims; unique among all workers on all
    /// nodes (its leases are renewed by name).
    pub name: String,
    /// How long to sleep when no job is due.
    pub poll_interval: StdDuration,
    /// How long a claimed job stays reserved before another worker may take it over. The
    /// worker renews the leases of the jobs it holds every third of this while it runs them,
    /// so a job outlives it only when the worker dies (or loses the database).
    pub lease: Duration,
    /// Jobs claimed at once.
    pub batch: u32,
    /// The longest pause between attempts while the store keeps failing (the pause doubles
    /// from twice `poll_interval` up to this).
    pub max_store_backoff: StdDuration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            // Process ids repeat across hosts (every container's is 1), so a random part too.
            name: format!(
                "worker-{}-{}",
                std::process::id(),
                hex::encode(rand::random::<[u8; 4]>())
            ),
            poll_interval: StdDuration::from_millis(500),
            // Short, because renewed: a node that dies holding jobs delays them by this much.
            lease: Duration::seconds(30),
            batch: 16,
            max_store_backoff: StdDuration::from_secs(60),
        }
    }
}

impl Core {
    /// Claims and runs the jobs due now; returns how many ran. While they run, their leases are
    /// renewed, so that no other worker takes over a job this one is still running.
    pub async fn run_due_jobs(&self, settings: &WorkerSettings) -> CoreResult<usize> {
        let now = self.now();
        let jobs = self
            .store()
            .claim_jobs(&settings.name, now, now + settings.lease, settings.batch)
            .await?;
        if jobs.is_empty() {
            return Ok(0);
        }
        let every = StdDuration::try_from(settings.lease / 3)
            .unwrap_or(StdDuration::from_secs(10))
            .max(StdDuration::from_millis(100));
        let mut renewal = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut work = std::pin::pin!(self.run_claimed(&jobs));
        loop {
            tokio::select! {
                done = &mut work => return done.map(|()| jobs.len()),
                _ = renewal.tick() => {
                    let until = self.now() + settings.lease;
                    if let Err(error) = self.store().renew_job_leases(&settings.name, until).await {
                        tracing::warn!(%error, "renewing job leases failed");
                    }
                }
            }
        }
    }

    /// Runs claimed jobs one after the other and records each outcome.
    async fn run_claimed(&self, jobs: &[Job]) -> CoreResult<()> {
        for job in jobs {
            let kind = job.kind.name();
            let started = std::time::Instant::now();
            let outcome = self.run_job(job).await;
            metrics::histogram!("signet_job_duration_seconds", "kind" => kind)
                .record(started.elapsed().as_secs_f64());
            if let Some(delivery) = job.kind.delivery() {
                let result = if outcome.is_ok() {
                    "delivered"
                } else {
                    "failed"
                };
                metrics::counter!("signet_webhook_deliveries_total", "result" => result, "target" => delivery.target.as_str())
                    .increment(1);
            }
            match outcome {
                Ok(()) => {
                    metrics::counter!("signet_jobs_completed_total", "kind" => kind).increment(1);
                    self.store().complete_job(&job.id, self.now()).await?
                }
                Err(error) => {
                    let retry_at = (job.attempts < job.kind.max_attempts())
                        .then(|| self.now() + job.kind.backoff(job.attempts));
                    metrics::counter!("signet_jobs_failed_total", "kind" => kind, "dead" => if retry_at.is_none() { "true" } else { "false" }).increment(1);
                    tracing::warn!(job = %job.id, kind = job.kind.name(), attempt = job.attempts, dead = retry_at.is_none(), error = %error, "job failed");
                    self.store()
                        .fail_job(&job.id, &error.to_string(), retry_at)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Runs one job with its kind's handler.
    async fn run_job(&self, job: &Job) -> CoreResult<()> {
        let handler = crate::jobs::handlers::handler(&job.kind);
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
        let mut store_failures: u32 = 0;
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
                Ok(ran) => {
                    if store_failures > 0 {
                        tracing::info!(
                            failures = store_failures,
                            "the store answers again; jobs resume"
                        );
                        store_failures = 0;
                    }
                    ran
                }
                Err(error) => {
                    // The store is down or read-only: every attempt would fail the same way, so
                    // wait longer each time, and say it loudly once rather than every poll.
                    store_failures = store_failures.saturating_add(1);
                    metrics::counter!("signet_worker_store_errors_total").increment(1);
                    let pause = store_backoff(
                        store_failures,
                        settings.poll_interval,
                        settings.max_store_backoff,
                    );
                    let retry_in_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX);
                    if store_failures == 1 {
                        tracing::error!(%error, retry_in_ms, "claiming jobs failed; backing off");
                    } else {
                        tracing::warn!(%error, attempt = store_failures, retry_in_ms, "claiming jobs still fails");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
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

/// The pause after the `failures`-th failure in a row to reach the store: twice the poll
/// interval, doubling with each failure, never more than `max`.
pub fn store_backoff(failures: u32, poll_interval: StdDuration, max: StdDuration) -> StdDuration {
    let factor = 1u32 << failures.clamp(1, 16);
    poll_interval.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_backoff_doubles_up_to_its_cap() {
        let poll = StdDuration::from_millis(500);
        let max = StdDuration::from_secs(60);
        let pauses: Vec<u64> = (1..=10)
            .map(|n| store_backoff(n, poll, max).as_millis() as u64)
            .collect();
        assert_eq!(
            pauses,
            [
                1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000
            ]
        );
        // However long the outage, the pause stays capped (no overflow).
        assert_eq!(store_backoff(u32::MAX, poll, max), max);
    }
}
