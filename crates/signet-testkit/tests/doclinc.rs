//! The doclinc dialect end to end, over HTTP, on SQLite + local blobs and on PostgreSQL + S3.
//! Request bodies are the vendor document's own examples wherever it has one.

use reqwest::StatusCode;
use serde_json::{Value, json};
use signet_core::model::{DocumentContent, EnvelopeState, Feature};
use signet_testkit::{Backend, TestApp, TestTenant, jwt};

signet_testkit::on_both!(
    vendor_sms_example_end_to_end,
    secret_transactions_and_reusable_answer_refs,
    every_create_status_code,
    confirm_and_cancel_status_codes,
    contact_lookup_codes,
    jwt_attacks_are_refused_and_create_nothing,
    a_token_is_used_once_whatever_its_create_answered,
    both_key_readings_are_accepted,
    tenants_cannot_touch_each_others_data,
    malformed_bodies_get_clear_errors,
    uploads_are_single_use_and_expire,
    unexpected_failures_answer_500_without_details,
);

/// The vendor's SMS example body, verbatim.
fn vendor_cells_body() -> Value {
    json!({
        "transactionType": "send",
        "transactionLanguageRef": "FR",
        "subjectLanguageRef": "FR",
        "linkExpirationDays": 14,
        "isLinkReusable": true,
        "isEventNotificationEnabled": false,
        "contacts": [{
            "recipientEmail": "recipient@example.com",
            "recipientIsoCountryCode": "CA",
            "recipientCell": "8191234567",
            "authenticationMethod": "sms"
        }],
        "documents": [{ "name": "pay-stub-2026-01-01.pdf" }]
    })
}

/// The vendor's secret-question example body, verbatim.
fn vendor_secrets_body() -> Value {
    json!({
        "transactionType": "send",
        "transactionLanguageRef": "EN",
        "subjectLanguageRef": "EN",
        "linkExpirationDays": 14,
        "isLinkReusable": true,
        "secretQuestion": "What is your employee number?",
        "isEventNotificationEnabled": false,
        "contacts": [{
            "recipientEmail": "recipient@example.com",
            "secretAnswer": "EMP-00142",
            "secretAnswerRef": null
        }],
        "documents": [{ "name": "pay-stub-2026-01-01.pdf" }]
    })
}

async fn post(
    app: &TestApp,
    tenant: &TestTenant,
    path: &str,
    body: &Value,
) -> anyhow::Result<(StatusCode, Value)> {
    let response = app
        .http
        .post(app.url(path))
        .header("Authorization", tenant.bearer())
        .json(body)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

async fn send(
    app: &TestApp,
    tenant: &TestTenant,
    method: reqwest::Method,
    href: &str,
) -> anyhow::Result<(StatusCode, Value)> {
    let response = app
        .http
        .request(method, app.url(href))
        .header("Authorization", tenant.bearer())
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

async fn upload(app: &TestApp, url: &str, bytes: Vec<u8>) -> anyhow::Result<(StatusCode, Value)> {
    let response = app.http.put(url).body(bytes).send().await?;
    let status = response.status();
    let text = response.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

fn href(created: &Value, rel: &str) -> String {
    created["commands"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["rel"] == rel))
        .and_then(|c| c["href"].as_str())
        .unwrap_or_default()
        .to_owned()
}

fn upload_url(created: &Value, index: usize) -> String {
    created["sendTransaction"]["documents"][index]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn envelope_id(created: &Value) -> signet_core::ids::EnvelopeId {
    href(created, "Confirm")
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("the confirm href ends with the transaction id")
}

async fn load(
    app: &TestApp,
    tenant: &TestTenant,
    created: &Value,
) -> anyhow::Result<signet_core::model::EnvelopeAggregate> {
    let tenant_id = tenant.id.parse()?;
    Ok(app
        .store
        .envelope(&tenant_id, &envelope_id(created))
        .await?
        .expect("the envelope exists"))
}

async fn vendor_sms_example_end_to_end(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let (status, created) =
        post(&app, &tenant, "/transactions/cells", &vendor_cells_body()).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["sendTransaction"]["documents"][0]["urlTimeToLive"],
        3600
    );
    let confirm = href(&created, "Confirm");
    assert!(confirm.starts_with("/transactions/cell/"));
    assert_eq!(
        created["commands"][0],
        json!({"href": confirm, "method": "POST", "rel": "Confirm"})
    );
    assert_eq!(
        created["commands"][1],
        json!({"href": confirm, "method": "Delete", "rel": "Cancel"})
    );
    let banner = created["banner"]
        .as_str()
        .expect("self-send tenants get a banner");
    assert!(banner.contains(&format!("{}/r/", app.base_url)), "{banner}");
    assert!(banner.contains("pay-stub-2026-01-01.pdf"));
    // One recipient: the banner listing everyone is theirs.
    assert_eq!(created["banners"][0]["banner"], created["banner"]);

    let content = b"%PDF-1.7 pay stub".repeat(1000);
    let (status, uploaded) = upload(&app, &upload_url(&created, 0), content.clone()).await?;
    assert_eq!(status, StatusCode::OK, "{uploaded}");
    use sha2::Digest as _;
    assert_eq!(
        uploaded["sha256"],
        hex::encode(sha2::Sha256::digest(&content))
    );

    let (status, confirmed) = send(&app, &tenant, reqwest::Method::POST, &confirm).await?;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    let envelope = load(&app, &tenant, &created).await?;
    assert_eq!(envelope.envelope.state, EnvelopeState::Open);
    assert_eq!(
        envelope.documents[0].stored().map(|c| c.size),
        Some(content.len() as u64)
    );
    assert_eq!(
        envelope.participants[0]
            .phone
            .as_ref()
            .map(|p| p.e164().to_owned())
            .as_deref(),
        Some("+18191234567")
    );

    // The contact was saved with the transaction, in the vendor's shape.
    let (status, contact) = send(
        &app,
        &tenant,
        reqwest::Method::GET,
        "/transactions/contacts/recipient@example.com",
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(contact["languageRef"], "FR");
    assert_eq!(
        contact["cellContact"],
        json!({"cellIsoCountryCode": "CA", "cell": "8191234567", "authenticationMethod": "sms"})
    );
    assert_eq!(contact["secretContact"], json!({}));

    // Every action left an event with who, what, when and from where.
    let events = app
        .store
        .envelope_events(&tenant.id.parse()?, &envelope.envelope.id)
        .await?;
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "envelope_created",
            "document_uploaded",
            "envelope_confirmed"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.ip.is_some_and(|ip| ip.is_loopback()))
    );

    // Cancel after confirmation: 204, blobs gone, digests kept.
    let (status, _) = send(&app, &tenant, reqwest::Method::DELETE, &confirm).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let envelope = load(&app, &tenant, &created).await?;
    assert_eq!(envelope.envelope.state, EnvelopeState::Cancelled);
    assert!(matches!(
        envelope.documents[0].content,
        DocumentContent::Deleted { sha256: Some(_) }
    ));
    Ok(())
}

async fn secret_transactions_and_reusable_answer_refs(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let (status, created) = post(
        &app,
        &tenant,
        "/transactions/secrets",
        &vendor_secrets_body(),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let envelope = load(&app, &tenant, &created).await?;
    let hash = envelope.participants[0]
        .secret_answer_hash
        .clone()
        .expect("hashed answer");
    assert!(hash.starts_with("$argon2id$"));
    assert!(!hash.contains("EMP-00142"));

    let (status, contact) = send(
        &app,
        &tenant,
        reqwest::Method::GET,
        "/transactions/contacts/recipient@example.com",
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        contact["secretContact"]["secretQuestion"],
        "What is your employee number?"
    );
    let answer_ref = contact["secretContact"]["secretAnswerRef"]
        .as_str()
        .expect("a reference")
        .to_owned();
    assert_eq!(answer_ref.len(), 40);
    assert!(
        !contact.to_string().contains("EMP-00142"),
        "the answer never leaves the server"
    );
    assert!(!contact.to_string().contains("argon2"), "nor its hash");

    // The reference works in the next transaction and carries the same answer hash.
    let mut body = vendor_secrets_body();
    body["contacts"][0]["secretAnswer"] = Value::Null;
    body["contacts"][0]["secretAnswerRef"] = json!(answer_ref);
    let (status, again) = post(&app, &tenant, "/transactions/secrets", &body).await?;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(
        load(&app, &tenant, &again).await?.participants[0]
            .secret_answer_hash
            .as_deref(),
        Some(hash.as_str())
    );

    // Both, neither, an unknown reference, or two contacts: 400.
    for mutate in [
        |b: &mut Value| b["contacts"][0]["secretAnswerRef"] = json!("ab".repeat(20)),
        |b: &mut Value| b["contacts"][0]["secretAnswer"] = Value::Null,
        |b: &mut Value| {
            b["contacts"][0]["secretAnswer"] = Value::Null;
            b["contacts"][0]["secretAnswerRef"] = json!("cd".repeat(20));
        },
        |b: &mut Value| {
            let second = b["contacts"][0].clone();
            b["contacts"].as_array_mut().expect("array").push(second);
        },
        |b: &mut Value| b["secretQuestion"] = Value::Null,
    ] {
        let mut body = vendor_secrets_body();
        mutate(&mut body);
        let (status, error) = post(&app, &tenant, "/transactions/secrets", &body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {error}");
        assert_eq!(error["code"], 400);
    }
    // Another tenant cannot use this tenant's reference.
    let other = app.tenant().await?;
    let (status, _) = post(&app, &other, "/transactions/secrets", &body).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

async fn every_create_status_code(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    // 400: bad country code, bad phone, unknown method.
    for (field, value) in [
        ("recipientIsoCountryCode", json!("XX")),
        ("recipientCell", json!("12")),
        ("recipientCell", json!("not a phone")),
        ("authenticationMethod", json!("pigeon")),
        ("recipientEmail", json!("not-an-email")),
    ] {
        let mut body = vendor_cells_body();
        body["contacts"][0][field] = value;
        let (status, error) = post(&app, &tenant, "/transactions/cells", &body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {error}");
        assert_eq!(error["status"], "BAD REQUEST");
    }
    // 463: the same phone twice.
    let mut body = vendor_cells_body();
    let mut second = body["contacts"][0].clone();
    second["recipientEmail"] = json!("other@example.com");
    second["authenticationMethod"] = json!("voice");
    body["contacts"]
        .as_array_mut()
        .expect("array")
        .push(second.clone());
    let (status, error) = post(&app, &tenant, "/transactions/cells", &body).await?;
    assert_eq!(status.as_u16(), 463, "{error}");
    assert_eq!(error["code"], 463);
    // Several distinct contacts are fine.
    body["contacts"][1]["recipientCell"] = json!("8197654321");
    let (status, created) = post(&app, &tenant, "/transactions/cells", &body).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["banners"].as_array().map(Vec::len), Some(2));
    // Several: the banner lists each with a button of their own, each of theirs only their own.
    let whole = created["banner"].as_str().expect("a banner");
    for each in created["banners"].as_array().expect("banners") {
        let own = each["banner"].as_str().expect("a recipient's banner");
        assert_ne!(own, whole);
        assert!(whole.contains(each["recipientEmail"].as_str().expect("an e-mail")));
    }

    // 470: each feature missing from the plan.
    for (missing, path, method) in [
        (Feature::Sms, "/transactions/cells", "sms"),
        (Feature::Voice, "/transactions/cells", "voice"),
        (Feature::Secret, "/transactions/secrets", ""),
    ] {
        let features: Vec<Feature> = Feature::ALL.into_iter().filter(|f| *f != missing).collect();
        let limited = app.tenant_with(&features, 1 << 20, true).await?;
        let mut body = if method.is_empty() {
            vendor_secrets_body()
        } else {
            vendor_cells_body()
        };
        if !method.is_empty() {
            body["contacts"][0]["authenticationMethod"] = json!(method);
        }
        let (status, error) = post(&app, &limited, path, &body).await?;
        assert_eq!(status.as_u16(), 470, "{missing:?}: {error}");
    }

    // 461: suspended tenant.
    let suspended = app.tenant().await?;
    let changes = signet_core::service::TenantChanges {
        status: Some(signet_core::model::TenantStatus::Suspended),
        ..Default::default()
    };
    app.core
        .update_tenant(&suspended.id.parse()?, changes)
        .await?;
    let before = app.event_count().await?;
    for path in ["/transactions/cells", "/transactions/secrets"] {
        let body = if path.ends_with("cells") {
            vendor_cells_body()
        } else {
            vendor_secrets_body()
        };
        let (status, error) = post(&app, &suspended, path, &body).await?;
        assert_eq!(status.as_u16(), 461, "{error}");
        assert_eq!(error["status"], "INVALID SUB");
    }
    let (status, _) = send(
        &app,
        &suspended,
        reqwest::Method::GET,
        "/transactions/contacts/recipient@example.com",
    )
    .await?;
    assert_eq!(status.as_u16(), 461);
    assert_eq!(
        app.event_count().await?,
        before,
        "a suspended tenant creates nothing"
    );

    // Not in self-send mode: no banner (Signet sends the e-mail itself).
    let platform = app.tenant_with(&Feature::ALL, 1 << 20, false).await?;
    let (status, created) =
        post(&app, &platform, "/transactions/cells", &vendor_cells_body()).await?;
    assert_eq!(status, StatusCode::CREATED);
    assert!(created.get("banner").is_none());
    Ok(())
}

async fn confirm_and_cancel_status_codes(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant_with(&Feature::ALL, 1000, true).await?;
    let mut body = vendor_cells_body();
    body["documents"] = json!([{"name": "a.pdf"}, {"name": "b.pdf"}]);
    let (_, created) = post(&app, &tenant, "/transactions/cells", &body).await?;
    let confirm = href(&created, "Confirm");
    // 404: a document is missing.
    assert_eq!(
        upload(&app, &upload_url(&created, 0), vec![1; 600])
            .await?
            .0,
        StatusCode::OK
    );
    let (status, error) = send(&app, &tenant, reqwest::Method::POST, &confirm).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    // 465: the total exceeds the plan (each file alone fits).
    assert_eq!(
        upload(&app, &upload_url(&created, 1), vec![2; 600])
            .await?
            .0,
        StatusCode::OK
    );
    let (status, error) = send(&app, &tenant, reqwest::Method::POST, &confirm).await?;
    assert_eq!(status.as_u16(), 465, "{error}");
    assert_eq!(error["status"], "DOCUMENT SIZE EXCEEDED");
    assert_eq!(
        load(&app, &tenant, &created).await?.envelope.state,
        EnvelopeState::Uploading
    );
    // 404: unknown or malformed ids.
    for bad in [
        "/transactions/cell/00000000000000000000000000000000",
        "/transactions/cell/nothex",
    ] {
        assert_eq!(
            send(&app, &tenant, reqwest::Method::POST, bad).await?.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            send(&app, &tenant, reqwest::Method::DELETE, bad).await?.0,
            StatusCode::NOT_FOUND
        );
    }
    // 204: cancel; cancelling again is harmless; confirming afterwards is refused.
    assert_eq!(
        send(&app, &tenant, reqwest::Method::DELETE, &confirm)
            .await?
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&app, &tenant, reqwest::Method::DELETE, &confirm)
            .await?
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&app, &tenant, reqwest::Method::POST, &confirm)
            .await?
            .0,
        StatusCode::CONFLICT
    );
    // 200 twice: confirming is idempotent.
    let (_, created) = post(&app, &tenant, "/transactions/cells", &vendor_cells_body()).await?;
    upload(&app, &upload_url(&created, 0), vec![3; 10]).await?;
    let confirm = href(&created, "Confirm");
    assert_eq!(
        send(&app, &tenant, reqwest::Method::POST, &confirm)
            .await?
            .0,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, &tenant, reqwest::Method::POST, &confirm)
            .await?
            .0,
        StatusCode::OK
    );
    Ok(())
}

async fn contact_lookup_codes(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let (status, error) = send(
        &app,
        &tenant,
        reqwest::Method::GET,
        "/transactions/contacts/nobody@example.com",
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    assert_eq!(error["code"], 404);
    let (status, _) = send(
        &app,
        &tenant,
        reqwest::Method::GET,
        "/transactions/contacts/not-an-email",
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Percent-encoded addresses are decoded.
    post(&app, &tenant, "/transactions/cells", &vendor_cells_body()).await?;
    let (status, _) = send(
        &app,
        &tenant,
        reqwest::Method::GET,
        "/transactions/contacts/Recipient%40Example.com",
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let response = app
        .http
        .get(app.url("/transactions/contacts/recipient@example.com"))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

async fn jwt_attacks_are_refused_and_create_nothing(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let other = app.tenant().await?;
    let now = tenant.now();
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let key = tenant.api_key.as_bytes();
    let replayed = jwt::hs256(&hs, &jwt::claims(&tenant.id, now, now + 3600), key);
    let attacks: Vec<(&str, String)> = vec![
        ("no token", String::new()),
        ("garbage", "not.a.token".into()),
        (
            "alg none",
            jwt::unsigned(
                &json!({"alg": "none", "typ": "JWT"}),
                &jwt::claims(&tenant.id, now, now + 60),
                "",
            ),
        ),
        (
            "alg None with signature",
            jwt::unsigned(
                &json!({"alg": "None"}),
                &jwt::claims(&tenant.id, now, now + 60),
                "AAAA",
            ),
        ),
        (
            "HS512",
            jwt::hs512(
                &json!({"alg": "HS512", "typ": "JWT"}),
                &jwt::claims(&tenant.id, now, now + 60),
                key,
            ),
        ),
        // RS256 with the HMAC computed over the "public key" (the API key): the classic confusion.
        (
            "RS256 key confusion",
            jwt::hs256(
                &json!({"alg": "RS256", "typ": "JWT"}),
                &jwt::claims(&tenant.id, now, now + 60),
                key,
            ),
        ),
        (
            "wrong key",
            jwt::hs256(
                &hs,
                &jwt::claims(&tenant.id, now, now + 60),
                other.api_key.as_bytes(),
            ),
        ),
        (
            "expired",
            jwt::hs256(&hs, &jwt::claims(&tenant.id, now - 300, now - 1), key),
        ),
        (
            "iat 11 min ahead",
            jwt::hs256(&hs, &jwt::claims(&tenant.id, now + 660, now + 1200), key),
        ),
        (
            "iat 11 min behind",
            jwt::hs256(&hs, &jwt::claims(&tenant.id, now - 660, now + 600), key),
        ),
        (
            "lifetime over 7200 s",
            jwt::hs256(&hs, &jwt::claims(&tenant.id, now, now + 7201), key),
        ),
        (
            "exp before iat",
            jwt::hs256(&hs, &jwt::claims(&tenant.id, now, now - 10), key),
        ),
        (
            "foreign tenant",
            jwt::hs256(&hs, &jwt::claims(&other.id, now, now + 60), key),
        ),
        (
            "unknown tenant",
            jwt::hs256(
                &hs,
                &jwt::claims("00112233445566778899AABBCCDDEE", now, now + 60),
                key,
            ),
        ),
        (
            "missing jti",
            jwt::hs256(
                &hs,
                &json!({"tenantId": tenant.id, "iat": now, "exp": now + 60}),
                key,
            ),
        ),
        (
            "string iat",
            jwt::hs256(
                &hs,
                &json!({"tenantId": tenant.id, "jti": "x", "iat": "now", "exp": now + 60}),
                key,
            ),
        ),
    ];
    // The replayed token works once.
    let response = app
        .http
        .post(app.url("/transactions/cells"))
        .bearer_auth(&replayed)
        .json(&vendor_cells_body())
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let before = app.event_count().await?;
    let mut attacks = attacks;
    attacks.push(("replayed jti", replayed));
    for (name, token) in &attacks {
        for path in ["/transactions/cells", "/transactions/secrets"] {
            let body = if path.ends_with("cells") {
                vendor_cells_body()
            } else {
                vendor_secrets_body()
            };
            let response = app
                .http
                .post(app.url(path))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{name} on {path}"
            );
            let error: Value = response.json().await?;
            assert_eq!(error["code"], 401, "{name}");
        }
    }
    assert_eq!(
        app.event_count().await?,
        before,
        "refused calls record nothing and create nothing"
    );
    // Exactly 7200 s (the vendor's own example) is accepted.
    let edge = jwt::hs256(&hs, &jwt::claims(&tenant.id, now, now + 7200), key);
    let response = app
        .http
        .post(app.url("/transactions/cells"))
        .bearer_auth(&edge)
        .json(&vendor_cells_body())
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    Ok(())
}

/// A create claims its token's id in the envelope's own write; a create refused for another
/// reason still uses the token up (it was accepted), so a replay answers 401 in doclinc's shape
/// whatever the first request's fate, and creates nothing.
async fn a_token_is_used_once_whatever_its_create_answered(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let now = tenant.now();
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let key = tenant.api_key.as_bytes();
    let token = || jwt::hs256(&hs, &jwt::claims(&tenant.id, now, now + 3600), key);
    let send = |path: &'static str, token: String, body: Option<Value>| {
        let request = app.http.post(app.url(path)).bearer_auth(token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request
                .header("Content-Type", "application/json")
                .body("{\"contacts\": ["),
        };
        async move {
            let response = request.send().await?;
            let status = response.status();
            let body: Value = response.json().await?;
            anyhow::Ok((status, body))
        }
    };
    let unauthorized = |body: &Value| {
        assert_eq!(body["code"], 401, "{body}");
        assert_eq!(body["status"], "UNAUTHORIZED", "{body}");
    };

    let mut no_contacts = vendor_cells_body();
    no_contacts["contacts"] = json!([]);
    let mut core_refused = vendor_secrets_body();
    core_refused["linkExpirationDays"] = json!(0);
    let refusals = [
        (
            "a rule of the dialect",
            "/transactions/cells",
            Some(no_contacts),
        ),
        (
            "a rule of the core",
            "/transactions/secrets",
            Some(core_refused),
        ),
        ("malformed JSON", "/transactions/cells", None),
    ];
    for (why, path, body) in refusals {
        let events = app.event_count().await?;
        let used = token();
        let (status, answer) = send(path, used.clone(), body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {answer}");
        let (status, answer) = send("/transactions/cells", used, Some(vendor_cells_body())).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}, then replayed");
        unauthorized(&answer);
        assert_eq!(app.event_count().await?, events, "{why}: nothing created");
    }

    // Created once; the replay creates nothing, on either create.
    let used = token();
    let (status, _) = send(
        "/transactions/cells",
        used.clone(),
        Some(vendor_cells_body()),
    )
    .await?;
    assert_eq!(status, StatusCode::CREATED);
    let events = app.event_count().await?;
    for path in ["/transactions/cells", "/transactions/secrets"] {
        let body = if path.ends_with("cells") {
            vendor_cells_body()
        } else {
            vendor_secrets_body()
        };
        let (status, answer) = send(path, used.clone(), Some(body)).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "replayed on {path}");
        unauthorized(&answer);
    }
    assert_eq!(app.event_count().await?, events, "a replay creates nothing");

    // One token sent eight times at once: one create, seven refusals (the claims commit in the
    // same group-committed transactions as the creates).
    let raced = token();
    let answers = futures::future::join_all((0..8).map(|_| {
        send(
            "/transactions/cells",
            raced.clone(),
            Some(vendor_cells_body()),
        )
    }))
    .await;
    let mut created = 0;
    for answer in answers {
        let (status, body) = answer?;
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::UNAUTHORIZED => unauthorized(&body),
            other => anyhow::bail!("a raced create answered {other}: {body}"),
        }
    }
    assert_eq!(created, 1, "one token, one create");
    assert_eq!(app.event_count().await?, events + 1);

    // The other endpoints keep refusing a replay before they run.
    let looked_up = token();
    for expected in [StatusCode::OK, StatusCode::UNAUTHORIZED] {
        let response = app
            .http
            .get(app.url("/transactions/contacts/recipient@example.com"))
            .bearer_auth(&looked_up)
            .send()
            .await?;
        assert_eq!(response.status(), expected);
    }
    Ok(())
}

async fn both_key_readings_are_accepted(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let now = tenant.now();
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let raw_key = hex::decode(&tenant.api_key)?;
    for key in [
        tenant.api_key.as_bytes().to_vec(),
        raw_key,
        tenant.api_key.to_lowercase().into_bytes(),
    ] {
        let token = jwt::hs256(&hs, &jwt::claims(&tenant.id, now, now + 60), &key);
        let response = app
            .http
            .post(app.url("/transactions/cells"))
            .bearer_auth(&token)
            .json(&vendor_cells_body())
            .send()
            .await?;
        let expected = if key == tenant.api_key.to_lowercase().into_bytes() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::CREATED
        };
        assert_eq!(response.status(), expected);
    }
    // A token made by PyJWT, exactly as the vendor describes (string key, HS256).
    if let Some(token) = python_token(&tenant, now)? {
        let response = app
            .http
            .post(app.url("/transactions/cells"))
            .bearer_auth(token.trim())
            .json(&vendor_cells_body())
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    Ok(())
}

/// A token from PyJWT in the test venv; `None` outside CI when Python or PyJWT is missing.
fn python_token(tenant: &TestTenant, now: i64) -> anyhow::Result<Option<String>> {
    let python = std::env::var("SIGNET_TEST_PYTHON").unwrap_or_else(|_| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
        if std::path::Path::new(venv).exists() {
            venv.to_owned()
        } else {
            "python3".to_owned()
        }
    });
    let script = "import jwt, sys\n\
        tenant, key, now = sys.argv[1], sys.argv[2], int(sys.argv[3])\n\
        print(jwt.encode({'tenantId': tenant, 'jti': 'pay-%d' % now, 'iat': now, 'exp': now + 7200}, key, algorithm='HS256'))";
    let output = std::process::Command::new(&python)
        .args(["-c", script, &tenant.id, &tenant.api_key, &now.to_string()])
        .output();
    match output {
        Ok(out) if out.status.success() => Ok(Some(String::from_utf8(out.stdout)?)),
        other => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                anyhow::bail!("PyJWT is required in CI: {other:?}");
            }
            eprintln!("PyJWT not available, skipping the cross-language token check: {other:?}");
            Ok(None)
        }
    }
}

async fn tenants_cannot_touch_each_others_data(app: TestApp) -> anyhow::Result<()> {
    let owner = app.tenant().await?;
    let intruder = app.tenant().await?;
    let (_, created) = post(
        &app,
        &owner,
        "/transactions/secrets",
        &vendor_secrets_body(),
    )
    .await?;
    upload(&app, &upload_url(&created, 0), b"secret payslip".to_vec()).await?;
    let href = href(&created, "Confirm");
    let before = load(&app, &owner, &created).await?;
    let events_before = app.event_count().await?;
    for method in [reqwest::Method::POST, reqwest::Method::DELETE] {
        let (status, error) = send(&app, &intruder, method.clone(), &href).await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}: {error}");
    }
    let (status, _) = send(
        &app,
        &intruder,
        reqwest::Method::GET,
        "/transactions/contacts/recipient@example.com",
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        load(&app, &owner, &created).await?,
        before,
        "nothing changed"
    );
    assert_eq!(app.event_count().await?, events_before);
    Ok(())
}

async fn malformed_bodies_get_clear_errors(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let raw = |body: Vec<u8>| {
        let app = &app;
        let tenant = tenant.clone();
        async move {
            let response = app
                .http
                .post(app.url("/transactions/cells"))
                .header("Authorization", tenant.bearer())
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let body: Value = response.json().await?;
            anyhow::Ok((status, body))
        }
    };
    let full = vendor_cells_body().to_string();
    let (status, error) = raw(full.as_bytes()[..full.len() / 2].to_vec()).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("Invalid JSON")),
        "{error}"
    );
    for wrong in [
        json!({"contacts": "x", "documents": []}),
        json!({"contacts": [], "documents": [{"name": 5}]}),
        json!({"contacts": [{"recipientEmail": 1}], "documents": [{"name": "a"}]}),
        json!([]),
        json!({"linkExpirationDays": "fourteen", "contacts": [], "documents": []}),
        json!({"linkExpirationDays": 0, "contacts": [{"recipientEmail": "a@example.com", "recipientIsoCountryCode": "CA", "recipientCell": "8191234567"}], "documents": [{"name": "a"}]}),
        json!({"contacts": [], "documents": [{"name": "a"}]}),
        json!({"contacts": [{"recipientEmail": "a@example.com", "recipientIsoCountryCode": "CA", "recipientCell": "8191234567"}], "documents": []}),
        json!({"contacts": [{"recipientEmail": "a@example.com", "recipientIsoCountryCode": "CA", "recipientCell": "8191234567"}], "documents": [{"name": "../../etc/passwd"}]}),
        json!({"transactionType": "receive", "contacts": [{"recipientEmail": "a@example.com", "recipientIsoCountryCode": "CA", "recipientCell": "8191234567"}], "documents": [{"name": "a"}]}),
        json!({"subjectLanguageRef": "XX", "contacts": [{"recipientEmail": "a@example.com", "recipientIsoCountryCode": "CA", "recipientCell": "8191234567"}], "documents": [{"name": "a"}]}),
    ] {
        let (status, error) = raw(wrong.to_string().into_bytes()).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{wrong} → {error}");
        assert_eq!(error["code"], 400);
    }
    // A 10 MB body is refused without being read whole.
    let mut huge = br#"{"contacts": [], "documents": [], "padding": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    huge.extend(b"\"}");
    let (status, error) = raw(huge).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    // Unknown fields are ignored.
    let mut body = vendor_cells_body();
    body["someVendorExtension"] = json!({"nested": [1, 2]});
    body["contacts"][0]["middleName"] = json!("Q");
    let (status, _) = raw(body.to_string().into_bytes()).await?;
    assert_eq!(status, StatusCode::CREATED);
    Ok(())
}

async fn uploads_are_single_use_and_expire(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let mut body = vendor_cells_body();
    body["documents"] =
        json!([{"name": "first.pdf"}, {"name": "second.pdf"}, {"name": "third.pdf"}]);
    let (_, created) = post(&app, &tenant, "/transactions/cells", &body).await?;
    let first = upload_url(&created, 0);
    assert_eq!(
        upload(&app, &first, b"original".to_vec()).await?.0,
        StatusCode::OK
    );
    let stored = load(&app, &tenant, &created).await?.documents[0].clone();
    // A second upload to the same URL is refused and leaves the first intact.
    let (status, error) = upload(&app, &first, b"replacement".to_vec()).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(load(&app, &tenant, &created).await?.documents[0], stored);
    // A tampered signature or document id is refused.
    let tampered = first.replace("signature=", "signature=00");
    assert_eq!(
        upload(&app, &tampered, b"x".to_vec()).await?.0,
        StatusCode::FORBIDDEN
    );
    let other_doc = upload_url(&created, 1);
    let (doc_part, _) = other_doc.split_once('?').expect("query");
    let (_, query) = first.split_once('?').expect("query");
    assert_eq!(
        upload(&app, &format!("{doc_part}?{query}"), b"x".to_vec())
            .await?
            .0,
        StatusCode::FORBIDDEN
    );
    // After the URL's time to live: an error, and nothing stored.
    app.clock.advance(time::Duration::seconds(3601));
    let (status, error) = upload(&app, &other_doc, b"late".to_vec()).await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert_eq!(error["error"], "expired");
    assert_eq!(
        load(&app, &tenant, &created).await?.documents[1].content,
        DocumentContent::Pending
    );
    // Upload to a cancelled transaction: refused, nothing stored.
    let (_, created) = post(&app, &tenant, "/transactions/cells", &vendor_cells_body()).await?;
    send(
        &app,
        &tenant,
        reqwest::Method::DELETE,
        &href(&created, "Cancel"),
    )
    .await?;
    let (status, _) = upload(&app, &upload_url(&created, 0), b"too late".to_vec()).await?;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(matches!(
        load(&app, &tenant, &created).await?.documents[0].content,
        DocumentContent::Deleted { sha256: None }
    ));
    // Larger than the whole plan allows: refused while streaming.
    let small = app.tenant_with(&Feature::ALL, 1024, true).await?;
    let (_, created) = post(&app, &small, "/transactions/cells", &vendor_cells_body()).await?;
    let (status, _) = upload(&app, &upload_url(&created, 0), vec![0; 4096]).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        load(&app, &small, &created).await?.documents[0].content,
        DocumentContent::Pending
    );
    Ok(())
}

async fn unexpected_failures_answer_500_without_details(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    // Damage the tenant's sealed API key in the database: the server cannot open it.
    let id = tenant.id.parse()?;
    let mut stored = app.store.tenant(&id).await?.expect("tenant");
    stored.api_key_sealed = vec![0; 40];
    app.store.update_tenant(&stored, &[]).await?;
    let (status, error) = post(&app, &tenant, "/transactions/cells", &vendor_cells_body()).await?;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        error,
        json!({"code": 500, "status": "SERVER ERROR", "message": "Unexpected error"})
    );
    let _ = Backend::Sqlite;
    Ok(())
}

mod jobs {
    use super::*;

    async fn links_expire_and_cancelled_blobs_are_deleted(app: TestApp) -> anyhow::Result<()> {
        let tenant = app.tenant().await?;
        let mut body = vendor_cells_body();
        body["linkExpirationDays"] = json!(2);
        let (_, created) = post(&app, &tenant, "/transactions/cells", &body).await?;
        upload(&app, &upload_url(&created, 0), b"payslip".to_vec()).await?;
        send(
            &app,
            &tenant,
            reqwest::Method::POST,
            &href(&created, "Confirm"),
        )
        .await?;
        assert_eq!(
            app.run_jobs().await?,
            1,
            "only the upload's hash job: the expiry is not due yet"
        );
        app.clock
            .advance(time::Duration::days(2) + time::Duration::seconds(1));
        assert_eq!(app.run_jobs().await?, 1);
        let envelope = load(&app, &tenant, &created).await?;
        assert_eq!(envelope.envelope.state, EnvelopeState::Expired);
        let events = app
            .store
            .envelope_events(&tenant.id.parse()?, &envelope.envelope.id)
            .await?;
        assert_eq!(
            events.last().map(|e| e.kind.as_str()).as_deref(),
            Some("envelope_expired")
        );

        // Cancelling deletes the bytes: the download answers 404 and the blob is gone.
        let (_, created) = post(&app, &tenant, "/transactions/cells", &vendor_cells_body()).await?;
        upload(&app, &upload_url(&created, 0), b"secret".to_vec()).await?;
        let blob = load(&app, &tenant, &created).await?.documents[0]
            .stored()
            .map(|c| c.blob.clone())
            .expect("stored");
        send(
            &app,
            &tenant,
            reqwest::Method::DELETE,
            &href(&created, "Cancel"),
        )
        .await?;
        assert_eq!(
            app.run_jobs().await?,
            2,
            "the durable deletion job runs (idempotently), and the upload's hash job finds \
             nothing left to hash"
        );
        let document = load(&app, &tenant, &created).await?.documents[0].id;
        let response = app
            .http
            .get(app.url(&format!("/v1/documents/{document}/content")))
            .basic_auth(&tenant.id, Some(&tenant.api_key))
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(
            matches!(
                app.blobs.get(&blob).await,
                Err(signet_core::blob::BlobError::NotFound)
            ),
            "the encrypted bytes are gone from the blob store"
        );
        Ok(())
    }

    signet_testkit::on_both!(links_expire_and_cancelled_blobs_are_deleted);
}
