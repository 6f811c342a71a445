//! `signet-bench`: the HTTP load generator and crash-test helper behind `scripts/bench` and
//! `scripts/crash-check`. One client for both sides of every comparison, so that Signet and the
//! nginx reference are measured the same way.

mod act;
mod jwt;
mod load;

use std::io::{BufRead as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use futures::StreamExt as _;
use reqwest::StatusCode;

use jwt::Credentials;

#[derive(Debug, Parser)]
#[command(name = "signet-bench", about = "Load and crash-test helper for Signet")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates doclinc transactions (POST /transactions/cells, a fresh JWT each) under load.
    Create {
        #[command(flatten)]
        tenant: TenantArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// GETs one URL under load (the reference for a server's fastest possible answer).
    Tiny {
        /// The URL to fetch.
        #[arg(long)]
        url: String,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Creates COUNT transactions with one document each and prints, per line:
    /// `<upload URL> <confirm URL> <documentId>`.
    Transactions {
        #[command(flatten)]
        tenant: TenantArgs,
        /// How many transactions.
        #[arg(long, default_value_t = 1)]
        count: usize,
        /// Creates in flight at once. Each line is printed (and flushed) as soon as its create
        /// answered 201, so a crash test can tell answered creates from the others; a create
        /// that fails is reported on standard error and the command fails at the end.
        #[arg(long, default_value_t = 1)]
        connections: usize,
    },
    /// Confirms the transactions whose confirm URLs are read from standard input, CONNECTIONS at a
    /// time, printing `<confirm URL> <status> <linkExpiration, or the error message>` as soon as
    /// each answer has arrived whole (`error -` when none did).
    Confirm {
        #[command(flatten)]
        tenant: TenantArgs,
        /// Concurrent requests.
        #[arg(long, default_value_t = 16)]
        connections: usize,
    },
    /// The signer's act through the server: per act, uploads a document and makes an envelope
    /// for one signer (native API), signs in as a browser without JavaScript, then times the
    /// sign form's post until the signed version is stored and the envelope sealed. Then, with
    /// --page-images, times page images first rendered and then cached.
    Act {
        /// The server and the tenant (native API user: tenantId and apiKey).
        #[command(flatten)]
        tenant: TenantArgs,
        /// What to measure.
        #[command(flatten)]
        settings: act::Settings,
    },
}

#[derive(Debug, Args)]
struct TenantArgs {
    /// Signet's base URL, e.g. http://127.0.0.1:8080. `create` takes several, comma-separated
    /// (one per node): connection N sends to URL N modulo their number.
    #[arg(long)]
    url: String,
    /// The tenantId (30 hex digits).
    #[arg(long)]
    tenant: String,
    /// The tenant's apiKey (doclinc's JWTs are signed with this text's bytes; the native API
    /// takes it as the Basic password).
    #[arg(long)]
    key: String,
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// Concurrent connections, each with one request in flight.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long to measure, e.g. 20s, 500ms, 1m.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// How long to run before measuring (not counted).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 20s"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        _ => return Err(format!("unknown unit {unit:?} (ms, s or m)")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// The vendor's documented SMS example, with one document.
const CREATE_BODY: &str = r#"{"transactionType":"send","transactionLanguageRef":"EN","subjectLanguageRef":"EN","linkExpirationDays":14,"isLinkReusable":true,"isEventNotificationEnabled":false,"contacts":[{"recipientEmail":"recipient@example.com","recipientIsoCountryCode":"CA","recipientCell":"8191234567","authenticationMethod":"sms"}],"documents":[{"name":"bench.pdf"}]}"#;

fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(60))
        .build()
        .context("cannot build the HTTP client")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli.command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Create { tenant, load } => {
            let credentials = Arc::new(Credentials::new(&tenant.tenant, &tenant.key));
            let urls: Vec<String> = tenant
                .url
                .split(',')
                .map(|base| format!("{}/transactions/cells", base.trim().trim_end_matches('/')))
                .collect();
            let report = load::run(&load_settings(&load), move |client, worker, n| {
                let request = client
                    .post(&urls[worker % urls.len()])
                    .bearer_auth(credentials.token(&format!("bench-{worker}-{n}")))
                    .header("content-type", "application/json")
                    .body(CREATE_BODY);
                (request, StatusCode::CREATED)
            })
            .await?;
            report.print("create");
        }
        Command::Tiny { url, load } => {
            let report = load::run(&load_settings(&load), move |client, _, _| {
                (client.get(&url), StatusCode::OK)
            })
            .await?;
            report.print("tiny");
        }
        Command::Transactions {
            tenant,
            count,
            connections,
        } => transactions(&tenant, count, connections).await?,
        Command::Confirm {
            tenant,
            connections,
        } => confirm(&tenant, connections).await?,
        Command::Act {
            tenant: TenantArgs { url, tenant, key },
            settings,
        } => act::run(&url, &tenant, &key, &settings).await?,
    }
    Ok(())
}

fn load_settings(args: &LoadArgs) -> load::Settings {
    load::Settings {
        connections: args.connections.max(1),
        duration: args.duration,
        warmup: args.warmup,
    }
}

async fn transactions(tenant: &TenantArgs, count: usize, connections: usize) -> anyhow::Result<()> {
    let credentials = Credentials::new(&tenant.tenant, &tenant.key);
    let base = tenant.url.trim_end_matches('/');
    let client = client()?;
    let mut created = futures::stream::iter(0..count)
        .map(|n| create_one(&client, &credentials, base, n))
        .buffer_unordered(connections.max(1));
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    while let Some(result) = created.next().await {
        match result {
            Ok(line) => {
                writeln!(out, "{line}")?;
                out.flush()?;
            }
            Err(error) if connections <= 1 => return Err(error),
            Err(error) => {
                failed += 1;
                eprintln!("create failed: {error:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {count} creates failed");
    }
    Ok(())
}

/// Creates one transaction; answers `<upload URL> <confirm URL> <documentId>`.
async fn create_one(
    client: &reqwest::Client,
    credentials: &Credentials,
    base: &str,
    n: usize,
) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/transactions/cells"))
        .bearer_auth(credentials.token(&format!("setup-{n}")))
        .header("content-type", "application/json")
        .body(CREATE_BODY)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if status != StatusCode::CREATED {
        bail!("create answered {status}: {text}");
    }
    let body: serde_json::Value = serde_json::from_str(&text)?;
    let upload = body["sendTransaction"]["documents"][0]["url"]
        .as_str()
        .context("no sendTransaction.documents[0].url")?;
    let confirm = body["commands"][0]["href"]
        .as_str()
        .context("no commands[0].href")?;
    let document = upload
        .split("/uploads/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .context("the upload URL has no /uploads/{documentId}")?;
    Ok(format!("{upload} {base}{confirm} {document}"))
}

async fn confirm(tenant: &TenantArgs, connections: usize) -> anyhow::Result<()> {
    let credentials = Arc::new(Credentials::new(&tenant.tenant, &tenant.key));
    let urls: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .map(|line| line.map(|l| l.trim().to_owned()))
        .filter(|line| line.as_ref().map_or(true, |l| !l.is_empty()))
        .collect::<Result<_, _>>()?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut answers = futures::stream::iter(urls.into_iter().enumerate())
        .map(|(n, url)| {
            let client = client.clone();
            let credentials = credentials.clone();
            async move {
                let result = client
                    .post(&url)
                    .bearer_auth(credentials.token(&format!("confirm-{n}")))
                    .send()
                    .await;
                let answer = match result {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        // Only a complete answer counts as an answer.
                        match response.bytes().await {
                            Ok(body) => {
                                let body = serde_json::from_slice::<serde_json::Value>(&body)
                                    .unwrap_or_default();
                                let detail = body["linkExpiration"]
                                    .as_str()
                                    .or_else(|| body["message"].as_str())
                                    .unwrap_or("-");
                                format!("{status} {detail}")
                            }
                            Err(_) => "error -".to_owned(),
                        }
                    }
                    Err(_) => "error -".to_owned(),
                };
                (url, answer)
            }
        })
        .buffer_unordered(connections.max(1));
    let mut out = std::io::stdout().lock();
    while let Some((url, answer)) = answers.next().await {
        writeln!(out, "{url} {answer}")?;
        out.flush()?;
    }
    Ok(())
}
