//! The browser harness against a tiny local site: a form to fill and submit, and a download
//! that needs the session cookie.

use std::time::Duration;

use axum::Form;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use signet_testkit::browser::{Browser, BrowserOptions};

const REPORT: &[u8] = b"%PDF-1.7\nnot really a PDF, but bytes to compare\n";

#[derive(serde::Deserialize)]
struct Greeting {
    name: String,
}

async fn form_page() -> impl IntoResponse {
    (
        [(header::SET_COOKIE, "session=s3cret; Path=/; HttpOnly")],
        Html(
            r#"<!doctype html><meta name="viewport" content="width=device-width">
            <form method="post" action="/greet">
              <input id="name" name="name" value="placeholder">
              <button id="send" type="submit">Send</button>
            </form>
            <a id="report" href="/report">Report</a>"#,
        ),
    )
}

async fn greet(Form(greeting): Form<Greeting>) -> Html<String> {
    let name = greeting
        .name
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Html(format!(
        r#"<!doctype html><p id="result">Hello, {name}!</p>"#
    ))
}

async fn report(headers: HeaderMap) -> axum::response::Response {
    let has_session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split("; ").any(|c| c == "session=s3cret"));
    if !has_session {
        return StatusCode::FORBIDDEN.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (
                header::CONTENT_DISPOSITION,
                r#"attachment; filename="report.pdf""#,
            ),
        ],
        REPORT,
    )
        .into_response()
}

/// Serves the site on a free port; returns its base URL.
async fn site() -> anyhow::Result<String> {
    let app = axum::Router::new()
        .route("/", get(form_page))
        .route("/greet", axum::routing::post(greet))
        .route("/report", get(report));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

#[tokio::test]
async fn fills_and_submits_a_form_and_takes_a_screenshot() -> anyhow::Result<()> {
    let Some(browser) = Browser::start().await? else {
        return Ok(());
    };
    let base = site().await?;
    browser.goto(&base).await?;
    // The page lays out in a phone-sized viewport, narrower than any headless window can be.
    let size = browser
        .client()
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await?;
    let phone = BrowserOptions::PHONE;
    assert_eq!(size, serde_json::json!([phone.width, phone.height]));

    browser.fill("#name", "Ada <Lovelace>").await?;
    browser.submit("#send").await?;
    assert_eq!(browser.text_of("#result").await?, "Hello, Ada <Lovelace>!");
    assert_eq!(browser.current_url().await?.path(), "/greet");
    assert!(browser.page_source().await?.contains("&lt;Lovelace&gt;"));

    let path = browser.screenshot("browser-smoke-form").await?;
    let png = std::fs::read(&path)?;
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    // The IHDR chunk, first after the signature, starts with the width and height.
    assert_eq!(
        png.get(16..24),
        Some(&[0, 0, 1, 134, 0, 0, 3, 76][..]),
        "390 × 844"
    );
    browser.close().await
}

#[tokio::test]
async fn downloads_by_click_and_by_fetching_with_the_cookies() -> anyhow::Result<()> {
    let Some(browser) = Browser::start_with(BrowserOptions::DESKTOP).await? else {
        return Ok(());
    };
    let base = site().await?;
    browser.goto(&base).await?;

    let cookie = browser.cookie_header().await?;
    assert_eq!(cookie, "session=s3cret");
    let http = reqwest::Client::new();
    let fetched = http
        .get(format!("{base}/report"))
        .header(header::COOKIE, &cookie)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    assert_eq!(fetched.as_ref(), REPORT);
    let anonymous = http.get(format!("{base}/report")).send().await?;
    assert_eq!(anonymous.status(), StatusCode::FORBIDDEN);

    browser.click("#report").await?;
    let saved = browser
        .wait_for_download("report.pdf", Duration::from_secs(10))
        .await?;
    assert!(saved.starts_with(browser.downloads_dir()));
    assert_eq!(std::fs::read(&saved)?, REPORT);
    // Dropped rather than closed: the blocking clean-up path must end Chromium too.
    drop(browser);
    Ok(())
}
