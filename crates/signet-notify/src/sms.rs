//! SMS and voice messages through a phone provider.
//!
//! [`HttpProvider`] speaks one small JSON protocol that an operator can bridge to any SMS/voice
//! vendor: `POST <url>` with `{"to": "+E164", "channel": "sms"|"voice", "body": "…"}` and, when a
//! token is configured, `Authorization: Bearer <token>`. Any 2xx answer means accepted; anything
//! else, and any network failure, is a retryable [`SendError`]. [`LogProvider`] writes the message
//! to the log instead, for local development.
//!
//! [`sms_code_text`] and [`voice_code_text`] write the one-time code messages in each [`Lang`].

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;

use crate::Lang;

/// How the message reaches the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Channel {
    /// A text message.
    Sms,
    /// A phone call that reads the body aloud.
    Voice,
}

impl Channel {
    /// `sms` or `voice`, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Voice => "voice",
        }
    }
}

/// Why a message was not accepted by the provider.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The number is not in E.164 form (`+` then 2 to 15 digits, not starting with 0).
    #[error("not an E.164 phone number")]
    InvalidNumber,
    /// The provider answered with a status other than 2xx.
    #[error("phone provider answered HTTP {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
    /// The provider could not be reached or did not answer in time.
    #[error("phone provider unreachable: {0}")]
    Network(String),
    /// The provider is misconfigured (bad URL, HTTP client could not be built).
    #[error("phone provider misconfigured: {0}")]
    Config(String),
}

impl SendError {
    /// Whether sending again later can succeed: provider answers and network failures are
    /// retryable, a malformed number or configuration is not.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Status { .. } | Self::Network(_))
    }
}

/// Something that sends SMS and voice messages.
#[async_trait]
pub trait PhoneProvider: Send + Sync {
    /// Sends `body` to `to_e164` over `channel`; `Ok` once the provider accepted it.
    async fn send(&self, to_e164: &str, channel: Channel, body: &str) -> Result<(), SendError>;
}

/// Checks the E.164 shape: `+`, a non-zero digit, then 1 to 14 more digits.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

#[derive(Serialize)]
struct Payload<'a> {
    to: &'a str,
    channel: Channel,
    body: &'a str,
}

/// The HTTP provider adapter (see the module documentation for the protocol).
///
/// Its URL is configured by the operator, so it is not subject to the outbound target policy.
#[derive(Debug, Clone)]
pub struct HttpProvider {
    url: reqwest::Url,
    bearer_token: Option<SecretString>,
    client: reqwest::Client,
}

impl HttpProvider {
    /// Default time allowed for one request.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

    /// A provider that POSTs to `url`, with `Authorization: Bearer <token>` when a token is given.
    pub fn new(url: &str, bearer_token: Option<String>) -> Result<Self, SendError> {
        Self::with_timeout(url, bearer_token, Self::DEFAULT_TIMEOUT)
    }

    /// As [`Self::new`], with a timeout per request.
    pub fn with_timeout(
        url: &str,
        bearer_token: Option<String>,
        timeout: Duration,
    ) -> Result<Self, SendError> {
        let url = reqwest::Url::parse(url).map_err(|e| SendError::Config(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SendError::Config(format!(
                "unsupported scheme {:?}",
                url.scheme()
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Signet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SendError::Config(e.to_string()))?;
        Ok(Self {
            url,
            bearer_token: bearer_token.map(SecretString::from),
            client,
        })
    }
}

#[async_trait]
impl PhoneProvider for HttpProvider {
    async fn send(&self, to_e164: &str, channel: Channel, body: &str) -> Result<(), SendError> {
        if !is_e164(to_e164) {
            return Err(SendError::InvalidNumber);
        }
        let mut request = self.client.post(self.url.clone()).json(&Payload {
            to: to_e164,
            channel,
            body,
        });
        if let Some(token) = &self.bearer_token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request
            .send()
            .await
            .map_err(|e| SendError::Network(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError::Status {
                status: status.as_u16(),
            })
        }
    }
}

/// Writes each message to the log (`tracing`, INFO, target `signet_notify::sms`) instead of
/// sending it. For local development only: the log then holds the codes.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogProvider;

#[async_trait]
impl PhoneProvider for LogProvider {
    async fn send(&self, to_e164: &str, channel: Channel, body: &str) -> Result<(), SendError> {
        if !is_e164(to_e164) {
            return Err(SendError::InvalidNumber);
        }
        tracing::info!(
            to = to_e164,
            channel = channel.as_str(),
            body,
            "phone message (log provider, not sent)"
        );
        Ok(())
    }
}

/// A one-time code that is not exactly six ASCII digits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a one-time code is exactly six digits")]
pub struct InvalidCode;

fn check_code(code: &str) -> Result<(), InvalidCode> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(InvalidCode)
    }
}

/// The SMS carrying a 6-digit code that is valid for `valid_minutes`.
pub fn sms_code_text(lang: Lang, code: &str, valid_minutes: u32) -> Result<String, InvalidCode> {
    check_code(code)?;
    Ok(match lang {
        Lang::Fr => format!(
            "Votre code de vérification : {code}. Il est valable {valid_minutes} minutes. \
             Ne le communiquez à personne."
        ),
        Lang::En => format!(
            "Your verification code: {code}. It is valid for {valid_minutes} minutes. \
             Do not share it with anyone."
        ),
    })
}

/// The text a voice call reads aloud: the code's digits one by one, separated by commas so that
/// speech synthesis pauses between them, said twice.
pub fn voice_code_text(lang: Lang, code: &str) -> Result<String, InvalidCode> {
    check_code(code)?;
    let spaced = code
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(", ");
    Ok(match lang {
        Lang::Fr => format!(
            "Bonjour. Votre code de vérification est : {spaced}. \
             Je répète : {spaced}. Au revoir."
        ),
        Lang::En => format!(
            "Hello. Your verification code is: {spaced}. \
             I repeat: {spaced}. Goodbye."
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164() {
        assert!(is_e164("+33612345678"));
        assert!(is_e164("+12"));
        assert!(!is_e164("33612345678"));
        assert!(!is_e164("+0612345678"));
        assert!(!is_e164("+3361234567890123"));
        assert!(!is_e164("+33 6 12"));
        assert!(!is_e164("+"));
    }

    #[test]
    fn code_texts() {
        assert_eq!(
            voice_code_text(Lang::En, "048213").as_deref(),
            Ok("Hello. Your verification code is: 0, 4, 8, 2, 1, 3. \
                I repeat: 0, 4, 8, 2, 1, 3. Goodbye.")
        );
        assert_eq!(
            voice_code_text(Lang::Fr, "048213").as_deref(),
            Ok(
                "Bonjour. Votre code de vérification est : 0, 4, 8, 2, 1, 3. \
                Je répète : 0, 4, 8, 2, 1, 3. Au revoir."
            )
        );
        let fr = sms_code_text(Lang::Fr, "048213", 10).expect("fr");
        assert!(fr.contains("048213") && fr.contains("10 minutes"), "{fr}");
        let en = sms_code_text(Lang::En, "048213", 10).expect("en");
        assert!(en.starts_with("Your verification code: 048213."), "{en}");
        assert_eq!(sms_code_text(Lang::En, "12345", 10), Err(InvalidCode));
        assert_eq!(voice_code_text(Lang::En, "12345a"), Err(InvalidCode));
        assert_eq!(voice_code_text(Lang::En, "١٢٣٤٥٦"), Err(InvalidCode));
    }
}
