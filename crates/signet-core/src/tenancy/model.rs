//! Tenants: their plans and status, their webhook endpoint and their contacts.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::TenantId;

/// A feature a tenant's plan may include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Feature {
    /// Recipient authentication by a code sent by SMS.
    Sms,
    /// Recipient authentication by a code read out in a voice call.
    Voice,
    /// Recipient authentication by a secret question.
    Secret,
}

impl Feature {
    /// Every feature, in a stable order.
    pub const ALL: [Feature; 3] = [Feature::Sms, Feature::Voice, Feature::Secret];

    /// The name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Sms => "sms",
            Feature::Voice => "voice",
            Feature::Secret => "secret",
        }
    }
}

impl std::str::FromStr for Feature {
    type Err = crate::values::InvalidValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Feature::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                crate::values::InvalidValue::new("feature", "expected sms, voice or secret")
            })
    }
}

/// What a tenant has paid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Enabled features.
    pub features: Vec<Feature>,
    /// The largest total size of the documents of one envelope, in bytes.
    pub max_envelope_bytes: u64,
    /// Whether every signer must prove who they are by a code: the operator's choice for tenants
    /// whose signatures must not rest on a link alone. When false, a participant may be invited
    /// with no authentication, which the evidence records as such.
    #[serde(default)]
    pub signer_auth_required: bool,
}

impl Plan {
    /// Whether the plan includes a feature.
    pub fn allows(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            features: Feature::ALL.to_vec(),
            max_envelope_bytes: 100 * 1024 * 1024,
            signer_auth_required: false,
        }
    }
}

/// Whether a tenant may use the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TenantStatus {
    /// In good standing.
    Active,
    /// Blocked by the operator (unpaid subscription, abuse, …).
    Suspended,
}

/// A customer of the platform. Its API key is kept sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Display name, shown to recipients as the sender.
    pub name: String,
    /// Active or suspended.
    pub status: TenantStatus,
    /// Its plan.
    pub plan: Plan,
    /// Self-send mode: the tenant e-mails recipients itself (with the banner we return) instead
    /// of Signet e-mailing them.
    pub self_send: bool,
    /// The API key sealed with [`crate::crypto::MasterKey::seal`].
    pub api_key_sealed: Vec<u8>,
    /// Where its events are pushed, if anywhere.
    pub webhook: Option<WebhookEndpoint>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

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
