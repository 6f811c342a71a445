//! Helpers the signing tests share: the sender as a caller of the core, signers of a draft,
//! screenshots of a journey and waiting for a page in the browser.

use signet_core::ids::TenantId;
use signet_core::model::Actor;
use signet_core::ports::Caller;
use signet_core::signing::lifecycle::DraftParticipant;
use signet_core::signing::{AuthMethod, EnvelopeView, Role};

use crate::browser::{Browser, ELEMENT_TIMEOUT};
use crate::{Backend, TestApp, TestTenant};

/// The backend's name in screenshot names.
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        _ => "postgres",
    }
}

/// The tenant as the sender calling the core directly (what the native API would resolve).
pub async fn caller(app: &TestApp, tenant: &TestTenant) -> anyhow::Result<Caller> {
    let id: TenantId = tenant.id.parse()?;
    let tenant = app
        .store
        .tenant(&id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no tenant"))?;
    Ok(Caller {
        actor: Actor::Tenant {
            tenant_id: tenant.id.to_upper_hex(),
            dialect: "native".into(),
            credential: None,
        },
        tenant,
        ip: None,
    })
}

/// A signer reached by e-mail (and by phone for the phone methods), after `after`.
pub fn person(key: &str, auth: AuthMethod, after: &[&str]) -> DraftParticipant {
    DraftParticipant {
        key: key.parse().expect("key"),
        name: format!("Person {key}").parse().expect("name"),
        email: Some(format!("{key}@example.com").parse().expect("email")),
        phone: matches!(auth, AuthMethod::SmsCode | AuthMethod::VoiceCode)
            .then(|| signet_core::values::Phone::from_national("CA", "8191234567").expect("phone")),
        role: Role::Signer,
        auth,
        language: None,
        after: after.iter().map(|k| k.parse().expect("key")).collect(),
    }
}

/// The envelope as it is now.
pub async fn reload(
    app: &TestApp,
    tenant: &TestTenant,
    view: &EnvelopeView,
) -> anyhow::Result<EnvelopeView> {
    let caller = caller(app, tenant).await?;
    Ok(app.core.sign_envelope(&caller, &view.envelope.id).await?)
}

/// Screenshots of one journey, named `<prefix>-<page>`.
pub struct Screens<'a> {
    /// The browser to photograph.
    pub browser: &'a Browser,
    /// What every name of this journey starts with.
    pub prefix: String,
}

impl Screens<'_> {
    /// Saves the page as `<prefix>-<page>.png` and checks that it is a PNG.
    pub async fn shot(&self, page: &str) -> anyhow::Result<()> {
        let path = self
            .browser
            .screenshot(&format!("{}-{page}", self.prefix))
            .await?;
        let png = std::fs::read(&path)?;
        assert!(png.starts_with(b"\x89PNG"), "{} is a PNG", path.display());
        Ok(())
    }
}

/// The page once it shows `needle` and its scripts ran (a click's navigation may still be on
/// its way). The bound is the browser's element timeout: under CI's load a debug build renders
/// a page in seconds.
pub async fn wait_for(browser: &Browser, needle: &str) -> anyhow::Result<String> {
    wait_for_within(browser, needle, ELEMENT_TIMEOUT).await
}

/// [`wait_for`] with its own bound. The error names the page the browser was on and the start
/// of its text, so a failure in CI says what was shown instead.
pub async fn wait_for_within(
    browser: &Browser,
    needle: &str,
    bound: std::time::Duration,
) -> anyhow::Result<String> {
    let deadline = std::time::Instant::now() + bound;
    let mut page = String::new();
    while std::time::Instant::now() < deadline {
        page = browser.page_source().await?;
        if page.contains(needle) {
            browser.wait_until_loaded().await?;
            return Ok(page);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let url = browser.current_url().await?;
    let text = browser.text_of("body").await.unwrap_or_default();
    let shown: String = text.chars().take(400).collect();
    anyhow::bail!(
        "the page never showed {needle:?}: at {url} ({} bytes), it reads {shown:?}",
        page.len()
    )
}
