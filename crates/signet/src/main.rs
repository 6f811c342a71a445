//! `signet`: the server and the operator's command line. Every command works on the same data
//! directory and configuration as `serve`.

mod config;
mod metered;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use secrecy::ExposeSecret as _;
use signet_core::Core;
use signet_core::blob::BlobStore;
use signet_core::clock::SystemClock;
use signet_core::crypto::MasterKey;
use signet_core::ids::TenantId;
use signet_core::jobs::JobState;
use signet_core::model::{Feature, Plan, Tenant, TenantStatus};
use signet_core::service::{CoreSettings, TenantChanges};
use signet_core::worker::WorkerSettings;

use config::{Config, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "signet",
    version,
    about = "Confidential document exchange and electronic signatures"
)]
struct Cli {
    /// Configuration file (default: $SIGNET_CONFIG, or signet.toml in the data directory).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (also SIGNET_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the HTTP server (creating the master key and database on first start).
    Serve {
        /// Address to listen on (also SIGNET_LISTEN).
        #[arg(long)]
        listen: Option<String>,
        /// Externally visible base URL (also SIGNET_PUBLIC_URL).
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Runs only the job worker (e-mails, expiries, deletions, webhooks), without HTTP.
    Worker,
    /// Inspects and replays background jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Inspects and replays webhook deliveries.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Creates the master key and the database if missing, and migrates the database.
    Init,
    /// Migrates the database to the current schema.
    Migrate,
    /// Manages tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Checks the database's integrity (SQLite integrity check, event sequence), and with
    /// `--blobs` the stored documents too.
    Check {
        /// Also reads stored documents back: each blob must be present, authenticate in every
        /// chunk, and have the recorded size and SHA-256. `all`, or a percentage such as `5%`
        /// for a random sample of that share of the documents (each run draws anew). Exits
        /// non-zero, naming each document and tenant, if any is missing or damaged.
        #[arg(long, value_name = "all|N%")]
        blobs: Option<BlobSample>,
    },
    /// The transparency log.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The instance PKI.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Seals a PDF with the instance's sealing key (PAdES, as an incremental update).
    Seal {
        /// The PDF to seal.
        input: PathBuf,
        /// Where to write the sealed PDF.
        output: PathBuf,
        /// PAdES level: B-B, B-T (with a time-stamp from the built-in TSA) or B-LT (adds the
        /// chains and CRLs for long-term validation).
        #[arg(long, default_value = "B-T")]
        level: String,
    },
    /// Verifies every signature of a PDF: covered bytes, CMS signature, chain, time-stamp and
    /// changes after signing. Exits 1 when any signature is not valid.
    Verify {
        /// The PDF.
        file: PathBuf,
        /// Trust anchor(s) in PEM (default: this instance's root, from the data directory).
        #[arg(long)]
        trust: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Lists jobs in a state (pending, running, done, dead).
    List {
        /// The state; `--failed` is short for `--state dead`.
        #[arg(long, default_value = "pending")]
        state: String,
        /// Dead-lettered jobs.
        #[arg(long)]
        failed: bool,
    },
    /// Makes a dead job pending again.
    Replay {
        /// The job id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// Lists pending deliveries (tenant webhooks and sender callbacks), or with `--failed` the
    /// dead-lettered ones.
    List {
        /// Dead-lettered deliveries (retried for over three days without success).
        #[arg(long)]
        failed: bool,
    },
    /// Sends a dead-lettered delivery again (same message id, so receivers can de-duplicate).
    Replay {
        /// The delivery (job) id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Prints the instance root certificate (PEM), for relying parties.
    Root,
    /// Uses an operator's own keys (PEM) for sealing, and optionally for time-stamping, instead
    /// of the instance's generated ones. RSA keys are used through a constant-time library.
    Import {
        /// Sealing private key (PKCS#8, SEC1 EC or PKCS#1 RSA PEM).
        #[arg(long)]
        sealing_key: PathBuf,
        /// Sealing certificate followed by its issuers (PEM).
        #[arg(long)]
        sealing_chain: PathBuf,
        /// TSA private key (PEM).
        #[arg(long, requires = "tsa_chain")]
        tsa_key: Option<PathBuf>,
        /// TSA certificate followed by its issuers (PEM).
        #[arg(long, requires = "tsa_key")]
        tsa_chain: Option<PathBuf>,
        /// CRLs (PEM) covering those chains, for B-LT seals; repeatable.
        #[arg(long)]
        crl: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Recomputes the whole log from the stored event records and checks it against the stored
    /// nodes and the latest signed tree head; exits non-zero on any mismatch.
    Verify,
    /// Prints the latest signed tree head (a C2SP checkpoint), signing a new one if the log grew.
    Head {
        /// Also print the note verifier key.
        #[arg(long)]
        with_key: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Creates a tenant and prints its tenantId and apiKey (shown only once).
    Create {
        /// Display name, shown to recipients as the sender.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        plan: PlanArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Changes a tenant's name, plan, mode or status.
    Update {
        /// The tenant id.
        #[arg(long)]
        tenant: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        plan: PlanArgs,
        /// New status: active or suspended.
        #[arg(long)]
        status: Option<String>,
        /// Where to push events (Standard Webhooks); prints a new `whsec_…` signing secret (the
        /// previous one keeps signing for 24 hours).
        #[arg(long)]
        webhook_url: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Suspends a tenant: its API calls answer "invalid subscription".
    Suspend {
        /// The tenant id.
        #[arg(long)]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lists tenants.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
struct PlanArgs {
    /// Enabled features, comma-separated: sms,voice,secret (default for a new tenant: all).
    #[arg(long, value_delimiter = ',')]
    features: Option<Vec<String>>,
    /// Largest total document size of one transaction, in bytes (default 104857600).
    #[arg(long)]
    max_transaction_bytes: Option<u64>,
    /// Self-send mode: the tenant e-mails the banner itself (default for a new tenant: true).
    #[arg(long, value_parser = clap::value_parser!(bool))]
    self_send: Option<bool>,
    /// Require every signer to authenticate with a code (e-mail, SMS or voice): envelopes whose
    /// participants have `auth: none` are refused (default for a new tenant: false).
    #[arg(long, value_parser = clap::value_parser!(bool))]
    require_signer_auth: Option<bool>,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Prints every setting with a comment and its default.
    Example,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Config(ConfigCommand::Example) = cli.command {
        print!("{}", config::EXAMPLE);
        return Ok(());
    }
    let overrides = match &cli.command {
        Command::Serve { listen, public_url } => Overrides {
            listen: listen.clone(),
            data_dir: cli.data_dir.clone(),
            public_url: public_url.clone(),
        },
        _ => Overrides {
            data_dir: cli.data_dir.clone(),
            ..Overrides::default()
        },
    };
    let config = Config::load(cli.config.as_deref(), &overrides)?;
    init_logging(&config)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli.command, config))
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&config.log).context("invalid log filter")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(())
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { .. } => serve(config).await,
        Command::Worker => {
            let core = with_signatures(open_core(&config).await?, &config).await?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let worker = tokio::spawn({
                let core = core.clone();
                async move { core.run_worker(WorkerSettings::default(), stopped).await }
            });
            shutdown_signal().await;
            let _ = stop.send(true);
            let timeout = std::time::Duration::from_secs(config.shutdown_timeout_secs.max(1));
            finish_worker(worker, tokio::time::Instant::now() + timeout).await
        }
        Command::Jobs(JobsCommand::List { state, failed }) => {
            let core = open_core(&config).await?;
            let state = if failed { "dead".to_owned() } else { state };
            let state = JobState::parse(&state)
                .ok_or_else(|| anyhow::anyhow!("--state: pending, running, done or dead"))?;
            for job in core.jobs_in_state(state, 1000).await? {
                println!(
                    "{}  {:<16} attempts={:<3} due={}  {}",
                    job.id,
                    job.kind.name(),
                    job.attempts,
                    job.run_at,
                    job.last_error.unwrap_or_default()
                );
            }
            Ok(())
        }
        Command::Webhooks(WebhooksCommand::List { failed }) => {
            let core = open_core(&config).await?;
            let state = if failed {
                JobState::Dead
            } else {
                JobState::Pending
            };
            for job in core.jobs_in_state(state, 1000).await? {
                if let Some(delivery) = job.kind.delivery() {
                    println!(
                        "{}  tenant={}  target={}  message={}  attempts={}  due={}  {}",
                        job.id,
                        delivery.tenant_id.to_upper_hex(),
                        delivery.target.as_str(),
                        delivery.message_id,
                        job.attempts,
                        job.run_at,
                        job.last_error.as_deref().unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        Command::Webhooks(WebhooksCommand::Replay { id }) => {
            let core = open_core(&config).await?;
            let dead = core.jobs_in_state(JobState::Dead, 10_000).await?;
            anyhow::ensure!(
                dead.iter()
                    .any(|j| j.id == id && j.kind.delivery().is_some()),
                "no failed webhook delivery {id}"
            );
            core.replay_job(&id).await?;
            println!("replaying {id}");
            Ok(())
        }
        Command::Jobs(JobsCommand::Replay { id }) => {
            let core = open_core(&config).await?;
            if core.replay_job(&id).await? {
                println!("replaying {id}");
                Ok(())
            } else {
                anyhow::bail!("no dead job {id}")
            }
        }
        Command::Init | Command::Migrate => {
            let core = open_core(&config).await?;
            signet_evidence::InstanceEvidence::load(&core).await?;
            core.ledger_signer().await?;
            println!(
                "database ready at {} (master key: {})",
                redact_url(&config.database_url()),
                config.master_key_file().display()
            );
            drop(core);
            Ok(())
        }
        Command::Check { blobs } => {
            let core = open_core(&config).await?;
            core.check_store_integrity().await?;
            if let Some(sample) = blobs {
                check_blobs(&core, sample).await?;
            }
            println!("ok");
            Ok(())
        }
        Command::Tenant(command) => tenant(command, open_core(&config).await?).await,
        Command::Ledger(LedgerCommand::Verify) => {
            let core = open_core(&config).await?;
            let report = core.verify_ledger().await?;
            match (&report.head, report.recomputed_root) {
                (Some(head), Some(root)) => println!(
                    "ok: {} leaves recomputed; signed head at size {} matches root {}",
                    report.leaves,
                    head.tree_size,
                    hex::encode(root)
                ),
                _ => println!(
                    "ok: {} leaves recomputed; no signed head yet",
                    report.leaves
                ),
            }
            Ok(())
        }
        Command::Pki(PkiCommand::Root) => {
            let core = open_core(&config).await?;
            print!(
                "{}",
                signet_evidence::InstanceEvidence::load(&core)
                    .await?
                    .pki
                    .root_cert
                    .to_pem()
            );
            Ok(())
        }
        Command::Pki(PkiCommand::Import {
            sealing_key,
            sealing_chain,
            tsa_key,
            tsa_chain,
            crl,
        }) => {
            let read = |p: &Path| {
                std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
            };
            let operator = signet_evidence::OperatorSealing {
                sealing_key: read(&sealing_key)?,
                sealing_chain: read(&sealing_chain)?,
                tsa_key: tsa_key.as_deref().map(read).transpose()?,
                tsa_chain: tsa_chain.as_deref().map(read).transpose()?,
                crls: crl.iter().map(|p| read(p)).collect::<anyhow::Result<_>>()?,
            };
            operator.import(&open_core(&config).await?).await?;
            println!("imported: seals now use the operator's key");
            Ok(())
        }
        Command::Seal {
            input,
            output,
            level,
        } => seal(&config, &input, &output, &level).await,
        Command::Verify { file, trust, json } => {
            verify(&config, &file, trust.as_deref(), json).await
        }
        Command::Ledger(LedgerCommand::Head { with_key }) => {
            let core = open_core(&config).await?;
            let head = core.checkpoint().await?;
            print!("{}", head.checkpoint);
            if with_key {
                println!("\n{}", core.ledger_verifier_key().await?);
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Example) => Ok(()),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let limits = config.server_limits(raise_open_file_limit())?;
    let core = with_signatures(open_core(&config).await?, &config).await?;
    let settings = signet_api::ApiSettings {
        trust_forwarded_for: config.trust_forwarded_for,
        max_json_bytes: config.max_json_bytes,
        doclinc: signet_api::doclinc::DoclincSettings {
            max_token_lifetime_secs: config.doclinc_max_token_lifetime_secs,
            max_clock_skew_secs: config.doclinc_max_clock_skew_secs,
        },
    };
    let app = signet_api::app(core.clone(), settings);
    let drain_timeout = limits.drain_timeout;
    // One signal stops both: the listener and the worker drain side by side, within one timeout.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let worker =
        tokio::spawn(async move { core.run_worker(WorkerSettings::default(), stopping).await });
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        public_url = %config.public_url(),
        max_connections = limits.max_connections,
        "signet is serving"
    );
    let signalled = Arc::new(std::sync::OnceLock::new());
    let on_signal = {
        let signalled = signalled.clone();
        async move {
            shutdown_signal().await;
            let _ = signalled.set(tokio::time::Instant::now());
            let _ = stop.send(true);
        }
    };
    signet_api::server::serve(listener, app, limits, on_signal).await?;
    let deadline = signalled
        .get()
        .copied()
        .unwrap_or_else(tokio::time::Instant::now)
        + drain_timeout;
    finish_worker(worker, deadline).await
}

/// Waits for the worker to finish the jobs it claimed, until `deadline`. Jobs still running
/// then are abandoned: their lease runs out and a worker (here after a restart, or another
/// node) runs them again — jobs are idempotent.
async fn finish_worker(
    worker: tokio::task::JoinHandle<()>,
    deadline: tokio::time::Instant,
) -> anyhow::Result<()> {
    match tokio::time::timeout_at(deadline, worker).await {
        Ok(joined) => joined?,
        Err(_) => tracing::warn!(
            "jobs still running at the shutdown timeout: they will be retried after their lease"
        ),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Raises the soft open-file limit to the hard one, as most servers do (the soft default of
/// 1024 is too low for a public server), and returns the limit now in force (`None`: unlimited).
fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum)
        && maximum > current
    {
        let raised = rustix::process::Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => return Some(maximum),
            Err(error) => {
                tracing::debug!(%error, "cannot raise the open-file limit");
            }
        }
    }
    limit.current
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

/// Opens everything the core needs, creating the data directory, master key and database on
/// first use.
/// Which stored documents `signet check --blobs` reads back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum BlobSample {
    /// Every one.
    All,
    /// Each with this probability (0 < p ≤ 1).
    Share(f64),
}

impl std::str::FromStr for BlobSample {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "all" {
            return Ok(Self::All);
        }
        let percent = text
            .strip_suffix('%')
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|n| *n > 0.0 && *n <= 100.0)
            .ok_or_else(|| format!("{text:?}: expected `all` or a percentage such as `5%`"))?;
        Ok(if percent == 100.0 {
            Self::All
        } else {
            Self::Share(percent / 100.0)
        })
    }
}

/// Reads back every stored document (or a random share of them) and fails, after listing each
/// one that is missing or damaged, if any is.
async fn check_blobs(core: &Core, sample: BlobSample) -> anyhow::Result<()> {
    const PAGE: u32 = 500;
    let (mut stored, mut checked, mut bad) = (0u64, 0u64, 0u64);
    let mut after = None;
    loop {
        let page = core.stored_documents(after.as_ref(), PAGE).await?;
        let Some((_, last)) = page.last() else { break };
        after = Some(last.id);
        for (tenant, document) in page {
            let Some(content) = document.stored() else {
                continue;
            };
            stored += 1;
            if let BlobSample::Share(share) = sample
                && rand::random::<f64>() >= share
            {
                continue;
            }
            checked += 1;
            let verdict = signet_blob::verify(
                core.blobs().as_ref(),
                &content.blob,
                content.size,
                &content.sha256,
            )
            .await;
            if let Err(problem) = verdict {
                bad += 1;
                println!(
                    "document {} (tenant {}): {problem}",
                    document.id,
                    tenant.to_upper_hex()
                );
            }
        }
    }
    println!("blobs: {checked} of {stored} stored documents read back, {bad} missing or damaged");
    anyhow::ensure!(bad == 0, "{bad} stored document(s) missing or damaged");
    Ok(())
}

async fn open_core(config: &Config) -> anyhow::Result<Core> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let master = load_master_key(config)?;
    let store = signet_store::open(&config.database_url()).await?;
    let backend: Arc<dyn BlobStore> = match &config.s3_bucket {
        Some(bucket) => {
            let secret = match (
                &config.s3_secret_access_key,
                &config.s3_secret_access_key_file,
            ) {
                (Some(secret), _) => Some(secret.expose_secret().to_owned()),
                (None, Some(file)) => Some(
                    std::fs::read_to_string(file)
                        .with_context(|| format!("cannot read {}", file.display()))?
                        .trim()
                        .to_owned(),
                ),
                (None, None) => None,
            };
            let settings = signet_blob::S3Settings {
                bucket: bucket.clone(),
                endpoint: config.s3_endpoint.clone(),
                region: config.s3_region.clone(),
                access_key_id: config.s3_access_key_id.clone(),
                secret_access_key: secret,
                allow_http: config.s3_allow_http,
            };
            Arc::new(signet_blob::ObjectBlobStore::s3(&settings, master.clone())?)
        }
        None => Arc::new(signet_blob::ObjectBlobStore::local(
            &config.data_dir.join("blobs"),
            master.clone(),
        )?),
    };
    let blobs: Arc<dyn BlobStore> = Arc::new(metered::MeteredBlobs(backend));
    let settings = CoreSettings {
        public_url: config.public_url(),
        upload_url_ttl: time::Duration::seconds(config.upload_url_ttl_secs),
        portal: signet_core::portal::PortalSettings {
            lockout: time::Duration::minutes(config.auth_lockout_minutes.max(1)),
            ..Default::default()
        },
    };
    let policy = signet_notify::target::TargetPolicy {
        allow_private_targets: config.allow_private_targets,
    };
    let webhooks = signet_notify::ports::StandardWebhookSender::new(
        policy,
        std::time::Duration::from_secs(15),
    );
    let mut core = Core::new(store, blobs, Arc::new(SystemClock), master, settings)
        .with_webhook_sender(Arc::new(webhooks))
        .with_file_retriever(Arc::new(signet_notify::retrieve::ClientFileRetriever::new(
            policy,
            std::time::Duration::from_secs(30),
        )))
        .with_notification_renderer(signet_api::notification_renderer())
        .with_sender_callback_renderer(signet_api::sender_callback_renderer())
        .with_document_inspector(Arc::new(signet_evidence::PdfInspector));
    if let Some(url) = &config.sms_url {
        let provider: Arc<dyn signet_notify::sms::PhoneProvider> = if url.trim() == "log" {
            Arc::new(signet_notify::sms::LogProvider)
        } else {
            let token = config
                .sms_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned());
            Arc::new(
                signet_notify::sms::HttpProvider::new(url, token)
                    .map_err(|e| anyhow::anyhow!("sms_url: {e}"))?,
            )
        };
        core = core.with_phone_sender(Arc::new(signet_notify::ports::ProviderPhoneSender::new(
            provider,
        )));
    }
    match (&config.smtp_url, &config.mail_from) {
        (Some(url), Some(from)) => {
            let mail = signet_notify::ports::SmtpMailSender::new(url, from)
                .map_err(|e| anyhow::anyhow!("smtp_url / mail_from: {e}"))?;
            Ok(core.with_mail_sender(Arc::new(mail)))
        }
        (None, None) => Ok(core),
        _ => anyhow::bail!("set both smtp_url and mail_from (SIGNET_SMTP_URL, SIGNET_MAIL_FROM)"),
    }
}

/// The core with the signature maker attached (signer acts, certificates, archival seals): only
/// the processes that run jobs or serve signers need the instance PKI loaded.
async fn with_signatures(core: Core, config: &Config) -> anyhow::Result<Core> {
    let evidence = signet_evidence::InstanceEvidence::load(&core).await?;
    let maker = signet_evidence::InstanceSignatureMaker::new(evidence, config.tsa_url.as_deref())?;
    Ok(core.with_signature_maker(Arc::new(maker)))
}

fn load_master_key(config: &Config) -> anyhow::Result<MasterKey> {
    if let Some(key) = &config.master_key {
        return MasterKey::from_hex(key.expose_secret())
            .context("master_key must be 64 hex digits");
    }
    let path = config.master_key_file();
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return MasterKey::from_hex(&text)
            .with_context(|| format!("{} must hold 64 hex digits", path.display()));
    }
    let key = MasterKey::generate();
    write_secret_file(&path, &key.to_hex())?;
    tracing::info!(path = %path.display(), "created a new master key: back it up, documents cannot be read without it");
    Ok(key)
}

fn write_secret_file(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(content.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn parse_features(names: &[String]) -> anyhow::Result<Vec<Feature>> {
    let mut features = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let feature: Feature = name
            .parse()
            .map_err(|e| anyhow::anyhow!("--features: {e}"))?;
        if !features.contains(&feature) {
            features.push(feature);
        }
    }
    Ok(features)
}

fn tenant_json(tenant: &Tenant) -> serde_json::Value {
    serde_json::json!({
        "tenantId": tenant.id.to_upper_hex(),
        "name": tenant.name,
        "status": tenant.status,
        "features": tenant.plan.features,
        "maxTransactionBytes": tenant.plan.max_envelope_bytes,
        "selfSend": tenant.self_send,
        "requireSignerAuth": tenant.plan.signer_auth_required,
    })
}

fn print_tenant(tenant: &Tenant, json: bool) {
    if json {
        println!("{}", tenant_json(tenant));
    } else {
        let features: Vec<&str> = tenant.plan.features.iter().map(|f| f.name()).collect();
        println!("tenantId: {}", tenant.id.to_upper_hex());
        println!("name: {}", tenant.name);
        println!("status: {:?}", tenant.status);
        println!("features: {}", features.join(","));
        println!("maxTransactionBytes: {}", tenant.plan.max_envelope_bytes);
        println!("selfSend: {}", tenant.self_send);
        println!("requireSignerAuth: {}", tenant.plan.signer_auth_required);
    }
}

async fn tenant(command: TenantCommand, core: Core) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create { name, plan, json } => {
            let defaults = Plan::default();
            let plan_value = Plan {
                features: match &plan.features {
                    Some(names) => parse_features(names)?,
                    None => defaults.features,
                },
                max_envelope_bytes: plan
                    .max_transaction_bytes
                    .unwrap_or(defaults.max_envelope_bytes),
                signer_auth_required: plan
                    .require_signer_auth
                    .unwrap_or(defaults.signer_auth_required),
            };
            let (tenant, key) = core
                .create_tenant(&name, plan_value, plan.self_send.unwrap_or(true))
                .await?;
            if json {
                let mut value = tenant_json(&tenant);
                value["apiKey"] = key.0.expose_secret().into();
                println!("{value}");
            } else {
                print_tenant(&tenant, false);
                println!("apiKey: {}", key.0.expose_secret());
            }
        }
        TenantCommand::Update {
            tenant,
            name,
            plan,
            status,
            webhook_url,
            json,
        } => {
            let id: TenantId = tenant
                .parse()
                .map_err(|_| anyhow::anyhow!("--tenant: not a tenant id"))?;
            let status = match status.as_deref() {
                None => None,
                Some("active") => Some(TenantStatus::Active),
                Some("suspended") => Some(TenantStatus::Suspended),
                Some(other) => anyhow::bail!("--status must be active or suspended, not {other}"),
            };
            let changes = TenantChanges {
                name,
                features: plan.features.as_deref().map(parse_features).transpose()?,
                max_envelope_bytes: plan.max_transaction_bytes,
                self_send: plan.self_send,
                signer_auth_required: plan.require_signer_auth,
                status,
            };
            let tenant = core.update_tenant(&id, changes).await?;
            let secret = match webhook_url {
                Some(url) => Some(core.set_webhook(&id, &url).await?),
                None => None,
            };
            if json {
                let mut value = tenant_json(&tenant);
                if let Some(secret) = secret {
                    value["webhookSecret"] = secret.into();
                }
                println!("{value}");
            } else {
                print_tenant(&tenant, false);
                if let Some(secret) = secret {
                    println!("webhookSecret: {secret}");
                }
            }
        }
        TenantCommand::Suspend { tenant, json } => {
            let id: TenantId = tenant
                .parse()
                .map_err(|_| anyhow::anyhow!("--tenant: not a tenant id"))?;
            let changes = TenantChanges {
                status: Some(TenantStatus::Suspended),
                ..TenantChanges::default()
            };
            let tenant = core.update_tenant(&id, changes).await?;
            print_tenant(&tenant, json);
        }
        TenantCommand::List { json } => {
            let tenants = core.tenants().await?;
            if json {
                let list: Vec<_> = tenants.iter().map(tenant_json).collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for t in tenants {
                    println!(
                        "{}  {:<9}  {}",
                        t.id.to_upper_hex(),
                        format!("{:?}", t.status).to_lowercase(),
                        t.name
                    );
                }
            }
        }
    }
    Ok(())
}

async fn seal(config: &Config, input: &Path, output: &Path, level: &str) -> anyhow::Result<()> {
    use signet_core::seal::SealLevel;
    let level = match level.to_ascii_uppercase().as_str() {
        "B-B" | "BB" => SealLevel::Basic,
        "B-T" | "BT" => SealLevel::Timestamped,
        "B-LT" | "BLT" => SealLevel::LongTerm,
        other => anyhow::bail!("--level must be B-B, B-T or B-LT, not {other}"),
    };
    let core = open_core(config).await?;
    let evidence = signet_evidence::InstanceEvidence::load(&core).await?;
    let sealer = signet_evidence::InstanceSealer::new(evidence, config.tsa_url.as_deref())?;
    let input = input.to_owned();
    let output = output.to_owned();
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let reader = std::fs::File::open(&input)
            .with_context(|| format!("cannot open {}", input.display()))?;
        // Write next to the target and rename on success, so a failure never leaves half a file.
        let dir = output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        let report = sealer
            .seal_to(
                std::io::BufReader::new(reader),
                std::io::BufWriter::new(temp.as_file_mut()),
                level,
            )
            .map_err(|e| anyhow::anyhow!("sealing failed: {e}"))?;
        temp.as_file().sync_all()?;
        temp.persist(&output)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
        Ok(report)
    })
    .await??;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn verify(
    config: &Config,
    file: &Path,
    trust: Option<&Path>,
    json: bool,
) -> anyhow::Result<()> {
    let roots = match trust {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            signet_pdf::pki::Certificate::chain_from_pem(&text)
                .map_err(|e| anyhow::anyhow!("--trust: {e}"))?
        }
        None => {
            let core = open_core(config).await?;
            vec![
                signet_evidence::InstanceEvidence::load(&core)
                    .await?
                    .pki
                    .root_cert
                    .clone(),
            ]
        }
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let options = signet_pdf::verify::VerifyOptions {
        trust_roots: roots,
        now: signet_core::clock::Clock::now(&signet_core::clock::SystemClock),
    };
    let report = signet_pdf::verify::verify_pdf(&bytes, &options)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    if !report.valid {
        std::process::exit(1);
    }
    Ok(())
}
