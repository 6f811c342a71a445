//! `SecretStore`: sealed instance secrets, first writer wins unless replaced on purpose.

use std::sync::Arc;

use signet_core::store::Store;

use crate::now;

on_both!(instance_secrets_keep_the_first_unless_replaced);

async fn instance_secrets_keep_the_first_unless_replaced(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    assert_eq!(store.instance_secret("ledger-key").await?, None);
    // Two processes starting together: both are handed the one that was stored first.
    let first = store
        .insert_instance_secret("ledger-key", b"first", now())
        .await?;
    let second = store
        .insert_instance_secret("ledger-key", b"second", now())
        .await?;
    assert_eq!(
        (first.as_slice(), second.as_slice()),
        (&b"first"[..], &b"first"[..])
    );
    assert_eq!(
        store.instance_secret("ledger-key").await?,
        Some(b"first".to_vec())
    );
    // Rotation replaces it; other names are untouched.
    store
        .insert_instance_secret("pki-key", b"pki", now())
        .await?;
    store
        .replace_instance_secret("ledger-key", b"rotated", now())
        .await?;
    store
        .replace_instance_secret("new-key", b"fresh", now())
        .await?;
    assert_eq!(
        store.instance_secret("ledger-key").await?,
        Some(b"rotated".to_vec())
    );
    assert_eq!(
        store.instance_secret("pki-key").await?,
        Some(b"pki".to_vec())
    );
    assert_eq!(
        store.instance_secret("new-key").await?,
        Some(b"fresh".to_vec())
    );
    Ok(())
}
