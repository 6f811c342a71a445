//! The native API end to end, on both backends.

use reqwest::StatusCode;
use serde_json::json;
use signet_testkit::TestApp;

signet_testkit::on_both!(download_returns_exactly_the_uploaded_bytes);

async fn download_returns_exactly_the_uploaded_bytes(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let body = json!({
        "contacts": [{"recipientEmail": "r@example.com", "recipientIsoCountryCode": "FR", "recipientCell": "612345678"}],
        "documents": [{"name": "bulletin de paie – janvier.pdf"}]
    });
    let created: serde_json::Value = app
        .http
        .post(app.url("/transactions/cells"))
        .header("Authorization", tenant.bearer())
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    let url = created["sendTransaction"]["documents"][0]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let document = url
        .split("/uploads/")
        .nth(1)
        .and_then(|r| r.split('?').next())
        .unwrap_or_default()
        .to_owned();
    // Several encryption chunks and an odd tail.
    let content: Vec<u8> = (0..(3 * 65536 + 17))
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    assert_eq!(
        app.http
            .put(&url)
            .body(content.clone())
            .send()
            .await?
            .status(),
        StatusCode::OK
    );

    let path = format!("/v1/documents/{document}/content");
    let response = app
        .http
        .get(app.url(&path))
        .basic_auth(&tenant.id, Some(&tenant.api_key))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let disposition = response.headers()["content-disposition"]
        .to_str()?
        .to_owned();
    assert!(
        disposition.contains("filename*=UTF-8''bulletin%20de%20paie%20%E2%80%93%20janvier.pdf"),
        "{disposition}"
    );
    assert_eq!(response.bytes().await?.to_vec(), content);

    // Wrong key, another tenant, unknown id.
    let response = app
        .http
        .get(app.url(&path))
        .basic_auth(&tenant.id, Some("0".repeat(64)))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let other = app.tenant().await?;
    let response = app
        .http
        .get(app.url(&path))
        .basic_auth(&other.id, Some(&other.api_key))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .http
        .get(app.url(&format!("/v1/documents/{}/content", "0".repeat(32))))
        .basic_auth(&tenant.id, Some(&tenant.api_key))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    Ok(())
}
