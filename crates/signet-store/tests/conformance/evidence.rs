//! `EvidenceStore`: the gap-free event log and the transparency log's nodes and tree heads.

use std::sync::Arc;

use signet_core::model::*;
use signet_core::store::{Store, StoredTreeHead};
use signet_ledger::NodeId;

use crate::{envelope, event, now, tenant};

on_both!(
    events_are_sequenced_without_gaps,
    ledger_nodes_and_tree_heads_are_kept,
    events_are_read_per_envelope_and_tenant,
);

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

async fn ledger_nodes_and_tree_heads_are_kept(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let t = tenant("a");
    store.insert_tenant(&t, &[]).await?;
    let events: Vec<Event> = (0..5)
        .map(|_| event(&t, None, EventKind::ContactViewed))
        .collect();
    // In two transactions, so that the second integrates leaves into stored subtrees.
    store.append_events(&events[..3]).await?;
    store.append_events(&events[3..]).await?;
    assert_eq!(store.ledger_size().await?, 5);
    let leaves = store.ledger_leaves(0, 5).await?;
    for leaf in &leaves {
        assert_eq!(store.leaf_index(&leaf.leaf_hash).await?, Some(leaf.index));
    }
    assert_eq!(store.leaf_index(&[0; 32]).await?, None);
    let records = store.ledger_records(1, 3).await?;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].0, leaves[1]);
    assert_eq!(
        signet_core::evidence::leaf_hash_of_record(&records[0].1),
        leaves[1].leaf_hash,
        "the record is kept exactly as hashed"
    );
    // The perfect subtrees of five leaves: four at level 0 pairs into 2, then 1, at level 2.
    let level_one = store.ledger_level(1, 0, 10).await?;
    assert_eq!(
        level_one.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        vec![0, 1]
    );
    let top = NodeId { level: 2, index: 0 };
    let missing = NodeId { level: 2, index: 1 };
    let nodes = store.ledger_nodes(&[top, missing]).await?;
    assert_eq!(nodes.len(), 1, "absent nodes are left out");
    assert_eq!(
        nodes.get(&top),
        Some(&signet_ledger::node_hash(&level_one[0].1, &level_one[1].1))
    );

    assert_eq!(store.latest_tree_head().await?, None);
    let head = |size: u64, fill: u8, checkpoint: &str| StoredTreeHead {
        tree_size: size,
        root_hash: [fill; 32],
        checkpoint: checkpoint.into(),
        created_at: now(),
    };
    let first = head(3, 1, "three");
    store.insert_tree_head(&first).await?;
    store.insert_tree_head(&head(5, 2, "five")).await?;
    // A head for a size already signed is kept as it was.
    store.insert_tree_head(&head(3, 9, "again")).await?;
    assert_eq!(
        store.latest_tree_head().await?.map(|h| h.checkpoint),
        Some("five".into())
    );
    Ok(())
}

async fn events_are_read_per_envelope_and_tenant(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let (a, b) = (tenant("a"), tenant("b"));
    store.insert_tenant(&a, &[]).await?;
    store.insert_tenant(&b, &[]).await?;
    let (one, two) = (envelope(&a), envelope(&a));
    store.insert_envelope(&one, &[], &[], &[]).await?;
    store.insert_envelope(&two, &[], &[], &[]).await?;
    let kinds = [
        EventKind::EnvelopeCreated,
        EventKind::DocumentUploaded,
        EventKind::ContactViewed,
    ];
    for kind in kinds {
        store
            .append_events(&[
                event(&a, Some(one.envelope.id), kind),
                event(&a, Some(two.envelope.id), EventKind::ContactViewed),
            ])
            .await?;
    }
    let read = store.envelope_events(&a.id, &one.envelope.id).await?;
    assert_eq!(
        read.iter().map(|e| e.kind).collect::<Vec<_>>(),
        kinds,
        "in order"
    );
    assert!(read.iter().all(|e| e.envelope_id == Some(one.envelope.id)));
    assert!(
        store
            .envelope_events(&b.id, &one.envelope.id)
            .await?
            .is_empty()
    );
    Ok(())
}
