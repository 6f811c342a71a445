//! E-mail over SMTP.
//!
//! [`MailSettings::from_url`] reads the relay from one URL (grammar below); [`Mailer`] sends a
//! [`Message`] as `multipart/alternative` (plain text, then HTML) through lettre over rustls.
//! Callers depend on the [`MailTransport`] trait so that tests and other transports can stand in.
//! [`templates`] renders the messages themselves.
//!
//! # SMTP URL grammar
//!
//! ```text
//! smtp-url = scheme "://" [ user [ ":" password ] "@" ] host [ ":" port ] [ "/" ] [ "?tls=" mode ]
//! scheme   = "smtp" | "smtps" | "smtp+starttls"
//! mode     = "none" | "opportunistic" | "starttls" | "required"      ; only with "smtp"
//! ```
//!
//! | URL | TLS | default port |
//! |---|---|---|
//! | `smtp://host` or `smtp://host?tls=none` | none (plain text) | 25 |
//! | `smtp://host?tls=opportunistic` | STARTTLS if offered (not safe against an active attacker) | 25 |
//! | `smtp+starttls://host` or `smtp://host?tls=starttls` (alias `required`) | STARTTLS, required | 587 |
//! | `smtps://host` | implicit TLS from the first byte | 465 |
//!
//! `user` and `password` are percent-decoded (write `@` as `%40`). `host` is a name, an IPv4
//! address or a bracketed IPv6 address. Certificates are checked against the web PKI roots
//! (webpki-roots), plus any roots given to [`SmtpSettings::with_root_certificates_pem`] (a relay
//! with an internal CA), and the host name. Credentials are refused on a connection that is not
//! certainly encrypted (`none`, `opportunistic`) unless the host is loopback (`localhost`,
//! `127.0.0.0/8`, `::1`), so that a password is never sent in clear over a network. Any other
//! query parameter, a path, or a fragment is an error.

pub mod signing;
pub mod templates;

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret as _, SecretString};

/// How the SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// Plain text (local relays, tests).
    None,
    /// STARTTLS when the server offers it, plain text otherwise.
    Opportunistic,
    /// STARTTLS, and fail when the server does not offer it.
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Implicit,
}

impl TlsMode {
    fn default_port(self) -> u16 {
        match self {
            Self::None | Self::Opportunistic => 25,
            Self::StartTls => 587,
            Self::Implicit => 465,
        }
    }
}

/// A malformed mail configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailConfigError {
    /// The SMTP URL does not parse.
    #[error("invalid SMTP URL: {0}")]
    Url(String),
    /// A scheme other than `smtp`, `smtps`, `smtp+starttls`.
    #[error("unsupported SMTP URL scheme {0:?} (smtp, smtps, smtp+starttls)")]
    Scheme(String),
    /// A `tls` value that is not known, or that contradicts the scheme.
    #[error("invalid tls mode {0:?} (none, opportunistic, starttls; only with smtp://)")]
    TlsMode(String),
    /// A query parameter other than `tls`, a path or a fragment.
    #[error("unexpected part in the SMTP URL: {0}")]
    Unexpected(String),
    /// No host.
    #[error("the SMTP URL has no host")]
    MissingHost,
    /// A user name or password that is not UTF-8 once percent-decoded.
    #[error("the SMTP credentials are not valid UTF-8")]
    Credentials,
    /// Credentials would travel unencrypted to a host that is not loopback.
    #[error("refusing to send SMTP credentials without TLS to {0}")]
    CredentialsWithoutTls(String),
    /// The from address does not parse.
    #[error("invalid from address: {0}")]
    From(String),
    /// The extra root certificates are not PEM certificates.
    #[error("invalid root certificates: {0}")]
    RootCertificates(String),
}

/// Where and how to reach the SMTP relay. `Debug` does not show the password.
#[derive(Clone)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<(String, SecretString)>,
    timeout: Duration,
    extra_roots: Option<Certificate>,
}

impl SmtpSettings {
    /// Parses an SMTP URL (see the module documentation for the grammar).
    pub fn from_url(smtp_url: &str) -> Result<Self, MailConfigError> {
        let url = url::Url::parse(smtp_url).map_err(|e| MailConfigError::Url(e.to_string()))?;
        let mut tls = match url.scheme() {
            "smtp" => TlsMode::None,
            "smtps" => TlsMode::Implicit,
            "smtp+starttls" => TlsMode::StartTls,
            other => return Err(MailConfigError::Scheme(other.to_owned())),
        };
        for (key, value) in url.query_pairs() {
            if key != "tls" {
                return Err(MailConfigError::Unexpected(format!(
                    "query parameter {key:?}"
                )));
            }
            if url.scheme() != "smtp" {
                return Err(MailConfigError::TlsMode(value.into_owned()));
            }
            tls = match value.as_ref() {
                "none" => TlsMode::None,
                "opportunistic" => TlsMode::Opportunistic,
                "starttls" | "required" => TlsMode::StartTls,
                other => return Err(MailConfigError::TlsMode(other.to_owned())),
            };
        }
        if !matches!(url.path(), "" | "/") {
            return Err(MailConfigError::Unexpected(format!(
                "path {:?}",
                url.path()
            )));
        }
        if url.fragment().is_some() {
            return Err(MailConfigError::Unexpected("fragment".to_owned()));
        }
        let host = match url.host() {
            None => return Err(MailConfigError::MissingHost),
            Some(url::Host::Domain("")) => return Err(MailConfigError::MissingHost),
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
        };
        let port = url.port().unwrap_or(tls.default_port());
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| MailConfigError::Credentials)
        };
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let user = decode(url.username())?;
            let password = decode(url.password().unwrap_or_default())?;
            Some((user, SecretString::from(password)))
        };
        if credentials.is_some()
            && matches!(tls, TlsMode::None | TlsMode::Opportunistic)
            && !is_loopback_host(&host)
        {
            return Err(MailConfigError::CredentialsWithoutTls(host));
        }
        Ok(Self {
            host,
            port,
            tls,
            credentials,
            timeout: Duration::from_secs(30),
            extra_roots: None,
        })
    }

    /// The relay's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The relay's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the connection is encrypted.
    pub fn tls(&self) -> TlsMode {
        self.tls
    }

    /// The user name, when the relay needs authentication.
    pub fn username(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(user, _)| user.as_str())
    }

    /// Time allowed for each SMTP command (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Also trusts the CA certificates in `pem` (one or more `CERTIFICATE` blocks), for a relay
    /// whose certificate comes from an internal CA. The web PKI roots stay trusted.
    pub fn with_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, MailConfigError> {
        let marker = b"-----BEGIN CERTIFICATE-----";
        if !pem.windows(marker.len()).any(|w| w == marker) {
            return Err(MailConfigError::RootCertificates(
                "no PEM CERTIFICATE block".to_owned(),
            ));
        }
        let certificate = Certificate::from_pem(pem)
            .map_err(|e| MailConfigError::RootCertificates(e.to_string()))?;
        self.extra_roots = Some(certificate);
        Ok(self)
    }
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username())
            .field("timeout", &self.timeout)
            .field("extra_roots", &self.extra_roots.is_some())
            .finish()
    }
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// The relay and the sender address.
#[derive(Debug, Clone)]
pub struct MailSettings {
    smtp: SmtpSettings,
    from: Mailbox,
}

impl MailSettings {
    /// Reads the relay from `smtp_url` and the sender from `from` (`addr@example.com` or
    /// `Name <addr@example.com>`).
    pub fn from_url(smtp_url: &str, from: &str) -> Result<Self, MailConfigError> {
        Self::new(SmtpSettings::from_url(smtp_url)?, from)
    }

    /// The relay given as settings, and the sender from `from`.
    pub fn new(smtp: SmtpSettings, from: &str) -> Result<Self, MailConfigError> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| MailConfigError::From(e.to_string()))?;
        Ok(Self { smtp, from })
    }

    /// See [`SmtpSettings::with_root_certificates_pem`].
    pub fn with_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, MailConfigError> {
        self.smtp = self.smtp.with_root_certificates_pem(pem)?;
        Ok(self)
    }

    /// The SMTP relay.
    pub fn smtp(&self) -> &SmtpSettings {
        &self.smtp
    }

    /// Time allowed for each SMTP command (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.smtp.timeout = timeout;
        self
    }

    /// The sender, as it appears in `From:`.
    pub fn from_address(&self) -> String {
        self.from.to_string()
    }
}

/// One e-mail to one recipient, with a plain-text and an HTML version of the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The recipient, `addr@example.com` or `Name <addr@example.com>`.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The HTML body (a complete document, inline styles only).
    pub html: String,
    /// The plain-text body.
    pub text: String,
}

/// Why an e-mail was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The recipient address does not parse.
    #[error("invalid recipient address: {0}")]
    InvalidRecipient(String),
    /// The message could not be assembled.
    #[error("could not build the message: {0}")]
    Build(String),
    /// The TLS parameters could not be built.
    #[error("could not set up TLS: {0}")]
    Tls(String),
    /// The SMTP exchange failed.
    #[error("SMTP failure: {message}")]
    Smtp {
        /// Whether the server refused for good (5xx); otherwise retrying may help.
        permanent: bool,
        /// What went wrong.
        message: String,
    },
}

impl MailError {
    /// Whether sending again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Smtp {
                permanent: false,
                ..
            }
        )
    }
}

/// Something that sends e-mail.
#[async_trait]
pub trait MailTransport: Send + Sync {
    /// Sends `message`; `Ok` once the relay accepted it.
    async fn send(&self, message: &Message) -> Result<(), MailError>;
}

/// Sends e-mail through an SMTP relay.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `settings`. Nothing is connected until the first message.
    pub fn new(settings: &MailSettings) -> Result<Self, MailError> {
        let smtp = &settings.smtp;
        let params = || {
            let mut builder = TlsParameters::builder(smtp.host.clone());
            if let Some(roots) = &smtp.extra_roots {
                builder = builder.add_root_certificate(roots.clone());
            }
            builder
                .build_rustls()
                .map_err(|e| MailError::Tls(e.to_string()))
        };
        let tls = match smtp.tls {
            TlsMode::None => Tls::None,
            TlsMode::Opportunistic => Tls::Opportunistic(params()?),
            TlsMode::StartTls => Tls::Required(params()?),
            TlsMode::Implicit => Tls::Wrapper(params()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(smtp.timeout));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            from: settings.from.clone(),
            transport: builder.build(),
        })
    }
}

/// The MIME message: `From`, `To`, `Subject`, `Date`, `Message-ID`, and a `multipart/alternative`
/// body with the text part first (clients show the last part they understand).
fn build_email(from: &Mailbox, message: &Message) -> Result<lettre::Message, MailError> {
    let to = message
        .to
        .parse::<Mailbox>()
        .map_err(|e| MailError::InvalidRecipient(e.to_string()))?;
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.as_str())
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            message.html.clone(),
        ))
        .map_err(|e| MailError::Build(e.to_string()))
}

#[async_trait]
impl MailTransport for Mailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let email = build_email(&self.from, message)?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| MailError::Smtp {
                permanent: e.is_permanent(),
                message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<SmtpSettings, MailConfigError> {
        SmtpSettings::from_url(url)
    }

    #[test]
    fn url_grammar() {
        let s = parse("smtp://127.0.0.1:2525").expect("plain");
        assert_eq!(
            (s.host(), s.port(), s.tls(), s.username()),
            ("127.0.0.1", 2525, TlsMode::None, None)
        );
        let s = parse("smtps://user:p%40ss@mail.example.com:465").expect("smtps");
        assert_eq!(
            (s.host(), s.port(), s.tls()),
            ("mail.example.com", 465, TlsMode::Implicit)
        );
        assert_eq!(s.username(), Some("user"));
        let (_, password) = s.credentials.as_ref().expect("credentials");
        assert_eq!(password.expose_secret(), "p@ss");
        assert!(!format!("{s:?}").contains("p@ss"));
        assert_eq!(parse("smtps://mail.example.com").expect("465").port(), 465);
        let s = parse("smtp+starttls://u:p@mail.example.com").expect("starttls");
        assert_eq!((s.port(), s.tls()), (587, TlsMode::StartTls));
        let s = parse("smtp://u:p@mail.example.com?tls=starttls").expect("query");
        assert_eq!((s.port(), s.tls()), (587, TlsMode::StartTls));
        assert_eq!(
            parse("smtp://mail.example.com?tls=required")
                .expect("alias")
                .tls(),
            TlsMode::StartTls
        );
        assert_eq!(
            parse("smtp://mail.example.com?tls=opportunistic")
                .expect("opp")
                .tls(),
            TlsMode::Opportunistic
        );
        assert_eq!(parse("smtp://mail.example.com/").expect("slash").port(), 25);
        assert_eq!(parse("smtp://[::1]:2525").expect("v6").host(), "::1");
        assert!(parse("smtp://u:p@localhost:2525").is_ok());
    }

    /// The API validates addresses with `signet_core::values::Email`; whatever it accepts, the
    /// mailer must be able to address, or the invitation would retry for ever.
    #[test]
    fn every_address_the_api_accepts_can_be_mailed() {
        let from: Mailbox = "noreply@example.com".parse().expect("from");
        let candidates = [
            "recipient@example.com",
            "First.Last+tag@Sub.Example.co.uk",
            "jos\u{e9}@b\u{fc}ro.example",
            "jose\u{301}@exa\u{301}mple.com",
            "\u{5f20}\u{4f1f}@\u{4f8b}\u{5b50}.\u{4e2d}\u{56fd}",
            "o'brien@example.ie",
            "rtlo\u{202e}@example.com",
            "zw\u{200b}@example.com",
            "\u{130}\u{130}\u{130}@example.com",
            "a..b@example.com",
            "\"quoted name\"@example.com",
            "x@[127.0.0.1]",
            "a@b.c\u{ff0e}d",
        ];
        let mut accepted = 0;
        for candidate in candidates {
            let Ok(email) = candidate.parse::<signet_core::values::Email>() else {
                continue;
            };
            accepted += 1;
            let message = Message {
                to: email.as_str().to_owned(),
                subject: "Documents".to_owned(),
                html: "<p>x</p>".to_owned(),
                text: "x".to_owned(),
            };
            assert!(
                build_email(&from, &message).is_ok(),
                "{candidate:?} was accepted by the API as {email} but the mailer refuses it"
            );
        }
        assert!(accepted >= 5, "the ordinary addresses are accepted");
    }

    #[test]
    fn headers_cannot_be_injected() {
        let from: Mailbox = "noreply@example.com".parse().expect("from");
        let message = Message {
            to: "bob@example.com".to_owned(),
            subject: "Hello\r\nBcc: victim@example.com".to_owned(),
            html: "<p>x</p>".to_owned(),
            text: "x".to_owned(),
        };
        let raw = build_email(&from, &message).expect("built").formatted();
        let raw = String::from_utf8_lossy(&raw);
        assert!(!raw.to_ascii_lowercase().contains("\r\nbcc:"), "{raw}");
        let bad = Message {
            to: "bob@example.com\r\nBcc: victim@example.com".to_owned(),
            ..message
        };
        assert!(matches!(
            build_email(&from, &bad),
            Err(MailError::InvalidRecipient(_))
        ));
    }

    #[test]
    fn url_errors() {
        assert!(matches!(
            parse("http://mail.example.com"),
            Err(MailConfigError::Scheme(_))
        ));
        assert!(matches!(
            parse("smtps://mail.example.com?tls=none"),
            Err(MailConfigError::TlsMode(_))
        ));
        assert!(matches!(
            parse("smtp://mail.example.com?tls=maybe"),
            Err(MailConfigError::TlsMode(_))
        ));
        assert!(matches!(
            parse("smtp://mail.example.com?tsl=starttls"),
            Err(MailConfigError::Unexpected(_))
        ));
        assert!(matches!(
            parse("smtp://mail.example.com/ehlo"),
            Err(MailConfigError::Unexpected(_))
        ));
        assert!(matches!(
            parse("smtp://"),
            Err(MailConfigError::MissingHost | MailConfigError::Url(_))
        ));
        assert!(matches!(parse("not a url"), Err(MailConfigError::Url(_))));
        assert!(matches!(
            parse("smtp://u:p@mail.example.com"),
            Err(MailConfigError::CredentialsWithoutTls(_))
        ));
        assert!(matches!(
            parse("smtp://u:p@mail.example.com?tls=opportunistic"),
            Err(MailConfigError::CredentialsWithoutTls(_))
        ));
        assert!(matches!(
            parse("smtps://mail.example.com")
                .expect("url")
                .with_root_certificates_pem(b"not a certificate"),
            Err(MailConfigError::RootCertificates(_))
        ));
        assert!(matches!(
            MailSettings::from_url("smtp://127.0.0.1", "not an address"),
            Err(MailConfigError::From(_))
        ));
        assert_eq!(
            MailSettings::from_url("smtp://127.0.0.1", "Signet <noreply@example.com>")
                .expect("from")
                .from_address(),
            "Signet <noreply@example.com>"
        );
    }
}
