//! Several nodes: three real `signet serve` processes share one fresh PostgreSQL database and
//! one S3 bucket (moto), one SMTP server (aiosmtpd), one SMS provider and one webhook receiver.
//! Full doclinc flows — create, presigned upload, confirm, the e-mailed link, an SMS code on
//! the portal, the download — are spread round-robin over the three, each step on the next
//! node; one node is SIGKILLed mid-run and restarted. Then:
//!
//! - every answered confirm is intact: its document downloads with the uploaded SHA-256, and
//!   `signet check --blobs all` reads every stored blob back;
//! - every invitation e-mail and every retrieval webhook arrived, and none twice — except a job
//!   the store shows was run again after its worker died (at-least-once, never two workers at
//!   once);
//! - `signet ledger verify` recomputes one log, and every checkpoint any node showed during the
//!   run is consistent with every other (the consistency proofs between them verify);
//! - all nodes serve one log key.
//!
//! Needs PostgreSQL, S3 and aiosmtpd: skipped outside CI without them, failing in CI
//! (`CI=true`). Waits are bounded generously; nothing asserts speed.

#![allow(
    clippy::disallowed_methods,
    reason = "the nodes under test read the system clock too"
)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use common::Server;
use serde_json::{Value, json};
use sha2::Digest as _;
use signet_testkit::phone::PhoneCapture;
use signet_testkit::smtp::SmtpServer;
use signet_testkit::webhook::WebhookReceiver;

/// Flows in the run, and how many run at once.
const FLOWS: usize = 24;
const AT_ONCE: usize = 4;
/// The node killed, and after how many answered confirms.
const VICTIM: usize = 1;
const KILL_AFTER: usize = 8;
/// Flows from this one on start only once the killed node is back, so that the run goes on
/// across the restart whatever the machine's speed.
const AFTER_RESTART: usize = 16;
/// The longest any wait may take before the test fails instead of hanging.
const BOUND: Duration = Duration::from_secs(180);

/// What every flow shares.
struct Run {
    bases: Vec<String>,
    http: reqwest::Client,
    tenant_id: String,
    api_key: String,
    smtp: SmtpServer,
    phone: PhoneCapture,
    confirmed: AtomicUsize,
    /// Turns true once the killed node serves again.
    restarted: tokio::sync::watch::Sender<bool>,
    /// Every checkpoint a node showed, with the node.
    checkpoints: std::sync::Mutex<Vec<(usize, String)>>,
}

/// A whole HTTP answer.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: bytes::Bytes,
}

/// How a flow ended.
#[derive(Debug)]
enum Outcome {
    /// A step before the confirm was answered got no answer (its node was killed): the client
    /// was told nothing, so nothing is owed.
    Unanswered(&'static str),
    /// Confirmed, and the recipient downloaded the document.
    Delivered {
        transaction_id: String,
        recipient: String,
    },
}

impl Run {
    fn node(&self, flow: usize, step: usize) -> usize {
        (flow + step) % self.bases.len()
    }

    fn token(&self) -> String {
        common::bearer(&self.tenant_id, &self.api_key)
    }

    /// Sends a request that may be repeated (a read, or a portal step) to node `first`, and
    /// when it gets no whole answer (the node is down, or died while answering) to the next
    /// ones, as a load balancer would; the answer, read to its end.
    async fn to_any(
        &self,
        first: usize,
        request: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<Answer> {
        let start = Instant::now();
        let mut node = first;
        loop {
            let answer = match request(&self.bases[node]).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    response.bytes().await.map(|body| Answer {
                        status,
                        headers,
                        body,
                    })
                }
                Err(error) => Err(error),
            };
            match answer {
                Ok(answer) => return Ok(answer),
                Err(error) if !error.is_builder() => {
                    anyhow::ensure!(start.elapsed() < BOUND, "no node answers: {error}");
                    node = (node + 1) % self.bases.len();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Records the checkpoint node `node` shows now.
    async fn observe_checkpoint(&self, node: usize) -> anyhow::Result<()> {
        let answer = self
            .to_any(node, |base| {
                self.http.get(format!("{base}/v1/ledger/checkpoint"))
            })
            .await?;
        anyhow::ensure!(answer.status == 200, "checkpoint: {}", answer.status);
        let text = String::from_utf8(answer.body.to_vec())?;
        self.checkpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((node, text));
        Ok(())
    }
}

/// The path of a URL (`/r/…`), so that it can be sent to any node.
fn path_of(url: &str) -> anyhow::Result<String> {
    let rest = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .context("an absolute URL")?;
    Ok(rest[rest.find('/').context("a path")?..].to_owned())
}

fn document_for(flow: usize) -> Vec<u8> {
    format!("%PDF-1.7 pay slip {flow} for the three-node run\n%%EOF\n")
        .repeat(20)
        .into_bytes()
}

fn recipient_of(flow: usize) -> (String, String, String) {
    (
        format!("r{flow}@example.com"),
        format!("8195550{flow:03}"),
        format!("+18195550{flow:03}"),
    )
}

/// One doclinc flow, each step on the next node.
async fn flow(run: &Run, i: usize) -> anyhow::Result<Outcome> {
    if i >= AFTER_RESTART {
        run.restarted.subscribe().wait_for(|back| *back).await?;
    }
    let (email, cell, e164) = recipient_of(i);
    let body = json!({
        "transactionType": "send",
        "transactionLanguageRef": "EN",
        "subjectLanguageRef": "EN",
        "linkExpirationDays": 14,
        "isLinkReusable": true,
        "isEventNotificationEnabled": true,
        "contacts": [{
            "recipientEmail": email,
            "recipientIsoCountryCode": "CA",
            "recipientCell": cell,
            "authenticationMethod": "sms"
        }],
        "documents": [{ "name": format!("pay-{i}.pdf") }]
    });
    // Create, upload and confirm: a step whose node dies leaves the flow unanswered.
    let created = match run
        .http
        .post(format!("{}/transactions/cells", run.bases[run.node(i, 0)]))
        .bearer_auth(run.token())
        .json(&body)
        .send()
        .await
    {
        Ok(response) => response,
        Err(e) if e.is_connect() || e.is_request() => return Ok(Outcome::Unanswered("create")),
        Err(e) => return Err(e.into()),
    };
    anyhow::ensure!(created.status() == 201, "create: {}", created.status());
    let created: Value = match created.bytes().await {
        Ok(body) => serde_json::from_slice(&body)?,
        Err(_) => return Ok(Outcome::Unanswered("create")),
    };
    let upload = path_of(
        created["sendTransaction"]["documents"][0]["url"]
            .as_str()
            .context("an upload URL")?,
    )?;
    let document = document_for(i);
    match run
        .http
        .put(format!("{}{upload}", run.bases[run.node(i, 1)]))
        .body(document.clone())
        .send()
        .await
    {
        Ok(response) => {
            response.error_for_status()?;
        }
        Err(e) if e.is_connect() || e.is_request() => return Ok(Outcome::Unanswered("upload")),
        Err(e) => return Err(e.into()),
    }
    let confirm = created["commands"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["rel"] == "Confirm"))
        .and_then(|c| c["href"].as_str())
        .context("a Confirm command")?;
    match run
        .http
        .post(format!("{}{confirm}", run.bases[run.node(i, 2)]))
        .bearer_auth(run.token())
        .send()
        .await
    {
        Ok(response) => {
            response.error_for_status()?;
        }
        Err(e) if e.is_connect() || e.is_request() => return Ok(Outcome::Unanswered("confirm")),
        Err(e) => return Err(e.into()),
    }
    run.confirmed.fetch_add(1, Ordering::SeqCst);
    let transaction_id = created["sendTransaction"]["transactionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    run.observe_checkpoint(run.node(i, 2)).await?;

    // The confirm was answered: from here on everything must work, whichever node is down.
    let link = wait_for_link(run, &email).await?;
    let link = path_of(&link)?;
    // A code, entered on another node. A code whose request got no answer may have been
    // sent anyway, and a newer one replaces it: then ask again.
    let mut cookie = None;
    for attempt in 0..3 {
        let before = run.phone.messages_to(&e164).len();
        let sent = run
            .to_any(run.node(i, 3 + attempt), |base| {
                run.http.post(format!("{base}{link}/code"))
            })
            .await?;
        anyhow::ensure!(sent.status == 303, "sending a code: {}", sent.status);
        let messages = run
            .phone
            .wait_for_messages(&e164, before + 1, BOUND)
            .await?;
        let code = messages
            .last()
            .and_then(|m| m.code())
            .context("a code in the message")?;
        let verified = run
            .to_any(run.node(i, 4 + attempt), |base| {
                run.http
                    .post(format!("{base}{link}/verify"))
                    .form(&[("code", code.as_str())])
            })
            .await?;
        if verified.status == 303 {
            cookie = verified
                .headers
                .get("set-cookie")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(str::to_owned);
            break;
        }
    }
    let cookie = cookie.with_context(|| format!("flow {i}: no code was accepted"))?;
    let page = run
        .to_any(run.node(i, 5), |base| {
            run.http
                .get(format!("{base}{link}"))
                .header("Cookie", &cookie)
        })
        .await?;
    anyhow::ensure!(page.status == 200, "the documents page: {}", page.status);
    let page = String::from_utf8(page.body.to_vec())?;
    let href = page
        .split("class=\"download\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .with_context(|| format!("a download link in {page}"))?
        .replace("&amp;", "&");
    let download = run
        .to_any(run.node(i, 6), |base| {
            run.http
                .get(format!("{base}{href}"))
                .header("Cookie", &cookie)
        })
        .await?;
    anyhow::ensure!(download.status == 200, "the download: {}", download.status);
    let bytes = download.body;
    anyhow::ensure!(
        sha2::Sha256::digest(&bytes) == sha2::Sha256::digest(&document),
        "flow {i}: the download is not the uploaded document"
    );
    run.observe_checkpoint(run.node(i, 6)).await?;
    Ok(Outcome::Delivered {
        transaction_id,
        recipient: email,
    })
}

/// The link of the newest invitation to `email`, waiting for one.
async fn wait_for_link(run: &Run, email: &str) -> anyhow::Result<String> {
    let start = Instant::now();
    loop {
        let mails = run.smtp.messages()?;
        if let Some(link) = mails
            .iter()
            .filter(|m| m.to.contains(email))
            .flat_map(|m| m.text.split_whitespace())
            .find(|w| w.contains("/r/"))
        {
            return Ok(link.to_owned());
        }
        anyhow::ensure!(start.elapsed() < BOUND, "no invitation to {email}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Jobs of `kind` the store shows were run more than once (their worker died, or they failed).
fn jobs_run_again(dir: &Path, env: &[(&str, &str)], kind: &str) -> anyhow::Result<usize> {
    let done = common::signet(dir, env, &["jobs", "list", "--state", "done"])?;
    Ok(done
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(kind))
        .filter(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("attempts="))
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n > 1)
        })
        .count())
}

/// Waits until no e-mail, code or webhook job is waiting or running.
async fn wait_for_jobs_to_settle(dir: &Path, env: &[(&str, &str)]) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let running = common::signet(dir, env, &["jobs", "list", "--state", "running"])?;
        let pending = common::signet(dir, env, &["jobs", "list", "--state", "pending"])?;
        let waiting = pending
            .lines()
            .filter(|l| !l.contains("expire_envelope"))
            .count();
        if running.trim().is_empty() && waiting == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            start.elapsed() < BOUND,
            "jobs never settled:\n{running}\n{pending}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn three_nodes_share_one_database_and_one_bucket() -> anyhow::Result<()> {
    let Some(db) = signet_store::test_support::create(signet_testkit::Backend::Postgres).await?
    else {
        return Ok(());
    };
    let Some(s3) = signet_testkit::s3_endpoint() else {
        return Ok(());
    };
    let Some(python) = signet_testkit::smtp::venv_python_with("aiosmtpd") else {
        return Ok(());
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(BOUND)
        .build()?;
    let bucket = format!("signet-nodes-{}", hex::encode(rand::random::<[u8; 6]>()));
    http.put(format!("{s3}/{bucket}"))
        .send()
        .await?
        .error_for_status()
        .context("creating the bucket")?;
    let smtp = SmtpServer::start(&python, None).await?;
    let phone = PhoneCapture::start().await?;
    // A slow receiver: each delivery keeps a worker busy for a while, so that the node killed
    // below is killed while it holds a job.
    let hooks = WebhookReceiver::start(204).await?;
    hooks.answer_after(Duration::from_millis(700));
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let sms_url = phone.url().to_owned();
    let master = hex::encode(rand::random::<[u8; 32]>());
    let env: Vec<(&str, &str)> = vec![
        ("SIGNET_DATABASE_URL", &db.url),
        ("SIGNET_MASTER_KEY", &master),
        ("SIGNET_S3_BUCKET", &bucket),
        ("SIGNET_S3_ENDPOINT", &s3),
        ("SIGNET_S3_ACCESS_KEY_ID", "test"),
        ("SIGNET_S3_SECRET_ACCESS_KEY", "test"),
        ("SIGNET_S3_ALLOW_HTTP", "true"),
        ("SIGNET_SMTP_URL", &smtp_url),
        ("SIGNET_MAIL_FROM", "Signet <no-reply@signet.test>"),
        ("SIGNET_SMS_URL", &sms_url),
        ("SIGNET_ALLOW_PRIVATE_TARGETS", "true"),
        ("SIGNET_LOG", "info"),
    ];
    let dir = tempfile::tempdir()?;
    let node_dir = |n: usize| -> PathBuf { dir.path().join(format!("node-{n}")) };
    for n in 0..3 {
        std::fs::create_dir_all(node_dir(n))?;
    }

    // The operator makes a tenant (e-mailing its recipients itself: no self-send) with a
    // webhook, on one node's command line.
    let tenant: Value = serde_json::from_str(&common::signet(
        &node_dir(0),
        &env,
        &[
            "tenant",
            "create",
            "--name",
            "Acme Payroll",
            "--self-send",
            "false",
            "--json",
        ],
    )?)?;
    let tenant_id = tenant["tenantId"].as_str().unwrap_or_default().to_owned();
    let api_key = tenant["apiKey"].as_str().unwrap_or_default().to_owned();
    common::signet(
        &node_dir(0),
        &env,
        &[
            "tenant",
            "update",
            "--tenant",
            &tenant_id,
            "--webhook-url",
            hooks.url(),
        ],
    )?;

    // Three nodes, started at once: instance secrets (the log key, the PKI) are created by
    // whichever gets there first, and the others must use that one.
    let mut nodes = Vec::new();
    for n in 0..3 {
        nodes.push(Server::start(&node_dir(n), &env)?);
    }
    for node in &mut nodes {
        node.wait_until_serving(&http).await?;
    }
    let run = Arc::new(Run {
        bases: nodes.iter().map(|n| n.base.clone()).collect(),
        http: http.clone(),
        tenant_id,
        api_key,
        smtp,
        phone,
        confirmed: AtomicUsize::new(0),
        restarted: tokio::sync::watch::Sender::new(false),
        checkpoints: std::sync::Mutex::new(Vec::new()),
    });

    let flows = tokio::spawn({
        let run = run.clone();
        async move {
            use futures::StreamExt as _;
            futures::stream::iter(0..FLOWS)
                .map(|i| {
                    let run = run.clone();
                    async move { (i, flow(&run, i).await) }
                })
                .buffer_unordered(AT_ONCE)
                .collect::<Vec<_>>()
                .await
        }
    });

    // Mid-run, one node dies without a word while its worker holds a job, and comes back on
    // its port.
    let holding = format!(
        "SELECT 1 FROM jobs WHERE state = 'running' AND worker LIKE 'worker-{}-%'",
        nodes[VICTIM].child.id()
    );
    let start = Instant::now();
    loop {
        // PostgreSQL counts the rows a SELECT returns as the rows it affected.
        if run.confirmed.load(Ordering::SeqCst) >= KILL_AFTER
            && signet_store::test_support::execute(&db.url, &holding).await? > 0
        {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < BOUND && !flows.is_finished(),
            "the run never got to {KILL_AFTER} confirms with node {VICTIM} holding a job"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let port: u16 = run.bases[VICTIM]
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .parse()?;
    nodes[VICTIM].kill()?;
    let killed_at = Instant::now();
    let confirmed_at_kill = run.confirmed.load(Ordering::SeqCst);
    nodes[VICTIM] = Server::start_on(&node_dir(VICTIM), port, &env)?;
    nodes[VICTIM].wait_until_serving(&http).await?;
    run.restarted.send_replace(true);

    let outcomes = tokio::time::timeout(BOUND * 2, flows).await??;
    let mut delivered = Vec::new();
    for (i, outcome) in outcomes {
        match outcome.with_context(|| format!("flow {i}"))? {
            Outcome::Delivered {
                transaction_id,
                recipient,
            } => delivered.push((transaction_id, recipient)),
            Outcome::Unanswered(step) => eprintln!("flow {i}: the {step} was not answered"),
        }
    }
    assert!(
        run.confirmed.load(Ordering::SeqCst) > confirmed_at_kill,
        "confirms were answered after the kill too"
    );
    assert!(
        delivered.len() >= FLOWS / 2,
        "most flows went through: {}",
        delivered.len()
    );
    for n in 0..3 {
        run.observe_checkpoint(n).await?;
    }

    // E-mails and webhooks: each at least once; none twice unless the store shows its job ran
    // again (its worker was killed holding it).
    wait_for_jobs_to_settle(&node_dir(0), &env).await?;
    eprintln!(
        "jobs settled {:?} after the kill; run again: {} invitations, {} webhooks",
        killed_at.elapsed(),
        jobs_run_again(&node_dir(0), &env, "send_invitation")?,
        jobs_run_again(&node_dir(0), &env, "deliver_webhook")?
    );
    let mails = run.smtp.messages()?;
    let mut mails_to: BTreeMap<String, usize> = BTreeMap::new();
    for mail in &mails {
        *mails_to.entry(mail.to.clone()).or_default() += 1;
    }
    let mut extra_mails = 0;
    for (_, recipient) in &delivered {
        let count = mails
            .iter()
            .filter(|m| m.to.contains(recipient.as_str()))
            .count();
        assert!(count >= 1, "no invitation to {recipient}");
        extra_mails += count - 1;
    }
    let received = hooks.received();
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut retrieved = BTreeSet::new();
    for hook in &received {
        *by_id.entry(hook.header("webhook-id")).or_default() += 1;
        let message: Value = serde_json::from_str(&hook.body)?;
        if message["type"] == "document.retrieved" {
            retrieved.insert(
                message["data"]["transactionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    for (transaction_id, _) in &delivered {
        assert!(
            retrieved.contains(transaction_id),
            "no retrieval webhook for {transaction_id}"
        );
    }
    let extra_hooks: usize = by_id.values().map(|n| n - 1).sum();
    let env_ref = &env;
    assert!(
        extra_mails <= jobs_run_again(&node_dir(0), env_ref, "send_invitation")?,
        "{extra_mails} invitation(s) sent twice by jobs run once: {mails_to:?}"
    );
    assert!(
        extra_hooks <= jobs_run_again(&node_dir(0), env_ref, "deliver_webhook")?,
        "{extra_hooks} webhook(s) delivered twice by jobs run once: {by_id:?}"
    );

    // One database, one bucket, one log.
    let checked = common::signet(&node_dir(2), &env, &["check", "--blobs", "all"])?;
    assert!(checked.contains(", 0 missing or damaged"), "{checked}");
    let verified = common::signet(&node_dir(2), &env, &["ledger", "verify"])?;
    assert!(verified.starts_with("ok:"), "{verified}");
    let mut keys = BTreeSet::new();
    for base in &run.bases {
        keys.insert(
            http.get(format!("{base}/v1/ledger/public-key"))
                .send()
                .await?
                .error_for_status()?
                .text()
                .await?,
        );
    }
    assert_eq!(keys.len(), 1, "every node serves one log key: {keys:?}");
    let key = keys.into_iter().next().unwrap_or_default();
    let verifier = signet_ledger::NoteVerifier::from_verifier_key_string(key.trim())
        .map_err(|e| anyhow::anyhow!("log key: {e}"))?;
    let checkpoints = run
        .checkpoints
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut heads: BTreeMap<u64, signet_ledger::Hash> = BTreeMap::new();
    let mut seen_by: BTreeSet<usize> = BTreeSet::new();
    for (node, note) in &checkpoints {
        let head = verifier
            .open(note)
            .map_err(|e| anyhow::anyhow!("node {node}'s checkpoint does not verify: {e}"))?;
        if let Some(root) = heads.insert(head.size, head.root_hash) {
            assert_eq!(root, head.root_hash, "two roots for size {}", head.size);
        }
        seen_by.insert(*node);
    }
    assert_eq!(seen_by.len(), 3, "every node showed checkpoints");
    let heads: Vec<(u64, signet_ledger::Hash)> = heads.into_iter().collect();
    for (a, (first, first_root)) in heads.iter().enumerate() {
        for (b, (second, second_root)) in heads.iter().enumerate().skip(a + 1) {
            let base = &run.bases[(a + b) % 3];
            let proof: Value = http
                .get(format!(
                    "{base}/v1/ledger/proof/consistency?first={first}&second={second}"
                ))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let proof: Vec<signet_ledger::Hash> = proof["proof"]
                .as_array()
                .context("a proof")?
                .iter()
                .map(|h| {
                    let digits = h.as_str().unwrap_or_default().trim_start_matches("0x");
                    hex::decode(digits)
                        .ok()
                        .and_then(|b| b.try_into().ok())
                        .context("a 32-byte hash")
                })
                .collect::<anyhow::Result<_>>()?;
            signet_ledger::verify_consistency(*first, *second, first_root, second_root, &proof)
                .map_err(|e| anyhow::anyhow!("checkpoints {first} and {second}: {e}"))?;
        }
    }
    drop(nodes);
    Ok(())
}
