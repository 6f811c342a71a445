//! [`SigningStore`]: a signing envelope over five tables (the envelope, its documents, its
//! participants, the order edges between them, its fields). Loading reads each table once;
//! saving updates the rows whose state can change (envelope, participants, field values) under
//! the envelope's version.

use std::collections::HashMap;

use async_trait::async_trait;
use signet_core::blob::BlobKey;
use signet_core::ids::{DocumentId, EnvelopeId, ParticipantId, TenantId};
use signet_core::jobs::NewJob;
use signet_core::model::Event;
use signet_core::signing::fields::{Field, Rect};
use signet_core::signing::library::LibraryDocument;
use signet_core::signing::model::{
    CompletionRule, EnvelopeDocument, EnvelopeStatus, Participant, ParticipantKey, Reason,
    RedirectUrl, Redirects, ReminderPolicy, SignEnvelope,
};
use signet_core::signing::versions::SignVersion;
use signet_core::store::IdempotencyRecord;
use signet_core::store::{SigningStore, StoreError, StoredSignEnvelope};
use signet_core::values::Phone;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::db::{Query, Row, Tx};
use crate::evidence::append_events;
use crate::jobs::insert_jobs;
use crate::library::{insert_document_query, insert_idempotency_key};
use crate::rows::{corrupt, from_i64, from_micros, from_word, micros, parse, word};

fn at(value: Option<OffsetDateTime>) -> Option<i64> {
    value.map(micros)
}

fn at_from(row: &Row, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    row.get::<Option<i64>>(column)?.map(from_micros).transpose()
}

fn int(value: u32) -> i64 {
    i64::from(value)
}

/// The envelope's changing columns, `$2` to `$7`.
fn bind_state(query: Query, envelope: &SignEnvelope) -> Result<Query, StoreError> {
    Ok(query
        .bind(envelope.id.to_string())
        .bind(word(&envelope.status)?)
        .bind(at(envelope.expires_at))
        .bind(at(envelope.closed_at))
        .bind(envelope.void_reason.as_ref().map(|r| r.as_str().to_owned()))
        .bind(at(envelope.sealed_at))
        .bind(envelope.tenant_id.to_upper_hex()))
}

async fn insert_rows(tx: &mut Tx, envelope: &SignEnvelope) -> Result<(), StoreError> {
    let (min_signers, every_days, max) = (
        match envelope.completion {
            CompletionRule::AtLeast { min_signers } => Some(int(min_signers)),
            _ => None,
        },
        envelope.reminders.map(|r| int(r.every_days)),
        envelope.reminders.map(|r| int(r.max)),
    );
    let redirect = |url: &Option<RedirectUrl>| url.as_ref().map(|u| u.as_str().to_owned());
    tx.execute(
        Query::new(
            "INSERT INTO sign_envelopes (id, tenant_id, title, language, status, version, \
             min_signers, reminder_every_days, reminder_max, redirect_success, redirect_cancel, \
             redirect_error, created_at, expires_at, closed_at, void_reason, sealed_at, \
             signed_copy_offered) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17)",
        )
        .bind(envelope.id.to_string())
        .bind(envelope.tenant_id.to_upper_hex())
        .bind(envelope.title.as_str())
        .bind(envelope.language.code())
        .bind(word(&envelope.status)?)
        .bind(min_signers)
        .bind(every_days)
        .bind(max)
        .bind(redirect(&envelope.redirects.success))
        .bind(redirect(&envelope.redirects.cancel))
        .bind(redirect(&envelope.redirects.error))
        .bind(micros(envelope.created_at))
        .bind(at(envelope.expires_at))
        .bind(at(envelope.closed_at))
        .bind(envelope.void_reason.as_ref().map(|r| r.as_str().to_owned()))
        .bind(at(envelope.sealed_at))
        .bind(envelope.signed_copy_offered),
    )
    .await?;
    for (position, document) in envelope.documents.iter().enumerate() {
        tx.execute(
            Query::new(
                "INSERT INTO sign_envelope_documents (envelope_id, position, document_id, action, \
                 pages) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(envelope.id.to_string())
            .bind(i64::try_from(position).map_err(corrupt)?)
            .bind(document.document.to_string())
            .bind(word(&document.action)?)
            .bind(int(document.pages)),
        )
        .await?;
    }
    for (position, participant) in envelope.participants.iter().enumerate() {
        let phone = participant.phone.as_ref();
        tx.execute(
            bind_participant_state(
                Query::new(
                    "INSERT INTO sign_participants (id, state, invited_at, opened_at, \
                     authenticated_at, finished_at, reminders_sent, last_reminded_at, \
                     decline_reason, envelope_id, tenant_id, position, participant_key, name, \
                     email, phone_e164, phone_country, phone_national, role, auth, language) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                     $16, $17, $18, $19, $20, $21)",
                ),
                participant,
            )?
            .bind(envelope.id.to_string())
            .bind(envelope.tenant_id.to_upper_hex())
            .bind(i64::try_from(position).map_err(corrupt)?)
            .bind(participant.key.as_str())
            .bind(participant.name.as_str())
            .bind(participant.email.as_ref().map(|e| e.as_str().to_owned()))
            .bind(phone.map(|p| p.e164().to_owned()))
            .bind(phone.map(|p| p.iso_country().to_owned()))
            .bind(phone.map(|p| p.national().to_owned()))
            .bind(word(&participant.role)?)
            .bind(word(&participant.auth)?)
            .bind(participant.language.code()),
        )
        .await?;
    }
    let ids: HashMap<&ParticipantKey, ParticipantId> = envelope
        .participants
        .iter()
        .map(|p| (&p.key, p.id))
        .collect();
    for participant in &envelope.participants {
        for after in &participant.after {
            let after_id = ids
                .get(after)
                .ok_or_else(|| corrupt(format!("participant waits for unknown key {after}")))?;
            tx.execute(
                Query::new(
                    "INSERT INTO sign_participant_edges (envelope_id, participant_id, after_id) \
                     VALUES ($1, $2, $3)",
                )
                .bind(envelope.id.to_string())
                .bind(participant.id.to_string())
                .bind(after_id.to_string()),
            )
            .await?;
        }
    }
    for (position, field) in envelope.fields.iter().enumerate() {
        tx.execute(
            bind_field_value(
                Query::new(
                    "INSERT INTO sign_fields (id, value, filled_at, envelope_id, participant_id, \
                     document_id, position, page, x, y, width, height, kind, required, label) \
                     VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                ),
                field,
            )?
            .bind(envelope.id.to_string())
            .bind(field.participant.to_string())
            .bind(field.document.to_string())
            .bind(i64::try_from(position).map_err(corrupt)?)
            .bind(int(field.page))
            .bind(field.rect.x())
            .bind(field.rect.y())
            .bind(field.rect.width())
            .bind(field.rect.height())
            .bind(word(&field.kind)?)
            .bind(field.required)
            .bind(field.label.as_ref().map(|l| l.as_str().to_owned())),
        )
        .await?;
    }
    Ok(())
}

/// A participant's changing columns, `$1` (its id) to `$9`.
fn bind_participant_state(query: Query, participant: &Participant) -> Result<Query, StoreError> {
    Ok(query
        .bind(participant.id.to_string())
        .bind(word(&participant.state)?)
        .bind(at(participant.invited_at))
        .bind(at(participant.opened_at))
        .bind(at(participant.authenticated_at))
        .bind(at(participant.finished_at))
        .bind(int(participant.reminders_sent))
        .bind(at(participant.last_reminded_at))
        .bind(
            participant
                .decline_reason
                .as_ref()
                .map(|r| r.as_str().to_owned()),
        ))
}

/// A field's changing columns: `$1` its id, `$2` its value.
fn bind_field_value(query: Query, field: &Field) -> Result<Query, StoreError> {
    let value = field
        .value
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(corrupt)?;
    Ok(query.bind(field.id.to_string()).bind(value))
}

fn participant_from_row(row: &Row) -> Result<Participant, StoreError> {
    let phone = match row.get::<Option<String>>("phone_e164")? {
        Some(e164) => Some(Phone::from_stored(
            e164,
            row.get::<Option<String>>("phone_country")?
                .unwrap_or_default(),
            row.get::<Option<String>>("phone_national")?
                .unwrap_or_default(),
        )),
        None => None,
    };
    let participant = Participant {
        id: parse("sign_participants.id", &row.get::<String>("id")?)?,
        key: parse(
            "sign_participants.participant_key",
            &row.get::<String>("participant_key")?,
        )?,
        name: parse("sign_participants.name", &row.get::<String>("name")?)?,
        email: row
            .get::<Option<String>>("email")?
            .map(|e| parse("sign_participants.email", &e))
            .transpose()?,
        phone,
        role: from_word("sign_participants.role", &row.get::<String>("role")?)?,
        auth: from_word("sign_participants.auth", &row.get::<String>("auth")?)?,
        language: parse(
            "sign_participants.language",
            &row.get::<String>("language")?,
        )?,
        after: Vec::new(),
        state: from_word("sign_participants.state", &row.get::<String>("state")?)?,
        invited_at: at_from(row, "invited_at")?,
        opened_at: at_from(row, "opened_at")?,
        authenticated_at: at_from(row, "authenticated_at")?,
        finished_at: at_from(row, "finished_at")?,
        reminders_sent: from_i64(row.get("reminders_sent")?)?,
        last_reminded_at: at_from(row, "last_reminded_at")?,
        decline_reason: row
            .get::<Option<String>>("decline_reason")?
            .map(|r| parse("sign_participants.decline_reason", &r))
            .transpose()?,
    };
    Ok(participant)
}

fn field_from_row(row: &Row) -> Result<Field, StoreError> {
    Ok(Field {
        id: parse("sign_fields.id", &row.get::<String>("id")?)?,
        participant: parse(
            "sign_fields.participant_id",
            &row.get::<String>("participant_id")?,
        )?,
        document: parse(
            "sign_fields.document_id",
            &row.get::<String>("document_id")?,
        )?,
        page: from_i64(row.get("page")?)?,
        rect: Rect::new(
            row.get("x")?,
            row.get("y")?,
            row.get("width")?,
            row.get("height")?,
        )
        .map_err(corrupt)?,
        kind: from_word("sign_fields.kind", &row.get::<String>("kind")?)?,
        required: row.get("required")?,
        label: row
            .get::<Option<String>>("label")?
            .map(|l| parse("sign_fields.label", &l))
            .transpose()?,
        value: row
            .get::<Option<String>>("value")?
            .map(|v| serde_json::from_str(&v).map_err(corrupt))
            .transpose()?,
    })
}

async fn load_envelope(
    tx: &mut Tx,
    tenant: &TenantId,
    id: &EnvelopeId,
) -> Result<Option<StoredSignEnvelope>, StoreError> {
    let Some(row) = tx
        .fetch_all(
            Query::new("SELECT * FROM sign_envelopes WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.to_upper_hex())
                .bind(id.to_string()),
        )
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let envelope_id = id.to_string();
    let documents = tx
        .fetch_all(
            Query::new(
                "SELECT * FROM sign_envelope_documents WHERE envelope_id = $1 ORDER BY position",
            )
            .bind(envelope_id.clone()),
        )
        .await?
        .iter()
        .map(|row| {
            Ok(EnvelopeDocument {
                document: parse(
                    "sign_envelope_documents.document_id",
                    &row.get::<String>("document_id")?,
                )?,
                action: from_word(
                    "sign_envelope_documents.action",
                    &row.get::<String>("action")?,
                )?,
                pages: from_i64(row.get("pages")?)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut participants = tx
        .fetch_all(
            Query::new(
                "SELECT * FROM sign_participants WHERE tenant_id = $1 AND envelope_id = $2 \
                 ORDER BY position",
            )
            .bind(tenant.to_upper_hex())
            .bind(envelope_id.clone()),
        )
        .await?
        .iter()
        .map(participant_from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let keys: HashMap<String, ParticipantKey> = participants
        .iter()
        .map(|p| (p.id.to_string(), p.key.clone()))
        .collect();
    for row in tx
        .fetch_all(
            Query::new(
                "SELECT participant_id, after_id FROM sign_participant_edges \
                 WHERE envelope_id = $1 ORDER BY participant_id, after_id",
            )
            .bind(envelope_id.clone()),
        )
        .await?
    {
        let (who, after): (String, String) = (row.get("participant_id")?, row.get("after_id")?);
        let after = keys
            .get(&after)
            .cloned()
            .ok_or_else(|| corrupt(format!("edge to unknown participant {after}")))?;
        participants
            .iter_mut()
            .find(|p| p.id.to_string() == who)
            .ok_or_else(|| corrupt(format!("edge from unknown participant {who}")))?
            .after
            .push(after);
    }
    let fields = tx
        .fetch_all(
            Query::new("SELECT * FROM sign_fields WHERE envelope_id = $1 ORDER BY position")
                .bind(envelope_id),
        )
        .await?
        .iter()
        .map(field_from_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let min_signers: Option<i64> = row.get("min_signers")?;
    let every_days: Option<i64> = row.get("reminder_every_days")?;
    let max: Option<i64> = row.get("reminder_max")?;
    let redirect = |column: &str| -> Result<Option<RedirectUrl>, StoreError> {
        row.get::<Option<String>>(column)?
            .map(|u| parse::<RedirectUrl>(column, &u))
            .transpose()
    };
    let envelope = SignEnvelope {
        id: *id,
        tenant_id: *tenant,
        title: parse("sign_envelopes.title", &row.get::<String>("title")?)?,
        language: parse("sign_envelopes.language", &row.get::<String>("language")?)?,
        status: from_word("sign_envelopes.status", &row.get::<String>("status")?)?,
        documents,
        participants,
        fields,
        completion: match min_signers {
            Some(k) => CompletionRule::AtLeast {
                min_signers: from_i64(k)?,
            },
            None => CompletionRule::AllSigners,
        },
        reminders: match (every_days, max) {
            (Some(every_days), Some(max)) => Some(ReminderPolicy {
                every_days: from_i64(every_days)?,
                max: from_i64(max)?,
            }),
            _ => None,
        },
        redirects: Redirects {
            success: redirect("redirect_success")?,
            cancel: redirect("redirect_cancel")?,
            error: redirect("redirect_error")?,
        },
        signed_copy_offered: row.get("signed_copy_offered")?,
        created_at: from_micros(row.get("created_at")?)?,
        expires_at: at_from(&row, "expires_at")?,
        closed_at: at_from(&row, "closed_at")?,
        void_reason: row
            .get::<Option<String>>("void_reason")?
            .map(|r| parse::<Reason>("sign_envelopes.void_reason", &r))
            .transpose()?,
        sealed_at: at_from(&row, "sealed_at")?,
    };
    Ok(Some(StoredSignEnvelope {
        envelope,
        version: row.get("version")?,
    }))
}

#[async_trait]
impl SigningStore for SqlStore {
    async fn insert_sign_envelope(
        &self,
        envelope: &SignEnvelope,
        idempotency: Option<&IdempotencyRecord>,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some(record) = idempotency {
            insert_idempotency_key(
                &mut tx,
                &envelope.tenant_id,
                record,
                &envelope.id.to_string(),
                envelope.created_at,
            )
            .await?;
        }
        insert_rows(&mut tx, envelope).await?;
        append_events(&mut tx, events).await?;
        insert_jobs(&mut tx, jobs, self.clock.now()).await?;
        tx.commit().await
    }

    async fn sign_envelope(
        &self,
        tenant: &TenantId,
        id: &EnvelopeId,
    ) -> Result<Option<StoredSignEnvelope>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let loaded = load_envelope(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(loaded)
    }

    async fn save_sign_envelope(
        &self,
        envelope: &SignEnvelope,
        version: i64,
        idempotency: Option<&IdempotencyRecord>,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some(record) = idempotency {
            insert_idempotency_key(
                &mut tx,
                &envelope.tenant_id,
                record,
                &envelope.id.to_string(),
                self.clock.now(),
            )
            .await?;
        }
        let update = bind_state(
            Query::new(
                "UPDATE sign_envelopes SET status = $2, expires_at = $3, closed_at = $4, \
                 void_reason = $5, sealed_at = $6, version = version + 1 \
                 WHERE id = $1 AND tenant_id = $7 AND version = $8",
            ),
            envelope,
        )?
        .bind(version);
        if tx.execute(update).await? == 0 {
            return Err(StoreError::Conflict);
        }
        for participant in &envelope.participants {
            tx.execute(
                bind_participant_state(
                    Query::new(
                        "UPDATE sign_participants SET state = $2, invited_at = $3, opened_at = $4, \
                         authenticated_at = $5, finished_at = $6, reminders_sent = $7, \
                         last_reminded_at = $8, decline_reason = $9 \
                         WHERE id = $1 AND envelope_id = $10",
                    ),
                    participant,
                )?
                .bind(envelope.id.to_string()),
            )
            .await?;
        }
        // Pages change only once, when the bytes of an awaited document arrive.
        for document in &envelope.documents {
            tx.execute(
                Query::new(
                    "UPDATE sign_envelope_documents SET pages = $3 \
                     WHERE envelope_id = $1 AND document_id = $2 AND pages <> $3",
                )
                .bind(envelope.id.to_string())
                .bind(document.document.to_string())
                .bind(int(document.pages)),
            )
            .await?;
        }
        let now = self.clock.now();
        for field in &envelope.fields {
            tx.execute(
                bind_field_value(
                    Query::new(
                        "UPDATE sign_fields SET value = $2, \
                         filled_at = CASE WHEN value IS DISTINCT FROM $2 THEN $3 ELSE filled_at END \
                         WHERE id = $1 AND envelope_id = $4",
                    ),
                    field,
                )?
                .bind(micros(now))
                .bind(envelope.id.to_string()),
            )
            .await?;
        }
        append_events(&mut tx, events).await?;
        insert_jobs(&mut tx, jobs, now).await?;
        tx.commit().await
    }

    async fn sign_envelope_of_participant(
        &self,
        participant: &ParticipantId,
    ) -> Result<Option<StoredSignEnvelope>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = tx
            .fetch_all(
                Query::new("SELECT tenant_id, envelope_id FROM sign_participants WHERE id = $1")
                    .bind(participant.to_string()),
            )
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let tenant: TenantId = parse(
            "sign_participants.tenant_id",
            &row.get::<String>("tenant_id")?,
        )?;
        let envelope: EnvelopeId = parse(
            "sign_participants.envelope_id",
            &row.get::<String>("envelope_id")?,
        )?;
        let loaded = load_envelope(&mut tx, &tenant, &envelope).await?;
        tx.commit().await?;
        Ok(loaded)
    }

    async fn list_sign_envelopes(
        &self,
        tenant: &TenantId,
        status: Option<EnvelopeStatus>,
        after: Option<&EnvelopeId>,
        limit: u32,
    ) -> Result<Vec<SignEnvelope>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Oldest first; the cursor is the last envelope seen, ties on the time broken by id.
        let rows = tx
            .fetch_all(
                Query::new(
                    "SELECT e.id FROM sign_envelopes e \
                     LEFT JOIN sign_envelopes c ON c.id = $3 AND c.tenant_id = $1 \
                     WHERE e.tenant_id = $1 AND ($2 IS NULL OR e.status = $2) \
                     AND ($3 IS NULL OR e.created_at > c.created_at \
                          OR (e.created_at = c.created_at AND e.id > c.id)) \
                     ORDER BY e.created_at, e.id LIMIT $4",
                )
                .bind(tenant.to_upper_hex())
                .bind(status.map(|s| s.as_str().to_owned()))
                .bind(after.map(|id| id.to_string()))
                .bind(i64::from(limit)),
            )
            .await?;
        let mut envelopes = Vec::with_capacity(rows.len());
        for row in rows {
            let id: EnvelopeId = parse("sign_envelopes.id", &row.get::<String>("id")?)?;
            if let Some(stored) = load_envelope(&mut tx, tenant, &id).await? {
                envelopes.push(stored.envelope);
            }
        }
        tx.commit().await?;
        Ok(envelopes)
    }

    async fn insert_sign_version(
        &self,
        version: &SignVersion,
        document: &LibraryDocument,
        blob: &BlobKey,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        tx.execute(insert_document_query(document, Some(blob))?)
            .await?;
        tx.execute(
            Query::new(
                "INSERT INTO sign_document_versions (version_id, envelope_id, tenant_id, \
                 document_id, derived_from, kind, participant_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(version.version.to_string())
            .bind(version.envelope.to_string())
            .bind(document.tenant_id.to_upper_hex())
            .bind(version.document.map(|id| id.to_string()))
            .bind(version.derived_from.map(|id| id.to_string()))
            .bind(version.kind.as_str())
            .bind(version.participant.map(|id| id.to_string()))
            .bind(micros(version.created_at)),
        )
        .await?;
        append_events(&mut tx, events).await?;
        insert_jobs(&mut tx, jobs, self.clock.now()).await?;
        tx.commit().await
    }

    async fn sign_versions(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
    ) -> Result<Vec<SignVersion>, StoreError> {
        let rows = self
            .pool
            .fetch_all(
                Query::new(
                    "SELECT * FROM sign_document_versions WHERE tenant_id = $1 AND envelope_id = $2 \
                     ORDER BY created_at, version_id",
                )
                .bind(tenant.to_upper_hex())
                .bind(envelope.to_string()),
            )
            .await?;
        let id = |row: &Row, column: &str| -> Result<Option<DocumentId>, StoreError> {
            row.get::<Option<String>>(column)?
                .map(|v| parse(column, &v))
                .transpose()
        };
        rows.iter()
            .map(|row| {
                Ok(SignVersion {
                    version: parse(
                        "sign_document_versions.version_id",
                        &row.get::<String>("version_id")?,
                    )?,
                    envelope: *envelope,
                    document: id(row, "document_id")?,
                    derived_from: id(row, "derived_from")?,
                    kind: from_word("sign_document_versions.kind", &row.get::<String>("kind")?)?,
                    participant: row
                        .get::<Option<String>>("participant_id")?
                        .map(|v| parse("sign_document_versions.participant_id", &v))
                        .transpose()?,
                    created_at: from_micros(row.get("created_at")?)?,
                })
            })
            .collect()
    }
}
