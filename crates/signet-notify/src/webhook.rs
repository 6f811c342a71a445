//! Webhooks following the [Standard Webhooks](https://www.standardwebhooks.com/) convention.
//!
//! Each delivery carries three headers:
//!
//! - `webhook-id`: the message id, the same on every retry of one event (receivers de-duplicate
//!   with it);
//! - `webhook-timestamp`: Unix seconds of this attempt;
//! - `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret,
//!   separated by spaces, so that during a secret rotation receivers holding either secret
//!   accept the delivery.
//!
//! A secret is `whsec_` followed by the standard base64 of the key bytes (24 to 64 of them);
//! [`generate_secret`] makes 32 random bytes.
//!
//! Retrying is the caller's policy: the job worker follows `signet_core::webhooks::delivery_backoff`
//! (over three days), then dead-letters the message.

use std::io;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;

use crate::target::{self, TargetError, TargetPolicy, ValidatedTarget};

/// The prefix of every webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Header carrying the message id.
pub const HEADER_ID: &str = "webhook-id";
/// Header carrying the attempt's Unix timestamp (seconds).
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying the space-separated `v1,…` signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

const MIN_KEY_LEN: usize = 24;
const MAX_KEY_LEN: usize = 64;
const GENERATED_KEY_LEN: usize = 32;

/// A malformed webhook secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret does not start with `whsec_`.
    #[error("a webhook secret starts with \"whsec_\"")]
    MissingPrefix,
    /// The part after `whsec_` is not standard base64.
    #[error("the webhook secret is not valid base64")]
    Base64,
    /// The decoded key is shorter than 24 or longer than 64 bytes.
    #[error("the webhook secret's key must be 24 to 64 bytes long, not {0}")]
    Length(usize),
}

/// A parsed webhook secret, ready to sign. Its `Debug` output shows no key material.
#[derive(Clone)]
pub struct WebhookSecret {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    /// Parses `whsec_<base64>`.
    pub fn parse(secret: &str) -> Result<Self, SecretError> {
        let encoded = secret
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = B64.decode(encoded).map_err(|_| SecretError::Base64)?;
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
            .map_err(|_| SecretError::Length(key.len()))?;
        Ok(Self { mac })
    }

    /// `v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
    }
}

/// Signs one message with one secret; see [`WebhookSecret::sign`].
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secret.sign(msg_id, timestamp, body)
}

/// A new secret: `whsec_` + base64 of 32 random bytes from the operating system's generator
/// (through `rand`'s thread-local CSPRNG, seeded from the OS).
pub fn generate_secret() -> String {
    let mut key = [0u8; GENERATED_KEY_LEN];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", B64.encode(key))
}

/// The three Standard Webhooks headers of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeaders {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`: one `v1,…` per secret, space-separated.
    pub signature: String,
}

impl WebhookHeaders {
    /// Signs `body` with every secret in `secrets` (current first, then those being rotated out).
    pub fn new(secrets: &[WebhookSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> Self {
        let signature = secrets
            .iter()
            .map(|s| s.sign(msg_id, timestamp, body))
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            id: msg_id.to_owned(),
            timestamp: timestamp.to_string(),
            signature,
        }
    }

    /// The headers as (name, value) pairs.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            (HEADER_ID, &self.id),
            (HEADER_TIMESTAMP, &self.timestamp),
            (HEADER_SIGNATURE, &self.signature),
        ]
    }
}

/// One webhook message to deliver: the exact JSON bytes that are signed and sent.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The message id (`webhook-id`), stable across retries.
    pub msg_id: &'a str,
    /// Unix seconds of this attempt (`webhook-timestamp`).
    pub timestamp: i64,
    /// The JSON body.
    pub body: &'a [u8],
    /// The secrets to sign with (several during a rotation).
    pub secrets: &'a [WebhookSecret],
}

/// Why a delivery attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The target URL is refused by the outbound policy, or its host did not resolve.
    #[error("target refused: {0}")]
    Target(#[from] TargetError),
    /// No secret to sign with.
    #[error("no webhook secret to sign with")]
    NoSecret,
    /// The receiver answered with a status other than 2xx.
    #[error("receiver answered HTTP {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// The receiver's host refused the connection.
    #[error("connection refused")]
    ConnectionRefused,
    /// Any other network or TLS failure.
    #[error("network error: {0}")]
    Network(String),
}

impl DeliveryError {
    /// Whether the delivery should be retried later rather than dead-lettered
    /// at once: network failures, timeouts, resolution failures and any non-2xx answer are;
    /// a refused target or a missing secret is not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Target(e) => e.is_retryable(),
            Self::NoSecret => false,
            Self::Status { .. } | Self::Timeout | Self::ConnectionRefused | Self::Network(_) => {
                true
            }
        }
    }
}

/// Delivers webhooks: validates the target, pins the connection to the checked addresses, signs,
/// POSTs and classifies the outcome.
#[derive(Debug, Clone)]
pub struct Deliverer {
    policy: TargetPolicy,
    timeout: Duration,
}

impl Deliverer {
    /// A deliverer that applies `policy` to every target and gives each attempt `timeout` in all.
    pub fn new(policy: TargetPolicy, timeout: Duration) -> Self {
        Self { policy, timeout }
    }

    /// Validates `url` and POSTs `delivery` to it; `Ok` on any 2xx answer.
    pub async fn deliver(&self, url: &str, delivery: &Delivery<'_>) -> Result<(), DeliveryError> {
        if delivery.secrets.is_empty() {
            return Err(DeliveryError::NoSecret);
        }
        let target = target::validate(url, self.policy).await?;
        self.deliver_to(&target, delivery).await
    }

    /// POSTs `delivery` to an already validated target.
    pub async fn deliver_to(
        &self,
        target: &ValidatedTarget,
        delivery: &Delivery<'_>,
    ) -> Result<(), DeliveryError> {
        if delivery.secrets.is_empty() {
            return Err(DeliveryError::NoSecret);
        }
        let client = target.pinned_client(self.timeout)?;
        let headers = WebhookHeaders::new(
            delivery.secrets,
            delivery.msg_id,
            delivery.timestamp,
            delivery.body,
        );
        let mut request = client
            .post(target.url().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(delivery.body.to_vec());
        for (name, value) in headers.pairs() {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(classify_reqwest_error)?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(DeliveryError::Status {
                status: status.as_u16(),
            })
        }
    }
}

fn classify_reqwest_error(error: reqwest::Error) -> DeliveryError {
    if error.is_timeout() {
        return DeliveryError::Timeout;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused => return DeliveryError::ConnectionRefused,
                io::ErrorKind::TimedOut => return DeliveryError::Timeout,
                _ => {}
            }
        }
        source = e.source();
    }
    DeliveryError::Network(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's reference tests.
    #[test]
    fn known_signature() {
        let secret =
            WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let sig = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets() {
        let s = generate_secret();
        assert!(s.starts_with(SECRET_PREFIX));
        assert!(WebhookSecret::parse(&s).is_ok());
        assert_ne!(s, generate_secret());
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").err(),
            Some(SecretError::MissingPrefix)
        );
        assert_eq!(
            WebhookSecret::parse("whsec_not base64!").err(),
            Some(SecretError::Base64)
        );
        assert_eq!(
            WebhookSecret::parse("whsec_AAAA").err(),
            Some(SecretError::Length(3))
        );
        assert!(!format!("{:?}", WebhookSecret::parse(&s)).contains(&s[6..]));
    }

    #[test]
    fn rotation_signs_with_every_secret() {
        let a = WebhookSecret::parse(&generate_secret()).expect("a");
        let b = WebhookSecret::parse(&generate_secret()).expect("b");
        let h = WebhookHeaders::new(&[a.clone(), b.clone()], "msg_1", 42, b"{}");
        let parts: Vec<&str> = h.signature.split(' ').collect();
        assert_eq!(
            parts,
            [a.sign("msg_1", 42, b"{}"), b.sign("msg_1", 42, b"{}")]
        );
        assert_ne!(parts[0], parts[1]);
    }

    /// The connection goes to the pinned address even though the name cannot resolve
    /// (`.invalid` never does): DNS is not consulted again at connect time.
    #[tokio::test]
    async fn connects_to_the_pinned_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let (mut sock, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 4096];
            let n = sock.read(&mut buf).await.expect("read");
            sock.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .await
                .expect("write");
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let url =
            url::Url::parse(&format!("http://rebind.invalid:{}/hook", addr.port())).expect("url");
        let target = ValidatedTarget::pinned_for_test(url, vec![addr]);
        let secret = WebhookSecret::parse(&generate_secret()).expect("secret");
        let deliverer = Deliverer::new(TargetPolicy::default(), Duration::from_secs(5));
        let delivery = Delivery {
            msg_id: "msg_pin",
            timestamp: 1,
            body: b"{}",
            secrets: std::slice::from_ref(&secret),
        };
        deliverer
            .deliver_to(&target, &delivery)
            .await
            .expect("delivered to the pinned address");
        let request = server.await.expect("server");
        assert!(request.starts_with("POST /hook HTTP/1.1\r\n"), "{request}");
        assert!(
            request
                .to_ascii_lowercase()
                .contains("host: rebind.invalid")
        );
    }
}
