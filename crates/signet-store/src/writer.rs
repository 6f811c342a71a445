//! Group commit: the hot write paths (a token id's claim, a new envelope, events with their
//! jobs) are handed to one writer task, which commits the writes of concurrent requests together
//! in one transaction and answers each caller only once that transaction has committed.
//!
//! Why: a commit costs far more than the statements of one create (on PostgreSQL the WAL
//! flush, on SQLite the WAL write and, every thousand pages, a checkpoint), and every append
//! to the transparency log takes the one `ledger_state` row, so per-request transactions
//! serialize on it anyway. One writer turns N requests into one transaction, one ledger update
//! and one commit.
//!
//! A write is data ([`Write`]: statements and events), so it can be run twice: a batch is tried
//! optimistically as one transaction; if anything in it fails, it is rolled back whole and each
//! of its writes is run again on its own, so one failing request neither fails nor loses its
//! neighbours. Nothing is answered before the commit that holds it returned, so a crash loses
//! only writes nobody was told about.

use signet_core::store::StoreError;
use tokio::sync::{mpsc, oneshot};

use std::collections::HashSet;

use crate::db::{Pool, Query, Tx, Upkeep};
use crate::evidence::{PreparedEvent, append_prepared};
use crate::tenants::{CLAIM_CHUNKS, TokenIdClaim, claim_token_ids_statement};

/// Most writes committed in one transaction: bounds how long the ledger row is held and how
/// long the first request of a batch waits for the last.
const MAX_BATCH: usize = 128;
/// Writes waiting for the writer beyond which callers wait to hand theirs over.
const QUEUE: usize = 4096;

/// One request's write: statements run in order, then its events appended to the log (the
/// writer appends the events of a whole batch at once).
#[derive(Debug, Default)]
pub(crate) struct Write {
    /// Run in order, in the batch's transaction.
    pub(crate) statements: Vec<Query>,
    /// Appended to the event log and the transparency log after the batch's statements.
    pub(crate) events: Vec<PreparedEvent>,
    /// The statements only insert rows none of the others reads, so PostgreSQL may run them
    /// as one statement (see `Conn::execute_together`).
    pub(crate) together: bool,
    /// Claimed before the statements, with the batch's other claims in a few statements: when
    /// the id was used before (or an earlier write of the same batch claims it), the write is
    /// left out of its batch, nothing of it is written, and it answers
    /// [`StoreError::TokenIdUsed`]. The rest of the batch goes on: the refused claim changed
    /// nothing.
    pub(crate) guard: Option<TokenIdClaim>,
}

struct Pending {
    write: Write,
    /// How many rows the write's statements changed, once committed.
    reply: oneshot::Sender<Result<u64, StoreError>>,
}

/// The handle through which writes reach the writer task; the task ends when the last handle
/// is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Pending>,
}

impl Writer {
    /// Starts the writer task on the current Tokio runtime.
    pub(crate) fn spawn(pool: Pool) -> Self {
        let (queue, incoming) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, incoming));
        Self { queue }
    }

    /// Commits a write (with whatever other writes are waiting) and answers how many rows its
    /// statements changed. Answers only after the commit that holds it.
    pub(crate) async fn write(&self, write: Write) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { write, reply })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

fn gone() -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!("the store's writer has stopped"))
}

async fn run(pool: Pool, mut incoming: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if pool.is_sqlite() {
            // SQLite's writing connection runs statements on the calling thread, so the whole
            // batch, from `BEGIN` to `COMMIT`, runs on a blocking thread: nothing in it waits
            // for anything but the connection itself.
            let pool = pool.clone();
            batch = tokio::task::spawn_blocking(move || {
                futures::executor::block_on(settle(&pool, &mut batch));
                batch
            })
            .await
            // A panic in the batch dropped its callers' replies, which tells them the writer
            // stopped; the next batch starts afresh.
            .unwrap_or_else(|_| Vec::with_capacity(MAX_BATCH));
        } else {
            settle(&pool, &mut batch).await;
        }
    }
}

/// Commits a batch and answers each of its writes, emptying it.
async fn settle(pool: &Pool, batch: &mut Vec<Pending>) {
    let writes: Vec<&Write> = batch.iter().map(|p| &p.write).collect();
    match commit_batch(pool, &writes).await {
        Ok((results, upkeep)) => {
            for (pending, result) in batch.drain(..).zip(results) {
                // A caller that stopped waiting does not need its answer.
                let _ = pending.reply.send(result);
            }
            // Only now: the callers' writes were durable before this.
            drop(upkeep);
        }
        Err(error) if batch.len() == 1 => {
            if let Some(pending) = batch.pop() {
                let _ = pending.reply.send(Err(error));
            }
        }
        Err(error) => {
            tracing::debug!(%error, writes = batch.len(), "a batch failed; committing its writes one by one");
            for pending in batch.drain(..) {
                let (result, upkeep) = match commit_batch(pool, &[&pending.write]).await {
                    Ok((mut results, upkeep)) => (results.pop().unwrap_or(Ok(0)), Some(upkeep)),
                    Err(error) => (Err(error), None),
                };
                let _ = pending.reply.send(result);
                drop(upkeep);
            }
        }
    }
}

/// Runs writes in one transaction and commits it; answers, for each write, the rows it changed
/// or why it was left out (its token id was used before), and the upkeep the commit left to do
/// once they are answered.
async fn commit_batch(
    pool: &Pool,
    writes: &[&Write],
) -> Result<(Vec<Result<u64, StoreError>>, Upkeep), StoreError> {
    let mut tx = pool.begin().await?;
    let claimed = match claim_all(&mut tx, writes).await {
        Ok(claimed) => claimed,
        Err(error) => {
            tx.rollback().await?;
            return Err(error);
        }
    };
    let mut changed = Vec::with_capacity(writes.len());
    let mut events = Vec::new();
    for (write, claimed) in writes.iter().zip(claimed) {
        if !claimed {
            changed.push(Err(StoreError::TokenIdUsed));
            continue;
        }
        let done = if write.together {
            tx.execute_together(&write.statements).await
        } else {
            tx.execute_all(&write.statements).await
        };
        match done {
            Ok(rows) => changed.push(Ok(rows)),
            Err(error) => {
                // Roll back at once rather than on drop, so the connection is clean for the
                // retries.
                tx.rollback().await?;
                return Err(error);
            }
        }
        events.extend(write.events.iter());
    }
    if let Err(error) = append_prepared(&mut tx, &events).await {
        tx.rollback().await?;
        return Err(error);
    }
    let upkeep = tx.commit_then_upkeep().await?;
    Ok((changed, upkeep))
}

/// Claims the token ids of a batch's guarded writes, in as few statements as [`CLAIM_CHUNKS`]
/// allows rather than one per write; answers, per write, whether it may run (a write without a
/// guard always may). An id that two writes of the batch carry is claimed for the first; the
/// second is refused as a replay of it, whatever the database holds.
async fn claim_all(tx: &mut Tx, writes: &[&Write]) -> Result<Vec<bool>, StoreError> {
    let mut seen = HashSet::new();
    let mut first_claims = Vec::new();
    let mut repeated = vec![false; writes.len()];
    for (i, write) in writes.iter().enumerate() {
        if let Some(claim) = &write.guard {
            if seen.insert(claim.key()) {
                first_claims.push(claim);
            } else {
                repeated[i] = true;
            }
        }
    }
    let mut claimed = HashSet::new();
    let mut rest = first_claims.as_slice();
    while !rest.is_empty() {
        let size = CLAIM_CHUNKS
            .into_iter()
            .find(|&size| size <= rest.len())
            .unwrap_or(1);
        let (chunk, after) = rest.split_at(size);
        for row in tx.fetch_all(claim_token_ids_statement(chunk)).await? {
            claimed.insert((
                row.get::<String>("tenant_id")?,
                row.get::<String>("token_id")?,
            ));
        }
        rest = after;
    }
    Ok(writes
        .iter()
        .zip(repeated)
        .map(|(write, repeated)| match &write.guard {
            None => true,
            Some(claim) => {
                let (tenant, token_id) = claim.key();
                !repeated && claimed.contains(&(tenant, token_id.to_owned()))
            }
        })
        .collect())
}
