//! The attacks of the outside probe (parallel uploads, reused answer refs, hostile addresses and
//! names, HEAD on downloads, oversize bodies before parsing), each replayed against the real
//! router on SQLite + local blobs and on PostgreSQL + S3.

use futures::StreamExt as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use signet_testkit::{TestApp, TestTenant};

signet_testkit::on_both!(
    parallel_uploads_of_one_envelope_all_succeed,
    an_answer_ref_is_not_lent_to_another_recipient,
    addresses_the_mailer_would_refuse_are_refused_at_once,
    disguised_document_names_are_refused,
    oversize_fields_are_refused_before_use,
    the_time_stamp_authority_refuses_a_large_query_before_reading_it,
);

async fn create(
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

fn cells_body(documents: usize) -> Value {
    let documents: Vec<Value> = (0..documents)
        .map(|i| json!({ "name": format!("payslip-{i:03}.pdf") }))
        .collect();
    json!({
        "transactionLanguageRef": "EN",
        "subjectLanguageRef": "EN",
        "linkExpirationDays": 14,
        "contacts": [{
            "recipientEmail": "recipient@example.com",
            "recipientIsoCountryCode": "CA",
            "recipientCell": "8191234567",
            "authenticationMethod": "sms"
        }],
        "documents": documents,
    })
}

/// 100 documents of one envelope uploaded 50 at a time: every upload succeeds, every document is
/// stored with its own bytes, and the envelope confirms. (Before, one envelope-wide version made
/// most of them fail with 500 after eight quick retries.)
async fn parallel_uploads_of_one_envelope_all_succeed(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let (status, created) = create(&app, &tenant, "/transactions/cells", &cells_body(100)).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let urls: Vec<String> = created["sendTransaction"]["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["url"].as_str().expect("an upload URL").to_owned())
        .collect();
    assert_eq!(urls.len(), 100);
    let statuses: Vec<(usize, StatusCode, String)> = futures::stream::iter(urls.iter().enumerate())
        .map(|(i, url)| {
            let http = app.http.clone();
            async move {
                let response = http
                    .put(url)
                    .body(format!("document number {i}").repeat(50))
                    .send()
                    .await
                    .expect("the upload is answered");
                let status = response.status();
                (i, status, response.text().await.unwrap_or_default())
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    let failed: Vec<_> = statuses
        .iter()
        .filter(|(_, status, _)| !status.is_success())
        .collect();
    assert!(failed.is_empty(), "failed uploads: {failed:?}");

    let confirm = created["commands"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["rel"] == "Confirm"))
        .and_then(|c| c["href"].as_str())
        .expect("a confirm command")
        .to_owned();
    let confirmed = app
        .http
        .post(app.url(&confirm))
        .header("Authorization", tenant.bearer())
        .send()
        .await?;
    assert_eq!(confirmed.status(), StatusCode::OK);
    // Every document holds its own bytes: the portal's view of the store agrees.
    let id: signet_core::ids::EnvelopeId = created["sendTransaction"]["transactionId"]
        .as_str()
        .expect("an id")
        .parse()?;
    let tenant_id: signet_core::ids::TenantId = tenant.id.parse()?;
    let aggregate = app
        .store
        .envelope(&tenant_id, &id)
        .await?
        .expect("the envelope");
    assert_eq!(aggregate.documents.len(), 100);
    for doc in &aggregate.documents {
        let stored = doc.stored().expect("every document stored");
        let position = doc.position as usize;
        assert_eq!(
            stored.size,
            format!("document number {position}").repeat(50).len() as u64
        );
    }
    Ok(())
}

fn secrets_body(email: &str, answer: Value, answer_ref: Value) -> Value {
    json!({
        "transactionLanguageRef": "EN",
        "subjectLanguageRef": "EN",
        "linkExpirationDays": 14,
        "secretQuestion": "What is your employee number?",
        "contacts": [{
            "recipientEmail": email,
            "secretAnswer": answer,
            "secretAnswerRef": answer_ref,
        }],
        "documents": [{ "name": "payslip.pdf" }]
    })
}

/// A `secretAnswerRef` names one recipient's registered answer: it is read from that recipient's
/// contact. Given for another recipient it is refused with a 400 in doclinc's shape (it answered
/// 500 "record already exists"), nothing is created, and it still works for its own recipient.
async fn an_answer_ref_is_not_lent_to_another_recipient(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let first = secrets_body("alice@example.com", json!("EMP-00142"), Value::Null);
    let (status, created) = create(&app, &tenant, "/transactions/secrets", &first).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let contact: Value = app
        .http
        .get(app.url("/transactions/contacts/alice@example.com"))
        .header("Authorization", tenant.bearer())
        .send()
        .await?
        .json()
        .await?;
    let answer_ref = contact["secretContact"]["secretAnswerRef"].clone();
    assert!(answer_ref.is_string(), "{contact}");

    let events = app.event_count().await?;
    let lent = secrets_body("bob@example.com", Value::Null, answer_ref.clone());
    let (status, error) = create(&app, &tenant, "/transactions/secrets", &lent).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["code"], 400);
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("another recipient")),
        "{error}"
    );
    assert_eq!(app.event_count().await?, events, "nothing was recorded");

    let own = secrets_body("alice@example.com", Value::Null, answer_ref);
    let (status, again) = create(&app, &tenant, "/transactions/secrets", &own).await?;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    Ok(())
}

/// Addresses that the API took and the mailer then refused for ever (bidi override, zero-width
/// space, a dotted capital I that lower-cases to two characters) are refused at creation, with a
/// 400 naming the field; nothing is created.
async fn addresses_the_mailer_would_refuse_are_refused_at_once(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let events = app.event_count().await?;
    for address in [
        "rtlo\u{202e}@example.com",
        "zw\u{200b}@example.com",
        "\u{130}\u{130}\u{130}@example.com",
        "isolate\u{2066}@example.com",
        "a..b@example.com",
    ] {
        let mut body = cells_body(1);
        body["contacts"][0]["recipientEmail"] = json!(address);
        let (status, error) = create(&app, &tenant, "/transactions/cells", &body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{address:?}: {error}");
        assert_eq!(error["code"], 400, "{error}");
    }
    assert_eq!(app.event_count().await?, events, "nothing was recorded");
    // An internationalised address is still welcome.
    let mut body = cells_body(1);
    body["contacts"][0]["recipientEmail"] = json!("jos\u{e9}@b\u{fc}ro.example");
    let (status, created) = create(&app, &tenant, "/transactions/cells", &body).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    Ok(())
}

/// Bidirectional controls and invisible characters in document names (`invoice\u{202e}fdp.exe`
/// shows as "invoiceexe.pdf" on the portal, in the e-mail and in `Content-Disposition`) are
/// refused like NUL and `../`.
async fn disguised_document_names_are_refused(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    for name in [
        "invoice\u{202e}fdp.exe",
        "invoice\u{2067}fdp.exe",
        "pay\u{200b}slip.pdf",
        "bom\u{feff}.pdf",
    ] {
        let mut body = cells_body(1);
        body["documents"][0]["name"] = json!(name);
        let (status, error) = create(&app, &tenant, "/transactions/cells", &body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}: {error}");
        assert_eq!(error["code"], 400, "{error}");
    }
    Ok(())
}

/// Fields with a maximum are refused at the maximum: a 900 KB secret question (it became a 900 KB
/// page), five thousand contacts (all parsed before the "at most 100" check), a 10,000-character
/// answer.
async fn oversize_fields_are_refused_before_use(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let events = app.event_count().await?;
    let mut long_question = secrets_body("alice@example.com", json!("EMP-00142"), Value::Null);
    long_question["secretQuestion"] = json!("Why? ".repeat(180_000));
    let mut long_answer = secrets_body("alice@example.com", Value::Null, Value::Null);
    long_answer["contacts"][0]["secretAnswer"] = json!("x".repeat(10_000));
    let mut many_contacts = cells_body(1);
    many_contacts["contacts"] = Value::Array(
        (0..5_000)
            .map(|i| {
                json!({"recipientEmail": format!("r{i}@example.com"), "authenticationMethod": "sms",
                "recipientIsoCountryCode": "CA", "recipientCell": "8191234567"})
            })
            .collect(),
    );
    let mut many_documents = cells_body(1);
    many_documents["documents"] = Value::Array(
        (0..101)
            .map(|i| json!({"name": format!("d{i}.pdf")}))
            .collect(),
    );
    for (what, path, body) in [
        ("question", "/transactions/secrets", &long_question),
        ("answer", "/transactions/secrets", &long_answer),
        ("contacts", "/transactions/cells", &many_contacts),
        ("documents", "/transactions/cells", &many_documents),
    ] {
        let (status, error) = create(&app, &tenant, path, body).await?;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE,
            "{what}: {status} {error}"
        );
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.len() < 400,
            "{what}: the message stays short: {message}"
        );
        assert!(
            message.contains("at most"),
            "{what}: says the limit: {message}"
        );
    }
    // Exactly at the limits is fine.
    let mut at_limit = secrets_body("alice@example.com", json!("a".repeat(200)), Value::Null);
    at_limit["secretQuestion"] = json!("q".repeat(500));
    let (status, created) = create(&app, &tenant, "/transactions/secrets", &at_limit).await?;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(app.event_count().await? > events);
    Ok(())
}

/// `/v1/tsa` needs no credentials: a query announced larger than its 64 KiB limit is refused
/// before a byte of it is read (it used to wait for up to 2 MB), and one sent without a length
/// is cut off at the limit.
async fn the_time_stamp_authority_refuses_a_large_query_before_reading_it(
    app: TestApp,
) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = app.url("").trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await?;
    // A million bytes announced, one sent: the answer must come without the rest.
    stream
        .write_all(
            format!(
                "POST /v1/tsa HTTP/1.1\r\nHost: {address}\r\n\
                 Content-Type: application/timestamp-query\r\nContent-Length: 1000000\r\n\r\nx"
            )
            .as_bytes(),
        )
        .await?;
    let mut answer = vec![0u8; 256];
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), stream.read(&mut answer))
        .await
        .map_err(|_| anyhow::anyhow!("no answer while the body was still announced"))??;
    let head = String::from_utf8_lossy(&answer[..read]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    // Streamed without a length: cut off once past the limit.
    let chunks = futures::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![0u8; 4096])));
    let response = app
        .http
        .post(app.url("/v1/tsa"))
        .header("Content-Type", "application/timestamp-query")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    Ok(())
}
