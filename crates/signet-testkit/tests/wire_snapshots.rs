//! What clients see, frozen: every doclinc, native (`/v1/...`, the document library included),
//! ledger (`/v1/ledger/...`),
//! upload and portal response and error shape, recorded as `insta` snapshots (status, the headers
//! clients and browsers act on, and the body). Ids, tokens, hashes, signatures and times are
//! redacted by filters so that only the shape is compared; a change of shape shows as a snapshot
//! diff to review (`cargo insta review`). In CI (`CI=true`) a mismatch fails and nothing is
//! accepted automatically.
//!
//! Each scenario runs on SQLite + local blobs and on PostgreSQL + S3 against the same snapshots:
//! the backends must be indistinguishable on the wire.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};
use signet_core::model::{Feature, TenantStatus};
use signet_core::service::TenantChanges;
use signet_testkit::delivery::{Delivery, cancel, deliver};
use signet_testkit::phone::PhoneCapture;
use signet_testkit::{Backend, TestApp, TestOptions, TestTenant};

const PHONE: &str = "+18191234567";
const PAYSLIP: &[u8] = b"%PDF-1.7 payslip of January\n%%EOF\n";

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {$(
            #[tokio::test]
            async fn $name() -> anyhow::Result<()> {
                let Some((app, phone)) = super::spawn(signet_testkit::Backend::Sqlite).await? else { return Ok(()) };
                super::$name(app, phone).await
            }
        )*}
        mod postgres_s3 {$(
            #[tokio::test]
            async fn $name() -> anyhow::Result<()> {
                let Some((app, phone)) = super::spawn(signet_testkit::Backend::Postgres).await? else { return Ok(()) };
                super::$name(app, phone).await
            }
        )*}
    };
}

scenarios!(doclinc, uploads, native_and_ledger, portal, library);

async fn spawn(backend: Backend) -> anyhow::Result<Option<(TestApp, PhoneCapture)>> {
    let phone = PhoneCapture::start().await?;
    let options = TestOptions {
        sms_url: Some(phone.url().to_owned()),
        ..TestOptions::default()
    };
    Ok(TestApp::spawn_with(backend, options)
        .await?
        .map(|app| (app, phone)))
}

/// The headers whose value a client, a browser or a cache acts on.
const HEADERS: &[&str] = &[
    "cache-control",
    "content-disposition",
    "content-length",
    "content-security-policy",
    "content-type",
    "etag",
    "location",
    "referrer-policy",
    "set-cookie",
    "www-authenticate",
    "x-content-type-options",
    "x-frame-options",
];

/// A response as recorded: status, the headers above, and the body (JSON parsed, text as is,
/// other bytes by length).
async fn capture(response: Response) -> anyhow::Result<Value> {
    let status = response.status().as_u16();
    let mut headers = BTreeMap::new();
    for name in HEADERS {
        if let Some(value) = response.headers().get(*name) {
            headers.insert(*name, value.to_str().unwrap_or("<binary>").to_owned());
        }
    }
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    // The length of a generated body varies with what was redacted (fractional seconds); only a
    // stored document's length is part of its shape.
    if content_type.contains("json") || content_type.starts_with("text/") || content_type.is_empty()
    {
        headers.remove("content-length");
    }
    let bytes = response.bytes().await?;
    let body = if content_type.contains("json") {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    } else if content_type.starts_with("text/css") {
        // The stylesheet is not a wire shape; its headers are.
        json!(format!("<{} bytes of CSS>", bytes.len()))
    } else if bytes.is_empty() {
        Value::Null
    } else {
        match std::str::from_utf8(&bytes) {
            // Line by line, so that a changed page shows as a readable diff.
            Ok(text) if content_type.starts_with("text/") => {
                Value::from(text.lines().collect::<Vec<_>>())
            }
            Ok(text) => Value::String(text.to_owned()),
            Err(_) => json!(format!("<{} bytes>", bytes.len())),
        }
    };
    Ok(json!({ "status": status, "headers": headers, "body": body }))
}

/// Sends `request` and compares its response with snapshot `name`.
async fn check(name: &str, request: RequestBuilder) -> anyhow::Result<Value> {
    let recorded = capture(request.send().await?).await?;
    snapshot(name, &recorded);
    Ok(recorded)
}

/// Compares `value` with snapshot `name`, after redacting what changes from run to run.
fn snapshot(name: &str, value: &Value) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    settings.set_omit_expression(true);
    for (pattern, replacement) in [
        (r"http://127\.0\.0\.1:\d+", "[base]"),
        (r"127\.0\.0\.1:\d+", "[host]"),
        (r"test-[0-9a-f]{16}", "[jti]"),
        (r"/r/[A-Za-z0-9_-]{43}", "/r/[link-token]"),
        (r"signet_session=[A-Za-z0-9_-]+", "signet_session=[session]"),
        (r"expires=\d+", "expires=[unix]"),
        (r"signature=[A-Za-z0-9_%-]+", "signature=[signature]"),
        (r"0x[0-9a-f]{64}", "0x[hash]"),
        (r"\b[0-9a-fA-F]{64}\b", "[hash]"),
        (r"\b[0-9a-fA-F]{30,32}\b", "[id]"),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            "[rfc3339]",
        ),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "[date-time] UTC"),
        // Base64 after an escaped line break keeps its `\n`.
        (r"\\n[A-Za-z0-9+/]{40,}={0,2}", r"\n[base64]"),
        (r"[A-Za-z0-9+/]{40,}={0,2}", "[base64]"),
        (r"Max-Age=\d+", "Max-Age=[seconds]"),
    ] {
        settings.add_filter(pattern, replacement);
    }
    settings.bind(|| insta::assert_yaml_snapshot!(name, value));
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client without redirects")
}

fn cells_body() -> Value {
    json!({
        "transactionType": "send",
        "transactionLanguageRef": "EN",
        "subjectLanguageRef": "EN",
        "linkExpirationDays": 14,
        "isLinkReusable": true,
        "isEventNotificationEnabled": false,
        "contacts": [{
            "recipientEmail": "recipient@example.com",
            "recipientIsoCountryCode": "CA",
            "recipientCell": "8191234567",
            "authenticationMethod": "sms"
        }],
        "documents": [{ "name": "payslip-2026-01.pdf" }]
    })
}

fn secrets_body() -> Value {
    json!({
        "transactionType": "send",
        "transactionLanguageRef": "FR",
        "subjectLanguageRef": "FR",
        "linkExpirationDays": 14,
        "isLinkReusable": true,
        "secretQuestion": "Quel est votre matricule ?",
        "isEventNotificationEnabled": false,
        "contacts": [{ "recipientEmail": "secret@example.com", "secretAnswer": "EMP-00142" }],
        "documents": [{ "name": "bulletin-janvier.pdf" }]
    })
}

fn upload_url(created: &Value, index: usize) -> String {
    created["body"]["sendTransaction"]["documents"][index]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn document_id(upload_url: &str) -> String {
    upload_url
        .split("/uploads/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_default()
        .to_owned()
}

async fn suspend(app: &TestApp, tenant: &TestTenant) -> anyhow::Result<()> {
    let changes = TenantChanges {
        status: Some(TenantStatus::Suspended),
        ..TenantChanges::default()
    };
    app.core.update_tenant(&tenant.id.parse()?, changes).await?;
    Ok(())
}

async fn doclinc(app: TestApp, _phone: PhoneCapture) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let create = |path: &str| {
        app.http
            .post(app.url(path))
            .header("Authorization", tenant.bearer())
    };
    let json_body = |body: &str| {
        create("/transactions/cells")
            .header("content-type", "application/json")
            .body(body.to_owned())
    };

    check(
        "doclinc_unauthorized",
        app.http
            .post(app.url("/transactions/cells"))
            .json(&cells_body()),
    )
    .await?;
    check("doclinc_malformed_json", json_body("{\"contacts\": [")).await?;
    check(
        "doclinc_wrong_type",
        json_body(r#"{"contacts": "everyone", "documents": []}"#),
    )
    .await?;
    check("doclinc_array_body", json_body("[]")).await?;
    check("doclinc_missing_field", json_body(r#"{"contacts": []}"#)).await?;
    let mut bad_email = cells_body();
    bad_email["contacts"][0]["recipientEmail"] = json!("not an address");
    check(
        "doclinc_invalid_email",
        create("/transactions/cells").json(&bad_email),
    )
    .await?;
    let mut twice = cells_body();
    let contact = twice["contacts"][0].clone();
    twice["contacts"] = json!([contact.clone(), contact]);
    check(
        "doclinc_duplicate_phone",
        create("/transactions/cells").json(&twice),
    )
    .await?;
    check(
        "doclinc_body_too_large",
        json_body(&format!("\"{}\"", "x".repeat(1024 * 1024 + 1))),
    )
    .await?;

    let created = check(
        "doclinc_create_cells",
        create("/transactions/cells").json(&cells_body()),
    )
    .await?;
    let id = created["body"]["sendTransaction"]["transactionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let confirm = || {
        app.http
            .post(app.url(&format!("/transactions/cell/{id}")))
            .header("Authorization", tenant.bearer())
    };
    check("doclinc_confirm_before_upload", confirm()).await?;
    app.http
        .put(upload_url(&created, 0))
        .body(PAYSLIP.to_vec())
        .send()
        .await?
        .error_for_status()?;
    check("doclinc_confirm", confirm()).await?;
    check("doclinc_confirm_again", confirm()).await?;
    check(
        "doclinc_contact_cell",
        app.http
            .get(app.url("/transactions/contacts/recipient@example.com"))
            .header("Authorization", tenant.bearer()),
    )
    .await?;
    check(
        "doclinc_contact_unknown",
        app.http
            .get(app.url("/transactions/contacts/nobody@example.com"))
            .header("Authorization", tenant.bearer()),
    )
    .await?;
    let cancel = || {
        app.http
            .delete(app.url(&format!("/transactions/cell/{id}")))
            .header("Authorization", tenant.bearer())
    };
    check("doclinc_cancel", cancel()).await?;
    check("doclinc_cancel_again", cancel()).await?;
    check("doclinc_confirm_cancelled", confirm()).await?;
    check(
        "doclinc_unknown_transaction",
        app.http
            .post(app.url(&format!("/transactions/cell/{}", "0".repeat(32))))
            .header("Authorization", tenant.bearer()),
    )
    .await?;
    check(
        "doclinc_malformed_transaction_id",
        app.http
            .post(app.url("/transactions/cell/not-an-id"))
            .header("Authorization", tenant.bearer()),
    )
    .await?;

    check(
        "doclinc_undecodable_path",
        app.http
            .post(app.url("/transactions/cell/%FF"))
            .header("Authorization", tenant.bearer()),
    )
    .await?;

    check(
        "doclinc_create_secrets",
        create("/transactions/secrets").json(&secrets_body()),
    )
    .await?;
    check(
        "doclinc_contact_secret",
        app.http
            .get(app.url("/transactions/contacts/secret@example.com"))
            .header("Authorization", tenant.bearer()),
    )
    .await?;

    // A tenant that sends no e-mail itself: no banners.
    let platform = app
        .tenant_with(&Feature::ALL, 10 * 1024 * 1024, false)
        .await?;
    check(
        "doclinc_create_cells_platform_mail",
        app.http
            .post(app.url("/transactions/cells"))
            .header("Authorization", platform.bearer())
            .json(&cells_body()),
    )
    .await?;

    // Plan limits: a feature outside the plan, documents over the plan's total.
    let small = app.tenant_with(&[Feature::Secret], 40, true).await?;
    check(
        "doclinc_feature_not_in_plan",
        app.http
            .post(app.url("/transactions/cells"))
            .header("Authorization", small.bearer())
            .json(&cells_body()),
    )
    .await?;
    let mut two = secrets_body();
    two["documents"] = json!([{ "name": "a.pdf" }, { "name": "b.pdf" }]);
    let created = capture(
        app.http
            .post(app.url("/transactions/secrets"))
            .header("Authorization", small.bearer())
            .json(&two)
            .send()
            .await?,
    )
    .await?;
    for index in 0..2 {
        app.http
            .put(upload_url(&created, index))
            .body(vec![b'x'; 30])
            .send()
            .await?
            .error_for_status()?;
    }
    let small_id = created["body"]["sendTransaction"]["transactionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    check(
        "doclinc_documents_too_large",
        app.http
            .post(app.url(&format!("/transactions/cell/{small_id}")))
            .header("Authorization", small.bearer()),
    )
    .await?;

    suspend(&app, &tenant).await?;
    check(
        "doclinc_tenant_suspended",
        create("/transactions/cells").json(&cells_body()),
    )
    .await?;
    Ok(())
}

async fn uploads(app: TestApp, _phone: PhoneCapture) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let created = capture(
        app.http
            .post(app.url("/transactions/cells"))
            .header("Authorization", tenant.bearer())
            .json(&json!({
                "contacts": cells_body()["contacts"],
                "documents": [{ "name": "a.pdf" }, { "name": "b.pdf" }, { "name": "c.pdf" }]
            }))
            .send()
            .await?,
    )
    .await?;
    let url = upload_url(&created, 0);
    let document = document_id(&url);
    let bare = app.url(&format!("/uploads/{document}"));
    check("upload_unsigned", app.http.put(&bare).body("x")).await?;
    check(
        "upload_undecodable_path",
        app.http
            .put(app.url("/uploads/%FF?expires=1&signature=x"))
            .body("x"),
    )
    .await?;
    check(
        "upload_bad_query",
        app.http
            .put(format!("{bare}?expires=soon&signature=abc"))
            .body("x"),
    )
    .await?;
    check(
        "upload_bad_signature",
        app.http
            .put(url.replace("signature=", "signature=AA"))
            .body("x"),
    )
    .await?;
    check(
        "upload_ok",
        app.http
            .put(&url)
            .header("content-type", "application/pdf")
            .body(PAYSLIP.to_vec()),
    )
    .await?;
    check("upload_again", app.http.put(&url).body(PAYSLIP.to_vec())).await?;
    check(
        "upload_too_large",
        app.http
            .put(upload_url(&created, 1))
            .body(vec![0u8; 10 * 1024 * 1024 + 1]),
    )
    .await?;
    app.clock.advance(time::Duration::hours(2));
    check(
        "upload_expired",
        app.http.put(upload_url(&created, 2)).body("x"),
    )
    .await?;
    // An upload to an envelope that no longer accepts them.
    let fresh = app.tenant().await?;
    let delivery = deliver(
        &app,
        &fresh,
        "/transactions/cells",
        &cells_body(),
        &[PAYSLIP.to_vec()],
    )
    .await?;
    let used = delivery.created["sendTransaction"]["documents"][0]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    check("upload_after_confirm", app.http.put(&used).body("x")).await?;
    Ok(())
}

async fn native_and_ledger(app: TestApp, _phone: PhoneCapture) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let delivery = deliver(
        &app,
        &tenant,
        "/transactions/cells",
        &cells_body(),
        &[PAYSLIP.to_vec()],
    )
    .await?;
    let url = delivery.created["sendTransaction"]["documents"][0]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let document = document_id(&url);
    let content = format!("/v1/documents/{document}/content");
    let basic = |path: &str| {
        app.http
            .get(app.url(path))
            .basic_auth(&tenant.id, Some(&tenant.api_key))
    };
    check("native_download", basic(&content)).await?;
    check("native_unauthorized", app.http.get(app.url(&content))).await?;
    check(
        "native_wrong_key",
        app.http
            .get(app.url(&content))
            .basic_auth(&tenant.id, Some("0".repeat(64))),
    )
    .await?;
    check(
        "native_not_found",
        basic(&format!("/v1/documents/{}/content", "0".repeat(32))),
    )
    .await?;
    check("native_malformed_id", basic("/v1/documents/xyz/content")).await?;
    check(
        "native_undecodable_path",
        basic("/v1/documents/%FF/content"),
    )
    .await?;
    let sha256 = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(PAYSLIP))
    };
    let evidence = check(
        "native_evidence",
        basic(&format!("/v1/evidence/documents/{sha256}")),
    )
    .await?;
    check(
        "native_evidence_unknown",
        basic(&format!("/v1/evidence/documents/{}", "0".repeat(64))),
    )
    .await?;
    check(
        "native_evidence_malformed",
        basic("/v1/evidence/documents/xyz"),
    )
    .await?;

    let ledger = |path: &str| app.http.get(app.url(path));
    check("ledger_checkpoint", ledger("/v1/ledger/checkpoint")).await?;
    check("ledger_public_key", ledger("/v1/ledger/public-key")).await?;
    check("ledger_leaves", ledger("/v1/ledger/leaves?start=0&end=2")).await?;
    check("ledger_leaves_no_query", ledger("/v1/ledger/leaves")).await?;
    check(
        "ledger_leaves_bad_query",
        ledger("/v1/ledger/leaves?start=first&end=2"),
    )
    .await?;
    check(
        "ledger_leaves_bad_range",
        ledger("/v1/ledger/leaves?start=5&end=1"),
    )
    .await?;
    let leaf = evidence["body"]["documents"][0]["events"][0]["transaction_hash"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let size = evidence["body"]["tree_size"].as_u64().unwrap_or_default();
    check(
        "ledger_inclusion",
        ledger(&format!(
            "/v1/ledger/proof/inclusion?leaf_hash={leaf}&tree_size={size}"
        )),
    )
    .await?;
    check(
        "ledger_inclusion_bad_hash",
        ledger("/v1/ledger/proof/inclusion?leaf_hash=xyz&tree_size=1"),
    )
    .await?;
    check(
        "ledger_inclusion_unknown",
        ledger(&format!(
            "/v1/ledger/proof/inclusion?leaf_hash={}&tree_size={size}",
            "0".repeat(64)
        )),
    )
    .await?;
    check(
        "ledger_inclusion_no_query",
        ledger("/v1/ledger/proof/inclusion"),
    )
    .await?;
    check(
        "ledger_consistency",
        ledger("/v1/ledger/proof/consistency?first=1&second=2"),
    )
    .await?;
    check(
        "ledger_consistency_bad_range",
        ledger("/v1/ledger/proof/consistency?first=3&second=1"),
    )
    .await?;
    check(
        "ledger_consistency_bad_query",
        ledger("/v1/ledger/proof/consistency?first=-1&second=x"),
    )
    .await?;
    check(
        "pki_tsa_wrong_type",
        app.http
            .post(app.url("/v1/tsa"))
            .header("content-type", "text/plain")
            .body("x"),
    )
    .await?;

    suspend(&app, &tenant).await?;
    check("native_tenant_suspended", basic(&content)).await?;
    Ok(())
}

/// Runs the jobs and returns the newest code the phone received.
async fn code_for(app: &TestApp, phone: &PhoneCapture) -> anyhow::Result<String> {
    app.run_jobs().await?;
    phone
        .wait_for_message(PHONE, StdDuration::from_secs(5))
        .await?;
    phone
        .latest_code(PHONE)
        .ok_or_else(|| anyhow::anyhow!("no code received"))
}

fn session_cookie(recorded: &Value) -> String {
    recorded["headers"]["set-cookie"]
        .as_str()
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned()
}

fn download_href(recorded: &Value) -> String {
    let body = recorded["body"].as_str().unwrap_or_default();
    let marker = "class=\"download\" href=\"";
    body.find(marker)
        .map(|start| {
            let rest = &body[start + marker.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_owned()
        })
        .unwrap_or_default()
}

async fn portal(app: TestApp, phone: PhoneCapture) -> anyhow::Result<()> {
    let http = no_redirects();
    let tenant = app.tenant().await?;
    let delivery: Delivery = deliver(
        &app,
        &tenant,
        "/transactions/cells",
        &cells_body(),
        &[PAYSLIP.to_vec()],
    )
    .await?;
    let link = delivery.links[0].clone();
    check("portal_landing_sms", http.get(&link)).await?;
    check(
        "portal_verify_before_code",
        http.post(format!("{link}/verify"))
            .form(&[("code", "123456")]),
    )
    .await?;
    check("portal_send_code", http.post(format!("{link}/code"))).await?;
    let code = code_for(&app, &phone).await?;
    check("portal_enter_code", http.get(&link)).await?;
    let wrong = format!("{:06}", (code.parse::<u32>()? + 1) % 1_000_000);
    check(
        "portal_wrong_code",
        http.post(format!("{link}/verify")).form(&[("code", wrong)]),
    )
    .await?;
    check(
        "portal_bad_form",
        http.post(format!("{link}/verify"))
            .header("content-type", "application/json")
            .body("{\"code\": 1}"),
    )
    .await?;
    check(
        "portal_answer_on_sms_link",
        http.post(format!("{link}/answer")).form(&[("answer", "x")]),
    )
    .await?;
    let authenticated = check(
        "portal_authenticated",
        http.post(format!("{link}/verify"))
            .form(&[("code", code.as_str())]),
    )
    .await?;
    let cookie = session_cookie(&authenticated);
    let documents = check(
        "portal_documents",
        http.get(&link).header("Cookie", &cookie),
    )
    .await?;
    let href = app.url(&download_href(&documents));
    check("portal_download", http.get(&href).header("Cookie", &cookie)).await?;
    check("portal_download_without_session", http.get(&href)).await?;
    check(
        "portal_unknown_link",
        http.get(app.url("/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
    )
    .await?;
    check("portal_undecodable_path", http.get(app.url("/r/%FF"))).await?;
    check("portal_stylesheet", http.get(app.url("/assets/portal.css"))).await?;

    // Wrong codes until the link locks.
    let other = deliver(
        &app,
        &tenant,
        "/transactions/cells",
        &cells_body(),
        &[PAYSLIP.to_vec()],
    )
    .await?;
    let locked_link = other.links[0].clone();
    http.post(format!("{locked_link}/code")).send().await?;
    let code = code_for(&app, &phone).await?;
    let wrong = format!("{:06}", (code.parse::<u32>()? + 1) % 1_000_000);
    for _ in 0..app.core.settings().portal.max_failed_attempts {
        http.post(format!("{locked_link}/verify"))
            .form(&[("code", wrong.as_str())])
            .send()
            .await?;
    }
    check("portal_locked", http.get(&locked_link)).await?;

    let secret = deliver(
        &app,
        &tenant,
        "/transactions/secrets",
        &secrets_body(),
        &[PAYSLIP.to_vec()],
    )
    .await?;
    let secret_link = secret.links[0].clone();
    check("portal_landing_secret", http.get(&secret_link)).await?;
    check(
        "portal_wrong_answer",
        http.post(format!("{secret_link}/answer"))
            .form(&[("answer", "EMP-00143")]),
    )
    .await?;
    check(
        "portal_right_answer",
        http.post(format!("{secret_link}/answer"))
            .form(&[("answer", "emp-00142")]),
    )
    .await?;

    cancel(&app, &tenant, &secret).await?;
    check("portal_cancelled", http.get(&secret_link)).await?;
    app.clock.advance(time::Duration::days(15));
    check("portal_expired", http.get(&link)).await?;
    Ok(())
}

async fn library(app: TestApp, _phone: PhoneCapture) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let native = |method: reqwest::Method, path: &str| app.native(method, path, &tenant);
    let upload = |name: &str, media_type: &str, body: Vec<u8>| {
        native(reqwest::Method::POST, "/v1/documents")
            .query(&[("name", name)])
            .header("Content-Type", media_type)
            .body(body)
    };
    let created = check(
        "library_created",
        upload(
            "contract.pdf",
            "application/pdf",
            signet_pdf::sample::blank(2),
        ),
    )
    .await?;
    let location = created["headers"]["location"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    check("library_shown", native(reqwest::Method::GET, &location)).await?;
    check(
        "library_content",
        native(reqwest::Method::GET, &format!("{location}/content")),
    )
    .await?;
    check(
        "library_unsignable_pdf",
        upload("broken.pdf", "application/pdf", b"%PDF-1.7 broken".to_vec()),
    )
    .await?;
    check(
        "library_bad_media_type",
        upload("contract.pdf", "pdf", signet_pdf::sample::blank(1)),
    )
    .await?;
    check(
        "library_missing_name",
        native(reqwest::Method::POST, "/v1/documents")
            .header("Content-Type", "application/pdf")
            .body(signet_pdf::sample::blank(1)),
    )
    .await?;
    check(
        "library_not_found",
        native(
            reqwest::Method::GET,
            &format!("/v1/documents/{}", "0".repeat(32)),
        ),
    )
    .await?;
    check(
        "library_deleted",
        native(reqwest::Method::DELETE, &location),
    )
    .await?;
    check(
        "library_shown_deleted",
        native(reqwest::Method::GET, &location),
    )
    .await?;
    check(
        "library_content_gone",
        native(reqwest::Method::GET, &format!("{location}/content")),
    )
    .await?;
    Ok(())
}
