//! Signers' journeys end to end, on SQLite + local blobs and on PostgreSQL + S3: headless
//! Chromium (one browser per test, screenshots of every page under `target/screenshots/`),
//! the real jobs, and the sealed result checked by pyHanko and `pdfsig`.
//!
//! - two signers in sequence, then one in parallel, in a browser with JavaScript turned off:
//!   typed signatures, an image field uploaded with the plain multipart form, the second signer
//!   blocked
//!   until the first signs and then reviewing the pages as the first stamped them, the signed
//!   copy offered on the done page;
//! - a drawn signature with JavaScript, 2-of-3 completion, invitations and a reminder over a
//!   real SMTP server;
//! - a void and an expiry, as the signer sees them;
//! - over plain HTTP: wrong codes and the lock as events of the envelope (with where they came
//!   from), and phone-only participants invited and reminded by SMS (recorded, not sent, when
//!   the plan has no `sms` feature).

use std::time::Duration as StdDuration;

use reqwest::Method;
use reqwest::header;
use signet_core::ids::DocumentId;
use signet_core::signing::lifecycle::{DraftDocument, DraftField, DraftParticipant, EnvelopeDraft};
use signet_core::signing::{
    AuthMethod, CompletionRule, DocumentAction, EnvelopeStatus, EnvelopeView, EventKind, FieldKind,
    FieldValue, Mark, NewSignEnvelope, Origin, ParticipantState, Redirects, ReminderPolicy,
};
use signet_core::values::Language;
use signet_testkit::browser::{Browser, BrowserOptions};
use signet_testkit::phone::PhoneCapture;
use signet_testkit::signing::{
    Screens, backend_name, caller, collect, person, reload, validate, validate_at_app_time,
    wait_for,
};
use signet_testkit::smtp::{SmtpServer, venv_python_with};
use signet_testkit::{Backend, TestApp, TestOptions, TestTenant};

const PHONE: &str = "+18191234567";

/// An 8 × 4 blue PNG: the image a signer puts in an image field.
const STAMP_PNG: [u8; 75] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x08, 0x06, 0x00, 0x00, 0x00, 0xb3, 0xcd, 0x7e,
    0xf0, 0x00, 0x00, 0x00, 0x12, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x10, 0xb1, 0x39, 0xf1,
    0x1f, 0x1f, 0x66, 0xa0, 0xbd, 0x02, 0x00, 0x0a, 0x73, 0x42, 0xe1, 0xdb, 0x6d, 0xc2, 0xbe, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() -> anyhow::Result<()> {
                super::$name(signet_testkit::Backend::Sqlite).await
            }
        )*}
        mod postgres_s3 {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() -> anyhow::Result<()> {
                super::$name(signet_testkit::Backend::Postgres).await
            }
        )*}
    };
}

scenarios!(
    in_sequence_then_in_parallel_typed_with_plain_forms,
    drawn_with_javascript_two_of_three_and_a_reminder_over_smtp,
    a_void_and_an_expiry_end_the_journey,
    wrong_codes_and_the_lock_are_events_of_the_envelope,
    phone_only_participants_get_their_link_by_sms,
);

async fn upload_pdf(app: &TestApp, tenant: &TestTenant) -> anyhow::Result<DocumentId> {
    let response = app
        .native(Method::POST, "/v1/documents", tenant)
        .query(&[("name", "contract.pdf")])
        .header("Content-Type", "application/pdf")
        .body(signet_pdf::sample::blank_with_trailer(2, ""))
        .send()
        .await?
        .error_for_status()?;
    let created: serde_json::Value = response.json().await?;
    Ok(created["id"].as_str().unwrap_or_default().parse()?)
}

/// A field; `row` keeps the fields of different signers on one page apart.
fn field(key: &str, document: DocumentId, page: u32, kind: FieldKind, row: u32) -> DraftField {
    DraftField {
        participant: key.parse().expect("key"),
        document,
        page,
        x: 0.1,
        y: 0.1 + 0.2 * f64::from(row),
        width: 0.35,
        height: 0.08,
        kind,
        required: true,
        label: (kind == FieldKind::Image).then(|| "Company stamp".parse().expect("label")),
        value: None,
    }
}

struct Plan {
    participants: Vec<DraftParticipant>,
    fields: Box<dyn FnOnce(DocumentId) -> Vec<DraftField>>,
    completion: CompletionRule,
    reminders: Option<ReminderPolicy>,
    expires_at: Option<time::OffsetDateTime>,
}

async fn envelope(app: &TestApp, tenant: &TestTenant, plan: Plan) -> anyhow::Result<EnvelopeView> {
    let caller = caller(app, tenant).await?;
    let document = upload_pdf(app, tenant).await?;
    Ok(app
        .core
        .create_sign_envelope(
            &caller,
            NewSignEnvelope {
                draft: EnvelopeDraft {
                    title: "Lease".parse()?,
                    language: Language::En,
                    expires_at: plan.expires_at,
                    documents: vec![DraftDocument {
                        document,
                        action: DocumentAction::Sign,
                    }],
                    participants: plan.participants,
                    fields: (plan.fields)(document),
                    completion: plan.completion,
                    reminders: plan.reminders,
                    redirects: Redirects::default(),
                    signed_copy_offered: true,
                },
                origin: Origin::default(),
                idempotency_key: None,
            },
        )
        .await?)
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

/// GET `url` with the browser's cookies for the page it shows: `(status, bytes)`.
async fn fetch_as_browser(
    app: &TestApp,
    browser: &Browser,
    url: &str,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let response = app
        .http
        .get(url)
        .header(header::COOKIE, browser.cookie_header().await?)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.bytes().await?.to_vec()))
}

/// Opens a link that needs no code, continues, and waits for the sign form.
async fn start_signing(browser: &Browser, link: &str) -> anyhow::Result<String> {
    browser.goto(link).await?;
    browser.click("#start").await?;
    wait_for(browser, "id=\"sign-form\"").await
}

/// [`start_signing`] in a browser running the page's script, then waits until every page image
/// has loaded. The images carry no size before they load, so the form below them moves as they
/// arrive; on a loaded machine a click aimed at the consent box or the sign button could land
/// where it was a moment before (seen: the sign click lost, the signer left authenticated).
async fn start_signing_with_script(browser: &Browser, link: &str) -> anyhow::Result<String> {
    let page = start_signing(browser, link).await?;
    let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
    loop {
        let loaded = browser
            .client()
            .execute(
                "for (const img of document.images) img.loading = 'eager'; \
                 return Array.from(document.images).every(img => img.complete && img.naturalWidth > 0);",
                vec![],
            )
            .await?;
        if loaded.as_bool() == Some(true) {
            return Ok(page);
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the page images never loaded"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

async fn in_sequence_then_in_parallel_typed_with_plain_forms(
    backend: Backend,
) -> anyhow::Result<()> {
    let Some(app) = TestApp::spawn(backend).await? else {
        return Ok(());
    };
    let Some(browser) = Browser::start_with(BrowserOptions::default().without_javascript()).await?
    else {
        return Ok(());
    };
    let screens = Screens {
        browser: &browser,
        prefix: format!("journey-forms-{}", backend_name(backend)),
    };
    let tenant = app.tenant().await?;
    // Ana first, then Ben; Cyd in parallel with both.
    let view = envelope(
        &app,
        &tenant,
        Plan {
            participants: vec![
                person("ana", AuthMethod::None, &[]),
                person("ben", AuthMethod::None, &["ana"]),
                person("cyd", AuthMethod::None, &[]),
            ],
            fields: Box::new(|doc| {
                vec![
                    field("ana", doc, 1, FieldKind::Signature, 0),
                    field("ana", doc, 1, FieldKind::Image, 1),
                    field("ben", doc, 1, FieldKind::Signature, 2),
                    field("cyd", doc, 2, FieldKind::Signature, 0),
                ]
            }),
            completion: CompletionRule::AllSigners,
            reminders: None,
            expires_at: None,
        },
    )
    .await?;
    let link = |i: usize| view.signing_urls[i].1.clone();
    let (ana, ben, cyd) = (link(0), link(1), link(2));
    let document = view.envelope.documents[0].document;

    // Ben is blocked until Ana signs: he sees whom he waits for, and nothing to act on.
    browser.goto(&ben).await?;
    let waiting = wait_for(&browser, "Person ana").await?;
    assert!(!waiting.contains("id=\"start\""), "{waiting}");
    screens.shot("ben-waiting").await?;

    // Ana types her name and picks the image: the plain form carries both.
    browser.goto(&ana).await?;
    screens.shot("ana-start").await?;
    browser.click("#start").await?;
    let review = wait_for(&browser, "id=\"sign-form\"").await?;
    assert!(
        review.contains("enctype=\"multipart/form-data\""),
        "{review}"
    );
    // The script never ran: the drawing pad it would reveal stays hidden.
    assert!(
        !browser.find("#draw").await?.is_displayed().await?,
        "JavaScript is off"
    );
    let page_url = format!("{ana}/pages/{document}/1?w=480");
    let (status, original_page) = fetch_as_browser(&app, &browser, &page_url).await?;
    assert_eq!(status, 200);
    screens.shot("ana-review").await?;
    let dir = tempfile::tempdir()?;
    let stamp = dir.path().join("stamp.png");
    std::fs::write(&stamp, STAMP_PNG)?;
    browser
        .find("input[name^=\"image.\"]")
        .await?
        .send_keys(&stamp.display().to_string())
        .await?;
    browser.click("#consent").await?;
    screens.shot("ana-filled").await?;
    browser.click("#sign").await?;
    wait_for(&browser, "You signed").await?;
    screens.shot("ana-done").await?;
    settle(&app).await?;
    let after_ana = reload(&app, &tenant, &view).await?;
    let ana_id = after_ana.envelope.participants[0].id;
    let image = after_ana
        .envelope
        .fields_of(ana_id)
        .find(|f| f.kind == FieldKind::Image)
        .and_then(|f| f.value.clone());
    assert!(
        matches!(image, Some(FieldValue::Mark(Mark::Uploaded { .. }))),
        "{image:?}"
    );

    // Ben's turn: he reviews the pages as Ana stamped them, not the original.
    start_signing(&browser, &ben).await?;
    let (status, current_page) =
        fetch_as_browser(&app, &browser, &format!("{ben}/pages/{document}/1?w=480")).await?;
    assert_eq!(status, 200);
    assert!(current_page.starts_with(b"\x89PNG"));
    assert_ne!(current_page, original_page, "Ana's marks are on the page");
    screens.shot("ben-review").await?;
    browser.click("#consent").await?;
    browser.click("#sign").await?;
    wait_for(&browser, "You signed").await?;
    screens.shot("ben-done").await?;

    // Cyd, in parallel, signs last; once sealed her done page offers the signed copy.
    start_signing(&browser, &cyd).await?;
    screens.shot("cyd-review").await?;
    browser.click("#consent").await?;
    browser.click("#sign").await?;
    wait_for(&browser, "You signed").await?;
    settle(&app).await?;
    let after = reload(&app, &tenant, &view).await?;
    assert_eq!(after.envelope.status, EnvelopeStatus::Completed);
    assert!(after.envelope.sealed_at.is_some(), "sealed");
    browser.goto(&cyd).await?;
    let done = wait_for(&browser, "/signed/").await?;
    assert!(done.contains("Download the signed copy"), "{done}");
    screens.shot("cyd-signed-copy").await?;
    let copy_url = format!("{cyd}/signed/{document}");
    let (status, pdf) = fetch_as_browser(&app, &browser, &copy_url).await?;
    assert_eq!(status, 200);
    // Only with the session, only for this envelope's signed document.
    let anonymous = app.http.get(&copy_url).send().await?;
    assert_eq!(anonymous.status(), 401);
    let (status, _) = fetch_as_browser(
        &app,
        &browser,
        &format!("{cyd}/signed/{}", DocumentId::generate()),
    )
    .await?;
    assert_eq!(status, 404);
    validate(&app, &pdf, 3, &["Person ana", "Person ben", "Person cyd"]).await?;
    browser.close().await
}

async fn drawn_with_javascript_two_of_three_and_a_reminder_over_smtp(
    backend: Backend,
) -> anyhow::Result<()> {
    let Some(python) = venv_python_with("aiosmtpd") else {
        return Ok(());
    };
    let smtp = SmtpServer::start(&python, None).await?;
    let options = TestOptions {
        mail: Some((
            format!("smtp://127.0.0.1:{}", smtp.port),
            "Signet <no-reply@signet.test>".into(),
        )),
        ..TestOptions::default()
    };
    let Some(app) = TestApp::spawn_with(backend, options).await? else {
        return Ok(());
    };
    let Some(browser) = Browser::start().await? else {
        return Ok(());
    };
    let screens = Screens {
        browser: &browser,
        prefix: format!("journey-js-{}", backend_name(backend)),
    };
    let tenant = app.tenant().await?;
    let view = envelope(
        &app,
        &tenant,
        Plan {
            participants: vec![
                person("eve", AuthMethod::None, &[]),
                person("fay", AuthMethod::None, &[]),
                person("gus", AuthMethod::None, &[]),
            ],
            fields: Box::new(|doc| {
                vec![
                    field("eve", doc, 1, FieldKind::Signature, 0),
                    field("eve", doc, 1, FieldKind::Image, 1),
                    field("fay", doc, 1, FieldKind::Signature, 2),
                    field("gus", doc, 2, FieldKind::Signature, 0),
                ]
            }),
            completion: CompletionRule::AtLeast { min_signers: 2 },
            reminders: Some(ReminderPolicy {
                every_days: 1,
                max: 2,
            }),
            expires_at: None,
        },
    )
    .await?;
    let link = |i: usize| view.signing_urls[i].1.clone();
    let (eve, fay, gus) = (link(0), link(1), link(2));

    // Everyone is invited at once, over SMTP, each with their own link.
    app.run_jobs().await?;
    let mails = smtp.messages()?;
    for (who, url) in [("eve", &eve), ("fay", &fay), ("gus", &gus)] {
        assert!(
            mails
                .iter()
                .any(|m| m.to.contains(&format!("{who}@example.com"))
                    && m.text.contains(url.as_str())),
            "{who} invited: {mails:?}"
        );
    }

    // Eve draws her signature with the script and uploads the stamp.
    start_signing_with_script(&browser, &eve).await?;
    assert!(
        browser.find("#pad").await?.is_displayed().await?,
        "the script ran"
    );
    browser
        .client()
        .execute(
            "const pad = document.getElementById('pad'); const box = pad.getBoundingClientRect(); \
             const at = (x, y, type) => pad.dispatchEvent(new PointerEvent(type, {bubbles: true, \
               pointerId: 3, pointerType: 'mouse', clientX: box.left + x, clientY: box.top + y})); \
             at(12, 30, 'pointerdown'); for (let i = 1; i < 30; i++) at(12 + i * 8, 30 + (i % 4) * 7, 'pointermove'); \
             at(250, 50, 'pointerup');",
            vec![],
        )
        .await?;
    let dir = tempfile::tempdir()?;
    let stamp = dir.path().join("stamp.png");
    std::fs::write(&stamp, STAMP_PNG)?;
    browser
        .find("input[name^=\"image.\"]")
        .await?
        .send_keys(&stamp.display().to_string())
        .await?;
    screens.shot("eve-drawn").await?;
    browser.click("#consent").await?;
    browser.click("#sign").await?;
    wait_for(&browser, "You signed").await?;
    screens.shot("eve-done").await?;

    // The sender reminds the others, over SMTP, with their links.
    let sender = caller(&app, &tenant).await?;
    app.core
        .remind_sign_envelope(&sender, &view.envelope.id, Origin::default(), None)
        .await?;
    let mut reminded = false;
    for _ in 0..50 {
        app.run_jobs().await?;
        let mails = smtp.messages()?;
        reminded = [("fay", &fay), ("gus", &gus)].iter().all(|(who, url)| {
            mails.iter().any(|m| {
                m.to.contains(&format!("{who}@example.com"))
                    && m.subject.contains("Reminder")
                    && m.text.contains(url.as_str())
            })
        });
        if reminded {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert!(reminded, "{:?}", smtp.messages()?);
    assert!(
        !smtp
            .messages()?
            .iter()
            .any(|m| m.to.contains("eve@example.com") && m.subject.contains("Reminder")),
        "Eve signed: no reminder"
    );

    // A day later the schedule reminds them again on its own; that is the policy's second and
    // last, so a further day brings none. Eve, who signed, never gets one.
    let reminders_to = |who: &str| -> anyhow::Result<usize> {
        Ok(smtp
            .messages()?
            .iter()
            .filter(|m| {
                m.to.contains(&format!("{who}@example.com")) && m.subject.contains("Reminder")
            })
            .count())
    };
    app.clock
        .advance(time::Duration::days(1) + time::Duration::minutes(1));
    let mut scheduled = false;
    for _ in 0..50 {
        app.run_jobs().await?;
        if reminders_to("fay")? == 2 && reminders_to("gus")? == 2 {
            scheduled = true;
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert!(scheduled, "the scheduled reminder: {:?}", smtp.messages()?);
    app.clock
        .advance(time::Duration::days(1) + time::Duration::minutes(1));
    settle(&app).await?;
    assert_eq!(
        (
            reminders_to("eve")?,
            reminders_to("fay")?,
            reminders_to("gus")?
        ),
        (0, 2, 2),
        "the policy's limit"
    );

    // Fay types her name: two of three is enough, Gus is released.
    start_signing_with_script(&browser, &fay).await?;
    browser.click("#consent").await?;
    browser.click("#sign").await?;
    wait_for(&browser, "You signed").await?;
    screens.shot("fay-done").await?;
    browser.goto(&gus).await?;
    wait_for(&browser, "Everyone signed").await?;
    assert!(!browser.page_source().await?.contains("id=\"start\""));
    screens.shot("gus-released").await?;
    settle(&app).await?;
    let after = reload(&app, &tenant, &view).await?;
    assert_eq!(after.envelope.status, EnvelopeStatus::Completed);
    assert_eq!(
        after.envelope.participants[2].state,
        ParticipantState::Released
    );
    let eve_id = after.envelope.participants[0].id;
    let drawn = after
        .envelope
        .fields_of(eve_id)
        .find(|f| f.kind == FieldKind::Signature)
        .and_then(|f| f.value.clone());
    assert!(
        matches!(drawn, Some(FieldValue::Mark(Mark::Drawn { .. }))),
        "{drawn:?}"
    );
    let caller = caller(&app, &tenant).await?;
    let (_, stream) = app
        .core
        .sign_envelope_result(&caller, &view.envelope.id, None)
        .await?;
    let pdf = collect(stream).await?;
    // Eve's signature is a drawing: only Fay's name is text on the page. Fay signed two days
    // ahead of the machine's clock, so the check runs at the app's time.
    validate_at_app_time(&app, &pdf, 2, &["Person fay"]).await?;
    browser.close().await
}

async fn a_void_and_an_expiry_end_the_journey(backend: Backend) -> anyhow::Result<()> {
    let Some(app) = TestApp::spawn(backend).await? else {
        return Ok(());
    };
    let Some(browser) = Browser::start().await? else {
        return Ok(());
    };
    let screens = Screens {
        browser: &browser,
        prefix: format!("journey-ended-{}", backend_name(backend)),
    };
    let tenant = app.tenant().await?;
    let caller = caller(&app, &tenant).await?;
    let one = |key: &'static str, expires_at| Plan {
        participants: vec![person(key, AuthMethod::None, &[])],
        fields: Box::new(move |doc| vec![field(key, doc, 1, FieldKind::Signature, 0)]),
        completion: CompletionRule::AllSigners,
        reminders: None,
        expires_at,
    };

    // Voided while Hal reviews: his next page says so, with the sender's reason.
    let voided = envelope(&app, &tenant, one("hal", None)).await?;
    let hal = voided.signing_urls[0].1.clone();
    start_signing(&browser, &hal).await?;
    screens.shot("hal-review").await?;
    app.core
        .void_sign_envelope(
            &caller,
            &voided.envelope.id,
            "Wrong tenant".parse()?,
            Origin::default(),
            None,
        )
        .await?;
    browser.goto(&hal).await?;
    let page = wait_for(&browser, "Wrong tenant").await?;
    assert!(!page.contains("id=\"sign-form\""), "{page}");
    screens.shot("hal-voided").await?;

    // Ida's envelope expires before she acts.
    let expires_at = app.core.now() + time::Duration::days(2);
    let expiring = envelope(&app, &tenant, one("ida", Some(expires_at))).await?;
    let ida = expiring.signing_urls[0].1.clone();
    browser.goto(&ida).await?;
    wait_for(&browser, "id=\"start\"").await?;
    screens.shot("ida-start").await?;
    app.clock.advance(time::Duration::days(3));
    app.run_jobs().await?;
    let after = reload(&app, &tenant, &expiring).await?;
    assert_eq!(after.envelope.status, EnvelopeStatus::Expired);
    browser.goto(&ida).await?;
    let page = wait_for(&browser, "expired").await?;
    assert!(!page.contains("id=\"start\""), "{page}");
    screens.shot("ida-expired").await?;
    // Neither has a result.
    for id in [&voided.envelope.id, &expiring.envelope.id] {
        assert!(
            app.core
                .sign_envelope_result(&caller, id, None)
                .await
                .is_err()
        );
    }
    browser.close().await
}

/// A client that does not follow redirects, like a form post inspected by hand.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("journey-test/1.0")
        .build()
        .expect("a client")
}

async fn wrong_codes_and_the_lock_are_events_of_the_envelope(
    backend: Backend,
) -> anyhow::Result<()> {
    let phone = PhoneCapture::start().await?;
    let options = TestOptions {
        sms_url: Some(phone.url().to_owned()),
        ..TestOptions::default()
    };
    let Some(app) = TestApp::spawn_with(backend, options).await? else {
        return Ok(());
    };
    let tenant = app.tenant().await?;
    let view = envelope(
        &app,
        &tenant,
        Plan {
            participants: vec![person("jo", AuthMethod::SmsCode, &[])],
            fields: Box::new(|doc| vec![field("jo", doc, 1, FieldKind::Signature, 0)]),
            completion: CompletionRule::AllSigners,
            reminders: None,
            expires_at: None,
        },
    )
    .await?;
    let link = view.signing_urls[0].1.clone();
    let http = no_redirects();
    let sent = http.post(format!("{link}/code")).send().await?;
    assert_eq!(sent.status(), 303);
    let mut code = None;
    for _ in 0..100 {
        app.run_jobs().await?;
        code = phone.messages_to(PHONE).last().and_then(|m| m.code());
        if code.is_some() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let code: u32 = code.ok_or_else(|| anyhow::anyhow!("no code"))?.parse()?;
    let wrong = format!("{:06}", (code + 1) % 1_000_000);
    let max = app.core.settings().portal.max_failed_attempts;
    for _ in 0..max + 2 {
        let answer = http
            .post(format!("{link}/verify"))
            .form(&[("code", wrong.as_str())])
            .send()
            .await?;
        assert!(answer.status().is_client_error(), "{}", answer.status());
    }

    let caller = caller(&app, &tenant).await?;
    let events = app
        .core
        .sign_envelope_events(&caller, &view.envelope.id)
        .await?;
    let jo = view.envelope.participants[0].id;
    let rejected: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.event.kind, EventKind::CodeRejected { participant, .. } if participant == jo))
        .collect();
    assert_eq!(
        rejected.len() as u32,
        max,
        "every counted wrong code, no more"
    );
    let locked: Vec<_> = events
        .iter()
        .filter(
            |e| matches!(e.event.kind, EventKind::Locked { participant, .. } if participant == jo),
        )
        .collect();
    assert_eq!(locked.len(), 1, "one lock");
    for recorded in rejected.iter().chain(&locked) {
        let origin = &recorded.event.origin;
        assert_eq!(origin.user_agent.as_deref(), Some("journey-test/1.0"));
        assert!(origin.ip.is_some_and(|ip| ip.is_loopback()), "{origin:?}");
        assert!(matches!(
            recorded.event.actor,
            signet_core::signing::Actor::Participant(p) if p == jo
        ));
    }
    // The sender sees them in the envelope's events.
    let listed: serde_json::Value = app
        .native(
            Method::GET,
            &format!("/v1/envelopes/{}/events", view.envelope.id),
            &tenant,
        )
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let kinds: Vec<&str> = listed["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        kinds.iter().filter(|k| **k == "code_rejected").count() as u32,
        max,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "locked").count(),
        1,
        "{kinds:?}"
    );
    Ok(())
}

/// A participant known only by their phone number.
fn phone_only(key: &str, auth: AuthMethod) -> DraftParticipant {
    DraftParticipant {
        email: None,
        phone: Some(signet_core::values::Phone::from_national("CA", "8191234567").expect("phone")),
        ..person(key, auth, &[])
    }
}

async fn phone_only_participants_get_their_link_by_sms(backend: Backend) -> anyhow::Result<()> {
    let phone = PhoneCapture::start().await?;
    let options = TestOptions {
        sms_url: Some(phone.url().to_owned()),
        ..TestOptions::default()
    };
    let Some(app) = TestApp::spawn_with(backend, options).await? else {
        return Ok(());
    };
    let tenant = app.tenant().await?;
    let one = |auth| Plan {
        participants: vec![phone_only("kim", auth)],
        fields: Box::new(|doc| vec![field("kim", doc, 1, FieldKind::Signature, 0)]),
        completion: CompletionRule::AllSigners,
        reminders: None,
        expires_at: None,
    };
    let view = envelope(&app, &tenant, one(AuthMethod::SmsCode)).await?;
    let link = view.signing_urls[0].1.clone();
    app.run_jobs().await?;
    let received = phone.messages_to(PHONE);
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].channel, "sms");
    assert!(received[0].body.ends_with(&link), "{received:?}");
    assert!(received[0].body.contains("Acme Payroll asks you to sign"));
    // The sender's reminder reaches the phone too.
    let sender = caller(&app, &tenant).await?;
    app.core
        .remind_sign_envelope(&sender, &view.envelope.id, Origin::default(), None)
        .await?;
    app.run_jobs().await?;
    let received = phone.messages_to(PHONE);
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(received[1].body.starts_with("Reminder:") && received[1].body.ends_with(&link));

    // Without the plan's `sms` feature nothing is texted (the invitation is still recorded).
    let plain = app.tenant_with(&[], 10 * 1024 * 1024, true).await?;
    let view = envelope(&app, &plain, one(AuthMethod::None)).await?;
    app.run_jobs().await?;
    assert_eq!(phone.messages_to(PHONE).len(), 2, "nothing more sent");
    let plain_sender = caller(&app, &plain).await?;
    let events = app
        .core
        .sign_envelope_events(&plain_sender, &view.envelope.id)
        .await?;
    assert!(
        events
            .iter()
            .any(|e| matches!(e.event.kind, EventKind::Invited { .. })),
        "{events:?}"
    );
    Ok(())
}
