//! What an operator's tooling talks to: `/healthz` (the process is alive), `/readyz` (the
//! database takes writes and the blob store answers), `/metrics` (Prometheus text), and the
//! request id given to every request and response and carried by every log line of a request.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use signet_core::jobs::JobState;

use crate::AppState;

/// The request id header, read from the client when well-formed and always answered.
pub const REQUEST_ID: &str = "x-request-id";

/// A request's id, in its extensions for the trace span and handlers.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Latency buckets (seconds), from a cached read to a large upload.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Jobs counted per state and kind at each scrape, at most (the count is a floor beyond it).
const JOBS_COUNTED: u32 = 10_000;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(scrape))
}

/// The process-wide Prometheus recorder, installed on first use. `None` when another recorder
/// was installed first (metrics then go there, and `/metrics` answers 404).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = match PrometheusBuilder::new().set_buckets(BUCKETS) {
                Ok(builder) => builder.build_recorder(),
                Err(error) => {
                    tracing::warn!(%error, "metrics disabled");
                    return None;
                }
            };
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed: /metrics is disabled");
                return None;
            }
            // Histogram samples pile up until drained; a scrape drains them, but nothing says
            // anyone scrapes.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let upkeep = handle.clone();
                runtime.spawn(async move {
                    let mut every = tokio::time::interval(Duration::from_secs(5));
                    loop {
                        every.tick().await;
                        upkeep.run_upkeep();
                    }
                });
            }
            Some(handle)
        })
        .as_ref()
}

/// Gives the request its id (the client's when well-formed, else a fresh one), answers it in
/// `x-request-id`, and counts the request by route template and status with its latency (to
/// the response head: a download's streaming is not included).
pub(crate) async fn observe(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| well_formed(v))
        .map(str::to_owned)
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();
    // The template, never the path: paths carry tokens and ids (secrets, and unbounded labels).
    let route = request.extensions().get::<MatchedPath>().cloned();
    let started = Instant::now();
    let mut response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let (requests, latency) = request_metrics(&method, route, response.status());
    requests.increment(1);
    latency.record(elapsed);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The request counter and latency histogram of one method, route template and status.
type RequestMetrics = (metrics::Counter, metrics::Histogram);

/// The handles of [`RequestMetrics`], looked up once per label set: building a metrics key
/// allocates and hashes its labels, which a request should not pay for every time.
fn request_metrics(method: &Method, route: &str, status: StatusCode) -> RequestMetrics {
    type ByRoute = HashMap<String, Vec<(Method, StatusCode, RequestMetrics)>>;
    static HANDLES: OnceLock<RwLock<ByRoute>> = OnceLock::new();
    let handles = HANDLES.get_or_init(RwLock::default);
    let find = |by_route: &ByRoute| {
        by_route.get(route).and_then(|sets| {
            sets.iter()
                .find(|(m, s, _)| m == method && *s == status)
                .map(|(_, _, found)| found.clone())
        })
    };
    if let Some(found) = find(&handles.read().unwrap_or_else(PoisonError::into_inner)) {
        return found;
    }
    let mut by_route = handles.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = find(&by_route) {
        return found;
    }
    let labels = [
        ("method", method.as_str().to_owned()),
        ("route", route.to_owned()),
        ("status", status.as_u16().to_string()),
    ];
    let made = (
        metrics::counter!("signet_http_requests_total", &labels),
        metrics::histogram!("signet_http_request_duration_seconds", &labels),
    );
    by_route
        .entry(route.to_owned())
        .or_default()
        .push((method.clone(), status, made.clone()));
    made
}

/// 1 to 128 characters a log line can carry as is: letters, digits, `-`, `_`, `.`, `:`.
fn well_formed(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

#[derive(Debug, Serialize)]
struct ReadyBody {
    status: &'static str,
    database: &'static str,
    blobs: &'static str,
}

async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = state.core.readiness().await;
    // Probes come every few seconds: log changes, not every answer.
    static WAS_READY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);
    let was_ready = WAS_READY.swap(readiness.is_ready(), std::sync::atomic::Ordering::Relaxed);
    if was_ready && !readiness.is_ready() {
        tracing::warn!(
            database = readiness.database.as_deref().unwrap_or("ok"),
            blobs = readiness.blobs.as_deref().unwrap_or("ok"),
            "not ready"
        );
    } else if !was_ready && readiness.is_ready() {
        tracing::info!("ready again");
    }
    let word = |failure: &Option<String>| if failure.is_none() { "ok" } else { "failing" };
    let body = ReadyBody {
        status: if readiness.is_ready() {
            "ready"
        } else {
            "unavailable"
        },
        database: word(&readiness.database),
        blobs: word(&readiness.blobs),
    };
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Kinds seen in the queue by earlier scrapes, so that a drained kind reads 0 rather than its
/// last count.
static SEEN_KINDS: Mutex<BTreeSet<(&'static str, &'static str)>> = Mutex::new(BTreeSet::new());

async fn scrape(State(state): State<AppState>) -> Response {
    let Some(handle) = prometheus() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Gauges read from the store at scrape time: the queue is shared by every node.
    for (state_name, job_state) in [("pending", JobState::Pending), ("dead", JobState::Dead)] {
        match state.core.jobs_in_state(job_state, JOBS_COUNTED).await {
            Ok(jobs) => {
                let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
                for job in &jobs {
                    *counts.entry(job.kind.name()).or_default() += 1;
                }
                let mut seen = SEEN_KINDS
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for kind in counts.keys() {
                    seen.insert((state_name, kind));
                }
                for (seen_state, kind) in seen.iter() {
                    if *seen_state == state_name {
                        let count = counts.get(kind).copied().unwrap_or(0);
                        metrics::gauge!("signet_jobs", "state" => state_name, "kind" => *kind)
                            .set(count as f64);
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "metrics: cannot count jobs"),
        }
    }
    match state.core.ledger_size().await {
        Ok(size) => metrics::gauge!("signet_ledger_leaves").set(size as f64),
        Err(error) => tracing::warn!(%error, "metrics: cannot read the ledger size"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients_are_checked() {
        assert!(well_formed("3f2a-9c.trace:1_x"));
        assert!(!well_formed(""));
        assert!(!well_formed(&"a".repeat(129)));
        assert!(!well_formed("two words"));
        assert!(!well_formed("line\nbreak"));
        assert!(!well_formed("ünicode"));
    }
}
