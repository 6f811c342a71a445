//! The instance's PKI — a root CA, a document-sealing certificate and a time-stamping
//! certificate — made once on first use and kept sealed in the store, so that every server
//! process shares it; and what is served from it: the root, its CRL, and an RFC 3161
//! time-stamp authority.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use signet_core::Core;
use signet_pdf::pki::{InstancePki, InstancePkiPem, PkiOptions};
use signet_pdf::seal::Sealer;
use signet_pdf::tsa::{DEFAULT_TSA_POLICY, TimeStampAuthority};
use time::Duration;

use crate::AppState;

const PKI_SECRET: &str = "instance-pki";
const OPERATOR_SECRET: &str = "operator-sealing";

/// Keys and certificates an operator brings instead of the instance's own (PEM).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OperatorSealing {
    /// The sealing private key (PKCS#8, SEC1 EC or PKCS#1 RSA).
    pub sealing_key: String,
    /// The sealing certificate followed by its issuers.
    pub sealing_chain: String,
    /// The TSA private key, to replace the built-in TSA's.
    pub tsa_key: Option<String>,
    /// The TSA certificate followed by its issuers.
    pub tsa_chain: Option<String>,
    /// CRLs covering those chains (PEM), embedded in B-LT seals.
    pub crls: Vec<String>,
}

impl OperatorSealing {
    fn sealer(&self) -> anyhow::Result<Sealer> {
        let key = signet_pdf::pki::SigningKey::from_pem(&self.sealing_key)
            .map_err(|e| anyhow::anyhow!("sealing key: {e}"))?;
        let chain = signet_pdf::pki::Certificate::chain_from_pem(&self.sealing_chain)
            .map_err(|e| anyhow::anyhow!("sealing chain: {e}"))?;
        let mut sealer =
            Sealer::new(key, chain).map_err(|e| anyhow::anyhow!("sealing identity: {e}"))?;
        for crl in &self.crls {
            sealer
                .crls
                .push(signet_pdf::pki::crl_from_pem(crl).map_err(|e| anyhow::anyhow!("CRL: {e}"))?);
        }
        Ok(sealer)
    }

    fn tsa(&self) -> anyhow::Result<Option<TimeStampAuthority>> {
        let (Some(key), Some(chain)) = (&self.tsa_key, &self.tsa_chain) else {
            return Ok(None);
        };
        let key = signet_pdf::pki::SigningKey::from_pem(key)
            .map_err(|e| anyhow::anyhow!("TSA key: {e}"))?;
        let mut chain = signet_pdf::pki::Certificate::chain_from_pem(chain)
            .map_err(|e| anyhow::anyhow!("TSA chain: {e}"))?;
        anyhow::ensure!(!chain.is_empty(), "the TSA chain is empty");
        let cert = chain.remove(0);
        Ok(Some(
            TimeStampAuthority::new(key, cert, chain, DEFAULT_TSA_POLICY)
                .map_err(|e| anyhow::anyhow!("TSA: {e}"))?,
        ))
    }

    /// Checks the keys and certificates and stores them for every node; they replace the
    /// instance's sealing identity (and TSA, when given) from the next start on.
    pub async fn import(&self, core: &Core) -> anyhow::Result<()> {
        self.sealer()?;
        self.tsa()?;
        core.set_instance_secret(OPERATOR_SECRET, &serde_json::to_vec(self)?)
            .await?;
        Ok(())
    }
}

/// The instance PKI, loaded.
#[derive(Debug)]
pub struct InstanceEvidence {
    /// The certificates and keys.
    pub pki: InstancePki,
    /// The time-stamp authority served at `/v1/tsa` and used for seals.
    pub tsa: TimeStampAuthority,
    operator: Option<OperatorSealing>,
}

impl InstanceEvidence {
    /// Loads the instance PKI, generating it on first use.
    pub async fn load(core: &Core) -> anyhow::Result<Arc<Self>> {
        let public_url = core.settings().public_url.clone();
        let now = core.now();
        let stored = core
            .instance_secret_or_create(PKI_SECRET, || {
                let host = public_url
                    .split("://")
                    .nth(1)
                    .unwrap_or(&public_url)
                    .to_owned();
                let options = PkiOptions::new(
                    format!("Signet {host}"),
                    format!("{public_url}/v1/pki/crl"),
                    now,
                );
                let pki = InstancePki::generate(&options)
                    .map_err(|e| anyhow::anyhow!("generating the PKI: {e}"))?;
                Ok(serde_json::to_vec(&pki.to_pem())?)
            })
            .await?;
        let pem: InstancePkiPem =
            serde_json::from_slice(&stored).context("stored PKI is unreadable")?;
        let pki = InstancePki::from_pem(&pem).map_err(|e| anyhow::anyhow!("stored PKI: {e}"))?;
        let operator: Option<OperatorSealing> = match core.instance_secret(OPERATOR_SECRET).await? {
            Some(bytes) => Some(
                serde_json::from_slice(&bytes).context("stored operator keys are unreadable")?,
            ),
            None => None,
        };
        let tsa = match operator
            .as_ref()
            .map(OperatorSealing::tsa)
            .transpose()?
            .flatten()
        {
            Some(tsa) => tsa,
            None => pki
                .tsa(DEFAULT_TSA_POLICY)
                .map_err(|e| anyhow::anyhow!("time-stamp authority: {e}"))?,
        };
        Ok(Arc::new(Self { pki, tsa, operator }))
    }

    /// A fresh CRL (this update now, next update in 7 days, numbered by the second).
    pub fn current_crl(&self) -> anyhow::Result<Vec<u8>> {
        let now = signet_core::clock::Clock::now(&signet_core::clock::SystemClock);
        let number = u64::try_from(now.unix_timestamp()).unwrap_or_default();
        self.pki
            .issue_crl(now, now + Duration::days(7), number)
            .map_err(|e| anyhow::anyhow!("issuing the CRL: {e}"))
    }

    /// A sealer with the operator's sealing key when one was imported, else the instance's,
    /// carrying the CRLs for B-LT.
    pub fn sealer(&self) -> anyhow::Result<Sealer> {
        if let Some(operator) = &self.operator {
            let mut sealer = operator.sealer()?;
            if operator.tsa_key.is_none() {
                // The built-in TSA's chain ends at the instance root: add its CRL for B-LT.
                sealer.crls.push(self.current_crl()?);
            }
            return Ok(sealer);
        }
        let mut sealer = self
            .pki
            .sealer()
            .map_err(|e| anyhow::anyhow!("sealer: {e}"))?;
        sealer.crls = vec![self.current_crl()?];
        Ok(sealer)
    }
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/pki/root.pem", get(root))
        .route("/v1/pki/crl", get(crl))
        .route("/v1/tsa", post(timestamp))
        .layer(DefaultBodyLimit::max(MAX_TIMESTAMP_QUERY_BYTES))
}

/// The largest time-stamp query read (a real one is under 200 bytes).
const MAX_TIMESTAMP_QUERY_BYTES: usize = 64 * 1024;

fn internal(err: anyhow::Error) -> Response {
    crate::native::NativeError::Core(signet_core::CoreError::Unexpected(err)).into_response()
}

async fn root(State(state): State<AppState>) -> Response {
    match state.evidence().await {
        Ok(e) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            e.pki.root_cert.to_pem(),
        )
            .into_response(),
        Err(err) => internal(err),
    }
}

async fn crl(State(state): State<AppState>) -> Response {
    match state.evidence().await.and_then(|e| e.current_crl()) {
        Ok(der) => ([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response(),
        Err(err) => internal(err),
    }
}

/// RFC 3161 over HTTP: `application/timestamp-query` in, `application/timestamp-reply` out.
/// Malformed queries get a DER rejection reply (status 200, as RFC 3161 §3.4 has it).
async fn timestamp(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/timestamp-query") {
        return crate::native::NativeError::UnsupportedMediaType(
            "expected application/timestamp-query",
        )
        .into_response();
    }
    // Refused on the announced length before a byte is read, and cut off while reading when no
    // length was announced: this endpoint needs no credentials.
    let too_large =
        || crate::native::NativeError::TooLarge("time-stamp query too large").into_response();
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_TIMESTAMP_QUERY_BYTES as u64) {
        return too_large();
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_TIMESTAMP_QUERY_BYTES).await else {
        return too_large();
    };
    match state.evidence().await {
        Ok(e) => {
            let reply = tokio::task::spawn_blocking(move || e.tsa.respond(&body)).await;
            match reply {
                Ok(reply) => (
                    [(header::CONTENT_TYPE, "application/timestamp-reply")],
                    reply,
                )
                    .into_response(),
                Err(err) => internal(anyhow::anyhow!(err)),
            }
        }
        Err(err) => internal(err),
    }
}

/// The core's sealing port, implemented with the instance's sealing key and either the built-in
/// time-stamp authority or an external one (`tsa_url`). Time-stamping fails closed: no token,
/// no seal.
#[derive(Debug, Clone)]
pub struct InstanceSealer {
    evidence: Arc<InstanceEvidence>,
    external_tsa: Option<Arc<signet_pdf::tsa::HttpTimestampSource>>,
}

impl InstanceSealer {
    /// A sealer using `tsa_url` when given, the built-in TSA otherwise.
    pub fn new(evidence: Arc<InstanceEvidence>, tsa_url: Option<&str>) -> anyhow::Result<Self> {
        let external_tsa = tsa_url
            .map(|url| {
                signet_pdf::tsa::HttpTimestampSource::new(url, std::time::Duration::from_secs(30))
            })
            .transpose()
            .map_err(|e| anyhow::anyhow!("external TSA: {e}"))?
            .map(Arc::new);
        Ok(Self {
            evidence,
            external_tsa,
        })
    }

    /// Seals `input` into `output` synchronously, streaming (call from a blocking thread). On
    /// error `output` holds a partial document: write to a temporary file and rename on success.
    pub fn seal_to<R: std::io::Read + std::io::Seek, W: std::io::Write>(
        &self,
        input: R,
        output: W,
        level: signet_core::seal::SealLevel,
    ) -> Result<signet_pdf::seal::SealReport, signet_core::seal::SealFailure> {
        use signet_core::seal::{SealFailure, SealLevel};
        use signet_pdf::seal::{Level, SealError};
        let level = match level {
            SealLevel::Basic => Level::BB,
            SealLevel::Timestamped => Level::BT,
            _ => Level::BLT,
        };
        let sealer = self.evidence.sealer()?;
        let source: Option<&dyn signet_pdf::tsa::TimestampSource> =
            match (level, &self.external_tsa) {
                (Level::BB, _) => None,
                (_, Some(external)) => Some(external.as_ref()),
                (_, None) => Some(&self.evidence.tsa),
            };
        let started = std::time::Instant::now();
        let sealed = signet_pdf::seal::seal(input, output, &sealer, level, source);
        metrics::histogram!("signet_seal_duration_seconds", "ok" => if sealed.is_ok() { "true" } else { "false" })
            .record(started.elapsed().as_secs_f64());
        sealed.map_err(|e| match e {
            SealError::Timestamp(t) => SealFailure::TimestampUnavailable(t.to_string()),
            SealError::Pdf(p) => SealFailure::InvalidDocument(p.to_string()),
            other => SealFailure::Unexpected(anyhow::anyhow!(other.to_string())),
        })
    }
}

#[async_trait::async_trait]
impl signet_core::seal::DocumentSealer for InstanceSealer {
    async fn seal(
        &self,
        pdf: Vec<u8>,
        level: signet_core::seal::SealLevel,
    ) -> Result<Vec<u8>, signet_core::seal::SealFailure> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(pdf.len() + 64 * 1024);
            this.seal_to(std::io::Cursor::new(&pdf), &mut out, level)?;
            Ok(out)
        })
        .await
        .map_err(|e| signet_core::seal::SealFailure::Unexpected(anyhow::anyhow!(e)))?
    }
}
