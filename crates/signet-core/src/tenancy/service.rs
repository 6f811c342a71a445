//! The operator's and the dialects' tenant use-cases: creating and changing tenants, their API
//! keys, and token-id claims against replay.

use secrecy::SecretString;
use time::OffsetDateTime;

use crate::error::{CoreError, CoreResult};
use crate::ids::TenantId;
use crate::model::*;

use crate::ports::Core;

const API_KEY_PURPOSE: &str = "tenant-api-key";

/// Changes to a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantChanges {
    /// New display name.
    pub name: Option<String>,
    /// New feature set.
    pub features: Option<Vec<Feature>>,
    /// New size limit per envelope.
    pub max_envelope_bytes: Option<u64>,
    /// New self-send mode.
    pub self_send: Option<bool>,
    /// Whether signers must authenticate with a code from now on (envelopes already sent keep
    /// the methods they were created with).
    pub signer_auth_required: Option<bool>,
    /// New status.
    pub status: Option<TenantStatus>,
}

/// A freshly made API key, shown once.
#[derive(Debug)]
pub struct ApiKey(pub SecretString);

impl Core {
    /// Creates a tenant and its API key (64 upper-case hex digits, shown only now).
    pub async fn create_tenant(
        &self,
        name: &str,
        plan: Plan,
        self_send: bool,
    ) -> CoreResult<(Tenant, ApiKey)> {
        let name = tenant_name(name)?;
        let key = hex::encode_upper(rand::random::<[u8; 32]>());
        let tenant = Tenant {
            id: TenantId::random(),
            name: name.to_owned(),
            status: TenantStatus::Active,
            plan,
            self_send,
            api_key_sealed: self.master.seal(API_KEY_PURPOSE, key.as_bytes()),
            webhook: None,
            created_at: self.clock.now(),
        };
        let mut event = self.event(tenant.id, EventKind::TenantCreated, Actor::Operator, None);
        event.data = serde_json::json!({ "plan": tenant.plan, "self_send": self_send });
        self.store.insert_tenant(&tenant, &[event]).await?;
        Ok((tenant, ApiKey(SecretString::from(key))))
    }

    /// Changes a tenant's plan, mode or status.
    pub async fn update_tenant(&self, id: &TenantId, changes: TenantChanges) -> CoreResult<Tenant> {
        let mut tenant = self.store.tenant(id).await?.ok_or(CoreError::NotFound)?;
        if let Some(name) = changes.name {
            tenant.name = tenant_name(&name)?.to_owned();
        }
        if let Some(features) = changes.features {
            tenant.plan.features = features;
        }
        if let Some(max) = changes.max_envelope_bytes {
            tenant.plan.max_envelope_bytes = max;
        }
        if let Some(self_send) = changes.self_send {
            tenant.self_send = self_send;
        }
        if let Some(required) = changes.signer_auth_required {
            tenant.plan.signer_auth_required = required;
        }
        let kind = match changes.status {
            Some(TenantStatus::Suspended) => EventKind::TenantSuspended,
            _ => EventKind::TenantUpdated,
        };
        if let Some(status) = changes.status {
            tenant.status = status;
        }
        let mut event = self.event(tenant.id, kind, Actor::Operator, None);
        event.data = serde_json::json!({
            "plan": tenant.plan, "self_send": tenant.self_send, "status": tenant.status,
        });
        self.store.update_tenant(&tenant, &[event]).await?;
        Ok(tenant)
    }

    /// A tenant and its API key in clear, for dialects that verify HMAC-signed tokens. Unknown
    /// tenants answer `None`.
    pub async fn tenant_with_key(
        &self,
        id: &TenantId,
    ) -> CoreResult<Option<(Tenant, SecretString)>> {
        let Some(tenant) = self.store.tenant(id).await? else {
            return Ok(None);
        };
        let key = self
            .master
            .open(API_KEY_PURPOSE, &tenant.api_key_sealed)
            .map_err(|_| {
                anyhow::anyhow!("the API key of tenant {id} does not open with this master key")
            })?;
        let key = String::from_utf8(key).map_err(|_| anyhow::anyhow!("API key is not UTF-8"))?;
        Ok(Some((tenant, SecretString::from(key))))
    }

    /// Records a token id; `false` means it was used before (a replay).
    pub async fn claim_token_id(
        &self,
        tenant: &TenantId,
        token_id: &str,
        valid_until: OffsetDateTime,
    ) -> CoreResult<bool> {
        Ok(self
            .store
            .claim_token_id(tenant, token_id, valid_until, self.clock.now())
            .await?)
    }
}

/// A tenant's display name, trimmed: 1 to 200 characters.
fn tenant_name(name: &str) -> CoreResult<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(CoreError::Invalid(
            "the tenant name must be 1 to 200 characters".into(),
        ));
    }
    Ok(name)
}
