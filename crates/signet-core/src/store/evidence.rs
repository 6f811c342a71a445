//! The evidence port: the event log and the transparency log built over it (leaves, stored
//! subtree nodes, signed tree heads).

use std::collections::HashMap;

use async_trait::async_trait;
use signet_ledger::NodeId;
use time::OffsetDateTime;

use super::StoreError;
use crate::ids::{EnvelopeId, TenantId};
use crate::model::Event;

/// One entry of the transparency log's leaf sequence, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLeaf {
    /// Position in the log, from 0.
    pub index: u64,
    /// The RFC 9162 leaf hash.
    pub leaf_hash: [u8; 32],
}

/// A signed tree head as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTreeHead {
    /// Leaves covered.
    pub tree_size: u64,
    /// Root hash at that size.
    pub root_hash: [u8; 32],
    /// The signed C2SP checkpoint note.
    pub checkpoint: String,
    /// When it was signed.
    pub created_at: OffsetDateTime,
}

/// Events, and the Merkle log of them.
#[async_trait]
pub trait EvidenceStore: Send + Sync + 'static {
    /// Records events that change nothing else.
    async fn append_events(&self, events: &[Event]) -> Result<(), StoreError>;
    /// Records events and the jobs they cause, in one transaction.
    async fn append_events_with_jobs(
        &self,
        events: &[Event],
        jobs: &[crate::jobs::NewJob],
    ) -> Result<(), StoreError>;
    /// The events of one envelope, in order.
    async fn envelope_events(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
    ) -> Result<Vec<Event>, StoreError>;

    /// Leaves of the transparency log in `[start, end)`.
    async fn ledger_leaves(&self, start: u64, end: u64) -> Result<Vec<LedgerLeaf>, StoreError>;
    /// How many leaves the transparency log has.
    async fn ledger_size(&self) -> Result<u64, StoreError>;
    /// Stored perfect-subtree nodes of the log; absent ones are left out.
    async fn ledger_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, [u8; 32]>, StoreError>;
    /// The stored nodes of one level with index in `[start, end)`, in order.
    async fn ledger_level(
        &self,
        level: u8,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, [u8; 32])>, StoreError>;
    /// The index of the leaf with this hash.
    async fn leaf_index(&self, leaf_hash: &[u8; 32]) -> Result<Option<u64>, StoreError>;
    /// The leaves `[start, end)` with the event records they were computed from, exactly as
    /// hashed.
    async fn ledger_records(
        &self,
        start: u64,
        end: u64,
    ) -> Result<Vec<(LedgerLeaf, String)>, StoreError>;
    /// The newest signed tree head.
    async fn latest_tree_head(&self) -> Result<Option<StoredTreeHead>, StoreError>;
    /// Stores a signed tree head; a head for a size already signed is kept as it was.
    async fn insert_tree_head(&self, head: &StoredTreeHead) -> Result<(), StoreError>;
}
