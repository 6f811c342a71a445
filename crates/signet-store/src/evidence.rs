//! [`EvidenceStore`]: the event log and the transparency log over it. [`append_events`] is the
//! one way events are written, inside the transaction of whatever change they describe.

use std::collections::HashMap;

use async_trait::async_trait;
use signet_core::ids::{EnvelopeId, TenantId};
use signet_core::jobs::NewJob;
use signet_core::model::Event;
use signet_core::store::{EvidenceStore, LedgerLeaf, StoreError, StoredTreeHead};
use signet_ledger::NodeId;

use crate::SqlStore;
use crate::db::{Query, Row, Tx};
use crate::jobs::insert_jobs_statements;
use crate::rows::{corrupt, from_i64, from_micros, hash_from_hex, micros, to_i64};
use crate::writer::Write;

/// How many rows one multi-row statement reads or writes: well under both databases' limits on
/// parameters.
const BATCH: usize = 200;

/// An event as the columns of its row, with its record and leaf hash already computed (by the
/// caller's task, not by the writer's).
#[derive(Debug)]
pub(crate) struct PreparedEvent {
    id: String,
    tenant_id: String,
    envelope_id: Option<String>,
    kind: String,
    at: i64,
    record: String,
    leaf_hash: [u8; 32],
}

/// Serialises events and hashes their leaves, ready for [`append_prepared`].
pub(crate) fn prepare_events(events: &[Event]) -> Result<Vec<PreparedEvent>, StoreError> {
    events
        .iter()
        .map(|event| {
            let record = serde_json::to_string(event).map_err(corrupt)?;
            Ok(PreparedEvent {
                id: event.id.to_string(),
                tenant_id: event.tenant_id.to_upper_hex(),
                envelope_id: event.envelope_id.map(|e| e.to_string()),
                kind: event.kind.as_str(),
                at: micros(event.at),
                leaf_hash: signet_core::evidence::leaf_hash_of_record(&record),
                record,
            })
        })
        .collect()
}

/// Appends events to the log: the ledger row lock orders concurrent writers, so the sequence
/// numbers are gap-free and in commit order.
pub(crate) async fn append_events(tx: &mut Tx, events: &[Event]) -> Result<(), StoreError> {
    let prepared = prepare_events(events)?;
    append_prepared(tx, &prepared.iter().collect::<Vec<_>>()).await
}

/// [`append_events`] for events already prepared: one update of the ledger row, one insert per
/// [`BATCH`] events, and the new tree nodes, however many events there are.
pub(crate) async fn append_prepared(
    tx: &mut Tx,
    events: &[&PreparedEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let count = to_i64(events.len())?;
    let size: i64 = tx
        .fetch_one(
            Query::new("UPDATE ledger_state SET size = size + $1 WHERE id = 1 RETURNING size")
                .bind(count),
        )
        .await?
        .get("size")?;
    let first = size - count;
    let leaf_hashes: Vec<[u8; 32]> = events.iter().map(|e| e.leaf_hash).collect();
    let mut seq = first;
    let mut inserts = Vec::new();
    for chunk in events.chunks(BATCH) {
        let mut rows = Vec::with_capacity(chunk.len());
        for event in chunk {
            rows.push(vec![
                seq.into(),
                event.id.as_str().into(),
                event.tenant_id.as_str().into(),
                event.envelope_id.clone().into(),
                event.kind.as_str().into(),
                event.at.into(),
                event.record.as_str().into(),
                hex::encode(event.leaf_hash).into(),
            ]);
            seq += 1;
        }
        inserts.push(Query::rows(
            "INSERT INTO events (seq, id, tenant_id, envelope_id, kind, at, record, leaf_hash)",
            8,
            rows,
            "",
        ));
    }
    tx.execute_all(&inserts).await?;
    integrate_leaves(tx, from_i64(first)?, &leaf_hashes).await
}

/// Adds the new leaves' perfect-subtree nodes, in the transaction that appends them.
async fn integrate_leaves(
    tx: &mut Tx,
    size: u64,
    leaf_hashes: &[[u8; 32]],
) -> Result<(), StoreError> {
    let count = u64::try_from(leaf_hashes.len()).map_err(corrupt)?;
    let needed = signet_ledger::nodes_needed_for_append_batch(size, count);
    let mut known = HashMap::new();
    for chunk in needed.chunks(BATCH) {
        known.extend(nodes_from_rows(tx.fetch_all(select_nodes(chunk)?).await?)?);
    }
    let new_nodes = signet_ledger::append_batch(size, leaf_hashes, &known)
        .map_err(|e| StoreError::Unexpected(anyhow::anyhow!("ledger append: {e}")))?;
    for chunk in new_nodes.chunks(BATCH) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let mut insert = Query::new(format!(
            "INSERT INTO ledger_nodes (level, idx, hash) VALUES {}",
            values.join(", ")
        ));
        for (id, hash) in chunk {
            insert = insert
                .bind(i64::from(id.level))
                .bind(to_i64(id.index)?)
                .bind(hex::encode(hash));
        }
        tx.execute(insert).await?;
    }
    Ok(())
}

/// The statement reading some stored nodes (at most [`BATCH`] of them).
fn select_nodes(ids: &[NodeId]) -> Result<Query, StoreError> {
    let conditions: Vec<String> = (0..ids.len())
        .map(|i| format!("(level = ${} AND idx = ${})", 2 * i + 1, 2 * i + 2))
        .collect();
    // No id asked: a condition that holds for no row, so the statement stays valid.
    let condition = if conditions.is_empty() {
        "1 = 0".to_owned()
    } else {
        conditions.join(" OR ")
    };
    let mut query = Query::new(format!(
        "SELECT level, idx, hash FROM ledger_nodes WHERE {condition}"
    ));
    for id in ids {
        query = query.bind(i64::from(id.level)).bind(to_i64(id.index)?);
    }
    Ok(query)
}

fn nodes_from_rows(rows: Vec<Row>) -> Result<HashMap<NodeId, [u8; 32]>, StoreError> {
    rows.iter()
        .map(|row| {
            let id = NodeId {
                level: u8::try_from(row.get::<i64>("level")?).map_err(corrupt)?,
                index: from_i64(row.get("idx")?)?,
            };
            Ok((id, hash_from_hex(&row.get::<String>("hash")?)?))
        })
        .collect()
}

fn leaf_from_row(row: &Row) -> Result<LedgerLeaf, StoreError> {
    Ok(LedgerLeaf {
        index: from_i64(row.get("seq")?)?,
        leaf_hash: hash_from_hex(&row.get::<String>("leaf_hash")?)?,
    })
}

/// A bound of a `[start, end)` range as a stored sequence number.
fn bound(position: u64) -> i64 {
    i64::try_from(position).unwrap_or(i64::MAX)
}

#[async_trait]
impl EvidenceStore for SqlStore {
    async fn append_events(&self, events: &[Event]) -> Result<(), StoreError> {
        let write = Write {
            statements: Vec::new(),
            events: prepare_events(events)?,
            together: false,
            guard: None,
        };
        self.writer.write(write).await?;
        Ok(())
    }

    async fn append_events_with_jobs(
        &self,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError> {
        let write = Write {
            statements: insert_jobs_statements(jobs, self.clock.now())?,
            events: prepare_events(events)?,
            together: false,
            guard: None,
        };
        self.writer.write(write).await?;
        Ok(())
    }

    async fn envelope_events(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
    ) -> Result<Vec<Event>, StoreError> {
        let select = Query::new(
            "SELECT record FROM events WHERE tenant_id = $1 AND envelope_id = $2 ORDER BY seq",
        )
        .bind(tenant.to_upper_hex())
        .bind(envelope.to_string());
        self.pool
            .fetch_all(select)
            .await?
            .iter()
            .map(|row| serde_json::from_str(&row.get::<String>("record")?).map_err(corrupt))
            .collect()
    }

    async fn ledger_leaves(&self, start: u64, end: u64) -> Result<Vec<LedgerLeaf>, StoreError> {
        let select = Query::new(
            "SELECT seq, leaf_hash FROM events WHERE seq >= $1 AND seq < $2 ORDER BY seq",
        )
        .bind(bound(start))
        .bind(bound(end));
        self.pool
            .fetch_all(select)
            .await?
            .iter()
            .map(leaf_from_row)
            .collect()
    }

    async fn ledger_size(&self) -> Result<u64, StoreError> {
        let row = self
            .pool
            .fetch_one(Query::new("SELECT size FROM ledger_state WHERE id = 1"))
            .await?;
        from_i64(row.get("size")?)
    }

    async fn ledger_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, [u8; 32]>, StoreError> {
        let mut all = HashMap::new();
        for chunk in ids.chunks(BATCH) {
            all.extend(nodes_from_rows(
                self.pool.fetch_all(select_nodes(chunk)?).await?,
            )?);
        }
        Ok(all)
    }

    async fn ledger_level(
        &self,
        level: u8,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, [u8; 32])>, StoreError> {
        let select = Query::new(
            "SELECT idx, hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 \
             ORDER BY idx",
        )
        .bind(i64::from(level))
        .bind(bound(start))
        .bind(bound(end));
        self.pool
            .fetch_all(select)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    from_i64(row.get("idx")?)?,
                    hash_from_hex(&row.get::<String>("hash")?)?,
                ))
            })
            .collect()
    }

    async fn leaf_index(&self, leaf_hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        let select =
            Query::new("SELECT seq FROM events WHERE leaf_hash = $1").bind(hex::encode(leaf_hash));
        self.pool
            .fetch_optional(select)
            .await?
            .map(|row| from_i64(row.get("seq")?))
            .transpose()
    }

    async fn ledger_records(
        &self,
        start: u64,
        end: u64,
    ) -> Result<Vec<(LedgerLeaf, String)>, StoreError> {
        let select = Query::new(
            "SELECT seq, record, leaf_hash FROM events WHERE seq >= $1 AND seq < $2 ORDER BY seq",
        )
        .bind(bound(start))
        .bind(bound(end));
        self.pool
            .fetch_all(select)
            .await?
            .iter()
            .map(|row| Ok((leaf_from_row(row)?, row.get::<String>("record")?)))
            .collect()
    }

    async fn latest_tree_head(&self) -> Result<Option<StoredTreeHead>, StoreError> {
        let select = Query::new(
            "SELECT tree_size, root_hash, checkpoint, created_at FROM ledger_heads \
             ORDER BY tree_size DESC LIMIT 1",
        );
        self.pool
            .fetch_optional(select)
            .await?
            .map(|row| {
                Ok(StoredTreeHead {
                    tree_size: from_i64(row.get("tree_size")?)?,
                    root_hash: hash_from_hex(&row.get::<String>("root_hash")?)?,
                    checkpoint: row.get("checkpoint")?,
                    created_at: from_micros(row.get("created_at")?)?,
                })
            })
            .transpose()
    }

    async fn insert_tree_head(&self, head: &StoredTreeHead) -> Result<(), StoreError> {
        let insert = Query::new(
            "INSERT INTO ledger_heads (tree_size, root_hash, checkpoint, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING",
        )
        .bind(to_i64(head.tree_size)?)
        .bind(hex::encode(head.root_hash))
        .bind(&head.checkpoint)
        .bind(micros(head.created_at));
        self.pool.execute(insert).await?;
        Ok(())
    }
}
