//! A webhook receiver for tests: an HTTP server on loopback that records every POST (headers
//! and body) and answers with a status the test sets, to play a tenant's endpoint that is up,
//! down, or recovering.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{HeaderMap, StatusCode};

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The request headers (`webhook-id`, `webhook-signature`, …).
    pub headers: HeaderMap,
    /// The request body.
    pub body: String,
}

impl Delivered {
    /// A header's value as text, empty when missing.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

/// A running receiver, stopped when dropped.
pub struct WebhookReceiver {
    url: String,
    received: Arc<Mutex<Vec<Delivered>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WebhookReceiver {
    /// Starts a receiver on a free port of the current tokio runtime, answering `status`.
    pub async fn start(status: u16) -> anyhow::Result<Self> {
        let received: Arc<Mutex<Vec<Delivered>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(status));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post({
                let (received, status) = (received.clone(), status.clone());
                let delay_ms = delay_ms.clone();
                move |headers: HeaderMap, body: String| async move {
                    let delay = delay_ms.load(Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                    received
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(Delivered { headers, body });
                    StatusCode::from_u16(status.load(Ordering::SeqCst))
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("webhook receiver stopped: {e}");
            }
        });
        Ok(Self {
            url,
            received,
            status,
            delay_ms,
            server,
        })
    }

    /// The URL to register as the tenant's webhook.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Answers later deliveries with `status`.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Takes this long to answer each later delivery, as a slow endpoint would (so that
    /// deliveries are in flight for a while).
    pub fn answer_after(&self, delay: std::time::Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Every delivery so far, oldest first (failed ones included).
    pub fn received(&self) -> Vec<Delivered> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
