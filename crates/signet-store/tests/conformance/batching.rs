//! Group commit: concurrent writes (new envelopes, token ids, events) are committed together by
//! the store's writer. These scenarios send many at once, so that they share batches, and check
//! that each is answered for itself: a failing write fails alone, leaves nothing behind, and
//! does not fail or lose its neighbours; the transparency log stays gap-free.

use std::sync::Arc;

use signet_core::ids::*;
use signet_core::model::*;
use signet_core::store::{Store, StoreError};
use signet_core::values::*;
use tokio::task::JoinSet;

use crate::{document, envelope, event, link, now, tenant};

on_both!(
    a_failing_create_in_a_batch_fails_alone,
    concurrent_claims_of_one_token_id_succeed_once,
    a_burst_of_claims_is_answered_claim_by_claim,
    a_create_and_its_token_claim_commit_together,
    concurrent_event_appends_keep_the_log_gap_free,
);

/// How many writes are sent at once: more than one batch can hold is not needed, only enough
/// that several wait while one commits.
const AT_ONCE: usize = 48;

async fn a_failing_create_in_a_batch_fails_alone(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t = tenant("Acme");
    store.insert_tenant(&t, &[]).await?;
    let first = envelope(&t);
    store
        .insert_envelope(
            &first,
            &[link(&first, 0)],
            &[],
            &[event(
                &t,
                Some(first.envelope.id),
                EventKind::EnvelopeCreated,
            )],
        )
        .await?;

    // One write in the middle reuses the first envelope's id (a duplicate key), with documents
    // of its own that must not be left behind.
    let bad = AT_ONCE / 2;
    let mut bad_documents = Vec::new();
    let mut tasks = JoinSet::new();
    for i in 0..AT_ONCE {
        let mut aggregate = envelope(&t);
        if i == bad {
            aggregate.envelope.id = first.envelope.id;
            aggregate.documents = vec![document(0), document(1)];
            bad_documents = aggregate.documents.iter().map(|d| d.id).collect();
        }
        let link_id = LinkId::generate();
        let links = vec![AccessLink {
            id: link_id,
            envelope_id: aggregate.envelope.id,
            participant_id: aggregate.participants[0].id,
            key: LinkKey {
                link: Some(link_id),
                hash: Sha256Digest::from_bytes(rand_bytes()),
            },
            created_at: now(),
        }];
        let events = vec![event(
            &t,
            Some(aggregate.envelope.id),
            EventKind::EnvelopeCreated,
        )];
        let store = store.clone();
        tasks.spawn(async move {
            let result = store
                .insert_envelope(&aggregate, &links, &[], &events)
                .await;
            (i, aggregate, result)
        });
    }

    let mut created = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, aggregate, result) = joined?;
        if i == bad {
            assert!(
                matches!(result, Err(StoreError::Duplicate)),
                "the duplicate answers Duplicate, got {result:?}"
            );
        } else {
            result.map_err(|e| anyhow::anyhow!("write {i} failed beside a failing one: {e}"))?;
            created.push(aggregate);
        }
    }
    assert_eq!(created.len(), AT_ONCE - 1);
    for aggregate in &created {
        assert_eq!(
            store
                .envelope(&t.id, &aggregate.envelope.id)
                .await?
                .as_ref(),
            Some(aggregate),
            "every neighbour of the failing write is stored whole"
        );
        assert_eq!(
            store
                .envelope_events(&t.id, &aggregate.envelope.id)
                .await?
                .len(),
            1,
            "with its event"
        );
    }
    for id in bad_documents {
        assert_eq!(
            store.envelope_of_document(&id).await?,
            None,
            "the failing write left none of its rows"
        );
    }
    assert_eq!(
        store.envelope(&t.id, &first.envelope.id).await?.as_ref(),
        Some(&first),
        "the envelope whose id was reused is untouched"
    );
    assert_log_is_whole(&store, 1 + created.len()).await
}

async fn concurrent_claims_of_one_token_id_succeed_once(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    let t = tenant("Acme");
    store.insert_tenant(&t, &[]).await?;
    let until = now() + time::Duration::minutes(5);
    let mut tasks = JoinSet::new();
    for i in 0..AT_ONCE {
        let store = store.clone();
        let tenant = t.id;
        // Even writes all claim one id; odd ones each their own.
        let jti = if i % 2 == 0 {
            "shared".to_owned()
        } else {
            format!("own-{i}")
        };
        tasks.spawn(async move {
            let fresh = store.claim_token_id(&tenant, &jti, until, now()).await;
            (jti, fresh)
        });
    }
    let mut shared_claims = 0;
    let mut own_claims = 0;
    while let Some(joined) = tasks.join_next().await {
        let (jti, fresh) = joined?;
        match (jti.as_str(), fresh?) {
            ("shared", true) => shared_claims += 1,
            ("shared", false) => {}
            (_, true) => own_claims += 1,
            (other, false) => anyhow::bail!("the fresh id {other} was refused"),
        }
    }
    assert_eq!(
        shared_claims, 1,
        "one of the concurrent claims of one id wins"
    );
    assert_eq!(own_claims, AT_ONCE / 2);
    assert!(
        !store.claim_token_id(&t.id, "shared", until, now()).await?,
        "and the id stays claimed"
    );
    Ok(())
}

/// The writer claims a batch's token ids a few statements at a time (chunks of 64, 16, 4, 1):
/// more claims at once than a batch holds, over two tenants that use the same ids, with ids
/// used before, still valid or expired, are each answered for themselves.
async fn a_burst_of_claims_is_answered_claim_by_claim(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let (a, b) = (tenant("Acme"), tenant("Bolt"));
    store.insert_tenant(&a, &[]).await?;
    store.insert_tenant(&b, &[]).await?;
    let until = now() + time::Duration::minutes(5);
    // Used before: "kept-*" still valid, "lapsed-*" valid until a minute ago.
    for i in 0..10 {
        assert!(
            store
                .claim_token_id(&a.id, &format!("kept-{i}"), until, now())
                .await?
        );
        let lapsed = now() - time::Duration::minutes(1);
        assert!(
            store
                .claim_token_id(
                    &a.id,
                    &format!("lapsed-{i}"),
                    lapsed,
                    now() - time::Duration::minutes(2)
                )
                .await?
        );
    }
    const BURST: usize = 150;
    let mut tasks = JoinSet::new();
    for i in 0..BURST {
        for (tenant, jti) in [(a.id, format!("new-{i}")), (b.id, format!("new-{i}"))] {
            let store = store.clone();
            tasks.spawn(async move {
                (
                    tenant,
                    jti.clone(),
                    store.claim_token_id(&tenant, &jti, until, now()).await,
                )
            });
        }
    }
    for i in 0..10 {
        for jti in [format!("kept-{i}"), format!("lapsed-{i}")] {
            let store = store.clone();
            let tenant = a.id;
            tasks.spawn(async move {
                (
                    tenant,
                    jti.clone(),
                    store.claim_token_id(&tenant, &jti, until, now()).await,
                )
            });
        }
    }
    let mut answers = 0;
    while let Some(joined) = tasks.join_next().await {
        let (tenant, jti, fresh) = joined?;
        let expected = !jti.starts_with("kept-");
        assert_eq!(fresh?, expected, "claim of {jti} for {tenant:?}");
        answers += 1;
    }
    assert_eq!(answers, BURST * 2 + 20);
    // Every id is now taken, on both tenants.
    for i in [0, 63, 64, 149] {
        for tenant in [a.id, b.id] {
            assert!(
                !store
                    .claim_token_id(&tenant, &format!("new-{i}"), until, now())
                    .await?
            );
        }
    }
    assert!(
        !store
            .claim_token_id(&a.id, "lapsed-3", until, now())
            .await?
    );
    Ok(())
}

/// `insert_envelope_claiming`: among concurrent creates that claim one token id, exactly one
/// is written; the others write nothing (no envelope, no event) and answer `TokenIdUsed`,
/// without failing their neighbours. A create that fails leaves its token id unclaimed.
async fn a_create_and_its_token_claim_commit_together(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t = tenant("Acme");
    store.insert_tenant(&t, &[]).await?;
    let claim = |id: &str| TokenClaim {
        token_id: id.to_owned(),
        valid_until: now() + time::Duration::minutes(5),
    };
    let mut tasks = JoinSet::new();
    for i in 0..AT_ONCE {
        let store = store.clone();
        // Even writes all claim one id; odd ones each their own.
        let token = if i % 2 == 0 {
            claim("shared")
        } else {
            claim(&format!("own-{i}"))
        };
        let aggregate = envelope(&t);
        let events = vec![event(
            &t,
            Some(aggregate.envelope.id),
            EventKind::EnvelopeCreated,
        )];
        tasks.spawn(async move {
            let result = store
                .insert_envelope_claiming(&token, now(), &aggregate, &[], &[], &events)
                .await;
            (token, aggregate, result)
        });
    }
    let (mut shared, mut own) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        let (token, aggregate, result) = joined?;
        let stored = store.envelope(&t.id, &aggregate.envelope.id).await?;
        match (token.token_id.as_str(), result) {
            (_, Ok(())) => {
                assert_eq!(
                    stored.as_ref(),
                    Some(&aggregate),
                    "a claimed create is stored"
                );
                if token.token_id == "shared" {
                    shared += 1;
                } else {
                    own += 1;
                }
            }
            ("shared", Err(StoreError::TokenIdUsed)) => {
                assert_eq!(stored, None, "a replay writes nothing");
            }
            (id, Err(e)) => anyhow::bail!("the create with the fresh id {id} failed: {e}"),
        }
    }
    assert_eq!(shared, 1, "one create per token id");
    assert_eq!(own, AT_ONCE / 2);
    assert!(
        !store
            .claim_token_id(&t.id, "shared", now() + time::Duration::minutes(5), now())
            .await?,
        "the id stays claimed"
    );

    // A create that fails (a duplicate envelope id) rolls its claim back with it.
    let first = envelope(&t);
    store
        .insert_envelope_claiming(&claim("first"), now(), &first, &[], &[], &[])
        .await?;
    let mut again = envelope(&t);
    again.envelope.id = first.envelope.id;
    let failed = store
        .insert_envelope_claiming(&claim("unlucky"), now(), &again, &[], &[], &[])
        .await;
    assert!(
        matches!(failed, Err(StoreError::Duplicate)),
        "got {failed:?}"
    );
    assert!(
        store
            .claim_token_id(&t.id, "unlucky", now() + time::Duration::minutes(5), now())
            .await?,
        "a failed create leaves its token id unclaimed"
    );
    assert_log_is_whole(&store, 1 + AT_ONCE / 2).await
}

async fn concurrent_event_appends_keep_the_log_gap_free(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    let t = tenant("Acme");
    store.insert_tenant(&t, &[]).await?;
    let mut tasks = JoinSet::new();
    let mut written = 0;
    for i in 0..AT_ONCE {
        let store = store.clone();
        // Writes of 1 to 3 events, so that batches hold writes of several sizes.
        let events: Vec<Event> = (0..=i % 3)
            .map(|_| event(&t, None, EventKind::EnvelopeCreated))
            .collect();
        written += events.len();
        tasks.spawn(async move { store.append_events(&events).await });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    assert_log_is_whole(&store, written).await
}

/// The log holds exactly `size` leaves, numbered 0 to `size - 1`, each its record's hash.
async fn assert_log_is_whole(store: &Arc<dyn Store>, size: usize) -> anyhow::Result<()> {
    let size = u64::try_from(size)?;
    assert_eq!(store.ledger_size().await?, size);
    let records = store.ledger_records(0, size + 10).await?;
    assert_eq!(records.len() as u64, size, "one leaf per event");
    for (expected, (leaf, record)) in (0u64..).zip(&records) {
        assert_eq!(leaf.index, expected, "leaves are numbered without a gap");
        assert_eq!(
            leaf.leaf_hash,
            signet_core::evidence::leaf_hash_of_record(record),
            "the leaf hash is its record's"
        );
    }
    Ok(())
}

fn rand_bytes() -> [u8; 32] {
    rand::random()
}
