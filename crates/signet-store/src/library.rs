//! [`LibraryStore`]: the tenant's document library.

use async_trait::async_trait;
use signet_core::blob::BlobKey;
use signet_core::ids::{DocumentId, TenantId};
use signet_core::jobs::NewJob;
use signet_core::model::Event;
use signet_core::signing::library::{LibraryDocument, StoredLibraryDocument};
use signet_core::store::{IdempotencyRecord, LibraryStore, StoreError};
use time::OffsetDateTime;

use crate::SqlStore;
use crate::db::{Query, Row, Tx};
use crate::evidence::append_events;
use crate::jobs::insert_jobs;
use crate::rows::{corrupt, from_i64, from_micros, from_word, micros, parse};

fn document_from_row(row: &Row) -> Result<StoredLibraryDocument, StoreError> {
    Ok(StoredLibraryDocument {
        document: LibraryDocument {
            id: parse("library_documents.id", &row.get::<String>("id")?)?,
            tenant_id: parse(
                "library_documents.tenant_id",
                &row.get::<String>("tenant_id")?,
            )?,
            name: parse("library_documents.name", &row.get::<String>("name")?)?,
            media_type: parse(
                "library_documents.media_type",
                &row.get::<String>("media_type")?,
            )?,
            size: from_i64(row.get("size")?)?,
            sha256: parse("library_documents.sha256", &row.get::<String>("sha256")?)?,
            sha3_256: parse(
                "library_documents.sha3_256",
                &row.get::<String>("sha3_256")?,
            )?,
            pages: row.get::<Option<i64>>("pages")?.map(from_i64).transpose()?,
            kind: from_word("library_documents.kind", &row.get::<String>("kind")?)?,
            derived_from: row
                .get::<Option<String>>("derived_from")?
                .map(|id| parse("library_documents.derived_from", &id))
                .transpose()?,
            created_at: from_micros(row.get("created_at")?)?,
        },
        blob: row
            .get::<Option<String>>("blob_key")?
            .map(BlobKey::from_stored),
        // No bytes and never deleted: they have not arrived yet.
        awaited: row.get::<Option<String>>("blob_key")?.is_none()
            && row.get::<Option<i64>>("deleted_at")?.is_none(),
    })
}

/// Records that `record`'s key made `resource`; [`StoreError::Duplicate`] if the key is taken.
pub(crate) async fn insert_idempotency_key(
    tx: &mut Tx,
    tenant: &TenantId,
    record: &IdempotencyRecord,
    resource: &str,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    tx.execute(
        Query::new(
            "INSERT INTO idempotency_keys (tenant_id, operation, idempotency_key, \
             request_digest, resource_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.to_upper_hex())
        .bind(record.operation)
        .bind(record.key.as_str())
        .bind(record.request_digest.as_str())
        .bind(resource.to_owned())
        .bind(micros(at)),
    )
    .await?;
    Ok(())
}

/// The insert of a library document's row.
pub(crate) fn insert_document_query(
    document: &LibraryDocument,
    blob: Option<&BlobKey>,
) -> Result<Query, StoreError> {
    Ok(Query::new(
        "INSERT INTO library_documents (id, tenant_id, name, media_type, size, sha256, \
         sha3_256, pages, kind, derived_from, blob_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(document.id.to_string())
    .bind(document.tenant_id.to_upper_hex())
    .bind(document.name.as_str())
    .bind(document.media_type.as_str())
    .bind(i64::try_from(document.size).map_err(corrupt)?)
    .bind(document.sha256.to_hex())
    .bind(document.sha3_256.to_hex())
    .bind(document.pages.map(i64::from))
    .bind(document.kind.as_str())
    .bind(document.derived_from.map(|id| id.to_string()))
    .bind(blob.map(|b| b.as_str().to_owned()))
    .bind(micros(document.created_at)))
}

#[async_trait]
impl LibraryStore for SqlStore {
    async fn insert_library_document(
        &self,
        document: &LibraryDocument,
        blob: &BlobKey,
        idempotency: Option<&IdempotencyRecord>,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let insert = insert_document_query(document, Some(blob))?;
        let mut tx = self.pool.begin().await?;
        if let Some(record) = idempotency {
            // First, so that a taken key stores nothing.
            insert_idempotency_key(
                &mut tx,
                &document.tenant_id,
                record,
                &document.id.to_string(),
                document.created_at,
            )
            .await?;
        }
        tx.execute(insert).await?;
        append_events(&mut tx, events).await?;
        tx.commit().await
    }

    async fn idempotent_resource(
        &self,
        tenant: &TenantId,
        operation: &str,
        key: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let Some(row) = self
            .pool
            .fetch_optional(
                Query::new(
                    "SELECT request_digest, resource_id FROM idempotency_keys \
                     WHERE tenant_id = $1 AND operation = $2 AND idempotency_key = $3",
                )
                .bind(tenant.to_upper_hex())
                .bind(operation)
                .bind(key),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((row.get("request_digest")?, row.get("resource_id")?)))
    }

    async fn library_document(
        &self,
        tenant: &TenantId,
        id: &DocumentId,
    ) -> Result<Option<StoredLibraryDocument>, StoreError> {
        self.pool
            .fetch_optional(
                Query::new("SELECT * FROM library_documents WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.to_upper_hex())
                    .bind(id.to_string()),
            )
            .await?
            .as_ref()
            .map(document_from_row)
            .transpose()
    }

    async fn library_document_by_sha256(
        &self,
        tenant: &TenantId,
        sha256: &signet_core::values::Sha256Digest,
    ) -> Result<Option<StoredLibraryDocument>, StoreError> {
        self.pool
            .fetch_optional(
                Query::new(
                    "SELECT * FROM library_documents WHERE tenant_id = $1 AND sha256 = $2 \
                     AND blob_key IS NOT NULL ORDER BY created_at DESC, id LIMIT 1",
                )
                .bind(tenant.to_upper_hex())
                .bind(sha256.to_hex()),
            )
            .await?
            .map(|row| document_from_row(&row))
            .transpose()
    }

    async fn insert_awaited_library_document(
        &self,
        document: &LibraryDocument,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let insert = insert_document_query(document, None)?;
        let mut tx = self.pool.begin().await?;
        tx.execute(insert).await?;
        append_events(&mut tx, events).await?;
        tx.commit().await
    }

    async fn fill_awaited_library_document(
        &self,
        document: &LibraryDocument,
        blob: &BlobKey,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let fill = Query::new(
            "UPDATE library_documents SET size = $3, sha256 = $4, pages = $5, blob_key = $6 \
             WHERE tenant_id = $1 AND id = $2 AND sha3_256 = $7 AND blob_key IS NULL \
             AND deleted_at IS NULL",
        )
        .bind(document.tenant_id.to_upper_hex())
        .bind(document.id.to_string())
        .bind(i64::try_from(document.size).map_err(corrupt)?)
        .bind(document.sha256.to_hex())
        .bind(document.pages.map(i64::from))
        .bind(blob.as_str())
        .bind(document.sha3_256.to_hex());
        let mut tx = self.pool.begin().await?;
        if tx.execute(fill).await? == 0 {
            return Err(StoreError::Conflict);
        }
        append_events(&mut tx, events).await?;
        tx.commit().await
    }

    async fn delete_library_document(
        &self,
        tenant: &TenantId,
        id: &DocumentId,
        now: OffsetDateTime,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError> {
        let forget = Query::new(
            "UPDATE library_documents SET blob_key = NULL, deleted_at = $3 \
             WHERE tenant_id = $1 AND id = $2 AND blob_key IS NOT NULL",
        )
        .bind(tenant.to_upper_hex())
        .bind(id.to_string())
        .bind(micros(now));
        let mut tx = self.pool.begin().await?;
        if tx.execute(forget).await? == 0 {
            return Err(StoreError::NotFound);
        }
        append_events(&mut tx, events).await?;
        insert_jobs(&mut tx, jobs, now).await?;
        tx.commit().await
    }
}
