//! [`SignerAccessStore`]: signing participants' guards, signer sessions and used form nonces.

use async_trait::async_trait;
use signet_core::ids::{ParticipantId, TenantId};
use signet_core::jobs::NewJob;
use signet_core::model::Event;
use signet_core::store::{SignerAccessStore, SignerCode, SignerGuard, SignerSession, StoreError};
use signet_core::values::Sha256Digest;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::db::Query;
use crate::evidence::append_events;
use crate::jobs::insert_jobs;
use crate::rows::{
    from_i64, from_micros, from_word, hash_from_hex, micros, opt_from_micros, parse, word,
};

#[async_trait]
impl SignerAccessStore for SqlStore {
    async fn signer_guard(&self, participant: &ParticipantId) -> Result<SignerGuard, StoreError> {
        let select = Query::new(
            "SELECT failed_attempts, locked_until, code_hmac, code_channel, code_expires_at, \
             codes_sent, codes_window_start, sessions_started, version \
             FROM signer_guards WHERE participant_id = $1",
        )
        .bind(participant.to_string());
        let Some(row) = self.pool.fetch_optional(select).await? else {
            return Ok(SignerGuard::default());
        };
        let code = match (
            row.get::<Option<String>>("code_hmac")?,
            row.get::<Option<String>>("code_channel")?,
            row.get::<Option<i64>>("code_expires_at")?,
        ) {
            (Some(hmac), Some(channel), Some(expires_at)) => Some(SignerCode {
                hmac: hash_from_hex(&hmac)?,
                channel: from_word("signer_guards.code_channel", &channel)?,
                expires_at: from_micros(expires_at)?,
            }),
            _ => None,
        };
        Ok(SignerGuard {
            failed_attempts: from_i64(row.get("failed_attempts")?)?,
            locked_until: opt_from_micros(row.get("locked_until")?)?,
            code,
            codes_sent: from_i64(row.get("codes_sent")?)?,
            codes_window_start: opt_from_micros(row.get("codes_window_start")?)?,
            sessions_started: from_i64(row.get("sessions_started")?)?,
            version: row.get("version")?,
        })
    }

    async fn save_signer_guard(
        &self,
        tenant: &TenantId,
        participant: &ParticipantId,
        guard: &SignerGuard,
        session: Option<&SignerSession>,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError> {
        let channel = guard.code.as_ref().map(|c| word(&c.channel)).transpose()?;
        // Version 0 creates the row (a concurrent creation conflicts on the key); any other
        // version updates it only if nobody saved since it was read.
        let sql = if guard.version == 0 {
            "INSERT INTO signer_guards (participant_id, tenant_id, failed_attempts, locked_until, \
             code_hmac, code_channel, code_expires_at, codes_sent, codes_window_start, \
             sessions_started, version) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1 \
             FROM sign_participants p WHERE p.id = $1 AND p.tenant_id = $2 AND $11 = 0 \
             ON CONFLICT (participant_id) DO NOTHING"
        } else {
            "UPDATE signer_guards SET failed_attempts = $3, locked_until = $4, code_hmac = $5, \
             code_channel = $6, code_expires_at = $7, codes_sent = $8, codes_window_start = $9, \
             sessions_started = $10, version = version + 1 \
             WHERE participant_id = $1 AND tenant_id = $2 AND version = $11"
        };
        let save = Query::new(sql)
            .bind(participant.to_string())
            .bind(tenant.to_upper_hex())
            .bind(i64::from(guard.failed_attempts))
            .bind(guard.locked_until.map(micros))
            .bind(guard.code.as_ref().map(|c| hex::encode(c.hmac)))
            .bind(channel)
            .bind(guard.code.as_ref().map(|c| micros(c.expires_at)))
            .bind(i64::from(guard.codes_sent))
            .bind(guard.codes_window_start.map(micros))
            .bind(i64::from(guard.sessions_started))
            .bind(guard.version);
        let mut tx = self.pool.begin().await?;
        if tx.execute(save).await? == 0 {
            return Err(StoreError::Conflict);
        }
        if let Some(session) = session {
            let insert = Query::new(
                "INSERT INTO signer_sessions (token_hash, participant_id, tenant_id, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(session.token_hash.to_hex())
            .bind(session.participant_id.to_string())
            .bind(session.tenant_id.to_upper_hex())
            .bind(micros(session.created_at))
            .bind(micros(session.expires_at));
            tx.execute(insert).await?;
        }
        append_events(&mut tx, events).await?;
        insert_jobs(&mut tx, jobs, self.clock.now()).await?;
        tx.commit().await
    }

    async fn signer_session(
        &self,
        token_hash: &Sha256Digest,
    ) -> Result<Option<SignerSession>, StoreError> {
        let select = Query::new(
            "SELECT token_hash, participant_id, tenant_id, created_at, expires_at \
             FROM signer_sessions WHERE token_hash = $1",
        )
        .bind(token_hash.to_hex());
        let Some(row) = self.pool.fetch_optional(select).await? else {
            return Ok(None);
        };
        Ok(Some(SignerSession {
            token_hash: parse(
                "signer_sessions.token_hash",
                &row.get::<String>("token_hash")?,
            )?,
            participant_id: parse(
                "signer_sessions.participant_id",
                &row.get::<String>("participant_id")?,
            )?,
            tenant_id: parse(
                "signer_sessions.tenant_id",
                &row.get::<String>("tenant_id")?,
            )?,
            created_at: from_micros(row.get("created_at")?)?,
            expires_at: from_micros(row.get("expires_at")?)?,
        }))
    }

    async fn claim_signer_nonce(
        &self,
        nonce: &str,
        session_hash: &Sha256Digest,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let insert = Query::new(
            "INSERT INTO signer_nonces (nonce, session_hash, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(session_hash.to_hex())
        .bind(micros(expires_at));
        Ok(self.pool.execute(insert).await? == 1)
    }

    async fn prune_signer_access(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let sessions = tx
            .execute(
                Query::new("DELETE FROM signer_sessions WHERE expires_at < $1").bind(micros(now)),
            )
            .await?;
        let nonces = tx
            .execute(
                Query::new("DELETE FROM signer_nonces WHERE expires_at < $1").bind(micros(now)),
            )
            .await?;
        tx.commit().await?;
        Ok(sessions + nonces)
    }
}
