//! The signing rules, each tested directly, and the lifecycle's invariants tested over random
//! envelopes driven by random commands.

use std::collections::BTreeMap;

use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

use super::lifecycle::{MAX_DOCUMENTS, MAX_FIELDS, MAX_PARTICIPANTS};
use super::model::MANUAL_REMINDER_LIMIT;
use super::*;
use crate::ids::{DocumentId, EnvelopeId, ParticipantId, TenantId};

fn at(hours: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::hours(hours)
}

fn key(name: &str) -> ParticipantKey {
    name.parse().expect("a key")
}

/// A three-page document to sign and a one-page document to view.
struct Library {
    sign: DocumentId,
    view: DocumentId,
    pages: BTreeMap<DocumentId, u32>,
}

fn library() -> Library {
    let sign = DocumentId::generate();
    let view = DocumentId::generate();
    Library {
        sign,
        view,
        pages: BTreeMap::from([(sign, 3), (view, 1)]),
    }
}

fn person(name: &str, role: Role, after: &[&str]) -> DraftParticipant {
    DraftParticipant {
        key: key(name),
        name: format!("Person {name}").parse().expect("a name"),
        email: Some(format!("{name}@example.com").parse().expect("an address")),
        phone: None,
        role,
        auth: AuthMethod::EmailCode,
        language: None,
        after: after.iter().map(|k| key(k)).collect(),
    }
}

fn signer(name: &str, after: &[&str]) -> DraftParticipant {
    person(name, Role::Signer, after)
}

fn field(owner: &str, doc: DocumentId, kind: FieldKind, required: bool) -> DraftField {
    DraftField {
        participant: key(owner),
        document: doc,
        page: 1,
        x: 0.1,
        y: 0.8,
        width: 0.3,
        height: 0.1,
        kind,
        required,
        label: None,
        value: None,
    }
}

fn draft(lib: &Library, participants: Vec<DraftParticipant>) -> EnvelopeDraft {
    EnvelopeDraft {
        title: "Lease".parse().expect("a title"),
        language: crate::values::Language::En,
        expires_at: Some(at(24 * 30)),
        documents: vec![
            DraftDocument {
                document: lib.sign,
                action: DocumentAction::Sign,
            },
            DraftDocument {
                document: lib.view,
                action: DocumentAction::View,
            },
        ],
        participants,
        fields: Vec::new(),
        completion: CompletionRule::AllSigners,
        reminders: None,
        redirects: Redirects::default(),
        signed_copy_offered: true,
    }
}

fn origin() -> Origin {
    Origin {
        ip: Some("192.0.2.7".parse().expect("an address")),
        user_agent: Some("test-agent".into()),
    }
}

fn open(lib: &Library, draft: EnvelopeDraft) -> Outcome {
    create(
        EnvelopeId::generate(),
        TenantId::random(),
        draft,
        &lib.pages,
        AuthPolicy::ALL,
        &origin(),
        at(0),
    )
    .expect("a valid draft")
}

fn id(env: &SignEnvelope, name: &str) -> ParticipantId {
    env.participant_by_key(&key(name)).expect("known").id
}

fn state(env: &SignEnvelope, name: &str) -> ParticipantState {
    env.participant_by_key(&key(name)).expect("known").state
}

fn run(env: &SignEnvelope, command: Command, hours: i64) -> Result<Outcome, Refusal> {
    apply(env, command, &origin(), at(hours))
}

fn step(env: &mut SignEnvelope, command: Command, hours: i64) -> Outcome {
    let outcome = run(env, command.clone(), hours)
        .unwrap_or_else(|refusal| panic!("{command:?} refused: {refusal}"));
    *env = outcome.envelope.clone();
    outcome
}

/// Opens and authenticates a participant.
fn enter(env: &mut SignEnvelope, name: &str, hours: i64) {
    let participant = id(env, name);
    step(env, Command::Open { participant }, hours);
    step(env, Command::Authenticate { participant }, hours);
}

/// Enters and signs with consent and no extra values.
fn sign(env: &mut SignEnvelope, name: &str, hours: i64) -> Outcome {
    enter(env, name, hours);
    let participant = id(env, name);
    step(
        env,
        Command::Sign {
            participant,
            values: Vec::new(),
            consent: true,
        },
        hours,
    )
}

fn sign_command(env: &SignEnvelope, name: &str) -> Command {
    Command::Sign {
        participant: id(env, name),
        values: Vec::new(),
        consent: true,
    }
}

fn reason(text: &str) -> Reason {
    text.parse().expect("a reason")
}

// ---------------------------------------------------------------------------------------------
// Creation

#[test]
fn creation_opens_and_invites_whoever_waits_for_nobody() {
    let lib = library();
    let mut d = draft(
        &lib,
        vec![
            signer("a", &[]),
            signer("b", &["a"]),
            person("v", Role::Viewer, &[]),
            person("cc", Role::Copy, &[]),
        ],
    );
    d.reminders = Some(ReminderPolicy {
        every_days: 2,
        max: 3,
    });
    let out = open(&lib, d);
    let env = &out.envelope;
    assert_eq!(env.status, EnvelopeStatus::Open);
    assert_eq!(env.created_at, at(0));
    assert_eq!(state(env, "a"), ParticipantState::Invited);
    assert_eq!(state(env, "v"), ParticipantState::Invited);
    assert_eq!(state(env, "b"), ParticipantState::Waiting);
    assert_eq!(
        state(env, "cc"),
        ParticipantState::Waiting,
        "copies wait for the result"
    );
    assert_eq!(
        env.participant_by_key(&key("a")).and_then(|p| p.invited_at),
        Some(at(0))
    );
    assert_eq!(
        out.effects,
        vec![
            Effect::Schedule {
                at: at(24 * 30),
                timer: Timer::Expire
            },
            Effect::Invite(vec![id(env, "a"), id(env, "v")]),
            Effect::Schedule {
                at: at(48),
                timer: Timer::Reminders
            },
        ]
    );
    let kinds: Vec<&EventKind> = out.events.iter().map(|e| &e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            &EventKind::Created,
            &EventKind::Invited {
                participant: id(env, "a")
            },
            &EventKind::Invited {
                participant: id(env, "v")
            },
        ]
    );
    assert_eq!(out.events[0].actor, Actor::Sender);
    assert_eq!(
        out.events[0].origin,
        origin(),
        "the sender's act keeps its origin"
    );
    assert_eq!(out.events[1].actor, Actor::System);
    assert_eq!(out.events[1].origin, Origin::default());
    assert!(out.events.iter().all(|e| e.at == at(0)));
    assert_eq!(may_act_now(env), vec![id(env, "a")], "viewers never act");
    assert_eq!(env.documents[0].pages, 3);
    assert_eq!(
        env.participants[0].language,
        crate::values::Language::En,
        "the envelope's language by default"
    );
}

#[test]
fn no_expiry_and_no_reminders_schedule_nothing() {
    let lib = library();
    let mut d = draft(&lib, vec![signer("a", &[])]);
    d.expires_at = None;
    d.reminders = Some(ReminderPolicy {
        every_days: 1,
        max: 0,
    });
    let out = open(&lib, d);
    assert_eq!(
        out.effects,
        vec![Effect::Invite(vec![id(&out.envelope, "a")])]
    );
}

/// Creates `d` and returns where and why it was refused.
fn refusal(lib: &Library, d: EnvelopeDraft) -> (String, DraftProblem) {
    refusal_with(lib, d, AuthPolicy::ALL)
}

fn refusal_with(lib: &Library, d: EnvelopeDraft, policy: AuthPolicy) -> (String, DraftProblem) {
    let err = create(
        EnvelopeId::generate(),
        TenantId::random(),
        d,
        &lib.pages,
        policy,
        &origin(),
        at(0),
    )
    .expect_err("refused");
    (err.location, err.problem)
}

#[test]
fn documents_are_checked() {
    let lib = library();
    let base = || draft(&lib, vec![signer("a", &[])]);

    let mut d = base();
    d.documents.clear();
    assert_eq!(
        refusal(&lib, d),
        ("documents".into(), DraftProblem::NoDocuments)
    );

    let mut d = base();
    d.documents.remove(0);
    assert_eq!(
        refusal(&lib, d),
        ("documents".into(), DraftProblem::NothingToSign)
    );

    let mut d = base();
    d.documents.push(d.documents[0].clone());
    assert_eq!(
        refusal(&lib, d),
        (
            "documents[2].id".into(),
            DraftProblem::DuplicateDocument(lib.sign)
        )
    );

    let mut d = base();
    let stranger = DocumentId::generate();
    d.documents[1].document = stranger;
    assert_eq!(
        refusal(&lib, d),
        (
            "documents[1].id".into(),
            DraftProblem::UnknownDocument(stranger)
        )
    );

    let mut d = base();
    let one = d.documents[0].clone();
    d.documents = vec![one; MAX_DOCUMENTS + 1];
    assert_eq!(
        refusal(&lib, d),
        (
            "documents".into(),
            DraftProblem::TooMany {
                what: "documents",
                max: MAX_DOCUMENTS
            }
        )
    );
}

#[test]
fn participants_are_checked() {
    let lib = library();
    let with = |participants| draft(&lib, participants);

    assert_eq!(
        refusal(
            &lib,
            with(vec![
                person("v", Role::Viewer, &[]),
                person("x", Role::Approver, &[])
            ])
        ),
        ("participants".into(), DraftProblem::NoSigner)
    );
    assert_eq!(
        refusal(&lib, with(vec![signer("a", &[]), signer("a", &[])])),
        (
            "participants[1].key".into(),
            DraftProblem::DuplicateKey(key("a"))
        )
    );

    let mut no_mail = signer("a", &[]);
    no_mail.email = None;
    assert_eq!(
        refusal(&lib, with(vec![no_mail.clone()])),
        (
            "participants[0].email".into(),
            DraftProblem::MissingContact {
                participant: key("a"),
                method: AuthMethod::EmailCode,
                needs: "an e-mail address"
            }
        )
    );
    for method in [AuthMethod::SmsCode, AuthMethod::VoiceCode] {
        let mut p = signer("b", &[]);
        p.auth = method;
        assert_eq!(
            refusal(&lib, with(vec![signer("a", &[]), p.clone()])),
            (
                "participants[1].phone".into(),
                DraftProblem::MissingContact {
                    participant: key("b"),
                    method,
                    needs: "a phone number"
                }
            )
        );
        p.phone = Some(crate::values::Phone::from_national("CA", "8191234567").expect("phone"));
        p.email = None;
        assert!(
            create(
                EnvelopeId::generate(),
                TenantId::random(),
                with(vec![p]),
                &lib.pages,
                AuthPolicy::ALL,
                &origin(),
                at(0)
            )
            .is_ok(),
            "{method:?} with a phone only"
        );
    }
    // With no code to send, no contact is needed: the sender hands the link over.
    no_mail.auth = AuthMethod::None;
    assert!(
        create(
            EnvelopeId::generate(),
            TenantId::random(),
            with(vec![no_mail.clone()]),
            &lib.pages,
            AuthPolicy::ALL,
            &origin(),
            at(0)
        )
        .is_ok()
    );
    let forbidding = AuthPolicy {
        allow_none: false,
        ..AuthPolicy::ALL
    };
    assert_eq!(
        refusal_with(&lib, with(vec![no_mail]), forbidding),
        (
            "participants[0].auth".into(),
            DraftProblem::AuthNotAllowed(AuthMethod::None)
        )
    );

    let mut copy = person("cc", Role::Copy, &[]);
    copy.email = None;
    copy.auth = AuthMethod::None;
    assert_eq!(
        refusal(&lib, with(vec![signer("a", &[]), copy])),
        (
            "participants[1].email".into(),
            DraftProblem::CopyUnreachable(key("cc"))
        )
    );

    let many = (0..=MAX_PARTICIPANTS)
        .map(|i| signer(&format!("p{i}"), &[]))
        .collect();
    assert_eq!(
        refusal(&lib, with(many)),
        (
            "participants".into(),
            DraftProblem::TooMany {
                what: "participants",
                max: MAX_PARTICIPANTS
            }
        )
    );
}

#[test]
fn order_errors_name_the_participant() {
    let lib = library();
    let (location, problem) = refusal(
        &lib,
        draft(
            &lib,
            vec![signer("a", &[]), signer("b", &["c"]), signer("c", &["b"])],
        ),
    );
    assert_eq!(location, "participants[1].after");
    assert_eq!(
        problem,
        DraftProblem::Order(OrderError::Cycle {
            participant: key("b"),
            cycle: vec![key("b"), key("c")]
        })
    );
    let (location, problem) = refusal(
        &lib,
        draft(&lib, vec![signer("a", &[]), signer("b", &["b"])]),
    );
    assert_eq!(location, "participants[1].after");
    assert_eq!(
        problem,
        DraftProblem::Order(OrderError::SelfEdge {
            participant: key("b")
        })
    );
    let (location, problem) = refusal(&lib, draft(&lib, vec![signer("a", &["nobody"])]));
    assert_eq!(location, "participants[0].after");
    assert!(matches!(
        problem,
        DraftProblem::Order(OrderError::UnknownKey { .. })
    ));
}

#[test]
fn fields_are_checked() {
    let lib = library();
    let base = || {
        draft(
            &lib,
            vec![
                signer("a", &[]),
                person("x", Role::Approver, &[]),
                person("v", Role::Viewer, &[]),
            ],
        )
    };
    let with = |f: DraftField| {
        let mut d = base();
        d.fields = vec![field("a", lib.sign, FieldKind::Text, false), f];
        refusal(&lib, d)
    };

    assert_eq!(
        with(field("zed", lib.sign, FieldKind::Text, true)),
        (
            "fields[1].participant".into(),
            DraftProblem::UnknownParticipant(key("zed"))
        )
    );
    for (who, role) in [("x", Role::Approver), ("v", Role::Viewer)] {
        assert_eq!(
            with(field(who, lib.sign, FieldKind::Signature, true)),
            (
                "fields[1].participant".into(),
                DraftProblem::FieldForNonSigner {
                    participant: key(who),
                    role
                }
            )
        );
    }
    let stranger = DocumentId::generate();
    assert_eq!(
        with(field("a", stranger, FieldKind::Text, true)),
        (
            "fields[1].document".into(),
            DraftProblem::NotInEnvelope(stranger)
        )
    );
    assert_eq!(
        with(field("a", lib.view, FieldKind::Text, true)),
        (
            "fields[1].document".into(),
            DraftProblem::FieldOnViewedDocument(lib.view)
        )
    );
    for page in [0, 4] {
        let mut f = field("a", lib.sign, FieldKind::Text, true);
        f.page = page;
        assert_eq!(
            with(f),
            (
                "fields[1].page".into(),
                DraftProblem::NoSuchPage { page, pages: 3 }
            )
        );
    }
    let mut last_page = base();
    let mut f = field("a", lib.sign, FieldKind::Text, true);
    f.page = 3;
    last_page.fields = vec![f];
    assert!(
        create(
            EnvelopeId::generate(),
            TenantId::random(),
            last_page,
            &lib.pages,
            AuthPolicy::ALL,
            &origin(),
            at(0)
        )
        .is_ok(),
        "the last page exists"
    );

    let mut f = field("a", lib.sign, FieldKind::Text, true);
    f.y = 1.0;
    assert_eq!(
        with(f),
        (
            "fields[1].y".into(),
            DraftProblem::Field(FieldError::Coordinate {
                name: "y",
                value: 1.0
            })
        )
    );
    let mut f = field("a", lib.sign, FieldKind::Text, true);
    f.x = 0.8;
    assert_eq!(
        with(f),
        (
            "fields[1].width".into(),
            DraftProblem::Field(FieldError::LeavesPage { edge: "right" })
        )
    );
    let mut f = field("a", lib.sign, FieldKind::Text, true);
    f.height = 0.3;
    assert_eq!(
        with(f),
        (
            "fields[1].height".into(),
            DraftProblem::Field(FieldError::LeavesPage { edge: "bottom" })
        )
    );
    let mut f = field("a", lib.sign, FieldKind::Date, true);
    f.value = Some(FieldValue::Text("tomorrow".into()));
    assert_eq!(
        with(f),
        (
            "fields[1].value".into(),
            DraftProblem::Field(FieldError::WrongType {
                kind: FieldKind::Date,
                given: "text"
            })
        )
    );

    let mut d = base();
    d.fields = vec![field("a", lib.sign, FieldKind::Text, false); MAX_FIELDS + 1];
    assert_eq!(
        refusal(&lib, d),
        (
            "fields".into(),
            DraftProblem::TooMany {
                what: "fields",
                max: MAX_FIELDS
            }
        )
    );
}

#[test]
fn rules_and_dates_are_checked() {
    let lib = library();
    let two = || {
        draft(
            &lib,
            vec![
                signer("a", &[]),
                signer("b", &[]),
                person("x", Role::Approver, &[]),
            ],
        )
    };
    for min_signers in [0, 3] {
        let mut d = two();
        d.completion = CompletionRule::AtLeast { min_signers };
        assert_eq!(
            refusal(&lib, d),
            (
                "completion.min_signers".into(),
                DraftProblem::MinSigners {
                    min: min_signers,
                    signers: 2
                }
            ),
            "approvers are not signers"
        );
    }
    let mut d = two();
    d.completion = CompletionRule::AtLeast { min_signers: 2 };
    assert!(
        create(
            EnvelopeId::generate(),
            TenantId::random(),
            d,
            &lib.pages,
            AuthPolicy::ALL,
            &origin(),
            at(0)
        )
        .is_ok()
    );

    let mut d = two();
    d.expires_at = Some(at(0));
    assert_eq!(
        refusal(&lib, d),
        ("expires_at".into(), DraftProblem::ExpiryPassed)
    );

    let mut d = two();
    d.reminders = Some(ReminderPolicy {
        every_days: 0,
        max: 2,
    });
    assert_eq!(
        refusal(&lib, d),
        (
            "reminders.every_days".into(),
            DraftProblem::ReminderInterval
        )
    );
}

#[test]
fn limits_are_inclusive() {
    let mut lib = library();
    let mut d = draft(&lib, Vec::new());
    d.documents.truncate(1);
    d.documents.extend((1..MAX_DOCUMENTS).map(|_| {
        let document = DocumentId::generate();
        lib.pages.insert(document, 1);
        DraftDocument {
            document,
            action: DocumentAction::Sign,
        }
    }));
    d.participants = (0..MAX_PARTICIPANTS)
        .map(|i| signer(&format!("p{i}"), &[]))
        .collect();
    d.fields = (0..MAX_FIELDS)
        .map(|i| {
            field(
                &format!("p{}", i % MAX_PARTICIPANTS),
                lib.sign,
                FieldKind::Text,
                false,
            )
        })
        .collect();
    let out = open(&lib, d);
    assert_eq!(out.envelope.documents.len(), MAX_DOCUMENTS);
    assert_eq!(out.envelope.participants.len(), MAX_PARTICIPANTS);
    assert_eq!(out.envelope.fields.len(), MAX_FIELDS);
}

#[test]
fn draft_errors_read_as_sentences() {
    let lib = library();
    let mut d = draft(&lib, vec![signer("a", &[])]);
    let mut f = field("a", lib.sign, FieldKind::Text, true);
    f.page = 9;
    d.fields = vec![f];
    let err = create(
        EnvelopeId::generate(),
        TenantId::random(),
        d,
        &lib.pages,
        AuthPolicy::ALL,
        &origin(),
        at(0),
    )
    .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "fields[0].page: page 9 does not exist: the document has 3 pages"
    );
}

// ---------------------------------------------------------------------------------------------
// Order and turns

#[test]
fn the_second_signer_waits_for_the_first() {
    let lib = library();
    let mut env = open(
        &lib,
        draft(&lib, vec![signer("a", &[]), signer("b", &["a"])]),
    )
    .envelope;
    let b = id(&env, "b");
    assert_eq!(
        run(&env, Command::Open { participant: b }, 1),
        Err(Refusal::NotYourTurn {
            participant: key("b"),
            waiting_for: vec![key("a")]
        })
    );
    assert_eq!(
        run(&env, Command::Open { participant: b }, 1)
            .map_err(|e| e.to_string())
            .err()
            .as_deref(),
        Some("b must wait for a")
    );
    let out = sign(&mut env, "a", 2);
    assert_eq!(state(&env, "b"), ParticipantState::Invited);
    assert_eq!(
        out.effects,
        vec![
            Effect::Notify(Notice::Signed(id(&env, "a"))),
            Effect::Invite(vec![b])
        ]
    );
    assert_eq!(may_act_now(&env), vec![b]);
    let out = sign(&mut env, "b", 3);
    assert_eq!(env.status, EnvelopeStatus::Completed);
    assert_eq!(env.closed_at, Some(at(3)));
    assert_eq!(
        out.effects,
        vec![
            Effect::Notify(Notice::Signed(b)),
            Effect::Notify(Notice::Completed),
            Effect::Seal
        ]
    );
    assert!(may_act_now(&env).is_empty());
}

#[test]
fn groups_run_in_parallel_and_edges_join_them() {
    let lib = library();
    // a → {b, c} in parallel → d waits for both; e waits for c only.
    let mut env = open(
        &lib,
        draft(
            &lib,
            vec![
                signer("a", &[]),
                signer("b", &["a"]),
                signer("c", &["a"]),
                signer("d", &["b", "c"]),
                person("e", Role::Approver, &["c"]),
            ],
        ),
    )
    .envelope;
    sign(&mut env, "a", 1);
    assert_eq!(may_act_now(&env), vec![id(&env, "b"), id(&env, "c")]);
    sign(&mut env, "c", 2);
    assert_eq!(state(&env, "e"), ParticipantState::Invited);
    assert_eq!(state(&env, "d"), ParticipantState::Waiting);
    let d = id(&env, "d");
    let waiting = env.participant(d).map(|p| waiting_for(&env, p));
    assert_eq!(waiting, Some(vec![&key("b")]));
    sign(&mut env, "b", 3);
    sign(&mut env, "d", 4);
    assert_eq!(
        env.status,
        EnvelopeStatus::Open,
        "the approver has not approved"
    );
    let out = sign(&mut env, "e", 5);
    assert_eq!(env.status, EnvelopeStatus::Completed);
    assert!(out.events.iter().any(|e| e.kind
        == EventKind::Signed {
            participant: id(&env, "e"),
            role: Role::Approver
        }));
}

#[test]
fn two_of_three_completes_at_the_second_signature_and_releases_the_third() {
    let lib = library();
    let mut d = draft(
        &lib,
        vec![
            signer("a", &[]),
            signer("b", &[]),
            signer("c", &[]),
            person("cc", Role::Copy, &[]),
        ],
    );
    d.completion = CompletionRule::AtLeast { min_signers: 2 };
    let mut env = open(&lib, d).envelope;
    enter(&mut env, "c", 1);
    sign(&mut env, "a", 1);
    assert_eq!(env.status, EnvelopeStatus::Open);
    let out = sign(&mut env, "b", 2);
    assert_eq!(env.status, EnvelopeStatus::Completed);
    assert_eq!(state(&env, "c"), ParticipantState::Released);
    assert!(out.events.contains(&SigningEvent {
        kind: EventKind::Released {
            participant: id(&env, "c")
        },
        actor: Actor::System,
        at: at(2),
        origin: Origin::default(),
    }));
    assert_eq!(
        run(&env, sign_command(&env, "c"), 3),
        Err(Refusal::Closed(EnvelopeStatus::Completed))
    );
    // Sealing hands the result to everyone who had a turn, and the copy.
    let out = step(&mut env, Command::RecordSealed, 4);
    assert_eq!(env.sealed_at, Some(at(4)));
    assert_eq!(
        out.effects,
        vec![
            Effect::Notify(Notice::Sealed),
            Effect::DeliverResult(vec![
                id(&env, "a"),
                id(&env, "b"),
                id(&env, "c"),
                id(&env, "cc")
            ])
        ]
    );
    assert_eq!(
        run(&env, Command::RecordSealed, 5),
        Err(Refusal::AlreadySealed)
    );
}

#[test]
fn released_signers_stop_holding_others_up() {
    let lib = library();
    // One of a and b is enough; the approver waits for b, who will never sign.
    let mut d = draft(
        &lib,
        vec![
            signer("a", &[]),
            signer("b", &[]),
            person("x", Role::Approver, &["b"]),
        ],
    );
    d.completion = CompletionRule::AtLeast { min_signers: 1 };
    let mut env = open(&lib, d).envelope;
    let out = sign(&mut env, "a", 1);
    assert_eq!(state(&env, "b"), ParticipantState::Released);
    assert_eq!(state(&env, "x"), ParticipantState::Invited);
    assert_eq!(env.status, EnvelopeStatus::Open);
    assert!(out.effects.contains(&Effect::Invite(vec![id(&env, "x")])));
    // Released: no more signing, declining or reminding.
    let b = id(&env, "b");
    assert!(matches!(
        run(&env, Command::Open { participant: b }, 2),
        Err(Refusal::WrongState {
            state: ParticipantState::Released,
            ..
        })
    ));
    let out = step(&mut env, Command::Remind, 2);
    assert_eq!(out.effects, vec![Effect::Remind(vec![id(&env, "x")])]);
    sign(&mut env, "x", 3);
    assert_eq!(env.status, EnvelopeStatus::Completed);
}

// ---------------------------------------------------------------------------------------------
// Steps, roles and fields

#[test]
fn each_step_needs_the_one_before() {
    let lib = library();
    let mut env = open(&lib, draft(&lib, vec![signer("a", &[])])).envelope;
    let a = id(&env, "a");
    let wrong = |state, act| {
        Err(Refusal::WrongState {
            participant: key("a"),
            state,
            act,
        })
    };
    assert_eq!(
        run(&env, Command::Authenticate { participant: a }, 1),
        wrong(ParticipantState::Invited, Act::Authenticate)
    );
    assert_eq!(
        run(&env, Command::RequestCode { participant: a }, 1),
        wrong(ParticipantState::Invited, Act::RequestCode)
    );
    assert_eq!(
        run(&env, sign_command(&env, "a"), 1),
        wrong(ParticipantState::Invited, Act::Sign)
    );
    let out = step(&mut env, Command::Open { participant: a }, 1);
    assert_eq!(state(&env, "a"), ParticipantState::Opened);
    assert_eq!(out.events[0].actor, Actor::Participant(a));
    assert_eq!(out.events[0].origin, origin());
    let again = step(&mut env, Command::Open { participant: a }, 2);
    assert_eq!(
        env.participant(a).and_then(|p| p.opened_at),
        Some(at(1)),
        "the first opening is kept"
    );
    assert_eq!(again.events.len(), 1, "each visit is recorded");
    assert_eq!(
        run(&env, sign_command(&env, "a"), 2),
        wrong(ParticipantState::Opened, Act::Sign)
    );
    assert_eq!(
        run(
            &env,
            Command::Decline {
                participant: a,
                reason: reason("no")
            },
            2
        ),
        wrong(ParticipantState::Opened, Act::Decline)
    );
    let out = step(&mut env, Command::RequestCode { participant: a }, 2);
    assert_eq!(
        out.effects,
        vec![Effect::SendCode {
            participant: a,
            method: AuthMethod::EmailCode
        }]
    );
    assert_eq!(
        out.events[0].kind,
        EventKind::CodeSent {
            participant: a,
            method: AuthMethod::EmailCode
        }
    );
    let out = step(&mut env, Command::Authenticate { participant: a }, 3);
    assert_eq!(state(&env, "a"), ParticipantState::Authenticated);
    assert_eq!(
        env.participant(a).and_then(|p| p.authenticated_at),
        Some(at(3))
    );
    assert_eq!(
        out.events[0].kind,
        EventKind::Authenticated {
            participant: a,
            method: AuthMethod::EmailCode
        }
    );
    assert!(out.effects.is_empty());
    // A new session needs a new code.
    assert!(run(&env, Command::RequestCode { participant: a }, 4).is_ok());
    assert_eq!(
        run(
            &env,
            Command::Sign {
                participant: a,
                values: vec![],
                consent: false
            },
            4
        ),
        Err(Refusal::NoConsent)
    );
    sign(&mut env, "a", 5);
    assert_eq!(env.participant(a).and_then(|p| p.finished_at), Some(at(5)));
    assert_eq!(
        run(
            &env,
            Command::Open {
                participant: ParticipantId::generate()
            },
            6
        ),
        Err(Refusal::Closed(EnvelopeStatus::Completed))
    );
}

#[test]
fn no_code_is_sent_to_whoever_needs_none_and_none_is_recorded() {
    let lib = library();
    let mut p = signer("a", &[]);
    p.auth = AuthMethod::None;
    let mut env = open(&lib, draft(&lib, vec![p, signer("b", &[])])).envelope;
    let a = id(&env, "a");
    step(&mut env, Command::Open { participant: a }, 1);
    assert_eq!(
        run(&env, Command::RequestCode { participant: a }, 1),
        Err(Refusal::NoCodeNeeded)
    );
    let out = step(&mut env, Command::Authenticate { participant: a }, 1);
    assert_eq!(
        out.events[0].kind,
        EventKind::Authenticated {
            participant: a,
            method: AuthMethod::None
        }
    );
    assert_eq!(
        run(
            &env,
            Command::Open {
                participant: ParticipantId::generate()
            },
            1
        ),
        Err(Refusal::UnknownParticipant)
    );
}

#[test]
fn roles_limit_what_participants_do() {
    let lib = library();
    let mut env = open(
        &lib,
        draft(
            &lib,
            vec![
                signer("a", &[]),
                person("x", Role::Approver, &[]),
                person("v", Role::Viewer, &[]),
                person("cc", Role::Copy, &[]),
            ],
        ),
    )
    .envelope;
    let cc = id(&env, "cc");
    assert_eq!(
        run(&env, Command::Open { participant: cc }, 1),
        Err(Refusal::RoleCannot {
            role: Role::Copy,
            act: Act::Open
        })
    );
    enter(&mut env, "v", 1);
    let v = id(&env, "v");
    assert_eq!(
        run(&env, sign_command(&env, "v"), 1),
        Err(Refusal::RoleCannot {
            role: Role::Viewer,
            act: Act::Sign
        })
    );
    assert_eq!(
        run(
            &env,
            Command::Decline {
                participant: v,
                reason: reason("no")
            },
            1
        ),
        Err(Refusal::RoleCannot {
            role: Role::Viewer,
            act: Act::Decline
        })
    );
    enter(&mut env, "x", 1);
    let x = id(&env, "x");
    let some_field = FieldId::random();
    assert_eq!(
        run(
            &env,
            Command::Fill {
                participant: x,
                field: some_field,
                value: FieldValue::Checkbox(true)
            },
            1
        ),
        Err(Refusal::RoleCannot {
            role: Role::Approver,
            act: Act::Fill
        })
    );
    assert_eq!(
        Refusal::RoleCannot {
            role: Role::Approver,
            act: Act::Fill
        }
        .to_string(),
        "a approver cannot fill fields"
    );
}

#[test]
fn required_fields_come_before_the_signature() {
    let lib = library();
    let mut d = draft(&lib, vec![signer("a", &[]), signer("b", &[])]);
    let mut prefilled = field("a", lib.sign, FieldKind::Name, true);
    prefilled.value = Some(FieldValue::Text("Person a".into()));
    d.fields = vec![
        field("a", lib.sign, FieldKind::Signature, true),
        field("a", lib.sign, FieldKind::Checkbox, true),
        field("a", lib.sign, FieldKind::Date, false),
        field("a", lib.sign, FieldKind::SigningDate, true),
        prefilled,
        field("b", lib.sign, FieldKind::Text, true),
    ];
    let mut env = open(&lib, d).envelope;
    let a = id(&env, "a");
    let f: Vec<FieldId> = env.fields.iter().map(|f| f.id).collect();
    enter(&mut env, "a", 1);
    assert_eq!(
        run(&env, sign_command(&env, "a"), 1),
        Err(Refusal::FieldsMissing {
            fields: vec![f[0], f[1]]
        })
    );
    let fill = |field, value| Command::Fill {
        participant: a,
        field,
        value,
    };
    assert_eq!(
        run(&env, fill(f[5], FieldValue::Text("mine".into())), 1),
        Err(Refusal::NotYourField(f[5]))
    );
    let stranger = FieldId::random();
    assert_eq!(
        run(&env, fill(stranger, FieldValue::Text("x".into())), 1),
        Err(Refusal::UnknownField(stranger))
    );
    assert_eq!(
        run(&env, fill(f[2], FieldValue::Text("soon".into())), 1),
        Err(Refusal::BadValue {
            field: f[2],
            error: FieldError::WrongType {
                kind: FieldKind::Date,
                given: "text"
            }
        })
    );
    assert_eq!(
        run(
            &env,
            fill(f[3], FieldValue::Date(time::macros::date!(2026 - 01 - 01))),
            1
        ),
        Err(Refusal::BadValue {
            field: f[3],
            error: FieldError::FilledBySignet
        })
    );
    let out = step(&mut env, fill(f[1], FieldValue::Checkbox(false)), 1);
    assert_eq!(
        out.events[0].kind,
        EventKind::FieldFilled {
            participant: a,
            field: f[1]
        }
    );
    let typed = FieldValue::Mark(Mark::Typed {
        text: "Person a".into(),
    });
    assert_eq!(
        run(
            &env,
            Command::Sign {
                participant: a,
                values: vec![(f[0], typed.clone())],
                consent: true
            },
            2
        ),
        Err(Refusal::FieldsMissing { fields: vec![f[1]] }),
        "a required box must be ticked"
    );
    let out = step(
        &mut env,
        Command::Sign {
            participant: a,
            values: vec![(f[0], typed.clone()), (f[1], FieldValue::Checkbox(true))],
            consent: true,
        },
        2,
    );
    assert_eq!(state(&env, "a"), ParticipantState::Signed);
    assert_eq!(env.field(f[0]).and_then(|f| f.value.clone()), Some(typed));
    let kinds: Vec<EventKind> = out.events.into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::FieldFilled {
                participant: a,
                field: f[0]
            },
            EventKind::FieldFilled {
                participant: a,
                field: f[1]
            },
            EventKind::Signed {
                participant: a,
                role: Role::Signer
            },
        ]
    );
}

#[test]
fn a_refused_signature_applies_none_of_its_values() {
    let lib = library();
    let mut d = draft(&lib, vec![signer("a", &[])]);
    d.fields = vec![
        field("a", lib.sign, FieldKind::Text, true),
        field("a", lib.sign, FieldKind::Date, true),
    ];
    let mut env = open(&lib, d).envelope;
    enter(&mut env, "a", 1);
    let f: Vec<FieldId> = env.fields.iter().map(|f| f.id).collect();
    let command = Command::Sign {
        participant: id(&env, "a"),
        values: vec![
            (f[0], FieldValue::Text("ok".into())),
            (f[1], FieldValue::Checkbox(true)),
        ],
        consent: true,
    };
    assert!(matches!(
        run(&env, command, 2),
        Err(Refusal::BadValue { .. })
    ));
    assert!(
        env.fields.iter().all(|f| f.value.is_none()),
        "nothing half-applied"
    );
}

// ---------------------------------------------------------------------------------------------
// Ends: decline, void, expiry

#[test]
fn a_decline_ends_the_envelope_with_its_reason() {
    let lib = library();
    let mut d = draft(
        &lib,
        vec![signer("a", &[]), signer("b", &[]), signer("c", &["a"])],
    );
    d.completion = CompletionRule::AtLeast { min_signers: 1 };
    let mut env = open(&lib, d).envelope;
    enter(&mut env, "b", 1);
    let b = id(&env, "b");
    let out = step(
        &mut env,
        Command::Decline {
            participant: b,
            reason: reason("wrong amount"),
        },
        2,
    );
    assert_eq!(env.status, EnvelopeStatus::Declined);
    assert_eq!(env.closed_at, Some(at(2)));
    assert_eq!(state(&env, "b"), ParticipantState::Declined);
    let decliner = env.participant(b).expect("known");
    assert_eq!(decliner.decline_reason, Some(reason("wrong amount")));
    assert_eq!(decliner.finished_at, Some(at(2)));
    assert_eq!(
        out.effects,
        vec![
            Effect::Notify(Notice::Declined(b)),
            Effect::InformEnded(vec![id(&env, "a")]),
        ],
        "only those whose turn had come hear of it, the decliner aside"
    );
    assert_eq!(
        out.events[0].kind,
        EventKind::Declined {
            participant: b,
            reason: reason("wrong amount")
        }
    );
    for command in [
        sign_command(&env, "a"),
        Command::Void {
            reason: reason("late"),
        },
        Command::Remind,
        Command::Expire,
        Command::RecordSealed,
    ] {
        assert_eq!(
            run(&env, command, 3),
            Err(Refusal::Closed(EnvelopeStatus::Declined))
        );
    }
}

#[test]
fn the_sender_voids_with_a_reason_until_the_envelope_is_final() {
    let lib = library();
    let mut env = open(
        &lib,
        draft(&lib, vec![signer("a", &[]), signer("b", &["a"])]),
    )
    .envelope;
    let out = step(
        &mut env,
        Command::Void {
            reason: reason("replaced"),
        },
        1,
    );
    assert_eq!(env.status, EnvelopeStatus::Voided);
    assert_eq!(env.void_reason, Some(reason("replaced")));
    assert_eq!(env.closed_at, Some(at(1)));
    assert_eq!(
        out.effects,
        vec![
            Effect::Notify(Notice::Voided),
            Effect::InformEnded(vec![id(&env, "a")])
        ]
    );
    assert_eq!(out.events[0].actor, Actor::Sender);
    assert_eq!(
        run(
            &env,
            Command::Void {
                reason: reason("again")
            },
            2
        ),
        Err(Refusal::Closed(EnvelopeStatus::Voided))
    );
    assert_eq!(
        Refusal::Closed(EnvelopeStatus::Voided).to_string(),
        "the envelope is voided"
    );

    let mut done = open(&lib, draft(&lib, vec![signer("a", &[])])).envelope;
    sign(&mut done, "a", 1);
    assert_eq!(
        run(
            &done,
            Command::Void {
                reason: reason("late")
            },
            2
        ),
        Err(Refusal::Closed(EnvelopeStatus::Completed))
    );
}

#[test]
fn expiry_closes_the_envelope_and_nothing_happens_after_it() {
    let lib = library();
    let mut env = open(&lib, draft(&lib, vec![signer("a", &[])])).envelope;
    let end = 24 * 30;
    assert_eq!(run(&env, Command::Expire, end - 1), Err(Refusal::NotDue));
    enter(&mut env, "a", end - 1);
    assert_eq!(
        run(&env, sign_command(&env, "a"), end),
        Err(Refusal::ExpiryPassed)
    );
    assert_eq!(run(&env, Command::Remind, end), Err(Refusal::ExpiryPassed));
    assert_eq!(
        run(&env, Command::RecordSealed, end),
        Err(Refusal::ExpiryPassed)
    );
    let out = step(&mut env, Command::Expire, end);
    assert_eq!(env.status, EnvelopeStatus::Expired);
    assert_eq!(env.closed_at, Some(at(end)));
    assert_eq!(out.events[0].kind, EventKind::Expired);
    assert_eq!(out.events[0].actor, Actor::System);
    assert_eq!(
        out.effects,
        vec![
            Effect::Notify(Notice::Expired),
            Effect::InformEnded(vec![id(&env, "a")])
        ]
    );
    assert_eq!(
        run(&env, Command::Expire, end + 1),
        Err(Refusal::Closed(EnvelopeStatus::Expired))
    );

    let mut d = draft(&lib, vec![signer("a", &[])]);
    d.expires_at = None;
    let forever = open(&lib, d).envelope;
    assert_eq!(
        run(&forever, Command::Expire, 24 * 10_000),
        Err(Refusal::NotDue)
    );
    assert_eq!(
        run(&forever, Command::RecordSealed, 1),
        Err(Refusal::NotCompleted)
    );
}

// ---------------------------------------------------------------------------------------------
// Reminders

#[test]
fn reminders_go_to_those_whose_turn_came_up_to_the_limit() {
    let lib = library();
    let mut d = draft(
        &lib,
        vec![
            signer("a", &[]),
            signer("b", &[]),
            signer("later", &["a"]),
            person("v", Role::Viewer, &[]),
        ],
    );
    d.reminders = Some(ReminderPolicy {
        every_days: 2,
        max: 2,
    });
    let mut env = open(&lib, d).envelope;
    let a = id(&env, "a");
    sign(&mut env, "b", 1);
    // Too early for anyone.
    let out = step(&mut env, Command::RemindDue, 47);
    assert_eq!(
        out.effects,
        vec![Effect::Schedule {
            at: at(48),
            timer: Timer::Reminders
        }]
    );
    assert!(out.events.is_empty());
    let out = step(&mut env, Command::RemindDue, 48);
    assert_eq!(
        out.effects[0],
        Effect::Remind(vec![a]),
        "not b (signed), later (waiting) nor v"
    );
    assert_eq!(
        out.events,
        vec![SigningEvent {
            kind: EventKind::Reminded { participant: a },
            actor: Actor::System,
            at: at(48),
            origin: Origin::default()
        }]
    );
    assert_eq!(
        out.effects[1],
        Effect::Schedule {
            at: at(96),
            timer: Timer::Reminders
        }
    );
    let p = env.participant(a).expect("known");
    assert_eq!((p.reminders_sent, p.last_reminded_at), (1, Some(at(48))));
    // The sender's reminder counts too, and is not held to the interval.
    let out = step(&mut env, Command::Remind, 50);
    assert_eq!(out.effects, vec![Effect::Remind(vec![a])]);
    let out = step(&mut env, Command::Remind, 51);
    assert!(out.effects.is_empty(), "the limit is reached");
    let out = step(&mut env, Command::RemindDue, 24 * 20);
    assert!(out.effects.is_empty());
    assert_eq!(env.participant(a).map(|p| p.reminders_sent), Some(2));
}

#[test]
fn without_a_policy_the_sender_may_remind_a_few_times() {
    let lib = library();
    let mut env = open(&lib, draft(&lib, vec![signer("a", &[])])).envelope;
    let a = id(&env, "a");
    for hour in 0..i64::from(MANUAL_REMINDER_LIMIT) {
        let out = step(&mut env, Command::Remind, hour);
        assert_eq!(out.effects, vec![Effect::Remind(vec![a])]);
    }
    assert!(step(&mut env, Command::Remind, 9).effects.is_empty());
    assert!(
        step(&mut env, Command::RemindDue, 24 * 9)
            .effects
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// Invariants over random envelopes and random commands

/// A random envelope: 1 to 6 participants (at least one signer), each possibly waiting for
/// earlier ones who act, a random completion rule; every signer has a required signature and
/// an optional text field.
fn random_envelope(
    roles: &[u8],
    edges: &[(usize, usize)],
    min: Option<usize>,
    policy: (u32, u32),
) -> SignEnvelope {
    let lib = library();
    let role = |r: u8| match r % 6 {
        0..=2 => Role::Signer,
        3 => Role::Approver,
        4 => Role::Viewer,
        _ => Role::Copy,
    };
    let mut roles: Vec<Role> = roles.iter().map(|&r| role(r)).collect();
    roles[0] = Role::Signer;
    let mut people: Vec<DraftParticipant> = roles
        .iter()
        .enumerate()
        .map(|(i, &r)| person(&format!("p{i}"), r, &[]))
        .collect();
    for &(from, to) in edges {
        let (from, to) = (from % people.len(), to % people.len());
        if to < from && roles[to].acts() && roles[from] != Role::Copy {
            let target = people[to].key.clone();
            people[from].after.push(target);
        }
    }
    let signers = roles.iter().filter(|r| **r == Role::Signer).count();
    let mut d = draft(&lib, people);
    d.completion = match min {
        Some(k) => CompletionRule::AtLeast {
            min_signers: u32::try_from(k % signers + 1).expect("small"),
        },
        None => CompletionRule::AllSigners,
    };
    d.reminders = Some(ReminderPolicy {
        every_days: policy.0,
        max: policy.1,
    });
    for (i, r) in roles.iter().enumerate() {
        if *r == Role::Signer {
            let name = format!("p{i}");
            d.fields
                .push(field(&name, lib.sign, FieldKind::Signature, true));
            d.fields
                .push(field(&name, lib.sign, FieldKind::Text, false));
        }
    }
    open(&lib, d).envelope
}

/// Turns a random triple into a command on `env`.
fn random_command(env: &SignEnvelope, (kind, who, flag): (u8, usize, bool)) -> Command {
    let p = &env.participants[who % env.participants.len()];
    let participant = p.id;
    let values = || -> Vec<(FieldId, FieldValue)> {
        env.fields_of(participant)
            .map(|f| {
                let value = match f.kind {
                    FieldKind::Signature => FieldValue::Mark(Mark::Typed {
                        text: "signed".into(),
                    }),
                    _ => FieldValue::Text("text".into()),
                };
                (f.id, value)
            })
            .collect()
    };
    match kind % 40 {
        0..=7 => Command::Open { participant },
        8..=9 => Command::RequestCode { participant },
        10..=17 => Command::Authenticate { participant },
        18..=29 => Command::Sign {
            participant,
            values: if flag { values() } else { Vec::new() },
            consent: flag || kind % 2 == 0,
        },
        30..=31 => match env.fields_of(participant).next() {
            Some(f) => Command::Fill {
                participant,
                field: f.id,
                value: FieldValue::Mark(Mark::Typed { text: "x".into() }),
            },
            None => Command::RemindDue,
        },
        32 => Command::Decline {
            participant,
            reason: reason("no"),
        },
        33 if flag => Command::Void {
            reason: reason("stop"),
        },
        33 | 34 => Command::Remind,
        35 | 36 => Command::RemindDue,
        37 => Command::Expire,
        _ => Command::RecordSealed,
    }
}

fn rule_met(env: &SignEnvelope) -> bool {
    env.signatures() >= env.signatures_needed()
        && env
            .participants
            .iter()
            .filter(|p| p.role == Role::Approver)
            .all(|p| p.state == ParticipantState::Signed)
}

fn deps_done(env: &SignEnvelope, p: &Participant) -> bool {
    waiting_for(env, p).is_empty()
}

/// The invariants that hold of every envelope the lifecycle produces.
fn check_state(env: &SignEnvelope) -> Result<(), TestCaseError> {
    // Completion exactly at the rule: open means not yet met, completed means met — with
    // k of n, by exactly k signatures.
    match env.status {
        EnvelopeStatus::Open => {
            prop_assert!(!rule_met(env), "open although the rule is met");
            // Nobody is stuck: someone can always act while the envelope is open.
            prop_assert!(!may_act_now(env).is_empty(), "open with nobody able to act");
        }
        EnvelopeStatus::Completed => {
            prop_assert!(rule_met(env), "completed before the rule was met");
            prop_assert_eq!(env.signatures(), env.signatures_needed());
        }
        _ => {}
    }
    for p in &env.participants {
        // Nobody had their turn before everyone they wait for had signed or was released.
        if !matches!(
            p.state,
            ParticipantState::Waiting | ParticipantState::Released
        ) {
            prop_assert!(deps_done(env, p), "{} acted out of turn", p.key);
            prop_assert!(p.role != Role::Copy, "a copy recipient was asked to act");
        }
        if p.state == ParticipantState::Released {
            prop_assert!(p.role == Role::Signer);
            prop_assert!(env.signatures() >= env.signatures_needed());
        }
        if p.state == ParticipantState::Waiting && env.status == EnvelopeStatus::Open {
            prop_assert!(
                p.role == Role::Copy || !deps_done(env, p),
                "{} was not invited when their turn came",
                p.key
            );
        }
        prop_assert!(p.reminders_sent <= env.reminders.map_or(MANUAL_REMINDER_LIMIT, |r| r.max));
    }
    Ok(())
}

/// The invariants that tie a transition to its effects.
fn check_step(
    before: &SignEnvelope,
    command: &Command,
    outcome: &Outcome,
) -> Result<(), TestCaseError> {
    let after = &outcome.envelope;
    if before.status.is_final() {
        // Final states absorb: only a completed envelope's seal is recorded.
        prop_assert_eq!(after.status, before.status);
        prop_assert_eq!(&after.participants, &before.participants);
        prop_assert!(matches!(command, Command::RecordSealed));
    }
    if let Command::Sign { participant, .. } = command {
        let p = before.participant(*participant).expect("known");
        prop_assert_eq!(p.state, ParticipantState::Authenticated);
        prop_assert!(deps_done(before, p), "signed out of turn");
        prop_assert!(
            after.fields_of(*participant).all(|f| !f.blocks_signing()),
            "signed with required fields empty"
        );
    }
    let was = |id: &ParticipantId| before.participant(*id).expect("known");
    let now = |id: &ParticipantId| after.participant(*id).expect("known");
    for effect in &outcome.effects {
        match effect {
            Effect::Invite(ids) => {
                prop_assert!(!ids.is_empty());
                for id in ids {
                    prop_assert_eq!(was(id).state, ParticipantState::Waiting);
                    prop_assert_eq!(now(id).state, ParticipantState::Invited);
                    prop_assert!(deps_done(after, now(id)));
                }
            }
            Effect::Remind(ids) => {
                prop_assert!(!ids.is_empty());
                for id in ids {
                    prop_assert!(was(id).role.acts() && was(id).state.is_pending());
                    prop_assert!(deps_done(before, was(id)));
                }
            }
            Effect::SendCode {
                participant,
                method,
            } => {
                let asked =
                    matches!(command, Command::RequestCode { participant: p } if p == participant);
                prop_assert!(asked, "a code nobody asked for");
                prop_assert_eq!(*method, was(participant).auth);
            }
            Effect::InformEnded(ids) => {
                prop_assert!(after.status.is_final() && after.status != EnvelopeStatus::Completed);
                for id in ids {
                    prop_assert!(was(id).invited_at.is_some());
                }
            }
            Effect::Seal => {
                prop_assert_eq!(before.status, EnvelopeStatus::Open);
                prop_assert_eq!(after.status, EnvelopeStatus::Completed);
            }
            Effect::DeliverResult(ids) => {
                prop_assert!(matches!(command, Command::RecordSealed));
                for id in ids {
                    prop_assert!(was(id).role == Role::Copy || was(id).invited_at.is_some());
                }
            }
            Effect::Notify(_) | Effect::Schedule { .. } => {}
        }
    }
    // Completion happens in the step that meets the rule and is announced exactly then.
    let completed_now =
        before.status == EnvelopeStatus::Open && after.status == EnvelopeStatus::Completed;
    prop_assert_eq!(completed_now, outcome.effects.contains(&Effect::Seal));
    prop_assert_eq!(
        completed_now,
        outcome
            .events
            .iter()
            .any(|e| e.kind == EventKind::Completed)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever participants, order, rule and commands: nobody acts out of turn, completion
    /// comes exactly at the rule, final states absorb, effects reach only the right
    /// participants, and an open envelope always has someone who can act.
    #[test]
    fn the_lifecycle_keeps_its_invariants(
        roles in proptest::collection::vec(any::<u8>(), 1..7),
        edges in proptest::collection::vec((0usize..7, 0usize..7), 0..12),
        min in proptest::option::of(0usize..7),
        policy in (1u32..4, 0u32..4),
        commands in proptest::collection::vec((any::<u8>(), 0usize..7, any::<bool>()), 0..80),
    ) {
        let mut env = random_envelope(&roles, &edges, min, policy);
        check_state(&env)?;
        for (hour, triple) in (1i64..).zip(commands) {
            let command = random_command(&env, triple);
            // Hours pass; the expiry (30 days) is reached by long runs only.
            let now = at(hour * 10);
            match apply(&env, command.clone(), &origin(), now) {
                Ok(outcome) => {
                    check_step(&env, &command, &outcome)?;
                    prop_assert!(outcome.events.iter().all(|e| e.at == now));
                    env = outcome.envelope;
                    check_state(&env)?;
                }
                Err(Refusal::Closed(status)) => prop_assert_eq!(status, env.status),
                Err(_) => prop_assert!(!env.status.is_final() || matches!(command, Command::RecordSealed)),
            }
        }
    }

    /// Driving every participant who may act to sign always completes the envelope, with
    /// exactly the signatures the rule asks for.
    #[test]
    fn signing_in_turn_always_completes(
        roles in proptest::collection::vec(any::<u8>(), 1..7),
        edges in proptest::collection::vec((0usize..7, 0usize..7), 0..12),
        min in proptest::option::of(0usize..7),
    ) {
        let mut env = random_envelope(&roles, &edges, min, (1, 1));
        let mut rounds = 0;
        while env.status == EnvelopeStatus::Open {
            rounds += 1;
            prop_assert!(rounds <= env.participants.len(), "no progress");
            for participant in may_act_now(&env) {
                // An earlier signature of this round may have completed the envelope or
                // released this participant.
                if !may_act_now(&env).contains(&participant) {
                    continue;
                }
                for command in [Command::Open { participant }, Command::Authenticate { participant }] {
                    env = apply(&env, command, &origin(), at(1)).expect("allowed").envelope;
                }
                let values = env
                    .fields_of(participant)
                    .filter(|f| f.kind == FieldKind::Signature)
                    .map(|f| (f.id, FieldValue::Mark(Mark::Typed { text: "s".into() })))
                    .collect();
                let command = Command::Sign { participant, values, consent: true };
                let before = env.clone();
                let outcome = apply(&env, command.clone(), &origin(), at(1)).expect("in turn");
                check_step(&before, &command, &outcome)?;
                env = outcome.envelope;
                check_state(&env)?;
            }
        }
        prop_assert_eq!(env.status, EnvelopeStatus::Completed);
    }
}

// ---------------------------------------------------------------------------------------------
// Documents whose bytes arrive later

/// A library whose document to sign is awaited: its pages are unknown.
fn awaited_library() -> Library {
    let mut lib = library();
    lib.pages.insert(lib.sign, PAGES_AWAITED);
    lib
}

fn on_page(mut f: DraftField, page: u32) -> DraftField {
    f.page = page;
    f
}

#[test]
fn an_awaited_document_defers_page_checks_and_signing_until_it_arrives() {
    let lib = awaited_library();
    let mut d = draft(&lib, vec![signer("a", &[])]);
    d.fields = vec![on_page(field("a", lib.sign, FieldKind::Signature, true), 7)];
    let mut env = open(&lib, d.clone()).envelope;
    assert!(env.documents[0].awaited());
    // Page 0 is refused even before the bytes arrive.
    let mut zero = d.clone();
    zero.fields[0].page = 0;
    let (at_, problem) = refusal(&lib, zero);
    assert_eq!(at_, "fields[0].page");
    assert!(matches!(problem, DraftProblem::NoSuchPage { page: 0, .. }));

    enter(&mut env, "a", 1);
    let field_id = env.fields[0].id;
    let signing = Command::Sign {
        participant: id(&env, "a"),
        values: vec![(field_id, FieldValue::Mark(Mark::Typed { text: "A".into() }))],
        consent: true,
    };
    assert_eq!(
        run(&env, signing.clone(), 2).map(|_| ()),
        Err(Refusal::DocumentAwaited(lib.sign))
    );
    // Three pages cannot hold a field on page 7: refused, nothing changes.
    let arrived = |pages| Command::DocumentArrived {
        document: lib.sign,
        pages,
    };
    assert_eq!(
        run(&env, arrived(3), 2).map(|_| ()),
        Err(Refusal::NoSuchPage {
            field: field_id,
            page: 7,
            pages: 3
        })
    );
    assert!(env.documents[0].awaited());
    let outcome = step(&mut env, arrived(9), 2);
    assert!(outcome.events.is_empty() && outcome.effects.is_empty());
    assert_eq!(env.documents[0].pages, 9);
    // The same arrival again changes nothing; another page count is refused.
    assert_eq!(
        run(&env, arrived(9), 3).map(|o| o.envelope),
        Ok(env.clone())
    );
    assert_eq!(
        run(&env, arrived(4), 3).map(|_| ()),
        Err(Refusal::PagesDiffer { known: 9, got: 4 })
    );
    let stranger = DocumentId::generate();
    assert_eq!(
        run(
            &env,
            Command::DocumentArrived {
                document: stranger,
                pages: 9
            },
            3
        )
        .map(|_| ()),
        Err(Refusal::NotInEnvelope(stranger))
    );
    step(&mut env, signing, 3);
    assert_eq!(env.status, EnvelopeStatus::Completed);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever pages the fields name and the file brings: the arrival is accepted exactly when
    /// every field lies on a page the file has; then nothing is awaited and the pages are the
    /// file's; a refused arrival leaves the document awaited and signing refused.
    #[test]
    fn an_arrival_is_accepted_exactly_when_every_field_fits(
        field_pages in proptest::collection::vec(1u32..12, 0..6),
        pages in 1u32..12,
    ) {
        let lib = awaited_library();
        let mut d = draft(&lib, vec![signer("a", &[])]);
        d.fields = field_pages
            .iter()
            .map(|&p| on_page(field("a", lib.sign, FieldKind::Text, false), p))
            .collect();
        let mut env = open(&lib, d).envelope;
        let fits = field_pages.iter().all(|&p| p <= pages);
        match run(&env, Command::DocumentArrived { document: lib.sign, pages }, 1) {
            Ok(outcome) => {
                prop_assert!(fits);
                prop_assert_eq!(outcome.envelope.documents[0].pages, pages);
                prop_assert!(!outcome.envelope.documents.iter().any(|d| d.awaited()));
                env = outcome.envelope;
                enter(&mut env, "a", 2);
                prop_assert!(run(&env, sign_command(&env, "a"), 2).is_ok());
            }
            Err(Refusal::NoSuchPage { page, pages: got, .. }) => {
                prop_assert!(!fits);
                prop_assert!(page > pages && got == pages);
                enter(&mut env, "a", 2);
                prop_assert_eq!(
                    run(&env, sign_command(&env, "a"), 2).map(|_| ()),
                    Err(Refusal::DocumentAwaited(lib.sign))
                );
            }
            Err(other) => prop_assert!(false, "unexpected refusal {other}"),
        }
    }
}
