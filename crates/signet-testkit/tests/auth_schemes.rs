//! Authorization schemes are case-insensitive (RFC 9110 §11.1): `BEARER …` on doclinc and
//! `basic …` on the native API are accepted like `Bearer …` and `Basic …`.

use base64::Engine as _;
use reqwest::StatusCode;
use signet_testkit::TestApp;

signet_testkit::on_both!(doclinc_bearer_in_any_case, native_basic_in_any_case);

async fn doclinc_bearer_in_any_case(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = app
            .http
            .get(app.url("/transactions/contacts/nobody@example.com"))
            .header("Authorization", format!("{scheme} {}", tenant.token()))
            .send()
            .await?;
        // Authenticated: the contact is looked up (and not found), not refused with 401.
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{scheme}");
    }
    let response = app
        .http
        .get(app.url("/transactions/contacts/nobody@example.com"))
        .header("Authorization", format!("Basic {}", tenant.token()))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

async fn native_basic_in_any_case(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", tenant.id, tenant.api_key));
    let path = format!("/v1/evidence/documents/{}", "0".repeat(64));
    for scheme in ["Basic", "basic", "BASIC"] {
        let response = app
            .http
            .get(app.url(&path))
            .header("Authorization", format!("{scheme} {credentials}"))
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{scheme}");
    }
    let response = app
        .http
        .get(app.url(&path))
        .header("Authorization", format!("Bearer {credentials}"))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}
