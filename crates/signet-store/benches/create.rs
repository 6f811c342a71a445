//! The store's part of a doclinc create, under load: each of CONNECTIONS tasks claims a fresh
//! token id and inserts an envelope (one document, one participant, one link, one contact, one
//! event), as `POST /transactions/cells` does after parsing, for SECONDS. Prints creates/s,
//! p50/p99 latency and the process's CPU time per create, on SQLite and, when
//! `SIGNET_TEST_DATABASE_URL` names a server, on PostgreSQL.
//!
//! ```sh
//! cargo bench -p signet-store --bench create              # release
//! SIGNET_BENCH_CONNECTIONS=1 SIGNET_BENCH_SECONDS=5 cargo bench -p signet-store --bench create
//! ```
//!
//! The claim runs in the envelope's own write (one transaction); `SIGNET_BENCH_SEPARATE_CLAIM=1`
//! runs it as a write of its own first, as before, to compare.
//!
//! With one connection every write is its own batch (a transaction per request); with 64 the
//! writer commits the waiting ones together: the difference is what group commit buys.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark reads its settings from the environment and times with the system clock"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_core::ids::*;
use signet_core::model::*;
use signet_core::store::Store;
use signet_core::values::*;
use signet_store::test_support::{self, Backend};
use time::OffsetDateTime;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (100 per second on Linux).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let fields: Vec<&str> = stat.rsplit(") ").next()?.split(' ').collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(0.0)
}

fn now() -> OffsetDateTime {
    signet_core::clock::Clock::now(&signet_core::clock::SystemClock)
}

fn new_tenant() -> Tenant {
    Tenant {
        id: TenantId::random(),
        name: "Bench".into(),
        status: TenantStatus::Active,
        plan: Plan {
            features: vec![Feature::Sms],
            max_envelope_bytes: 1 << 30,
            ..Plan::default()
        },
        self_send: true,
        api_key_sealed: vec![0; 48],
        webhook: None,
        created_at: now(),
    }
}

/// One create's write: the envelope with its rows and event, and its token id's claim in the
/// same transaction (what a doclinc create does).
async fn create(store: &dyn Store, tenant: &Tenant, n: u64) -> anyhow::Result<()> {
    let at = now();
    let token = TokenClaim {
        token_id: format!("bench-{n}"),
        valid_until: at + time::Duration::minutes(10),
    };
    let envelope = Envelope {
        id: EnvelopeId::generate(),
        tenant_id: tenant.id,
        purpose: Purpose::Deliver,
        state: EnvelopeState::Draft,
        version: 0,
        sender_language: Language::En,
        participant_language: Language::En,
        links: LinkPolicy {
            expiration_days: 14,
            reusable: true,
        },
        notify_events: false,
        secret_question: None,
        created_at: at,
        upload_deadline: at + time::Duration::hours(1),
        confirmed_at: None,
        expires_at: None,
        closed_at: None,
    };
    let email: Email = "recipient@example.com"
        .parse()
        .ok()
        .ok_or_else(|| anyhow::anyhow!("email"))?;
    let phone = Phone::from_national("CA", "8191234567")
        .ok()
        .ok_or_else(|| anyhow::anyhow!("phone"))?;
    let participant = Participant {
        id: ParticipantId::generate(),
        sequence: 0,
        role: Role::Recipient,
        email: email.clone(),
        phone: Some(phone.clone()),
        auth: AuthMethod::Sms,
        secret_answer_hash: None,
        authenticated_at: None,
        completed_at: None,
    };
    let link_id = LinkId::generate();
    let link = AccessLink {
        id: link_id,
        envelope_id: envelope.id,
        participant_id: participant.id,
        key: LinkKey {
            link: Some(link_id),
            hash: Sha256Digest::from_bytes(rand::random()),
        },
        created_at: at,
    };
    let contact = Contact {
        tenant_id: tenant.id,
        email,
        language: Language::En,
        cell: Some(CellContact {
            phone,
            method: AuthMethod::Sms,
        }),
        secret: None,
        updated_at: at,
    };
    let event = Event {
        id: EventId::generate(),
        tenant_id: tenant.id,
        envelope_id: Some(envelope.id),
        participant_id: None,
        document_id: None,
        kind: EventKind::EnvelopeCreated,
        actor: Actor::System,
        ip: None,
        at,
        data: serde_json::json!({"documents": 1, "participants": 1}),
    };
    let aggregate = EnvelopeAggregate {
        envelope,
        documents: vec![Document {
            id: DocumentId::generate(),
            position: 0,
            name: "bench.pdf"
                .parse()
                .ok()
                .ok_or_else(|| anyhow::anyhow!("name"))?,
            content: DocumentContent::Pending,
            derived_from: None,
        }],
        participants: vec![participant],
    };
    if separate_claim() {
        // The path before the claim joined the create's write: two writes, each group-committed.
        let fresh = store
            .claim_token_id(&tenant.id, &token.token_id, token.valid_until, at)
            .await?;
        anyhow::ensure!(fresh, "token id {n} was claimed before");
        store
            .insert_envelope(&aggregate, &[link], &[contact], &[event])
            .await?;
    } else {
        store
            .insert_envelope_claiming(&token, at, &aggregate, &[link], &[contact], &[event])
            .await?;
    }
    Ok(())
}

/// `SIGNET_BENCH_SEPARATE_CLAIM=1` measures the claim and the create as two writes, to compare.
fn separate_claim() -> bool {
    setting("SIGNET_BENCH_SEPARATE_CLAIM", 0) == 1
}

async fn measure(
    label: &str,
    store: Arc<dyn Store>,
    connections: u64,
    seconds: u64,
) -> anyhow::Result<()> {
    let tenant = Arc::new(new_tenant());
    store.insert_tenant(&tenant, &[]).await?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let store = store.clone();
        let tenant = tenant.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut n = worker * 1_000_000_000;
            while Instant::now() < deadline {
                let t = Instant::now();
                create(store.as_ref(), &tenant, n).await?;
                latencies.push(t.elapsed());
                n += 1;
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let count = latencies.len() as f64;
    println!(
        "{label:<9} connections={connections:<3} creates/s={:>8.1} p50_ms={:.3} p99_ms={:.3} \
         cpu_ms_per_create={:.3} (bench process, store side only) load={}",
        count / elapsed,
        at(0.5),
        at(0.99),
        cpu * 1000.0 / count.max(1.0),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let connections = setting("SIGNET_BENCH_CONNECTIONS", 64);
    let seconds = setting("SIGNET_BENCH_SECONDS", 10);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            for backend in [Backend::Sqlite, Backend::Postgres] {
                let Some(db) = test_support::create(backend).await? else {
                    continue;
                };
                let store = signet_store::open(&db.url).await?;
                measure(&format!("{backend:?}"), store, connections, seconds).await?;
            }
            anyhow::Ok(())
        })
}
