//! Secrets never reach the server log. A real `signet serve`, logging everything it can
//! (`SIGNET_LOG=trace`, as text and as JSON), carries two deliveries from creation to download:
//! a tenant's API calls with bearer tokens (one of them replayed), the presigned uploads, and
//! recipients who open their links, prove who they are — an SMS code, a secret answer, each
//! wrong once then right — and download with the session cookie; then wrong and malformed links.
//! Its whole output must hold none of the secrets that went by: link tokens, session cookies,
//! codes and answers, upload signatures, the tenant's API key and token signatures, and the
//! document itself.

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use serde_json::{Value, json};
use signet_testkit::phone::PhoneCapture;

const PHONE: &str = "+18191234567";
const DOCUMENT: &[u8] = b"%PDF-1.7 payslip 7f3c9e1d-never-logged\n%%EOF\n";
const DOCUMENT_MARKER: &str = "7f3c9e1d-never-logged";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `signet serve` whose stdout and stderr go to files, killed if the test ends early.
struct Server {
    child: Child,
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Nothing to do when `stop` already reaped it; otherwise no process is left behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(dir: &Path, port: u16, log_format: &str, sms_url: &str) -> anyhow::Result<Self> {
        let stdout = dir.join("serve.stdout");
        let stderr = dir.join("serve.stderr");
        // Files, not pipes: a trace-level server fills a pipe nobody reads and then blocks.
        let child = Command::new(env!("CARGO_BIN_EXE_signet"))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("SIGNET_LOG", "trace")
            .env("SIGNET_LOG_FORMAT", log_format)
            .env("SIGNET_SMS_URL", sms_url)
            // Plain text, so that colour codes cannot split what the assertions look for.
            .env("NO_COLOR", "1")
            .env_remove("SIGNET_DATABASE_URL")
            .env_remove("SIGNET_SMS_TOKEN")
            .stdout(std::fs::File::create(&stdout)?)
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()?;
        Ok(Self {
            child,
            stdout,
            stderr,
        })
    }

    /// Waits until the server answers, failing early with its output if it exited instead.
    async fn wait_until_serving(
        &mut self,
        http: &reqwest::Client,
        base: &str,
    ) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if let Ok(response) = http.get(format!("{base}/healthz")).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "signet serve exited with {status}:\n{}",
                    std::fs::read_to_string(&self.stderr)?
                );
            }
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(30),
                "{base} never answered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the server as an operator would (SIGTERM, graceful shutdown) and returns everything
    /// it wrote.
    fn stop(mut self) -> anyhow::Result<String> {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)?;
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(20),
                "signet serve did not stop within 20 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let output =
            std::fs::read_to_string(&self.stdout)? + &std::fs::read_to_string(&self.stderr)?;
        anyhow::ensure!(
            status.success(),
            "signet serve exited with {status}:\n{output}"
        );
        Ok(output)
    }
}

/// Creates a self-sending tenant with the operator's command line: its id and API key.
fn create_tenant(dir: &Path) -> anyhow::Result<(String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["tenant", "create", "--name", "Acme Payroll", "--json"])
        .env("SIGNET_LOG", "warn")
        .env_remove("SIGNET_DATABASE_URL")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tenant: Value = serde_json::from_slice(&out.stdout)?;
    let field = |name: &str| tenant[name].as_str().unwrap_or_default().to_owned();
    Ok((field("tenantId"), field("apiKey")))
}

/// The secrets a journey handled, by name, to look for in the log.
struct Secrets(Vec<(&'static str, String)>);

impl Secrets {
    fn add(&mut self, name: &'static str, value: impl Into<String>) {
        let value = value.into();
        assert!(
            value.len() >= 6,
            "{name} is too short to search for: {value:?}"
        );
        self.0.push((name, value));
    }
}

/// `name=value` out of a `Set-Cookie` header.
fn cookie_pair(response: &reqwest::Response) -> Option<String> {
    let header = response.headers().get(SET_COOKIE)?.to_str().ok()?;
    header.split(';').next().map(str::to_owned)
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap_or(0);
    format!("{:06}", (n + 1) % 1_000_000)
}

fn document_href(body: &str) -> Option<String> {
    let anchor = "class=\"download\" href=\"";
    let start = body.find(anchor)? + anchor.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

/// The tenant's side of a delivery, as a doclinc client does it: create, upload through the
/// presigned URL, confirm.
struct Tenant<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    id: String,
    api_key: String,
}

impl Tenant<'_> {
    /// A fresh bearer token; its signature is recorded as a secret.
    fn bearer(&self, secrets: &mut Secrets) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = signet_testkit::jwt::hs256(
            &json!({"alg": "HS256", "typ": "JWT"}),
            &signet_testkit::jwt::claims(&self.id, now, now + 600),
            self.api_key.as_bytes(),
        );
        let signature = token.rsplit('.').next().unwrap_or_default();
        secrets.add("a tenant bearer token's signature", signature);
        token
    }

    /// Delivers `DOCUMENT` to the one recipient of `body`; returns the recipient's link.
    async fn deliver(
        &self,
        path: &str,
        body: Value,
        secrets: &mut Secrets,
    ) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.bearer(secrets))
            .json(&body)
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::CREATED, "{path}");
        let created: Value = response.json().await?;
        let upload = created["sendTransaction"]["documents"][0]["url"]
            .as_str()
            .expect("an upload URL");
        let upload_signature = reqwest::Url::parse(upload)?
            .query_pairs()
            .find(|(name, _)| name == "signature")
            .map(|(_, value)| value.into_owned())
            .expect("a signature in the upload URL");
        secrets.add("an upload URL's signature", upload_signature);
        let link = created["banner"]
            .as_str()
            .expect("a self-send banner")
            .split("href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a link in the banner")
            .to_owned();
        let (_, link_token) = link.rsplit_once("/r/").expect("a portal link");
        assert_eq!(link_token.len(), 43, "{link}");
        secrets.add("a link token", link_token);

        let put = self.http.put(upload).body(DOCUMENT).send().await?;
        assert_eq!(put.status(), StatusCode::OK, "{}", put.text().await?);
        let confirm = created["commands"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["rel"] == "Confirm"))
            .and_then(|c| c["href"].as_str())
            .expect("a Confirm command");
        self.http
            .post(format!("{}{confirm}", self.base))
            .bearer_auth(self.bearer(secrets))
            .send()
            .await?
            .error_for_status()?;
        Ok(link)
    }
}

/// After a successful proof: the session cookie (a secret), the documents page, the download.
async fn download_with_session(
    http: &reqwest::Client,
    base: &str,
    link: &str,
    accepted: &reqwest::Response,
    secrets: &mut Secrets,
) -> anyhow::Result<()> {
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_pair(accepted).expect("a session cookie");
    let (_, session) = cookie.split_once('=').expect("name=value");
    secrets.add("a session cookie", session);
    let documents = http.get(link).header("Cookie", &cookie).send().await?;
    assert_eq!(documents.status(), StatusCode::OK);
    let href = document_href(&documents.text().await?).expect("a download link");
    let download = http
        .get(format!("{base}{href}"))
        .header("Cookie", &cookie)
        .send()
        .await?;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await?.as_ref(), DOCUMENT);
    Ok(())
}

/// Runs deliveries and recipients' visits against a server logging in `log_format`; returns the
/// server's whole output and the secrets that went by.
async fn journey(log_format: &str) -> anyhow::Result<(String, Secrets)> {
    let dir = tempfile::tempdir()?;
    let (tenant_id, api_key) = create_tenant(dir.path())?;
    let mut secrets = Secrets(Vec::new());
    secrets.add("the tenant API key", api_key.clone());
    secrets.add("the document's content", DOCUMENT_MARKER);

    let phone = PhoneCapture::start().await?;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server::start(dir.path(), port, log_format, phone.url())?;
    // No redirects followed: the recipient's client keeps the cookie by hand.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    server.wait_until_serving(&http, &base).await?;
    let tenant = Tenant {
        http: &http,
        base: &base,
        id: tenant_id,
        api_key,
    };

    // By SMS: open, ask for a code, a wrong code, the right one, the documents.
    let cells = json!({
        "contacts": [{
            "recipientEmail": "r@example.com",
            "recipientIsoCountryCode": "CA",
            "recipientCell": "8191234567",
            "authenticationMethod": "sms"
        }],
        "documents": [{"name": "a.pdf"}]
    });
    let link = tenant
        .deliver("/transactions/cells", cells, &mut secrets)
        .await?;
    let landing = http.get(&link).send().await?;
    assert_eq!(landing.status(), StatusCode::OK);
    let sent = http.post(format!("{link}/code")).send().await?;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let message = phone
        .wait_for_message(PHONE, Duration::from_secs(15))
        .await?;
    let code = message.code().expect("a code in the SMS");
    let wrong_code = wrong(&code);
    secrets.add("the SMS code", code.clone());
    secrets.add("a wrong code typed", wrong_code.clone());
    let refused = http
        .post(format!("{link}/verify"))
        .form(&[("code", &wrong_code)])
        .send()
        .await?;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let accepted = http
        .post(format!("{link}/verify"))
        .form(&[("code", &code)])
        .send()
        .await?;
    download_with_session(&http, &base, &link, &accepted, &mut secrets).await?;
    let answer_on_sms = http
        .post(format!("{link}/answer"))
        .form(&[("answer", "Qx7-answer-on-an-sms-link")])
        .send()
        .await?;
    assert!(answer_on_sms.status().is_client_error());
    secrets.add(
        "an answer typed on an SMS link",
        "Qx7-answer-on-an-sms-link",
    );

    // By secret answer: a wrong answer, the right one, the documents.
    let right_answer = "EMP-7Q4K2-00142";
    let wrong_answer = "EMP-7Q4K2-00143";
    secrets.add("the secret answer", right_answer);
    secrets.add("a wrong answer typed", wrong_answer);
    let by_secret = json!({
        "secretQuestion": "Employee number?",
        "contacts": [{"recipientEmail": "s@example.com", "secretAnswer": right_answer}],
        "documents": [{"name": "b.pdf"}]
    });
    let secret_link = tenant
        .deliver("/transactions/secrets", by_secret, &mut secrets)
        .await?;
    let refused = http
        .post(format!("{secret_link}/answer"))
        .form(&[("answer", wrong_answer)])
        .send()
        .await?;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let accepted = http
        .post(format!("{secret_link}/answer"))
        .form(&[("answer", right_answer)])
        .send()
        .await?;
    download_with_session(&http, &base, &secret_link, &accepted, &mut secrets).await?;

    // A replayed bearer token is refused, and the refusal is logged.
    let token = tenant.bearer(&mut secrets);
    let contact = format!("{base}/transactions/contacts/r@example.com");
    let first = http.get(&contact).bearer_auth(&token).send().await?;
    assert_eq!(first.status(), StatusCode::OK);
    let replayed = http.get(&contact).bearer_auth(&token).send().await?;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);

    // Wrong and malformed links, some carrying the real token.
    let guessed = "A".repeat(21) + "guessedTokenNotReal";
    let guessed = format!("{guessed}{}", "Z".repeat(43 - guessed.len()));
    secrets.add("a guessed token", guessed.clone());
    let (_, link_token) = link.rsplit_once("/r/").expect("a portal link");
    let short = &link_token[..30];
    secrets.add("a truncated real token", short);
    let probes = [
        (format!("{base}/r/{guessed}"), StatusCode::NOT_FOUND),
        (format!("{base}/r/{short}"), StatusCode::NOT_FOUND),
        (format!("{link}x"), StatusCode::NOT_FOUND),
        // A token that does not even decode is as unknown as any other: "not valid".
        (format!("{link}%FF"), StatusCode::NOT_FOUND),
        (format!("{link}/nothing-here"), StatusCode::NOT_FOUND),
        (format!("{link}/verify"), StatusCode::METHOD_NOT_ALLOWED),
        (
            format!("{link}/documents/not-a-document"),
            StatusCode::NOT_FOUND,
        ),
        (format!("{base}/r/"), StatusCode::NOT_FOUND),
    ];
    for (url, expected) in probes {
        let status = http.get(&url).send().await?.status();
        assert_eq!(status, expected, "GET {url}");
    }
    let garbled = http
        .post(format!("{link}/verify"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("code=%ZZ{code}&code"))
        .send()
        .await?;
    assert!(garbled.status().is_client_error(), "{}", garbled.status());
    let guessed_verify = http
        .post(format!("{base}/r/{guessed}/verify"))
        .form(&[("code", &code)])
        .send()
        .await?;
    assert_eq!(guessed_verify.status(), StatusCode::NOT_FOUND);

    drop(http);
    let output = server.stop()?;
    Ok((output, secrets))
}

/// Where `secret` occurs in `log`. A six-digit code only counts where it stands alone: not
/// within a longer number, and not as the fraction of a timestamp or a duration (`.123456`),
/// which would make the test fail by chance.
fn occurrences(log: &str, secret: &str) -> Vec<usize> {
    let numeric = secret.bytes().all(|b| b.is_ascii_digit());
    log.match_indices(secret)
        .map(|(at, _)| at)
        .filter(|&at| {
            if !numeric {
                return true;
            }
            let before = log[..at].bytes().next_back();
            let after = log[at + secret.len()..].bytes().next();
            !before.is_some_and(|b| b.is_ascii_digit() || b == b'.')
                && !after.is_some_and(|b| b.is_ascii_digit())
        })
        .collect()
}

/// The lines of `log` holding each leaked secret, as a readable report.
fn leaks(log: &str, secrets: &Secrets) -> Vec<String> {
    let mut found = Vec::new();
    for (name, secret) in &secrets.0 {
        let places = occurrences(log, secret);
        if places.is_empty() {
            continue;
        }
        let mut lines: Vec<&str> = places
            .iter()
            .map(|&at| {
                let start = log[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = log[at..].find('\n').map_or(log.len(), |i| at + i);
                &log[start..end]
            })
            .collect();
        lines.dedup();
        lines.truncate(3);
        found.push(format!(
            "{name} ({secret}) appears {} time(s), e.g.:\n    {}",
            places.len(),
            lines.join("\n    ")
        ));
    }
    found
}

fn check(log: &str, secrets: &Secrets, route: impl Fn(&str) -> String, trace_level: &str) {
    // Logging was on, at trace level, with a span for each kind of request made.
    assert!(log.contains(trace_level), "no trace-level line in:\n{log}");
    assert!(
        log.contains("jti already used"),
        "the refused token was logged"
    );
    for template in [
        "/transactions/cells",
        "/transactions/secrets",
        "/uploads/{document}",
        "/r/{token}",
        "/r/{token}/code",
        "/r/{token}/verify",
        "/r/{token}/answer",
        "/r/{token}/documents/{document}",
        "<unmatched>",
    ] {
        let wanted = route(template);
        assert!(log.contains(&wanted), "no request logged with {wanted}");
    }
    let leaks = leaks(log, secrets);
    assert!(
        leaks.is_empty(),
        "secrets in the server log ({} bytes):\n{}",
        log.len(),
        leaks.join("\n")
    );
}

#[tokio::test]
async fn text_logs_hold_no_secrets() -> anyhow::Result<()> {
    let (log, secrets) = journey("text").await?;
    check(&log, &secrets, |t| format!("route={t}"), " TRACE ");
    Ok(())
}

#[tokio::test]
async fn json_logs_hold_no_secrets() -> anyhow::Result<()> {
    let (log, secrets) = journey("json").await?;
    check(
        &log,
        &secrets,
        |t| format!("\"route\":\"{t}\""),
        "\"level\":\"TRACE\"",
    );
    Ok(())
}

#[test]
fn the_leak_finder_finds_leaks_and_ignores_digits_by_chance() {
    let mut secrets = Secrets(Vec::new());
    secrets.add("a code", "123456");
    secrets.add("a token", "abcDEF_-ghi");
    let clean = "2026-11-23T15:34:04.123456Z DEBUG elapsed=0.000123456 latency=1123456 ms abcDEF";
    assert!(
        leaks(clean, &secrets).is_empty(),
        "{:?}",
        leaks(clean, &secrets)
    );
    for leaky in [
        "code=123456",
        r#"{"fields":{"body":"Your code is 123456."}}"#,
        "uri=/r/abcDEF_-ghi/verify",
    ] {
        assert_eq!(leaks(leaky, &secrets).len(), 1, "{leaky}");
    }
}
