//! `JobStore`: claims under a lease, retries, dead letters, replay. (De-duplication among live
//! jobs has its own suite, `job_dedupe.rs`.)

use std::sync::Arc;

use signet_core::blob::BlobKey;
use signet_core::store::Store;
use time::Duration;

use crate::now;

on_both!(
    jobs_are_claimed_once_retried_and_reclaimed,
    concurrent_workers_never_claim_a_job_twice,
    leases_renewed_by_their_worker_hold_until_it_stops,
);

async fn jobs_are_claimed_once_retried_and_reclaimed(store: Arc<dyn Store>) -> anyhow::Result<()> {
    use signet_core::jobs::{JobKind, JobState, NewJob};
    let t0 = now();
    let due = NewJob::at(
        JobKind::DeleteBlob {
            key: BlobKey::random(),
        },
        t0,
    )
    .deduplicated("one");
    let later = NewJob::at(
        JobKind::DeleteBlob {
            key: BlobKey::random(),
        },
        t0 + Duration::hours(1),
    );
    store.enqueue_jobs(&[due.clone(), later.clone()]).await?;
    // The same dedupe key is enqueued once.
    store
        .enqueue_jobs(&[NewJob::at(
            JobKind::DeleteBlob {
                key: BlobKey::random(),
            },
            t0,
        )
        .deduplicated("one")])
        .await?;
    let lease = t0 + Duration::minutes(5);
    let claimed = store.claim_jobs("a", t0, lease, 10).await?;
    assert_eq!(
        claimed.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        vec![due.id.as_str()]
    );
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(claimed[0].kind, due.kind);
    // Nobody else gets it while the lease holds…
    assert!(
        store
            .claim_jobs("b", t0 + Duration::minutes(1), lease, 10)
            .await?
            .is_empty()
    );
    // …but once the lease ran out (the worker died), another worker takes it over.
    let reclaimed = store
        .claim_jobs(
            "b",
            lease + Duration::seconds(1),
            lease + Duration::minutes(10),
            10,
        )
        .await?;
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].attempts, 2);
    // A failure schedules a retry; the retry is not due before its time.
    let retry_at = lease + Duration::minutes(1);
    store.fail_job(&due.id, "boom", Some(retry_at)).await?;
    assert!(
        store
            .claim_jobs(
                "b",
                retry_at - Duration::seconds(1),
                retry_at + Duration::minutes(5),
                10
            )
            .await?
            .is_empty()
    );
    let again = store
        .claim_jobs("b", retry_at, retry_at + Duration::minutes(5), 10)
        .await?;
    assert_eq!(again[0].last_error.as_deref(), Some("boom"));
    // Giving up dead-letters it; replay brings it back.
    store.fail_job(&due.id, "gave up", None).await?;
    assert_eq!(store.jobs_in_state(JobState::Dead, 10).await?.len(), 1);
    assert!(store.replay_job(&due.id, retry_at).await?);
    assert!(
        !store.replay_job(&due.id, retry_at).await?,
        "only dead jobs are replayed"
    );
    let replayed = store
        .claim_jobs("c", retry_at, retry_at + Duration::minutes(5), 10)
        .await?;
    assert_eq!(replayed.len(), 1);
    store.complete_job(&due.id, retry_at).await?;
    assert_eq!(store.jobs_in_state(JobState::Done, 10).await?.len(), 1);
    assert_eq!(
        store.jobs_in_state(JobState::Pending, 10).await?.len(),
        1,
        "the later job waits"
    );
    Ok(())
}

async fn concurrent_workers_never_claim_a_job_twice(store: Arc<dyn Store>) -> anyhow::Result<()> {
    use signet_core::jobs::{JobKind, NewJob};
    let t0 = now();
    let jobs: Vec<NewJob> = (0..60)
        .map(|_| {
            NewJob::at(
                JobKind::DeleteBlob {
                    key: BlobKey::random(),
                },
                t0,
            )
        })
        .collect();
    store.enqueue_jobs(&jobs).await?;
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_jobs(&format!("w{w}"), t0, t0 + Duration::minutes(5), 3)
                    .await?;
                if batch.is_empty() {
                    return anyhow::Ok(mine);
                }
                mine.extend(batch.into_iter().map(|j| j.id));
            }
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await??);
    }
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 60, "every job claimed");
    assert_eq!(unique.len(), 60, "no job claimed twice");
    Ok(())
}

async fn leases_renewed_by_their_worker_hold_until_it_stops(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    use signet_core::jobs::{JobKind, NewJob};
    let t0 = now();
    let job = |at| {
        NewJob::at(
            JobKind::DeleteBlob {
                key: BlobKey::random(),
            },
            at,
        )
    };
    store.enqueue_jobs(&[job(t0), job(t0)]).await?;
    let lease = Duration::seconds(30);
    assert_eq!(store.claim_jobs("a", t0, t0 + lease, 1).await?.len(), 1);
    assert_eq!(store.claim_jobs("b", t0, t0 + lease, 1).await?.len(), 1);
    // Worker a keeps renewing; b stopped renewing (it died) and its job is taken over.
    let later = t0 + lease + Duration::seconds(1);
    assert_eq!(store.renew_job_leases("a", later + lease).await?, 1);
    let taken = store.claim_jobs("c", later, later + lease, 10).await?;
    assert_eq!(taken.len(), 1, "only the unrenewed job is taken over");
    assert_eq!(taken[0].attempts, 2);
    // The dead worker's name no longer renews the job another worker now runs.
    assert_eq!(store.renew_job_leases("b", later + lease * 10).await?, 0);
    assert!(
        store
            .claim_jobs(
                "d",
                later + lease + Duration::seconds(1),
                later + lease * 3,
                10
            )
            .await?
            .len()
            == 2,
        "past every lease, both are free again"
    );
    Ok(())
}
