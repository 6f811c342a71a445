//! The signing core's use-cases on both backends, below any dialect: an envelope is created
//! from library documents, participants act through their signing links in the order the
//! lifecycle allows, invitations go out only when a participant's turn comes, every act is in
//! the transparency log, and the sender voids, reminds, lists and reads events.

use reqwest::Method;
use signet_core::error::CoreError;
use signet_core::ids::DocumentId;
use signet_core::jobs::JobState;
use signet_core::signing::lifecycle::{DraftDocument, DraftField, DraftParticipant, EnvelopeDraft};
use signet_core::signing::{
    AuthMethod, Command, CompletionRule, DocumentAction, EnvelopeStatus, FieldKind, FieldValue,
    Mark, NewSignEnvelope, Origin, ParticipantState, Redirects, Refusal, Role,
};
use signet_core::values::Language;
use signet_testkit::signing::{caller, collect, validate};
use signet_testkit::{TestApp, TestTenant};

signet_testkit::on_both!(
    two_signers_in_order_end_in_a_sealed_result_validators_accept,
    signers_act_in_order_and_each_act_is_recorded,
    links_are_not_transferable_and_forged_ones_find_nothing,
    void_ends_it_and_a_second_void_is_refused,
    listing_pages_with_a_cursor_and_tenants_are_isolated,
    bad_references_name_the_field,
    an_idempotency_key_answers_the_same_envelope,
    the_last_signature_is_sealed_at_once_without_a_failed_job,
);

async fn upload_pdf(
    app: &TestApp,
    tenant: &TestTenant,
    pages: usize,
) -> anyhow::Result<DocumentId> {
    let response = app
        .native(Method::POST, "/v1/documents", tenant)
        .query(&[("name", "contract.pdf")])
        .header("Content-Type", "application/pdf")
        .body(signet_pdf::sample::blank_with_trailer(pages, ""))
        .send()
        .await?
        .error_for_status()?;
    let created: serde_json::Value = response.json().await?;
    Ok(created["id"].as_str().unwrap_or_default().parse()?)
}

fn participant(key: &str, after: &[&str]) -> DraftParticipant {
    DraftParticipant {
        key: key.parse().expect("key"),
        name: format!("Person {key}").parse().expect("name"),
        email: Some(format!("{key}@example.com").parse().expect("email")),
        phone: None,
        role: Role::Signer,
        auth: AuthMethod::None,
        language: None,
        after: after.iter().map(|k| k.parse().expect("key")).collect(),
    }
}

fn signature_field(key: &str, document: DocumentId, page: u32) -> DraftField {
    DraftField {
        participant: key.parse().expect("key"),
        document,
        page,
        x: 0.1,
        y: 0.7,
        width: 0.3,
        height: 0.08,
        kind: FieldKind::Signature,
        required: true,
        label: None,
        value: None,
    }
}

fn draft(document: DocumentId) -> EnvelopeDraft {
    EnvelopeDraft {
        title: "Lease".parse().expect("title"),
        language: Language::En,
        expires_at: None,
        documents: vec![DraftDocument {
            document,
            action: DocumentAction::Sign,
        }],
        participants: vec![
            participant("ana", &[]),
            participant("ben", &["ana"]),
            participant("cy", &[]),
        ],
        fields: vec![
            signature_field("ana", document, 1),
            signature_field("ben", document, 2),
        ],
        completion: CompletionRule::AllSigners,
        reminders: None,
        redirects: Redirects::default(),
        signed_copy_offered: true,
    }
}

fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap_or_default().to_owned()
}

fn typed(name: &str) -> FieldValue {
    FieldValue::Mark(Mark::Typed { text: name.into() })
}

fn origin() -> Origin {
    Origin {
        ip: Some("203.0.113.7".parse().expect("ip")),
        user_agent: Some("test-browser/1.0".into()),
    }
}

async fn signers_act_in_order_and_each_act_is_recorded(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let caller = caller(&app, &tenant).await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let view = app
        .core
        .create_sign_envelope(
            &caller,
            NewSignEnvelope {
                draft: draft(document),
                origin: origin(),
                idempotency_key: None,
            },
        )
        .await?;
    let envelope = view.envelope.clone();
    assert_eq!(envelope.status, EnvelopeStatus::Open);
    let state = |key: &str, envelope: &signet_core::signing::SignEnvelope| {
        envelope
            .participant_by_key(&key.parse().expect("key"))
            .map(|p| p.state)
    };
    // ana and cy wait for nobody: invited at once; ben waits for ana.
    assert_eq!(state("ana", &envelope), Some(ParticipantState::Invited));
    assert_eq!(state("cy", &envelope), Some(ParticipantState::Invited));
    assert_eq!(state("ben", &envelope), Some(ParticipantState::Waiting));
    let url = |key: &str| {
        let id = envelope
            .participant_by_key(&key.parse().expect("key"))
            .map(|p| p.id)
            .expect("participant");
        view.signing_urls
            .iter()
            .find(|(p, _)| *p == id)
            .map(|(_, u)| u.clone())
            .expect("url")
    };
    assert!(url("ana").starts_with(&format!("{}/sign/", app.base_url)));
    let invitations = |jobs: &[signet_core::jobs::Job]| {
        jobs.iter()
            .filter(|j| j.kind.name() == "signing_mail")
            .count()
    };
    let pending = app.store.jobs_in_state(JobState::Pending, 1000).await?;
    assert_eq!(invitations(&pending), 2, "only ana and cy are invited");

    // ben cannot sign before ana: refused, nothing changes.
    let ben = token_of(&url("ben"));
    let field_of = |key: &str| {
        let id = envelope
            .participant_by_key(&key.parse().expect("key"))
            .map(|p| p.id)
            .expect("participant");
        envelope.fields_of(id).next().map(|f| f.id).expect("field")
    };
    let ben_field = field_of("ben");
    let refused = app
        .core
        .act_as_participant(
            &ben,
            |participant| Command::Sign {
                participant,
                values: vec![(ben_field, typed("Person ben"))],
                consent: true,
            },
            &origin(),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(CoreError::Refused(Refusal::NotYourTurn { .. }))
        ),
        "{refused:?}"
    );

    // ana authenticates (method none) and signs; then ben's turn comes and he is invited.
    let ana = token_of(&url("ana"));
    let ana_field = field_of("ana");
    app.core
        .act_as_participant(&ana, |participant| Command::Open { participant }, &origin())
        .await?;
    app.core
        .act_as_participant(
            &ana,
            |participant| Command::Authenticate { participant },
            &origin(),
        )
        .await?;
    let after = app
        .core
        .act_as_participant(
            &ana,
            |participant| Command::Sign {
                participant,
                values: vec![(ana_field, typed("Person ana"))],
                consent: true,
            },
            &origin(),
        )
        .await?;
    assert_eq!(state("ana", &after), Some(ParticipantState::Signed));
    assert_eq!(state("ben", &after), Some(ParticipantState::Invited));
    let pending = app.store.jobs_in_state(JobState::Pending, 1000).await?;
    assert!(
        pending.iter().any(|j| j.kind.name() == "apply_signature"),
        "ana's signature is made by a job"
    );
    assert_eq!(
        invitations(&pending),
        3,
        "ben is invited once his turn comes"
    );

    // ana cannot sign twice; a replayed post is refused.
    let again = app
        .core
        .act_as_participant(
            &ana,
            |participant| Command::Sign {
                participant,
                values: vec![],
                consent: true,
            },
            &origin(),
        )
        .await;
    assert!(matches!(again, Err(CoreError::Refused(_))), "{again:?}");

    // Every act is in the log with its leaf hash, the participant's address and user agent.
    let events = app.core.sign_envelope_events(&caller, &envelope.id).await?;
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            serde_json::to_value(&e.event.kind).expect("json")["kind"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    for expected in ["created", "invited", "opened", "authenticated", "signed"] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "{expected} in {kinds:?}"
        );
    }
    let signed = events
        .iter()
        .find(|e| matches!(e.event.kind, signet_core::signing::EventKind::Signed { .. }))
        .expect("signed event");
    assert_eq!(signed.event.origin, origin());
    assert_ne!(signed.leaf_hash, [0; 32]);
    Ok(())
}

async fn links_are_not_transferable_and_forged_ones_find_nothing(
    app: TestApp,
) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let caller = caller(&app, &tenant).await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let view = app
        .core
        .create_sign_envelope(
            &caller,
            NewSignEnvelope {
                draft: draft(document),
                origin: origin(),
                idempotency_key: None,
            },
        )
        .await?;
    let envelope = &view.envelope;
    let ana = envelope.participant_by_key(&"ana".parse()?).expect("ana");
    let cy = envelope.participant_by_key(&"cy".parse()?).expect("cy");
    let cy_token = token_of(
        &view
            .signing_urls
            .iter()
            .find(|(p, _)| *p == cy.id)
            .expect("cy's url")
            .1,
    );
    // cy's link used to fill ana's field: refused as not theirs.
    let ana_field = envelope.fields_of(ana.id).next().expect("field").id;
    for command in [
        (|participant| Command::Open { participant }) as fn(_) -> Command,
        |participant| Command::Authenticate { participant },
    ] {
        app.core
            .act_as_participant(&cy_token, command, &origin())
            .await?;
    }
    let stolen = app
        .core
        .act_as_participant(
            &cy_token,
            |participant| Command::Sign {
                participant,
                values: vec![(ana_field, typed("Person ana"))],
                consent: true,
            },
            &origin(),
        )
        .await;
    assert!(
        matches!(stolen, Err(CoreError::Refused(Refusal::NotYourField(_)))),
        "{stolen:?}"
    );
    // Forged, truncated and foreign-instance tokens find nothing.
    let mut forged = cy_token.clone().into_bytes();
    forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
    for token in [
        String::from_utf8(forged)?,
        cy_token[..40].to_owned(),
        "x".repeat(43),
    ] {
        let result = app.core.participant_envelope(&token).await;
        assert!(
            matches!(result, Err(CoreError::NotFound)),
            "{token}: {result:?}"
        );
    }
    Ok(())
}

async fn void_ends_it_and_a_second_void_is_refused(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let caller = caller(&app, &tenant).await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let view = app
        .core
        .create_sign_envelope(
            &caller,
            NewSignEnvelope {
                draft: draft(document),
                origin: origin(),
                idempotency_key: None,
            },
        )
        .await?;
    let id = view.envelope.id;
    let voided = app
        .core
        .void_sign_envelope(&caller, &id, "wrong rent".parse()?, origin(), None)
        .await?;
    assert_eq!(voided.envelope.status, EnvelopeStatus::Voided);
    let again = app
        .core
        .void_sign_envelope(&caller, &id, "again".parse()?, origin(), None)
        .await;
    assert!(
        matches!(
            again,
            Err(CoreError::Refused(Refusal::Closed(EnvelopeStatus::Voided)))
        ),
        "{again:?}"
    );
    // Nobody can act on a voided envelope.
    let ana = voided
        .envelope
        .participant_by_key(&"ana".parse()?)
        .expect("ana");
    let token = token_of(&app.core.signing_url(&ana.id));
    let late = app
        .core
        .act_as_participant(
            &token,
            |participant| Command::Open { participant },
            &origin(),
        )
        .await;
    assert!(matches!(late, Err(CoreError::Refused(_))), "{late:?}");
    // Results are not there.
    let result = app.core.sign_envelope_result(&caller, &id, None).await;
    assert!(
        matches!(result, Err(CoreError::StateConflict(_))),
        "{:?}",
        result.as_ref().err()
    );
    Ok(())
}

async fn listing_pages_with_a_cursor_and_tenants_are_isolated(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let other = app.tenant().await?;
    let caller = caller(&app, &tenant).await?;
    let other_caller = self::caller(&app, &other).await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let view = app
            .core
            .create_sign_envelope(
                &caller,
                NewSignEnvelope {
                    draft: draft(document),
                    origin: origin(),
                    idempotency_key: None,
                },
            )
            .await?;
        ids.push(view.envelope.id);
        app.clock.advance(time::Duration::seconds(1));
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .core
            .list_sign_envelopes(&caller, None, cursor.as_ref(), 2)
            .await?;
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        cursor = page.last().map(|e| e.id);
        seen.extend(page.into_iter().map(|e| e.id));
    }
    assert_eq!(seen, ids, "every envelope once, oldest first");
    app.core
        .void_sign_envelope(&caller, &ids[1], "x".parse()?, origin(), None)
        .await?;
    let voided = app
        .core
        .list_sign_envelopes(&caller, Some(EnvelopeStatus::Voided), None, 50)
        .await?;
    assert_eq!(
        voided.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    // Another tenant sees none of them, and cannot read, void or use the documents.
    assert!(
        app.core
            .list_sign_envelopes(&other_caller, None, None, 50)
            .await?
            .is_empty()
    );
    let foreign = app.core.sign_envelope(&other_caller, &ids[0]).await;
    assert!(matches!(foreign, Err(CoreError::NotFound)), "{foreign:?}");
    let foreign = app
        .core
        .void_sign_envelope(&other_caller, &ids[0], "x".parse()?, origin(), None)
        .await;
    assert!(matches!(foreign, Err(CoreError::NotFound)), "{foreign:?}");
    let foreign = app
        .core
        .create_sign_envelope(
            &other_caller,
            NewSignEnvelope {
                draft: draft(document),
                origin: origin(),
                idempotency_key: None,
            },
        )
        .await;
    assert!(
        matches!(&foreign, Err(CoreError::InvalidField { field, .. }) if field.starts_with("documents[0]")),
        "{foreign:?}"
    );
    Ok(())
}

async fn bad_references_name_the_field(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let caller = caller(&app, &tenant).await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let create = |draft: EnvelopeDraft| {
        let caller = caller.clone();
        let core = app.core.clone();
        async move {
            core.create_sign_envelope(
                &caller,
                NewSignEnvelope {
                    draft,
                    origin: Origin::default(),
                    idempotency_key: None,
                },
            )
            .await
        }
    };
    let events_before = app.event_count().await?;
    let mut unknown = draft(document);
    unknown.documents[0].document = DocumentId::generate();
    let mut page = draft(document);
    page.fields[1].page = 3;
    let mut cycle = draft(document);
    cycle.participants[0].after = vec!["ben".parse()?];
    for (draft, expected) in [
        (unknown, "documents[0]"),
        (page, "fields[1]"),
        (cycle, "participants"),
    ] {
        let result = create(draft).await;
        match result {
            Err(CoreError::InvalidField { field, .. }) => {
                assert!(field.starts_with(expected), "{field} for {expected}");
            }
            other => panic!("expected a field error for {expected}: {other:?}"),
        }
    }
    assert_eq!(app.event_count().await?, events_before, "nothing recorded");
    Ok(())
}

async fn an_idempotency_key_answers_the_same_envelope(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let caller = caller(&app, &tenant).await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let new = |key: &str, title: &str| {
        let mut draft = draft(document);
        draft.title = title.parse().expect("title");
        NewSignEnvelope {
            draft,
            origin: Origin::default(),
            idempotency_key: Some(key.into()),
        }
    };
    let first = app
        .core
        .create_sign_envelope(&caller, new("k-1", "Lease"))
        .await?;
    let again = app
        .core
        .create_sign_envelope(&caller, new("k-1", "Lease"))
        .await?;
    assert_eq!(first.envelope.id, again.envelope.id);
    let different = app
        .core
        .create_sign_envelope(&caller, new("k-1", "Other"))
        .await;
    assert!(
        matches!(different, Err(CoreError::StateConflict(_))),
        "{different:?}"
    );
    let listed = app
        .core
        .list_sign_envelopes(&caller, None, None, 50)
        .await?;
    assert_eq!(listed.len(), 1);
    Ok(())
}

async fn sign_as(
    app: &TestApp,
    token: &str,
    field: signet_core::signing::FieldId,
    name: &str,
) -> anyhow::Result<()> {
    for command in [
        (|participant| Command::Open { participant }) as fn(_) -> Command,
        |participant| Command::Authenticate { participant },
    ] {
        app.core
            .act_as_participant(token, command, &origin())
            .await?;
    }
    let value = typed(name);
    app.core
        .act_as_participant(
            token,
            move |participant| Command::Sign {
                participant,
                values: vec![(field, value.clone())],
                consent: true,
            },
            &origin(),
        )
        .await?;
    Ok(())
}

/// Runs jobs until none is due, moving the clock past retry delays (a signature waits for the
/// earlier signer's, the seal for every signature).
async fn settle(app: &TestApp) -> anyhow::Result<()> {
    for _ in 0..12 {
        app.run_jobs().await?;
        app.clock.advance(time::Duration::seconds(20));
    }
    Ok(())
}

/// The seal is enqueued with the last signature and waits for it in the queue, not by failing:
/// one pass of the worker, with no time passing, applies the signature and seals (the
/// `signet-bench act` benchmark found every envelope sealed 5 s late, after a failed attempt).
async fn the_last_signature_is_sealed_at_once_without_a_failed_job(
    app: TestApp,
) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let caller = caller(&app, &tenant).await?;
    let document = upload_pdf(&app, &tenant, 1).await?;
    let mut one = draft(document);
    one.participants.truncate(1);
    one.fields.truncate(1);
    let view = app
        .core
        .create_sign_envelope(
            &caller,
            NewSignEnvelope {
                draft: one,
                origin: origin(),
                idempotency_key: None,
            },
        )
        .await?;
    let envelope = view.envelope.clone();
    let ana = &envelope.participants[0];
    let field = envelope
        .fields_of(ana.id)
        .next()
        .ok_or_else(|| anyhow::anyhow!("no field"))?
        .id;
    app.run_jobs().await?;
    sign_as(
        &app,
        &token_of(&app.core.signing_url(&ana.id)),
        field,
        "Ana Signer",
    )
    .await?;
    app.run_jobs().await?;

    let view = app.core.sign_envelope(&caller, &envelope.id).await?;
    assert_eq!(view.envelope.status, EnvelopeStatus::Completed);
    assert!(view.envelope.sealed_at.is_some(), "sealed in the same pass");
    let kinds: Vec<_> = view.versions.iter().map(|v| v.kind).collect();
    assert!(
        kinds.contains(&signet_core::signing::SignVersionKind::Signed)
            && kinds.contains(&signet_core::signing::SignVersionKind::Sealed),
        "{kinds:?}"
    );
    let done = app.store.jobs_in_state(JobState::Done, 1000).await?;
    let retried: Vec<_> = done
        .iter()
        .filter(|j| j.attempts > 1 || j.last_error.is_some())
        .map(|j| (j.kind.name(), j.last_error.clone()))
        .collect();
    assert!(retried.is_empty(), "jobs that failed first: {retried:?}");
    Ok(())
}

async fn two_signers_in_order_end_in_a_sealed_result_validators_accept(
    app: TestApp,
) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let caller = caller(&app, &tenant).await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let mut two = draft(document);
    two.participants.truncate(2);
    let view = app
        .core
        .create_sign_envelope(
            &caller,
            NewSignEnvelope {
                draft: two,
                origin: origin(),
                idempotency_key: None,
            },
        )
        .await?;
    let envelope = view.envelope.clone();
    let link = |key: &str| -> anyhow::Result<(String, signet_core::signing::FieldId)> {
        let p = envelope
            .participant_by_key(&key.parse()?)
            .ok_or_else(|| anyhow::anyhow!("no {key}"))?;
        let field = envelope
            .fields_of(p.id)
            .next()
            .ok_or_else(|| anyhow::anyhow!("no field"))?
            .id;
        Ok((token_of(&app.core.signing_url(&p.id)), field))
    };
    let (ana, ana_field) = link("ana")?;
    let (ben, ben_field) = link("ben")?;
    sign_as(&app, &ana, ana_field, "Ana Signer").await?;
    settle(&app).await?;
    sign_as(&app, &ben, ben_field, "Ben Signer").await?;
    settle(&app).await?;

    let view = app.core.sign_envelope(&caller, &envelope.id).await?;
    assert_eq!(view.envelope.status, EnvelopeStatus::Completed);
    assert!(view.envelope.sealed_at.is_some(), "sealed by the job");
    assert_eq!(view.results.len(), 1);
    assert!(view.certificate.is_some());
    let signed_versions = view
        .versions
        .iter()
        .filter(|v| v.kind == signet_core::signing::SignVersionKind::Signed)
        .count();
    assert_eq!(signed_versions, 2, "one signed version per signer");

    let (_, stream) = app
        .core
        .sign_envelope_result(&caller, &envelope.id, None)
        .await?;
    let sealed = collect(stream).await?;
    let (_, stream) = app
        .core
        .sign_envelope_certificate(&caller, &envelope.id)
        .await?;
    let certificate = collect(stream).await?;
    assert!(certificate.starts_with(b"%PDF-"));

    // pdfsig checks each signer's signature (the archival document time-stamp it lists
    // without verifying; pyHanko checks it).
    validate(&app, &sealed, 2, &["Ana Signer", "Ben Signer"]).await?;
    // Every act and every version is in the log; the events list carries their leaf hashes.
    let events = app.core.sign_envelope_events(&caller, &envelope.id).await?;
    assert!(
        events
            .iter()
            .any(|e| matches!(e.event.kind, signet_core::signing::EventKind::Sealed))
    );
    Ok(())
}
