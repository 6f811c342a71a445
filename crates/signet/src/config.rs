//! Signet's one typed configuration, read once at start-up: built-in defaults, then a TOML file
//! (`--config`, `SIGNET_CONFIG`, or `signet.toml` in the data directory when it exists), then
//! `SIGNET_*` environment variables, then command-line flags. Keys are flat so that every
//! setting has an obvious variable: `database_url` ↔ `SIGNET_DATABASE_URL`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use signet_api::server::ServerLimits;

/// Every setting. See `signet config example` for the commented list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// Directory for the database, blobs and keys of the embedded default.
    pub data_dir: PathBuf,
    /// Externally visible base URL, used in links and upload URLs.
    pub public_url: Option<String>,
    /// `sqlite://…` or `postgres://…`; default: `sqlite://<data_dir>/signet.db`.
    pub database_url: Option<String>,
    /// The master key as 64 hex digits (prefer `master_key_file`).
    #[serde(skip_serializing)]
    pub master_key: Option<SecretString>,
    /// File holding the master key; default `<data_dir>/master.key`, created on first start.
    pub master_key_file: Option<PathBuf>,
    /// Seconds an upload URL stays valid.
    pub upload_url_ttl_secs: i64,
    /// Trust `X-Forwarded-For` for client addresses (only behind a reverse proxy you run).
    pub trust_forwarded_for: bool,
    /// Largest JSON request body, in bytes.
    pub max_json_bytes: usize,
    /// doclinc: the longest accepted token lifetime (`exp − iat`), in seconds.
    pub doclinc_max_token_lifetime_secs: i64,
    /// doclinc: how far a token's `iat` may be from server time, in seconds.
    pub doclinc_max_clock_skew_secs: i64,
    /// S3 bucket for documents; when set, blobs go to S3 instead of the data directory.
    pub s3_bucket: Option<String>,
    /// S3 endpoint URL (for S3-compatible services).
    pub s3_endpoint: Option<String>,
    /// S3 region.
    pub s3_region: String,
    /// S3 access key id.
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key.
    #[serde(skip_serializing)]
    pub s3_secret_access_key: Option<SecretString>,
    /// File holding the S3 secret access key.
    pub s3_secret_access_key_file: Option<PathBuf>,
    /// Allow a plain-http S3 endpoint.
    pub s3_allow_http: bool,
    /// SMTP relay for platform e-mail: `smtp://host:port`, `smtps://user:pass@host:465`,
    /// `smtp+starttls://…` (or `?tls=starttls`).
    pub smtp_url: Option<String>,
    /// The From address of platform e-mail.
    pub mail_from: Option<String>,
    /// Where one-time codes go: an `http(s)://` URL of the HTTP SMS/voice provider, or `log` to
    /// write them to the server log (development only).
    pub sms_url: Option<String>,
    /// Bearer token sent to the SMS/voice provider.
    #[serde(skip_serializing)]
    pub sms_token: Option<SecretString>,
    /// Minutes a link stays locked after too many wrong codes or answers.
    pub auth_lockout_minutes: i64,
    /// Allow outbound requests (webhooks) to loopback, private and link-local addresses.
    pub allow_private_targets: bool,
    /// An external RFC 3161 time-stamp authority to use instead of the built-in one.
    pub tsa_url: Option<String>,
    /// Connections open at once; default: derived from the open-file limit (RLIMIT_NOFILE),
    /// leaving room for the files, database connections and outbound sockets the server needs.
    pub max_connections: Option<usize>,
    /// Seconds a request head may take from its first byte to its last.
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may stay open with no request in flight.
    pub idle_timeout_secs: u64,
    /// Seconds a request body may send nothing before the request fails.
    pub body_timeout_secs: u64,
    /// Seconds in-flight requests and jobs get to finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Log filter (`info`, `signet=debug,info`, …).
    pub log: String,
    /// Log format: `text` or `json`.
    pub log_format: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("signet-data"),
            public_url: None,
            database_url: None,
            master_key: None,
            master_key_file: None,
            upload_url_ttl_secs: 3600,
            trust_forwarded_for: false,
            max_json_bytes: 1024 * 1024,
            doclinc_max_token_lifetime_secs: 7200,
            doclinc_max_clock_skew_secs: 600,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_secret_access_key_file: None,
            s3_allow_http: false,
            tsa_url: None,
            allow_private_targets: false,
            smtp_url: None,
            mail_from: None,
            sms_url: None,
            sms_token: None,
            auth_lockout_minutes: 30,
            max_connections: None,
            header_read_timeout_secs: 15,
            idle_timeout_secs: 75,
            body_timeout_secs: 60,
            shutdown_timeout_secs: 60,
            log: "info".into(),
            log_format: "text".into(),
        }
    }
}

/// Settings given on the command line, which win over everything else.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

/// Every setting's name.
fn known_keys() -> Vec<String> {
    let mut keys: Vec<String> = match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    };
    // Secrets are never serialised, so they are not in the defaults' keys.
    keys.extend(["master_key", "s3_secret_access_key", "sms_token"].map(String::from));
    keys
}

impl Config {
    /// Reads the configuration from every layer.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        // Only Signet's own settings are read from SIGNET_* variables: other tools (the test
        // suite's SIGNET_TEST_*, say) share the prefix, while a typo in the file stays an error.
        let known = known_keys();
        let env = move || {
            let known = known.clone();
            Env::prefixed("SIGNET_")
                .filter(move |key| known.iter().any(|k| key.as_str().eq_ignore_ascii_case(k)))
        };
        // The data directory decides where the default config file is, so find it first.
        let data_dir: PathBuf = Figment::from(Serialized::defaults(Config::default()))
            .merge(env())
            .merge(Serialized::defaults(overrides))
            .extract_inner("data_dir")
            .unwrap_or_else(|_| PathBuf::from("signet-data"));
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("SIGNET_CONFIG").map(PathBuf::from))
            .or_else(|| Some(data_dir.join("signet.toml")).filter(|p| p.exists()));
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = &file {
            anyhow::ensure!(
                file.exists(),
                "config file {} does not exist",
                file.display()
            );
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment
            .merge(env())
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("invalid configuration")?;
        Ok(config)
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("signet.db").display()))
    }

    /// The public base URL without trailing slash, defaulting to the listen address.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The HTTP server's connection limits and timeouts. `open_files` is the process's
    /// open-file limit (`None`: unlimited), from which the default connection cap is derived.
    pub fn server_limits(&self, open_files: Option<u64>) -> anyhow::Result<ServerLimits> {
        let secs = |name: &str, value: u64| {
            anyhow::ensure!(value > 0, "{name} must be at least 1");
            Ok(Duration::from_secs(value))
        };
        let max_connections = match self.max_connections {
            Some(0) => anyhow::bail!("max_connections must be at least 1"),
            Some(n) => n,
            None => default_max_connections(open_files),
        };
        Ok(ServerLimits {
            max_connections,
            header_read_timeout: secs("header_read_timeout_secs", self.header_read_timeout_secs)?,
            idle_timeout: secs("idle_timeout_secs", self.idle_timeout_secs)?,
            body_timeout: secs("body_timeout_secs", self.body_timeout_secs)?,
            drain_timeout: secs("shutdown_timeout_secs", self.shutdown_timeout_secs)?,
        })
    }

    /// Where the master key lives.
    pub fn master_key_file(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }
}

/// Descriptors kept for everything but client connections: the listener, the runtime's own,
/// database connections, log output, pooled outbound connections (webhooks, S3, SMTP).
const RESERVED_FILES: u64 = 64;
/// The default cap when the open-file limit is very high: an idle connection costs some memory
/// (buffers, a task), so a huge limit should not mean unbounded connections.
const MAX_DEFAULT_CONNECTIONS: u64 = 16_384;

/// The connection cap for an open-file limit: each connection may hold its socket and one more
/// descriptor at once (the file or S3 connection its upload or download streams through), beside
/// a fixed reserve.
pub fn default_max_connections(open_files: Option<u64>) -> usize {
    let open_files = open_files.unwrap_or(u64::MAX);
    let cap = (open_files.saturating_sub(RESERVED_FILES) / 2).clamp(1, MAX_DEFAULT_CONNECTIONS);
    usize::try_from(cap).unwrap_or(1)
}

/// `signet config example`: every setting, commented, with its default.
pub const EXAMPLE: &str = r#"# Signet configuration. Every key can also be set as an environment variable: upper-case it
# and prefix SIGNET_ (database_url -> SIGNET_DATABASE_URL). Command-line flags win over both.
# The file is read from --config, $SIGNET_CONFIG, or <data_dir>/signet.toml.

# Address the HTTP server listens on (flag: --listen).
listen = "127.0.0.1:8080"
# Directory for the embedded database, document blobs and keys (flag: --data-dir).
data_dir = "signet-data"
# Externally visible base URL used in links and upload URLs (flag: --public-url).
# Default: http://<listen>.
# public_url = "https://signet.example.com"

# Metadata database: sqlite://PATH (embedded default, sqlite://<data_dir>/signet.db)
# or postgres://USER:PASSWORD@HOST:PORT/DB for several server processes.
# database_url = "postgres://signet@db.internal/signet"

# Master key (64 hex digits) protecting API keys and document data keys. Prefer the file:
# it is created with a fresh random key on first start when missing.
# master_key = "…"
# master_key_file = "signet-data/master.key"

# Seconds an upload URL stays valid.
upload_url_ttl_secs = 3600
# Take client addresses from X-Forwarded-For (only behind a reverse proxy you run).
trust_forwarded_for = false
# Largest JSON request body in bytes.
max_json_bytes = 1048576

# doclinc tokens: the longest accepted lifetime (exp - iat) and the allowed clock skew of iat.
doclinc_max_token_lifetime_secs = 7200
doclinc_max_clock_skew_secs = 600

# Documents in an S3-compatible bucket instead of the data directory (set s3_bucket to enable).
# s3_bucket = "signet-documents"
# s3_endpoint = "https://s3.example.com"
s3_region = "us-east-1"
# s3_access_key_id = "…"
# s3_secret_access_key = "…"          # or s3_secret_access_key_file = "/run/secrets/s3"
s3_allow_http = false

# Platform e-mail (invitations for tenants not in self-send mode): the SMTP relay as a URL —
# smtp://host:25 (plain), smtp://host:25?tls=opportunistic, smtp+starttls://user:pass@host:587,
# smtps://user:pass@host:465 — and the From address (SIGNET_SMTP_URL, SIGNET_MAIL_FROM).
# smtp_url = "smtp://127.0.0.1:2525"
# mail_from = "Signet <no-reply@signet.example.com>"

# One-time codes for recipients who authenticate by SMS or voice call (SIGNET_SMS_URL): the
# URL of an HTTP provider, which receives POST {"to": "+E164", "channel": "sms"|"voice",
# "body": "…"} and answers 2xx when it accepted the message (anything else is retried), or
# "log" to write the messages to the server log instead (development only: the log then holds
# the codes). sms_token, when set, is sent as "Authorization: Bearer <token>" (SIGNET_SMS_TOKEN).
# sms_url = "https://sms-gateway.internal/send"
# sms_token = "…"
# Minutes a link stays locked after 5 wrong codes or answers in a row.
auth_lockout_minutes = 30

# Webhooks (and other outbound requests) to loopback, private or link-local addresses are
# refused unless this is true (SIGNET_ALLOW_PRIVATE_TARGETS=true).
allow_private_targets = false

# An external RFC 3161 time-stamp authority for seals (default: Signet's own, at /v1/tsa).
# tsa_url = "https://tsa.example.com/tsr"

# HTTP connections. At most max_connections are open at once; at the cap the connection idle
# the longest is closed to make room (a request in flight is never cut). Default: derived from
# the open-file limit (ulimit -n, which Signet raises to its hard limit at start):
# (limit - 64) / 2, at most 16384.
# max_connections = 1000
# A request head must arrive within this many seconds of its first byte (slow senders are cut).
header_read_timeout_secs = 15
# A connection with no request in flight is closed after this many seconds.
idle_timeout_secs = 75
# A request body (an upload) that sends nothing for this many seconds fails; one that keeps
# sending is never cut, however long it takes.
body_timeout_secs = 60
# On SIGTERM (or Ctrl-C) the server stops accepting and lets requests in flight and running jobs
# finish for at most this many seconds before it exits.
shutdown_timeout_secs = 60

# Logging: a filter such as "info" or "signet=debug,info", and "text" or "json".
log = "info"
log_format = "text"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_room_for_the_servers_own_files() {
        // `ulimit -n 512`: 224 connections, each with one more file, plus the reserve fit.
        let cap = default_max_connections(Some(512));
        assert_eq!(cap, 224);
        assert!(2 * cap as u64 + RESERVED_FILES <= 512);
        assert_eq!(default_max_connections(Some(1024)), 480);
        // Tiny and unlimited limits still give a usable, bounded cap.
        assert_eq!(default_max_connections(Some(10)), 1);
        assert_eq!(default_max_connections(None), 16_384);
        assert_eq!(default_max_connections(Some(1 << 20)), 16_384);
    }

    #[test]
    fn zero_timeouts_are_refused() {
        let config = Config {
            idle_timeout_secs: 0,
            ..Config::default()
        };
        assert!(config.server_limits(Some(1024)).is_err());
        let config = Config {
            max_connections: Some(0),
            ..Config::default()
        };
        assert!(config.server_limits(Some(1024)).is_err());
        let limits = Config::default()
            .server_limits(Some(1024))
            .expect("defaults");
        assert_eq!(limits.max_connections, 480);
    }

    #[test]
    fn example_parses_to_the_defaults() {
        let from_example: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(EXAMPLE))
            .extract()
            .expect("the example is valid");
        assert_eq!(
            serde_json::to_value(&from_example).ok(),
            serde_json::to_value(Config::default()).ok()
        );
    }
}
