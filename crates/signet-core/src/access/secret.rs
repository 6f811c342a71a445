//! Hashing of answers a person types (secret answers): Argon2id, run on a blocking thread so
//! that a burst of attempts cannot stall the async workers.
//!
//! Each hash takes about 19 MiB and tens of milliseconds of a core, so the work is bounded: at
//! most one hash per core runs at a time in the process (later ones wait for a slot), and the
//! portal judges one answer per link at a time ([`JudgingSlot`]). Without these bounds a burst
//! of requests made the process hash hundreds of answers at once (gigabytes of memory).
//!
//! Answers are compared after trimming surrounding white space and folding case, because people
//! retype an employee number or a city name with varying capitals; the stored hash is of that
//! normalised form.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::ids::LinkId;

/// Slots for hashes running at once: one per core.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
});

/// Links whose answer is being judged in this process.
static JUDGING: LazyLock<Mutex<HashSet<LinkId>>> = LazyLock::new(Mutex::default);

/// The right to judge one answer for a link; released when dropped.
#[derive(Debug)]
pub struct JudgingSlot(LinkId);

impl JudgingSlot {
    /// Takes the link's slot, or `None` while another answer for it is being judged.
    pub fn take(link: &LinkId) -> Option<Self> {
        let mut judging = JUDGING.lock().unwrap_or_else(PoisonError::into_inner);
        // Built only when inserted: a slot made and dropped here would free the link (and
        // re-lock the set this guard holds).
        judging.insert(*link).then(|| Self(*link))
    }
}

impl Drop for JudgingSlot {
    fn drop(&mut self) {
        JUDGING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}

/// Runs one Argon2 computation on a blocking thread once a hashing slot is free.
async fn on_hashing_pool<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let _slot = HASHING
        .acquire()
        .await
        .map_err(|_| anyhow::anyhow!("the hashing pool is closed"))?;
    tokio::task::spawn_blocking(work).await?
}

/// The normalised form of an answer that is hashed and compared.
pub fn normalise_answer(answer: &str) -> String {
    answer.trim().to_lowercase()
}

/// Hashes an answer with Argon2id and a random salt; returns the PHC string.
pub async fn hash_answer(answer: &str) -> anyhow::Result<String> {
    let normalised = normalise_answer(answer);
    on_hashing_pool(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let hash = Argon2::default()
            .hash_password(normalised.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        Ok(hash.to_string())
    })
    .await
}

/// Checks an answer against a stored PHC string, in constant time.
pub async fn verify_answer(answer: &str, phc: &str) -> anyhow::Result<bool> {
    let normalised = normalise_answer(answer);
    let phc = phc.to_owned();
    on_hashing_pool(move || {
        let parsed = PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        Ok(Argon2::default()
            .verify_password(normalised.as_bytes(), &parsed)
            .is_ok())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_match_ignoring_case_and_spaces() -> anyhow::Result<()> {
        let hash = hash_answer("EMP-00142").await?;
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_answer("  emp-00142 ", &hash).await?);
        assert!(!verify_answer("EMP-00143", &hash).await?);
        Ok(())
    }

    #[test]
    fn one_answer_per_link_is_judged_at_a_time() {
        let link = LinkId::generate();
        let other = LinkId::generate();
        let first = JudgingSlot::take(&link).expect("a free link");
        assert!(JudgingSlot::take(&link).is_none(), "taken while judged");
        let beside = JudgingSlot::take(&other);
        assert!(beside.is_some(), "other links are not held up");
        drop(first);
        assert!(
            JudgingSlot::take(&link).is_some(),
            "free again once dropped"
        );
    }

    #[tokio::test]
    async fn no_more_hashes_run_at_once_than_there_are_slots() -> anyhow::Result<()> {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks = (0..16).map(|_| {
            let (running, most) = (running.clone(), most.clone());
            on_hashing_pool(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
        });
        futures::future::try_join_all(tasks).await?;
        let slots = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        assert!(most.load(Ordering::SeqCst) <= slots);
        Ok(())
    }
}
