//! Webhook delivery to a local receiver, with signatures checked by the independent
//! `standardwebhooks` Python package.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{CaptureServer, Captured};
use signet_notify::target::{TargetError, TargetPolicy};
use signet_notify::webhook::{Deliverer, Delivery, DeliveryError, WebhookSecret, generate_secret};

const LAX: TargetPolicy = TargetPolicy {
    allow_private_targets: true,
};

const VERIFY: &str = r#"
import json, sys
from standardwebhooks import Webhook
secret, headers_json, body_path = sys.argv[1], sys.argv[2], sys.argv[3]
body = open(body_path, "rb").read()
payload = Webhook(secret).verify(body, json.loads(headers_json))
print(json.dumps(payload))
"#;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Runs the Python verifier on what the receiver got; `Ok(parsed payload)` or `Err(stderr)`.
fn verify_with_python(
    python: &Path,
    secret: &str,
    got: &Captured,
    body: &[u8],
) -> Result<String, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let body_path = dir.path().join("body");
    std::fs::write(&body_path, body).expect("write body");
    let headers: serde_json::Map<String, serde_json::Value> = got
        .headers
        .iter()
        .filter(|(n, _)| n.starts_with("webhook-"))
        .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let out = Command::new(python)
        .args(["-c", VERIFY, secret])
        .arg(serde_json::Value::Object(headers).to_string())
        .arg(&body_path)
        .output()
        .expect("run python");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn signatures_verify_with_standardwebhooks_including_rotation() {
    let Some(python) = common::python_with(&["standardwebhooks"]) else {
        return;
    };
    let mut server = CaptureServer::start().await;
    let old = generate_secret();
    let new = generate_secret();
    let other = generate_secret();
    let secrets = [
        WebhookSecret::parse(&new).expect("new"),
        WebhookSecret::parse(&old).expect("old"),
    ];
    let body =
        r#"{"type":"document.retrieved","eventId":"evt_1","data":{"recipient":"Zoé"}}"#.as_bytes();
    let delivery = Delivery {
        msg_id: "msg_2Kx9",
        timestamp: now(),
        body,
        secrets: &secrets,
    };
    let deliverer = Deliverer::new(LAX, Duration::from_secs(10));
    deliverer
        .deliver(&server.url("/hooks/signet"), &delivery)
        .await
        .expect("delivered");
    let got = server.next().await;
    assert_eq!(
        (got.method.as_str(), got.path.as_str()),
        ("POST", "/hooks/signet")
    );
    assert_eq!(got.body, body);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("webhook-id"), Some("msg_2Kx9"));
    assert_eq!(
        got.header("webhook-timestamp"),
        Some(delivery.timestamp.to_string().as_str())
    );
    let signature = got.header("webhook-signature").expect("signature");
    assert_eq!(signature.split(' ').count(), 2, "{signature}");
    assert!(signature.split(' ').all(|s| s.starts_with("v1,")));

    // Receivers holding either secret accept; one holding an unrelated secret does not.
    let payload = verify_with_python(&python, &new, &got, body).expect("new secret verifies");
    assert!(payload.contains("document.retrieved"), "{payload}");
    verify_with_python(&python, &old, &got, body).expect("old secret verifies");
    let err = verify_with_python(&python, &other, &got, body).expect_err("unrelated secret");
    assert!(err.contains("No matching signature"), "{err}");

    // A tampered body fails.
    let tampered =
        r#"{"type":"document.retrieved","eventId":"evt_2","data":{"recipient":"Zoé"}}"#.as_bytes();
    let err = verify_with_python(&python, &new, &got, tampered).expect_err("tampered body");
    assert!(err.contains("No matching signature"), "{err}");
}

#[tokio::test]
async fn single_secret_and_stale_timestamp() {
    let Some(python) = common::python_with(&["standardwebhooks"]) else {
        return;
    };
    let mut server = CaptureServer::start().await;
    let secret = generate_secret();
    let secrets = [WebhookSecret::parse(&secret).expect("secret")];
    let deliverer = Deliverer::new(LAX, Duration::from_secs(10));
    let body = b"{}";
    for (timestamp, ok) in [(now(), true), (now() - 3600, false)] {
        let delivery = Delivery {
            msg_id: "msg_ts",
            timestamp,
            body,
            secrets: &secrets,
        };
        deliverer
            .deliver(&server.url("/"), &delivery)
            .await
            .expect("delivered");
        let got = server.next().await;
        assert_eq!(
            got.header("webhook-signature").map(|s| s.contains(' ')),
            Some(false)
        );
        let verdict = verify_with_python(&python, &secret, &got, body);
        assert_eq!(verdict.is_ok(), ok, "{verdict:?}");
    }
}

#[tokio::test]
async fn non_2xx_is_a_retryable_status_error() {
    let mut server = CaptureServer::start().await;
    let secrets = [WebhookSecret::parse(&generate_secret()).expect("secret")];
    let deliverer = Deliverer::new(LAX, Duration::from_secs(10));
    let delivery = Delivery {
        msg_id: "msg_s",
        timestamp: now(),
        body: b"{}",
        secrets: &secrets,
    };
    for status in [200, 202, 204] {
        server.answer_with(status);
        deliverer
            .deliver(&server.url("/"), &delivery)
            .await
            .unwrap_or_else(|e| panic!("{status}: {e}"));
        server.next().await;
    }
    for status in [302, 400, 410, 500, 503] {
        server.answer_with(status);
        let err = deliverer
            .deliver(&server.url("/"), &delivery)
            .await
            .expect_err("not 2xx");
        assert!(
            matches!(err, DeliveryError::Status { status: s } if s == status),
            "{err}"
        );
        assert!(err.is_retryable());
        server.next().await;
    }
}

#[tokio::test]
async fn connection_refused_timeout_and_refused_target() {
    let secrets = [WebhookSecret::parse(&generate_secret()).expect("secret")];
    let delivery = Delivery {
        msg_id: "msg_e",
        timestamp: now(),
        body: b"{}",
        secrets: &secrets,
    };
    let lax = Deliverer::new(LAX, Duration::from_millis(500));

    let url = format!("http://127.0.0.1:{}/", common::closed_port());
    let err = lax.deliver(&url, &delivery).await.expect_err("closed port");
    assert!(matches!(err, DeliveryError::ConnectionRefused), "{err}");
    assert!(err.is_retryable());

    // A receiver that accepts the connection and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", silent.local_addr().expect("addr"));
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let err = lax.deliver(&url, &delivery).await.expect_err("silent");
    assert!(matches!(err, DeliveryError::Timeout), "{err}");
    assert!(err.is_retryable());
    hold.abort();

    // The default policy refuses loopback before connecting, for good.
    let strict = Deliverer::new(TargetPolicy::default(), Duration::from_secs(5));
    let err = strict
        .deliver("http://[::ffff:127.0.0.1]:9/", &delivery)
        .await
        .expect_err("loopback");
    assert!(
        matches!(err, DeliveryError::Target(TargetError::Forbidden { .. })),
        "{err}"
    );
    assert!(!err.is_retryable());

    let err = strict
        .deliver(
            "http://93.184.215.14/",
            &Delivery {
                secrets: &[],
                ..delivery
            },
        )
        .await
        .expect_err("no secret");
    assert!(matches!(err, DeliveryError::NoSecret));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let mut server = CaptureServer::start().await;
    server.answer_with(307);
    let secrets = [WebhookSecret::parse(&generate_secret()).expect("secret")];
    let delivery = Delivery {
        msg_id: "msg_r",
        timestamp: now(),
        body: b"{}",
        secrets: &secrets,
    };
    let err = Deliverer::new(LAX, Duration::from_secs(5))
        .deliver(&server.url("/"), &delivery)
        .await
        .expect_err("redirect is not success");
    assert!(
        matches!(err, DeliveryError::Status { status: 307 }),
        "{err}"
    );
    assert_eq!(server.next().await.path, "/");
    assert!(
        server.quiet_for(Duration::from_millis(300)).await,
        "the Location was followed"
    );
}
