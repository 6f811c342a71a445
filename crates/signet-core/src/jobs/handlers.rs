//! One handler per kind of job, in the manner of crates.io's background jobs: each says its
//! name, how its jobs are de-duplicated, and how one runs. [`handler`] is the only place that
//! looks at which kind a job is; adding a kind means adding a variant to
//! [`crate::jobs::JobKind`] and a handler here, and the compiler asks for both.

use async_trait::async_trait;

use crate::access::links::mint_link;
use crate::error::{CoreError, CoreResult};
use crate::ids::{EnvelopeId, EventId, ParticipantId, TenantId};
use crate::jobs::{DeliveryTarget, JobKind};
use crate::mail::InvitationMail;
use crate::model::{Actor, AuthMethod, Event, EventKind};
use crate::phone::{CodeChannel, CodeMessage};
use crate::ports::Core;
use crate::webhooks::{Notification, webhook_job};

pub(crate) use super::handler::JobHandler;

/// The handler of a job.
pub(crate) fn handler(kind: &JobKind) -> Box<dyn JobHandler + '_> {
    match kind {
        JobKind::HashDocument {
            tenant_id,
            document_id,
        } => Box::new(HashDocument {
            tenant_id,
            document_id,
        }),
        JobKind::DeleteBlob { key } => Box::new(DeleteBlob { key }),
        JobKind::ExpireEnvelope {
            tenant_id,
            envelope_id,
        } => Box::new(ExpireEnvelope {
            tenant_id,
            envelope_id,
        }),
        JobKind::SendInvitation {
            tenant_id,
            envelope_id,
            participant_id,
        } => Box::new(SendInvitation {
            tenant_id,
            envelope_id,
            participant_id,
        }),
        JobKind::SendCode {
            tenant_id,
            envelope_id,
            participant_id,
            link_token_hash,
            channel,
            sealed_code,
            expires_at,
        } => Box::new(SendCode {
            tenant_id,
            envelope_id,
            participant_id,
            link_token_hash,
            channel: *channel,
            sealed_code,
            expires_at: *expires_at,
        }),
        JobKind::SigningMail { .. }
        | JobKind::SigningTimer { .. }
        | JobKind::ApplySignature { .. }
        | JobKind::SealSignEnvelope { .. } => crate::signing::jobs::handler(kind),
        JobKind::SendSignerCode {
            tenant_id,
            envelope_id,
            participant_id,
            sealed_code,
            expires_at,
        } => Box::new(SendSignerCode {
            tenant_id,
            envelope_id,
            participant_id,
            sealed_code,
            expires_at: *expires_at,
        }),
        JobKind::DeliverWebhook { .. } | JobKind::DeliverSenderCallback { .. } => {
            Box::new(Deliver { kind })
        }
    }
}

/// Records the SHA3-256 an upload left for later.
struct HashDocument<'a> {
    tenant_id: &'a TenantId,
    document_id: &'a crate::ids::DocumentId,
}

#[async_trait]
impl JobHandler for HashDocument<'_> {
    fn name(&self) -> &'static str {
        "hash_document"
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        core.record_deferred_sha3(self.tenant_id, self.document_id)
            .await
            .map(|_| ())
    }
}

/// Deletes a blob whose document was cancelled or purged.
struct DeleteBlob<'a> {
    key: &'a crate::blob::BlobKey,
}

#[async_trait]
impl JobHandler for DeleteBlob<'_> {
    fn name(&self) -> &'static str {
        "delete_blob"
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        Ok(core.blobs().delete(self.key).await?)
    }
}

/// Expires an envelope whose links ran out; nothing when it is not due or no longer open.
struct ExpireEnvelope<'a> {
    tenant_id: &'a TenantId,
    envelope_id: &'a EnvelopeId,
}

#[async_trait]
impl JobHandler for ExpireEnvelope<'_> {
    fn name(&self) -> &'static str {
        "expire_envelope"
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        let (tenant_id, envelope_id) = (*self.tenant_id, *self.envelope_id);
        let result = core
            .change_envelope(
                &tenant_id,
                &envelope_id,
                EventKind::EnvelopeExpired,
                (Actor::System, None),
                &mut |aggregate, now| match aggregate.expire(now) {
                    Ok(true) if aggregate.envelope.notify_events => {
                        let notification = Notification::EnvelopeExpired {
                            envelope: envelope_id,
                            recipients: aggregate
                                .participants
                                .iter()
                                .map(|p| p.email.clone())
                                .collect(),
                        };
                        let job = webhook_job(
                            core.notification_renderer(),
                            tenant_id,
                            &notification,
                            format!("msg_expired_{envelope_id}"),
                            now,
                        )?;
                        Ok(Some(vec![
                            job.deduplicated(format!("webhook:expired:{envelope_id}")),
                        ]))
                    }
                    Ok(true) => Ok(Some(Vec::new())),
                    // Not due, or no longer open (cancelled, completed): nothing to do.
                    Ok(false) | Err(_) => Ok(None),
                },
            )
            .await;
        match result {
            Ok(_) | Err(CoreError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// E-mails a participant a fresh link. A retry after a failed send mints another link; the
/// unused one dies with the envelope.
struct SendInvitation<'a> {
    tenant_id: &'a TenantId,
    envelope_id: &'a EnvelopeId,
    participant_id: &'a ParticipantId,
}

#[async_trait]
impl JobHandler for SendInvitation<'_> {
    fn name(&self) -> &'static str {
        "send_invitation"
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        let (tenant_id, envelope_id, participant_id) =
            (self.tenant_id, self.envelope_id, self.participant_id);
        let Some(tenant) = core.store().tenant(tenant_id).await? else {
            return Ok(());
        };
        let Some(aggregate) = core.store().envelope(tenant_id, envelope_id).await? else {
            return Ok(());
        };
        let now = core.now();
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
        let mail = core.mail_sender().ok_or_else(|| {
            anyhow::anyhow!("no mail transport configured (set smtp_url and mail_from)")
        })?;
        let (link, url) = mint_link(
            &core.settings().public_url,
            *envelope_id,
            *participant_id,
            now,
        );
        core.store().insert_access_links(tenant_id, &[link]).await?;
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
            id: EventId::generate(),
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
        core.store().append_events(&[event]).await?;
        Ok(())
    }
}

/// Sends a one-time code to a participant's phone; nothing once the code has expired or a newer
/// one replaced it.
struct SendCode<'a> {
    tenant_id: &'a TenantId,
    envelope_id: &'a EnvelopeId,
    participant_id: &'a ParticipantId,
    link_token_hash: &'a str,
    channel: AuthMethod,
    sealed_code: &'a str,
    expires_at: time::OffsetDateTime,
}

#[async_trait]
impl JobHandler for SendCode<'_> {
    fn name(&self) -> &'static str {
        "send_code"
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        if core.now() >= self.expires_at {
            return Ok(());
        }
        let code = core.open_job_code(self.sealed_code)?;
        if !core.code_is_current(self.link_token_hash, &code).await? {
            return Ok(());
        }
        let Some(aggregate) = core
            .store()
            .envelope(self.tenant_id, self.envelope_id)
            .await?
        else {
            return Ok(());
        };
        let Some(phone) = aggregate
            .participants
            .iter()
            .find(|p| p.id == *self.participant_id)
            .and_then(|p| p.phone.clone())
        else {
            return Ok(());
        };
        let sender = core
            .phone_sender()
            .ok_or_else(|| anyhow::anyhow!("no SMS/voice provider configured (set sms_url)"))?;
        let message = CodeMessage {
            to: phone,
            channel: match self.channel {
                AuthMethod::Voice => CodeChannel::Voice,
                _ => CodeChannel::Sms,
            },
            code,
            language: aggregate.envelope.participant_language,
            valid_minutes: u32::try_from(core.settings().portal.code_ttl.whole_minutes())
                .unwrap_or(10),
        };
        sender
            .send_code(&message)
            .await
            .map_err(|e| CoreError::Unexpected(anyhow::anyhow!("sending the code: {e}")))
    }
}

/// Delivers one message to its target: the tenant's webhook (nothing if it has none) or a
/// sender callback URL. One path for both, so that signing, retries, the dead letter and replay
/// are the same whatever the target.
struct Deliver<'a> {
    kind: &'a JobKind,
}

#[async_trait]
impl JobHandler for Deliver<'_> {
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        let Some(delivery) = self.kind.delivery() else {
            return Err(anyhow::anyhow!("{} is not a delivery", self.kind.name()).into());
        };
        let Some(tenant) = core.store().tenant(delivery.tenant_id).await? else {
            return Ok(());
        };
        let now = core.now();
        let (url, secrets) = match delivery.target {
            DeliveryTarget::TenantWebhook => {
                let Some(endpoint) = &tenant.webhook else {
                    return Ok(());
                };
                (endpoint.url.as_str(), core.signing_secrets(endpoint, now)?)
            }
            DeliveryTarget::Callback { url } => (url, core.callback_secrets(&tenant)?),
        };
        let sender = core
            .webhook_sender()
            .ok_or_else(|| anyhow::anyhow!("no webhook sender configured"))?;
        sender
            .send(
                url,
                &secrets,
                delivery.message_id,
                now.unix_timestamp(),
                delivery.body.as_bytes(),
            )
            .await
            .map_err(|e| CoreError::Unexpected(anyhow::anyhow!(e)))
    }
}

/// Sends a signing participant their code by e-mail, SMS or voice; nothing once it expired or
/// was replaced (the rules are the signer app's, in `signing::signer`).
struct SendSignerCode<'a> {
    tenant_id: &'a TenantId,
    envelope_id: &'a EnvelopeId,
    participant_id: &'a ParticipantId,
    sealed_code: &'a str,
    expires_at: time::OffsetDateTime,
}

#[async_trait]
impl JobHandler for SendSignerCode<'_> {
    fn name(&self) -> &'static str {
        "send_signer_code"
    }

    async fn run(&self, core: &Core) -> CoreResult<()> {
        core.deliver_signer_code(
            self.tenant_id,
            self.envelope_id,
            self.participant_id,
            self.sealed_code,
            self.expires_at,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::BlobKey;
    use crate::jobs::handler::Dedupe;

    #[test]
    fn handlers_carry_the_stored_names_of_their_kinds() {
        let (tenant_id, envelope_id, participant_id) = (
            TenantId::random(),
            EnvelopeId::generate(),
            ParticipantId::generate(),
        );
        let kinds = [
            JobKind::DeleteBlob {
                key: BlobKey::random(),
            },
            JobKind::ExpireEnvelope {
                tenant_id,
                envelope_id,
            },
            JobKind::SendInvitation {
                tenant_id,
                envelope_id,
                participant_id,
            },
            JobKind::SendCode {
                tenant_id,
                envelope_id,
                participant_id,
                link_token_hash: String::new(),
                channel: AuthMethod::Sms,
                sealed_code: String::new(),
                expires_at: time::OffsetDateTime::UNIX_EPOCH,
            },
            JobKind::DeliverWebhook {
                tenant_id,
                message_id: "msg".into(),
                body: "{}".into(),
            },
            JobKind::SendSignerCode {
                tenant_id,
                envelope_id,
                participant_id,
                sealed_code: String::new(),
                expires_at: time::OffsetDateTime::UNIX_EPOCH,
            },
            JobKind::DeliverSenderCallback {
                tenant_id,
                envelope_id,
                url: "https://example.com/status".into(),
                message_id: "msg".into(),
                body: "{}".into(),
            },
        ];
        for kind in &kinds {
            let handler = handler(kind);
            assert_eq!(handler.name(), kind.name());
            assert_eq!(handler.dedupe(), Dedupe::WhileLive);
        }
    }
}
