//! Every operation a dialect lists is served, and its scope holds: a request without credentials
//! to a tenant operation is refused with 401 in the dialect's own error shape before anything
//! else is looked at; a public operation answers without credentials.

use reqwest::{Method, StatusCode};
use signet_api::Scope;
use signet_testkit::TestApp;

signet_testkit::on_both!(every_listed_endpoint_is_served_with_its_scope);

async fn every_listed_endpoint_is_served_with_its_scope(app: TestApp) -> anyhow::Result<()> {
    let endpoints = signet_api::endpoints();
    assert!(endpoints.iter().any(|e| e.dialect == "doclinc"));
    assert!(endpoints.iter().any(|e| e.dialect == "native"));
    for endpoint in endpoints {
        // Placeholders get values of the right shape where one is checked, anything otherwise.
        let path = endpoint
            .path
            .replace("{digest}", &"0".repeat(64))
            .replace("{email}", "nobody@example.com")
            .replace("{id}", "0");
        let method = Method::from_bytes(endpoint.method.as_bytes())?;
        let response = app.http.request(method, app.url(&path)).send().await?;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let what = format!("{} {} {}", endpoint.dialect, endpoint.method, endpoint.path);
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what} not routed");
        match endpoint.scope {
            Scope::Tenant => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
                let body: serde_json::Value = response.json().await?;
                match endpoint.dialect {
                    "native" => {
                        assert!(
                            content_type.starts_with("application/problem+json"),
                            "{what}"
                        );
                        assert_eq!(body["status"], 401, "{what}");
                    }
                    _ => assert!(body.is_object(), "{what}: {body}"),
                }
            }
            Scope::Public => {
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{what}");
                assert_ne!(status, StatusCode::NOT_FOUND, "{what} not routed");
                assert!(!status.is_server_error(), "{what}: {status}");
            }
            other => panic!("{what}: a scope this test does not know: {other:?}"),
        }
    }
    Ok(())
}
