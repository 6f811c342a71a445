//! `SigningStore`: a signing envelope round-trips whole (documents, participants with their
//! order, fields with their boxes and values), a save moves it under its version, a stale save
//! writes nothing, and another tenant sees nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use signet_core::blob::BlobKey;
use signet_core::ids::{DocumentId, EnvelopeId, TenantId};
use signet_core::signing::*;
use signet_core::store::{Store, StoreError};
use signet_core::values::Language;
use time::Duration;

use crate::{now, tenant};

on_both!(
    a_signing_envelope_round_trips_and_moves_under_its_version,
    a_signing_envelope_is_the_tenants_own,
);

/// A tenant with a three-page PDF (to sign) and a one-page PDF (to view) in its library.
struct Seeded {
    owner: TenantId,
    pages: BTreeMap<DocumentId, u32>,
    sign: DocumentId,
    view: DocumentId,
}

async fn seeded(store: &Arc<dyn Store>) -> anyhow::Result<Seeded> {
    let owner = tenant("Signing owner");
    store.insert_tenant(&owner, &[]).await?;
    let mut pages = BTreeMap::new();
    let mut ids = Vec::new();
    for count in [3u32, 1] {
        let bytes = format!("document of {count} pages");
        let document = LibraryDocument::original(
            DocumentId::generate(),
            owner.id,
            "contract.pdf".parse()?,
            MediaType::pdf(),
            FileFacts {
                size: bytes.len() as u64,
                sha256: signet_core::values::Sha256Digest::from_bytes([count as u8; 32]),
                sha3_256: signet_core::values::Sha3Digest::from_bytes([count as u8 + 1; 32]),
                pages: Some(count),
            },
            now(),
        );
        store
            .insert_library_document(&document, &BlobKey::random(), None, &[])
            .await?;
        pages.insert(document.id, count);
        ids.push(document.id);
    }
    Ok(Seeded {
        owner: owner.id,
        pages,
        sign: ids[0],
        view: ids[1],
    })
}

fn participant(key: &str, after: &[&str]) -> anyhow::Result<DraftParticipant> {
    Ok(DraftParticipant {
        key: key.parse()?,
        name: format!("Person {key}").parse()?,
        email: Some(format!("{key}@example.com").parse()?),
        phone: None,
        role: Role::Signer,
        auth: AuthMethod::EmailCode,
        language: Some(Language::Fr),
        after: after.iter().map(|k| k.parse()).collect::<Result<_, _>>()?,
    })
}

fn draft(seeded: &Seeded) -> anyhow::Result<EnvelopeDraft> {
    let (sign, view) = (seeded.sign, seeded.view);
    let text_field = DraftField {
        participant: "b".parse()?,
        document: sign,
        page: 3,
        x: 0.1,
        y: 0.7,
        width: 0.3,
        height: 0.05,
        kind: FieldKind::Text,
        required: false,
        label: Some("Employee number".parse()?),
        value: Some(FieldValue::Text("prefilled".into())),
    };
    Ok(EnvelopeDraft {
        title: "Employment contract".parse()?,
        language: Language::En,
        expires_at: Some(now() + Duration::days(30)),
        documents: vec![
            DraftDocument {
                document: sign,
                action: DocumentAction::Sign,
            },
            DraftDocument {
                document: view,
                action: DocumentAction::View,
            },
        ],
        participants: vec![
            participant("a", &[])?,
            participant("b", &["a"])?,
            participant("c", &["a"])?,
        ],
        fields: vec![
            DraftField {
                participant: "a".parse()?,
                kind: FieldKind::Signature,
                required: true,
                label: None,
                value: None,
                page: 1,
                ..text_field.clone()
            },
            text_field,
        ],
        completion: CompletionRule::AtLeast { min_signers: 2 },
        reminders: Some(ReminderPolicy {
            every_days: 2,
            max: 3,
        }),
        redirects: Redirects {
            success: Some("https://example.com/done".parse()?),
            cancel: None,
            error: None,
        },
        // Not the default, so that the round trip shows the column is read back.
        signed_copy_offered: false,
    })
}

fn origin() -> Origin {
    Origin {
        ip: None,
        user_agent: None,
    }
}

async fn a_signing_envelope_round_trips_and_moves_under_its_version(
    store: Arc<dyn Store>,
) -> anyhow::Result<()> {
    let seeded = seeded(&store).await?;
    let owner = seeded.owner;
    let created = create(
        EnvelopeId::generate(),
        owner,
        draft(&seeded)?,
        &seeded.pages,
        AuthPolicy::ALL,
        &origin(),
        now(),
    )?;
    let envelope = created.envelope;
    store
        .insert_sign_envelope(&envelope, None, &[], &[])
        .await?;
    let loaded = store
        .sign_envelope(&owner, &envelope.id)
        .await?
        .expect("stored");
    assert_eq!(loaded.envelope, envelope, "every part round-trips");
    assert_eq!(loaded.version, 1);

    // The first signer opens, authenticates and signs: the others' turn comes.
    let a = envelope.participants[0].id;
    let mut moved = envelope.clone();
    for command in [
        Command::Open { participant: a },
        Command::Authenticate { participant: a },
    ] {
        moved = apply(&moved, command, &origin(), now())?.envelope;
    }
    let signature = moved.fields[0].id;
    moved = apply(
        &moved,
        Command::Sign {
            participant: a,
            values: vec![(
                signature,
                FieldValue::Mark(Mark::Typed {
                    text: "Person a".into(),
                }),
            )],
            consent: true,
        },
        &origin(),
        now(),
    )?
    .envelope;
    assert_eq!(moved.participants[0].state, ParticipantState::Signed);
    assert_eq!(moved.participants[1].state, ParticipantState::Invited);
    store.save_sign_envelope(&moved, 1, None, &[], &[]).await?;
    let reloaded = store
        .sign_envelope(&owner, &envelope.id)
        .await?
        .expect("stored");
    assert_eq!(reloaded.envelope, moved, "the save is read back exactly");
    assert_eq!(reloaded.version, 2);
    assert_ne!(reloaded.envelope, envelope, "the acts changed the envelope");

    // A save from the first load is stale: refused, nothing written.
    let stale = store.save_sign_envelope(&envelope, 1, None, &[], &[]).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    assert_eq!(
        store
            .sign_envelope(&owner, &envelope.id)
            .await?
            .expect("stored"),
        reloaded
    );

    // A sender's change keeps its idempotency key with it; the key taken, nothing is written.
    let record = signet_core::store::IdempotencyRecord {
        operation: "envelope.remind",
        key: "remind-1".into(),
        request_digest: "d1".into(),
    };
    store
        .save_sign_envelope(&moved, 2, Some(&record), &[], &[])
        .await?;
    assert_eq!(
        store
            .idempotent_resource(&owner, "envelope.remind", "remind-1")
            .await?,
        Some(("d1".into(), envelope.id.to_string()))
    );
    let taken = store
        .save_sign_envelope(&moved, 3, Some(&record), &[], &[])
        .await;
    assert!(matches!(taken, Err(StoreError::Duplicate)), "{taken:?}");
    let after = store
        .sign_envelope(&owner, &envelope.id)
        .await?
        .expect("stored");
    assert_eq!(after.version, 3, "the taken key wrote nothing");
    Ok(())
}

async fn a_signing_envelope_is_the_tenants_own(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let seeded = seeded(&store).await?;
    let owner = seeded.owner;
    let stranger = tenant("Stranger");
    store.insert_tenant(&stranger, &[]).await?;
    let envelope = create(
        EnvelopeId::generate(),
        owner,
        draft(&seeded)?,
        &seeded.pages,
        AuthPolicy::ALL,
        &origin(),
        now(),
    )?
    .envelope;
    store
        .insert_sign_envelope(&envelope, None, &[], &[])
        .await?;
    assert!(
        store
            .sign_envelope(&stranger.id, &envelope.id)
            .await?
            .is_none()
    );
    // A save naming the envelope under another tenant changes nothing.
    let mut foreign = envelope.clone();
    foreign.tenant_id = stranger.id;
    let refused = store.save_sign_envelope(&foreign, 1, None, &[], &[]).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    Ok(())
}
