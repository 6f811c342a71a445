//! The store conformance suite: every scenario runs on SQLite and on PostgreSQL, each on its own
//! fresh database.

use std::sync::Arc;

use signet_core::blob::BlobKey;
use signet_core::ids::*;
use signet_core::model::*;
use signet_core::store::{Store, StoreError};
use signet_core::values::*;
use signet_store::test_support::Backend;
use time::{Duration, OffsetDateTime};

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {$(
            #[tokio::test]
            async fn $name() -> anyhow::Result<()> {
                let Some((store, _db)) = signet_store::test_support::store(signet_store::test_support::Backend::Sqlite).await? else { return Ok(()) };
                super::$name(store).await
            }
        )*}
        mod postgres {$(
            #[tokio::test]
            async fn $name() -> anyhow::Result<()> {
                let Some((store, _db)) = signet_store::test_support::store(signet_store::test_support::Backend::Postgres).await? else { return Ok(()) };
                super::$name(store).await
            }
        )*}
    };
}

on_both!(
    concurrent_workers_never_claim_a_job_twice,
    leases_renewed_by_their_worker_hold_until_it_stops,
    jobs_are_claimed_once_retried_and_reclaimed,
    tenants_round_trip,
    token_ids_are_single_use_per_tenant,
    envelope_round_trip_and_optimistic_versions,
    tenant_scoping_hides_foreign_envelopes,
    contacts_upsert_and_secret_refs,
    events_are_sequenced_without_gaps,
    concurrent_saves_never_lose_an_update,
    link_guards_are_versioned_and_sessions_scoped,
    stored_documents_are_listed_in_pages,
);

fn now() -> OffsetDateTime {
    // Whole microseconds: what the store keeps.
    // Whole microseconds, as the system clock gives them.
    signet_core::clock::Clock::now(&signet_core::clock::SystemClock)
}

fn tenant(name: &str) -> Tenant {
    Tenant {
        id: TenantId::random(),
        name: name.into(),
        status: TenantStatus::Active,
        plan: Plan {
            features: vec![Feature::Sms, Feature::Secret],
            max_envelope_bytes: 1234,
        },
        self_send: true,
        api_key_sealed: vec![1, 2, 3],
        webhook: None,
        created_at: now(),
    }
}

fn event(tenant: &Tenant, envelope: Option<EnvelopeId>, kind: EventKind) -> Event {
    Event {
        id: EventId::random(),
        tenant_id: tenant.id,
        envelope_id: envelope,
        participant_id: None,
        document_id: None,
        kind,
        actor: Actor::System,
        ip: Some("192.0.2.7".parse().expect("ip")),
        at: now(),
        data: serde_json::json!({"k": "v"}),
    }
}

fn envelope(tenant: &Tenant) -> EnvelopeAggregate {
    let at = now();
    EnvelopeAggregate {
        envelope: Envelope {
            id: EnvelopeId::random(),
            tenant_id: tenant.id,
            purpose: Purpose::Deliver,
            state: EnvelopeState::Draft,
            version: 0,
            sender_language: Language::Fr,
            participant_language: Language::En,
            links: LinkPolicy {
                expiration_days: 14,
                reusable: false,
            },
            notify_events: true,
            secret_question: Some("Employee number?".into()),
            created_at: at,
            upload_deadline: at + Duration::hours(1),
            confirmed_at: None,
            expires_at: None,
            closed_at: None,
        },
        documents: vec![
            Document {
                id: DocumentId::random(),
                position: 0,
                name: "a.pdf".parse().expect("name"),
                content: DocumentContent::Pending,
                derived_from: None,
            },
            Document {
                id: DocumentId::random(),
                position: 1,
                name: "b.txt".parse().expect("name"),
                content: DocumentContent::Pending,
                derived_from: None,
            },
        ],
        participants: vec![Participant {
            id: ParticipantId::random(),
            sequence: 0,
            role: Role::Recipient,
            email: "r@example.com".parse().expect("email"),
            phone: Some(Phone::from_national("CA", "8191234567").expect("phone")),
            auth: AuthMethod::Sms,
            secret_answer_hash: None,
            authenticated_at: None,
            completed_at: None,
        }],
    }
}

async fn tenants_round_trip(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let mut t = tenant("Acme");
    store
        .insert_tenant(&t, &[event(&t, None, EventKind::TenantCreated)])
        .await?;
    assert_eq!(store.tenant(&t.id).await?, Some(t.clone()));
    assert!(matches!(
        store.insert_tenant(&t, &[]).await,
        Err(StoreError::Duplicate)
    ));
    t.status = TenantStatus::Suspended;
    t.plan.features = vec![];
    t.self_send = false;
    store.update_tenant(&t, &[]).await?;
    assert_eq!(store.tenant(&t.id).await?, Some(t.clone()));
    assert!(matches!(
        store.update_tenant(&tenant("ghost"), &[]).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_tenants().await?.len(), 1);
    assert_eq!(store.tenant(&TenantId::random()).await?, None);
    Ok(())
}

async fn token_ids_are_single_use_per_tenant(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let (a, b) = (tenant("a"), tenant("b"));
    store.insert_tenant(&a, &[]).await?;
    store.insert_tenant(&b, &[]).await?;
    let t0 = now();
    assert!(
        store
            .claim_token_id(&a.id, "jti-1", t0 + Duration::hours(2), t0)
            .await?
    );
    assert!(
        !store
            .claim_token_id(&a.id, "jti-1", t0 + Duration::hours(2), t0)
            .await?
    );
    assert!(
        store
            .claim_token_id(&b.id, "jti-1", t0 + Duration::hours(2), t0)
            .await?,
        "tenants are separate"
    );
    // Once it could no longer be valid, it is forgotten.
    let later = t0 + Duration::hours(3);
    assert!(
        store
            .claim_token_id(&a.id, "jti-1", later + Duration::hours(2), later)
            .await?
    );
    Ok(())
}

async fn envelope_round_trip_and_optimistic_versions(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t = tenant("Acme");
    store.insert_tenant(&t, &[]).await?;
    let mut env = envelope(&t);
    let link = AccessLink {
        id: LinkId::random(),
        envelope_id: env.envelope.id,
        participant_id: env.participants[0].id,
        token_hash: Sha256Digest::from_bytes([7; 32]),
        created_at: now(),
    };
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
        sha3_256: Sha3Digest::from_bytes([2; 32]),
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
        Some(contact)
    );
    assert_eq!(
        store.contact_by_secret_ref(&b.id, &"ab".repeat(20)).await?,
        None
    );
    Ok(())
}

async fn events_are_sequenced_without_gaps(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t = tenant("a");
    store
        .insert_tenant(&t, &[event(&t, None, EventKind::TenantCreated)])
        .await?;
    let events: Vec<Event> = (0..5)
        .map(|_| event(&t, None, EventKind::ContactViewed))
        .collect();
    store.append_events(&events).await?;
    let leaves = store.ledger_leaves(0, 100).await?;
    assert_eq!(
        leaves.iter().map(|l| l.index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5]
    );
    assert_eq!(
        leaves[3].leaf_hash,
        signet_core::evidence::leaf_hash(&events[2])
    );
    assert_eq!(store.ledger_leaves(2, 4).await?.len(), 2);
    store.check_integrity().await?;
    Ok(())
}

async fn concurrent_saves_never_lose_an_update(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t = tenant("a");
    store.insert_tenant(&t, &[]).await?;
    let mut env = envelope(&t);
    env.documents = (0..8)
        .map(|i| Document {
            id: DocumentId::random(),
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
                    sha3_256: Sha3Digest::from_bytes([0; 32]),
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
    let _ = Backend::Sqlite;
    Ok(())
}

async fn jobs_are_claimed_once_retried_and_reclaimed(store: Arc<dyn Store>) -> anyhow::Result<()> {
    use signet_core::jobs::{JobKind, JobState, NewJob};
    let t0 = now();
    let due = NewJob::at(
        JobKind::DeleteBlob {
            key: BlobKey::random(),
        },
        t0,
    )
    .deduplicated("one");
    let later = NewJob::at(
        JobKind::DeleteBlob {
            key: BlobKey::random(),
        },
        t0 + Duration::hours(1),
    );
    store.enqueue_jobs(&[due.clone(), later.clone()]).await?;
    // The same dedupe key is enqueued once.
    store
        .enqueue_jobs(&[NewJob::at(
            JobKind::DeleteBlob {
                key: BlobKey::random(),
            },
            t0,
        )
        .deduplicated("one")])
        .await?;
    let lease = t0 + Duration::minutes(5);
    let claimed = store.claim_jobs("a", t0, lease, 10).await?;
    assert_eq!(
        claimed.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        vec![due.id.as_str()]
    );
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(claimed[0].kind, due.kind);
    // Nobody else gets it while the lease holds…
    assert!(
        store
            .claim_jobs("b", t0 + Duration::minutes(1), lease, 10)
            .await?
            .is_empty()
    );
    // …but once the lease ran out (the worker died), another worker takes it over.
    let reclaimed = store
        .claim_jobs(
            "b",
            lease + Duration::seconds(1),
            lease + Duration::minutes(10),
            10,
        )
        .await?;
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].attempts, 2);
    // A failure schedules a retry; the retry is not due before its time.
    let retry_at = lease + Duration::minutes(1);
    store.fail_job(&due.id, "boom", Some(retry_at)).await?;
    assert!(
        store
            .claim_jobs(
                "b",
                retry_at - Duration::seconds(1),
                retry_at + Duration::minutes(5),
                10
            )
            .await?
            .is_empty()
    );
    let again = store
        .claim_jobs("b", retry_at, retry_at + Duration::minutes(5), 10)
        .await?;
    assert_eq!(again[0].last_error.as_deref(), Some("boom"));
    // Giving up dead-letters it; replay brings it back.
    store.fail_job(&due.id, "gave up", None).await?;
    assert_eq!(store.jobs_in_state(JobState::Dead, 10).await?.len(), 1);
    assert!(store.replay_job(&due.id, retry_at).await?);
    assert!(
        !store.replay_job(&due.id, retry_at).await?,
        "only dead jobs are replayed"
    );
    let replayed = store
        .claim_jobs("c", retry_at, retry_at + Duration::minutes(5), 10)
        .await?;
    assert_eq!(replayed.len(), 1);
    store.complete_job(&due.id, retry_at).await?;
    assert_eq!(store.jobs_in_state(JobState::Done, 10).await?.len(), 1);
    assert_eq!(
        store.jobs_in_state(JobState::Pending, 10).await?.len(),
        1,
        "the later job waits"
    );
    Ok(())
}

async fn leases_renewed_by_their_worker_hold_until_it_stops(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    use signet_core::jobs::{JobKind, NewJob};
    let t0 = now();
    let job = |at| {
        NewJob::at(
            JobKind::DeleteBlob {
                key: BlobKey::random(),
            },
            at,
        )
    };
    store.enqueue_jobs(&[job(t0), job(t0)]).await?;
    let lease = Duration::seconds(30);
    assert_eq!(store.claim_jobs("a", t0, t0 + lease, 1).await?.len(), 1);
    assert_eq!(store.claim_jobs("b", t0, t0 + lease, 1).await?.len(), 1);
    // Worker a keeps renewing; b stopped renewing (it died) and its job is taken over.
    let later = t0 + lease + Duration::seconds(1);
    assert_eq!(store.renew_job_leases("a", later + lease).await?, 1);
    let taken = store.claim_jobs("c", later, later + lease, 10).await?;
    assert_eq!(taken.len(), 1, "only the unrenewed job is taken over");
    assert_eq!(taken[0].attempts, 2);
    // The dead worker's name no longer renews the job another worker now runs.
    assert_eq!(store.renew_job_leases("b", later + lease * 10).await?, 0);
    assert!(
        store
            .claim_jobs(
                "d",
                later + lease + Duration::seconds(1),
                later + lease * 3,
                10
            )
            .await?
            .len()
            == 2,
        "past every lease, both are free again"
    );
    Ok(())
}

async fn concurrent_workers_never_claim_a_job_twice(store: Arc<dyn Store>) -> anyhow::Result<()> {
    use signet_core::jobs::{JobKind, NewJob};
    let t0 = now();
    let jobs: Vec<NewJob> = (0..60)
        .map(|_| {
            NewJob::at(
                JobKind::DeleteBlob {
                    key: BlobKey::random(),
                },
                t0,
            )
        })
        .collect();
    store.enqueue_jobs(&jobs).await?;
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_jobs(&format!("w{w}"), t0, t0 + Duration::minutes(5), 3)
                    .await?;
                if batch.is_empty() {
                    return anyhow::Ok(mine);
                }
                mine.extend(batch.into_iter().map(|j| j.id));
            }
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await??);
    }
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 60, "every job claimed");
    assert_eq!(unique.len(), 60, "no job claimed twice");
    Ok(())
}

async fn link_guards_are_versioned_and_sessions_scoped(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    let (t, other) = (tenant("Acme"), tenant("Other"));
    store.insert_tenant(&t, &[]).await?;
    store.insert_tenant(&other, &[]).await?;
    let env = envelope(&t);
    let link = AccessLink {
        id: LinkId::random(),
        envelope_id: env.envelope.id,
        participant_id: env.participants[0].id,
        token_hash: Sha256Digest::from_bytes([9; 32]),
        created_at: now(),
    };
    store
        .insert_envelope(&env, std::slice::from_ref(&link), &[], &[])
        .await?;
    assert_eq!(
        store
            .link_by_token(&Sha256Digest::from_bytes([8; 32]))
            .await?,
        None
    );
    let (tenant_id, found, guard) = store
        .link_by_token(&link.token_hash)
        .await?
        .expect("the link by its token hash");
    assert_eq!((tenant_id, &found), (t.id, &link));
    assert_eq!(guard, LinkGuard::default());

    let mut changed = guard.clone();
    changed.failed_attempts = 3;
    changed.locked_until = Some(now() + Duration::minutes(30));
    changed.code = Some(IssuedCode {
        hmac: [5; 32],
        channel: AuthMethod::Voice,
        expires_at: now() + Duration::minutes(10),
    });
    changed.codes_sent = 2;
    changed.codes_window_start = Some(now());
    changed.sessions_started = 1;
    changed.opened_at = Some(now());
    let session = PortalSession {
        token_hash: Sha256Digest::from_bytes([4; 32]),
        link_id: link.id,
        tenant_id: t.id,
        created_at: now(),
        expires_at: now() + Duration::minutes(30),
    };
    let failed = event(&t, Some(env.envelope.id), EventKind::AuthenticationFailed);
    store
        .save_link_guard(&t.id, &link.id, &changed, Some(&session), &[failed], &[])
        .await?;
    let (_, _, stored) = store.link_by_token(&link.token_hash).await?.expect("link");
    assert_eq!(
        stored,
        LinkGuard {
            version: 1,
            ..changed.clone()
        }
    );
    // A save from the stale version loses, and changes nothing.
    assert!(matches!(
        store
            .save_link_guard(&t.id, &link.id, &guard, None, &[], &[])
            .await,
        Err(StoreError::Conflict)
    ));
    // Another tenant cannot save the link's state.
    assert!(matches!(
        store
            .save_link_guard(&other.id, &link.id, &stored, None, &[], &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.link_by_token(&link.token_hash).await?.map(|l| l.2),
        Some(stored)
    );
    assert_eq!(
        store.portal_session(&session.token_hash).await?,
        Some(session.clone())
    );
    assert_eq!(
        store.envelope_events(&t.id, &env.envelope.id).await?.len(),
        1
    );
    assert_eq!(store.prune_portal_sessions(now()).await?, 0);
    assert_eq!(
        store
            .prune_portal_sessions(now() + Duration::hours(1))
            .await?,
        1
    );
    assert_eq!(store.portal_session(&session.token_hash).await?, None);
    Ok(())
}

/// `signet check --blobs` walks every stored document of every tenant, page by page.
async fn stored_documents_are_listed_in_pages(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let mut expected = Vec::new();
    for name in ["Acme", "Globex"] {
        let t = tenant(name);
        store.insert_tenant(&t, &[]).await?;
        let mut env = envelope(&t);
        // Both documents of Acme's envelope stored, one of Globex's; the other stays pending.
        for doc in env
            .documents
            .iter_mut()
            .take(if name == "Acme" { 2 } else { 1 })
        {
            let content = StoredContent {
                blob: BlobKey::random(),
                size: 7,
                sha256: Sha256Digest::from_bytes([3; 32]),
                sha3_256: Sha3Digest::from_bytes([4; 32]),
                content_type: "application/pdf".into(),
                stored_at: now(),
            };
            doc.content = DocumentContent::Stored(content.clone());
            expected.push((t.id, doc.id, content));
        }
        store.insert_envelope(&env, &[], &[], &[]).await?;
    }
    expected.sort_by_key(|(_, id, _)| id.to_string());

    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = store.stored_documents(after.as_ref(), 2).await?;
        assert!(page.len() <= 2);
        let Some((_, last)) = page.last() else { break };
        after = Some(last.id);
        for (tenant, doc) in page {
            let content = doc.stored().expect("only stored documents").clone();
            listed.push((tenant, doc.id, content));
        }
    }
    assert_eq!(listed, expected);
    Ok(())
}
