//! [`AccessStore`]: access links, their authentication state (the guard), and portal sessions.
//!
//! `access_links.token_hash` holds a link's [`LinkKey`] in its stored form: `<link id>:<SHA-256
//! of the token>` for links whose token begins with their id, the bare SHA-256 for older ones.
//! Its unique index is how a link is found from a token.

use async_trait::async_trait;
use signet_core::ids::{LinkId, TenantId};
use signet_core::jobs::NewJob;
use signet_core::model::{AccessLink, Event, IssuedCode, LinkGuard, LinkKey, PortalSession};
use signet_core::store::{AccessStore, StoreError};
use signet_core::values::Sha256Digest;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::db::{Query, Row};
use crate::evidence::append_events;
use crate::jobs::insert_jobs;
use crate::rows::{
    auth_from_text, from_i64, from_micros, hash_from_hex, micros, opt_from_micros, parse,
};

/// The statement inserting new access links (`None` for none).
pub(crate) fn insert_links_statement(tenant: &TenantId, links: &[AccessLink]) -> Option<Query> {
    if links.is_empty() {
        return None;
    }
    let rows = links
        .iter()
        .map(|link| {
            vec![
                link.id.to_string().into(),
                link.envelope_id.to_string().into(),
                link.participant_id.to_string().into(),
                tenant.to_upper_hex().into(),
                link.key.to_string().into(),
                micros(link.created_at).into(),
            ]
        })
        .collect();
    Some(Query::rows(
        "INSERT INTO access_links (id, envelope_id, participant_id, tenant_id, token_hash, \
         created_at)",
        6,
        rows,
        "",
    ))
}

/// A link's columns as `$1` to `$6`, in the order of [`insert_links_statement`].
fn bind_link(query: Query, tenant: &TenantId, link: &AccessLink) -> Query {
    query
        .bind(link.id.to_string())
        .bind(link.envelope_id.to_string())
        .bind(link.participant_id.to_string())
        .bind(tenant.to_upper_hex())
        .bind(link.key.to_string())
        .bind(micros(link.created_at))
}

fn link_from_row(row: &Row) -> Result<(TenantId, AccessLink, LinkGuard), StoreError> {
    let tenant: TenantId = parse("access_links.tenant_id", &row.get::<String>("tenant_id")?)?;
    let link = AccessLink {
        id: parse("access_links.id", &row.get::<String>("id")?)?,
        envelope_id: parse(
            "access_links.envelope_id",
            &row.get::<String>("envelope_id")?,
        )?,
        participant_id: parse(
            "access_links.participant_id",
            &row.get::<String>("participant_id")?,
        )?,
        key: parse("access_links.token_hash", &row.get::<String>("token_hash")?)?,
        created_at: from_micros(row.get("created_at")?)?,
    };
    let code = match (
        row.get::<Option<String>>("code_hmac")?,
        row.get::<Option<String>>("code_channel")?,
        row.get::<Option<i64>>("code_expires_at")?,
    ) {
        (Some(hmac), Some(channel), Some(expires_at)) => Some(IssuedCode {
            hmac: hash_from_hex(&hmac)?,
            channel: auth_from_text(&channel)?,
            expires_at: from_micros(expires_at)?,
        }),
        _ => None,
    };
    let guard = LinkGuard {
        failed_attempts: from_i64(row.get("failed_attempts")?)?,
        locked_until: opt_from_micros(row.get("locked_until")?)?,
        code,
        codes_sent: from_i64(row.get("codes_sent")?)?,
        codes_window_start: opt_from_micros(row.get("codes_window_start")?)?,
        sessions_started: from_i64(row.get("sessions_started")?)?,
        opened_at: opt_from_micros(row.get("opened_at")?)?,
        version: row.get("guard_version")?,
    };
    Ok((tenant, link, guard))
}

#[async_trait]
impl AccessStore for SqlStore {
    async fn insert_access_links(
        &self,
        tenant: &TenantId,
        links: &[AccessLink],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for link in links {
            // The envelope must belong to the tenant: the insert selects it scoped.
            let insert = Query::new(
                "INSERT INTO access_links (id, envelope_id, participant_id, tenant_id, \
                 token_hash, created_at) SELECT $1, e.id, $3, e.tenant_id, $5, $6 \
                 FROM envelopes e WHERE e.id = $2 AND e.tenant_id = $4",
            );
            if tx.execute(bind_link(insert, tenant, link)).await? != 1 {
                return Err(StoreError::NotFound);
            }
        }
        tx.commit().await
    }

    async fn link_by_token(
        &self,
        key: &LinkKey,
    ) -> Result<Option<(TenantId, AccessLink, LinkGuard)>, StoreError> {
        let select = Query::new(
            "SELECT id, envelope_id, participant_id, tenant_id, token_hash, created_at, \
             failed_attempts, locked_until, code_hmac, code_channel, code_expires_at, codes_sent, \
             codes_window_start, sessions_started, opened_at, guard_version \
             FROM access_links WHERE token_hash = $1",
        )
        .bind(key.to_string());
        self.pool
            .fetch_optional(select)
            .await?
            .as_ref()
            .map(link_from_row)
            .transpose()
    }

    async fn save_link_guard(
        &self,
        tenant: &TenantId,
        link: &LinkId,
        guard: &LinkGuard,
        session: Option<&PortalSession>,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError> {
        let update = Query::new(
            "UPDATE access_links SET failed_attempts = $3, locked_until = $4, code_hmac = $5, \
             code_channel = $6, code_expires_at = $7, codes_sent = $8, codes_window_start = $9, \
             sessions_started = $10, opened_at = $11, guard_version = guard_version + 1 \
             WHERE id = $1 AND tenant_id = $2 AND guard_version = $12",
        )
        .bind(link.to_string())
        .bind(tenant.to_upper_hex())
        .bind(i64::from(guard.failed_attempts))
        .bind(guard.locked_until.map(micros))
        .bind(guard.code.as_ref().map(|c| hex::encode(c.hmac)))
        .bind(guard.code.as_ref().map(|c| c.channel.as_str()))
        .bind(guard.code.as_ref().map(|c| micros(c.expires_at)))
        .bind(i64::from(guard.codes_sent))
        .bind(guard.codes_window_start.map(micros))
        .bind(i64::from(guard.sessions_started))
        .bind(guard.opened_at.map(micros))
        .bind(guard.version);
        let mut tx = self.pool.begin().await?;
        if tx.execute(update).await? == 0 {
            return Err(StoreError::Conflict);
        }
        if let Some(session) = session {
            let insert = Query::new(
                "INSERT INTO portal_sessions (token_hash, link_id, tenant_id, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(session.token_hash.to_hex())
            .bind(session.link_id.to_string())
            .bind(session.tenant_id.to_upper_hex())
            .bind(micros(session.created_at))
            .bind(micros(session.expires_at));
            tx.execute(insert).await?;
        }
        append_events(&mut tx, events).await?;
        insert_jobs(&mut tx, jobs, self.clock.now()).await?;
        tx.commit().await
    }

    async fn portal_session(
        &self,
        token_hash: &Sha256Digest,
    ) -> Result<Option<PortalSession>, StoreError> {
        let select = Query::new(
            "SELECT token_hash, link_id, tenant_id, created_at, expires_at FROM portal_sessions \
             WHERE token_hash = $1",
        )
        .bind(token_hash.to_hex());
        let Some(row) = self.pool.fetch_optional(select).await? else {
            return Ok(None);
        };
        Ok(Some(PortalSession {
            token_hash: parse(
                "portal_sessions.token_hash",
                &row.get::<String>("token_hash")?,
            )?,
            link_id: parse("portal_sessions.link_id", &row.get::<String>("link_id")?)?,
            tenant_id: parse(
                "portal_sessions.tenant_id",
                &row.get::<String>("tenant_id")?,
            )?,
            created_at: from_micros(row.get("created_at")?)?,
            expires_at: from_micros(row.get("expires_at")?)?,
        }))
    }

    async fn prune_portal_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let prune =
            Query::new("DELETE FROM portal_sessions WHERE expires_at < $1").bind(micros(now));
        self.pool.execute(prune).await
    }
}
