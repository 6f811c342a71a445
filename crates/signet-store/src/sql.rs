//! The SQL shared by both databases, instantiated once per database by [`sql_store!`].

use signet_core::store::StoreError;

/// The database-specific part of the integrity check.
#[async_trait::async_trait]
pub(crate) trait IntegrityCheck {
    async fn integrity_check(&self) -> Result<(), StoreError>;
}

pub(crate) fn unexpected(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
        _ => StoreError::Unexpected(anyhow::Error::new(err)),
    }
}

/// Implements `Store` for `$store` (which has a `pool` of database `$db`).
macro_rules! sql_store {
    ($store:ident, $db:ty, $claim_lock:literal) => {
        const _: () = {
            use signet_core::blob::BlobKey;
            use signet_core::ids::{DocumentId, EnvelopeId, TenantId};
            use signet_core::model::*;
            use signet_core::store::{LedgerLeaf, Store, StoreError};
            use signet_core::values::{Email, Phone};
            use sqlx::Row as _;
            use time::OffsetDateTime;

            use $crate::rows::*;
            use $crate::sql::{unexpected, IntegrityCheck as _};

            type Tx = sqlx::Transaction<'static, $db>;
            type DbRow = <$db as sqlx::Database>::Row;

            const ENVELOPE_COLUMNS: &str = "id, tenant_id, purpose, state, version, sender_language, \
                participant_language, link_expiration_days, link_reusable, notify_events, \
                secret_question, created_at, upload_deadline, confirmed_at, expires_at, closed_at";
            const DOCUMENT_COLUMNS: &str = "id, position, name, status, blob_key, size, sha256, \
                sha3_256, content_type, stored_at, derived_from";
            const PARTICIPANT_COLUMNS: &str = "id, sequence, role, email, phone_e164, phone_country, \
                phone_national, auth, secret_answer_hash, authenticated_at, completed_at";
            const CONTACT_COLUMNS: &str = "tenant_id, email, language, cell_e164, cell_country, \
                cell_national, cell_method, secret_question, secret_ref, secret_hash, updated_at";

            fn get<'r, T>(row: &'r DbRow, column: &str) -> Result<T, StoreError>
            where
                T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
            {
                row.try_get(column).map_err(unexpected)
            }

            fn tenant_from_row(row: &DbRow) -> Result<Tenant, StoreError> {
                let id: String = get(row, "id")?;
                Ok(Tenant {
                    id: parse("tenants.id", &id)?,
                    name: get(row, "name")?,
                    status: status_from_text(&get::<String>(row, "status")?)?,
                    plan: Plan {
                        features: features_from_text(&get::<String>(row, "features")?)?,
                        max_envelope_bytes: u64::try_from(get::<i64>(row, "max_envelope_bytes")?)
                            .map_err(corrupt)?,
                    },
                    self_send: get(row, "self_send")?,
                    api_key_sealed: get(row, "api_key_sealed")?,
                    webhook: get::<Option<String>>(row, "webhook")?
                        .map(|w| serde_json::from_str(&w).map_err(corrupt))
                        .transpose()?,
                    created_at: from_micros(get(row, "created_at")?)?,
                })
            }

            fn envelope_from_row(row: &DbRow) -> Result<Envelope, StoreError> {
                let state: String = get(row, "state")?;
                Ok(Envelope {
                    id: parse("envelopes.id", &get::<String>(row, "id")?)?,
                    tenant_id: parse("envelopes.tenant_id", &get::<String>(row, "tenant_id")?)?,
                    purpose: purpose_from_text(&get::<String>(row, "purpose")?)?,
                    state: EnvelopeState::parse(&state).ok_or_else(|| corrupt(&state))?,
                    version: get(row, "version")?,
                    sender_language: parse("sender_language", &get::<String>(row, "sender_language")?)?,
                    participant_language: parse(
                        "participant_language",
                        &get::<String>(row, "participant_language")?,
                    )?,
                    links: LinkPolicy {
                        expiration_days: u32::try_from(get::<i64>(row, "link_expiration_days")?)
                            .map_err(corrupt)?,
                        reusable: get(row, "link_reusable")?,
                    },
                    notify_events: get(row, "notify_events")?,
                    secret_question: get(row, "secret_question")?,
                    created_at: from_micros(get(row, "created_at")?)?,
                    upload_deadline: from_micros(get(row, "upload_deadline")?)?,
                    confirmed_at: opt_from_micros(get(row, "confirmed_at")?)?,
                    expires_at: opt_from_micros(get(row, "expires_at")?)?,
                    closed_at: opt_from_micros(get(row, "closed_at")?)?,
                })
            }

            fn document_from_row(row: &DbRow) -> Result<Document, StoreError> {
                let status: String = get(row, "status")?;
                let sha256: Option<String> = get(row, "sha256")?;
                let content = match status.as_str() {
                    "pending" => DocumentContent::Pending,
                    "stored" => {
                        let size: Option<i64> = get(row, "size")?;
                        let sha3: Option<String> = get(row, "sha3_256")?;
                        let blob: Option<String> = get(row, "blob_key")?;
                        let stored_at: Option<i64> = get(row, "stored_at")?;
                        DocumentContent::Stored(StoredContent {
                            blob: BlobKey::from_stored(blob.ok_or_else(|| corrupt("blob_key"))?),
                            size: u64::try_from(size.ok_or_else(|| corrupt("size"))?).map_err(corrupt)?,
                            sha256: parse("sha256", &sha256.ok_or_else(|| corrupt("sha256"))?)?,
                            sha3_256: parse("sha3_256", &sha3.ok_or_else(|| corrupt("sha3_256"))?)?,
                            content_type: get::<Option<String>>(row, "content_type")?.unwrap_or_default(),
                            stored_at: from_micros(stored_at.ok_or_else(|| corrupt("stored_at"))?)?,
                        })
                    }
                    "deleted" => DocumentContent::Deleted {
                        sha256: sha256.map(|s| parse("sha256", &s)).transpose()?,
                    },
                    other => return Err(corrupt(format!("documents.status = {other:?}"))),
                };
                let derived: Option<String> = get(row, "derived_from")?;
                Ok(Document {
                    id: parse("documents.id", &get::<String>(row, "id")?)?,
                    position: u32::try_from(get::<i64>(row, "position")?).map_err(corrupt)?,
                    name: parse("documents.name", &get::<String>(row, "name")?)?,
                    content,
                    derived_from: derived.map(|d| parse("derived_from", &d)).transpose()?,
                })
            }

            fn participant_from_row(row: &DbRow) -> Result<Participant, StoreError> {
                let e164: Option<String> = get(row, "phone_e164")?;
                let phone = match e164 {
                    Some(e164) => Some(Phone::from_stored(
                        e164,
                        get::<Option<String>>(row, "phone_country")?.unwrap_or_default(),
                        get::<Option<String>>(row, "phone_national")?.unwrap_or_default(),
                    )),
                    None => None,
                };
                Ok(Participant {
                    id: parse("participants.id", &get::<String>(row, "id")?)?,
                    sequence: u32::try_from(get::<i64>(row, "sequence")?).map_err(corrupt)?,
                    role: role_from_text(&get::<String>(row, "role")?)?,
                    email: parse("participants.email", &get::<String>(row, "email")?)?,
                    phone,
                    auth: auth_from_text(&get::<String>(row, "auth")?)?,
                    secret_answer_hash: get(row, "secret_answer_hash")?,
                    authenticated_at: opt_from_micros(get(row, "authenticated_at")?)?,
                    completed_at: opt_from_micros(get(row, "completed_at")?)?,
                })
            }

            fn contact_from_row(row: &DbRow) -> Result<Contact, StoreError> {
                let cell = match get::<Option<String>>(row, "cell_e164")? {
                    Some(e164) => Some(CellContact {
                        phone: Phone::from_stored(
                            e164,
                            get::<Option<String>>(row, "cell_country")?.unwrap_or_default(),
                            get::<Option<String>>(row, "cell_national")?.unwrap_or_default(),
                        ),
                        method: auth_from_text(
                            &get::<Option<String>>(row, "cell_method")?.unwrap_or_default(),
                        )?,
                    }),
                    None => None,
                };
                let secret = match (
                    get::<Option<String>>(row, "secret_question")?,
                    get::<Option<String>>(row, "secret_ref")?,
                    get::<Option<String>>(row, "secret_hash")?,
                ) {
                    (Some(question), Some(answer_ref), Some(answer_hash)) => Some(SecretContact {
                        question,
                        answer_ref,
                        answer_hash,
                    }),
                    _ => None,
                };
                Ok(Contact {
                    tenant_id: parse("contacts.tenant_id", &get::<String>(row, "tenant_id")?)?,
                    email: parse("contacts.email", &get::<String>(row, "email")?)?,
                    language: parse("contacts.language", &get::<String>(row, "language")?)?,
                    cell,
                    secret,
                    updated_at: from_micros(get(row, "updated_at")?)?,
                })
            }

            fn event_from_row(row: &DbRow) -> Result<Event, StoreError> {
                let record: String = get(row, "record")?;
                serde_json::from_str(&record).map_err(corrupt)
            }

            /// Appends events to the log: the ledger row lock orders concurrent writers, so the
            /// sequence numbers are gap-free and in commit order.
            async fn append_events(tx: &mut Tx, events: &[Event]) -> Result<(), StoreError> {
                if events.is_empty() {
                    return Ok(());
                }
                let count = i64::try_from(events.len()).map_err(corrupt)?;
                let size: i64 = sqlx::query_scalar(
                    "UPDATE ledger_state SET size = size + $1 WHERE id = 1 RETURNING size",
                )
                .bind(count)
                .fetch_one(&mut **tx)
                .await
                .map_err(unexpected)?;
                let first = size - count;
                let mut leaf_hashes = Vec::with_capacity(events.len());
                for (offset, event) in (first..).zip(events) {
                    let record = serde_json::to_string(event).map_err(corrupt)?;
                    let leaf_hash = signet_core::evidence::leaf_hash_of_record(&record);
                    leaf_hashes.push(leaf_hash);
                    sqlx::query(
                        "INSERT INTO events (seq, id, tenant_id, envelope_id, kind, at, record, leaf_hash) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(offset)
                    .bind(event.id.to_string())
                    .bind(event.tenant_id.to_upper_hex())
                    .bind(event.envelope_id.map(|e| e.to_string()))
                    .bind(event.kind.as_str())
                    .bind(micros(event.at))
                    .bind(record)
                    .bind(hex::encode(leaf_hash))
                    .execute(&mut **tx)
                    .await
                    .map_err(unexpected)?;
                }
                integrate_leaves(tx, u64::try_from(first).map_err(corrupt)?, &leaf_hashes).await
            }

            /// Adds the new leaves' perfect-subtree nodes, in the transaction that appends them.
            async fn integrate_leaves(tx: &mut Tx, size: u64, leaf_hashes: &[[u8; 32]]) -> Result<(), StoreError> {
                let count = u64::try_from(leaf_hashes.len()).map_err(corrupt)?;
                let needed = signet_ledger::nodes_needed_for_append_batch(size, count);
                let known = fetch_nodes(&mut **tx, &needed).await?;
                let new_nodes = signet_ledger::append_batch(size, leaf_hashes, &known)
                    .map_err(|e| StoreError::Unexpected(anyhow::anyhow!("ledger append: {e}")))?;
                for chunk in new_nodes.chunks(200) {
                    let mut sql = String::from("INSERT INTO ledger_nodes (level, idx, hash) VALUES ");
                    for i in 0..chunk.len() {
                        if i > 0 {
                            sql.push_str(", ");
                        }
                        sql.push_str(&format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
                    }
                    let mut query = sqlx::query(&sql);
                    for (id, hash) in chunk {
                        query = query
                            .bind(i64::from(id.level))
                            .bind(i64::try_from(id.index).map_err(corrupt)?)
                            .bind(hex::encode(hash));
                    }
                    query.execute(&mut **tx).await.map_err(unexpected)?;
                }
                Ok(())
            }

            async fn fetch_nodes<'e, E>(executor: E, ids: &[signet_ledger::NodeId]) -> Result<std::collections::HashMap<signet_ledger::NodeId, [u8; 32]>, StoreError>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let mut found = std::collections::HashMap::new();
                if ids.is_empty() {
                    return Ok(found);
                }
                let mut sql = String::from("SELECT level, idx, hash FROM ledger_nodes WHERE ");
                for i in 0..ids.len() {
                    if i > 0 {
                        sql.push_str(" OR ");
                    }
                    sql.push_str(&format!("(level = ${} AND idx = ${})", 2 * i + 1, 2 * i + 2));
                }
                let mut query = sqlx::query(&sql);
                for id in ids {
                    query = query.bind(i64::from(id.level)).bind(i64::try_from(id.index).map_err(corrupt)?);
                }
                for row in query.fetch_all(executor).await.map_err(unexpected)? {
                    let level = u8::try_from(get::<i64>(&row, "level")?).map_err(corrupt)?;
                    let index = u64::try_from(get::<i64>(&row, "idx")?).map_err(corrupt)?;
                    found.insert(signet_ledger::NodeId { level, index }, hash_from_hex(&get::<String>(&row, "hash")?)?);
                }
                Ok(found)
            }

            fn hash_from_hex(text: &str) -> Result<[u8; 32], StoreError> {
                hex::decode(text)
                    .map_err(corrupt)?
                    .try_into()
                    .map_err(|_| corrupt("hash length"))
            }

            async fn insert_jobs(tx: &mut Tx, jobs: &[signet_core::jobs::NewJob], now: OffsetDateTime) -> Result<(), StoreError> {
                for job in jobs {
                    let payload = serde_json::to_string(&job.kind).map_err(corrupt)?;
                    sqlx::query(
                        "INSERT INTO jobs (id, kind, payload, dedupe_key, state, run_at, attempts, max_attempts, created_at) \
                         VALUES ($1, $2, $3, $4, 'pending', $5, 0, $6, $7) \
                         ON CONFLICT (dedupe_key) WHERE state IN ('pending', 'running') DO NOTHING",
                    )
                    .bind(&job.id)
                    .bind(job.kind.name())
                    .bind(payload)
                    .bind(job.dedupe_key.clone())
                    .bind(micros(job.run_at))
                    .bind(i64::from(job.kind.max_attempts()))
                    .bind(micros(now))
                    .execute(&mut **tx)
                    .await
                    .map_err(unexpected)?;
                }
                Ok(())
            }

            fn job_from_row(row: &DbRow) -> Result<signet_core::jobs::Job, StoreError> {
                let state: String = get(row, "state")?;
                Ok(signet_core::jobs::Job {
                    id: get(row, "id")?,
                    kind: serde_json::from_str(&get::<String>(row, "payload")?).map_err(corrupt)?,
                    state: signet_core::jobs::JobState::parse(&state).ok_or_else(|| corrupt(&state))?,
                    attempts: u32::try_from(get::<i64>(row, "attempts")?).map_err(corrupt)?,
                    run_at: from_micros(get(row, "run_at")?)?,
                    last_error: get(row, "last_error")?,
                })
            }

            async fn write_documents(tx: &mut Tx, aggregate: &EnvelopeAggregate, insert: bool) -> Result<(), StoreError> {
                let envelope = &aggregate.envelope;
                for doc in &aggregate.documents {
                    let (status, blob, size, sha256, sha3, content_type, stored_at) = match &doc.content {
                        DocumentContent::Pending => ("pending", None, None, None, None, None, None),
                        DocumentContent::Stored(c) => (
                            "stored",
                            Some(c.blob.as_str().to_owned()),
                            Some(i64::try_from(c.size).map_err(corrupt)?),
                            Some(c.sha256.to_hex()),
                            Some(c.sha3_256.to_hex()),
                            Some(c.content_type.clone()),
                            Some(micros(c.stored_at)),
                        ),
                        DocumentContent::Deleted { sha256 } => {
                            ("deleted", None, None, sha256.map(|d| d.to_hex()), None, None, None)
                        }
                        other => return Err(corrupt(format!("document content {other:?} has no column mapping"))),
                    };
                    let sql = if insert {
                        "INSERT INTO documents (id, envelope_id, tenant_id, position, name, status, blob_key, \
                         size, sha256, sha3_256, content_type, stored_at, derived_from) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                    } else {
                        "UPDATE documents SET position = $4, name = $5, status = $6, blob_key = $7, \
                         size = $8, sha256 = $9, sha3_256 = $10, content_type = $11, stored_at = $12, \
                         derived_from = $13 WHERE id = $1 AND envelope_id = $2 AND tenant_id = $3"
                    };
                    sqlx::query(sql)
                        .bind(doc.id.to_string())
                        .bind(envelope.id.to_string())
                        .bind(envelope.tenant_id.to_upper_hex())
                        .bind(i64::from(doc.position))
                        .bind(doc.name.as_str())
                        .bind(status)
                        .bind(blob)
                        .bind(size)
                        .bind(sha256)
                        .bind(sha3)
                        .bind(content_type)
                        .bind(stored_at)
                        .bind(doc.derived_from.map(|d| d.to_string()))
                        .execute(&mut **tx)
                        .await
                        .map_err(unexpected)?;
                }
                Ok(())
            }

            async fn write_participants(tx: &mut Tx, aggregate: &EnvelopeAggregate, insert: bool) -> Result<(), StoreError> {
                let envelope = &aggregate.envelope;
                for (position, p) in aggregate.participants.iter().enumerate() {
                    let sql = if insert {
                        "INSERT INTO participants (id, envelope_id, tenant_id, sequence, role, email, \
                         phone_e164, phone_country, phone_national, auth, secret_answer_hash, \
                         authenticated_at, completed_at, position) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                    } else {
                        "UPDATE participants SET sequence = $4, role = $5, email = $6, phone_e164 = $7, \
                         phone_country = $8, phone_national = $9, auth = $10, secret_answer_hash = $11, \
                         authenticated_at = $12, completed_at = $13, position = $14 \
                         WHERE id = $1 AND envelope_id = $2 AND tenant_id = $3"
                    };
                    sqlx::query(sql)
                        .bind(p.id.to_string())
                        .bind(envelope.id.to_string())
                        .bind(envelope.tenant_id.to_upper_hex())
                        .bind(i64::from(p.sequence))
                        .bind(role_text(p.role))
                        .bind(p.email.as_str())
                        .bind(p.phone.as_ref().map(|ph| ph.e164().to_owned()))
                        .bind(p.phone.as_ref().map(|ph| ph.iso_country().to_owned()))
                        .bind(p.phone.as_ref().map(|ph| ph.national().to_owned()))
                        .bind(p.auth.as_str())
                        .bind(p.secret_answer_hash.clone())
                        .bind(p.authenticated_at.map(micros))
                        .bind(p.completed_at.map(micros))
                        .bind(i64::try_from(position).map_err(corrupt)?)
                        .execute(&mut **tx)
                        .await
                        .map_err(unexpected)?;
                }
                Ok(())
            }

            impl $store {
                async fn load_envelope(&self, envelope_row: Option<DbRow>) -> Result<Option<EnvelopeAggregate>, StoreError> {
                    let Some(row) = envelope_row else {
                        return Ok(None);
                    };
                    let envelope = envelope_from_row(&row)?;
                    let id = envelope.id.to_string();
                    let documents = sqlx::query(&format!(
                        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE envelope_id = $1 ORDER BY position"
                    ))
                    .bind(&id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unexpected)?
                    .iter()
                    .map(document_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                    let participants = sqlx::query(&format!(
                        "SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE envelope_id = $1 ORDER BY position"
                    ))
                    .bind(&id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unexpected)?
                    .iter()
                    .map(participant_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                    Ok(Some(EnvelopeAggregate { envelope, documents, participants }))
                }
            }

            #[async_trait::async_trait]
            impl Store for $store {
                async fn insert_tenant(&self, tenant: &Tenant, events: &[Event]) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await.map_err(unexpected)?;
                    sqlx::query(
                        "INSERT INTO tenants (id, name, status, features, max_envelope_bytes, self_send, \
                         api_key_sealed, created_at, webhook) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(tenant.id.to_upper_hex())
                    .bind(&tenant.name)
                    .bind(status_text(tenant.status))
                    .bind(features_to_text(&tenant.plan.features))
                    .bind(i64::try_from(tenant.plan.max_envelope_bytes).unwrap_or(i64::MAX))
                    .bind(tenant.self_send)
                    .bind(&tenant.api_key_sealed)
                    .bind(micros(tenant.created_at))
                    .bind(tenant.webhook.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(unexpected)?;
                    append_events(&mut tx, events).await?;
                    tx.commit().await.map_err(unexpected)
                }

                async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
                    sqlx::query("SELECT * FROM tenants WHERE id = $1")
                        .bind(id.to_upper_hex())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unexpected)?
                        .as_ref()
                        .map(tenant_from_row)
                        .transpose()
                }

                async fn update_tenant(&self, tenant: &Tenant, events: &[Event]) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await.map_err(unexpected)?;
                    let done = sqlx::query(
                        "UPDATE tenants SET name = $2, status = $3, features = $4, max_envelope_bytes = $5, \
                         self_send = $6, api_key_sealed = $7, webhook = $8 WHERE id = $1",
                    )
                    .bind(tenant.id.to_upper_hex())
                    .bind(&tenant.name)
                    .bind(status_text(tenant.status))
                    .bind(features_to_text(&tenant.plan.features))
                    .bind(i64::try_from(tenant.plan.max_envelope_bytes).unwrap_or(i64::MAX))
                    .bind(tenant.self_send)
                    .bind(&tenant.api_key_sealed)
                    .bind(tenant.webhook.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(unexpected)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    append_events(&mut tx, events).await?;
                    tx.commit().await.map_err(unexpected)
                }

                async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
                    sqlx::query("SELECT * FROM tenants ORDER BY created_at, id")
                        .fetch_all(&self.pool)
                        .await
                        .map_err(unexpected)?
                        .iter()
                        .map(tenant_from_row)
                        .collect()
                }

                async fn claim_token_id(
                    &self,
                    tenant: &TenantId,
                    token_id: &str,
                    valid_until: OffsetDateTime,
                    now: OffsetDateTime,
                ) -> Result<bool, StoreError> {
                    // One statement: a new id is inserted; a known one is taken over only if it
                    // could no longer be valid. Expired rows are pruned by `prune_token_ids`.
                    let inserted = sqlx::query(
                        "INSERT INTO token_ids (tenant_id, token_id, valid_until) VALUES ($1, $2, $3) \
                         ON CONFLICT (tenant_id, token_id) DO UPDATE SET valid_until = excluded.valid_until \
                         WHERE token_ids.valid_until < $4",
                    )
                    .bind(tenant.to_upper_hex())
                    .bind(token_id)
                    .bind(micros(valid_until))
                    .bind(micros(now))
                    .execute(&self.pool)
                    .await
                    .map_err(unexpected)?;
                    Ok(inserted.rows_affected() == 1)
                }

                async fn prune_token_ids(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
                    let done = sqlx::query("DELETE FROM token_ids WHERE valid_until < $1")
                        .bind(micros(now))
                        .execute(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    Ok(done.rows_affected())
                }

                async fn insert_envelope(
                    &self,
                    aggregate: &EnvelopeAggregate,
                    links: &[AccessLink],
                    contacts: &[Contact],
                    events: &[Event],
                ) -> Result<(), StoreError> {
                    let e = &aggregate.envelope;
                    let mut tx = self.pool.begin().await.map_err(unexpected)?;
                    sqlx::query(&format!(
                        "INSERT INTO envelopes ({ENVELOPE_COLUMNS}) VALUES \
                         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                    ))
                    .bind(e.id.to_string())
                    .bind(e.tenant_id.to_upper_hex())
                    .bind(purpose_text(e.purpose))
                    .bind(e.state.as_str())
                    .bind(e.version)
                    .bind(e.sender_language.code())
                    .bind(e.participant_language.code())
                    .bind(i64::from(e.links.expiration_days))
                    .bind(e.links.reusable)
                    .bind(e.notify_events)
                    .bind(e.secret_question.clone())
                    .bind(micros(e.created_at))
                    .bind(micros(e.upload_deadline))
                    .bind(e.confirmed_at.map(micros))
                    .bind(e.expires_at.map(micros))
                    .bind(e.closed_at.map(micros))
                    .execute(&mut *tx)
                    .await
                    .map_err(unexpected)?;
                    write_documents(&mut tx, aggregate, true).await?;
                    write_participants(&mut tx, aggregate, true).await?;
                    for link in links {
                        sqlx::query(
                            "INSERT INTO access_links (id, envelope_id, participant_id, tenant_id, token_hash, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(link.id.to_string())
                        .bind(link.envelope_id.to_string())
                        .bind(link.participant_id.to_string())
                        .bind(e.tenant_id.to_upper_hex())
                        .bind(link.token_hash.to_hex())
                        .bind(micros(link.created_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    }
                    for c in contacts {
                        sqlx::query(&format!(
                            "INSERT INTO contacts ({CONTACT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                             ON CONFLICT (tenant_id, email) DO UPDATE SET language = $3, cell_e164 = $4, \
                             cell_country = $5, cell_national = $6, cell_method = $7, secret_question = $8, \
                             secret_ref = $9, secret_hash = $10, updated_at = $11"
                        ))
                        .bind(c.tenant_id.to_upper_hex())
                        .bind(c.email.as_str())
                        .bind(c.language.code())
                        .bind(c.cell.as_ref().map(|cell| cell.phone.e164().to_owned()))
                        .bind(c.cell.as_ref().map(|cell| cell.phone.iso_country().to_owned()))
                        .bind(c.cell.as_ref().map(|cell| cell.phone.national().to_owned()))
                        .bind(c.cell.as_ref().map(|cell| cell.method.as_str()))
                        .bind(c.secret.as_ref().map(|s| s.question.clone()))
                        .bind(c.secret.as_ref().map(|s| s.answer_ref.clone()))
                        .bind(c.secret.as_ref().map(|s| s.answer_hash.clone()))
                        .bind(micros(c.updated_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    }
                    append_events(&mut tx, events).await?;
                    tx.commit().await.map_err(unexpected)
                }

                async fn insert_access_links(&self, tenant: &TenantId, links: &[AccessLink]) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await.map_err(unexpected)?;
                    for link in links {
                        // The envelope must belong to the tenant: the insert selects it scoped.
                        let done = sqlx::query(
                            "INSERT INTO access_links (id, envelope_id, participant_id, tenant_id, token_hash, created_at) \
                             SELECT $1, e.id, $3, e.tenant_id, $5, $6 FROM envelopes e WHERE e.id = $2 AND e.tenant_id = $4",
                        )
                        .bind(link.id.to_string())
                        .bind(link.envelope_id.to_string())
                        .bind(link.participant_id.to_string())
                        .bind(tenant.to_upper_hex())
                        .bind(link.token_hash.to_hex())
                        .bind(micros(link.created_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                        if done.rows_affected() != 1 {
                            return Err(StoreError::NotFound);
                        }
                    }
                    tx.commit().await.map_err(unexpected)
                }

                async fn link_by_token(&self, token_hash: &signet_core::values::Sha256Digest) -> Result<Option<(TenantId, AccessLink, LinkGuard)>, StoreError> {
                    let Some(row) = sqlx::query(
                        "SELECT id, envelope_id, participant_id, tenant_id, token_hash, created_at, failed_attempts, \
                         locked_until, code_hmac, code_channel, code_expires_at, codes_sent, codes_window_start, \
                         sessions_started, opened_at, guard_version FROM access_links WHERE token_hash = $1",
                    )
                    .bind(token_hash.to_hex())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unexpected)?
                    else {
                        return Ok(None);
                    };
                    let tenant: TenantId = parse("access_links.tenant_id", &get::<String>(&row, "tenant_id")?)?;
                    let link = AccessLink {
                        id: parse("access_links.id", &get::<String>(&row, "id")?)?,
                        envelope_id: parse("access_links.envelope_id", &get::<String>(&row, "envelope_id")?)?,
                        participant_id: parse("access_links.participant_id", &get::<String>(&row, "participant_id")?)?,
                        token_hash: parse("access_links.token_hash", &get::<String>(&row, "token_hash")?)?,
                        created_at: from_micros(get(&row, "created_at")?)?,
                    };
                    let code = match (
                        get::<Option<String>>(&row, "code_hmac")?,
                        get::<Option<String>>(&row, "code_channel")?,
                        get::<Option<i64>>(&row, "code_expires_at")?,
                    ) {
                        (Some(hmac), Some(channel), Some(expires_at)) => Some(IssuedCode {
                            hmac: hash_from_hex(&hmac)?,
                            channel: auth_from_text(&channel)?,
                            expires_at: from_micros(expires_at)?,
                        }),
                        _ => None,
                    };
                    let guard = LinkGuard {
                        failed_attempts: u32::try_from(get::<i64>(&row, "failed_attempts")?).map_err(corrupt)?,
                        locked_until: opt_from_micros(get(&row, "locked_until")?)?,
                        code,
                        codes_sent: u32::try_from(get::<i64>(&row, "codes_sent")?).map_err(corrupt)?,
                        codes_window_start: opt_from_micros(get(&row, "codes_window_start")?)?,
                        sessions_started: u32::try_from(get::<i64>(&row, "sessions_started")?).map_err(corrupt)?,
                        opened_at: opt_from_micros(get(&row, "opened_at")?)?,
                        version: get(&row, "guard_version")?,
                    };
                    Ok(Some((tenant, link, guard)))
                }

                async fn save_link_guard(
                    &self,
                    tenant: &TenantId,
                    link: &signet_core::ids::LinkId,
                    guard: &LinkGuard,
                    session: Option<&PortalSession>,
                    events: &[Event],
                    jobs: &[signet_core::jobs::NewJob],
                ) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await.map_err(unexpected)?;
                    let done = sqlx::query(
                        "UPDATE access_links SET failed_attempts = $3, locked_until = $4, code_hmac = $5, \
                         code_channel = $6, code_expires_at = $7, codes_sent = $8, codes_window_start = $9, \
                         sessions_started = $10, opened_at = $11, guard_version = guard_version + 1 \
                         WHERE id = $1 AND tenant_id = $2 AND guard_version = $12",
                    )
                    .bind(link.to_string())
                    .bind(tenant.to_upper_hex())
                    .bind(i64::from(guard.failed_attempts))
                    .bind(guard.locked_until.map(micros))
                    .bind(guard.code.as_ref().map(|c| hex::encode(c.hmac)))
                    .bind(guard.code.as_ref().map(|c| c.channel.as_str()))
                    .bind(guard.code.as_ref().map(|c| micros(c.expires_at)))
                    .bind(i64::from(guard.codes_sent))
                    .bind(guard.codes_window_start.map(micros))
                    .bind(i64::from(guard.sessions_started))
                    .bind(guard.opened_at.map(micros))
                    .bind(guard.version)
                    .execute(&mut *tx)
                    .await
                    .map_err(unexpected)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::Conflict);
                    }
                    if let Some(session) = session {
                        sqlx::query(
                            "INSERT INTO portal_sessions (token_hash, link_id, tenant_id, created_at, expires_at) \
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(session.token_hash.to_hex())
                        .bind(session.link_id.to_string())
                        .bind(session.tenant_id.to_upper_hex())
                        .bind(micros(session.created_at))
                        .bind(micros(session.expires_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(unexpected)?;
                    }
                    append_events(&mut tx, events).await?;
                    insert_jobs(&mut tx, jobs, self.clock.now()).await?;
                    tx.commit().await.map_err(unexpected)
                }

                async fn portal_session(&self, token_hash: &signet_core::values::Sha256Digest) -> Result<Option<PortalSession>, StoreError> {
                    let Some(row) = sqlx::query(
                        "SELECT token_hash, link_id, tenant_id, created_at, expires_at FROM portal_sessions WHERE token_hash = $1",
                    )
                    .bind(token_hash.to_hex())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unexpected)?
                    else {
                        return Ok(None);
                    };
                    Ok(Some(PortalSession {
                        token_hash: parse("portal_sessions.token_hash", &get::<String>(&row, "token_hash")?)?,
                        link_id: parse("portal_sessions.link_id", &get::<String>(&row, "link_id")?)?,
                        tenant_id: parse("portal_sessions.tenant_id", &get::<String>(&row, "tenant_id")?)?,
                        created_at: from_micros(get(&row, "created_at")?)?,
                        expires_at: from_micros(get(&row, "expires_at")?)?,
                    }))
                }

                async fn prune_portal_sessions(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
                    let done = sqlx::query("DELETE FROM portal_sessions WHERE expires_at < $1")
                        .bind(micros(now))
                        .execute(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    Ok(done.rows_affected())
                }

                async fn envelope(&self, tenant: &TenantId, id: &EnvelopeId) -> Result<Option<EnvelopeAggregate>, StoreError> {
                    let row = sqlx::query(&format!(
                        "SELECT {ENVELOPE_COLUMNS} FROM envelopes WHERE id = $1 AND tenant_id = $2"
                    ))
                    .bind(id.to_string())
                    .bind(tenant.to_upper_hex())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unexpected)?;
                    self.load_envelope(row).await
                }

                async fn tenant_envelope_of_document(&self, tenant: &TenantId, document: &DocumentId) -> Result<Option<EnvelopeAggregate>, StoreError> {
                    let row = sqlx::query(&format!(
                        "SELECT {ENVELOPE_COLUMNS} FROM envelopes WHERE tenant_id = $2 AND id = \
                         (SELECT envelope_id FROM documents WHERE id = $1 AND tenant_id = $2)"
                    ))
                    .bind(document.to_string())
                    .bind(tenant.to_upper_hex())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unexpected)?;
                    self.load_envelope(row).await
                }

                async fn envelope_of_document(&self, document: &DocumentId) -> Result<Option<EnvelopeAggregate>, StoreError> {
                    let row = sqlx::query(&format!(
                        "SELECT {ENVELOPE_COLUMNS} FROM envelopes WHERE id = \
                         (SELECT envelope_id FROM documents WHERE id = $1)"
                    ))
                    .bind(document.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unexpected)?;
                    self.load_envelope(row).await
                }

                async fn record_upload(
                    &self,
                    tenant: &TenantId,
                    envelope: &EnvelopeId,
                    document: &DocumentId,
                    content: &StoredContent,
                    from: EnvelopeState,
                    to: EnvelopeState,
                    events: &[Event],
                ) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await.map_err(unexpected)?;
                    // The envelope row first, as every whole-envelope save does, so that
                    // concurrent writers lock in one order.
                    let moved = sqlx::query(
                        "UPDATE envelopes SET state = $3, version = version + 1 \
                         WHERE id = $1 AND tenant_id = $2 AND state = $4",
                    )
                    .bind(envelope.to_string())
                    .bind(tenant.to_upper_hex())
                    .bind(to.as_str())
                    .bind(from.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(unexpected)?;
                    if moved.rows_affected() == 0 {
                        return Err(StoreError::Conflict);
                    }
                    let stored = sqlx::query(
                        "UPDATE documents SET status = 'stored', blob_key = $4, size = $5, \
                         sha256 = $6, sha3_256 = $7, content_type = $8, stored_at = $9 \
                         WHERE id = $1 AND envelope_id = $2 AND tenant_id = $3 AND status = 'pending'",
                    )
                    .bind(document.to_string())
                    .bind(envelope.to_string())
                    .bind(tenant.to_upper_hex())
                    .bind(content.blob.as_str())
                    .bind(i64::try_from(content.size).map_err(corrupt)?)
                    .bind(content.sha256.to_hex())
                    .bind(content.sha3_256.to_hex())
                    .bind(&content.content_type)
                    .bind(micros(content.stored_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(unexpected)?;
                    if stored.rows_affected() == 0 {
                        return Err(StoreError::Conflict);
                    }
                    append_events(&mut tx, events).await?;
                    tx.commit().await.map_err(unexpected)
                }

                async fn save_envelope(&self, aggregate: &EnvelopeAggregate, events: &[Event], jobs: &[signet_core::jobs::NewJob]) -> Result<(), StoreError> {
                    let e = &aggregate.envelope;
                    let mut tx = self.pool.begin().await.map_err(unexpected)?;
                    let done = sqlx::query(
                        "UPDATE envelopes SET state = $3, version = version + 1, confirmed_at = $4, \
                         expires_at = $5, closed_at = $6, secret_question = $7 \
                         WHERE id = $1 AND tenant_id = $2 AND version = $8",
                    )
                    .bind(e.id.to_string())
                    .bind(e.tenant_id.to_upper_hex())
                    .bind(e.state.as_str())
                    .bind(e.confirmed_at.map(micros))
                    .bind(e.expires_at.map(micros))
                    .bind(e.closed_at.map(micros))
                    .bind(e.secret_question.clone())
                    .bind(e.version)
                    .execute(&mut *tx)
                    .await
                    .map_err(unexpected)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::Conflict);
                    }
                    write_documents(&mut tx, aggregate, false).await?;
                    write_participants(&mut tx, aggregate, false).await?;
                    append_events(&mut tx, events).await?;
                    insert_jobs(&mut tx, jobs, self.clock.now()).await?;
                    tx.commit().await.map_err(unexpected)
                }

                async fn contact(&self, tenant: &TenantId, email: &Email) -> Result<Option<Contact>, StoreError> {
                    sqlx::query(&format!(
                        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE tenant_id = $1 AND email = $2"
                    ))
                    .bind(tenant.to_upper_hex())
                    .bind(email.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unexpected)?
                    .as_ref()
                    .map(contact_from_row)
                    .transpose()
                }

                async fn contact_by_secret_ref(&self, tenant: &TenantId, answer_ref: &str) -> Result<Option<Contact>, StoreError> {
                    sqlx::query(&format!(
                        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE tenant_id = $1 AND secret_ref = $2"
                    ))
                    .bind(tenant.to_upper_hex())
                    .bind(answer_ref)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(unexpected)?
                    .as_ref()
                    .map(contact_from_row)
                    .transpose()
                }

                async fn append_events(&self, events: &[Event]) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await.map_err(unexpected)?;
                    append_events(&mut tx, events).await?;
                    tx.commit().await.map_err(unexpected)
                }

                async fn append_events_with_jobs(&self, events: &[Event], jobs: &[signet_core::jobs::NewJob]) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await.map_err(unexpected)?;
                    append_events(&mut tx, events).await?;
                    insert_jobs(&mut tx, jobs, self.clock.now()).await?;
                    tx.commit().await.map_err(unexpected)
                }

                async fn envelope_events(&self, tenant: &TenantId, envelope: &EnvelopeId) -> Result<Vec<Event>, StoreError> {
                    sqlx::query("SELECT record FROM events WHERE tenant_id = $1 AND envelope_id = $2 ORDER BY seq")
                        .bind(tenant.to_upper_hex())
                        .bind(envelope.to_string())
                        .fetch_all(&self.pool)
                        .await
                        .map_err(unexpected)?
                        .iter()
                        .map(event_from_row)
                        .collect()
                }

                async fn ledger_leaves(&self, start: u64, end: u64) -> Result<Vec<LedgerLeaf>, StoreError> {
                    let rows = sqlx::query("SELECT seq, leaf_hash FROM events WHERE seq >= $1 AND seq < $2 ORDER BY seq")
                        .bind(i64::try_from(start).unwrap_or(i64::MAX))
                        .bind(i64::try_from(end).unwrap_or(i64::MAX))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    rows.iter()
                        .map(|row| {
                            let hash: String = get(row, "leaf_hash")?;
                            let bytes = hex::decode(&hash).map_err(corrupt)?;
                            Ok(LedgerLeaf {
                                index: u64::try_from(get::<i64>(row, "seq")?).map_err(corrupt)?,
                                leaf_hash: bytes.try_into().map_err(|_| corrupt("leaf_hash length"))?,
                            })
                        })
                        .collect()
                }

                async fn ledger_size(&self) -> Result<u64, StoreError> {
                    let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_state WHERE id = 1")
                        .fetch_one(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    u64::try_from(size).map_err(corrupt)
                }

                async fn ledger_nodes(&self, ids: &[signet_ledger::NodeId]) -> Result<std::collections::HashMap<signet_ledger::NodeId, [u8; 32]>, StoreError> {
                    let mut all = std::collections::HashMap::new();
                    for chunk in ids.chunks(200) {
                        all.extend(fetch_nodes(&self.pool, chunk).await?);
                    }
                    Ok(all)
                }

                async fn ledger_level(&self, level: u8, start: u64, end: u64) -> Result<Vec<(u64, [u8; 32])>, StoreError> {
                    let rows = sqlx::query("SELECT idx, hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx")
                        .bind(i64::from(level))
                        .bind(i64::try_from(start).unwrap_or(i64::MAX))
                        .bind(i64::try_from(end).unwrap_or(i64::MAX))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    rows.iter()
                        .map(|row| Ok((u64::try_from(get::<i64>(row, "idx")?).map_err(corrupt)?, hash_from_hex(&get::<String>(row, "hash")?)?)))
                        .collect()
                }

                async fn leaf_index(&self, leaf_hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
                    let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM events WHERE leaf_hash = $1")
                        .bind(hex::encode(leaf_hash))
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    seq.map(|s| u64::try_from(s).map_err(corrupt)).transpose()
                }

                async fn ledger_records(&self, start: u64, end: u64) -> Result<Vec<(LedgerLeaf, String)>, StoreError> {
                    let rows = sqlx::query("SELECT seq, record, leaf_hash FROM events WHERE seq >= $1 AND seq < $2 ORDER BY seq")
                        .bind(i64::try_from(start).unwrap_or(i64::MAX))
                        .bind(i64::try_from(end).unwrap_or(i64::MAX))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    rows.iter()
                        .map(|row| {
                            let leaf = LedgerLeaf {
                                index: u64::try_from(get::<i64>(row, "seq")?).map_err(corrupt)?,
                                leaf_hash: hash_from_hex(&get::<String>(row, "leaf_hash")?)?,
                            };
                            Ok((leaf, get::<String>(row, "record")?))
                        })
                        .collect()
                }

                async fn latest_tree_head(&self) -> Result<Option<signet_core::store::StoredTreeHead>, StoreError> {
                    let row = sqlx::query("SELECT tree_size, root_hash, checkpoint, created_at FROM ledger_heads ORDER BY tree_size DESC LIMIT 1")
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    row.map(|row| {
                        Ok(signet_core::store::StoredTreeHead {
                            tree_size: u64::try_from(get::<i64>(&row, "tree_size")?).map_err(corrupt)?,
                            root_hash: hash_from_hex(&get::<String>(&row, "root_hash")?)?,
                            checkpoint: get(&row, "checkpoint")?,
                            created_at: from_micros(get(&row, "created_at")?)?,
                        })
                    })
                    .transpose()
                }

                async fn insert_tree_head(&self, head: &signet_core::store::StoredTreeHead) -> Result<(), StoreError> {
                    sqlx::query("INSERT INTO ledger_heads (tree_size, root_hash, checkpoint, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING")
                        .bind(i64::try_from(head.tree_size).map_err(corrupt)?)
                        .bind(hex::encode(head.root_hash))
                        .bind(&head.checkpoint)
                        .bind(micros(head.created_at))
                        .execute(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn instance_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
                    sqlx::query_scalar("SELECT sealed FROM instance_secrets WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(unexpected)
                }

                async fn insert_instance_secret(&self, name: &str, sealed: &[u8], now: OffsetDateTime) -> Result<Vec<u8>, StoreError> {
                    sqlx::query("INSERT INTO instance_secrets (name, sealed, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
                        .bind(name)
                        .bind(sealed)
                        .bind(micros(now))
                        .execute(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    self.instance_secret(name).await?.ok_or(StoreError::NotFound)
                }

                async fn replace_instance_secret(&self, name: &str, sealed: &[u8], now: OffsetDateTime) -> Result<(), StoreError> {
                    sqlx::query("INSERT INTO instance_secrets (name, sealed, created_at) VALUES ($1, $2, $3) \
                                 ON CONFLICT (name) DO UPDATE SET sealed = $2, created_at = $3")
                        .bind(name)
                        .bind(sealed)
                        .bind(micros(now))
                        .execute(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn envelopes_with_document_hash(&self, tenant: &TenantId, digest_hex: &str) -> Result<Vec<EnvelopeAggregate>, StoreError> {
                    let digest = digest_hex.to_ascii_lowercase();
                    let rows = sqlx::query(&format!(
                        "SELECT {ENVELOPE_COLUMNS} FROM envelopes WHERE tenant_id = $1 AND id IN \
                         (SELECT envelope_id FROM documents WHERE tenant_id = $1 AND (sha256 = $2 OR sha3_256 = $2)) \
                         ORDER BY created_at"
                    ))
                    .bind(tenant.to_upper_hex())
                    .bind(digest)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unexpected)?;
                    let mut out = Vec::with_capacity(rows.len());
                    for row in rows {
                        if let Some(aggregate) = self.load_envelope(Some(row)).await? {
                            out.push(aggregate);
                        }
                    }
                    Ok(out)
                }

                async fn enqueue_jobs(&self, jobs: &[signet_core::jobs::NewJob]) -> Result<(), StoreError> {
                    let mut tx = self.pool.begin().await.map_err(unexpected)?;
                    insert_jobs(&mut tx, jobs, self.clock.now()).await?;
                    tx.commit().await.map_err(unexpected)
                }

                async fn claim_jobs(&self, worker: &str, now: OffsetDateTime, lease_until: OffsetDateTime, limit: u32) -> Result<Vec<signet_core::jobs::Job>, StoreError> {
                    let sql = format!(
                        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $2, worker = $3 \
                         WHERE id IN (SELECT id FROM jobs WHERE (state = 'pending' AND run_at <= $1) \
                         OR (state = 'running' AND lease_until < $1) ORDER BY run_at LIMIT $4{}) \
                         RETURNING id, payload, state, attempts, run_at, last_error",
                        $claim_lock
                    );
                    sqlx::query(&sql)
                        .bind(micros(now))
                        .bind(micros(lease_until))
                        .bind(worker)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(unexpected)?
                        .iter()
                        .map(job_from_row)
                        .collect()
                }

                async fn renew_job_leases(&self, worker: &str, lease_until: OffsetDateTime) -> Result<u64, StoreError> {
                    // A job another worker took over has that worker's name: it is not renewed.
                    let done = sqlx::query("UPDATE jobs SET lease_until = $2 WHERE state = 'running' AND worker = $1")
                        .bind(worker)
                        .bind(micros(lease_until))
                        .execute(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    Ok(done.rows_affected())
                }

                async fn complete_job(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
                    sqlx::query("UPDATE jobs SET state = 'done', finished_at = $2, lease_until = NULL WHERE id = $1")
                        .bind(id)
                        .bind(micros(now))
                        .execute(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn fail_job(&self, id: &str, error: &str, retry_at: Option<OffsetDateTime>) -> Result<(), StoreError> {
                    let (state, run_at) = match retry_at {
                        Some(at) => ("pending", Some(micros(at))),
                        None => ("dead", None),
                    };
                    sqlx::query("UPDATE jobs SET state = $2, run_at = COALESCE($3, run_at), last_error = $4, lease_until = NULL WHERE id = $1")
                        .bind(id)
                        .bind(state)
                        .bind(run_at)
                        .bind(error)
                        .execute(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    Ok(())
                }

                async fn jobs_in_state(&self, state: signet_core::jobs::JobState, limit: u32) -> Result<Vec<signet_core::jobs::Job>, StoreError> {
                    sqlx::query("SELECT id, payload, state, attempts, run_at, last_error FROM jobs WHERE state = $1 ORDER BY run_at, id LIMIT $2")
                        .bind(state.as_str())
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(unexpected)?
                        .iter()
                        .map(job_from_row)
                        .collect()
                }

                async fn replay_job(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
                    // Not while another job with its dedupe key is live: that one does the work.
                    let done = sqlx::query(
                        "UPDATE jobs SET state = 'pending', run_at = $2, attempts = 0 WHERE id = $1 AND state = 'dead' \
                         AND NOT EXISTS (SELECT 1 FROM jobs AS live WHERE live.dedupe_key = jobs.dedupe_key \
                         AND live.state IN ('pending', 'running'))",
                    )
                        .bind(id)
                        .bind(micros(now))
                        .execute(&self.pool)
                        .await
                        .map_err(unexpected)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn stored_documents(
                    &self,
                    after: Option<&DocumentId>,
                    limit: u32,
                ) -> Result<Vec<(TenantId, Document)>, StoreError> {
                    sqlx::query(&format!(
                        "SELECT tenant_id, {DOCUMENT_COLUMNS} FROM documents \
                         WHERE status = 'stored' AND id > $1 ORDER BY id LIMIT $2"
                    ))
                    .bind(after.map(ToString::to_string).unwrap_or_default())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(unexpected)?
                    .iter()
                    .map(|row| {
                        let tenant = parse("documents.tenant_id", &get::<String>(row, "tenant_id")?)?;
                        Ok((tenant, document_from_row(row)?))
                    })
                    .collect()
                }

                async fn check_integrity(&self) -> Result<(), StoreError> {
                    self.integrity_check().await?;
                    let (count, max, size): (i64, Option<i64>, i64) = sqlx::query_as(
                        "SELECT (SELECT count(*) FROM events), (SELECT max(seq) FROM events), \
                         (SELECT size FROM ledger_state WHERE id = 1)",
                    )
                    .fetch_one(&self.pool)
                    .await
                    .map_err(unexpected)?;
                    if count != size || max.map_or(0, |m| m + 1) != size {
                        return Err(anyhow::anyhow!(
                            "event sequence broken: {count} events, max seq {max:?}, ledger size {size}"
                        )
                        .into());
                    }
                    Ok(())
                }
            }
        };
    };
}

pub(crate) use sql_store;
