//! The job worker: claims due jobs, runs each, and records the outcome. It runs inside
//! `signet serve` and alone as `signet worker`; any number of workers on any number of nodes
//! may share one database.

use std::time::Duration as StdDuration;

use time::Duration;

use crate::error::{CoreError, CoreResult};
use crate::ids::{EnvelopeId, EventId, ParticipantId, TenantId};
use crate::jobs::{Job, JobKind};
use crate::mail::InvitationMail;
use crate::model::Event;
use crate::model::{Actor, AuthMethod, EventKind};
use crate::phone::{CodeChannel, CodeMessage};
use crate::service::Core;
use crate::service::mint_link;
use crate::webhooks::webhook_job;

/// How old a staging file must be before it counts as abandoned: well beyond the longest upload
/// an upload URL allows to start.
pub const ABANDONED_UPLOAD_AGE: StdDuration = StdDuration::from_secs(6 * 3600);

/// How a worker polls.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// This worker's name (host and process), recorded on the jobs it claims.
    pub name: String,
    /// How long to sleep when no job is due.
    pub poll_interval: StdDuration,
    /// How long a claimed job stays reserved before another worker may take it over.
    pub lease: Duration,
    /// Jobs claimed at once.
    pub batch: u32,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            name: format!("worker-{}", std::process::id()),
            poll_interval: StdDuration::from_millis(500),
            lease: Duration::minutes(5),
            batch: 16,
        }
    }
}

impl Core {
    /// Claims and runs the jobs due now; returns how many ran.
    pub async fn run_due_jobs(&self, settings: &WorkerSettings) -> CoreResult<usize> {
        let now = self.now();
        let jobs = self
            .store()
            .claim_jobs(&settings.name, now, now + settings.lease, settings.batch)
            .await?;
        for job in &jobs {
            match self.run_job(job).await {
                Ok(()) => self.store().complete_job(&job.id, self.now()).await?,
                Err(error) => {
                    let retry_at = (job.attempts < job.kind.max_attempts())
                        .then(|| self.now() + job.kind.backoff(job.attempts));
                    tracing::warn!(job = %job.id, kind = job.kind.name(), attempt = job.attempts, dead = retry_at.is_none(), error = %error, "job failed");
                    self.store()
                        .fail_job(&job.id, &error.to_string(), retry_at)
                        .await?;
                }
            }
        }
        Ok(jobs.len())
    }

    async fn run_job(&self, job: &Job) -> CoreResult<()> {
        match &job.kind {
            JobKind::DeleteBlob { key } => Ok(self.blobs().delete(key).await?),
            JobKind::ExpireEnvelope {
                tenant_id,
                envelope_id,
            } => {
                let result = self
                    .change_envelope(tenant_id, envelope_id, EventKind::EnvelopeExpired, (Actor::System, None), &mut |aggregate, now| {
                        match aggregate.expire(now) {
                            Ok(true) if aggregate.envelope.notify_events => {
                                let data = serde_json::json!({
                                    "transactionId": aggregate.envelope.id.to_string(),
                                    "recipients": aggregate.participants.iter().map(|p| p.email.as_str()).collect::<Vec<_>>(),
                                });
                                let job = webhook_job(*tenant_id, EventKind::EnvelopeExpired, format!("msg_expired_{envelope_id}"), data, now)?;
                                Ok(Some(vec![job.deduplicated(format!("webhook:expired:{envelope_id}"))]))
                            }
                            Ok(true) => Ok(Some(Vec::new())),
                            // Not due, or no longer open (cancelled, completed): nothing to do.
                            Ok(false) | Err(_) => Ok(None),
                        }
                    })
                    .await;
                match result {
                    Ok(_) | Err(CoreError::NotFound) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            JobKind::SendInvitation {
                tenant_id,
                envelope_id,
                participant_id,
            } => {
                self.send_invitation(tenant_id, envelope_id, participant_id)
                    .await
            }
            JobKind::SendCode {
                tenant_id,
                envelope_id,
                participant_id,
                link_token_hash,
                channel,
                sealed_code,
                expires_at,
            } => {
                if self.now() >= *expires_at {
                    return Ok(());
                }
                let code = self.open_job_code(sealed_code)?;
                if !self.code_is_current(link_token_hash, &code).await? {
                    return Ok(());
                }
                let Some(aggregate) = self.store().envelope(tenant_id, envelope_id).await? else {
                    return Ok(());
                };
                let Some(phone) = aggregate
                    .participants
                    .iter()
                    .find(|p| p.id == *participant_id)
                    .and_then(|p| p.phone.clone())
                else {
                    return Ok(());
                };
                let sender = self.phone_sender().ok_or_else(|| {
                    anyhow::anyhow!("no SMS/voice provider configured (set sms_url)")
                })?;
                let message = CodeMessage {
                    to: phone,
                    channel: match channel {
                        AuthMethod::Voice => CodeChannel::Voice,
                        _ => CodeChannel::Sms,
                    },
                    code,
                    language: aggregate.envelope.participant_language,
                    valid_minutes: u32::try_from(self.settings().portal.code_ttl.whole_minutes())
                        .unwrap_or(10),
                };
                sender
                    .send_code(&message)
                    .await
                    .map_err(|e| CoreError::Unexpected(anyhow::anyhow!("sending the code: {e}")))
            }
            JobKind::DeliverWebhook {
                tenant_id,
                message_id,
                body,
            } => {
                let Some(tenant) = self.store().tenant(tenant_id).await? else {
                    return Ok(());
                };
                let Some(endpoint) = &tenant.webhook else {
                    return Ok(());
                };
                let sender = self
                    .webhook_sender()
                    .ok_or_else(|| anyhow::anyhow!("no webhook sender configured"))?;
                let now = self.now();
                let secrets = self.signing_secrets(endpoint, now)?;
                sender
                    .send(
                        &endpoint.url,
                        &secrets,
                        message_id,
                        now.unix_timestamp(),
                        body.as_bytes(),
                    )
                    .await
                    .map_err(|e| CoreError::Unexpected(anyhow::anyhow!(e)))
            }
        }
    }

    /// E-mails a participant a fresh link. A retry after a failed send mints another link;
    /// the unused one dies with the envelope.
    async fn send_invitation(
        &self,
        tenant_id: &TenantId,
        envelope_id: &EnvelopeId,
        participant_id: &ParticipantId,
    ) -> CoreResult<()> {
        let Some(tenant) = self.store().tenant(tenant_id).await? else {
            return Ok(());
        };
        let Some(aggregate) = self.store().envelope(tenant_id, envelope_id).await? else {
            return Ok(());
        };
        let now = self.now();
        let Some(participant) = aggregate
            .participants
            .iter()
            .find(|p| p.id == *participant_id)
        else {
            return Ok(());
        };
        if !aggregate.links_usable(now) {
            return Ok(());
        }
        let mail = self.mail_sender().ok_or_else(|| {
            anyhow::anyhow!("no mail transport configured (set smtp_url and mail_from)")
        })?;
        let (link, url) = mint_link(
            &self.settings().public_url,
            *envelope_id,
            *participant_id,
            now,
        );
        self.store().insert_access_links(tenant_id, &[link]).await?;
        let remaining = aggregate
            .envelope
            .expires_at
            .map(|at| at - now)
            .unwrap_or_default();
        let invitation = InvitationMail {
            to: participant.email.clone(),
            language: aggregate.envelope.participant_language,
            sender_name: tenant.name.clone(),
            document_names: aggregate
                .documents
                .iter()
                .map(|d| d.name.as_str().to_owned())
                .collect(),
            link: url,
            expiry_days: u32::try_from((remaining.whole_hours() + 23) / 24).unwrap_or(0),
        };
        mail.send_invitation(&invitation)
            .await
            .map_err(|e| CoreError::Unexpected(anyhow::anyhow!("sending the invitation: {e}")))?;
        let event = Event {
            id: EventId::random(),
            tenant_id: *tenant_id,
            envelope_id: Some(*envelope_id),
            participant_id: Some(*participant_id),
            document_id: None,
            kind: EventKind::InvitationSent,
            actor: Actor::System,
            ip: None,
            at: now,
            data: serde_json::json!({ "to": participant.email }),
        };
        self.store().append_events(&[event]).await?;
        Ok(())
    }

    /// Housekeeping that needs no job row: staging files of uploads cut short by a crash, and
    /// token ids too old to be replayed. Returns how many staging files were removed.
    pub async fn housekeeping(&self) -> CoreResult<usize> {
        self.store().prune_token_ids(self.now()).await?;
        self.store().prune_portal_sessions(self.now()).await?;
        Ok(self.blobs().sweep_abandoned(ABANDONED_UPLOAD_AGE).await?)
    }

    /// Runs jobs until `shutdown` turns true, with housekeeping at start and hourly.
    pub async fn run_worker(
        &self,
        settings: WorkerSettings,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        tracing::info!(worker = %settings.name, "job worker started");
        let mut next_housekeeping = tokio::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if tokio::time::Instant::now() >= next_housekeeping {
                match self.housekeeping().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(removed = n, "removed staging files of interrupted uploads")
                    }
                    Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
                }
                next_housekeeping += StdDuration::from_secs(3600);
            }
            let ran = match self.run_due_jobs(&settings).await {
                Ok(ran) => ran,
                Err(e) => {
                    tracing::error!(error = %e, "claiming jobs failed");
                    0
                }
            };
            if ran == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(settings.poll_interval) => {}
                    _ = self.jobs_enqueued() => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        tracing::info!(worker = %settings.name, "job worker stopped");
    }
}
