//! Defects found in review, each proved fixed on both backends: tenant renames are validated
//! like new names; a suspended tenant can neither read nor write; e-mail authentication is
//! refused at creation until e-mail codes exist (it would accept the link alone).

use reqwest::StatusCode;
use serde_json::json;
use signet_core::CoreError;
use signet_core::model::{Actor, AuthMethod, LinkPolicy, Tenant, TenantStatus};
use signet_core::service::{Caller, NewDelivery, NewParticipant, TenantChanges};
use signet_core::values::Language;
use signet_testkit::TestApp;
use signet_testkit::delivery::deliver;

signet_testkit::on_both!(
    tenant_renames_are_validated,
    a_suspended_tenant_can_neither_read_nor_write,
    email_authentication_is_refused_at_creation,
);

async fn tenant_renames_are_validated(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let id = tenant.id.parse()?;
    for bad in ["", "   ", &"x".repeat(201)] {
        let changes = TenantChanges {
            name: Some(bad.to_owned()),
            ..TenantChanges::default()
        };
        let refused = app.core.update_tenant(&id, changes).await;
        assert!(
            matches!(refused, Err(CoreError::Invalid(_))),
            "{bad:?}: {refused:?}"
        );
    }
    let changes = TenantChanges {
        name: Some("  Acme Payroll Europe ".into()),
        ..TenantChanges::default()
    };
    let renamed = app.core.update_tenant(&id, changes).await?;
    assert_eq!(renamed.name, "Acme Payroll Europe");
    Ok(())
}

fn caller(tenant: Tenant) -> Caller {
    Caller {
        actor: Actor::Tenant {
            tenant_id: tenant.id.to_upper_hex(),
            dialect: "test".into(),
            credential: None,
        },
        tenant,
        ip: None,
    }
}

fn cells_body() -> serde_json::Value {
    json!({
        "contacts": [{
            "recipientEmail": "recipient@example.com",
            "recipientIsoCountryCode": "CA",
            "recipientCell": "8191234567"
        }],
        "documents": [{ "name": "payslip.pdf" }]
    })
}

async fn a_suspended_tenant_can_neither_read_nor_write(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let delivery = deliver(
        &app,
        &tenant,
        "/transactions/cells",
        &cells_body(),
        &[b"%PDF-1.7\n%%EOF\n".to_vec()],
    )
    .await?;
    let id = tenant.id.parse()?;
    let envelope = delivery.transaction_id.parse()?;
    let changes = TenantChanges {
        status: Some(TenantStatus::Suspended),
        ..TenantChanges::default()
    };
    let suspended = caller(app.core.update_tenant(&id, changes).await?);
    let read = app.core.envelope(&suspended, &envelope).await;
    assert!(matches!(read, Err(CoreError::TenantSuspended)), "{read:?}");
    let events = app.core.envelope_events(&suspended, &envelope).await;
    assert!(
        matches!(events, Err(CoreError::TenantSuspended)),
        "{events:?}"
    );
    let evidence = app
        .core
        .document_evidence(&suspended, &"0".repeat(64))
        .await;
    assert!(
        matches!(evidence, Err(CoreError::TenantSuspended)),
        "{evidence:?}"
    );
    // Cancelling is a write: refused with doclinc's "invalid subscription".
    let response = app
        .http
        .delete(app.url(&delivery.command("Cancel")))
        .header("Authorization", tenant.bearer())
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 461);
    let active = TenantChanges {
        status: Some(TenantStatus::Active),
        ..TenantChanges::default()
    };
    let reactivated = caller(app.core.update_tenant(&id, active).await?);
    app.core.envelope(&reactivated, &envelope).await?;
    assert_eq!(
        app.http
            .delete(app.url(&delivery.command("Cancel")))
            .header("Authorization", tenant.bearer())
            .send()
            .await?
            .status(),
        StatusCode::NO_CONTENT
    );
    Ok(())
}

async fn email_authentication_is_refused_at_creation(app: TestApp) -> anyhow::Result<()> {
    let tenant = app.tenant().await?;
    let (stored, _) = app
        .core
        .tenant_with_key(&tenant.id.parse()?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the tenant exists"))?;
    let request = NewDelivery {
        sender_language: Language::En,
        participant_language: Language::En,
        links: LinkPolicy {
            expiration_days: 14,
            reusable: true,
        },
        notify_events: false,
        secret_question: None,
        participants: vec![NewParticipant {
            email: "recipient@example.com".parse()?,
            phone: None,
            auth: AuthMethod::Email,
            secret_answer: None,
        }],
        documents: vec!["payslip.pdf".parse()?],
    };
    let before = app.event_count().await?;
    let refused = app.core.create_delivery(&caller(stored), request).await;
    match refused {
        Err(err @ CoreError::Invalid(_)) => {
            assert!(err.to_string().contains("e-mail authentication"), "{err}");
            // Every dialect answers an invalid request with 400 in its own shape.
            assert_eq!(err.kind(), signet_core::ErrorKind::Invalid);
        }
        other => panic!("e-mail authentication was not refused: {other:?}"),
    }
    assert_eq!(app.event_count().await?, before, "nothing was recorded");
    Ok(())
}
