//! The store ports: how the core reads and writes metadata, one trait per aggregate. Implemented
//! for SQLite and PostgreSQL in `signet-store`, where one conformance suite per port runs against
//! both.
//!
//! Methods are coarse on purpose: each one is one database transaction, so that an envelope, its
//! documents, its participants and the events describing the change are written together or not
//! at all. Every method that reads tenant data takes the tenant id and filters by it.
//!
//! Each port stays small (`scripts/check-layering` refuses a trait of more than 15 methods), so
//! that a new aggregate gets its own port instead of growing an old one. [`Store`] gathers them
//! all for the code that holds the whole store (`Arc<dyn Store>`); a service that needs one
//! aggregate can take just its port (`Arc<dyn Store>` upcasts to `Arc<dyn DeliveryStore>`).
//! Code generic over a store imports [`ports`] so that every port's methods resolve.

mod access;
mod delivery;
mod evidence;
mod folders;
mod jobs;
mod library;
mod maintenance;
mod secrets;
mod signer_access;
mod signing;
mod tenants;

pub use access::AccessStore;
pub use delivery::DeliveryStore;
pub use evidence::{EvidenceStore, LedgerLeaf, StoredTreeHead};
pub use folders::FolderStore;
pub use jobs::JobStore;
pub use library::{IdempotencyRecord, LibraryStore};
pub use maintenance::MaintenanceStore;
pub use secrets::SecretStore;
pub use signer_access::{SignerAccessStore, SignerCode, SignerGuard, SignerSession};
pub use signing::{SigningStore, StoredSignEnvelope};
pub use tenants::TenantStore;

/// Every port trait, for `use signet_core::store::ports::*;` where their methods are called on
/// something other than `dyn Store`.
pub mod ports {
    pub use super::{
        AccessStore, DeliveryStore, EvidenceStore, FolderStore, JobStore, LibraryStore,
        MaintenanceStore, SecretStore, SignerAccessStore, SigningStore, Store, TenantStore,
    };
}

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
    /// A one-use token's id was claimed before and is still remembered: a replay.
    #[error("the token id was used before")]
    TokenIdUsed,
    /// The database failed or returned something unreadable.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Metadata storage: every port at once. Implemented for anything that implements them all.
pub trait Store:
    TenantStore
    + DeliveryStore
    + AccessStore
    + EvidenceStore
    + JobStore
    + LibraryStore
    + SigningStore
    + SignerAccessStore
    + SecretStore
    + MaintenanceStore
    + FolderStore
{
}

impl<T> Store for T where
    T: TenantStore
        + DeliveryStore
        + AccessStore
        + EvidenceStore
        + JobStore
        + LibraryStore
        + SigningStore
        + SignerAccessStore
        + SecretStore
        + MaintenanceStore
        + FolderStore
        + ?Sized
{
}
