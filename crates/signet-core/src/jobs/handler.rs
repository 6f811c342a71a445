//! What every kind of job implements: its name, how it is de-duplicated and how one runs. Kept
//! apart from the handlers themselves so that aggregates with jobs of their own (signing) can
//! implement it without importing the list of every handler.

use async_trait::async_trait;

use crate::error::CoreResult;
use crate::ports::Core;

/// How jobs of a kind are de-duplicated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dedupe {
    /// A job given a key ([`crate::jobs::NewJob::deduplicated`]) is dropped while another job
    /// with that key is pending or running; after that one is done or dead, the key is free.
    WhileLive,
}

/// What a kind of job does.
#[async_trait]
pub(crate) trait JobHandler: Send + Sync {
    /// The kind's stored name (the same as [`crate::jobs::JobKind::name`]).
    fn name(&self) -> &'static str;
    /// How its jobs are de-duplicated.
    fn dedupe(&self) -> Dedupe {
        Dedupe::WhileLive
    }
    /// Runs one job. Jobs are retried after an error, so running one twice must do no harm.
    async fn run(&self, core: &Core) -> CoreResult<()>;
}
