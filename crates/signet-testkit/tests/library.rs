//! The tenant's document library through the native API, on both backends: a PDF is stored
//! with both digests and its page count, read back byte for byte, deleted (the record stays);
//! a PDF that cannot be signed is refused and nothing is kept; another tenant sees nothing.

use reqwest::{Method, StatusCode};
use sha2::Digest as _;
use signet_testkit::{TestApp, TestTenant};

signet_testkit::on_both!(
    a_pdf_is_stored_read_and_deleted,
    unsignable_pdfs_are_refused_and_nothing_is_kept,
    another_tenant_sees_nothing,
    an_idempotency_key_makes_a_repeat_answer_the_same_document,
    concurrent_repeats_of_one_key_store_one_document,
);

/// A PDF of `pages` empty pages, optionally marked encrypted.
fn pdf(pages: usize, encrypted: bool) -> Vec<u8> {
    let encrypt = if encrypted {
        " /Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>"
    } else {
        ""
    };
    signet_pdf::sample::blank_with_trailer(pages, encrypt)
}

async fn upload(
    app: &TestApp,
    tenant: &TestTenant,
    name: &str,
    media_type: &str,
    body: Vec<u8>,
) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .native(Method::POST, "/v1/documents", tenant)
        .query(&[("name", name)])
        .header("Content-Type", media_type)
        .body(body)
        .send()
        .await?)
}

async fn a_pdf_is_stored_read_and_deleted(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let bytes = pdf(3, false);
    let events_before = app.event_count().await?;
    let response = upload(
        &app,
        &tenant,
        "contrat de travail.pdf",
        "application/pdf",
        bytes.clone(),
    )
    .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let created: serde_json::Value = response.json().await?;
    assert_eq!(created["name"], "contrat de travail.pdf");
    assert_eq!(created["media_type"], "application/pdf");
    assert_eq!(created["size"], bytes.len());
    assert_eq!(created["pages"], 3);
    assert_eq!(created["kind"], "original");
    assert_eq!(created["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(
        created["sha3_256"],
        hex::encode(sha3::Sha3_256::digest(&bytes))
    );
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(location, format!("/v1/documents/{id}"));
    assert_eq!(
        app.event_count().await?,
        events_before + 1,
        "the act is in the log"
    );

    let shown: serde_json::Value = app
        .native(Method::GET, &location, &tenant)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(shown, created);

    let content = app
        .native(Method::GET, &format!("{location}/content"), &tenant)
        .send()
        .await?;
    assert_eq!(content.status(), StatusCode::OK);
    assert_eq!(content.headers()["content-type"], "application/pdf");
    assert_eq!(content.bytes().await?.as_ref(), bytes.as_slice());

    let deleted = app
        .native(Method::DELETE, &location, &tenant)
        .send()
        .await?;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let shown: serde_json::Value = app
        .native(Method::GET, &location, &tenant)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(shown["deleted"], true);
    assert_eq!(
        shown["sha256"], created["sha256"],
        "the digests stay as evidence"
    );
    let gone = app
        .native(Method::GET, &format!("{location}/content"), &tenant)
        .send()
        .await?;
    assert_eq!(gone.status(), StatusCode::GONE);
    let again = app
        .native(Method::DELETE, &location, &tenant)
        .send()
        .await?;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    Ok(())
}

async fn unsignable_pdfs_are_refused_and_nothing_is_kept(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let events_before = app.event_count().await?;
    for (what, body) in [
        ("encrypted", pdf(1, true)),
        ("not a PDF", b"%PDF-1.7\nthis is not a PDF at all".to_vec()),
        ("no pages", pdf(0, false)),
    ] {
        let response = upload(&app, &tenant, "x.pdf", "application/pdf", body).await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{what}"
        );
        let problem: serde_json::Value = response.json().await?;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("cannot be signed"),
            "{what}: {problem}"
        );
    }
    for (what, name, media_type) in [
        ("no media type", "x.pdf", "nonsense"),
        ("a name with a path", "../x.pdf", "application/pdf"),
    ] {
        let response = upload(&app, &tenant, name, media_type, pdf(1, false)).await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
    }
    assert_eq!(
        app.event_count().await?,
        events_before,
        "nothing was recorded"
    );
    // A file for viewing only is kept as it is, without a page count.
    let response = upload(
        &app,
        &tenant,
        "notes.txt",
        "text/plain; charset=utf-8",
        b"hello".to_vec(),
    )
    .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: serde_json::Value = response.json().await?;
    assert_eq!(created["media_type"], "text/plain");
    assert_eq!(created["pages"], serde_json::Value::Null);
    Ok(())
}

async fn another_tenant_sees_nothing(app: TestApp) -> anyhow::Result<()> {
    let owner = app.tenant().await?;
    let other = app.tenant().await?;
    let created: serde_json::Value =
        upload(&app, &owner, "a.pdf", "application/pdf", pdf(1, false))
            .await?
            .json()
            .await?;
    let location = format!(
        "/v1/documents/{}",
        created["id"].as_str().unwrap_or_default()
    );
    for path in [location.clone(), format!("{location}/content")] {
        let response = app.native(Method::GET, &path, &other).send().await?;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let response = app.native(Method::DELETE, &location, &other).send().await?;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Still there for its owner.
    let response = app
        .native(Method::GET, &format!("{location}/content"), &owner)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    Ok(())
}

async fn an_idempotency_key_makes_a_repeat_answer_the_same_document(
    app: TestApp,
) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let keyed = |key: &str, body: Vec<u8>| {
        app.native(Method::POST, "/v1/documents", &tenant)
            .query(&[("name", "offer.pdf")])
            .header("Content-Type", "application/pdf")
            .header("Idempotency-Key", key)
            .body(body)
    };
    let events_before = app.event_count().await?;
    let first = keyed("order-42", pdf(1, false)).send().await?;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: serde_json::Value = first.json().await?;
    let again = keyed("order-42", pdf(1, false)).send().await?;
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: serde_json::Value = again.json().await?;
    assert_eq!(
        again, first,
        "the repeat answers the first request's document"
    );
    assert_eq!(app.event_count().await?, events_before + 1, "stored once");

    let different = keyed("order-42", pdf(2, false)).send().await?;
    assert_eq!(different.status(), StatusCode::CONFLICT);
    assert_eq!(
        different.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(
        app.event_count().await?,
        events_before + 1,
        "nothing more stored"
    );

    // Another key, or none, makes another document.
    let other: serde_json::Value = keyed("order-43", pdf(1, false))
        .send()
        .await?
        .json()
        .await?;
    assert_ne!(other["id"], first["id"]);
    let bad = keyed("with space", pdf(1, false)).send().await?;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Keys are the tenant's own: another tenant's same key is another request.
    let stranger = app.tenant().await?;
    let theirs = app
        .native(Method::POST, "/v1/documents", &stranger)
        .query(&[("name", "offer.pdf")])
        .header("Content-Type", "application/pdf")
        .header("Idempotency-Key", "order-42")
        .body(pdf(1, false))
        .send()
        .await?;
    assert_eq!(theirs.status(), StatusCode::CREATED);
    let theirs: serde_json::Value = theirs.json().await?;
    assert_ne!(theirs["id"], first["id"]);
    Ok(())
}

async fn concurrent_repeats_of_one_key_store_one_document(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let events_before = app.event_count().await?;
    let send = || {
        app.native(Method::POST, "/v1/documents", &tenant)
            .query(&[("name", "offer.pdf")])
            .header("Content-Type", "application/pdf")
            .header("Idempotency-Key", "burst-1")
            .body(pdf(2, false))
            .send()
    };
    let answers = futures::future::join_all((0..8).map(|_| send())).await;
    let mut ids = std::collections::BTreeSet::new();
    for answer in answers {
        let answer = answer?;
        assert_eq!(answer.status(), StatusCode::CREATED);
        let body: serde_json::Value = answer.json().await?;
        ids.insert(body["id"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        ids.len(),
        1,
        "every repeat answers the one document: {ids:?}"
    );
    assert_eq!(app.event_count().await?, events_before + 1, "stored once");
    Ok(())
}
