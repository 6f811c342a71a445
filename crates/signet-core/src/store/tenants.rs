//! The tenancy port: tenants and the token ids their credentials may use once.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::ids::TenantId;
use crate::model::{Event, Tenant};

/// Tenants, and the replay guard of their tokens.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
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
}
