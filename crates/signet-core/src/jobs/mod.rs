//! Durable background work. A job is a row written in the same transaction as the change that
//! causes it (so a crash can never lose one), claimed by any worker process with a lease (so a
//! worker that dies mid-job has its job reclaimed when the lease runs out), retried with
//! exponential backoff, and idempotent (running one twice does no harm).

pub(crate) mod handler;
mod handlers;
pub mod worker;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::blob::BlobKey;
use crate::ids::EnvelopeId;
use crate::ids::TenantId;

/// What a job does. Stored as tagged JSON; add variants, never change the meaning of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobKind {
    /// Compute and record the SHA3-256 of an uploaded document, which its upload left for later
    /// (no-op once recorded, or when the document is gone).
    HashDocument {
        /// The tenant.
        tenant_id: TenantId,
        /// The document.
        document_id: crate::ids::DocumentId,
    },
    /// Delete a blob whose document was cancelled or purged.
    DeleteBlob {
        /// The blob.
        key: BlobKey,
    },
    /// E-mail a participant a fresh access link (no-op once the envelope's links no longer work).
    SendInvitation {
        /// The tenant.
        tenant_id: TenantId,
        /// The envelope.
        envelope_id: EnvelopeId,
        /// The participant.
        participant_id: crate::ids::ParticipantId,
    },
    /// Push one message to the tenant's webhook (no-op if it has none).
    DeliverWebhook {
        /// The tenant.
        tenant_id: TenantId,
        /// The message id (`webhook-id`), the same on every attempt, for de-duplication.
        message_id: String,
        /// The JSON body, fixed when the event happened.
        body: String,
    },
    /// Send a one-time code to a participant's phone (no-op once the code has expired or a newer
    /// one replaced it).
    SendCode {
        /// The tenant.
        tenant_id: TenantId,
        /// The envelope.
        envelope_id: EnvelopeId,
        /// The participant.
        participant_id: crate::ids::ParticipantId,
        /// The link's key in its stored form (`LinkKey`: the link's id and its token's SHA-256;
        /// the bare SHA-256 in jobs written before links carried their id), to check that the
        /// code is still the link's.
        link_token_hash: String,
        /// SMS or voice.
        channel: crate::model::AuthMethod,
        /// The code, sealed under the master key (hex), so the job table never holds it in clear.
        sealed_code: String,
        /// When the code stops being accepted.
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    /// Expire an envelope whose links ran out (no-op if it is no longer open or not yet due).
    ExpireEnvelope {
        /// The tenant.
        tenant_id: TenantId,
        /// The envelope.
        envelope_id: EnvelopeId,
    },
    /// Write to a signing participant: their invitation or a reminder (with their link), or word
    /// that the envelope completed or ended (no-op once it no longer applies).
    SigningMail {
        /// The tenant.
        tenant_id: TenantId,
        /// The signing envelope.
        envelope_id: EnvelopeId,
        /// The participant.
        participant_id: crate::ids::ParticipantId,
        /// Which message.
        message: SigningMailJob,
    },
    /// Run a signing envelope's timer (no-op once it no longer applies).
    SigningTimer {
        /// The tenant.
        tenant_id: TenantId,
        /// The signing envelope.
        envelope_id: EnvelopeId,
        /// Which timer.
        timer: SigningTimerJob,
    },
    /// Stamp a signer's marks on the envelope's documents and sign them in their name (each
    /// document once; waits for the signers who signed before them).
    ApplySignature {
        /// The tenant.
        tenant_id: TenantId,
        /// The signing envelope.
        envelope_id: EnvelopeId,
        /// The signer.
        participant_id: crate::ids::ParticipantId,
    },
    /// Seal a completed signing envelope: the archival seal on each signed document and the
    /// completion certificate (waits for every signature to be applied).
    SealSignEnvelope {
        /// The tenant.
        tenant_id: TenantId,
        /// The signing envelope.
        envelope_id: EnvelopeId,
    },
    /// Send a signing participant their one-time code by their method — e-mail, SMS or voice
    /// (no-op once the code has expired or a newer one replaced it).
    SendSignerCode {
        /// The tenant.
        tenant_id: TenantId,
        /// The signing envelope.
        envelope_id: EnvelopeId,
        /// The participant.
        participant_id: crate::ids::ParticipantId,
        /// The code, sealed under the master key (hex), so the job table never holds it in clear.
        sealed_code: String,
        /// When the code stops being accepted.
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    },
    /// POST one message to a sender callback URL chosen with an envelope (retried like a
    /// webhook; the body and message id are fixed when the message is queued).
    DeliverSenderCallback {
        /// The tenant.
        tenant_id: TenantId,
        /// The envelope the message is about.
        envelope_id: EnvelopeId,
        /// The callback URL.
        url: String,
        /// The message id (`webhook-id`), the same on every attempt.
        message_id: String,
        /// The JSON body.
        body: String,
    },
}

/// Which message a [`JobKind::SigningMail`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SigningMailJob {
    /// Their turn has come.
    Invitation,
    /// They have not acted yet.
    Reminder,
    /// The envelope completed: the signed copy is behind their link.
    Completed,
    /// The envelope ended without them (declined, voided or expired: read from the envelope).
    Ended,
}

impl SigningMailJob {
    /// The word, for de-duplication keys.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningMailJob::Invitation => "invitation",
            SigningMailJob::Reminder => "reminder",
            SigningMailJob::Completed => "completed",
            SigningMailJob::Ended => "ended",
        }
    }
}

/// Which timer a [`JobKind::SigningTimer`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SigningTimerJob {
    /// The expiry.
    Expire,
    /// The reminder schedule.
    Reminders,
}

impl SigningTimerJob {
    /// The word, for de-duplication keys.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningTimerJob::Expire => "expire",
            SigningTimerJob::Reminders => "reminders",
        }
    }
}

impl JobKind {
    /// The stored name of the kind.
    pub fn name(&self) -> &'static str {
        match self {
            JobKind::HashDocument { .. } => "hash_document",
            JobKind::DeleteBlob { .. } => "delete_blob",
            JobKind::ExpireEnvelope { .. } => "expire_envelope",
            JobKind::DeliverWebhook { .. } => "deliver_webhook",
            JobKind::SendInvitation { .. } => "send_invitation",
            JobKind::SendCode { .. } => "send_code",
            JobKind::SigningMail { .. } => "signing_mail",
            JobKind::SigningTimer { .. } => "signing_timer",
            JobKind::ApplySignature { .. } => "apply_signature",
            JobKind::SealSignEnvelope { .. } => "seal_sign_envelope",
            JobKind::SendSignerCode { .. } => "send_signer_code",
            JobKind::DeliverSenderCallback { .. } => "deliver_sender_callback",
        }
    }

    /// The message this job delivers, if it is a delivery: tenant webhooks and sender callbacks
    /// are one path (signing, retries, dead letter, replay) and differ only in their target.
    pub fn delivery(&self) -> Option<Delivery<'_>> {
        match self {
            JobKind::DeliverWebhook {
                tenant_id,
                message_id,
                body,
            } => Some(Delivery {
                tenant_id,
                target: DeliveryTarget::TenantWebhook,
                message_id,
                body,
            }),
            JobKind::DeliverSenderCallback {
                tenant_id,
                url,
                message_id,
                body,
                ..
            } => Some(Delivery {
                tenant_id,
                target: DeliveryTarget::Callback { url },
                message_id,
                body,
            }),
            _ => None,
        }
    }

    /// How many attempts before the job is dead-lettered.
    pub fn max_attempts(&self) -> u32 {
        if self.delivery().is_some() {
            return 13;
        }
        match self {
            // 5 s, 10 s, … 320 s: past the code's ten minutes, after which sending is pointless.
            JobKind::SendCode { .. } | JobKind::SendSignerCode { .. } => 8,
            // Waiting for earlier signers' signatures or a time-stamp authority that is down:
            // 5 s doubling to an hour, then hourly — about two days before an operator is asked.
            JobKind::ApplySignature { .. } | JobKind::SealSignEnvelope { .. } => 60,
            _ => 20,
        }
    }

    /// How long to wait before attempt `attempt + 1` after `attempt` failed (from 1). Webhooks
    /// follow [`delivery_backoff`] (over three days); other jobs wait 5 s,
    /// 10 s, 20 s, … doubling, capped at one hour.
    pub fn backoff(&self, attempt: u32) -> Duration {
        if self.delivery().is_some() {
            return delivery_backoff(attempt).unwrap_or(Duration::hours(10));
        }
        let seconds = 5i64.saturating_mul(1i64 << attempt.saturating_sub(1).min(20));
        Duration::seconds(seconds.min(3600))
    }
}

/// Where a delivered message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryTarget<'a> {
    /// The tenant's webhook endpoint, as configured when the attempt runs (nothing is sent
    /// when it has none), signed with the endpoint's secrets.
    TenantWebhook,
    /// A callback URL chosen with an envelope, signed with the tenant's webhook secrets or, without
    /// an endpoint, a secret derived for the tenant.
    Callback {
        /// The URL.
        url: &'a str,
    },
}

impl DeliveryTarget<'_> {
    /// A word for metrics and listings.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryTarget::TenantWebhook => "webhook",
            DeliveryTarget::Callback { .. } => "callback",
        }
    }
}

/// One message a delivery job sends: the same id and body on every attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// The tenant.
    pub tenant_id: &'a TenantId,
    /// Where it goes.
    pub target: DeliveryTarget<'a>,
    /// The message id (`webhook-id`).
    pub message_id: &'a str,
    /// The JSON body.
    pub body: &'a str,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Random id.
    pub id: String,
    /// What to do.
    pub kind: JobKind,
    /// Not before.
    pub run_at: OffsetDateTime,
    /// While a job with this key is pending or running, another job with the key is not
    /// enqueued (it is dropped); once that job is done or dead, the key can be used again.
    pub dedupe_key: Option<String>,
    /// Jobs with the same ordering key run in the order they were enqueued: one is not claimed
    /// while an earlier one with the key is pending or running (a dead one no longer holds the
    /// later ones back).
    pub ordering_key: Option<String>,
}

impl NewJob {
    /// A job due at `run_at`.
    pub fn at(kind: JobKind, run_at: OffsetDateTime) -> Self {
        Self {
            id: hex::encode(rand::random::<[u8; 16]>()),
            kind,
            run_at,
            dedupe_key: None,
            ordering_key: None,
        }
    }

    /// Runs after every earlier job with `key` is done or dead.
    pub fn ordered(mut self, key: impl Into<String>) -> Self {
        self.ordering_key = Some(key.into());
        self
    }

    /// Enqueued once per key among the jobs still pending or running.
    pub fn deduplicated(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobState {
    /// Waiting for its time.
    Pending,
    /// Claimed by a worker.
    Running,
    /// Finished.
    Done,
    /// Failed too often; kept for the operator to inspect and replay.
    Dead,
}

impl JobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            JobState::Pending,
            JobState::Running,
            JobState::Done,
            JobState::Dead,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A claimed or listed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its id.
    pub id: String,
    /// What to do.
    pub kind: JobKind,
    /// Where it is.
    pub state: JobState,
    /// Attempts so far, this one included when claimed.
    pub attempts: u32,
    /// When it is (or was) due.
    pub run_at: OffsetDateTime,
    /// The last failure.
    pub last_error: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let kind = JobKind::DeleteBlob {
            key: BlobKey::random(),
        };
        assert_eq!(kind.backoff(1), Duration::seconds(5));
        assert_eq!(kind.backoff(2), Duration::seconds(10));
        assert_eq!(kind.backoff(4), Duration::seconds(40));
        assert_eq!(kind.backoff(30), Duration::hours(1));
    }

    #[test]
    fn kinds_round_trip_through_json() {
        let kind = JobKind::ExpireEnvelope {
            tenant_id: TenantId::random(),
            envelope_id: EnvelopeId::generate(),
        };
        let text = serde_json::to_string(&kind).expect("serialise");
        assert!(text.contains("\"kind\":\"expire_envelope\""));
        assert_eq!(serde_json::from_str::<JobKind>(&text).ok(), Some(kind));
        let kind = JobKind::HashDocument {
            tenant_id: TenantId::random(),
            document_id: crate::ids::DocumentId::generate(),
        };
        let text = serde_json::to_string(&kind).expect("serialise");
        assert!(text.contains("\"kind\":\"hash_document\""));
        assert_eq!(kind.name(), "hash_document");
        assert_eq!(serde_json::from_str::<JobKind>(&text).ok(), Some(kind));
    }
}
