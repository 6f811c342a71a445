//! `SignerAccessStore`: a participant's guard starts at version 0, saves only from the version
//! it was read at (so of concurrent attempts exactly one wins each round), starts sessions and
//! enqueues jobs with it, and a form nonce is claimed once.

use std::collections::BTreeMap;
use std::sync::Arc;

use signet_core::blob::BlobKey;
use signet_core::ids::{DocumentId, EnvelopeId, ParticipantId};
use signet_core::jobs::{JobKind, NewJob};
use signet_core::signing::*;
use signet_core::store::{SignerCode, SignerGuard, SignerSession, Store, StoreError};
use signet_core::values::{Language, Sha256Digest};
use time::Duration;

use crate::{now, tenant};

on_both!(
    a_guard_saves_only_from_the_version_it_was_read_at,
    concurrent_first_saves_let_one_in,
    sessions_and_nonces_are_kept_and_pruned,
);

/// A stored one-signer envelope: its tenant and its participant.
async fn participant(
    store: &Arc<dyn Store>,
) -> anyhow::Result<(signet_core::ids::TenantId, ParticipantId)> {
    let owner = tenant("Signer access");
    store.insert_tenant(&owner, &[]).await?;
    let document = LibraryDocument::original(
        DocumentId::generate(),
        owner.id,
        "contract.pdf".parse()?,
        MediaType::pdf(),
        FileFacts {
            size: 10,
            sha256: Sha256Digest::from_bytes([1; 32]),
            sha3_256: signet_core::values::Sha3Digest::from_bytes([2; 32]),
            pages: Some(1),
        },
        now(),
    );
    store
        .insert_library_document(&document, &BlobKey::random(), None, &[])
        .await?;
    let draft = EnvelopeDraft {
        title: "Contract".parse()?,
        language: Language::En,
        expires_at: None,
        documents: vec![DraftDocument {
            document: document.id,
            action: DocumentAction::Sign,
        }],
        participants: vec![DraftParticipant {
            key: "a".parse()?,
            name: "Ada".parse()?,
            email: Some("ada@example.com".parse()?),
            phone: None,
            role: Role::Signer,
            auth: AuthMethod::EmailCode,
            language: None,
            after: Vec::new(),
        }],
        fields: Vec::new(),
        completion: CompletionRule::AllSigners,
        reminders: None,
        redirects: Redirects::default(),
        signed_copy_offered: true,
    };
    let pages = BTreeMap::from([(document.id, 1)]);
    let created = create(
        EnvelopeId::generate(),
        owner.id,
        draft,
        &pages,
        AuthPolicy::ALL,
        &Origin::default(),
        now(),
    )?;
    store
        .insert_sign_envelope(&created.envelope, None, &[], &[])
        .await?;
    Ok((owner.id, created.envelope.participants[0].id))
}

async fn a_guard_saves_only_from_the_version_it_was_read_at(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    let (tenant_id, who) = participant(&store).await?;
    let fresh = store.signer_guard(&who).await?;
    assert_eq!(fresh, SignerGuard::default(), "none saved yet");
    let guard = SignerGuard {
        failed_attempts: 2,
        locked_until: Some(now() + Duration::minutes(30)),
        code: Some(SignerCode {
            hmac: [9; 32],
            channel: AuthMethod::SmsCode,
            expires_at: now() + Duration::minutes(10),
        }),
        codes_sent: 1,
        codes_window_start: Some(now()),
        sessions_started: 0,
        version: 0,
    };
    let job = NewJob::at(
        JobKind::SendSignerCode {
            tenant_id,
            envelope_id: EnvelopeId::generate(),
            participant_id: who,
            sealed_code: "00".into(),
            expires_at: now(),
        },
        now(),
    );
    store
        .save_signer_guard(&tenant_id, &who, &guard, None, &[], &[job])
        .await?;
    let saved = store.signer_guard(&who).await?;
    assert_eq!(
        saved,
        SignerGuard {
            version: 1,
            ..guard.clone()
        }
    );
    // A save from the old version (0) writes nothing.
    let stale = SignerGuard {
        failed_attempts: 0,
        ..guard.clone()
    };
    assert!(matches!(
        store
            .save_signer_guard(&tenant_id, &who, &stale, None, &[], &[])
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.signer_guard(&who).await?.failed_attempts, 2);
    // Another tenant cannot save it.
    let other = tenant("Other");
    store.insert_tenant(&other, &[]).await?;
    assert!(
        store
            .save_signer_guard(&other.id, &who, &saved, None, &[], &[])
            .await
            .is_err()
    );
    store
        .save_signer_guard(
            &tenant_id,
            &who,
            &SignerGuard {
                code: None,
                ..saved
            },
            None,
            &[],
            &[],
        )
        .await?;
    let after = store.signer_guard(&who).await?;
    assert_eq!((after.version, after.code), (2, None));
    Ok(())
}

async fn concurrent_first_saves_let_one_in(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let (tenant_id, who) = participant(&store).await?;
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let guard = SignerGuard {
                    failed_attempts: 1,
                    ..SignerGuard::default()
                };
                store
                    .save_signer_guard(&tenant_id, &who, &guard, None, &[], &[])
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for attempt in attempts {
        results.push(attempt.await?);
    }
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StoreError::Conflict)))
    );
    assert_eq!(store.signer_guard(&who).await?.version, 1);
    Ok(())
}

async fn sessions_and_nonces_are_kept_and_pruned(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let (tenant_id, who) = participant(&store).await?;
    let session = SignerSession {
        token_hash: Sha256Digest::from_bytes([4; 32]),
        participant_id: who,
        tenant_id,
        created_at: now(),
        expires_at: now() + Duration::minutes(30),
    };
    let guard = SignerGuard {
        sessions_started: 1,
        ..SignerGuard::default()
    };
    store
        .save_signer_guard(&tenant_id, &who, &guard, Some(&session), &[], &[])
        .await?;
    assert_eq!(
        store.signer_session(&session.token_hash).await?,
        Some(session.clone())
    );
    assert_eq!(
        store
            .signer_session(&Sha256Digest::from_bytes([5; 32]))
            .await?,
        None
    );
    let nonce = "0123456789abcdef0123456789abcdef";
    assert!(
        store
            .claim_signer_nonce(nonce, &session.token_hash, session.expires_at)
            .await?
    );
    assert!(
        !store
            .claim_signer_nonce(nonce, &session.token_hash, session.expires_at)
            .await?,
        "a nonce is claimed once"
    );
    let pruned = store
        .prune_signer_access(session.expires_at + Duration::seconds(1))
        .await?;
    assert_eq!(pruned, 2, "the session and the nonce");
    assert_eq!(store.signer_session(&session.token_hash).await?, None);
    Ok(())
}
