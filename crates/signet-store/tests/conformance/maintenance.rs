//! `MaintenanceStore`: what `signet check` walks and checks.

use std::sync::Arc;

use signet_core::blob::BlobKey;
use signet_core::model::*;
use signet_core::store::Store;
use signet_core::values::*;
use signet_store::test_support::TestDatabase;

use crate::{envelope, event, now, tenant};

on_both!(
    stored_documents_are_listed_in_pages;
    with_database: integrity_check_finds_a_broken_event_sequence,
);

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
                sha3_256: Some(Sha3Digest::from_bytes([4; 32])),
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

async fn integrity_check_finds_a_broken_event_sequence(
    store: Arc<dyn Store>,
    db: &TestDatabase,
) -> anyhow::Result<()> {
    let t = tenant("a");
    store
        .insert_tenant(&t, &[event(&t, None, EventKind::TenantCreated)])
        .await?;
    store
        .append_events(&[event(&t, None, EventKind::ContactViewed)])
        .await?;
    store.check_integrity().await?;
    // An event removed behind the store's back leaves a gap the check reports.
    let removed =
        signet_store::test_support::execute(&db.url, "DELETE FROM events WHERE seq = 0").await?;
    assert_eq!(removed, 1);
    let err = store
        .check_integrity()
        .await
        .expect_err("a gap in the event sequence");
    assert!(err.to_string().contains("event sequence"), "{err}");
    Ok(())
}
