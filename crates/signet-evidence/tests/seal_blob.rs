//! The sealing port end to end on real adapters: a PDF stored in the (encrypted, local) blob
//! store is sealed into a new blob, which verifies against the instance root; a failure stores
//! nothing under the target key.

use std::sync::Arc;

use futures::StreamExt as _;
use signet_core::Core;
use signet_core::blob::{BlobKey, BlobStore, ByteStream};
use signet_core::clock::{Clock as _, SystemClock};
use signet_core::crypto::MasterKey;
use signet_core::seal::{DocumentSealer, SealFailure, SealLevel};
use signet_core::service::CoreSettings;
use signet_evidence::{InstanceEvidence, InstanceSealer};

fn sample_pdf() -> Vec<u8> {
    signet_pdf::sample::blank(1)
}

fn body(bytes: Vec<u8>) -> ByteStream {
    Box::pin(futures::stream::once(async move { Ok(bytes.into()) }))
}

async fn read(blobs: &dyn BlobStore, key: &BlobKey) -> anyhow::Result<Vec<u8>> {
    let mut stream = blobs.get(key).await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

struct Fixture {
    _dir: tempfile::TempDir,
    blobs: Arc<dyn BlobStore>,
    evidence: Arc<InstanceEvidence>,
}

async fn fixture() -> anyhow::Result<Fixture> {
    let dir = tempfile::tempdir()?;
    let master = MasterKey::generate();
    let store =
        signet_store::open(&format!("sqlite://{}", dir.path().join("db").display())).await?;
    let blobs: Arc<dyn BlobStore> = Arc::new(signet_blob::ObjectBlobStore::local(
        &dir.path().join("blobs"),
        master.clone(),
    )?);
    let core = Core::new(
        store,
        blobs.clone(),
        Arc::new(SystemClock),
        master,
        CoreSettings {
            public_url: "https://signet.example".into(),
            upload_url_ttl: time::Duration::hours(1),
            portal: Default::default(),
        },
    );
    let evidence = InstanceEvidence::load(&core).await?;
    Ok(Fixture {
        _dir: dir,
        blobs,
        evidence,
    })
}

#[tokio::test]
async fn a_stored_pdf_is_sealed_into_a_new_blob_that_verifies() -> anyhow::Result<()> {
    let f = fixture().await?;
    let source = BlobKey::random();
    let original = sample_pdf();
    f.blobs.put(&source, body(original.clone()), None).await?;
    let sealer = InstanceSealer::new(f.evidence.clone(), None)?;
    let target = BlobKey::random();
    let stored = sealer
        .seal_blob(f.blobs.as_ref(), &source, &target, SealLevel::LongTerm)
        .await?;

    let sealed = read(f.blobs.as_ref(), &target).await?;
    assert_eq!(stored.size, sealed.len() as u64);
    assert!(
        sealed.starts_with(&original),
        "the seal is an incremental update"
    );
    let report = signet_pdf::verify::verify_pdf(
        &sealed,
        &signet_pdf::verify::VerifyOptions {
            trust_roots: vec![f.evidence.pki.root_cert.clone()],
            now: SystemClock.now(),
        },
    )?;
    assert!(report.valid, "{}", report.to_text());
    assert_eq!(report.signatures.len(), 1);
    assert!(report.dss.is_some(), "B-LT carries validation data");
    // The source is untouched.
    assert_eq!(read(f.blobs.as_ref(), &source).await?, original);
    Ok(())
}

#[tokio::test]
async fn a_document_that_is_not_a_pdf_is_refused_and_nothing_is_stored() -> anyhow::Result<()> {
    let f = fixture().await?;
    let source = BlobKey::random();
    f.blobs
        .put(&source, body(b"not a pdf at all".to_vec()), None)
        .await?;
    let sealer = InstanceSealer::new(f.evidence.clone(), None)?;
    let target = BlobKey::random();
    let result = sealer
        .seal_blob(f.blobs.as_ref(), &source, &target, SealLevel::Timestamped)
        .await;
    assert!(
        matches!(result, Err(SealFailure::InvalidDocument(_))),
        "{result:?}"
    );
    assert!(f.blobs.get(&target).await.is_err(), "nothing stored");
    Ok(())
}

#[tokio::test]
async fn an_unreachable_time_stamp_authority_fails_closed() -> anyhow::Result<()> {
    let f = fixture().await?;
    let source = BlobKey::random();
    f.blobs.put(&source, body(sample_pdf()), None).await?;
    // A port nothing listens on: no token, so no seal (never a B-B in place of a B-T).
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/tsa", listener.local_addr()?);
    drop(listener);
    let sealer = InstanceSealer::new(f.evidence.clone(), Some(&url))?;
    let target = BlobKey::random();
    let result = sealer
        .seal_blob(f.blobs.as_ref(), &source, &target, SealLevel::Timestamped)
        .await;
    assert!(
        matches!(result, Err(SealFailure::TimestampUnavailable(_))),
        "{result:?}"
    );
    assert!(f.blobs.get(&target).await.is_err(), "nothing stored");
    Ok(())
}
