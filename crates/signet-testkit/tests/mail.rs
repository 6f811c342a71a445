//! Platform e-mail end to end: a tenant not in self-send mode confirms, and each recipient gets
//! the invitation with a link of their own through a real SMTP server (aiosmtpd, PyPI).

use serde_json::{Value, json};
use signet_core::model::Feature;
use signet_testkit::smtp::{SmtpServer, venv_python_with};
use signet_testkit::{Backend, TestApp, TestOptions};

/// Every received message as `{to, subject, text}`.
fn received(smtp: &SmtpServer) -> anyhow::Result<Vec<Value>> {
    Ok(smtp
        .messages()?
        .into_iter()
        .map(|m| json!({"to": m.to, "subject": m.subject, "text": m.text}))
        .collect())
}

async fn each_recipient_is_mailed_a_link_of_their_own(backend: Backend) -> anyhow::Result<()> {
    let Some(python) = venv_python_with("aiosmtpd") else {
        return Ok(());
    };
    let smtp = SmtpServer::start(&python, None).await?;
    let options = TestOptions {
        mail: Some((
            format!("smtp://127.0.0.1:{}", smtp.port),
            "Signet <no-reply@signet.test>".into(),
        )),
        ..TestOptions::default()
    };
    let Some(app) = TestApp::spawn_with(backend, options).await? else {
        return Ok(());
    };
    let tenant = app.tenant_with(&Feature::ALL, 1 << 20, false).await?;
    let body = json!({
        "subjectLanguageRef": "FR",
        "contacts": [
            {"recipientEmail": "alice@example.com", "recipientIsoCountryCode": "CA", "recipientCell": "8191234567"},
            {"recipientEmail": "bob@example.com", "recipientIsoCountryCode": "CA", "recipientCell": "8197654321", "authenticationMethod": "voice"}
        ],
        "documents": [{"name": "bulletin-janvier.pdf"}]
    });
    let created: Value = app
        .http
        .post(app.url("/transactions/cells"))
        .header("Authorization", tenant.bearer())
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    assert!(
        created.get("banner").is_none(),
        "Signet sends the e-mail itself"
    );
    let upload = created["sendTransaction"]["documents"][0]["url"]
        .as_str()
        .unwrap_or_default();
    app.http
        .put(upload)
        .body("pdf")
        .send()
        .await?
        .error_for_status()?;
    assert!(received(&smtp)?.is_empty(), "nothing before confirmation");
    let confirm = created["commands"][0]["href"].as_str().unwrap_or_default();
    app.http
        .post(app.url(confirm))
        .header("Authorization", tenant.bearer())
        .send()
        .await?
        .error_for_status()?;
    assert_eq!(
        app.run_jobs().await?,
        3,
        "one invitation job per recipient, and the upload's hash job"
    );

    let mut mails = received(&smtp)?;
    mails.sort_by_key(|m| m["to"].as_str().unwrap_or_default().to_owned());
    assert_eq!(mails.len(), 2, "{mails:?}");
    let mut links = Vec::new();
    for (mail, to) in mails.iter().zip(["alice@example.com", "bob@example.com"]) {
        assert!(mail["to"].as_str().unwrap_or_default().contains(to));
        let text = mail["text"].as_str().unwrap_or_default();
        assert!(text.contains("bulletin-janvier.pdf"), "{text}");
        assert!(text.contains("Acme Payroll"), "{text}");
        let link = text
            .split_whitespace()
            .find(|w| w.starts_with(&format!("{}/r/", app.base_url)))
            .unwrap_or_else(|| panic!("no link in {text}"))
            .to_owned();
        links.push(link);
    }
    assert_ne!(links[0], links[1], "each recipient has a link of their own");
    // Following a link opens that recipient's page on the portal, in their language.
    for link in &links {
        let page = app.http.get(link).send().await?;
        assert_eq!(page.status(), reqwest::StatusCode::OK);
        let html = page.text().await?;
        assert!(html.contains("Acme Payroll") && html.contains("bulletin-janvier.pdf"));
        assert!(html.contains("lang=\"fr\""), "{html}");
    }
    assert!(
        app.http
            .get(&links[0])
            .send()
            .await?
            .text()
            .await?
            .contains("SMS")
    );
    assert!(
        app.http
            .get(&links[1])
            .send()
            .await?
            .text()
            .await?
            .contains("appeler")
    );
    // Only the links' hashes are stored, and every send is recorded.
    let id = confirm.rsplit('/').next().unwrap_or_default().parse()?;
    let events = app.store.envelope_events(&tenant.id.parse()?, &id).await?;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind.as_str() == "invitation_sent")
            .count(),
        2
    );
    Ok(())
}

#[tokio::test]
async fn sqlite_each_recipient_is_mailed_a_link_of_their_own() -> anyhow::Result<()> {
    each_recipient_is_mailed_a_link_of_their_own(Backend::Sqlite).await
}

#[tokio::test]
async fn postgres_s3_each_recipient_is_mailed_a_link_of_their_own() -> anyhow::Result<()> {
    each_recipient_is_mailed_a_link_of_their_own(Backend::Postgres).await
}
