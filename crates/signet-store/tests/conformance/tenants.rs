//! `TenantStore`: tenants and single-use token ids.

use std::sync::Arc;

use signet_core::ids::TenantId;
use signet_core::model::{EventKind, TenantStatus};
use signet_core::store::{Store, StoreError};
use time::Duration;

use crate::{event, now, tenant};

on_both!(
    tenants_round_trip,
    token_ids_are_single_use_per_tenant,
    expired_token_ids_are_pruned,
);

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
    t.plan.signer_auth_required = false;
    t.name = "Acme Inc.".into();
    store.update_tenant(&t, &[]).await?;
    assert_eq!(store.tenant(&t.id).await?, Some(t.clone()));
    assert!(matches!(
        store.update_tenant(&tenant("ghost"), &[]).await,
        Err(StoreError::NotFound)
    ));
    let mut second = tenant("Globex");
    second.created_at = t.created_at + Duration::seconds(1);
    store.insert_tenant(&second, &[]).await?;
    assert_eq!(store.list_tenants().await?, vec![t, second]);
    assert_eq!(store.tenant(&TenantId::random()).await?, None);
    assert_eq!(store.ledger_size().await?, 1, "the creation event");
    Ok(())
}

async fn token_ids_are_single_use_per_tenant(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let (a, b) = (tenant("a"), tenant("b"));
    store.insert_tenant(&a, &[]).await?;
    store.insert_tenant(&b, &[]).await?;
    let t0 = now();
    let until = t0 + Duration::hours(2);
    assert!(store.claim_token_id(&a.id, "jti-1", until, t0).await?);
    assert!(!store.claim_token_id(&a.id, "jti-1", until, t0).await?);
    assert!(
        store.claim_token_id(&b.id, "jti-1", until, t0).await?,
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

async fn expired_token_ids_are_pruned(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let a = tenant("a");
    store.insert_tenant(&a, &[]).await?;
    let t0 = now();
    assert!(
        store
            .claim_token_id(&a.id, "short", t0 + Duration::minutes(1), t0)
            .await?
    );
    assert!(
        store
            .claim_token_id(&a.id, "long", t0 + Duration::hours(1), t0)
            .await?
    );
    assert_eq!(store.prune_token_ids(t0).await?, 0, "nothing expired yet");
    assert_eq!(store.prune_token_ids(t0 + Duration::minutes(2)).await?, 1);
    // The long one is still remembered; the short one may be used again.
    assert!(
        !store
            .claim_token_id(&a.id, "long", t0 + Duration::hours(1), t0)
            .await?
    );
    assert!(
        store
            .claim_token_id(&a.id, "short", t0 + Duration::minutes(1), t0)
            .await?
    );
    Ok(())
}
