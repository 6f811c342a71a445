//! The access port: the links participants open, their authentication state, and the portal
//! sessions they start.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::ids::{LinkId, TenantId};
use crate::model::{AccessLink, Event, LinkGuard, LinkKey, PortalSession};
use crate::values::Sha256Digest;

/// Access links, their guards, and portal sessions.
#[async_trait]
pub trait AccessStore: Send + Sync + 'static {
    /// Adds access links to an envelope of `tenant`.
    async fn insert_access_links(
        &self,
        tenant: &TenantId,
        links: &[AccessLink],
    ) -> Result<(), StoreError>;
    /// The link found by this key of its token, with its tenant and authentication state,
    /// whatever the tenant: only for callers holding the token.
    async fn link_by_token(
        &self,
        key: &LinkKey,
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
}
