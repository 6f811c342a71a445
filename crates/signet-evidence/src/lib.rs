//! The evidence adapters the server and the worker share, kept out of the HTTP crate so that a
//! worker can seal without it: the instance PKI (a root CA, a document-sealing certificate and a
//! time-stamping certificate, made once on first use and kept sealed in the store so that every
//! server process shares it), operator-supplied sealing keys, and the core's sealing port
//! implemented over `signet-pdf` with the built-in or an external time-stamp authority.

mod inspect;
mod signature;

pub use inspect::PdfInspector;
pub use signature::InstanceSignatureMaker;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use futures::StreamExt as _;
use signet_core::Core;
use signet_core::blob::{BlobKey, BlobStore, StoredBlob};
use signet_core::clock::Clock;
use signet_core::seal::{DocumentSealer, SealFailure, SealLevel};
use signet_pdf::pki::{InstancePki, InstancePkiPem, PkiOptions};
use signet_pdf::seal::Sealer;
use signet_pdf::tsa::{DEFAULT_TSA_POLICY, TimeStampAuthority};
use time::Duration;
use tokio::io::AsyncWriteExt as _;

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
pub struct InstanceEvidence {
    /// The certificates and keys.
    pub pki: InstancePki,
    /// The time-stamp authority served at `/v1/tsa` and used for seals.
    pub tsa: TimeStampAuthority,
    operator: Option<OperatorSealing>,
    /// The core's clock: the built-in TSA's genTime and the CRLs' dates follow it.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for InstanceEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceEvidence")
            .field("pki", &self.pki)
            .field("tsa", &self.tsa)
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
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
            None => {
                let clock = core.clock();
                pki.tsa(DEFAULT_TSA_POLICY)
                    .map_err(|e| anyhow::anyhow!("time-stamp authority: {e}"))?
                    .with_clock(move || clock.now())
            }
        };
        Ok(Arc::new(Self {
            pki,
            tsa,
            operator,
            clock: core.clock(),
        }))
    }

    /// A fresh CRL (this update now, next update in 7 days, numbered by the second).
    pub fn current_crl(&self) -> anyhow::Result<Vec<u8>> {
        let now = self.clock.now();
        let number = u64::try_from(now.unix_timestamp()).unwrap_or_default();
        self.pki
            .issue_crl(now, now + Duration::days(7), number)
            .map_err(|e| anyhow::anyhow!("issuing the CRL: {e}"))
    }

    /// CRLs for an archival seal: the instance root's (it issues every signer certificate and
    /// the built-in TSA's), fresh, plus the operator's for their own chains.
    pub fn archive_crls(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut crls = vec![self.current_crl()?];
        if let Some(operator) = &self.operator {
            for crl in &operator.crls {
                crls.push(
                    signet_pdf::pki::crl_from_pem(crl).map_err(|e| anyhow::anyhow!("CRL: {e}"))?,
                );
            }
        }
        Ok(crls)
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

/// The core's sealing port, implemented with the instance's sealing key and either the built-in
/// time-stamp authority or an external one (`tsa_url`). Time-stamping fails closed: no token,
/// no seal.
#[derive(Debug, Clone)]
pub struct InstanceSealer {
    evidence: Arc<InstanceEvidence>,
    /// The external TSA's URL. Its HTTP client is a blocking one, made on the sealing thread:
    /// made or dropped on an async worker thread it would take the runtime down.
    external_tsa: Option<String>,
}

/// How long an external time-stamp authority may take to answer.
const EXTERNAL_TSA_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl InstanceSealer {
    /// A sealer using `tsa_url` when given, the built-in TSA otherwise.
    pub fn new(evidence: Arc<InstanceEvidence>, tsa_url: Option<&str>) -> anyhow::Result<Self> {
        Ok(Self {
            evidence,
            external_tsa: check_tsa_url(tsa_url)?,
        })
    }

    /// Seals `input` into `output` synchronously, streaming (call from a blocking thread). On
    /// error `output` holds a partial document: write to a temporary file and rename on success.
    pub fn seal_to<R: std::io::Read + std::io::Seek, W: std::io::Write>(
        &self,
        input: R,
        output: W,
        level: SealLevel,
    ) -> Result<signet_pdf::seal::SealReport, SealFailure> {
        use signet_pdf::seal::Level;
        let level = match level {
            SealLevel::Basic => Level::BB,
            SealLevel::Timestamped => Level::BT,
            _ => Level::BLT,
        };
        let sealer = self.evidence.sealer()?;
        let tsa = match level {
            Level::BB => None,
            _ => Some(timestamp_source(
                &self.evidence,
                self.external_tsa.as_deref(),
            )?),
        };
        let source = tsa.as_ref().map(TsaChoice::get);
        let started = std::time::Instant::now();
        let sealed = signet_pdf::seal::seal(input, output, &sealer, level, source);
        metrics::histogram!("signet_seal_duration_seconds", "ok" => if sealed.is_ok() { "true" } else { "false" })
            .record(started.elapsed().as_secs_f64());
        sealed.map_err(seal_failure)
    }
}

/// The external TSA's URL, checked, when one is configured.
fn check_tsa_url(tsa_url: Option<&str>) -> anyhow::Result<Option<String>> {
    let external_tsa = tsa_url.map(str::trim).map(str::to_owned);
    if let Some(url) = &external_tsa {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "external TSA: {url} is not an http(s) URL"
        );
    }
    Ok(external_tsa)
}

/// Where time-stamps come from for one operation.
enum TsaChoice<'a> {
    BuiltIn(&'a TimeStampAuthority),
    External(signet_pdf::tsa::HttpTimestampSource),
}

impl TsaChoice<'_> {
    fn get(&self) -> &dyn signet_pdf::tsa::TimestampSource {
        match self {
            TsaChoice::BuiltIn(tsa) => *tsa,
            TsaChoice::External(http) => http,
        }
    }
}

/// The external TSA at `external` when given, else the instance's own. Call on a blocking
/// thread: the external client is a blocking one, which takes the runtime down when made or
/// dropped on an async worker thread.
fn timestamp_source<'a>(
    evidence: &'a InstanceEvidence,
    external: Option<&str>,
) -> Result<TsaChoice<'a>, SealFailure> {
    Ok(match external {
        None => TsaChoice::BuiltIn(&evidence.tsa),
        Some(url) => TsaChoice::External(
            signet_pdf::tsa::HttpTimestampSource::new(url, EXTERNAL_TSA_TIMEOUT)
                .map_err(|e| SealFailure::TimestampUnavailable(e.to_string()))?,
        ),
    })
}

/// A sealing error in the core's words: no time-stamp is retryable, a bad document is not.
fn seal_failure(e: signet_pdf::seal::SealError) -> SealFailure {
    use signet_pdf::seal::SealError;
    match e {
        SealError::Timestamp(t) => SealFailure::TimestampUnavailable(t.to_string()),
        SealError::Pdf(p) => SealFailure::InvalidDocument(p.to_string()),
        other => SealFailure::Unexpected(anyhow::anyhow!(other.to_string())),
    }
}

#[async_trait::async_trait]
impl DocumentSealer for InstanceSealer {
    async fn seal_blob(
        &self,
        blobs: &dyn BlobStore,
        source: &BlobKey,
        target: &BlobKey,
        level: SealLevel,
    ) -> Result<StoredBlob, SealFailure> {
        // The PDF parser needs to seek, and the sealed revision is written after the original
        // bytes: both sides are spooled through temporary files so memory stays flat.
        let spool = tempfile::tempdir().map_err(|e| SealFailure::Unexpected(e.into()))?;
        let input_path = spool.path().join("input.pdf");
        let output_path = spool.path().join("sealed.pdf");
        copy_blob_to_file(blobs, source, &input_path).await?;
        let this = self.clone();
        let (input, output) = (input_path.clone(), output_path.clone());
        tokio::task::spawn_blocking(move || -> Result<(), SealFailure> {
            let reader = std::fs::File::open(&input).map_err(anyhow::Error::from)?;
            let writer = std::fs::File::create(&output).map_err(anyhow::Error::from)?;
            let mut writer = std::io::BufWriter::new(writer);
            this.seal_to(std::io::BufReader::new(reader), &mut writer, level)?;
            std::io::Write::flush(&mut writer).map_err(anyhow::Error::from)?;
            Ok(())
        })
        .await
        .map_err(|e| SealFailure::Unexpected(anyhow::anyhow!(e)))??;
        let sealed = tokio::fs::File::open(&output_path)
            .await
            .map_err(|e| SealFailure::Unexpected(e.into()))?;
        Ok(blobs.put(target, file_stream(sealed), None).await?)
    }
}

/// Writes the plaintext of blob `key` to a new file at `path`.
async fn copy_blob_to_file(
    blobs: &dyn BlobStore,
    key: &BlobKey,
    path: &Path,
) -> Result<(), SealFailure> {
    let mut stream = blobs.get(key).await?;
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| SealFailure::Unexpected(e.into()))?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| SealFailure::Unexpected(e.into()))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| SealFailure::Unexpected(e.into()))?;
    }
    file.flush()
        .await
        .map_err(|e| SealFailure::Unexpected(e.into()))?;
    Ok(())
}

/// A file as a stream of 64 KiB chunks.
fn file_stream(file: tokio::fs::File) -> signet_core::blob::ByteStream {
    use tokio::io::AsyncReadExt as _;
    const CHUNK: usize = 64 * 1024;
    Box::pin(futures::stream::try_unfold(file, |mut file| async move {
        let mut buf = bytes::BytesMut::with_capacity(CHUNK);
        let read = file.read_buf(&mut buf).await?;
        Ok((read > 0).then(|| (buf.freeze(), file)))
    }))
}
