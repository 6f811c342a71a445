//! Test support for black-box tests: [`TestApp`] runs the real HTTP application in-process on a
//! random port, on its own fresh database (SQLite + local blobs, or PostgreSQL + S3), with a
//! [`ManualClock`] the test moves; [`TestTenant`] makes doclinc tokens, honest or forged.

pub mod browser;
pub mod delivery;
pub mod jwt;
pub mod phone;
pub mod signing;
pub mod smtp;
pub mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use signet_core::Core;
use signet_core::blob::BlobStore;
use signet_core::clock::{Clock as _, ManualClock, SystemClock};
use signet_core::crypto::MasterKey;
use signet_core::model::{Feature, Plan};
use signet_core::service::CoreSettings;
pub use signet_store::test_support::Backend;
use signet_store::test_support::TestDatabase;

/// A running Signet for one test.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The core behind the server (for set-up).
    pub core: Core,
    /// The metadata store behind the core, for tests that check or arrange stored state
    /// directly (no dialect can: the core keeps its store to itself).
    pub store: Arc<dyn signet_core::store::Store>,
    /// The clock the server uses.
    pub clock: Arc<ManualClock>,
    /// The database URL (to reopen it, e.g. with another master key).
    pub database_url: String,
    /// Which backends this app runs on.
    pub backend: Backend,
    /// A plain HTTP client.
    pub http: reqwest::Client,
    /// The blob store behind the core (to check what is really stored).
    pub blobs: Arc<dyn BlobStore>,
    server: tokio::task::JoinHandle<()>,
    _db: TestDatabase,
    blob_dir: Option<tempfile::TempDir>,
    /// The S3 bucket itself (PostgreSQL + S3), for [`TestApp::tamper_with_blob`].
    s3_bucket: Option<Arc<dyn object_store::ObjectStore>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Settings a test may change before spawning.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// API settings (token rules, body limits).
    pub api: signet_api::ApiSettings,
    /// Platform e-mail: an SMTP URL and a From address.
    pub mail: Option<(String, String)>,
    /// The HTTP SMS/voice provider's URL (e.g. a [`phone::PhoneCapture`]).
    pub sms_url: Option<String>,
    /// The portal's limits.
    pub portal: signet_core::portal::PortalSettings,
    /// Keep production's outbound guard: private and loopback targets refused (callbacks, file
    /// retrieval). Off by default, because test receivers listen on loopback.
    pub refuse_private_targets: bool,
}

/// The S3 endpoint for tests, or `None` to skip (never `None` when `CI=true`).
pub fn s3_endpoint() -> Option<String> {
    match std::env::var("SIGNET_TEST_S3_ENDPOINT") {
        Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_owned()),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("SIGNET_TEST_S3_ENDPOINT is not set; in CI the S3 tests must run")
        }
        _ => None,
    }
}

impl TestApp {
    /// Starts an app on `backend`: SQLite with local blobs, or PostgreSQL with S3. `None` when
    /// PostgreSQL or S3 is not configured outside CI (the test then does nothing).
    pub async fn spawn(backend: Backend) -> anyhow::Result<Option<Self>> {
        Self::spawn_with(backend, TestOptions::default()).await
    }

    /// [`TestApp::spawn`] with options.
    pub async fn spawn_with(
        backend: Backend,
        options: TestOptions,
    ) -> anyhow::Result<Option<Self>> {
        let Some(db) = signet_store::test_support::create(backend).await? else {
            return Ok(None);
        };
        let master = MasterKey::generate();
        let mut s3_bucket: Option<Arc<dyn object_store::ObjectStore>> = None;
        let (blobs, blob_dir): (Arc<dyn BlobStore>, _) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let store = signet_blob::ObjectBlobStore::local(dir.path(), master.clone())?;
                (Arc::new(store), Some(dir))
            }
            Backend::Postgres => {
                let Some(endpoint) = s3_endpoint() else {
                    eprintln!("SIGNET_TEST_S3_ENDPOINT not set: skipping a PostgreSQL + S3 test");
                    return Ok(None);
                };
                let bucket = format!("signet-test-{}", hex::encode(rand::random::<[u8; 8]>()));
                // moto accepts an unsigned bucket creation.
                reqwest::Client::new()
                    .put(format!("{endpoint}/{bucket}"))
                    .send()
                    .await?
                    .error_for_status()
                    .context("creating the test bucket")?;
                s3_bucket = Some(Arc::new(
                    object_store::aws::AmazonS3Builder::new()
                        .with_bucket_name(&bucket)
                        .with_endpoint(&endpoint)
                        .with_region("us-east-1")
                        .with_access_key_id("test")
                        .with_secret_access_key("test")
                        .with_allow_http(true)
                        .build()?,
                ));
                let settings = signet_blob::S3Settings {
                    bucket,
                    endpoint: Some(endpoint),
                    region: "us-east-1".into(),
                    access_key_id: Some("test".into()),
                    secret_access_key: Some("test".into()),
                    allow_http: true,
                };
                (
                    Arc::new(signet_blob::ObjectBlobStore::s3(&settings, master.clone())?),
                    None,
                )
            }
        };
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = signet_store::open_with_clock(&db.url, clock.clone()).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let core = Core::new(
            store.clone(),
            blobs.clone(),
            clock.clone(),
            master,
            CoreSettings {
                public_url: base_url.clone(),
                upload_url_ttl: time::Duration::hours(1),
                portal: options.portal.clone(),
            },
        );
        // Test receivers listen on loopback, which production refuses by default.
        let policy = signet_notify::target::TargetPolicy {
            allow_private_targets: !options.refuse_private_targets,
        };
        let sender = signet_notify::ports::StandardWebhookSender::new(
            policy,
            std::time::Duration::from_secs(5),
        );
        let mut core = core
            .with_webhook_sender(Arc::new(sender))
            .with_file_retriever(Arc::new(signet_notify::retrieve::ClientFileRetriever::new(
                policy,
                std::time::Duration::from_secs(10),
            )))
            .with_notification_renderer(signet_api::notification_renderer())
            .with_sender_callback_renderer(signet_api::sender_callback_renderer())
            .with_document_inspector(Arc::new(signet_evidence::PdfInspector));
        let evidence = signet_evidence::InstanceEvidence::load(&core).await?;
        core = core.with_signature_maker(Arc::new(signet_evidence::InstanceSignatureMaker::new(
            evidence, None,
        )?));
        if let Some((url, from)) = &options.mail {
            let mail = signet_notify::ports::SmtpMailSender::new(url, from)
                .map_err(|e| anyhow::anyhow!(e))?;
            core = core.with_mail_sender(Arc::new(mail));
        }
        if let Some(url) = &options.sms_url {
            let provider =
                signet_notify::sms::HttpProvider::new(url, None).map_err(|e| anyhow::anyhow!(e))?;
            core = core.with_phone_sender(Arc::new(
                signet_notify::ports::ProviderPhoneSender::new(Arc::new(provider)),
            ));
        }
        let app = signet_api::app(core.clone(), options.api);
        let server = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, service).await {
                eprintln!("test server stopped: {e}");
            }
        });
        Ok(Some(Self {
            base_url,
            core,
            store,
            clock,
            database_url: db.url.clone(),
            backend,
            http: reqwest::Client::new(),
            blobs,
            server,
            _db: db,
            blob_dir,
            s3_bucket,
        }))
    }

    /// Changes the stored (encrypted) bytes of a blob behind the blob store's back, as damage at
    /// rest would: `change` gets the stored object and may edit, cut or extend it.
    pub async fn tamper_with_blob(
        &self,
        key: &signet_core::blob::BlobKey,
        change: impl FnOnce(&mut Vec<u8>),
    ) -> anyhow::Result<()> {
        if let Some(dir) = &self.blob_dir {
            let path = dir.path().join(key.as_str());
            let mut stored = std::fs::read(&path)?;
            change(&mut stored);
            std::fs::write(&path, stored)?;
        } else if let Some(bucket) = &self.s3_bucket {
            use object_store::ObjectStore as _;
            let path = object_store::path::Path::from(key.as_str());
            let mut stored = bucket.get(&path).await?.bytes().await?.to_vec();
            change(&mut stored);
            bucket.put(&path, stored.into()).await?;
        }
        Ok(())
    }

    /// An absolute URL for a path on this app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A native API request to `path` with `tenant`'s HTTP Basic credentials.
    pub fn native(
        &self,
        method: reqwest::Method,
        path: &str,
        tenant: &TestTenant,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .basic_auth(&tenant.id, Some(&tenant.api_key))
    }

    /// Creates a tenant with every feature, self-send mode and a 10 MiB limit.
    pub async fn tenant(&self) -> anyhow::Result<TestTenant> {
        self.tenant_with(&Feature::ALL, 10 * 1024 * 1024, true)
            .await
    }

    /// Creates a tenant with the given plan.
    pub async fn tenant_with(
        &self,
        features: &[Feature],
        max_bytes: u64,
        self_send: bool,
    ) -> anyhow::Result<TestTenant> {
        let plan = Plan {
            features: features.to_vec(),
            max_envelope_bytes: max_bytes,
            ..Plan::default()
        };
        let (tenant, key) = self
            .core
            .create_tenant("Acme Payroll", plan, self_send)
            .await?;
        Ok(TestTenant {
            id: tenant.id.to_upper_hex(),
            api_key: key.0.expose_secret().to_owned(),
            clock: self.clock.clone(),
        })
    }

    /// Runs every job due at the app clock's current time, as a worker would; returns how many.
    pub async fn run_jobs(&self) -> anyhow::Result<usize> {
        let settings = signet_core::worker::WorkerSettings::default();
        let mut total = 0;
        loop {
            let ran = self.core.run_due_jobs(&settings).await?;
            if ran == 0 {
                return Ok(total);
            }
            total += ran;
        }
    }

    /// How many events the whole platform has recorded (to prove a refused call wrote nothing).
    pub async fn event_count(&self) -> anyhow::Result<usize> {
        Ok(self.store.ledger_leaves(0, u64::MAX >> 1).await?.len())
    }
}

/// A tenant made for a test, with its credentials.
#[derive(Clone)]
pub struct TestTenant {
    /// 30 upper-case hex digits.
    pub id: String,
    /// 64 upper-case hex digits.
    pub api_key: String,
    clock: Arc<ManualClock>,
}

impl TestTenant {
    /// A fresh, valid token (key = the API key's text, as JWT libraries use a string key).
    pub fn token(&self) -> String {
        let iat = signet_core::clock::Clock::now(&*self.clock).unix_timestamp();
        jwt::hs256(
            &serde_json::json!({"alg": "HS256", "typ": "JWT"}),
            &jwt::claims(&self.id, iat, iat + 3600),
            self.api_key.as_bytes(),
        )
    }

    /// The server's current time, as the token's `iat` would be.
    pub fn now(&self) -> i64 {
        signet_core::clock::Clock::now(&*self.clock).unix_timestamp()
    }

    /// `Authorization` header value with a fresh token.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token())
    }
}

/// Runs each named scenario — an `async fn(TestApp) -> anyhow::Result<()>` in the calling
/// module — as two tests: `sqlite::NAME` (SQLite + local blobs) and `postgres_s3::NAME`
/// (PostgreSQL + S3), each on a fresh app.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {$(
            #[tokio::test]
            async fn $name() -> anyhow::Result<()> {
                let Some(app) = $crate::TestApp::spawn($crate::Backend::Sqlite).await? else { return Ok(()) };
                super::$name(app).await
            }
        )*}
        mod postgres_s3 {$(
            #[tokio::test]
            async fn $name() -> anyhow::Result<()> {
                let Some(app) = $crate::TestApp::spawn($crate::Backend::Postgres).await? else { return Ok(()) };
                super::$name(app).await
            }
        )*}
    };
}
