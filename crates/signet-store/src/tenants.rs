//! [`TenantStore`]: tenants and the token ids they have used.

use async_trait::async_trait;
use signet_core::ids::TenantId;
use signet_core::model::{Event, Plan, Tenant};
use signet_core::store::{StoreError, TenantStore};
use time::OffsetDateTime;

use crate::SqlStore;
use crate::db::{Query, Row};
use crate::evidence::append_events;
use crate::rows::{
    corrupt, features_from_text, features_to_text, from_i64, from_micros, micros, parse,
    status_from_text, status_text,
};
use crate::writer::Write;

fn tenant_from_row(row: &Row) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: parse("tenants.id", &row.get::<String>("id")?)?,
        name: row.get("name")?,
        status: status_from_text(&row.get::<String>("status")?)?,
        plan: Plan {
            features: features_from_text(&row.get::<String>("features")?)?,
            max_envelope_bytes: from_i64(row.get("max_envelope_bytes")?)?,
            signer_auth_required: row.get("signer_auth_required")?,
        },
        self_send: row.get("self_send")?,
        api_key_sealed: row.get("api_key_sealed")?,
        webhook: row
            .get::<Option<String>>("webhook")?
            .map(|w| serde_json::from_str(&w).map_err(corrupt))
            .transpose()?,
        created_at: from_micros(row.get("created_at")?)?,
    })
}

/// The tenant's mutable columns, `$2` to `$9` in both the insert and the update.
fn bind_fields(query: Query, tenant: &Tenant) -> Result<Query, StoreError> {
    let webhook = tenant
        .webhook
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(corrupt)?;
    Ok(query
        .bind(tenant.id.to_upper_hex())
        .bind(&tenant.name)
        .bind(status_text(tenant.status))
        .bind(features_to_text(&tenant.plan.features))
        .bind(i64::try_from(tenant.plan.max_envelope_bytes).unwrap_or(i64::MAX))
        .bind(tenant.self_send)
        .bind(&tenant.api_key_sealed)
        .bind(webhook)
        .bind(tenant.plan.signer_auth_required))
}

#[async_trait]
impl TenantStore for SqlStore {
    async fn insert_tenant(&self, tenant: &Tenant, events: &[Event]) -> Result<(), StoreError> {
        let insert = Query::new(
            "INSERT INTO tenants (id, name, status, features, max_envelope_bytes, self_send, \
             api_key_sealed, webhook, signer_auth_required, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        );
        let insert = bind_fields(insert, tenant)?.bind(micros(tenant.created_at));
        let mut tx = self.pool.begin().await?;
        tx.execute(insert).await?;
        append_events(&mut tx, events).await?;
        tx.commit().await
    }

    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.pool
            .fetch_optional(
                Query::new("SELECT * FROM tenants WHERE id = $1").bind(id.to_upper_hex()),
            )
            .await?
            .as_ref()
            .map(tenant_from_row)
            .transpose()
    }

    async fn update_tenant(&self, tenant: &Tenant, events: &[Event]) -> Result<(), StoreError> {
        let update = Query::new(
            "UPDATE tenants SET name = $2, status = $3, features = $4, max_envelope_bytes = $5, \
             self_send = $6, api_key_sealed = $7, webhook = $8, signer_auth_required = $9 \
             WHERE id = $1",
        );
        let update = bind_fields(update, tenant)?;
        let mut tx = self.pool.begin().await?;
        if tx.execute(update).await? == 0 {
            return Err(StoreError::NotFound);
        }
        append_events(&mut tx, events).await?;
        tx.commit().await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.pool
            .fetch_all(Query::new("SELECT * FROM tenants ORDER BY created_at, id"))
            .await?
            .iter()
            .map(tenant_from_row)
            .collect()
    }

    async fn claim_token_id(
        &self,
        tenant: &TenantId,
        token_id: &str,
        valid_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // Through the group-commit writer: claims commit with their neighbours' writes, and
        // are claimed with theirs in a few statements.
        let write = Write {
            guard: Some(TokenIdClaim {
                tenant: *tenant,
                token_id: token_id.to_owned(),
                valid_until,
                now,
            }),
            ..Write::default()
        };
        match self.writer.write(write).await {
            Ok(_) => Ok(true),
            Err(StoreError::TokenIdUsed) => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn prune_token_ids(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let prune = Query::new("DELETE FROM token_ids WHERE valid_until < $1").bind(micros(now));
        self.pool.execute(prune).await
    }
}

/// A token id to claim in a write's own transaction (`writer::Write::guard`): a new id is
/// recorded; a known one is taken over only if it could no longer be valid at `now`. Expired
/// rows are pruned by `prune_token_ids`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenIdClaim {
    /// The tenant whose token it is.
    pub(crate) tenant: TenantId,
    /// The token's id (`jti`).
    pub(crate) token_id: String,
    /// Until when the token could be accepted: the id is remembered that long.
    pub(crate) valid_until: OffsetDateTime,
    /// The claim's time.
    pub(crate) now: OffsetDateTime,
}

impl TokenIdClaim {
    /// The key of the claimed row as the database returns it.
    pub(crate) fn key(&self) -> (String, &str) {
        (self.tenant.to_upper_hex(), &self.token_id)
    }
}

/// The sizes of the statements a batch's claims are cut into, largest first: a handful of
/// statement texts, each prepared once and kept in the connection's statement cache, cover any
/// batch (one text per batch size would push the hot statements out of that cache).
pub(crate) const CLAIM_CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// Claims several distinct token ids in one statement; it returns the `tenant_id` and
/// `token_id` of each id it claimed (an id used before, and still valid, is not returned).
///
/// One `now` serves all of them: the earliest of the claims', which takes over no id that any
/// of them alone would have refused.
pub(crate) fn claim_token_ids_statement(claims: &[&TokenIdClaim]) -> Query {
    let now = claims.iter().map(|c| c.now).min();
    let rows = claims
        .iter()
        .map(|c| {
            vec![
                c.tenant.to_upper_hex().into(),
                c.token_id.as_str().into(),
                micros(c.valid_until).into(),
            ]
        })
        .collect();
    Query::rows(
        "INSERT INTO token_ids (tenant_id, token_id, valid_until)",
        3,
        rows,
        &format!(
            " ON CONFLICT (tenant_id, token_id) DO UPDATE SET valid_until = excluded.valid_until \
             WHERE token_ids.valid_until < ${} RETURNING tenant_id, token_id",
            claims.len() * 3 + 1
        ),
    )
    .bind(now.map(micros))
}
