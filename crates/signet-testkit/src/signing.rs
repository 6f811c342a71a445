//! Helpers the signing tests share: the sender as a caller of the core, signers of a draft,
//! screenshots of a journey, waiting for a page in the browser and validating a signed PDF.

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

/// Checks a signed PDF with pyHanko (each of the `signatures` intact, trusted against the
/// instance root as `/v1/pki/root.pem` serves it, time-stamped, revocation checked against the
/// app's CRL) and `pdfsig`, and that the typed `names` are on its pages.
pub async fn validate(
    app: &TestApp,
    pdf: &[u8],
    signatures: usize,
    names: &[&str],
) -> anyhow::Result<()> {
    check_signed_pdf(app, pdf, signatures, names, false).await
}

/// [`validate`] at the app's clock rather than the machine's, for tests that moved the clock
/// ahead (certificates issued for an act are not yet valid by the machine's time). Revocation is
/// not checked then: pyHanko fetches no revocation information for a time other than now.
pub async fn validate_at_app_time(
    app: &TestApp,
    pdf: &[u8],
    signatures: usize,
    names: &[&str],
) -> anyhow::Result<()> {
    check_signed_pdf(app, pdf, signatures, names, true).await
}

async fn check_signed_pdf(
    app: &TestApp,
    pdf: &[u8],
    signatures: usize,
    names: &[&str],
    at_app_time: bool,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("result.pdf");
    std::fs::write(&path, pdf)?;
    let root = app
        .http
        .get(app.url("/v1/pki/root.pem"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let root_path = dir.path().join("root.pem");
    std::fs::write(&root_path, root)?;
    // Keeps the checked file for a look by hand (with the root it was checked against).
    if let Ok(keep) = std::env::var("SIGNET_KEEP_RESULT") {
        std::fs::copy(&path, &keep)?;
        std::fs::copy(&root_path, format!("{keep}.root.pem"))?;
    }
    let pyhanko = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/pyhanko");
    let mut command = std::process::Command::new(pyhanko);
    command.args(["sign", "adesverify"]);
    if at_app_time {
        // pyHanko fetches no revocation information for a time other than now.
        let at = app
            .core
            .now()
            .format(&time::format_description::well_known::Rfc3339)?;
        command.args(["--validation-time", &at, "--no-revocation-check"]);
    }
    let out = command
        .args(["--trust-replace", "--trust"])
        .arg(&root_path)
        .arg(&path)
        .output()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pyHanko: {text}");
    assert!(
        !text.contains("UNTRUSTED") && !text.contains("ILLEGAL"),
        "{text}"
    );
    assert_eq!(
        text.matches("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
            .count(),
        signatures,
        "every signer intact, trusted, time-stamped: {text}"
    );
    let out = std::process::Command::new("pdfsig").arg(&path).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("Signature Validation: Signature is Valid.")
            .count(),
        signatures,
        "every signer: {text}"
    );
    assert!(text.contains("Total document signed"), "{text}");
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    for name in names {
        assert!(text.contains(name), "{name} in {text}");
    }
    Ok(())
}

/// Reads a blob stream (a result, a certificate) to the end.
pub async fn collect(mut stream: signet_core::blob::ByteStream) -> anyhow::Result<Vec<u8>> {
    use futures::StreamExt as _;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    Ok(bytes)
}
