//! A stand-in for the SMS/voice provider: a local HTTP server speaking the protocol of
//! [`signet_notify::sms::HttpProvider`] that keeps every message it accepts, so a test can read
//! the one-time code a recipient would have received.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use signet_testkit::phone::PhoneCapture;
//!
//! let phone = PhoneCapture::start().await?;
//! // … configure the app's phone provider with `phone.url()`, ask for a code …
//! let message = phone.wait_for_message("+33612345678", Duration::from_secs(5)).await?;
//! let code = message.code().expect("a code in the message");
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use tokio::sync::watch;

/// One message the provider accepted, as it came over the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMessage {
    /// The recipient's number, as sent (E.164 when the sender is right).
    pub to: String,
    /// `sms` or `voice`, as sent.
    pub channel: String,
    /// The text to deliver or to read aloud.
    pub body: String,
    /// The `Authorization` header, when there was one (`Bearer <token>`).
    pub authorization: Option<String>,
}

impl CapturedMessage {
    /// The six-digit code in the body (see [`extract_code`]).
    pub fn code(&self) -> Option<String> {
        extract_code(&self.body)
    }
}

/// The first run of exactly six digits in `text`, where digits may be separated by spaces,
/// commas or hyphens: SMS bodies carry `048213`, voice bodies spell it `0, 4, 8, 2, 1, 3` so
/// speech synthesis pauses between digits. Any other character (a full stop included) ends a run,
/// so "048213. It is valid for 10 minutes" yields `048213`.
pub fn extract_code(text: &str) -> Option<String> {
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else if matches!(c, ' ' | '\u{a0}' | ',' | '-') {
            continue;
        } else if run.len() == 6 {
            return Some(run);
        } else {
            run.clear();
        }
    }
    (run.len() == 6).then_some(run)
}

/// The wire format of a provider request. Unknown fields are refused so that a change to the
/// real protocol fails the tests instead of slipping past them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    to: String,
    channel: String,
    body: String,
}

struct Shared {
    messages: watch::Sender<Vec<CapturedMessage>>,
    requests: AtomicUsize,
    fail_next: AtomicUsize,
}

/// A running capture server on `127.0.0.1`, stopped when dropped.
pub struct PhoneCapture {
    url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for PhoneCapture {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl PhoneCapture {
    /// Starts the server on a free port, on the current tokio runtime.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            messages: watch::Sender::new(Vec::new()),
            requests: AtomicUsize::new(0),
            fail_next: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .route("/messages", axum::routing::post(receive))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("phone capture server stopped: {e}");
            }
        });
        Ok(Self {
            url: format!("http://{addr}/messages"),
            shared,
            server,
        })
    }

    /// The URL to configure as the phone provider's endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every accepted message, oldest first.
    pub fn messages(&self) -> Vec<CapturedMessage> {
        self.shared.messages.borrow().clone()
    }

    /// The accepted messages sent to `to`, oldest first.
    pub fn messages_to(&self, to: &str) -> Vec<CapturedMessage> {
        self.shared
            .messages
            .borrow()
            .iter()
            .filter(|m| m.to == to)
            .cloned()
            .collect()
    }

    /// How many requests arrived, including those answered with an error.
    pub fn request_count(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The code in the latest message to `to`; `None` when there is no message to `to` or the
    /// latest holds no code.
    pub fn latest_code(&self, to: &str) -> Option<String> {
        self.messages_to(to).last()?.code()
    }

    /// Answers the next `n` requests with `503 Service Unavailable` (without keeping their
    /// messages), as a provider having an outage would, to exercise retries.
    pub fn fail_next(&self, n: usize) {
        self.shared.fail_next.store(n, Ordering::SeqCst);
    }

    /// The latest message to `to`, waiting up to `timeout` for one to arrive.
    pub async fn wait_for_message(
        &self,
        to: &str,
        timeout: Duration,
    ) -> anyhow::Result<CapturedMessage> {
        let mut messages = self.wait_for_messages(to, 1, timeout).await?;
        messages.pop().context("a message was just counted")
    }

    /// All messages to `to` once there are at least `count`, waiting up to `timeout` (for
    /// example the second code after a resend).
    pub async fn wait_for_messages(
        &self,
        to: &str,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<CapturedMessage>> {
        let mut updates = self.shared.messages.subscribe();
        let enough =
            |all: &Vec<CapturedMessage>| all.iter().filter(|m| m.to == to).count() >= count;
        match tokio::time::timeout(timeout, updates.wait_for(enough)).await {
            Ok(Ok(_)) => Ok(self.messages_to(to)),
            // The sender lives in `self`, so it cannot be gone while we borrow `self`.
            Ok(Err(_)) => anyhow::bail!("phone capture stopped"),
            Err(_) => anyhow::bail!(
                "{} message(s) to {to} after {timeout:?}, wanted {count}; all received: {:?}",
                self.messages_to(to).len(),
                self.messages()
            ),
        }
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let failing = shared
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        eprintln!("phone capture: refused a request without a JSON content type");
        return StatusCode::UNSUPPORTED_MEDIA_TYPE;
    }
    let payload: Payload = match serde_json::from_str(&body) {
        Ok(payload) => payload,
        Err(e) => {
            eprintln!("phone capture: refused a malformed message ({e}): {body}");
            return StatusCode::BAD_REQUEST;
        }
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    shared.messages.send_modify(|all| {
        all.push(CapturedMessage {
            to: payload.to,
            channel: payload.channel,
            body: payload.body,
            authorization,
        })
    });
    StatusCode::OK
}

#[cfg(test)]
mod tests {
    use signet_notify::Lang;
    use signet_notify::sms::{Channel, HttpProvider, PhoneProvider as _, SendError};

    use super::*;

    const TO: &str = "+33612345678";
    const WAIT: Duration = Duration::from_secs(5);

    #[test]
    fn codes_are_found_in_both_message_kinds_and_languages() -> anyhow::Result<()> {
        for lang in [Lang::En, Lang::Fr] {
            let sms = signet_notify::sms::sms_code_text(lang, "048213", 10)?;
            assert_eq!(extract_code(&sms).as_deref(), Some("048213"), "{sms}");
            let voice = signet_notify::sms::voice_code_text(lang, "902117")?;
            assert_eq!(extract_code(&voice).as_deref(), Some("902117"), "{voice}");
        }
        assert_eq!(extract_code("code 123456").as_deref(), Some("123456"));
        assert_eq!(extract_code("code 12345, valid 10 minutes"), None);
        assert_eq!(extract_code("code 1234567"), None);
        assert_eq!(extract_code("call +33 6 12 34 56 78"), None);
        assert_eq!(
            extract_code("1 document, code: 123-456.").as_deref(),
            Some("123456")
        );
        Ok(())
    }

    #[tokio::test]
    async fn captures_what_the_http_provider_sends() -> anyhow::Result<()> {
        let phone = PhoneCapture::start().await?;
        let with_token = HttpProvider::new(phone.url(), Some("s3cret".into()))?;
        let sms = signet_notify::sms::sms_code_text(Lang::En, "048213", 10)?;
        with_token.send(TO, Channel::Sms, &sms).await?;
        let anonymous = HttpProvider::new(phone.url(), None)?;
        let voice = signet_notify::sms::voice_code_text(Lang::Fr, "902117")?;
        anonymous.send(TO, Channel::Voice, &voice).await?;

        assert_eq!(
            phone.messages(),
            vec![
                CapturedMessage {
                    to: TO.into(),
                    channel: "sms".into(),
                    body: sms,
                    authorization: Some("Bearer s3cret".into()),
                },
                CapturedMessage {
                    to: TO.into(),
                    channel: "voice".into(),
                    body: voice,
                    authorization: None,
                },
            ]
        );
        assert_eq!(phone.latest_code(TO).as_deref(), Some("902117"));
        assert_eq!(phone.latest_code("+33700000000"), None);
        assert_eq!(phone.request_count(), 2);
        Ok(())
    }

    #[tokio::test]
    async fn failing_requests_are_retryable_and_not_kept() -> anyhow::Result<()> {
        let phone = PhoneCapture::start().await?;
        let provider = HttpProvider::new(phone.url(), None)?;
        phone.fail_next(2);
        for _ in 0..2 {
            let err = provider
                .send(TO, Channel::Sms, "code 111111")
                .await
                .expect_err("the capture answers 503");
            assert!(
                matches!(err, SendError::Status { status: 503 }) && err.is_retryable(),
                "{err:?}"
            );
        }
        provider.send(TO, Channel::Sms, "code 222222").await?;
        assert_eq!(phone.request_count(), 3);
        assert_eq!(phone.messages().len(), 1);
        assert_eq!(phone.latest_code(TO).as_deref(), Some("222222"));
        Ok(())
    }

    #[tokio::test]
    async fn waits_for_messages_that_arrive_later() -> anyhow::Result<()> {
        let phone = PhoneCapture::start().await?;
        let provider = HttpProvider::new(phone.url(), None)?;
        let sender = tokio::spawn(async move {
            for code in ["333333", "444444"] {
                tokio::time::sleep(Duration::from_millis(50)).await;
                provider
                    .send(TO, Channel::Sms, &format!("code {code}"))
                    .await?;
            }
            Ok::<_, SendError>(())
        });
        let both = phone.wait_for_messages(TO, 2, WAIT).await?;
        assert_eq!(
            both.iter().map(CapturedMessage::code).collect::<Vec<_>>(),
            [Some("333333".to_owned()), Some("444444".to_owned())]
        );
        assert_eq!(
            phone.wait_for_message(TO, WAIT).await?.code().as_deref(),
            Some("444444")
        );
        sender.await??;

        let missing = phone
            .wait_for_message("+15550100", Duration::from_millis(100))
            .await;
        assert!(missing.is_err(), "{missing:?}");
        Ok(())
    }

    #[tokio::test]
    async fn malformed_requests_are_refused() -> anyhow::Result<()> {
        let phone = PhoneCapture::start().await?;
        let http = reqwest::Client::new();
        let missing_body = http
            .post(phone.url())
            .json(&serde_json::json!({"to": TO, "channel": "sms"}))
            .send()
            .await?;
        assert_eq!(missing_body.status(), reqwest::StatusCode::BAD_REQUEST);
        let extra_field = http
            .post(phone.url())
            .json(&serde_json::json!({"to": TO, "channel": "sms", "body": "x", "from": "y"}))
            .send()
            .await?;
        assert_eq!(extra_field.status(), reqwest::StatusCode::BAD_REQUEST);
        let not_json = http.post(phone.url()).body("to=x").send().await?;
        assert_eq!(
            not_json.status(),
            reqwest::StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert!(phone.messages().is_empty());
        assert_eq!(phone.request_count(), 3);
        Ok(())
    }
}
