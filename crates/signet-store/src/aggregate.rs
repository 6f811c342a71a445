//! The envelope aggregate as rows: the one place that loads an envelope with its documents and
//! participants, and the one place that writes them.
//!
//! A save writes only what changed. Its envelope row is updated under the optimistic version
//! check first; once that succeeds, the stored document and participant rows are exactly those
//! of the version the caller loaded (every write to them bumps the envelope's version in the same
//! transaction, and the update holds the envelope row until commit), so the save reads them back
//! in its transaction and writes only the rows that differ, column for column, from the
//! aggregate's, and inserts those the aggregate gained.

use std::collections::HashMap;

use signet_core::blob::BlobKey;
use signet_core::model::{
    Document, DocumentContent, Envelope, EnvelopeAggregate, EnvelopeState, LinkPolicy, Participant,
    StoredContent,
};
use signet_core::store::StoreError;
use signet_core::values::Phone;

use crate::db::{Arg, Pool, Query, Row, Tx};
use crate::rows::{
    auth_from_text, corrupt, from_i64, from_micros, micros, opt_from_micros, parse,
    purpose_from_text, purpose_text, role_from_text, role_text, to_i64,
};

const ENVELOPE_COLUMNS: &str = "id, tenant_id, purpose, state, version, sender_language, \
    participant_language, link_expiration_days, link_reusable, notify_events, secret_question, \
    created_at, upload_deadline, confirmed_at, expires_at, closed_at";
/// The columns [`DocumentRow::read`] reads.
pub(crate) const DOCUMENT_COLUMNS: &str = "id, position, name, status, blob_key, size, sha256, \
    sha3_256, content_type, stored_at, derived_from";
const PARTICIPANT_COLUMNS: &str = "id, sequence, role, email, phone_e164, phone_country, \
    phone_national, auth, secret_answer_hash, authenticated_at, completed_at, position";

/// The statement selecting the envelopes `condition` (over `envelopes`) holds, oldest first; bind
/// its parameters and hand it to [`load`].
pub(crate) fn select_envelopes(condition: &str) -> Query {
    Query::new(format!(
        "SELECT {ENVELOPE_COLUMNS} FROM envelopes WHERE {condition} ORDER BY created_at, id"
    ))
}

/// The envelopes a [`select_envelopes`] statement selects, each with its documents and
/// participants (read from the envelope's own tenant only).
pub(crate) async fn load(pool: &Pool, select: Query) -> Result<Vec<EnvelopeAggregate>, StoreError> {
    let mut conn = pool.acquire().await?;
    let rows = conn.conn().fetch_all(select).await?;
    let mut aggregates = Vec::with_capacity(rows.len());
    for row in rows {
        let envelope = envelope_from_row(&row)?;
        let documents = conn
            .conn()
            .fetch_all(select_documents(&envelope))
            .await?
            .iter()
            .map(|row| DocumentRow::read(row)?.into_document())
            .collect::<Result<_, _>>()?;
        let participants = conn
            .conn()
            .fetch_all(select_participants(&envelope))
            .await?
            .iter()
            .map(|row| ParticipantRow::read(row)?.into_participant())
            .collect::<Result<_, _>>()?;
        aggregates.push(EnvelopeAggregate {
            envelope,
            documents,
            participants,
        });
    }
    Ok(aggregates)
}

/// [`load`] for a statement that selects at most one envelope.
pub(crate) async fn load_one(
    pool: &Pool,
    select: Query,
) -> Result<Option<EnvelopeAggregate>, StoreError> {
    Ok(load(pool, select).await?.into_iter().next())
}

/// The statements inserting a new envelope with all its documents and participants: one per
/// table, however many rows.
pub(crate) fn insert_statements(aggregate: &EnvelopeAggregate) -> Result<Vec<Query>, StoreError> {
    let e = &aggregate.envelope;
    let insert = Query::new(format!(
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
    .bind(e.closed_at.map(micros));
    let mut statements = vec![insert];
    if !aggregate.documents.is_empty() {
        let rows = aggregate
            .documents
            .iter()
            .map(|d| Ok(DocumentRow::of(d)?.args(e)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        statements.push(Query::rows(
            DocumentRow::INSERT,
            DocumentRow::WIDTH,
            rows,
            "",
        ));
    }
    if !aggregate.participants.is_empty() {
        let rows = aggregate
            .participants
            .iter()
            .enumerate()
            .map(|(position, p)| Ok(ParticipantRow::of(p, position)?.args(e)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        statements.push(Query::rows(
            ParticipantRow::INSERT,
            ParticipantRow::WIDTH,
            rows,
            "",
        ));
    }
    Ok(statements)
}

/// Saves a changed envelope if its stored version is still the aggregate's, bumping it
/// ([`StoreError::Conflict`] otherwise), and writes only the document and participant rows that
/// changed (see the module comment).
pub(crate) async fn save(tx: &mut Tx, aggregate: &EnvelopeAggregate) -> Result<(), StoreError> {
    let e = &aggregate.envelope;
    let update = Query::new(
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
    .bind(e.version);
    if tx.execute(update).await? == 0 {
        return Err(StoreError::Conflict);
    }

    let mut stored: HashMap<String, DocumentRow> = tx
        .fetch_all(select_documents(e))
        .await?
        .iter()
        .map(|row| DocumentRow::read(row).map(|r| (r.id.clone(), r)))
        .collect::<Result<_, _>>()?;
    for document in &aggregate.documents {
        let row = DocumentRow::of(document)?;
        match stored.remove(&row.id) {
            Some(old) if old == row => {}
            Some(_) => row.update(tx, e).await?,
            None => row.insert(tx, e).await?,
        }
    }

    let mut stored: HashMap<String, ParticipantRow> = tx
        .fetch_all(select_participants(e))
        .await?
        .iter()
        .map(|row| ParticipantRow::read(row).map(|r| (r.id.clone(), r)))
        .collect::<Result<_, _>>()?;
    for (position, participant) in aggregate.participants.iter().enumerate() {
        let row = ParticipantRow::of(participant, position)?;
        match stored.remove(&row.id) {
            Some(old) if old == row => {}
            Some(_) => row.update(tx, e).await?,
            None => row.insert(tx, e).await?,
        }
    }
    Ok(())
}

fn select_documents(envelope: &Envelope) -> Query {
    Query::new(format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE envelope_id = $1 AND tenant_id = $2 \
         ORDER BY position"
    ))
    .bind(envelope.id.to_string())
    .bind(envelope.tenant_id.to_upper_hex())
}

fn select_participants(envelope: &Envelope) -> Query {
    Query::new(format!(
        "SELECT {PARTICIPANT_COLUMNS} FROM participants WHERE envelope_id = $1 AND tenant_id = $2 \
         ORDER BY position"
    ))
    .bind(envelope.id.to_string())
    .bind(envelope.tenant_id.to_upper_hex())
}

fn envelope_from_row(row: &Row) -> Result<Envelope, StoreError> {
    let state: String = row.get("state")?;
    Ok(Envelope {
        id: parse("envelopes.id", &row.get::<String>("id")?)?,
        tenant_id: parse("envelopes.tenant_id", &row.get::<String>("tenant_id")?)?,
        purpose: purpose_from_text(&row.get::<String>("purpose")?)?,
        state: EnvelopeState::parse(&state).ok_or_else(|| corrupt(&state))?,
        version: row.get("version")?,
        sender_language: parse("sender_language", &row.get::<String>("sender_language")?)?,
        participant_language: parse(
            "participant_language",
            &row.get::<String>("participant_language")?,
        )?,
        links: LinkPolicy {
            expiration_days: from_i64(row.get("link_expiration_days")?)?,
            reusable: row.get("link_reusable")?,
        },
        notify_events: row.get("notify_events")?,
        secret_question: row.get("secret_question")?,
        created_at: from_micros(row.get("created_at")?)?,
        upload_deadline: from_micros(row.get("upload_deadline")?)?,
        confirmed_at: opt_from_micros(row.get("confirmed_at")?)?,
        expires_at: opt_from_micros(row.get("expires_at")?)?,
        closed_at: opt_from_micros(row.get("closed_at")?)?,
    })
}

/// A document as the columns it is stored in (besides its envelope and tenant): what a save
/// compares to decide whether the row changed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DocumentRow {
    id: String,
    position: i64,
    name: String,
    status: String,
    blob_key: Option<String>,
    size: Option<i64>,
    sha256: Option<String>,
    sha3_256: Option<String>,
    content_type: Option<String>,
    stored_at: Option<i64>,
    derived_from: Option<String>,
}

impl DocumentRow {
    fn of(document: &Document) -> Result<Self, StoreError> {
        let mut row = Self {
            id: document.id.to_string(),
            position: i64::from(document.position),
            name: document.name.as_str().to_owned(),
            status: String::new(),
            blob_key: None,
            size: None,
            sha256: None,
            sha3_256: None,
            content_type: None,
            stored_at: None,
            derived_from: document.derived_from.map(|d| d.to_string()),
        };
        match &document.content {
            DocumentContent::Pending => row.status = "pending".into(),
            DocumentContent::Stored(content) => {
                row.status = "stored".into();
                row.blob_key = Some(content.blob.as_str().to_owned());
                row.size = Some(to_i64(content.size)?);
                row.sha256 = Some(content.sha256.to_hex());
                row.sha3_256 = content.sha3_256.map(|d| d.to_hex());
                row.content_type = Some(content.content_type.clone());
                row.stored_at = Some(micros(content.stored_at));
            }
            DocumentContent::Deleted { sha256 } => {
                row.status = "deleted".into();
                row.sha256 = sha256.map(|d| d.to_hex());
            }
            other => {
                return Err(corrupt(format!(
                    "document content {other:?} has no column mapping"
                )));
            }
        }
        Ok(row)
    }

    /// Reads the [`DOCUMENT_COLUMNS`] of a row.
    pub(crate) fn read(row: &Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.get("id")?,
            position: row.get("position")?,
            name: row.get("name")?,
            status: row.get("status")?,
            blob_key: row.get("blob_key")?,
            size: row.get("size")?,
            sha256: row.get("sha256")?,
            sha3_256: row.get("sha3_256")?,
            content_type: row.get("content_type")?,
            stored_at: row.get("stored_at")?,
            derived_from: row.get("derived_from")?,
        })
    }

    pub(crate) fn into_document(self) -> Result<Document, StoreError> {
        let content = match self.status.as_str() {
            "pending" => DocumentContent::Pending,
            "stored" => DocumentContent::Stored(StoredContent {
                blob: BlobKey::from_stored(self.blob_key.ok_or_else(|| corrupt("blob_key"))?),
                size: from_i64(self.size.ok_or_else(|| corrupt("size"))?)?,
                sha256: parse("sha256", &self.sha256.ok_or_else(|| corrupt("sha256"))?)?,
                // Absent until the upload's `hash_document` job ran.
                sha3_256: self.sha3_256.map(|d| parse("sha3_256", &d)).transpose()?,
                content_type: self.content_type.unwrap_or_default(),
                stored_at: from_micros(self.stored_at.ok_or_else(|| corrupt("stored_at"))?)?,
            }),
            "deleted" => DocumentContent::Deleted {
                sha256: self.sha256.map(|s| parse("sha256", &s)).transpose()?,
            },
            other => return Err(corrupt(format!("documents.status = {other:?}"))),
        };
        Ok(Document {
            id: parse("documents.id", &self.id)?,
            position: from_i64(self.position)?,
            name: parse("documents.name", &self.name)?,
            content,
            derived_from: self
                .derived_from
                .map(|d| parse("derived_from", &d))
                .transpose()?,
        })
    }

    /// The head of the statement inserting document rows of [`DocumentRow::WIDTH`] values.
    const INSERT: &str = "INSERT INTO documents (id, envelope_id, tenant_id, position, name, \
        status, blob_key, size, sha256, sha3_256, content_type, stored_at, derived_from)";
    const WIDTH: usize = 13;

    async fn insert(&self, tx: &mut Tx, envelope: &Envelope) -> Result<(), StoreError> {
        let insert = Query::rows(Self::INSERT, Self::WIDTH, vec![self.args(envelope)], "");
        tx.execute(insert).await?;
        Ok(())
    }

    async fn update(&self, tx: &mut Tx, envelope: &Envelope) -> Result<(), StoreError> {
        let update = Query::new(
            "UPDATE documents SET position = $4, name = $5, status = $6, blob_key = $7, \
             size = $8, sha256 = $9, sha3_256 = $10, content_type = $11, stored_at = $12, \
             derived_from = $13 WHERE id = $1 AND envelope_id = $2 AND tenant_id = $3",
        );
        tx.execute(self.bind(update, envelope)).await?;
        Ok(())
    }

    fn bind(&self, query: Query, envelope: &Envelope) -> Query {
        self.args(envelope)
            .into_iter()
            .fold(query, |query, arg| query.bind(arg))
    }

    /// The row's values as `$1` to `$13`, in the order of [`DocumentRow::INSERT`].
    fn args(&self, envelope: &Envelope) -> Vec<Arg> {
        vec![
            self.id.as_str().into(),
            envelope.id.to_string().into(),
            envelope.tenant_id.to_upper_hex().into(),
            self.position.into(),
            self.name.as_str().into(),
            self.status.as_str().into(),
            self.blob_key.clone().into(),
            self.size.into(),
            self.sha256.clone().into(),
            self.sha3_256.clone().into(),
            self.content_type.clone().into(),
            self.stored_at.into(),
            self.derived_from.clone().into(),
        ]
    }
}

/// A participant as the columns it is stored in (besides its envelope and tenant), with its
/// position in the envelope's list.
#[derive(Debug, PartialEq, Eq)]
struct ParticipantRow {
    id: String,
    sequence: i64,
    role: String,
    email: String,
    phone_e164: Option<String>,
    phone_country: Option<String>,
    phone_national: Option<String>,
    auth: String,
    secret_answer_hash: Option<String>,
    authenticated_at: Option<i64>,
    completed_at: Option<i64>,
    position: i64,
}

impl ParticipantRow {
    fn of(participant: &Participant, position: usize) -> Result<Self, StoreError> {
        let phone = participant.phone.as_ref();
        Ok(Self {
            id: participant.id.to_string(),
            sequence: i64::from(participant.sequence),
            role: role_text(participant.role).to_owned(),
            email: participant.email.as_str().to_owned(),
            phone_e164: phone.map(|p| p.e164().to_owned()),
            phone_country: phone.map(|p| p.iso_country().to_owned()),
            phone_national: phone.map(|p| p.national().to_owned()),
            auth: participant.auth.as_str().to_owned(),
            secret_answer_hash: participant.secret_answer_hash.clone(),
            authenticated_at: participant.authenticated_at.map(micros),
            completed_at: participant.completed_at.map(micros),
            position: to_i64(position)?,
        })
    }

    fn read(row: &Row) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.get("id")?,
            sequence: row.get("sequence")?,
            role: row.get("role")?,
            email: row.get("email")?,
            phone_e164: row.get("phone_e164")?,
            phone_country: row.get("phone_country")?,
            phone_national: row.get("phone_national")?,
            auth: row.get("auth")?,
            secret_answer_hash: row.get("secret_answer_hash")?,
            authenticated_at: row.get("authenticated_at")?,
            completed_at: row.get("completed_at")?,
            position: row.get("position")?,
        })
    }

    fn into_participant(self) -> Result<Participant, StoreError> {
        let phone = self.phone_e164.map(|e164| {
            Phone::from_stored(
                e164,
                self.phone_country.unwrap_or_default(),
                self.phone_national.unwrap_or_default(),
            )
        });
        Ok(Participant {
            id: parse("participants.id", &self.id)?,
            sequence: from_i64(self.sequence)?,
            role: role_from_text(&self.role)?,
            email: parse("participants.email", &self.email)?,
            phone,
            auth: auth_from_text(&self.auth)?,
            secret_answer_hash: self.secret_answer_hash,
            authenticated_at: opt_from_micros(self.authenticated_at)?,
            completed_at: opt_from_micros(self.completed_at)?,
        })
    }

    /// The head of the statement inserting participant rows of [`ParticipantRow::WIDTH`]
    /// values.
    const INSERT: &str = "INSERT INTO participants (id, envelope_id, tenant_id, sequence, role, \
        email, phone_e164, phone_country, phone_national, auth, secret_answer_hash, \
        authenticated_at, completed_at, position)";
    const WIDTH: usize = 14;

    async fn insert(&self, tx: &mut Tx, envelope: &Envelope) -> Result<(), StoreError> {
        let insert = Query::rows(Self::INSERT, Self::WIDTH, vec![self.args(envelope)], "");
        tx.execute(insert).await?;
        Ok(())
    }

    async fn update(&self, tx: &mut Tx, envelope: &Envelope) -> Result<(), StoreError> {
        let update = Query::new(
            "UPDATE participants SET sequence = $4, role = $5, email = $6, phone_e164 = $7, \
             phone_country = $8, phone_national = $9, auth = $10, secret_answer_hash = $11, \
             authenticated_at = $12, completed_at = $13, position = $14 \
             WHERE id = $1 AND envelope_id = $2 AND tenant_id = $3",
        );
        tx.execute(self.bind(update, envelope)).await?;
        Ok(())
    }

    fn bind(&self, query: Query, envelope: &Envelope) -> Query {
        self.args(envelope)
            .into_iter()
            .fold(query, |query, arg| query.bind(arg))
    }

    /// The row's values as `$1` to `$14`, in the order of [`ParticipantRow::INSERT`].
    fn args(&self, envelope: &Envelope) -> Vec<Arg> {
        vec![
            self.id.as_str().into(),
            envelope.id.to_string().into(),
            envelope.tenant_id.to_upper_hex().into(),
            self.sequence.into(),
            self.role.as_str().into(),
            self.email.as_str().into(),
            self.phone_e164.clone().into(),
            self.phone_country.clone().into(),
            self.phone_national.clone().into(),
            self.auth.as_str().into(),
            self.secret_answer_hash.clone().into(),
            self.authenticated_at.into(),
            self.completed_at.into(),
            self.position.into(),
        ]
    }
}
