//! The store conformance suite, one module per port: every scenario runs on SQLite and on
//! PostgreSQL, each on its own fresh database.

use std::sync::Arc;

use signet_core::ids::*;
use signet_core::model::*;
use signet_core::store::Store;
use signet_core::values::*;
use signet_store::test_support::{Backend, TestDatabase};
use time::{Duration, OffsetDateTime};

/// Runs each scenario on both databases: `on_both!(a, b)` for scenarios that take the store,
/// `on_both!(a; with_database: c)` for those that also reach the database underneath (to
/// tamper with it or watch it).
macro_rules! on_both {
    ($($name:ident),* $(,)? $(; with_database: $($db_name:ident),* $(,)?)?) => {
        on_both!(@backend sqlite, Sqlite, [$($name),*], [$($($db_name),*)?]);
        on_both!(@backend postgres, Postgres, [$($name),*], [$($($db_name),*)?]);
    };
    (@backend $module:ident, $backend:ident, [$($name:ident),*], [$($db_name:ident),*]) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $name() -> anyhow::Result<()> {
                    let Some((store, _db)) = crate::fresh(crate::Backend::$backend).await? else {
                        return Ok(());
                    };
                    super::$name(store).await
                }
            )*
            $(
                #[tokio::test]
                async fn $db_name() -> anyhow::Result<()> {
                    let Some((store, db)) = crate::fresh(crate::Backend::$backend).await? else {
                        return Ok(());
                    };
                    super::$db_name(store, &db).await
                }
            )*
        }
    };
}

mod access;
mod batching;
mod delivery;
mod evidence;
mod jobs;
mod maintenance;
mod secrets;
mod signer_access;
mod signing;
mod tenants;

/// A store on a new, empty database; `None` when PostgreSQL is not available outside CI.
async fn fresh(backend: Backend) -> anyhow::Result<Option<(Arc<dyn Store>, TestDatabase)>> {
    signet_store::test_support::store(backend).await
}

fn now() -> OffsetDateTime {
    // Whole microseconds, as the system clock gives them and the store keeps them.
    signet_core::clock::Clock::now(&signet_core::clock::SystemClock)
}

fn tenant(name: &str) -> Tenant {
    Tenant {
        id: TenantId::random(),
        name: name.into(),
        status: TenantStatus::Active,
        plan: Plan {
            features: vec![Feature::Sms, Feature::Secret],
            max_envelope_bytes: 1234,
            signer_auth_required: true,
        },
        self_send: true,
        api_key_sealed: vec![1, 2, 3],
        webhook: None,
        created_at: now(),
    }
}

fn event(tenant: &Tenant, envelope: Option<EnvelopeId>, kind: EventKind) -> Event {
    Event {
        id: EventId::generate(),
        tenant_id: tenant.id,
        envelope_id: envelope,
        participant_id: None,
        document_id: None,
        kind,
        actor: Actor::System,
        ip: Some("192.0.2.7".parse().expect("ip")),
        at: now(),
        data: serde_json::json!({"k": "v"}),
    }
}

fn document(position: u32) -> Document {
    Document {
        id: DocumentId::generate(),
        position,
        name: format!("{position}.pdf").parse().expect("name"),
        content: DocumentContent::Pending,
        derived_from: None,
    }
}

fn content(fill: u8) -> StoredContent {
    StoredContent {
        blob: signet_core::blob::BlobKey::random(),
        size: 42,
        sha256: Sha256Digest::from_bytes([fill; 32]),
        sha3_256: Some(Sha3Digest::from_bytes([fill.wrapping_add(1); 32])),
        content_type: "application/pdf".into(),
        stored_at: now(),
    }
}

fn envelope(tenant: &Tenant) -> EnvelopeAggregate {
    let at = now();
    EnvelopeAggregate {
        envelope: Envelope {
            id: EnvelopeId::generate(),
            tenant_id: tenant.id,
            purpose: Purpose::Deliver,
            state: EnvelopeState::Draft,
            version: 0,
            sender_language: Language::Fr,
            participant_language: Language::En,
            links: LinkPolicy {
                expiration_days: 14,
                reusable: false,
            },
            notify_events: true,
            secret_question: Some("Employee number?".into()),
            created_at: at,
            upload_deadline: at + Duration::hours(1),
            confirmed_at: None,
            expires_at: None,
            closed_at: None,
        },
        documents: vec![
            Document {
                name: "a.pdf".parse().expect("name"),
                ..document(0)
            },
            Document {
                name: "b.txt".parse().expect("name"),
                ..document(1)
            },
        ],
        participants: vec![Participant {
            id: ParticipantId::generate(),
            sequence: 0,
            role: Role::Recipient,
            email: "r@example.com".parse().expect("email"),
            phone: Some(Phone::from_national("CA", "8191234567").expect("phone")),
            auth: AuthMethod::Sms,
            secret_answer_hash: None,
            authenticated_at: None,
            completed_at: None,
        }],
    }
}

fn link(envelope: &EnvelopeAggregate, token: u8) -> AccessLink {
    let id = LinkId::generate();
    AccessLink {
        id,
        envelope_id: envelope.envelope.id,
        participant_id: envelope.participants[0].id,
        key: LinkKey {
            link: Some(id),
            hash: Sha256Digest::from_bytes([token; 32]),
        },
        created_at: now(),
    }
}
