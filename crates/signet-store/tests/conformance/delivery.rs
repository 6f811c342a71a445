//! `DeliveryStore`: envelopes loaded and saved whole (writing only what changed), uploads,
//! contacts, hash lookups.

use std::sync::Arc;

use signet_core::blob::BlobKey;
use signet_core::ids::*;
use signet_core::model::*;
use signet_core::store::{Store, StoreError};
use signet_core::values::*;
use signet_store::test_support::TestDatabase;
use time::Duration;

use crate::{content, document, envelope, event, link, now, tenant};

on_both!(
    envelope_round_trip_and_optimistic_versions,
    tenant_scoping_hides_foreign_envelopes,
    contacts_upsert_and_secret_refs,
    concurrent_saves_never_lose_an_update,
    uploads_are_recorded_once_per_pending_document,
    envelopes_are_found_by_document_hash,
    a_deferred_sha3_is_recorded_once_with_its_job,
    a_save_inserts_the_documents_an_envelope_gained;
    with_database: a_save_writes_only_the_rows_that_changed,
);

async fn envelope_round_trip_and_optimistic_versions(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t = tenant("Acme");
    store.insert_tenant(&t, &[]).await?;
    let mut env = envelope(&t);
    let link = link(&env, 7);
    store
        .insert_envelope(
            &env,
            &[link],
            &[],
            &[event(&t, Some(env.envelope.id), EventKind::EnvelopeCreated)],
        )
        .await?;
    assert_eq!(
        store.envelope(&t.id, &env.envelope.id).await?,
        Some(env.clone())
    );
    assert_eq!(
        store.envelope_of_document(&env.documents[1].id).await?,
        Some(env.clone())
    );
    assert_eq!(
        store
            .tenant_envelope_of_document(&t.id, &env.documents[1].id)
            .await?,
        Some(env.clone())
    );
    assert_eq!(
        store
            .tenant_envelope_of_document(&TenantId::random(), &env.documents[1].id)
            .await?,
        None,
        "another tenant does not find the document"
    );

    let stored = StoredContent {
        blob: BlobKey::random(),
        size: 42,
        sha256: Sha256Digest::from_bytes([1; 32]),
        sha3_256: Some(Sha3Digest::from_bytes([2; 32])),
        content_type: "application/pdf".into(),
        stored_at: now(),
    };
    let doc = env.documents[0].id;
    env.receive_document(doc, stored.clone(), now())?;
    store
        .save_envelope(
            &env,
            &[event(
                &t,
                Some(env.envelope.id),
                EventKind::DocumentUploaded,
            )],
            &[],
        )
        .await?;
    // The same stale version cannot be saved twice.
    assert!(matches!(
        store.save_envelope(&env, &[], &[]).await,
        Err(StoreError::Conflict)
    ));
    let reloaded = store
        .envelope(&t.id, &env.envelope.id)
        .await?
        .expect("present");
    assert_eq!(reloaded.envelope.version, 1);
    assert_eq!(reloaded.envelope.state, EnvelopeState::Uploading);
    assert_eq!(
        reloaded.documents[0].content,
        DocumentContent::Stored(stored)
    );

    let mut env = reloaded;
    let blobs = env.cancel(now())?;
    assert_eq!(blobs.len(), 1);
    store.save_envelope(&env, &[], &[]).await?;
    let reloaded = store
        .envelope(&t.id, &env.envelope.id)
        .await?
        .expect("present");
    assert_eq!(reloaded.envelope.state, EnvelopeState::Cancelled);
    assert!(matches!(
        reloaded.documents[0].content,
        DocumentContent::Deleted { sha256: Some(_) }
    ));
    assert_eq!(
        store.envelope_events(&t.id, &env.envelope.id).await?.len(),
        2
    );
    Ok(())
}

async fn tenant_scoping_hides_foreign_envelopes(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let (a, b) = (tenant("a"), tenant("b"));
    store.insert_tenant(&a, &[]).await?;
    store.insert_tenant(&b, &[]).await?;
    let env = envelope(&a);
    store
        .insert_envelope(
            &env,
            &[],
            &[],
            &[event(&a, Some(env.envelope.id), EventKind::EnvelopeCreated)],
        )
        .await?;
    assert_eq!(store.envelope(&b.id, &env.envelope.id).await?, None);
    assert!(
        store
            .envelope_events(&b.id, &env.envelope.id)
            .await?
            .is_empty()
    );
    // A save that claims another tenant changes nothing.
    let mut forged = env.clone();
    forged.envelope.tenant_id = b.id;
    forged.envelope.state = EnvelopeState::Cancelled;
    assert!(matches!(
        store.save_envelope(&forged, &[], &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.envelope(&a.id, &env.envelope.id).await?, Some(env));
    Ok(())
}

async fn contacts_upsert_and_secret_refs(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let (a, b) = (tenant("a"), tenant("b"));
    store.insert_tenant(&a, &[]).await?;
    store.insert_tenant(&b, &[]).await?;
    let email: Email = "r@example.com".parse()?;
    let mut contact = Contact {
        tenant_id: a.id,
        email: email.clone(),
        language: Language::Fr,
        cell: Some(CellContact {
            phone: Phone::from_national("CA", "8191234567")?,
            method: AuthMethod::Voice,
        }),
        secret: None,
        updated_at: now(),
    };
    let env = envelope(&a);
    store
        .insert_envelope(&env, &[], &[contact.clone()], &[])
        .await?;
    assert_eq!(store.contact(&a.id, &email).await?, Some(contact.clone()));
    assert_eq!(store.contact(&b.id, &email).await?, None);

    contact.secret = Some(SecretContact {
        question: "Q?".into(),
        answer_ref: "ab".repeat(20),
        answer_hash: "$argon2id$x".into(),
    });
    let env2 = envelope(&a);
    store
        .insert_envelope(&env2, &[], &[contact.clone()], &[])
        .await?;
    assert_eq!(store.contact(&a.id, &email).await?, Some(contact.clone()));
    assert_eq!(
        store.contact_by_secret_ref(&a.id, &"ab".repeat(20)).await?,
        Some(contact.clone())
    );
    assert_eq!(
        store.contact_by_secret_ref(&b.id, &"ab".repeat(20)).await?,
        None
    );

    // A create that says nothing of the cell or the secret keeps the stored ones; the language
    // and the time are the new ones.
    let said_less = Contact {
        language: Language::En,
        cell: None,
        secret: None,
        updated_at: contact.updated_at + Duration::seconds(5),
        ..contact.clone()
    };
    store
        .insert_envelope(&envelope(&a), &[], std::slice::from_ref(&said_less), &[])
        .await?;
    let kept = Contact {
        language: Language::En,
        updated_at: said_less.updated_at,
        ..contact.clone()
    };
    assert_eq!(store.contact(&a.id, &email).await?, Some(kept.clone()));

    // A new cell replaces the stored one whole and keeps the secret.
    let new_cell = CellContact {
        phone: Phone::from_national("FR", "612345678")?,
        method: AuthMethod::Sms,
    };
    store
        .insert_envelope(
            &envelope(&a),
            &[],
            &[Contact {
                cell: Some(new_cell.clone()),
                ..said_less
            }],
            &[],
        )
        .await?;
    assert_eq!(
        store.contact(&a.id, &email).await?,
        Some(Contact {
            cell: Some(new_cell),
            ..kept
        })
    );
    Ok(())
}

async fn concurrent_saves_never_lose_an_update(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t = tenant("a");
    store.insert_tenant(&t, &[]).await?;
    let mut env = envelope(&t);
    env.documents = (0..8)
        .map(|i| Document {
            id: DocumentId::generate(),
            position: i,
            name: format!("{i}.pdf").parse().expect("name"),
            content: DocumentContent::Pending,
            derived_from: None,
        })
        .collect();
    store.insert_envelope(&env, &[], &[], &[]).await?;
    let mut tasks = Vec::new();
    for doc in env.documents.iter().map(|d| d.id) {
        let store = store.clone();
        let (tenant_id, env_id) = (t.id, env.envelope.id);
        let tenant = t.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let mut agg = store.envelope(&tenant_id, &env_id).await?.expect("present");
                let content = StoredContent {
                    blob: BlobKey::random(),
                    size: 1,
                    sha256: Sha256Digest::from_bytes([0; 32]),
                    sha3_256: Some(Sha3Digest::from_bytes([0; 32])),
                    content_type: "x/y".into(),
                    stored_at: now(),
                };
                agg.receive_document(doc, content, now())?;
                match store
                    .save_envelope(
                        &agg,
                        &[event(&tenant, Some(env_id), EventKind::DocumentUploaded)],
                        &[],
                    )
                    .await
                {
                    Ok(()) => return anyhow::Ok(()),
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let env = store
        .envelope(&t.id, &env.envelope.id)
        .await?
        .expect("present");
    assert!(env.documents.iter().all(|d| d.stored().is_some()));
    assert_eq!(env.envelope.version, 8);
    assert_eq!(
        store.envelope_events(&t.id, &env.envelope.id).await?.len(),
        8
    );
    store.check_integrity().await?;
    Ok(())
}

async fn uploads_are_recorded_once_per_pending_document(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    let (t, other) = (tenant("Acme"), tenant("Other"));
    store.insert_tenant(&t, &[]).await?;
    store.insert_tenant(&other, &[]).await?;
    let env = envelope(&t);
    store.insert_envelope(&env, &[], &[], &[]).await?;
    let (id, first, second) = (env.envelope.id, env.documents[0].id, env.documents[1].id);
    let uploaded = |doc| {
        let mut e = event(&t, Some(id), EventKind::DocumentUploaded);
        e.document_id = Some(doc);
        e
    };
    let (draft, uploading) = (EnvelopeState::Draft, EnvelopeState::Uploading);
    let stored = content(1);
    store
        .record_upload(
            &t.id,
            &id,
            &first,
            &stored,
            draft,
            uploading,
            &[uploaded(first)],
            &[],
        )
        .await?;
    // The envelope left `Draft`: an upload expecting it there conflicts.
    assert!(matches!(
        store
            .record_upload(&t.id, &id, &second, &content(2), draft, uploading, &[], &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // The same document twice conflicts, and so does another tenant's upload.
    assert!(matches!(
        store
            .record_upload(
                &t.id,
                &id,
                &first,
                &content(3),
                uploading,
                uploading,
                &[],
                &[]
            )
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        store
            .record_upload(
                &other.id,
                &id,
                &second,
                &content(4),
                uploading,
                uploading,
                &[],
                &[]
            )
            .await,
        Err(StoreError::Conflict)
    ));
    let reloaded = store.envelope(&t.id, &id).await?.expect("present");
    assert_eq!(reloaded.envelope.state, EnvelopeState::Uploading);
    assert_eq!(
        reloaded.envelope.version, 1,
        "the upload bumped the version"
    );
    assert_eq!(
        reloaded.documents[0].content,
        DocumentContent::Stored(stored)
    );
    assert_eq!(reloaded.documents[1].content, DocumentContent::Pending);
    let events = store.envelope_events(&t.id, &id).await?;
    assert_eq!(
        events.iter().map(|e| e.document_id).collect::<Vec<_>>(),
        vec![Some(first)],
        "only the upload that was recorded left its event"
    );
    Ok(())
}

/// An upload that left its SHA3-256 for later enqueues its job in the upload's transaction; the
/// digest is then recorded once, only over the blob and SHA-256 the upload recorded.
async fn a_deferred_sha3_is_recorded_once_with_its_job(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    use signet_core::jobs::{JobKind, JobState, NewJob};
    let (t, other) = (tenant("Acme"), tenant("Other"));
    store.insert_tenant(&t, &[]).await?;
    store.insert_tenant(&other, &[]).await?;
    let env = envelope(&t);
    store.insert_envelope(&env, &[], &[], &[]).await?;
    let (id, doc) = (env.envelope.id, env.documents[0].id);
    let stored = StoredContent {
        sha3_256: None,
        ..content(5)
    };
    let job = JobKind::HashDocument {
        tenant_id: t.id,
        document_id: doc,
    };
    store
        .record_upload(
            &t.id,
            &id,
            &doc,
            &stored,
            EnvelopeState::Draft,
            EnvelopeState::Uploading,
            &[],
            &[NewJob::at(job.clone(), now())],
        )
        .await?;
    let pending = store.jobs_in_state(JobState::Pending, 100).await?;
    assert_eq!(
        pending.iter().filter(|j| j.kind == job).count(),
        1,
        "the job was enqueued with the upload"
    );
    let reloaded = store.envelope(&t.id, &id).await?.expect("present");
    assert_eq!(
        reloaded.documents[0].content,
        DocumentContent::Stored(stored.clone()),
        "a stored document without its SHA3-256 reads back as such"
    );
    assert_eq!(store.documents_awaiting_sha3(&t.id).await?, vec![doc]);
    assert!(store.documents_awaiting_sha3(&other.id).await?.is_empty());

    let sha3 = Sha3Digest::from_bytes([9; 32]);
    let hashed = || {
        let mut e = event(&t, Some(id), EventKind::DocumentHashed);
        e.document_id = Some(doc);
        e
    };
    // Another SHA-256, another blob or another tenant: nothing is recorded.
    let wrong_sha256 = Sha256Digest::from_bytes([8; 32]);
    for (tenant, blob, sha256) in [
        (&t.id, &stored.blob, &wrong_sha256),
        (&t.id, &BlobKey::random(), &stored.sha256),
        (&other.id, &stored.blob, &stored.sha256),
    ] {
        assert!(
            !store
                .record_sha3(tenant, &doc, blob, sha256, &sha3, &[hashed()])
                .await?
        );
    }
    assert!(store.envelope_events(&t.id, &id).await?.is_empty());
    assert!(
        store
            .record_sha3(
                &t.id,
                &doc,
                &stored.blob,
                &stored.sha256,
                &sha3,
                &[hashed()]
            )
            .await?
    );
    // Once recorded, a second run (a retried job) changes nothing and adds no event.
    assert!(
        !store
            .record_sha3(
                &t.id,
                &doc,
                &stored.blob,
                &stored.sha256,
                &Sha3Digest::from_bytes([7; 32]),
                &[hashed()]
            )
            .await?
    );
    let events = store.envelope_events(&t.id, &id).await?;
    assert_eq!(
        events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![EventKind::DocumentHashed]
    );
    let reloaded = store.envelope(&t.id, &id).await?.expect("present");
    assert_eq!(
        reloaded.documents[0].stored().and_then(|c| c.sha3_256),
        Some(sha3)
    );
    assert!(store.documents_awaiting_sha3(&t.id).await?.is_empty());
    let found = store
        .envelopes_with_document_hash(&t.id, &sha3.to_hex())
        .await?;
    assert_eq!(
        found.iter().map(|e| e.envelope.id).collect::<Vec<_>>(),
        vec![id]
    );
    store.check_integrity().await?;
    Ok(())
}

async fn envelopes_are_found_by_document_hash(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let (t, other) = (tenant("Acme"), tenant("Other"));
    store.insert_tenant(&t, &[]).await?;
    store.insert_tenant(&other, &[]).await?;
    let shared = content(7);
    let mut older = envelope(&t);
    older.documents[0].content = DocumentContent::Stored(shared.clone());
    let mut newer = envelope(&t);
    newer.envelope.created_at = older.envelope.created_at + Duration::seconds(1);
    newer.documents[1].content = DocumentContent::Stored(shared.clone());
    let mut foreign = envelope(&other);
    foreign.documents[0].content = DocumentContent::Stored(shared.clone());
    let unrelated = envelope(&t);
    for env in [&newer, &older, &foreign, &unrelated] {
        store.insert_envelope(env, &[], &[], &[]).await?;
    }
    let by_sha256 = store
        .envelopes_with_document_hash(&t.id, &shared.sha256.to_hex().to_ascii_uppercase())
        .await?;
    assert_eq!(
        by_sha256,
        vec![older.clone(), newer.clone()],
        "oldest first, this tenant's only"
    );
    let by_sha3 = store
        .envelopes_with_document_hash(&t.id, &shared.sha3_256.expect("hashed").to_hex())
        .await?;
    assert_eq!(by_sha3, vec![older, newer]);
    assert!(
        store
            .envelopes_with_document_hash(&t.id, &content(9).sha256.to_hex())
            .await?
            .is_empty()
    );
    Ok(())
}

/// An envelope that gains a document (a signed or sealed copy) keeps it: the save inserts the new
/// row, in the same transaction and under the same version check.
async fn a_save_inserts_the_documents_an_envelope_gained(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    let t = tenant("Acme");
    store.insert_tenant(&t, &[]).await?;
    let env = envelope(&t);
    store.insert_envelope(&env, &[], &[], &[]).await?;
    let mut loaded = store
        .envelope(&t.id, &env.envelope.id)
        .await?
        .expect("present");
    let stale = loaded.clone();
    loaded.documents.push(Document {
        content: DocumentContent::Stored(content(5)),
        derived_from: Some(env.documents[0].id),
        ..document(2)
    });
    store.save_envelope(&loaded, &[], &[]).await?;
    let reloaded = store
        .envelope(&t.id, &env.envelope.id)
        .await?
        .expect("present");
    assert_eq!(reloaded.documents, loaded.documents);
    assert_eq!(reloaded.envelope.version, 1);
    // A stale copy that also gained one loses, and leaves nothing behind.
    let mut stale = stale;
    stale.documents.push(document(3));
    assert!(matches!(
        store.save_envelope(&stale, &[], &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .envelope(&t.id, &env.envelope.id)
            .await?
            .expect("present"),
        reloaded
    );
    Ok(())
}

/// Counts, through triggers, the document and participant rows written from now on.
struct RowWrites<'a> {
    db: &'a TestDatabase,
}

impl<'a> RowWrites<'a> {
    async fn watch(db: &'a TestDatabase) -> anyhow::Result<Self> {
        let watch = Self { db };
        watch
            .run("CREATE TABLE row_writes (table_name TEXT NOT NULL, row_id TEXT NOT NULL)")
            .await?;
        if db.url.starts_with("sqlite:") {
            for table in ["documents", "participants"] {
                for (name, what) in [("inserted", "INSERT"), ("updated", "UPDATE")] {
                    watch
                        .run(&format!(
                            "CREATE TRIGGER {table}_{name} AFTER {what} ON {table} BEGIN \
                             INSERT INTO row_writes VALUES ('{table}', NEW.id); END"
                        ))
                        .await?;
                }
            }
        } else {
            watch
                .run(
                    "CREATE FUNCTION note_row_write() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN INSERT INTO row_writes VALUES (TG_TABLE_NAME, NEW.id); RETURN NEW; \
                     END $$",
                )
                .await?;
            for table in ["documents", "participants"] {
                watch
                    .run(&format!(
                        "CREATE TRIGGER {table}_written AFTER INSERT OR UPDATE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION note_row_write()"
                    ))
                    .await?;
            }
        }
        Ok(watch)
    }

    async fn run(&self, sql: &str) -> anyhow::Result<u64> {
        signet_store::test_support::execute(&self.db.url, sql).await
    }

    /// Forgets the writes of `table` so far, answering how many were of rows with these ids
    /// and how many of other rows.
    async fn take(&self, table: &str, ids: &[String]) -> anyhow::Result<(u64, u64)> {
        let of_ids = if ids.is_empty() {
            0
        } else {
            let listed = ids
                .iter()
                .map(|id| format!("'{id}'"))
                .collect::<Vec<_>>()
                .join(", ");
            self.run(&format!(
                "DELETE FROM row_writes WHERE table_name = '{table}' AND row_id IN ({listed})"
            ))
            .await?
        };
        let others = self
            .run(&format!(
                "DELETE FROM row_writes WHERE table_name = '{table}'"
            ))
            .await?;
        Ok((of_ids, others))
    }
}

/// A save rewrites no document or participant row that did not change: the counting triggers see
/// exactly the rows the change touched, whatever the envelope's size.
async fn a_save_writes_only_the_rows_that_changed(
    store: Arc<dyn Store>,
    db: &TestDatabase,
) -> anyhow::Result<()> {
    let t = tenant("Acme");
    store.insert_tenant(&t, &[]).await?;
    let mut env = envelope(&t);
    env.documents = (0..6).map(document).collect();
    env.participants = (0..4u8)
        .map(|i| Participant {
            id: ParticipantId::generate(),
            sequence: u32::from(i),
            email: format!("p{i}@example.com").parse().expect("email"),
            ..env.participants[0].clone()
        })
        .collect();
    store.insert_envelope(&env, &[], &[], &[]).await?;
    let writes = RowWrites::watch(db).await?;
    let id = env.envelope.id;
    let load = || async { anyhow::Ok(store.envelope(&t.id, &id).await?.expect("present")) };

    // One document received: that row, and no other.
    let mut loaded = load().await?;
    let received = loaded.documents[3].id;
    loaded.receive_document(received, content(1), now())?;
    store.save_envelope(&loaded, &[], &[]).await?;
    assert_eq!(
        writes.take("documents", &[received.to_string()]).await?,
        (1, 0)
    );
    assert_eq!(writes.take("participants", &[]).await?, (0, 0));
    assert_eq!(
        load().await?,
        EnvelopeAggregate {
            envelope: Envelope {
                version: 1,
                ..loaded.envelope.clone()
            },
            ..loaded.clone()
        }
    );

    // Nothing but the envelope changed: no child row is written.
    let mut loaded = load().await?;
    loaded.envelope.secret_question = None;
    store.save_envelope(&loaded, &[], &[]).await?;
    assert_eq!(writes.take("documents", &[]).await?, (0, 0));
    assert_eq!(writes.take("participants", &[]).await?, (0, 0));

    // One participant authenticated and one reordered: those two rows.
    let mut loaded = load().await?;
    loaded.participants[1].authenticated_at = Some(now());
    loaded.participants[2].sequence = 9;
    let changed = [
        loaded.participants[1].id.to_string(),
        loaded.participants[2].id.to_string(),
    ];
    store.save_envelope(&loaded, &[], &[]).await?;
    assert_eq!(writes.take("participants", &changed).await?, (2, 0));
    assert_eq!(writes.take("documents", &[]).await?, (0, 0));
    let reloaded = load().await?;
    assert_eq!(reloaded.participants, loaded.participants);
    assert_eq!(reloaded.envelope.version, 3);

    // Cancelling marks every document deleted: every row; cancelling again changes none.
    let mut loaded = reloaded;
    loaded.cancel(now())?;
    store.save_envelope(&loaded, &[], &[]).await?;
    let all: Vec<String> = loaded.documents.iter().map(|d| d.id.to_string()).collect();
    assert_eq!(writes.take("documents", &all).await?, (6, 0));
    assert_eq!(load().await?.documents, loaded.documents);
    let mut loaded = load().await?;
    assert!(loaded.cancel(now())?.is_empty());
    store.save_envelope(&loaded, &[], &[]).await?;
    assert_eq!(writes.take("documents", &[]).await?, (0, 0));
    assert_eq!(writes.take("participants", &[]).await?, (0, 0));

    // A stale save loses and writes nothing.
    assert!(matches!(
        store.save_envelope(&loaded, &[], &[]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(writes.take("documents", &[]).await?, (0, 0));
    assert_eq!(writes.take("participants", &[]).await?, (0, 0));
    Ok(())
}
