//! This crate's implementations of the core's delivery ports.

use std::time::Duration;

use async_trait::async_trait;
use signet_core::webhooks::{WebhookFailure, WebhookSender};

use crate::target::{self, TargetPolicy};
use crate::webhook::{Deliverer, Delivery, WebhookSecret, generate_secret};

/// Standard Webhooks delivery under an outbound target policy.
#[derive(Debug)]
pub struct StandardWebhookSender {
    policy: TargetPolicy,
    deliverer: Deliverer,
}

impl StandardWebhookSender {
    /// A sender that refuses private targets unless `policy` allows them; each attempt gets
    /// `timeout` in all.
    pub fn new(policy: TargetPolicy, timeout: Duration) -> Self {
        Self {
            policy,
            deliverer: Deliverer::new(policy, timeout),
        }
    }
}

#[async_trait]
impl WebhookSender for StandardWebhookSender {
    fn generate_secret(&self) -> String {
        generate_secret()
    }

    async fn check_target(&self, url: &str) -> Result<(), String> {
        match target::validate(url, self.policy).await {
            Ok(_) => Ok(()),
            // A host that does not resolve today may tomorrow; only a refusal is final.
            Err(e) if e.is_retryable() => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn send(
        &self,
        url: &str,
        secrets: &[String],
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<(), WebhookFailure> {
        let secrets = secrets
            .iter()
            .map(|s| WebhookSecret::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WebhookFailure::Failed(format!("stored secret: {e}")))?;
        let delivery = Delivery {
            msg_id,
            timestamp,
            body,
            secrets: &secrets,
        };
        self.deliverer
            .deliver(url, &delivery)
            .await
            .map_err(|e| WebhookFailure::Failed(e.to_string()))
    }
}
