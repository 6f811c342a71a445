//! Tenant webhooks, the ports: the typed notifications, the renderer that words them for a
//! dialect, the message shape and the sender that delivers it.
//! Delivery itself (Standard Webhooks signing, outbound target checks, HTTP) lives in
//! `signet-notify`; each message is a durable job retried for more than three days.

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::CoreResult;
use crate::ids::{DocumentId, EnvelopeId, ParticipantId, TenantId};
pub use crate::jobs::delivery_backoff;
pub use crate::tenancy::model::{SealedSecret, WebhookEndpoint};
use crate::values::{DocumentName, Email};

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
    /// A signing envelope changed.
    Signing {
        /// The envelope.
        envelope: EnvelopeId,
        /// What happened.
        update: SigningUpdate,
        /// The participant concerned, if one is.
        participant: Option<ParticipantId>,
        /// The envelope's state afterwards.
        status: &'static str,
    },
}

/// What happened to a signing envelope, for its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigningUpdate {
    /// A participant signed (or approved).
    Signed,
    /// Every needed signature is in.
    Completed,
    /// A participant declined.
    Declined,
    /// The sender voided it.
    Voided,
    /// It expired.
    Expired,
    /// The sealed result and the completion certificate are ready.
    Sealed,
}

impl SigningUpdate {
    /// The word Signet uses for it (`envelope.<word>`).
    pub fn as_str(self) -> &'static str {
        match self {
            SigningUpdate::Signed => "signed",
            SigningUpdate::Completed => "completed",
            SigningUpdate::Declined => "declined",
            SigningUpdate::Voided => "voided",
            SigningUpdate::Expired => "expired",
            SigningUpdate::Sealed => "sealed",
        }
    }
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
            Notification::Signing {
                envelope,
                update,
                participant,
                status,
            } => RenderedNotification {
                kind: format!("envelope.{}", update.as_str()),
                data: serde_json::json!({
                    "envelope_id": envelope.to_string(),
                    "state": status,
                    "participant_id": participant.map(|p| p.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn the_native_renderer_names_no_vendor_field() {
        let envelope = EnvelopeId::generate();
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
