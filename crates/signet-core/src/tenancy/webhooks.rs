//! Setting a tenant's webhook endpoint and its signing secrets (rotated with a 24-hour overlap).

use time::{Duration, OffsetDateTime};

use crate::error::{CoreError, CoreResult};
use crate::ids::TenantId;
use crate::ports::Core;
use crate::tenancy::model::{SealedSecret, WebhookEndpoint};

const SECRET_PURPOSE: &str = "webhook-secret";
/// How long a replaced secret keeps signing, so receivers can switch without losing messages.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

impl Core {
    /// Sets a tenant's webhook URL and makes a new signing secret, returned once; the previous
    /// secret keeps signing for [`ROTATION_OVERLAP`].
    pub async fn set_webhook(&self, tenant: &TenantId, url: &str) -> CoreResult<String> {
        let sender = self
            .webhook_sender()
            .ok_or_else(|| anyhow::anyhow!("no webhook sender configured"))?;
        let url = url.trim();
        sender
            .check_target(url)
            .await
            .map_err(|reason| CoreError::Invalid(format!("webhook URL refused: {reason}")))?;
        let mut record = self
            .store()
            .tenant(tenant)
            .await?
            .ok_or(CoreError::NotFound)?;
        let now = self.now();
        let secret = sender.generate_secret();
        let mut secrets = vec![SealedSecret {
            sealed: hex::encode(self.master().seal(SECRET_PURPOSE, secret.as_bytes())),
            retires_at: None,
        }];
        if let Some(previous) = &record.webhook {
            for old in &previous.secrets {
                let retires_at = old.retires_at.unwrap_or(now + ROTATION_OVERLAP);
                if retires_at > now {
                    secrets.push(SealedSecret {
                        sealed: old.sealed.clone(),
                        retires_at: Some(retires_at),
                    });
                }
            }
        }
        record.webhook = Some(WebhookEndpoint {
            url: url.to_owned(),
            secrets,
        });
        self.store().update_tenant(&record, &[]).await?;
        Ok(secret)
    }

    /// The secrets that sign at `now`, in clear.
    pub(crate) fn signing_secrets(
        &self,
        endpoint: &WebhookEndpoint,
        now: OffsetDateTime,
    ) -> CoreResult<Vec<String>> {
        endpoint
            .secrets
            .iter()
            .filter(|s| s.retires_at.is_none_or(|at| at > now))
            .map(|s| {
                let sealed = hex::decode(&s.sealed)
                    .map_err(|_| anyhow::anyhow!("stored webhook secret is not hex"))?;
                let plain = self.master().open(SECRET_PURPOSE, &sealed).map_err(|_| {
                    anyhow::anyhow!("webhook secret does not open with this master key")
                })?;
                Ok(String::from_utf8(plain)
                    .map_err(|_| anyhow::anyhow!("webhook secret is not UTF-8"))?)
            })
            .collect()
    }
}
