//! The store port: how the core reads and writes metadata. Implemented for SQLite and PostgreSQL
//! in `signet-store`, where one conformance suite runs against both.
//!
//! Methods are coarse on purpose: each one is one database transaction, so that an envelope, its
//! documents, its participants and the events describing the change are written together or not
//! at all. Every method that reads tenant data takes the tenant id and filters by it.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::ids::{DocumentId, EnvelopeId, LinkId, TenantId};
use crate::model::{
    AccessLink, Contact, EnvelopeAggregate, EnvelopeState, Event, LinkGuard, PortalSession,
    StoredContent, Tenant,
};
use crate::values::{Email, Sha256Digest};

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Someone else changed the record since it was read; reload and try again.
    #[error("the record was changed concurrently")]
    Conflict,
    /// The record to update does not exist.
    #[error("record not found")]
    NotFound,
    /// A record with the same key exists.
    #[error("record already exists")]
    Duplicate,
    /// The database failed or returned something unreadable.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

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

/// Metadata storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a tenant, with its creation event.
    async fn insert_tenant(&self, tenant: &Tenant, events: &[Event]) -> Result<(), StoreError>;
    /// Reads a tenant.
    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// Replaces a tenant's mutable fields, with the event describing the change.
    async fn update_tenant(&self, tenant: &Tenant, events: &[Event]) -> Result<(), StoreError>;
    /// Every tenant, oldest first.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;

    /// Remembers a token id (a JWT's `jti`) until `valid_until`; answers `false` if the tenant
    /// used it before and it was still valid at `now`.
    async fn claim_token_id(
        &self,
        tenant: &TenantId,
        token_id: &str,
        valid_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Forgets token ids that expired before `now`; answers how many.
    async fn prune_token_ids(&self, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// Creates an envelope with its documents, participants and links, updates the tenant's
    /// contacts, and records the events.
    async fn insert_envelope(
        &self,
        envelope: &EnvelopeAggregate,
        links: &[AccessLink],
        contacts: &[Contact],
        events: &[Event],
    ) -> Result<(), StoreError>;
    /// Adds access links to an envelope of `tenant`.
    async fn insert_access_links(
        &self,
        tenant: &TenantId,
        links: &[AccessLink],
    ) -> Result<(), StoreError>;
    /// The link whose token has this SHA-256, with its tenant and authentication state, whatever
    /// the tenant: only for callers holding the token.
    async fn link_by_token(
        &self,
        token_hash: &Sha256Digest,
    ) -> Result<Option<(TenantId, AccessLink, LinkGuard)>, StoreError>;
    /// Saves a link's authentication state if its version is still `guard.version` (bumping it),
    /// [`StoreError::Conflict`] otherwise; starts `session` if given, and records the events and
    /// jobs, all in one transaction.
    async fn save_link_guard(
        &self,
        tenant: &TenantId,
        link: &LinkId,
        guard: &LinkGuard,
        session: Option<&PortalSession>,
        events: &[Event],
        jobs: &[crate::jobs::NewJob],
    ) -> Result<(), StoreError>;
    /// The portal session whose token has this SHA-256.
    async fn portal_session(
        &self,
        token_hash: &Sha256Digest,
    ) -> Result<Option<PortalSession>, StoreError>;
    /// Forgets portal sessions that ended before `now`; answers how many.
    async fn prune_portal_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
    /// Reads an envelope of a tenant.
    async fn envelope(
        &self,
        tenant: &TenantId,
        id: &EnvelopeId,
    ) -> Result<Option<EnvelopeAggregate>, StoreError>;
    /// Reads the envelope a document belongs to, whatever its tenant: only for callers that hold
    /// a credential bound to that document (a signed upload URL).
    async fn envelope_of_document(
        &self,
        document: &DocumentId,
    ) -> Result<Option<EnvelopeAggregate>, StoreError>;
    /// Reads the envelope of the tenant that holds `document`.
    async fn tenant_envelope_of_document(
        &self,
        tenant: &TenantId,
        document: &DocumentId,
    ) -> Result<Option<EnvelopeAggregate>, StoreError>;
    /// Records one document's stored bytes, with its events, in one transaction: only while the
    /// document is still pending and its envelope is still in state `from` (which becomes `to`,
    /// and the envelope's version is bumped so that a concurrent whole-envelope save sees the
    /// change). Uploads of different documents of one envelope never conflict with each other;
    /// [`StoreError::Conflict`] when the document is no longer pending or the envelope left
    /// `from`.
    #[allow(clippy::too_many_arguments)]
    async fn record_upload(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
        document: &DocumentId,
        content: &StoredContent,
        from: EnvelopeState,
        to: EnvelopeState,
        events: &[Event],
    ) -> Result<(), StoreError>;
    /// Saves a changed envelope if its version is still `envelope.envelope.version`, and bumps
    /// the version; [`StoreError::Conflict`] otherwise. Records the events in the same
    /// transaction.
    async fn save_envelope(
        &self,
        envelope: &EnvelopeAggregate,
        events: &[Event],
        jobs: &[crate::jobs::NewJob],
    ) -> Result<(), StoreError>;

    /// A tenant's contact.
    async fn contact(
        &self,
        tenant: &TenantId,
        email: &Email,
    ) -> Result<Option<Contact>, StoreError>;
    /// The contact whose stored secret answer has this reference.
    async fn contact_by_secret_ref(
        &self,
        tenant: &TenantId,
        answer_ref: &str,
    ) -> Result<Option<Contact>, StoreError>;

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
    async fn ledger_nodes(
        &self,
        ids: &[signet_ledger::NodeId],
    ) -> Result<std::collections::HashMap<signet_ledger::NodeId, [u8; 32]>, StoreError>;
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
    /// A sealed instance secret.
    async fn instance_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores a sealed instance secret unless one exists; returns the one that is stored (so
    /// that processes starting together agree on one key).
    async fn insert_instance_secret(
        &self,
        name: &str,
        sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, StoreError>;
    /// Stores a sealed instance secret, replacing any stored under that name.
    async fn replace_instance_secret(
        &self,
        name: &str,
        sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The tenant's envelopes holding a document whose SHA-256 or SHA3-256 is `digest_hex`.
    async fn envelopes_with_document_hash(
        &self,
        tenant: &TenantId,
        digest_hex: &str,
    ) -> Result<Vec<EnvelopeAggregate>, StoreError>;

    /// Enqueues jobs on their own.
    async fn enqueue_jobs(&self, jobs: &[crate::jobs::NewJob]) -> Result<(), StoreError>;
    /// Claims up to `limit` due jobs for `worker` until `lease_until`: pending jobs whose time
    /// has come, and running jobs whose lease ran out (their worker died). Two workers never
    /// claim the same job.
    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<crate::jobs::Job>, StoreError>;
    /// Extends to `lease_until` the lease of every job `worker` still holds (claimed, not yet
    /// finished, not taken over); how many. A live worker calls this while it runs jobs, so
    /// leases can be short and a dead worker's jobs are taken over soon.
    async fn renew_job_leases(
        &self,
        worker: &str,
        lease_until: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Marks a claimed job done.
    async fn complete_job(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Records a failure: retried at `retry_at`, or dead-lettered when `None`.
    async fn fail_job(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;
    /// Jobs in a state, oldest first.
    async fn jobs_in_state(
        &self,
        state: crate::jobs::JobState,
        limit: u32,
    ) -> Result<Vec<crate::jobs::Job>, StoreError>;
    /// Makes a dead job pending again, due at `now`; `false` if it is not dead.
    async fn replay_job(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Runs the database's own consistency check (SQLite's `integrity_check`, a catalogue read on
    /// PostgreSQL); an error describes what is wrong.
    async fn check_integrity(&self) -> Result<(), StoreError>;

    /// Documents whose content is stored, with their tenant, in id order after `after`, at most
    /// `limit` of them (`signet check --blobs` walks them all, page by page).
    async fn stored_documents(
        &self,
        after: Option<&DocumentId>,
        limit: u32,
    ) -> Result<Vec<(TenantId, crate::model::Document)>, StoreError>;
}
