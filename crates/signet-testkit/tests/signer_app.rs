//! The signer's web app, on SQLite + local blobs and on PostgreSQL + S3.
//!
//! In headless Chromium (screenshots of every page under `target/screenshots/`): two signers in
//! sequence — the second sees whom they wait for until the first signs (typed name, plain form
//! post), then proves who they are by SMS code (a wrong code first) and draws their signature
//! with the script; an e-mail code through a real SMTP server, then a decline with a reason.
//!
//! Over plain HTTP (forms as a browser without JavaScript posts them): forged links, links and
//! sessions used for someone else or another envelope, acting out of turn, after signing or
//! after a void, replayed form posts, the sender's redirect, and 1,000 wrong codes in parallel.

use std::time::Duration as StdDuration;

use reqwest::Method;
use reqwest::header;
use signet_core::error::CoreError;
use signet_core::ids::DocumentId;
use signet_core::signing::lifecycle::{DraftDocument, DraftField, DraftParticipant, EnvelopeDraft};
use signet_core::signing::signer::{FormAct, Verdict};
use signet_core::signing::{
    AuthMethod, CompletionRule, DocumentAction, EnvelopeStatus, EnvelopeView, FieldKind,
    FieldValue, Mark, NewSignEnvelope, Origin, ParticipantState, Redirects, Refusal,
};
use signet_core::values::Language;
use signet_testkit::browser::Browser;
use signet_testkit::phone::PhoneCapture;
use signet_testkit::signing::{
    Screens, backend_name, caller, person, reload, wait_for, wait_for_within,
};
use signet_testkit::smtp::{SmtpServer, venv_python_with};
use signet_testkit::{Backend, TestApp, TestOptions, TestTenant};

const PHONE: &str = "+18191234567";

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
    two_signers_in_sequence_typed_then_drawn_after_an_sms_code,
    an_email_code_over_smtp_then_a_decline_with_a_reason,
    links_sessions_and_forms_resist_misuse,
    a_thousand_wrong_codes_in_parallel_lock_after_five,
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

fn field(
    key: &str,
    document: DocumentId,
    page: u32,
    kind: FieldKind,
    label: Option<&str>,
) -> DraftField {
    DraftField {
        participant: key.parse().expect("key"),
        document,
        page,
        x: 0.1,
        y: if kind == FieldKind::Signature {
            0.7
        } else {
            0.5
        },
        width: 0.3,
        height: 0.08,
        kind,
        required: true,
        label: label.map(|l| l.parse().expect("label")),
        value: None,
    }
}

async fn envelope(
    app: &TestApp,
    tenant: &TestTenant,
    participants: Vec<DraftParticipant>,
    fields: impl FnOnce(DocumentId) -> Vec<DraftField>,
    redirects: Redirects,
) -> anyhow::Result<EnvelopeView> {
    let caller = caller(app, tenant).await?;
    let document = upload_pdf(app, tenant, 2).await?;
    Ok(app
        .core
        .create_sign_envelope(
            &caller,
            NewSignEnvelope {
                draft: EnvelopeDraft {
                    title: "Lease".parse()?,
                    language: Language::En,
                    expires_at: None,
                    documents: vec![DraftDocument {
                        document,
                        action: DocumentAction::Sign,
                    }],
                    participants,
                    fields: fields(document),
                    completion: CompletionRule::AllSigners,
                    reminders: None,
                    redirects,
                    signed_copy_offered: true,
                },
                origin: Origin::default(),
                idempotency_key: None,
            },
        )
        .await?)
}

fn path_of(url: &str) -> String {
    url.split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        .unwrap_or_default()
}

fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Runs jobs until `phone` received `count` messages; the newest code.
async fn sms_code(app: &TestApp, phone: &PhoneCapture, count: usize) -> anyhow::Result<String> {
    for _ in 0..200 {
        app.run_jobs().await?;
        let received = phone.messages_to(PHONE);
        if received.len() >= count {
            return received
                .last()
                .and_then(|m| m.code())
                .ok_or_else(|| anyhow::anyhow!("no code in {received:?}"));
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    anyhow::bail!("no code reached {PHONE}")
}

async fn two_signers_in_sequence_typed_then_drawn_after_an_sms_code(
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
    let Some(browser) = Browser::start().await? else {
        return Ok(());
    };
    let screens = Screens {
        browser: &browser,
        prefix: format!("signer-sequence-{}", backend_name(backend)),
    };
    let tenant = app.tenant().await?;
    let view = envelope(
        &app,
        &tenant,
        vec![
            person("ana", AuthMethod::None, &[]),
            person("ben", AuthMethod::SmsCode, &["ana"]),
        ],
        |doc| {
            vec![
                field("ana", doc, 1, FieldKind::Signature, None),
                field("ana", doc, 1, FieldKind::Text, Some("Employee number")),
                field("ben", doc, 2, FieldKind::Signature, None),
            ]
        },
        Redirects::default(),
    )
    .await?;
    let ana = &view.signing_urls[0].1;
    let ben = &view.signing_urls[1].1;

    // Ben's turn has not come: he sees whom he waits for.
    browser.goto(ben).await?;
    let waiting = browser.page_source().await?;
    assert!(waiting.contains("Person ana"), "{waiting}");
    assert!(!waiting.contains("id=\"start\""));
    screens.shot("waiting").await?;

    // Ana needs no code (recorded as such), reviews both pages, fills, types her name, signs.
    browser.goto(ana).await?;
    screens.shot("start").await?;
    browser.click("#start").await?;
    let review = wait_for(&browser, "id=\"sign-form\"").await?;
    assert_eq!(
        review.matches("<figure class=\"page\">").count(),
        2,
        "every page"
    );
    assert_eq!(
        review.matches("class=\"box\"").count(),
        2,
        "only her own fields"
    );
    assert!(review.contains("Employee number"));
    screens.shot("review").await?;
    browser.fill("input[name^=\"field.\"]", "E-1234").await?;
    browser.click("#consent").await?;
    browser.click("#sign").await?;
    let done = wait_for(&browser, "You signed").await?;
    assert!(done.contains("You signed"), "{done}");
    screens.shot("done").await?;

    // A page image is a PNG, for this session only.
    let document = view.envelope.documents[0].document;
    let image = browser
        .client()
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             fetch(arguments[0]).then(r => done(r.status + ' ' + r.headers.get('content-type')));",
            vec![serde_json::json!(format!(
                "{}/pages/{document}/1?w=480",
                path_of(ana)
            ))],
        )
        .await?;
    assert_eq!(image.as_str(), Some("200 image/png"), "{image:?}");
    let anonymous = app
        .http
        .get(format!("{ana}/pages/{document}/1?w=480"))
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);

    // Ben's turn: SMS code, a wrong one first, then the right one; he draws his signature.
    browser.goto(ben).await?;
    screens.shot("send-code").await?;
    browser.click("#start").await?;
    wait_for(&browser, "id=\"code\"").await?;
    let code = sms_code(&app, &phone, 1).await?;
    screens.shot("enter-code").await?;
    let wrong = format!("{:06}", (code.parse::<u32>()? + 1) % 1_000_000);
    browser.fill("#code", &wrong).await?;
    browser.click("#verify").await?;
    wait_for(&browser, "not the right one").await?;
    screens.shot("wrong-code").await?;
    browser.fill("#code", &code).await?;
    browser.click("#verify").await?;
    wait_for(&browser, "id=\"sign-form\"").await?;
    // Draw a stroke with pointer events, as a pen would.
    browser
        .client()
        .execute(
            "const pad = document.getElementById('pad'); const box = pad.getBoundingClientRect(); \
             const at = (x, y, type) => pad.dispatchEvent(new PointerEvent(type, {bubbles: true, \
               pointerId: 7, pointerType: 'pen', clientX: box.left + x, clientY: box.top + y})); \
             at(10, 40, 'pointerdown'); for (let i = 1; i < 30; i++) at(10 + i * 8, 40 + (i % 5) * 6, 'pointermove'); \
             at(250, 60, 'pointerup');",
            vec![],
        )
        .await?;
    screens.shot("drawn").await?;
    browser.click("#consent").await?;
    browser.click("#sign").await?;
    wait_for(&browser, "You signed").await?;
    screens.shot("done-drawn").await?;

    let after = reload(&app, &tenant, &view).await?;
    assert_eq!(after.envelope.status, EnvelopeStatus::Completed);
    let ben_id = after.envelope.participants[1].id;
    let ben_signature = after
        .envelope
        .fields_of(ben_id)
        .find(|f| f.kind == FieldKind::Signature)
        .and_then(|f| f.value.clone());
    assert!(
        matches!(ben_signature, Some(FieldValue::Mark(Mark::Drawn { .. }))),
        "{ben_signature:?}"
    );
    let ana_id = after.envelope.participants[0].id;
    let ana_signature = after
        .envelope
        .fields_of(ana_id)
        .find(|f| f.kind == FieldKind::Signature)
        .and_then(|f| f.value.clone());
    assert_eq!(
        ana_signature,
        Some(FieldValue::Mark(Mark::Typed {
            text: "Person ana".into()
        }))
    );
    browser.close().await
}

async fn an_email_code_over_smtp_then_a_decline_with_a_reason(
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
        prefix: format!("signer-email-{}", backend_name(backend)),
    };
    let tenant = app.tenant().await?;
    let view = envelope(
        &app,
        &tenant,
        vec![
            person("eve", AuthMethod::EmailCode, &[]),
            person("fay", AuthMethod::None, &[]),
        ],
        |doc| {
            vec![
                field("eve", doc, 1, FieldKind::Signature, None),
                field("fay", doc, 2, FieldKind::Signature, None),
            ]
        },
        Redirects::default(),
    )
    .await?;
    let eve = &view.signing_urls[0].1;
    browser.goto(eve).await?;
    assert!(browser.page_source().await?.contains("e•••@example.com"));
    screens.shot("send-code").await?;
    browser.click("#start").await?;
    wait_for(&browser, "id=\"code\"").await?;
    let mut code = None;
    for _ in 0..200 {
        app.run_jobs().await?;
        code = smtp
            .messages()?
            .into_iter()
            .filter(|m| m.to.contains("eve@example.com") && m.subject.contains("code"))
            .find_map(|m| signet_testkit::phone::extract_code(&m.text));
        if code.is_some() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let code = code.ok_or_else(|| anyhow::anyhow!("no code e-mailed"))?;
    browser.fill("#code", &code).await?;
    screens.shot("enter-code").await?;
    browser.click("#verify").await?;
    wait_for(&browser, "decline-link").await?;
    let decline_url = browser
        .find("#decline-link")
        .await?
        .attr("href")
        .await?
        .unwrap_or_default();
    browser.click("#decline-link").await?;
    // In CI the click on this link was twice not followed by the decline form (a navigation lost
    // to chromedriver, the page shown unchanged); the link itself is then followed by hand, and
    // a wrong page still fails below with what it showed.
    if wait_for_within(&browser, "id=\"reason\"", StdDuration::from_secs(10))
        .await
        .is_err()
    {
        let absolute = if decline_url.starts_with("http") {
            decline_url.clone()
        } else {
            app.url(&decline_url)
        };
        browser.goto(&absolute).await?;
    }
    wait_for(&browser, "id=\"reason\"").await?;
    screens.shot("decline").await?;
    browser.fill("#reason", "The rent is wrong").await?;
    browser.click("#decline").await?;
    wait_for(&browser, "You declined").await?;
    screens.shot("declined").await?;
    // The other signer finds the envelope ended.
    browser.goto(&view.signing_urls[1].1).await?;
    wait_for(&browser, "declined").await?;
    screens.shot("closed").await?;
    let after = reload(&app, &tenant, &view).await?;
    assert_eq!(after.envelope.status, EnvelopeStatus::Declined);
    assert_eq!(
        after.envelope.participants[0]
            .decline_reason
            .as_ref()
            .map(|r| r.as_str().to_owned()),
        Some("The rent is wrong".into())
    );
    browser.close().await
}

/// A client without JavaScript or cookie jar: forms posted by hand, cookies carried by hand.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

fn cookie_of(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// The form token and the inputs of the sign form on a page.
fn form_token(page: &str) -> Option<String> {
    let at = page.find("name=\"form\" value=\"")? + "name=\"form\" value=\"".len();
    Some(page[at..].split('"').next()?.to_owned())
}

async fn authenticate(http: &reqwest::Client, link: &str) -> anyhow::Result<String> {
    let response = http
        .post(format!("{link}/verify"))
        .form(&[("code", "")])
        .send()
        .await?;
    anyhow::ensure!(response.status() == 303, "{}", response.status());
    cookie_of(&response).ok_or_else(|| anyhow::anyhow!("no session cookie"))
}

async fn page(http: &reqwest::Client, link: &str, cookie: &str) -> anyhow::Result<(u16, String)> {
    let response = http.get(link).header(header::COOKIE, cookie).send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

async fn links_sessions_and_forms_resist_misuse(backend: Backend) -> anyhow::Result<()> {
    let Some(app) = TestApp::spawn(backend).await? else {
        return Ok(());
    };
    let http = no_redirects();
    let tenant = app.tenant().await?;
    let success = format!("{}/healthz", app.base_url);
    let view = envelope(
        &app,
        &tenant,
        vec![
            person("ana", AuthMethod::None, &[]),
            person("ben", AuthMethod::None, &["ana"]),
        ],
        |doc| {
            vec![
                field("ana", doc, 1, FieldKind::Signature, None),
                field("ben", doc, 2, FieldKind::Signature, None),
            ]
        },
        Redirects {
            success: Some(success.parse()?),
            cancel: None,
            error: None,
        },
    )
    .await?;
    let other = envelope(
        &app,
        &tenant,
        vec![person("cy", AuthMethod::None, &[])],
        |doc| vec![field("cy", doc, 1, FieldKind::Signature, None)],
        Redirects::default(),
    )
    .await?;
    let (ana, ben, cy) = (
        view.signing_urls[0].1.clone(),
        view.signing_urls[1].1.clone(),
        other.signing_urls[0].1.clone(),
    );

    // A forged token finds nothing; neither does a token with one character changed.
    let forged = format!("{}/sign/{}", app.base_url, "A".repeat(43));
    assert_eq!(http.get(&forged).send().await?.status(), 404);
    let mut altered = token_of(&ana);
    let last = if altered.ends_with('A') { "B" } else { "A" };
    altered.replace_range(altered.len() - 1.., last);
    let altered = format!("{}/sign/{altered}", app.base_url);
    assert_eq!(http.get(&altered).send().await?.status(), 404);

    // Out of turn: Ben cannot start a session before Ana signed.
    let refused = http
        .post(format!("{ben}/verify"))
        .form(&[("code", "")])
        .send()
        .await?;
    assert_eq!(refused.status(), 409);
    assert!(cookie_of(&refused).is_none());

    let ana_cookie = authenticate(&http, &ana).await?;
    let cy_cookie = authenticate(&http, &cy).await?;
    let (status, review) = page(&http, &ana, &ana_cookie).await?;
    assert_eq!(status, 200);
    let token = form_token(&review).ok_or_else(|| anyhow::anyhow!("no form token"))?;
    // The page carries its CSP: scripts only from Signet, forms only to Signet and the
    // sender's redirect origin.
    let csp = http
        .get(&ana)
        .header(header::COOKIE, &ana_cookie)
        .send()
        .await?
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains(&format!("form-action 'self' {}", app.base_url)),
        "{csp}"
    );

    // Ana's session is no key to Ben's link, nor to another envelope's.
    for (link, cookie) in [(&ben, &ana_cookie), (&cy, &ana_cookie), (&ana, &cy_cookie)] {
        let (_, shown) = page(&http, link, cookie).await?;
        assert!(!shown.contains("id=\"sign-form\""), "no form on {link}");
        let posted = http
            .post(format!("{link}/sign"))
            .header(header::COOKIE, cookie.as_str())
            .form(&[
                ("form", token.as_str()),
                ("signature_name", "Mallory"),
                ("consent", "yes"),
            ])
            .send()
            .await?;
        assert_eq!(posted.status(), 401, "{link}");
    }
    // Ana's link with Ana's session cannot fill Ben's field.
    let session_token = ana_cookie
        .split_once('=')
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    let fresh = {
        let (_, page_now) = page(&http, &ana, &ana_cookie).await?;
        form_token(&page_now).unwrap_or_default()
    };
    let ben_field = view.envelope.fields[1].id;
    let foreign = app
        .core
        .signer_sign(
            &token_of(&ana),
            Some(&session_token),
            &fresh,
            vec![(
                ben_field,
                FieldValue::Mark(Mark::Typed { text: "Ana".into() }),
            )],
            true,
            &Origin::default(),
        )
        .await;
    assert!(
        matches!(foreign, Err(CoreError::Refused(Refusal::NotYourField(f))) if f == ben_field),
        "{foreign:?}"
    );

    // No consent: refused, nothing signed.
    let (_, page_now) = page(&http, &ana, &ana_cookie).await?;
    let token = form_token(&page_now).unwrap_or_default();
    let no_consent = http
        .post(format!("{ana}/sign"))
        .header(header::COOKIE, &ana_cookie)
        .form(&[("form", token.as_str()), ("signature_name", "Person ana")])
        .send()
        .await?;
    assert_eq!(no_consent.status(), 409);
    assert!(no_consent.text().await?.contains("Tick the box"));

    // Signed with a plain form post; the sender's success URL follows.
    let (_, page_now) = page(&http, &ana, &ana_cookie).await?;
    let token = form_token(&page_now).unwrap_or_default();
    let body = [
        ("form", token.as_str()),
        ("signature_name", "Person ana"),
        ("consent", "yes"),
    ];
    let signed = http
        .post(format!("{ana}/sign"))
        .header(header::COOKIE, &ana_cookie)
        .form(&body)
        .send()
        .await?;
    assert_eq!(signed.status(), 303);
    assert_eq!(
        signed
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some(success.as_str())
    );
    // The same post again does nothing.
    let events = app.event_count().await?;
    let replayed = http
        .post(format!("{ana}/sign"))
        .header(header::COOKIE, &ana_cookie)
        .form(&body)
        .send()
        .await?;
    assert_eq!(replayed.status(), 303);
    assert_eq!(
        replayed
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some(path_of(&ana).as_str())
    );
    assert_eq!(app.event_count().await?, events, "a replay records nothing");
    // After signing, no decline.
    let replay_decline = app
        .core
        .signer_decline(
            &token_of(&ana),
            Some(&session_token),
            &fresh,
            "changed my mind".parse()?,
            &Origin::default(),
        )
        .await;
    assert!(
        matches!(replay_decline, Ok(FormAct::Replayed)),
        "{replay_decline:?}"
    );
    let (_, page_now) = page(&http, &ana, &ana_cookie).await?;
    assert!(page_now.contains("You signed"));

    // After a void, Cy's open session signs nothing.
    let caller = caller(&app, &tenant).await?;
    let (_, cy_page) = page(&http, &cy, &cy_cookie).await?;
    let cy_token = form_token(&cy_page).unwrap_or_default();
    app.core
        .void_sign_envelope(
            &caller,
            &other.envelope.id,
            "Wrong tenant".parse()?,
            Origin::default(),
            None,
        )
        .await?;
    let after_void = http
        .post(format!("{cy}/sign"))
        .header(header::COOKIE, &cy_cookie)
        .form(&[
            ("form", cy_token.as_str()),
            ("signature_name", "Person cy"),
            ("consent", "yes"),
        ])
        .send()
        .await?;
    assert_eq!(after_void.status(), 409);
    let (_, closed) = page(&http, &cy, &cy_cookie).await?;
    assert!(
        closed.contains("voided") && closed.contains("Wrong tenant"),
        "{closed}"
    );
    let cy_after = reload(&app, &tenant, &other).await?;
    assert_eq!(
        cy_after.envelope.participants[0].state,
        ParticipantState::Authenticated
    );
    Ok(())
}

async fn a_thousand_wrong_codes_in_parallel_lock_after_five(
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
        vec![person("dan", AuthMethod::SmsCode, &[])],
        |doc| vec![field("dan", doc, 1, FieldKind::Signature, None)],
        Redirects::default(),
    )
    .await?;
    let link = view.signing_urls[0].1.clone();
    let token = token_of(&link);
    // Opening the link, then a code.
    app.http.get(&link).send().await?.error_for_status()?;
    app.core
        .signer_request_code(&token, &Origin::default())
        .await?;
    let code = sms_code(&app, &phone, 1).await?;
    let wrong = format!("{:06}", (code.parse::<u32>()? + 1) % 1_000_000);
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let core = app.core.clone();
            let (token, wrong) = (token.clone(), wrong.clone());
            tokio::spawn(async move {
                core.signer_verify(&token, Some(&wrong), &Origin::default())
                    .await
            })
        })
        .collect();
    let (mut wrongs, mut locked, mut other) = (0, 0, 0);
    for task in tasks {
        match task.await? {
            Ok(Verdict::Wrong { .. }) => wrongs += 1,
            Ok(Verdict::Locked { .. }) => locked += 1,
            _ => other += 1,
        }
    }
    assert!(wrongs <= 4, "{wrongs} wrong answers before the lock");
    assert!(locked >= 1, "{locked} locked, {other} busy");
    let dan = view.envelope.participants[0].id;
    let guard = app.store.signer_guard(&dan).await?;
    assert_eq!(guard.failed_attempts, 5, "exactly five wrong codes got in");
    assert!(guard.locked_until.is_some() && guard.code.is_none());
    // The right code is refused while locked.
    let right = app
        .core
        .signer_verify(&token, Some(&code), &Origin::default())
        .await?;
    assert!(matches!(right, Verdict::Locked { .. }), "{right:?}");
    let (status, shown) = (
        app.http.get(&link).send().await?.status(),
        app.http.get(&link).send().await?.text().await?,
    );
    assert_eq!(status, 200);
    assert!(shown.contains("Too many wrong attempts"));
    Ok(())
}
