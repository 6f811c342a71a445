//! [`DeliveryStore`]: envelopes (through [`crate::aggregate`]), uploads and contacts.

use async_trait::async_trait;
use signet_core::blob::BlobKey;
use signet_core::ids::{DocumentId, EnvelopeId, TenantId};
use signet_core::jobs::NewJob;
use signet_core::model::{
    AccessLink, CellContact, Contact, EnvelopeAggregate, EnvelopeState, Event, SecretContact,
    StoredContent, TokenClaim,
};
use signet_core::store::{DeliveryStore, StoreError};
use signet_core::values::{Email, Phone, Sha3Digest, Sha256Digest};
use time::OffsetDateTime;

use crate::SqlStore;
use crate::access::insert_links_statement;
use crate::aggregate::{self, select_envelopes};
use crate::db::{Query, Row};
use crate::evidence::{append_events, prepare_events};
use crate::jobs::insert_jobs;
use crate::rows::{auth_from_text, from_micros, micros, parse, to_i64};
use crate::tenants::TokenIdClaim;
use crate::writer::Write;

const CONTACT_COLUMNS: &str = "tenant_id, email, language, cell_e164, cell_country, \
    cell_national, cell_method, secret_question, secret_ref, secret_hash, updated_at";

fn contact_from_row(row: &Row) -> Result<Contact, StoreError> {
    let cell = match row.get::<Option<String>>("cell_e164")? {
        Some(e164) => Some(CellContact {
            phone: Phone::from_stored(
                e164,
                row.get::<Option<String>>("cell_country")?
                    .unwrap_or_default(),
                row.get::<Option<String>>("cell_national")?
                    .unwrap_or_default(),
            ),
            method: auth_from_text(
                &row.get::<Option<String>>("cell_method")?
                    .unwrap_or_default(),
            )?,
        }),
        None => None,
    };
    let secret = match (
        row.get::<Option<String>>("secret_question")?,
        row.get::<Option<String>>("secret_ref")?,
        row.get::<Option<String>>("secret_hash")?,
    ) {
        (Some(question), Some(answer_ref), Some(answer_hash)) => Some(SecretContact {
            question,
            answer_ref,
            answer_hash,
        }),
        _ => None,
    };
    Ok(Contact {
        tenant_id: parse("contacts.tenant_id", &row.get::<String>("tenant_id")?)?,
        email: parse("contacts.email", &row.get::<String>("email")?)?,
        language: parse("contacts.language", &row.get::<String>("language")?)?,
        cell,
        secret,
        updated_at: from_micros(row.get("updated_at")?)?,
    })
}

/// The statement creating or updating the tenant's contacts (`None` for none): language and time
/// are set, a cell or a secret replaces the stored one only when given (each is written whole or
/// not at all, so the columns of one are never mixed with another's), so a create needs no read
/// of the contacts first. The core hands each address once, as one statement may not update one
/// row twice.
fn upsert_contacts_statement(contacts: &[Contact]) -> Option<Query> {
    if contacts.is_empty() {
        return None;
    }
    let rows = contacts
        .iter()
        .map(|c| {
            let cell = c.cell.as_ref();
            let secret = c.secret.as_ref();
            vec![
                c.tenant_id.to_upper_hex().into(),
                c.email.as_str().into(),
                c.language.code().into(),
                cell.map(|cell| cell.phone.e164().to_owned()).into(),
                cell.map(|cell| cell.phone.iso_country().to_owned()).into(),
                cell.map(|cell| cell.phone.national().to_owned()).into(),
                cell.map(|cell| cell.method.as_str()).into(),
                secret.map(|s| s.question.clone()).into(),
                secret.map(|s| s.answer_ref.clone()).into(),
                secret.map(|s| s.answer_hash.clone()).into(),
                micros(c.updated_at).into(),
            ]
        })
        .collect();
    Some(Query::rows(
        &format!("INSERT INTO contacts ({CONTACT_COLUMNS})"),
        11,
        rows,
        " ON CONFLICT (tenant_id, email) DO UPDATE SET language = excluded.language, \
         cell_e164 = COALESCE(excluded.cell_e164, contacts.cell_e164), \
         cell_country = COALESCE(excluded.cell_country, contacts.cell_country), \
         cell_national = COALESCE(excluded.cell_national, contacts.cell_national), \
         cell_method = COALESCE(excluded.cell_method, contacts.cell_method), \
         secret_question = COALESCE(excluded.secret_question, contacts.secret_question), \
         secret_ref = COALESCE(excluded.secret_ref, contacts.secret_ref), \
         secret_hash = COALESCE(excluded.secret_hash, contacts.secret_hash), \
         updated_at = excluded.updated_at",
    ))
}

/// A new envelope as one write through the group-commit writer: three to five statements (one
/// per table) that run as one script on SQLite, the events appended with the rest of the
/// batch's; `guard` (a token id's claim) first, in the same transaction.
fn envelope_write(
    aggregate: &EnvelopeAggregate,
    links: &[AccessLink],
    contacts: &[Contact],
    events: &[Event],
    guard: Option<TokenIdClaim>,
) -> Result<Write, StoreError> {
    let mut statements = aggregate::insert_statements(aggregate)?;
    statements.extend(insert_links_statement(&aggregate.envelope.tenant_id, links));
    statements.extend(upsert_contacts_statement(contacts));
    Ok(Write {
        statements,
        events: prepare_events(events)?,
        together: true,
        guard,
    })
}

impl SqlStore {
    async fn one_contact(&self, select: Query) -> Result<Option<Contact>, StoreError> {
        self.pool
            .fetch_optional(select)
            .await?
            .as_ref()
            .map(contact_from_row)
            .transpose()
    }
}

#[async_trait]
impl DeliveryStore for SqlStore {
    async fn insert_envelope(
        &self,
        aggregate: &EnvelopeAggregate,
        links: &[AccessLink],
        contacts: &[Contact],
        events: &[Event],
    ) -> Result<(), StoreError> {
        self.writer
            .write(envelope_write(aggregate, links, contacts, events, None)?)
            .await?;
        Ok(())
    }

    async fn insert_envelope_claiming(
        &self,
        token: &TokenClaim,
        now: OffsetDateTime,
        aggregate: &EnvelopeAggregate,
        links: &[AccessLink],
        contacts: &[Contact],
        events: &[Event],
    ) -> Result<(), StoreError> {
        let claim = TokenIdClaim {
            tenant: aggregate.envelope.tenant_id,
            token_id: token.token_id.clone(),
            valid_until: token.valid_until,
            now,
        };
        self.writer
            .write(envelope_write(
                aggregate,
                links,
                contacts,
                events,
                Some(claim),
            )?)
            .await?;
        Ok(())
    }

    async fn envelope(
        &self,
        tenant: &TenantId,
        id: &EnvelopeId,
    ) -> Result<Option<EnvelopeAggregate>, StoreError> {
        let select = select_envelopes("id = $1 AND tenant_id = $2")
            .bind(id.to_string())
            .bind(tenant.to_upper_hex());
        aggregate::load_one(&self.pool, select).await
    }

    async fn envelope_of_document(
        &self,
        document: &DocumentId,
    ) -> Result<Option<EnvelopeAggregate>, StoreError> {
        // Whatever the tenant (see the port): the document's own row says which envelope.
        let select = select_envelopes("id = (SELECT envelope_id FROM documents WHERE id = $1)")
            .bind(document.to_string());
        aggregate::load_one(&self.pool, select).await
    }

    async fn tenant_envelope_of_document(
        &self,
        tenant: &TenantId,
        document: &DocumentId,
    ) -> Result<Option<EnvelopeAggregate>, StoreError> {
        let select = select_envelopes(
            "tenant_id = $2 AND id = \
             (SELECT envelope_id FROM documents WHERE id = $1 AND tenant_id = $2)",
        )
        .bind(document.to_string())
        .bind(tenant.to_upper_hex());
        aggregate::load_one(&self.pool, select).await
    }

    async fn envelopes_with_document_hash(
        &self,
        tenant: &TenantId,
        digest_hex: &str,
    ) -> Result<Vec<EnvelopeAggregate>, StoreError> {
        let select = select_envelopes(
            "tenant_id = $1 AND id IN (SELECT envelope_id FROM documents \
             WHERE tenant_id = $1 AND (sha256 = $2 OR sha3_256 = $2))",
        )
        .bind(tenant.to_upper_hex())
        .bind(digest_hex.to_ascii_lowercase());
        aggregate::load(&self.pool, select).await
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
        jobs: &[NewJob],
    ) -> Result<(), StoreError> {
        // The envelope row first, as every whole-envelope save does, so that concurrent writers
        // lock in one order.
        let moved = Query::new(
            "UPDATE envelopes SET state = $3, version = version + 1 \
             WHERE id = $1 AND tenant_id = $2 AND state = $4",
        )
        .bind(envelope.to_string())
        .bind(tenant.to_upper_hex())
        .bind(to.as_str())
        .bind(from.as_str());
        let stored = Query::new(
            "UPDATE documents SET status = 'stored', blob_key = $4, size = $5, sha256 = $6, \
             sha3_256 = $7, content_type = $8, stored_at = $9 \
             WHERE id = $1 AND envelope_id = $2 AND tenant_id = $3 AND status = 'pending'",
        )
        .bind(document.to_string())
        .bind(envelope.to_string())
        .bind(tenant.to_upper_hex())
        .bind(content.blob.as_str())
        .bind(to_i64(content.size)?)
        .bind(content.sha256.to_hex())
        .bind(content.sha3_256.map(|d| d.to_hex()))
        .bind(&content.content_type)
        .bind(micros(content.stored_at));
        let mut tx = self.pool.begin().await?;
        if tx.execute(moved).await? == 0 || tx.execute(stored).await? == 0 {
            return Err(StoreError::Conflict);
        }
        append_events(&mut tx, events).await?;
        insert_jobs(&mut tx, jobs, self.clock.now()).await?;
        tx.commit().await
    }

    async fn record_sha3(
        &self,
        tenant: &TenantId,
        document: &DocumentId,
        blob: &BlobKey,
        sha256: &Sha256Digest,
        sha3_256: &Sha3Digest,
        events: &[Event],
    ) -> Result<bool, StoreError> {
        // The document row alone: the envelope's version is left as it is, because no
        // whole-envelope save can undo this (a save writes only the rows it changed, and a
        // document it changes is being deleted, which drops the digest anyway).
        let recorded = Query::new(
            "UPDATE documents SET sha3_256 = $5 \
             WHERE id = $1 AND tenant_id = $2 AND status = 'stored' AND blob_key = $3 \
             AND sha256 = $4 AND sha3_256 IS NULL",
        )
        .bind(document.to_string())
        .bind(tenant.to_upper_hex())
        .bind(blob.as_str())
        .bind(sha256.to_hex())
        .bind(sha3_256.to_hex());
        let mut tx = self.pool.begin().await?;
        if tx.execute(recorded).await? == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        append_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn documents_awaiting_sha3(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<DocumentId>, StoreError> {
        let select = Query::new(
            "SELECT id FROM documents \
             WHERE tenant_id = $1 AND sha3_256 IS NULL AND status = 'stored' ORDER BY stored_at",
        )
        .bind(tenant.to_upper_hex());
        self.pool
            .fetch_all(select)
            .await?
            .iter()
            .map(|row| parse("documents.id", &row.get::<String>("id")?))
            .collect()
    }

    async fn save_envelope(
        &self,
        aggregate: &EnvelopeAggregate,
        events: &[Event],
        jobs: &[NewJob],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        aggregate::save(&mut tx, aggregate).await?;
        append_events(&mut tx, events).await?;
        insert_jobs(&mut tx, jobs, self.clock.now()).await?;
        tx.commit().await
    }

    async fn contact(
        &self,
        tenant: &TenantId,
        email: &Email,
    ) -> Result<Option<Contact>, StoreError> {
        let select = Query::new(format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE tenant_id = $1 AND email = $2"
        ))
        .bind(tenant.to_upper_hex())
        .bind(email.as_str());
        self.one_contact(select).await
    }

    async fn contact_by_secret_ref(
        &self,
        tenant: &TenantId,
        answer_ref: &str,
    ) -> Result<Option<Contact>, StoreError> {
        let select = Query::new(format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE tenant_id = $1 AND secret_ref = $2"
        ))
        .bind(tenant.to_upper_hex())
        .bind(answer_ref);
        self.one_contact(select).await
    }
}
