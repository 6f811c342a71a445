//! `AccessStore`: access links, their versioned guards, portal sessions.

use std::sync::Arc;

use signet_core::ids::*;
use signet_core::model::*;
use signet_core::store::{Store, StoreError};
use signet_core::values::*;
use time::Duration;

use crate::{envelope, event, link, now, tenant};

on_both!(
    link_guards_are_versioned_and_sessions_scoped,
    links_are_added_to_the_tenants_own_envelopes_only,
);

async fn link_guards_are_versioned_and_sessions_scoped(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    let (t, other) = (tenant("Acme"), tenant("Other"));
    store.insert_tenant(&t, &[]).await?;
    store.insert_tenant(&other, &[]).await?;
    let env = envelope(&t);
    let id = LinkId::generate();
    let link = AccessLink {
        id,
        envelope_id: env.envelope.id,
        participant_id: env.participants[0].id,
        key: LinkKey {
            link: Some(id),
            hash: Sha256Digest::from_bytes([9; 32]),
        },
        created_at: now(),
    };
    // A link minted before tokens carried their link's id: found by the bare hash.
    let older_id = LinkId::generate();
    let older = AccessLink {
        id: older_id,
        key: LinkKey {
            link: None,
            hash: Sha256Digest::from_bytes([7; 32]),
        },
        ..link.clone()
    };
    store
        .insert_envelope(&env, &[link.clone(), older.clone()], &[], &[])
        .await?;
    for wrong in [
        // Another hash, with the link's id or bare.
        LinkKey {
            link: Some(id),
            hash: Sha256Digest::from_bytes([8; 32]),
        },
        LinkKey {
            link: None,
            hash: Sha256Digest::from_bytes([8; 32]),
        },
        // The right hash without the id, or after another link's id.
        LinkKey {
            link: None,
            hash: link.key.hash,
        },
        LinkKey {
            link: Some(older_id),
            hash: link.key.hash,
        },
        LinkKey {
            link: Some(id),
            hash: older.key.hash,
        },
    ] {
        assert_eq!(store.link_by_token(&wrong).await?, None, "{wrong}");
    }
    let (tenant_id, found, guard) = store
        .link_by_token(&link.key)
        .await?
        .expect("the link by its key");
    assert_eq!((tenant_id, &found), (t.id, &link));
    assert_eq!(guard, LinkGuard::default());
    let (_, found, _) = store
        .link_by_token(&older.key)
        .await?
        .expect("the older link by its bare hash");
    assert_eq!(found, older);

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
    let (_, _, stored) = store.link_by_token(&link.key).await?.expect("link");
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
        store.link_by_token(&link.key).await?.map(|l| l.2),
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

async fn links_are_added_to_the_tenants_own_envelopes_only(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    let (t, other) = (tenant("Acme"), tenant("Other"));
    store.insert_tenant(&t, &[]).await?;
    store.insert_tenant(&other, &[]).await?;
    let env = envelope(&t);
    store.insert_envelope(&env, &[], &[], &[]).await?;
    let (first, second, forged) = (link(&env, 1), link(&env, 2), link(&env, 3));
    store
        .insert_access_links(&t.id, &[first.clone(), second.clone()])
        .await?;
    for added in [&first, &second] {
        let (tenant_id, found, guard) = store
            .link_by_token(&added.key)
            .await?
            .expect("the added link");
        assert_eq!(
            (tenant_id, &found, guard),
            (t.id, added, LinkGuard::default())
        );
    }
    // Another tenant cannot add a link to this envelope; nothing of the batch stays.
    let also = link(&env, 4);
    assert!(matches!(
        store
            .insert_access_links(&other.id, &[also.clone(), forged.clone()])
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.link_by_token(&forged.key).await?, None);
    assert_eq!(store.link_by_token(&also.key).await?, None);
    // Nor to an envelope that does not exist.
    let mut dangling = link(&env, 5);
    dangling.envelope_id = EnvelopeId::generate();
    assert!(matches!(
        store.insert_access_links(&t.id, &[dangling]).await,
        Err(StoreError::NotFound)
    ));
    Ok(())
}
