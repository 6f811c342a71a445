//! The native envelope endpoints through the real router, on SQLite + local blobs and on
//! PostgreSQL + S3: create (two signers in sequence, one in parallel), show, list with a cursor,
//! void, remind, events, result and certificate; every validation problem names its field;
//! another tenant's envelope is not found; `Idempotency-Key` replays and mismatches; malformed,
//! mistyped and oversize bodies answer problems. Each response shape is frozen as an `insta`
//! snapshot (`snapshots/envelope_*.snap`), the same on both backends.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use signet_testkit::{TestApp, TestTenant};

signet_testkit::on_both!(
    create_show_and_events_of_a_sequential_and_parallel_envelope,
    each_validation_problem_names_its_field,
    malformed_bodies_answer_problems,
    another_tenants_envelope_is_not_found,
    void_then_void_again_conflicts,
    remind_and_result_before_completion,
    a_list_pages_with_a_cursor,
    an_idempotency_key_replays_and_refuses_a_different_body,
    two_of_three_signed_completes_and_shows_through_the_api,
    an_operator_may_require_every_signer_to_authenticate,
);

async fn upload_pdf(app: &TestApp, tenant: &TestTenant, pages: usize) -> anyhow::Result<String> {
    let response = app
        .native(Method::POST, "/v1/documents", tenant)
        .query(&[("name", "contract.pdf")])
        .header("Content-Type", "application/pdf")
        .body(signet_pdf::sample::blank_with_trailer(pages, ""))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await?;
    Ok(created["id"].as_str().unwrap_or_default().to_owned())
}

/// Two signers in sequence (`manager` after `employee`) and one in parallel (`witness`), on a
/// two-page document.
fn envelope_body(document: &str) -> Value {
    json!({
        "title": "Employment contract",
        "language": "en",
        "documents": [{ "id": document, "action": "sign" }],
        "participants": [
            { "key": "employee", "name": "Alice Martin", "email": "alice@example.com",
              "role": "signer", "auth": "email" },
            { "key": "manager", "name": "Bob Durand", "email": "bob@example.com",
              "role": "signer", "auth": "email", "after": ["employee"] },
            { "key": "witness", "name": "Chloé Petit", "email": "chloe@example.com",
              "role": "signer", "auth": "email" }
        ],
        "fields": [
            { "participant": "employee", "document": document, "page": 1,
              "x": 0.1, "y": 0.8, "width": 0.3, "height": 0.05, "type": "signature" },
            { "participant": "manager", "document": document, "page": 2,
              "x": 0.5, "y": 0.8, "width": 0.3, "height": 0.05, "type": "signature" },
            { "participant": "witness", "document": document, "page": 2,
              "x": 0.1, "y": 0.9, "width": 0.2, "height": 0.04, "type": "date", "required": false }
        ],
        "reminders": { "every_days": 2, "max": 3 }
    })
}

fn create(app: &TestApp, tenant: &TestTenant, body: &Value) -> RequestBuilder {
    app.native(Method::POST, "/v1/envelopes", tenant).json(body)
}

/// A response as recorded for a snapshot: status, the headers clients act on, the body.
async fn capture(response: Response) -> anyhow::Result<Value> {
    let status = response.status().as_u16();
    let mut headers = serde_json::Map::new();
    for name in [
        "content-type",
        "location",
        "www-authenticate",
        "content-disposition",
    ] {
        if let Some(value) = response.headers().get(name) {
            headers.insert(
                name.into(),
                Value::from(value.to_str().unwrap_or("<binary>")),
            );
        }
    }
    let bytes = response.bytes().await?;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::from(format!("<{} bytes>", bytes.len())));
    Ok(json!({ "status": status, "headers": headers, "body": body }))
}

/// Compares `value` with snapshot `name`, ids, links, hashes and times redacted.
fn snapshot(name: &str, value: &Value) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    settings.set_omit_expression(true);
    for (pattern, replacement) in [
        (r"http://127\.0\.0\.1:\d+", "[base]"),
        (r"/sign/[A-Za-z0-9_-]+", "/sign/[token]"),
        (r"0x[0-9a-f]{64}", "0x[hash]"),
        (r"\b[0-9a-fA-F]{64}\b", "[hash]"),
        (r"\b[0-9a-fA-F]{30,32}\b", "[id]"),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            "[rfc3339]",
        ),
        // Cursors are the base64 of `v1:` and an id.
        (r"djE6[A-Za-z0-9_-]+", "[cursor]"),
    ] {
        settings.add_filter(pattern, replacement);
    }
    settings.bind(|| insta::assert_yaml_snapshot!(name, value));
}

/// Sends `request`, checks its status and compares the response with snapshot `name`.
async fn check(name: &str, request: RequestBuilder, status: StatusCode) -> anyhow::Result<Value> {
    let recorded = capture(request.send().await?).await?;
    assert_eq!(recorded["status"], status.as_u16(), "{name}: {recorded}");
    snapshot(name, &recorded);
    Ok(recorded["body"].clone())
}

fn state_of(envelope: &Value, key: &str) -> String {
    envelope["participants"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["key"] == key)
        .and_then(|p| p["state"].as_str())
        .unwrap_or("<none>")
        .to_owned()
}

async fn create_show_and_events_of_a_sequential_and_parallel_envelope(
    app: TestApp,
) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let created = check(
        "envelope_created",
        create(&app, &tenant, &envelope_body(&document)),
        StatusCode::CREATED,
    )
    .await?;
    assert_eq!(created["state"], "open");
    assert_eq!(state_of(&created, "employee"), "invited");
    assert_eq!(state_of(&created, "manager"), "waiting", "after employee");
    assert_eq!(state_of(&created, "witness"), "invited", "in parallel");
    let participants = created["participants"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(participants.len(), 3);
    let mut urls = Vec::new();
    for p in &participants {
        let url = p["signing_url"].as_str().unwrap_or_default();
        assert!(url.contains("/sign/"), "{url}");
        assert!(p["id"].as_str().is_some_and(|id| !id.is_empty()));
        urls.push(url.to_owned());
    }
    urls.dedup();
    assert_eq!(urls.len(), 3, "each participant has their own link");

    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let shown = check(
        "envelope_shown",
        app.native(Method::GET, &format!("/v1/envelopes/{id}"), &tenant),
        StatusCode::OK,
    )
    .await?;
    assert_eq!(shown["id"], created["id"]);
    assert_eq!(shown["participants"], created["participants"]);
    assert_eq!(shown["documents"][0]["id"], document.as_str());
    assert_eq!(shown["documents"][0]["pages"], 2);

    let events = check(
        "envelope_events",
        app.native(Method::GET, &format!("/v1/envelopes/{id}/events"), &tenant),
        StatusCode::OK,
    )
    .await?;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.first(), Some(&"created"), "{kinds:?}");
    let invited: Vec<&str> = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "invited")
        .filter_map(|e| e["participant"].as_str())
        .collect();
    assert_eq!(invited.len(), 2, "{invited:?}");
    assert!(invited.contains(&"employee") && invited.contains(&"witness"));
    assert!(events["next_cursor"].is_null());
    // Events page too.
    let first: Value = app
        .native(
            Method::GET,
            &format!("/v1/envelopes/{id}/events?limit=1"),
            &tenant,
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(1));
    let cursor = first["next_cursor"].as_str().unwrap_or_default().to_owned();
    let second: Value = app
        .native(Method::GET, &format!("/v1/envelopes/{id}/events"), &tenant)
        .query(&[("cursor", cursor.as_str())])
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(second["items"][0], events["items"][1]);
    Ok(())
}

async fn each_validation_problem_names_its_field(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let events_before = app.event_count().await?;
    let unknown_document = "0".repeat(32);
    // What is wrong, where it is put (a JSON pointer), the value put there, the field named.
    let cases = [
        (
            "unknown document",
            "/documents/0/id",
            json!(unknown_document),
            "documents[0]",
        ),
        ("page out of range", "/fields/1/page", json!(3), "fields[1]"),
        (
            "cycle in after",
            "/participants/0/after",
            json!(["manager"]),
            "participants[",
        ),
        ("bad fraction", "/fields/0/x", json!(1.5), "fields[0]"),
        (
            "unknown participant key in a field",
            "/fields/2/participant",
            json!("nobody"),
            "fields[2]",
        ),
        (
            "unknown participant key in after",
            "/participants/1/after",
            json!(["nobody"]),
            "participants[1]",
        ),
        (
            "bad e-mail",
            "/participants/2/email",
            json!("not an address"),
            "participants[2].email",
        ),
        (
            "phone not in E.164",
            "/participants/2/phone",
            json!("0612345678"),
            "participants[2].phone",
        ),
        (
            "unknown role",
            "/participants/1/role",
            json!("boss"),
            "participants[1].role",
        ),
        (
            "unknown field type",
            "/fields/0/type",
            json!("stamp"),
            "fields[0].type",
        ),
        ("a number where text goes", "/title", json!(42), "title"),
        (
            "an unknown member",
            "/participants/0/colour",
            json!("blue"),
            "participants[0]",
        ),
        (
            "a bad expiry",
            "/expires_at",
            json!("tomorrow"),
            "expires_at",
        ),
        (
            "min_signers above the signers",
            "/completion",
            json!({ "min_signers": 4 }),
            "completion.min_signers",
        ),
    ];
    for (what, pointer, value, field) in cases {
        let mut body = envelope_body(&document);
        let (parent, member) = pointer.rsplit_once('/').unwrap_or_default();
        match body.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.insert(member.to_owned(), value);
            }
            _ => panic!("{what}: no {parent} in the body"),
        }
        let response = create(&app, &tenant, &body).send().await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{what}"
        );
        let problem: Value = response.json().await?;
        let named = problem["field"].as_str().unwrap_or_default();
        assert!(named.starts_with(field), "{what}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with(named)),
            "{what}: {problem}"
        );
    }
    assert_eq!(
        app.event_count().await?,
        events_before,
        "nothing was recorded"
    );
    // One of them, frozen.
    let mut body = envelope_body(&document);
    body["fields"][0]["x"] = json!(1.5);
    check(
        "envelope_invalid_field",
        create(&app, &tenant, &body),
        StatusCode::BAD_REQUEST,
    )
    .await?;
    Ok(())
}

async fn malformed_bodies_answer_problems(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let post = || {
        app.native(Method::POST, "/v1/envelopes", &tenant)
            .header("Content-Type", "application/json")
    };
    check(
        "envelope_malformed_json",
        post().body("{\"title\": "),
        StatusCode::BAD_REQUEST,
    )
    .await?;
    check(
        "envelope_wrong_type",
        post().body(r#"{"title": "t", "documents": {}, "participants": []}"#),
        StatusCode::BAD_REQUEST,
    )
    .await?;
    check(
        "envelope_array_body",
        post().body("[]"),
        StatusCode::BAD_REQUEST,
    )
    .await?;
    check(
        "envelope_trailing_bytes",
        post().body(r#"{"title": "t", "documents": [], "participants": []} x"#),
        StatusCode::BAD_REQUEST,
    )
    .await?;
    let huge = format!(r#"{{"title": "{}"}}"#, "a".repeat(2 * 1024 * 1024));
    check(
        "envelope_body_too_large",
        post().body(huge),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await?;
    check(
        "envelope_not_json",
        app.native(Method::POST, "/v1/envelopes", &tenant)
            .header("Content-Type", "text/plain")
            .body("title=x"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await?;
    for bytes in [
        &b"\xff\xfe\x00"[..],
        b"{\"title\": \"\\ud800\"}",
        b"null",
        b"{}",
    ] {
        let response = post().body(bytes.to_vec()).send().await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bytes:?}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    check(
        "envelope_unauthorized",
        app.http.post(app.url("/v1/envelopes")).json(&json!({})),
        StatusCode::UNAUTHORIZED,
    )
    .await?;
    check(
        "envelope_bad_cursor",
        app.native(Method::GET, "/v1/envelopes?cursor=nonsense!", &tenant),
        StatusCode::BAD_REQUEST,
    )
    .await?;
    check(
        "envelope_bad_state",
        app.native(Method::GET, "/v1/envelopes?state=finished", &tenant),
        StatusCode::BAD_REQUEST,
    )
    .await?;
    let response = app
        .native(Method::GET, "/v1/envelopes?limit=201", &tenant)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem: Value = response.json().await?;
    assert_eq!(problem["field"], "limit");
    Ok(())
}

async fn another_tenants_envelope_is_not_found(app: TestApp) -> anyhow::Result<()> {
    let owner = app.tenant().await?;
    let other = app.tenant().await?;
    let document = upload_pdf(&app, &owner, 2).await?;
    let created: Value = create(&app, &owner, &envelope_body(&document))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    // The other tenant cannot use the owner's document either.
    let response = create(&app, &other, &envelope_body(&document))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    for (method, path) in [
        (Method::GET, format!("/v1/envelopes/{id}")),
        (Method::GET, format!("/v1/envelopes/{id}/events")),
        (Method::GET, format!("/v1/envelopes/{id}/result")),
        (Method::GET, format!("/v1/envelopes/{id}/certificate")),
        (Method::POST, format!("/v1/envelopes/{id}/remind")),
    ] {
        let response = app.native(method.clone(), &path, &other).send().await?;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    check(
        "envelope_not_found",
        app.native(Method::POST, &format!("/v1/envelopes/{id}/void"), &other)
            .json(&json!({ "reason": "not yours" })),
        StatusCode::NOT_FOUND,
    )
    .await?;
    let listed: Value = app
        .native(Method::GET, "/v1/envelopes", &other)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(listed["items"], json!([]));
    // Still open for its owner.
    let shown: Value = app
        .native(Method::GET, &format!("/v1/envelopes/{id}"), &owner)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(shown["state"], "open");
    // A malformed id is simply not found.
    let response = app
        .native(Method::GET, "/v1/envelopes/not-an-id", &owner)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    Ok(())
}

async fn void_then_void_again_conflicts(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let created: Value = create(&app, &tenant, &envelope_body(&document))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let void = || app.native(Method::POST, &format!("/v1/envelopes/{id}/void"), &tenant);
    let response = void().json(&json!({})).send().await?;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "a reason is needed"
    );
    let voided = check(
        "envelope_voided",
        void().json(&json!({ "reason": "Sent to the wrong person" })),
        StatusCode::OK,
    )
    .await?;
    assert_eq!(voided["state"], "voided");
    assert_eq!(voided["void_reason"], "Sent to the wrong person");
    check(
        "envelope_void_again",
        void().json(&json!({ "reason": "again" })),
        StatusCode::CONFLICT,
    )
    .await?;
    let response = app
        .native(Method::POST, &format!("/v1/envelopes/{id}/remind"), &tenant)
        .send()
        .await?;
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "a voided envelope reminds nobody"
    );
    let events: Value = app
        .native(Method::GET, &format!("/v1/envelopes/{id}/events"), &tenant)
        .send()
        .await?
        .json()
        .await?;
    let voids: Vec<&Value> = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "voided")
        .collect();
    assert_eq!(voids.len(), 1, "{events}");
    assert_eq!(voids[0]["reason"], "Sent to the wrong person");
    assert_eq!(voids[0]["actor"], "sender");
    Ok(())
}

async fn remind_and_result_before_completion(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let created: Value = create(&app, &tenant, &envelope_body(&document))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    check(
        "envelope_result_not_ready",
        app.native(Method::GET, &format!("/v1/envelopes/{id}/result"), &tenant),
        StatusCode::CONFLICT,
    )
    .await?;
    let response = app
        .native(
            Method::GET,
            &format!("/v1/envelopes/{id}/certificate"),
            &tenant,
        )
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let reminded = check(
        "envelope_reminded",
        app.native(Method::POST, &format!("/v1/envelopes/{id}/remind"), &tenant),
        StatusCode::OK,
    )
    .await?;
    assert_eq!(reminded["state"], "open");
    let events: Value = app
        .native(Method::GET, &format!("/v1/envelopes/{id}/events"), &tenant)
        .send()
        .await?
        .json()
        .await?;
    let reminded: Vec<&str> = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "reminded")
        .filter_map(|e| e["participant"].as_str())
        .collect();
    assert!(
        !reminded.contains(&"manager"),
        "a participant whose turn has not come is not reminded: {reminded:?}"
    );
    // Under one Idempotency-Key a remind happens once, however often the client retries it.
    let reminder_count = || async {
        let events: Value = app
            .native(Method::GET, &format!("/v1/envelopes/{id}/events"), &tenant)
            .send()
            .await?
            .json()
            .await?;
        anyhow::Ok(
            events["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["kind"] == "reminded")
                .count(),
        )
    };
    let before = reminder_count().await?;
    let remind = || {
        app.native(Method::POST, &format!("/v1/envelopes/{id}/remind"), &tenant)
            .header("Idempotency-Key", "remind-once")
    };
    for _ in 0..3 {
        assert_eq!(remind().send().await?.status(), StatusCode::OK);
    }
    assert_eq!(
        reminder_count().await?,
        before + reminded.len(),
        "one reminder per participant for the three requests"
    );
    Ok(())
}

async fn a_list_pages_with_a_cursor(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let mut ids = Vec::new();
    for n in 0..5 {
        let mut body = envelope_body(&document);
        body["title"] = json!(format!("Contract {n}"));
        let created: Value = create(&app, &tenant, &body).send().await?.json().await?;
        ids.push(created["id"].as_str().unwrap_or_default().to_owned());
    }
    // Envelopes made in one instant are ordered by id: which title comes first varies, so the
    // shape of a page is frozen below, on a page of one.
    let first: Value = app
        .native(Method::GET, "/v1/envelopes?limit=2", &tenant)
        .send()
        .await?
        .json()
        .await?;
    let mut seen = Vec::new();
    let mut page = first;
    let mut pages = 1;
    loop {
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned)),
        );
        let Some(cursor) = page["next_cursor"].as_str().map(str::to_owned) else {
            break;
        };
        page = app
            .native(Method::GET, "/v1/envelopes", &tenant)
            .query(&[("limit", "2"), ("cursor", cursor.as_str())])
            .send()
            .await?
            .json()
            .await?;
        pages += 1;
        assert!(pages <= 3, "more pages than envelopes allow");
    }
    assert_eq!(pages, 3);
    let mut expected = ids.clone();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected, "every envelope once, none twice");
    // A filter by state.
    let response = app
        .native(
            Method::POST,
            &format!("/v1/envelopes/{}/void", ids[2]),
            &tenant,
        )
        .json(&json!({ "reason": "wrong terms" }))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    let voided = check(
        "envelope_list",
        app.native(Method::GET, "/v1/envelopes?state=voided", &tenant),
        StatusCode::OK,
    )
    .await?;
    assert_eq!(voided["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(voided["items"][0]["id"], ids[2].as_str());
    let open: Value = app
        .native(Method::GET, "/v1/envelopes?state=open", &tenant)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(open["items"].as_array().map(Vec::len), Some(4));
    assert!(open["next_cursor"].is_null());
    Ok(())
}

async fn an_idempotency_key_replays_and_refuses_a_different_body(
    app: TestApp,
) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let body = envelope_body(&document);
    let first: Value = create(&app, &tenant, &body)
        .header("Idempotency-Key", "order-2026-0042")
        .send()
        .await?
        .json()
        .await?;
    let events_after_first = app.event_count().await?;
    let response = create(&app, &tenant, &body)
        .header("Idempotency-Key", "order-2026-0042")
        .send()
        .await?;
    assert!(response.status().is_success(), "{}", response.status());
    let again: Value = response.json().await?;
    assert_eq!(again["id"], first["id"], "the same envelope");
    assert_eq!(
        app.event_count().await?,
        events_after_first,
        "nothing new recorded"
    );
    let mut different = body.clone();
    different["title"] = json!("Another contract");
    check(
        "envelope_idempotency_mismatch",
        create(&app, &tenant, &different).header("Idempotency-Key", "order-2026-0042"),
        StatusCode::CONFLICT,
    )
    .await?;
    // Another key makes another envelope.
    let other: Value = create(&app, &tenant, &body)
        .header("Idempotency-Key", "order-2026-0043")
        .send()
        .await?
        .json()
        .await?;
    assert_ne!(other["id"], first["id"]);
    let listed: Value = app
        .native(Method::GET, "/v1/envelopes", &tenant)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
    // A repeated void under one key answers as the first did.
    let id = first["id"].as_str().unwrap_or_default();
    let void = || {
        app.native(Method::POST, &format!("/v1/envelopes/{id}/void"), &tenant)
            .header("Idempotency-Key", "void-1")
            .json(&json!({ "reason": "cancelled order" }))
    };
    assert_eq!(void().send().await?.status(), StatusCode::OK);
    assert_eq!(void().send().await?.status(), StatusCode::OK);
    // The same key with another reason is another request: refused, the first reason kept.
    let other = app
        .native(Method::POST, &format!("/v1/envelopes/{id}/void"), &tenant)
        .header("Idempotency-Key", "void-1")
        .json(&json!({ "reason": "another reason" }))
        .send()
        .await?;
    assert_eq!(other.status(), StatusCode::CONFLICT);
    let shown: Value = app
        .native(Method::GET, &format!("/v1/envelopes/{id}"), &tenant)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(shown["void_reason"], "cancelled order", "{shown}");
    Ok(())
}

/// The token at the end of a signing URL.
fn token_of(url: &str) -> String {
    url.rsplit("/sign/").next().unwrap_or_default().to_owned()
}

async fn two_of_three_signed_completes_and_shows_through_the_api(
    app: TestApp,
) -> anyhow::Result<()> {
    use signet_core::signing::{Command, FieldValue, Mark, Origin};
    let tenant = app.tenant().await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let mut body = envelope_body(&document);
    body["completion"] = json!({ "min_signers": 2 });
    for p in body["participants"].as_array_mut().into_iter().flatten() {
        p["auth"] = json!("none");
    }
    let created: Value = create(&app, &tenant, &body).send().await?.json().await?;
    assert_eq!(created["completion"]["min_signers"], 2);
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let participant = |key: &str| {
        created["participants"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["key"] == key)
            .cloned()
            .unwrap_or_default()
    };
    // The employee and the witness sign through their links (the signer's app does this).
    let origin = Origin::default();
    for key in ["employee", "witness"] {
        let token = token_of(participant(key)["signing_url"].as_str().unwrap_or_default());
        let (envelope, me) = app.core.participant_envelope(&token).await?;
        let values: Vec<_> = envelope
            .fields_of(me)
            .filter(|f| f.required)
            .map(|f| {
                (
                    f.id,
                    FieldValue::Mark(Mark::Typed {
                        text: key.to_owned(),
                    }),
                )
            })
            .collect();
        app.core
            .act_as_participant(&token, |participant| Command::Open { participant }, &origin)
            .await?;
        app.core
            .act_as_participant(
                &token,
                |participant| Command::Authenticate { participant },
                &origin,
            )
            .await?;
        app.core
            .act_as_participant(
                &token,
                |participant| Command::Sign {
                    participant,
                    values: values.clone(),
                    consent: true,
                },
                &origin,
            )
            .await?;
    }
    let shown = check(
        "envelope_completed",
        app.native(Method::GET, &format!("/v1/envelopes/{id}"), &tenant),
        StatusCode::OK,
    )
    .await?;
    assert_eq!(shown["state"], "completed");
    assert_eq!(shown["completion"]["signed"], 2);
    assert_eq!(state_of(&shown, "employee"), "signed");
    assert_eq!(state_of(&shown, "witness"), "signed");
    assert_eq!(
        state_of(&shown, "manager"),
        "released",
        "two of three were enough"
    );
    let events: Value = app
        .native(
            Method::GET,
            &format!("/v1/envelopes/{id}/events?limit=200"),
            &tenant,
        )
        .send()
        .await?
        .json()
        .await?;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["opened", "authenticated", "signed", "released", "completed"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let signed_by: Vec<&str> = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "signed")
        .filter_map(|e| e["participant"].as_str())
        .collect();
    assert_eq!(signed_by, ["employee", "witness"]);
    // Completed but not sealed yet (sealing is a job): the result still answers 409.
    let response = app
        .native(Method::GET, &format!("/v1/envelopes/{id}/result"), &tenant)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    // A completed envelope is final: it can no longer be voided or reminded.
    let response = app
        .native(Method::POST, &format!("/v1/envelopes/{id}/void"), &tenant)
        .json(&json!({ "reason": "too late" }))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let response = app
        .native(Method::POST, &format!("/v1/envelopes/{id}/remind"), &tenant)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let completed: Value = app
        .native(Method::GET, "/v1/envelopes?state=completed", &tenant)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(completed["items"][0]["id"], id.as_str());
    Ok(())
}

async fn an_operator_may_require_every_signer_to_authenticate(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let document = upload_pdf(&app, &tenant, 2).await?;
    let mut body = envelope_body(&document);
    body["participants"][1]["auth"] = json!("none");
    // Allowed by default, and recorded as such.
    let allowed = create(&app, &tenant, &body).send().await?;
    assert_eq!(allowed.status(), StatusCode::CREATED);
    let allowed: Value = allowed.json().await?;
    assert_eq!(allowed["participants"][1]["auth"], "none");
    // The operator requires a code for this tenant: the same body is refused, naming the field.
    let changes = signet_core::service::TenantChanges {
        signer_auth_required: Some(true),
        ..Default::default()
    };
    app.core.update_tenant(&tenant.id.parse()?, changes).await?;
    let events_before = app.event_count().await?;
    let refused = create(&app, &tenant, &body).send().await?;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let problem: Value = refused.json().await?;
    assert!(
        problem["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("participants[1]")),
        "{problem}"
    );
    assert_eq!(app.event_count().await?, events_before, "nothing recorded");
    // Envelopes already sent keep their methods; a code-authenticated body still passes.
    body["participants"][1]["auth"] = json!("email");
    let with_code = create(&app, &tenant, &body).send().await?;
    assert_eq!(with_code.status(), StatusCode::CREATED);
    Ok(())
}
