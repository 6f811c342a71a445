//! The recipient portal in headless Chromium, on SQLite + local blobs and on PostgreSQL + S3: a
//! recipient opens their link, proves who they are by SMS code, voice code or secret answer, and
//! downloads exactly the bytes that were uploaded; wrong codes, the lock, the resend limit,
//! expired, single-use and cancelled links show their pages. Codes come from the capture server
//! playing the SMS provider. Each page is saved as a screenshot under `target/screenshots/`.

use std::time::Duration as StdDuration;

use serde_json::json;
use signet_testkit::browser::Browser;
use signet_testkit::delivery::{Delivery, cancel, deliver};
use signet_testkit::phone::PhoneCapture;
use signet_testkit::{Backend, TestApp, TestOptions, TestTenant};

const PHONE: &str = "+18191234567";

macro_rules! browser_scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {$(
            #[tokio::test]
            async fn $name() -> anyhow::Result<()> {
                let Some(setup) = super::Setup::start(signet_testkit::Backend::Sqlite).await? else { return Ok(()) };
                super::$name(setup).await
            }
        )*}
        mod postgres_s3 {$(
            #[tokio::test]
            async fn $name() -> anyhow::Result<()> {
                let Some(setup) = super::Setup::start(signet_testkit::Backend::Postgres).await? else { return Ok(()) };
                super::$name(setup).await
            }
        )*}
    };
}

browser_scenarios!(
    sms_journey_with_a_wrong_code_and_a_single_use_link,
    voice_journey_and_the_resend_limit,
    secret_journey_then_expiry,
    lockout_and_cancellation,
);

struct Setup {
    app: TestApp,
    phone: PhoneCapture,
    browser: Browser,
    backend: &'static str,
}

impl Setup {
    async fn start(backend: Backend) -> anyhow::Result<Option<Self>> {
        let phone = PhoneCapture::start().await?;
        let options = TestOptions {
            sms_url: Some(phone.url().to_owned()),
            ..TestOptions::default()
        };
        let Some(app) = TestApp::spawn_with(backend, options).await? else {
            return Ok(None);
        };
        let Some(browser) = Browser::start().await? else {
            return Ok(None);
        };
        let backend = match backend {
            Backend::Sqlite => "sqlite",
            _ => "postgres",
        };
        Ok(Some(Self {
            app,
            phone,
            browser,
            backend,
        }))
    }

    async fn screenshot(&self, page: &str) -> anyhow::Result<()> {
        let path = self
            .browser
            .screenshot(&format!("portal-{page}-{}", self.backend))
            .await?;
        let png = std::fs::read(&path)?;
        assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", path.display());
        Ok(())
    }

    /// Runs the code-sending jobs until the phone has received `messages` in all (the click
    /// that asked for the code may still be on its way), and reads the newest code.
    async fn code(&self, messages: usize) -> anyhow::Result<String> {
        let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
        loop {
            self.app.run_jobs().await?;
            let received = self.phone.messages_to(PHONE);
            if received.len() >= messages {
                return received
                    .last()
                    .and_then(|m| m.code())
                    .ok_or_else(|| anyhow::anyhow!("no code in {received:?}"));
            }
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "{} message(s) to {PHONE}, wanted {messages}",
                received.len()
            );
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }

    async fn page(&self) -> anyhow::Result<String> {
        self.browser.page_source().await
    }

    /// Clicks the first document's link and returns the downloaded bytes.
    async fn download(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        self.browser.click("a.download").await?;
        let path = self
            .browser
            .wait_for_download(name, StdDuration::from_secs(10))
            .await?;
        Ok(std::fs::read(path)?)
    }
}

async fn cells(
    app: &TestApp,
    method: &str,
    reusable: bool,
    language: &str,
    document: (&str, &[u8]),
) -> anyhow::Result<(TestTenant, Delivery)> {
    let tenant = app.tenant().await?;
    let body = json!({
        "transactionType": "send",
        "transactionLanguageRef": language,
        "subjectLanguageRef": language,
        "linkExpirationDays": 7,
        "isLinkReusable": reusable,
        "isEventNotificationEnabled": false,
        "contacts": [{
            "recipientEmail": "recipient@example.com",
            "recipientIsoCountryCode": "CA",
            "recipientCell": "8191234567",
            "authenticationMethod": method
        }],
        "documents": [{ "name": document.0 }]
    });
    let delivery = deliver(
        app,
        &tenant,
        "/transactions/cells",
        &body,
        &[document.1.to_vec()],
    )
    .await?;
    Ok((tenant, delivery))
}

/// Bytes that survive no accidental transformation: every byte value, then some random ones.
fn binary_document() -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..=255).collect();
    bytes.extend((0..200_000).map(|_| rand::random::<u8>()));
    bytes
}

async fn sms_journey_with_a_wrong_code_and_a_single_use_link(s: Setup) -> anyhow::Result<()> {
    let uploaded = binary_document();
    let (_, delivery) = cells(
        &s.app,
        "sms",
        false,
        "EN",
        ("payslip-2026-01.pdf", &uploaded),
    )
    .await?;
    let browser = &s.browser;
    browser.goto(&delivery.links[0]).await?;
    let landing = s.page().await?;
    assert!(landing.contains("Acme Payroll") && landing.contains("payslip-2026-01.pdf"));
    assert!(landing.contains("text message"), "{landing}");
    s.screenshot("sms").await?;

    browser.submit("#send-code").await?;
    let code = s.code(1).await?;
    browser.find("#code").await?;
    s.screenshot("sms-code").await?;
    let wrong = format!("{:06}", (code.parse::<u32>()? + 1) % 1_000_000);
    browser.fill("#code", &wrong).await?;
    browser.submit("#verify").await?;
    let refused = s.page().await?;
    assert!(
        refused.contains("This code is not the right one."),
        "{refused}"
    );
    assert!(!refused.contains("class=\"download\""));
    s.screenshot("sms-wrong-code").await?;

    browser.fill("#code", &code).await?;
    browser.submit("#verify").await?;
    browser.find("a.download").await?;
    assert!(s.page().await?.contains("Your documents"));
    s.screenshot("download").await?;
    let downloaded = s.download("payslip-2026-01.pdf").await?;
    assert!(
        downloaded == uploaded,
        "the downloaded bytes are the uploaded bytes"
    );
    let cookies = browser.cookies().await?;
    let session = cookies
        .iter()
        .find(|c| c.name() == "signet_session")
        .expect("the session cookie");
    assert_eq!(session.http_only(), Some(true));

    // A single-use link: without the session, the link says it was used.
    browser.client().delete_all_cookies().await?;
    browser.goto(&delivery.links[0]).await?;
    let used = s.page().await?;
    assert!(used.contains("This link was already used"), "{used}");
    assert!(!used.contains("send-code"));
    s.screenshot("used").await?;
    Ok(())
}

async fn voice_journey_and_the_resend_limit(s: Setup) -> anyhow::Result<()> {
    let uploaded = b"%PDF-1.7 contrat\n%%EOF\n".to_vec();
    let (_, delivery) = cells(&s.app, "voice", true, "FR", ("contrat.pdf", &uploaded)).await?;
    let browser = &s.browser;
    browser.goto(&delivery.links[0]).await?;
    assert!(s.page().await?.contains("nous allons vous appeler"));
    s.screenshot("voice").await?;
    browser.submit("#send-code").await?;
    s.code(1).await?;
    // Ask for a new code until the limit: five codes in all.
    for sent in 2..=5 {
        browser.submit("#resend").await?;
        s.code(sent).await?;
    }
    let page = s.page().await?;
    assert!(
        !page.contains("id=\"resend\""),
        "no more codes can be asked for"
    );
    assert!(
        page.contains("Nouveaux codes encore disponibles : 0"),
        "{page}"
    );
    s.screenshot("resend-limit").await?;
    let messages = s.phone.messages_to(PHONE);
    assert_eq!(messages.len(), 5);
    assert!(messages.iter().all(|m| m.channel == "voice"));
    let newest = messages.last().and_then(|m| m.code()).unwrap_or_default();
    browser.fill("#code", &newest).await?;
    browser.submit("#verify").await?;
    browser.find("a.download").await?;
    assert!(s.download("contrat.pdf").await? == uploaded);
    Ok(())
}

async fn secret_journey_then_expiry(s: Setup) -> anyhow::Result<()> {
    let tenant = s.app.tenant().await?;
    let uploaded = binary_document();
    let body = json!({
        "transactionType": "send",
        "transactionLanguageRef": "EN",
        "subjectLanguageRef": "EN",
        "linkExpirationDays": 3,
        "isLinkReusable": true,
        "secretQuestion": "What is your employee number?",
        "isEventNotificationEnabled": false,
        "contacts": [{ "recipientEmail": "recipient@example.com", "secretAnswer": "EMP-00142" }],
        "documents": [{ "name": "bonus letter.pdf" }]
    });
    let delivery = deliver(
        &s.app,
        &tenant,
        "/transactions/secrets",
        &body,
        std::slice::from_ref(&uploaded),
    )
    .await?;
    let browser = &s.browser;
    browser.goto(&delivery.links[0]).await?;
    assert!(s.page().await?.contains("What is your employee number?"));
    s.screenshot("secret").await?;
    browser.fill("#answer", "EMP-00143").await?;
    browser.submit("#verify").await?;
    assert!(
        s.page()
            .await?
            .contains("This answer is not the right one.")
    );
    browser.fill("#answer", "  emp-00142  ").await?;
    browser.submit("#verify").await?;
    browser.find("a.download").await?;
    assert!(s.download("bonus letter.pdf").await? == uploaded);

    // Three days later the link has expired, session or not.
    s.app
        .clock
        .advance(time::Duration::days(3) + time::Duration::seconds(1));
    browser.goto(&delivery.links[0]).await?;
    let expired = s.page().await?;
    assert!(expired.contains("This link has expired"), "{expired}");
    s.screenshot("expired").await?;
    Ok(())
}

async fn lockout_and_cancellation(s: Setup) -> anyhow::Result<()> {
    let (tenant, delivery) = cells(&s.app, "sms", true, "EN", ("a.pdf", b"a")).await?;
    let browser = &s.browser;
    browser.goto(&delivery.links[0]).await?;
    browser.submit("#send-code").await?;
    let code = s.code(1).await?;
    let wrong = format!("{:06}", (code.parse::<u32>()? + 7) % 1_000_000);
    for _ in 0..5 {
        browser.fill("#code", &wrong).await?;
        browser.submit("#verify").await?;
    }
    let locked = s.page().await?;
    assert!(locked.contains("This link is locked for now"), "{locked}");
    assert!(!locked.contains("id=\"code\""));
    s.screenshot("locked").await?;
    // Reloading does not unlock it, and the right code is no use any more.
    browser.goto(&delivery.links[0]).await?;
    assert!(s.page().await?.contains("locked"));

    cancel(&s.app, &tenant, &delivery).await?;
    browser.goto(&delivery.links[0]).await?;
    let cancelled = s.page().await?;
    assert!(
        cancelled.contains("This delivery was cancelled"),
        "{cancelled}"
    );
    s.screenshot("cancelled").await?;
    Ok(())
}
