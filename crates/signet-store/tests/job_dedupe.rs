//! Job de-duplication holds only among jobs still pending or running, on SQLite and on
//! PostgreSQL: a key frees up once its job is done or dead, so a later job reusing it (a second
//! invitation, a reminder) runs instead of being dropped. Jobs sharing an ordering key run one
//! after the other, in the order they were enqueued.

use std::sync::Arc;

use signet_core::blob::BlobKey;
use signet_core::jobs::{JobKind, JobState, NewJob};
use signet_core::store::Store;
use time::{Duration, OffsetDateTime};

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {$(
            #[tokio::test]
            async fn $name() -> anyhow::Result<()> {
                let Some((store, _db)) = signet_store::test_support::store(signet_store::test_support::Backend::Sqlite).await? else { return Ok(()) };
                super::$name(store).await
            }
        )*}
        mod postgres {$(
            #[tokio::test]
            async fn $name() -> anyhow::Result<()> {
                let Some((store, _db)) = signet_store::test_support::store(signet_store::test_support::Backend::Postgres).await? else { return Ok(()) };
                super::$name(store).await
            }
        )*}
    };
}

on_both!(
    a_key_is_reused_after_its_job_finished,
    a_key_is_reused_after_its_job_died,
    ordered_jobs_wait_for_the_earlier_ones,
);

fn now() -> OffsetDateTime {
    // Whole microseconds, as the system clock gives them.
    signet_core::clock::Clock::now(&signet_core::clock::SystemClock)
}

fn job(key: &str, at: OffsetDateTime) -> NewJob {
    NewJob::at(
        JobKind::DeleteBlob {
            key: BlobKey::random(),
        },
        at,
    )
    .deduplicated(key)
}

async fn claim(store: &Arc<dyn Store>, at: OffsetDateTime) -> anyhow::Result<Vec<String>> {
    Ok(store
        .claim_jobs("w", at, at + Duration::minutes(5), 10)
        .await?
        .into_iter()
        .map(|j| j.id)
        .collect())
}

async fn a_key_is_reused_after_its_job_finished(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t0 = now();
    let first = job("invite:K", t0);
    store.enqueue_jobs(std::slice::from_ref(&first)).await?;
    // While the first is pending, a second with the key is dropped.
    let duplicate = job("invite:K", t0);
    store.enqueue_jobs(std::slice::from_ref(&duplicate)).await?;
    assert_eq!(claim(&store, t0).await?, vec![first.id.clone()]);
    // While it runs, too.
    store.enqueue_jobs(&[job("invite:K", t0)]).await?;
    assert!(claim(&store, t0).await?.is_empty());
    store.complete_job(&first.id, t0).await?;
    // Done: the key is free, and the new job runs.
    let second = job("invite:K", t0 + Duration::seconds(1));
    store.enqueue_jobs(std::slice::from_ref(&second)).await?;
    assert_eq!(
        claim(&store, t0 + Duration::seconds(1)).await?,
        vec![second.id.clone()]
    );
    store.complete_job(&second.id, t0).await?;
    let done = store.jobs_in_state(JobState::Done, 10).await?;
    let mut ids: Vec<String> = done.into_iter().map(|j| j.id).collect();
    ids.sort();
    let mut expected = vec![first.id, second.id];
    expected.sort();
    assert_eq!(ids, expected, "the dropped duplicates left no rows");
    Ok(())
}

async fn a_key_is_reused_after_its_job_died(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t0 = now();
    let first = job("remind:K", t0);
    store.enqueue_jobs(std::slice::from_ref(&first)).await?;
    assert_eq!(claim(&store, t0).await?, vec![first.id.clone()]);
    store.fail_job(&first.id, "gave up", None).await?;
    let second = job("remind:K", t0);
    store.enqueue_jobs(std::slice::from_ref(&second)).await?;
    assert_eq!(claim(&store, t0).await?, vec![second.id.clone()]);
    // The dead one cannot be replayed while its key has a live job: that one does the work.
    assert!(!store.replay_job(&first.id, t0).await?);
    store.complete_job(&second.id, t0).await?;
    assert!(store.replay_job(&first.id, t0).await?);
    Ok(())
}

/// The store stamps jobs with the injected clock, not the system's: a job enqueued while the
/// clock shows 2031 was created in 2031.
async fn jobs_are_stamped_with_the_injected_clock(
    backend: signet_store::test_support::Backend,
) -> anyhow::Result<()> {
    use signet_store::test_support::Backend;
    use sqlx::Connection as _;
    let Some(db) = signet_store::test_support::create(backend).await? else {
        return Ok(());
    };
    let at = time::macros::datetime!(2031-01-01 12:00 UTC);
    let clock = Arc::new(signet_core::clock::ManualClock::new(at));
    let store = signet_store::open_with_clock(&db.url, clock).await?;
    let queued = job("stamp", at);
    store.enqueue_jobs(std::slice::from_ref(&queued)).await?;
    let query = "SELECT created_at FROM jobs WHERE id = $1";
    let created: i64 = match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await?;
            sqlx::query_scalar(query)
                .bind(&queued.id)
                .fetch_one(&mut conn)
                .await?
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await?;
            sqlx::query_scalar(query)
                .bind(&queued.id)
                .fetch_one(&mut conn)
                .await?
        }
    };
    assert_eq!(i128::from(created), at.unix_timestamp_nanos() / 1000);
    Ok(())
}

#[tokio::test]
async fn sqlite_jobs_are_stamped_with_the_injected_clock() -> anyhow::Result<()> {
    jobs_are_stamped_with_the_injected_clock(signet_store::test_support::Backend::Sqlite).await
}

#[tokio::test]
async fn postgres_jobs_are_stamped_with_the_injected_clock() -> anyhow::Result<()> {
    jobs_are_stamped_with_the_injected_clock(signet_store::test_support::Backend::Postgres).await
}

fn ordered(key: &str, at: OffsetDateTime) -> NewJob {
    NewJob::at(
        JobKind::DeleteBlob {
            key: BlobKey::random(),
        },
        at,
    )
    .ordered(key)
}

/// Of three jobs with one ordering key, all due at the same instant, only the first is claimed;
/// while it is retried the others wait (an unrelated job does not); once it is done the second
/// runs, and once the second is dead the third does.
async fn ordered_jobs_wait_for_the_earlier_ones(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t0 = now();
    let (a, b, c) = (
        ordered("callback:E", t0),
        ordered("callback:E", t0),
        ordered("callback:E", t0),
    );
    let other = ordered("callback:F", t0);
    // Separate enqueues, as separate events would make them; and one batch.
    store.enqueue_jobs(std::slice::from_ref(&a)).await?;
    store.enqueue_jobs(&[b.clone(), c.clone()]).await?;
    store.enqueue_jobs(std::slice::from_ref(&other)).await?;
    let mut first = claim(&store, t0).await?;
    first.sort();
    let mut expected = vec![a.id.clone(), other.id.clone()];
    expected.sort();
    assert_eq!(first, expected);
    // The first fails and is retried later: the others wait even though they are due.
    store
        .fail_job(&a.id, "receiver down", Some(t0 + Duration::seconds(5)))
        .await?;
    assert!(claim(&store, t0 + Duration::seconds(1)).await?.is_empty());
    assert_eq!(
        claim(&store, t0 + Duration::seconds(5)).await?,
        vec![a.id.clone()]
    );
    store.complete_job(&a.id, t0).await?;
    assert_eq!(
        claim(&store, t0 + Duration::seconds(5)).await?,
        vec![b.id.clone()]
    );
    // Dead-lettered, it no longer holds the last one back.
    store.fail_job(&b.id, "gave up", None).await?;
    assert_eq!(
        claim(&store, t0 + Duration::seconds(5)).await?,
        vec![c.id.clone()]
    );
    Ok(())
}
