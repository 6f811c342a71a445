//! The native API's OpenAPI document and its docs page, through the real router: served without
//! credentials, every `/v1` operation the server lists is in the document (so a new route
//! without documentation fails here), and the document is frozen as an `insta` snapshot
//! (`snapshots/openapi_document.snap`): any change to an operation or a wire type shows as a diff
//! to review with `cargo insta review`. An independent validator (`openapi-spec-validator`,
//! PyPI) checks that the document is valid OpenAPI 3.1.

use reqwest::StatusCode;
use serde_json::Value;
use signet_testkit::{Backend, TestApp};

async fn app() -> anyhow::Result<Option<TestApp>> {
    // The document does not depend on the store: one backend is enough.
    TestApp::spawn(Backend::Sqlite).await
}

async fn document(app: &TestApp) -> anyhow::Result<Value> {
    let response = app.http.get(app.url("/v1/openapi.json")).send().await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    Ok(response.json().await?)
}

#[tokio::test]
async fn every_v1_operation_is_in_the_document() -> anyhow::Result<()> {
    let Some(app) = app().await? else {
        return Ok(());
    };
    let document = document(&app).await?;
    assert_eq!(document["openapi"], "3.1.0");
    let mut checked = 0;
    for endpoint in signet_api::endpoints() {
        if !endpoint.path.starts_with("/v1/") {
            continue;
        }
        let method = endpoint.method.to_ascii_lowercase();
        let operation = &document["paths"][endpoint.path][&method];
        assert!(
            operation.is_object(),
            "{} {} is served but not documented",
            endpoint.method,
            endpoint.path
        );
        // What the document says about credentials is what the server enforces.
        let documented_basic = operation["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("basic").is_some()));
        assert_eq!(
            documented_basic,
            endpoint.scope == signet_api::Scope::Tenant,
            "{} {}",
            endpoint.method,
            endpoint.path
        );
        // Every operation documents its responses and the problem it answers when it fails.
        assert!(
            operation["responses"]["500"].is_object(),
            "{}",
            endpoint.path
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} operations checked");
    // And nothing is documented that is not served.
    let served: Vec<(String, String)> = signet_api::endpoints()
        .into_iter()
        .map(|e| (e.method.to_ascii_lowercase(), e.path.to_owned()))
        .collect();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, _) in item.as_object().into_iter().flatten() {
            assert!(
                served.contains(&(method.clone(), path.clone())),
                "{method} {path} is documented but not served"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_document_is_frozen() -> anyhow::Result<()> {
    let Some(app) = app().await? else {
        return Ok(());
    };
    let document = document(&app).await?;
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_json_snapshot!("openapi_document", document));
    Ok(())
}

#[tokio::test]
async fn the_docs_page_is_self_contained_and_complete() -> anyhow::Result<()> {
    let Some(app) = app().await? else {
        return Ok(());
    };
    let document = document(&app).await?;
    let response = app.http.get(app.url("/v1/docs")).send().await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let csp = response.headers()["content-security-policy"]
        .to_str()?
        .to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let html = response.text().await?;
    assert!(!html.contains("<script"), "no script");
    for attribute in ["src=\"http", "href=\"http", "href=\"//", "src=\"//"] {
        assert!(!html.contains(attribute), "an outside asset: {attribute}");
    }
    // Every operation, parameter and schema of the document is on the page.
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let heading = format!("{} {path}", method.to_ascii_uppercase());
            assert!(html.contains(&heading), "{heading}");
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap_or_default();
                assert!(
                    html.contains(&format!("<code>{name}</code>")),
                    "{heading}: {name}"
                );
            }
        }
    }
    for (name, _) in document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        assert!(html.contains(&format!("id=\"schema-{name}\"")), "{name}");
    }
    // The same page without credentials and from a browser: nothing asks for a login.
    let again = app.http.get(app.url("/v1/docs")).send().await?;
    assert_eq!(again.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn an_independent_validator_accepts_the_document() -> anyhow::Result<()> {
    let Some(python) = signet_testkit::smtp::venv_python_with("openapi_spec_validator") else {
        return Ok(());
    };
    let Some(app) = app().await? else {
        return Ok(());
    };
    let text = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await?
        .text()
        .await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, text)?;
    let script = "import json, sys\n\
                  from openapi_spec_validator import validate, OpenAPIV31SpecValidator\n\
                  validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n\
                  print('valid')";
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(&path)
        .output()?;
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");
    Ok(())
}
