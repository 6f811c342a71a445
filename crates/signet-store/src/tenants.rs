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
        // Through the group-commit writer: claims commit with their neighbours' writes.
        let write = Write {
            statements: vec![claim_token_id_statement(tenant, token_id, valid_until, now)],
            events: Vec::new(),
            together: false,
            guard: None,
        };
        Ok(self.writer.write(write).await? == 1)
    }

    async fn prune_token_ids(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let prune = Query::new("DELETE FROM token_ids WHERE valid_until < $1").bind(micros(now));
        self.pool.execute(prune).await
    }
}

/// Claims a token id in one statement, which changes one row when the claim succeeds: a new id
/// is inserted; a known one is taken over only if it could no longer be valid at `now`. Expired
/// rows are pruned by `prune_token_ids`.
pub(crate) fn claim_token_id_statement(
    tenant: &TenantId,
    token_id: &str,
    valid_until: OffsetDateTime,
    now: OffsetDateTime,
) -> Query {
    Query::new(
        "INSERT INTO token_ids (tenant_id, token_id, valid_until) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, token_id) DO UPDATE SET valid_until = excluded.valid_until \
         WHERE token_ids.valid_until < $4",
    )
    .bind(tenant.to_upper_hex())
    .bind(token_id)
    .bind(micros(valid_until))
    .bind(micros(now))
}
