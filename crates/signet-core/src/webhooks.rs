//! Tenant webhooks: where a tenant wants its events pushed, the signing secrets (rotated with a
//! 24-hour overlap), the message shapes, and the port through which they are delivered.
//! Delivery itself (Standard Webhooks signing, outbound target checks, HTTP) lives in
//! `signet-notify`; each message is a durable job retried for more than three days.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{CoreError, CoreResult};
use crate::ids::{DocumentId, EnvelopeId, TenantId};
use crate::service::Core;
use crate::values::{DocumentName, Email};

const SECRET_PURPOSE: &str = "webhook-secret";
/// How long a replaced secret keeps signing, so receivers can switch without losing messages.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// A tenant's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// Where messages are POSTed.
    pub url: String,
    /// Signing secrets, newest first, sealed under the master key.
    pub secrets: Vec<SealedSecret>,
}

/// One signing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// The `whsec_…` string sealed under the master key, hex.
    pub sealed: String,
    /// When a replaced secret stops signing (`None` for the current one).
    #[serde(with = "time::serde::rfc3339::option")]
    pub retires_at: Option<OffsetDateTime>,
}

/// Why a delivery attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookFailure {
    /// The receiver answered an error or could not be reached; try again later.
    #[error("delivery failed: {0}")]
    Failed(String),
}

/// Delivers signed webhook messages.
#[async_trait]
pub trait WebhookSender: Send + Sync + 'static {
    /// Generates a new signing secret (`whsec_…`).
    fn generate_secret(&self) -> String;
    /// Checks that `url` is an acceptable target (scheme, and not a private address unless the
    /// operator allows it).
    async fn check_target(&self, url: &str) -> Result<(), String>;
    /// POSTs `body` to `url`, signed with every secret.
    async fn send(
        &self,
        url: &str,
        secrets: &[String],
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<(), WebhookFailure>;
}

/// The wait after the `failures`-th failed attempt, or `None` to dead-letter: 5 s, 5 min,
/// 30 min, 2 h, 5 h, then 10 h seven times — over three days in all.
pub fn delivery_backoff(failures: u32) -> Option<Duration> {
    const SCHEDULE: [i64; 12] = [
        5, 300, 1800, 7200, 18_000, 36_000, 36_000, 36_000, 36_000, 36_000, 36_000, 36_000,
    ];
    usize::try_from(failures.checked_sub(1)?)
        .ok()
        .and_then(|i| SCHEDULE.get(i))
        .map(|s| Duration::seconds(*s))
}

/// A message as sent: Standard Webhooks' recommended `{type, timestamp, data}`.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookMessage {
    /// The event's public name, chosen by the renderer (e.g. `envelope.expired`).
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The event's details.
    pub data: serde_json::Value,
}

/// Something that happened which a tenant asked to be told about, as typed domain data. The core
/// decides *that* a tenant is notified; the dialect that owns the envelope decides *how* the
/// message reads, through a [`NotificationRenderer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notification {
    /// An envelope's links ran out before every participant retrieved everything.
    EnvelopeExpired {
        /// The envelope.
        envelope: EnvelopeId,
        /// Its participants' addresses, in order.
        recipients: Vec<Email>,
    },
    /// A participant downloaded a document through the portal.
    DocumentRetrieved {
        /// The envelope.
        envelope: EnvelopeId,
        /// Who downloaded it.
        recipient: Email,
        /// The document.
        document: DocumentId,
        /// Its file name.
        document_name: DocumentName,
    },
}

/// A notification in a dialect's words: the message `type` and its `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedNotification {
    /// The message's `type`.
    pub kind: String,
    /// The message's `data`.
    pub data: serde_json::Value,
}

/// Turns typed notifications into a vendor's webhook bodies. Implemented by each dialect; it must
/// be deterministic, because the rendered body is stored once and every retry sends it again.
pub trait NotificationRenderer: Send + Sync + 'static {
    /// The message for `notification`.
    fn render(&self, notification: &Notification) -> RenderedNotification;
}

/// Signet's own message shapes, used where no dialect renderer is installed: `envelope.expired`
/// and `document.retrieved` with snake-case ids.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeRenderer;

impl NotificationRenderer for NativeRenderer {
    fn render(&self, notification: &Notification) -> RenderedNotification {
        match notification {
            Notification::EnvelopeExpired {
                envelope,
                recipients,
            } => RenderedNotification {
                kind: "envelope.expired".into(),
                data: serde_json::json!({
                    "envelope_id": envelope.to_string(),
                    "recipients": recipients.iter().map(Email::as_str).collect::<Vec<_>>(),
                }),
            },
            Notification::DocumentRetrieved {
                envelope,
                recipient,
                document,
                document_name,
            } => RenderedNotification {
                kind: "document.retrieved".into(),
                data: serde_json::json!({
                    "envelope_id": envelope.to_string(),
                    "recipient": recipient.as_str(),
                    "document_id": document.to_string(),
                    "document_name": document_name.as_str(),
                }),
            },
        }
    }
}

/// A durable job pushing one notification to the tenant's webhook. The body is rendered now, so
/// every retry sends the same message under the same `message_id`.
pub(crate) fn webhook_job(
    renderer: &dyn NotificationRenderer,
    tenant_id: TenantId,
    notification: &Notification,
    message_id: String,
    now: OffsetDateTime,
) -> CoreResult<crate::jobs::NewJob> {
    let rendered = renderer.render(notification);
    let message = WebhookMessage {
        kind: rendered.kind,
        timestamp: now,
        data: rendered.data,
    };
    let body = serde_json::to_string(&message).map_err(|e| anyhow::anyhow!(e))?;
    let job = crate::jobs::JobKind::DeliverWebhook {
        tenant_id,
        message_id,
        body,
    };
    Ok(crate::jobs::NewJob::at(job, now))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_native_renderer_names_no_vendor_field() {
        let envelope = EnvelopeId::random();
        let recipient = "ana@example.com".parse::<Email>().expect("valid address");
        let rendered = NativeRenderer.render(&Notification::EnvelopeExpired {
            envelope,
            recipients: vec![recipient],
        });
        assert_eq!(rendered.kind, "envelope.expired");
        assert_eq!(rendered.data["envelope_id"], envelope.to_string());
        assert_eq!(rendered.data["recipients"][0], "ana@example.com");
    }

    #[test]
    fn retries_cover_more_than_three_days_then_stop() {
        let total: i64 = (1..)
            .map_while(delivery_backoff)
            .map(|d| d.whole_seconds())
            .sum();
        assert!(total > 3 * 24 * 3600, "{total}");
        assert_eq!(delivery_backoff(1), Some(Duration::seconds(5)));
        assert_eq!(delivery_backoff(13), None);
        assert_eq!(delivery_backoff(0), None);
    }
}
