//! [`FolderStore`]: folders, registered documents, their history, id aliases and sender callbacks.

use async_trait::async_trait;
use signet_core::ids::{EnvelopeId, FolderId, RegisteredDocumentId, TenantId};
use signet_core::model::Event;
use signet_core::signing::folders::{
    ApiSession, Folder, HistoryEntry, OnBehalfOf, RegisteredDocument, SenderCallbacks,
};
use signet_core::store::{FolderStore, StoreError};
use signet_core::values::Sha3Digest;
use time::OffsetDateTime;

use crate::SqlStore;
use crate::db::{Query, Row, Tx};
use crate::evidence::append_events;
use crate::rows::{corrupt, from_micros, hash_from_hex, micros, parse, to_i64};

fn folder_from_row(row: &Row, linked: Vec<FolderId>) -> Result<Folder, StoreError> {
    Ok(Folder {
        id: parse("folders.id", &row.get::<String>("id")?)?,
        tenant_id: parse("folders.tenant_id", &row.get::<String>("tenant_id")?)?,
        name: row.get("name")?,
        created_at: from_micros(row.get("created_at")?)?,
        linked,
        status: parse("folders.status", &row.get::<String>("status")?)?,
    })
}

async fn insert_history(tx: &mut Tx, history: &[HistoryEntry]) -> Result<(), StoreError> {
    for entry in history {
        tx.execute(
            Query::new(
                // Each subject's entries are numbered in the order they were written.
                "INSERT INTO folder_history (id, tenant_id, subject, ordinal, action, actor, at, \
                 leaf_hash) SELECT $1, $2, $3, COALESCE(MAX(ordinal), -1) + 1, $4, $5, $6, $7 \
                 FROM folder_history WHERE tenant_id = $2 AND subject = $3",
            )
            .bind(entry.event.to_string())
            .bind(entry.tenant_id.to_upper_hex())
            .bind(entry.subject.as_str())
            .bind(serde_json::to_string(&entry.action).map_err(corrupt)?)
            .bind(serde_json::to_string(&entry.actor).map_err(corrupt)?)
            .bind(micros(entry.at))
            .bind(hex::encode(entry.leaf_hash)),
        )
        .await?;
    }
    Ok(())
}

/// Inserts the document row and its first digest.
async fn insert_document(
    tx: &mut Tx,
    document: &RegisteredDocument,
    position: i64,
) -> Result<(), StoreError> {
    tx.execute(
        Query::new(
            "INSERT INTO registered_documents (id, tenant_id, folder_id, name, file_type, \
             sha3_256, status, created_at, library_document, position) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(document.id.to_string())
        .bind(document.tenant_id.to_upper_hex())
        .bind(document.folder_id.to_string())
        .bind(document.name.as_str())
        .bind(document.file_type.as_str())
        .bind(document.registered_digest().to_hex())
        .bind(document.status.as_str())
        .bind(micros(document.created_at))
        .bind(document.library.map(|d| d.to_string()))
        .bind(position),
    )
    .await?;
    write_children(tx, document).await
}

/// Adds the document's envelopes and digests not stored yet.
async fn write_children(tx: &mut Tx, document: &RegisteredDocument) -> Result<(), StoreError> {
    for (position, envelope) in document.envelopes.iter().enumerate() {
        tx.execute(
            Query::new(
                "INSERT INTO registered_document_envelopes (document_id, envelope_id, position) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(document.id.to_string())
            .bind(envelope.to_string())
            .bind(to_i64(position)?),
        )
        .await?;
    }
    for (position, digest) in document.digests.iter().enumerate() {
        tx.execute(
            Query::new(
                "INSERT INTO registered_document_digests (document_id, tenant_id, sha3_256, \
                 position) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(document.id.to_string())
            .bind(document.tenant_id.to_upper_hex())
            .bind(digest.to_hex())
            .bind(to_i64(position)?),
        )
        .await?;
    }
    Ok(())
}

impl SqlStore {
    async fn load_document(&self, row: &Row) -> Result<RegisteredDocument, StoreError> {
        let id: String = row.get("id")?;
        let envelopes = self
            .pool
            .fetch_all(
                Query::new(
                    "SELECT envelope_id FROM registered_document_envelopes \
                     WHERE document_id = $1 ORDER BY position",
                )
                .bind(id.as_str()),
            )
            .await?
            .iter()
            .map(|r| parse::<EnvelopeId>("envelope_id", &r.get::<String>("envelope_id")?))
            .collect::<Result<Vec<_>, _>>()?;
        let digests = self
            .pool
            .fetch_all(
                Query::new(
                    "SELECT sha3_256 FROM registered_document_digests \
                     WHERE document_id = $1 ORDER BY position",
                )
                .bind(id.as_str()),
            )
            .await?
            .iter()
            .map(|r| parse::<Sha3Digest>("sha3_256", &r.get::<String>("sha3_256")?))
            .collect::<Result<Vec<_>, _>>()?;
        if digests.is_empty() {
            return Err(corrupt(format!("registered document {id} has no digest")));
        }
        Ok(RegisteredDocument {
            id: parse("registered_documents.id", &id)?,
            tenant_id: parse(
                "registered_documents.tenant_id",
                &row.get::<String>("tenant_id")?,
            )?,
            folder_id: parse(
                "registered_documents.folder_id",
                &row.get::<String>("folder_id")?,
            )?,
            name: row.get("name")?,
            file_type: row.get("file_type")?,
            digests,
            status: parse("registered_documents.status", &row.get::<String>("status")?)?,
            created_at: from_micros(row.get("created_at")?)?,
            envelopes,
            library: row
                .get::<Option<String>>("library_document")?
                .map(|d| parse("registered_documents.library_document", &d))
                .transpose()?,
        })
    }

    async fn load_documents(&self, rows: Vec<Row>) -> Result<Vec<RegisteredDocument>, StoreError> {
        let mut documents = Vec::with_capacity(rows.len());
        for row in &rows {
            documents.push(self.load_document(row).await?);
        }
        Ok(documents)
    }
}

#[async_trait]
impl FolderStore for SqlStore {
    async fn insert_folder(
        &self,
        folder: &Folder,
        documents: &[RegisteredDocument],
        history: &[HistoryEntry],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        tx.execute(
            Query::new(
                "INSERT INTO folders (id, tenant_id, name, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(folder.id.to_string())
            .bind(folder.tenant_id.to_upper_hex())
            .bind(folder.name.as_str())
            .bind(folder.status.as_str())
            .bind(micros(folder.created_at)),
        )
        .await?;
        for (position, linked) in folder.linked.iter().enumerate() {
            tx.execute(
                Query::new(
                    "INSERT INTO folder_links (folder_id, linked_id, position) VALUES ($1, $2, $3)",
                )
                .bind(folder.id.to_string())
                .bind(linked.to_string())
                .bind(to_i64(position)?),
            )
            .await?;
        }
        for (position, document) in documents.iter().enumerate() {
            insert_document(&mut tx, document, to_i64(position)?).await?;
        }
        insert_history(&mut tx, history).await?;
        append_events(&mut tx, events).await?;
        tx.commit().await
    }

    async fn folder(&self, tenant: &TenantId, id: &FolderId) -> Result<Option<Folder>, StoreError> {
        let Some(row) = self
            .pool
            .fetch_optional(
                Query::new("SELECT * FROM folders WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_upper_hex())
                    .bind(id.to_string()),
            )
            .await?
        else {
            return Ok(None);
        };
        let linked = self
            .pool
            .fetch_all(
                Query::new(
                    "SELECT linked_id FROM folder_links WHERE folder_id = $1 ORDER BY position",
                )
                .bind(id.to_string()),
            )
            .await?
            .iter()
            .map(|r| parse::<FolderId>("linked_id", &r.get::<String>("linked_id")?))
            .collect::<Result<Vec<_>, _>>()?;
        folder_from_row(&row, linked).map(Some)
    }

    async fn folder_documents(
        &self,
        tenant: &TenantId,
        folder: &FolderId,
    ) -> Result<Vec<RegisteredDocument>, StoreError> {
        let rows = self
            .pool
            .fetch_all(
                Query::new(
                    "SELECT * FROM registered_documents WHERE tenant_id = $1 AND folder_id = $2 \
                     ORDER BY position, id",
                )
                .bind(tenant.to_upper_hex())
                .bind(folder.to_string()),
            )
            .await?;
        self.load_documents(rows).await
    }

    async fn insert_registered_document(
        &self,
        document: &RegisteredDocument,
        history: &[HistoryEntry],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let next: i64 = tx
            .fetch_one(
                Query::new(
                    "SELECT COALESCE(MAX(position), -1) + 1 AS next FROM registered_documents \
                     WHERE folder_id = $1",
                )
                .bind(document.folder_id.to_string()),
            )
            .await?
            .get("next")?;
        insert_document(&mut tx, document, next).await?;
        insert_history(&mut tx, history).await?;
        append_events(&mut tx, events).await?;
        tx.commit().await
    }

    async fn registered_document(
        &self,
        tenant: &TenantId,
        id: &RegisteredDocumentId,
    ) -> Result<Option<RegisteredDocument>, StoreError> {
        let Some(row) = self
            .pool
            .fetch_optional(
                Query::new("SELECT * FROM registered_documents WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_upper_hex())
                    .bind(id.to_string()),
            )
            .await?
        else {
            return Ok(None);
        };
        self.load_document(&row).await.map(Some)
    }

    async fn save_registered_document(
        &self,
        document: &RegisteredDocument,
        history: &[HistoryEntry],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed = tx
            .execute(
                Query::new(
                    "UPDATE registered_documents SET status = $3, library_document = $4 \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(document.tenant_id.to_upper_hex())
                .bind(document.id.to_string())
                .bind(document.status.as_str())
                .bind(document.library.map(|d| d.to_string())),
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        write_children(&mut tx, document).await?;
        insert_history(&mut tx, history).await?;
        append_events(&mut tx, events).await?;
        tx.commit().await
    }

    async fn registered_documents_with_digest(
        &self,
        tenant: &TenantId,
        digest: &Sha3Digest,
    ) -> Result<Vec<RegisteredDocument>, StoreError> {
        let rows = self
            .pool
            .fetch_all(
                Query::new(
                    "SELECT d.* FROM registered_documents d WHERE d.tenant_id = $1 AND d.id IN \
                     (SELECT document_id FROM registered_document_digests \
                      WHERE tenant_id = $1 AND sha3_256 = $2) ORDER BY d.created_at, d.id",
                )
                .bind(tenant.to_upper_hex())
                .bind(digest.to_hex()),
            )
            .await?;
        self.load_documents(rows).await
    }

    async fn registered_document_of_envelope(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
    ) -> Result<Option<RegisteredDocument>, StoreError> {
        let Some(row) = self
            .pool
            .fetch_optional(
                Query::new(
                    "SELECT d.* FROM registered_documents d \
                     JOIN registered_document_envelopes e ON e.document_id = d.id \
                     WHERE d.tenant_id = $1 AND e.envelope_id = $2",
                )
                .bind(tenant.to_upper_hex())
                .bind(envelope.to_string()),
            )
            .await?
        else {
            return Ok(None);
        };
        self.load_document(&row).await.map(Some)
    }

    async fn history(
        &self,
        tenant: &TenantId,
        subject: &str,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        self.pool
            .fetch_all(
                Query::new(
                    "SELECT * FROM folder_history WHERE tenant_id = $1 AND subject = $2 \
                     ORDER BY ordinal, id",
                )
                .bind(tenant.to_upper_hex())
                .bind(subject),
            )
            .await?
            .iter()
            .map(|row| {
                Ok(HistoryEntry {
                    event: parse("folder_history.id", &row.get::<String>("id")?)?,
                    tenant_id: *tenant,
                    subject: row.get("subject")?,
                    ordinal: row.get("ordinal")?,
                    action: serde_json::from_str(&row.get::<String>("action")?).map_err(corrupt)?,
                    actor: serde_json::from_str(&row.get::<String>("actor")?).map_err(corrupt)?,
                    at: from_micros(row.get("at")?)?,
                    leaf_hash: hash_from_hex(&row.get::<String>("leaf_hash")?)?,
                })
            })
            .collect()
    }

    async fn insert_aliases(
        &self,
        tenant: &TenantId,
        aliases: &[(String, String)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (alias, target) in aliases {
            tx.execute(
                Query::new(
                    "INSERT INTO id_aliases (tenant_id, alias, target) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(tenant.to_upper_hex())
                .bind(alias.as_str())
                .bind(target.as_str()),
            )
            .await?;
        }
        tx.commit().await
    }

    async fn resolve_alias(
        &self,
        tenant: &TenantId,
        alias: &str,
    ) -> Result<Option<String>, StoreError> {
        self.pool
            .fetch_optional(
                Query::new("SELECT target FROM id_aliases WHERE tenant_id = $1 AND alias = $2")
                    .bind(tenant.to_upper_hex())
                    .bind(alias),
            )
            .await?
            .map(|row| row.get("target"))
            .transpose()
    }

    async fn put_api_session(&self, session: &ApiSession) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        tx.execute(
            Query::new("DELETE FROM api_sessions WHERE token_digest = $1")
                .bind(session.token_digest.as_str()),
        )
        .await?;
        tx.execute(
            Query::new(
                "INSERT INTO api_sessions (token_digest, tenant_id, status_url, file_url, \
                 user_name, user_email, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(session.token_digest.as_str())
            .bind(session.tenant_id.to_upper_hex())
            .bind(session.callbacks.status_url.as_str())
            .bind(session.callbacks.file_url.as_str())
            .bind(session.on_behalf_of.name.clone())
            .bind(session.on_behalf_of.email.clone())
            .bind(micros(session.expires_at)),
        )
        .await?;
        tx.commit().await
    }

    async fn api_session(
        &self,
        token_digest: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ApiSession>, StoreError> {
        let Some(row) = self
            .pool
            .fetch_optional(
                Query::new(
                    "SELECT * FROM api_sessions WHERE token_digest = $1 AND expires_at > $2",
                )
                .bind(token_digest)
                .bind(micros(now)),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(ApiSession {
            token_digest: row.get("token_digest")?,
            tenant_id: parse("api_sessions.tenant_id", &row.get::<String>("tenant_id")?)?,
            callbacks: SenderCallbacks {
                status_url: row.get("status_url")?,
                file_url: row.get("file_url")?,
            },
            on_behalf_of: OnBehalfOf {
                name: row.get("user_name")?,
                email: row.get("user_email")?,
            },
            expires_at: from_micros(row.get("expires_at")?)?,
        }))
    }

    async fn put_envelope_callbacks(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
        callbacks: &SenderCallbacks,
    ) -> Result<(), StoreError> {
        self.pool
            .execute(
                Query::new(
                    "INSERT INTO envelope_callbacks (envelope_id, tenant_id, status_url, file_url) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (envelope_id) DO UPDATE SET \
                     status_url = excluded.status_url, file_url = excluded.file_url",
                )
                .bind(envelope.to_string())
                .bind(tenant.to_upper_hex())
                .bind(callbacks.status_url.as_str())
                .bind(callbacks.file_url.as_str()),
            )
            .await
            .map(|_| ())
    }

    async fn envelope_callbacks(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
    ) -> Result<Option<SenderCallbacks>, StoreError> {
        self.pool
            .fetch_optional(
                Query::new(
                    "SELECT status_url, file_url FROM envelope_callbacks \
                     WHERE tenant_id = $1 AND envelope_id = $2",
                )
                .bind(tenant.to_upper_hex())
                .bind(envelope.to_string()),
            )
            .await?
            .map(|row| {
                Ok(SenderCallbacks {
                    status_url: row.get("status_url")?,
                    file_url: row.get("file_url")?,
                })
            })
            .transpose()
    }
}
