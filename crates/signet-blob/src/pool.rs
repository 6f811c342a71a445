//! A few threads, one per core, that decrypt chunks off the async runtime.
//!
//! `tokio::task::spawn_blocking` would do the same for one download, but its pool grows to
//! hundreds of threads when many downloads run at once; CPU-bound work gains nothing from more
//! threads than cores, so here jobs from every download queue for the same few threads instead.

use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

/// Runs `work` on one of the pool's threads and resolves to its result.
///
/// Nothing is run once the returned future has been dropped before a thread got to it, so a
/// download that is abandoned stops costing CPU. Where no thread could be started at all, `work`
/// runs at once on the caller's thread.
pub(crate) fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = io::Result<T>> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        if !done.is_closed() {
            // The receiver may go away meanwhile; then the result is not wanted.
            let _ = done.send(work());
        }
    });
    if let Err(mpsc::SendError(job)) = jobs().send(job) {
        job();
    }
    async move {
        result
            .await
            .map_err(|_| io::Error::other("a decryption thread failed"))
    }
}

/// The queue the threads take jobs from; its receiver is dropped (so sending fails) if no
/// thread could be started.
fn jobs() -> &'static Sender<Job> {
    static JOBS: OnceLock<Sender<Job>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("signet-blob-{i}"))
                .spawn(move || work_through(&queue));
            if let Err(error) = spawned {
                tracing::warn!(%error, "could not start a blob decryption thread");
            }
        }
        jobs
    })
}

fn work_through(queue: &Mutex<Receiver<Job>>) {
    loop {
        // A poisoned lock only means another thread panicked while waiting; the queue is intact.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        // A panicking job drops its sender, which its caller sees as an error; the thread lives on.
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_work_on_pool_threads_even_after_panics() {
        assert_eq!(run(|| 6 * 7).await.expect("the pool runs work"), 42);
        // More panics than there are threads: a panic must not take its thread down.
        for _ in 0..8 {
            assert!(run(|| -> u8 { panic!("a job panicked") }).await.is_err());
        }
        let names = futures::future::join_all(
            (0..16).map(|_| run(|| std::thread::current().name().map(str::to_owned))),
        )
        .await;
        for name in names {
            let name = name.expect("the pool runs work").unwrap_or_default();
            assert!(name.starts_with("signet-blob-"), "ran on {name:?}");
        }
    }
}
