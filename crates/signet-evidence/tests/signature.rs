//! The signature port end to end on real adapters: two signers' acts on a stored PDF, each
//! stamped and signed into a new blob, then the archival seal; pyHanko, pdfsig and pdftotext
//! judge the result. A time-stamp outage and a document that is not a PDF store nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use futures::StreamExt as _;
use signet_core::Core;
use signet_core::blob::{BlobKey, BlobStore, ByteStream};
use signet_core::clock::{Clock as _, SystemClock};
use signet_core::crypto::MasterKey;
use signet_core::seal::SealFailure;
use signet_core::service::CoreSettings;
use signet_core::signature::{
    ActMark, ActRequest, CertificateDocument, CertificateEvent, CertificateParticipant,
    CompletionRecord, MarkContent, SignatureMaker,
};
use signet_core::signing::{AuthMethod, ImageType, Rect, Role};
use signet_core::values::Language;
use signet_evidence::{InstanceEvidence, InstanceSignatureMaker};

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
    dir: tempfile::TempDir,
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
    // The instance's CRL is served where its certificates say, for validators that check
    // revocation on line (`pyhanko sign validate`); `adesverify` uses what the file carries.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let public_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let core = Core::new(
        store,
        blobs.clone(),
        Arc::new(SystemClock),
        master,
        CoreSettings {
            public_url,
            upload_url_ttl: time::Duration::hours(1),
            portal: Default::default(),
        },
    );
    let evidence = InstanceEvidence::load(&core).await?;
    serve_crl(listener, evidence.current_crl()?);
    std::fs::write(dir.path().join("root.pem"), evidence.pki.root_cert.to_pem())?;
    Ok(Fixture {
        dir,
        blobs,
        evidence,
    })
}

/// Serves `crl` to every HTTP request on `listener` (the test process ends the thread).
fn serve_crl(listener: std::net::TcpListener, crl: Vec<u8>) {
    use std::io::{Read as _, Write as _};
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                crl.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&crl);
        }
    });
}

fn rect(x: f64, y: f64, width: f64, height: f64) -> Rect {
    Rect::new(x, y, width, height).expect("a box inside the page")
}

/// A small RGBA PNG: an opaque dark square on a transparent background.
fn test_png() -> Vec<u8> {
    let (w, h) = (40u32, 20u32);
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let inside = (5..35).contains(&x) && (3..17).contains(&y);
            data.extend_from_slice(if inside {
                &[20, 20, 120, 255]
            } else {
                &[0, 0, 0, 0]
            });
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().expect("header");
        wr.write_image_data(&data).expect("data");
    }
    out
}

/// An act with one mark of each kind, in a band of the page starting at `top`.
fn act(name: &str, email: Option<&str>, field: &str, page: u32, top: f64) -> ActRequest {
    ActRequest {
        signer_name: name.into(),
        signer_email: email.map(str::to_owned),
        field_name: field.into(),
        marks: vec![
            ActMark {
                page,
                rect: rect(0.05, top, 0.4, 0.06),
                content: MarkContent::TypedSignature(name.into()),
            },
            ActMark {
                page,
                rect: rect(0.5, top, 0.3, 0.04),
                content: MarkContent::Name(name.into()),
            },
            ActMark {
                page,
                rect: rect(0.5, top + 0.05, 0.3, 0.04),
                content: MarkContent::Date("30 November 2026".into()),
            },
            ActMark {
                page,
                rect: rect(0.85, top, 0.05, 0.04),
                content: MarkContent::Checkmark,
            },
            ActMark {
                page,
                rect: rect(0.05, top + 0.07, 0.2, 0.05),
                content: MarkContent::Image {
                    bytes: test_png(),
                    media_type: ImageType::Png,
                },
            },
        ],
        at: SystemClock.now(),
    }
}

fn record(language: Language) -> CompletionRecord {
    let now = SystemClock.now();
    CompletionRecord {
        title: "Bail d'habitation".into(),
        envelope_id: "env_test".into(),
        language,
        completed_at: Some(now),
        participants: vec![CertificateParticipant {
            name: "Anna Smith".into(),
            email: Some("anna@example.org".into()),
            role: Role::Signer,
            auth: AuthMethod::SmsCode,
            ip: Some("192.0.2.7".parse().expect("ip")),
            user_agent: Some("Firefox".into()),
            invited_at: Some(now),
            opened_at: Some(now),
            authenticated_at: Some(now),
            signed_at: Some(now),
            declined_at: None,
        }],
        documents: vec![CertificateDocument {
            name: "bail.pdf".into(),
            sha256_before: [1; 32],
            sha256_after: Some([2; 32]),
        }],
        events: vec![CertificateEvent {
            at: now,
            description: "Anna Smith a signé".into(),
            leaf_hash: [3; 32],
        }],
        checkpoint: "signet.example/log\n1\nAAAA\n".into(),
    }
}

/// Whether external tools are required (CI) rather than optional.
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A tool from the workspace's virtualenv or PATH; a notice (or, in CI, a failure) without it.
fn tool(name: &str) -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/bin")
        .join(name);
    if local.exists() {
        return Some(local);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.exists())
    });
    if found.is_none() {
        assert!(!required(), "{name} is required when CI=true");
        eprintln!("NOTICE: {name} not found; skipping its checks");
    }
    found
}

/// Runs a command: (success, stdout and stderr).
fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("spawn");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn pyhanko_validate(f: &Fixture, path: &Path) -> Option<(bool, String)> {
    let py = tool("pyhanko")?;
    Some(run(Command::new(py)
        .args(["sign", "validate", "--trust-replace", "--trust"])
        .arg(f.dir.path().join("root.pem"))
        .arg(path)))
}

/// Two acts (the second by a signer without e-mail) and the archival seal on one document.
async fn two_acts_then_finish(
    f: &Fixture,
    maker: &InstanceSignatureMaker,
) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let original = signet_pdf::sample::blank(2);
    let source = BlobKey::random();
    f.blobs.put(&source, body(original.clone()), None).await?;
    let first = BlobKey::random();
    maker
        .sign_act(
            f.blobs.as_ref(),
            &source,
            &first,
            &act("Anna Smith", Some("anna@example.org"), "sig_anna", 1, 0.1),
        )
        .await?;
    let second = BlobKey::random();
    maker
        .sign_act(
            f.blobs.as_ref(),
            &first,
            &second,
            &act("Boris Ivanov", None, "sig_boris", 2, 0.6),
        )
        .await?;
    let sealed = BlobKey::random();
    let stored = maker
        .finish(f.blobs.as_ref(), &second, &sealed, &record(Language::En))
        .await?;
    let out = read(f.blobs.as_ref(), &sealed).await?;
    assert_eq!(stored.size, out.len() as u64);
    Ok((original, out))
}

#[tokio::test]
async fn two_signers_then_the_archival_seal_validate_everywhere() -> anyhow::Result<()> {
    let f = fixture().await?;
    let maker = InstanceSignatureMaker::new(f.evidence.clone(), None)?;
    let (original, sealed) = two_acts_then_finish(&f, &maker).await?;
    assert!(sealed.starts_with(&original), "only incremental updates");

    // Our own verifier: two signer signatures and the document time-stamp, all valid.
    let report = signet_pdf::verify::verify_pdf(
        &sealed,
        &signet_pdf::verify::VerifyOptions {
            trust_roots: vec![f.evidence.pki.root_cert.clone()],
            now: SystemClock.now(),
        },
    )?;
    assert!(report.valid, "{}", report.to_text());
    assert_eq!(report.signatures.len(), 3, "{}", report.to_text());
    assert_eq!(
        report.signatures[2].sub_filter.as_deref(),
        Some("ETSI.RFC3161")
    );

    let path = f.dir.path().join("sealed.pdf");
    std::fs::write(&path, &sealed)?;
    if let Some((ok, text)) = pyhanko_validate(&f, &path) {
        eprintln!("pyhanko:\n{text}");
        assert!(ok, "pyHanko: {text}");
        // Both signers: intact, trusted against the instance root, time-stamped; the first sees
        // the second's act as form filling, both see the seal as LTA updates.
        assert_eq!(
            text.matches("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
                .count(),
            2,
            "{text}"
        );
        assert!(
            text.contains("sig_anna:")
                && text.contains("EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS"),
            "{text}"
        );
        assert!(
            text.contains("EXTENDED_WITH_LTA_UPDATES,ACCEPTABLE_MODIFICATIONS"),
            "{text}"
        );
        for bad in ["UNTRUSTED", "INVALID", "ILLEGAL", "SUSPICIOUS", "OTHER"] {
            assert!(!text.contains(bad), "pyHanko says {bad}: {text}");
        }
    }
    if let Some(py) = tool("pyhanko") {
        // The archival time-stamp and both signatures at B-LTA, offline.
        let (ok, text) = run(Command::new(py)
            .args(["sign", "adesverify", "--trust-replace", "--trust"])
            .arg(f.dir.path().join("root.pem"))
            .arg(&path));
        eprintln!("pyhanko adesverify:\n{text}");
        assert!(ok, "pyHanko adesverify: {text}");
        assert_eq!(
            text.matches("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
                .count(),
            2,
            "{text}"
        );
        assert!(!text.contains("UNTRUSTED"), "{text}");
        assert!(!text.contains("ILLEGAL"), "{text}");
    }
    if let Some(python) = tool("python") {
        // The archival time-stamp itself, through pyHanko's API (its CLI lists signatures).
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/validate_doc_timestamp.py");
        let (ok, text) = run(Command::new(python)
            .arg(script)
            .arg(f.dir.path().join("root.pem"))
            .arg(&path));
        eprintln!("pyhanko document time-stamp:\n{text}");
        assert!(ok, "pyHanko, document time-stamp: {text}");
        assert!(
            text.contains("INTACT:TRUSTED") && text.contains("whole_file=True"),
            "{text}"
        );
    }
    if let Some(pdfsig) = tool("pdfsig") {
        let (ok, text) = run(Command::new(pdfsig).arg("-nocert").arg(&path));
        eprintln!("pdfsig:\n{text}");
        assert!(ok, "pdfsig: {text}");
        assert_eq!(text.matches("Signature is Valid.").count(), 2, "{text}");
        assert!(!text.contains("Signature is Invalid"), "{text}");
        assert!(text.contains("Total document signed"), "{text}");
    }
    if let Some(pdftotext) = tool("pdftotext") {
        let (ok, text) = run(Command::new(pdftotext).arg(&path).arg("-"));
        assert!(ok, "pdftotext: {text}");
        for typed in ["Anna Smith", "Boris Ivanov", "30 November 2026"] {
            assert!(text.contains(typed), "{typed:?} not in:\n{text}");
        }
    }
    Ok(())
}

/// The evidence for keeping the certificate out of the signed document: with its pages
/// appended before the archival seal, pyHanko fails every earlier signature.
#[tokio::test]
async fn appended_certificate_pages_would_fail_earlier_signatures_in_pyhanko() -> anyhow::Result<()>
{
    let f = fixture().await?;
    let Some(py) = tool("pyhanko") else {
        return Ok(());
    };
    let maker = InstanceSignatureMaker::new(f.evidence.clone(), None)?;
    let source = BlobKey::random();
    f.blobs
        .put(&source, body(signet_pdf::sample::blank(1)), None)
        .await?;
    let signed = BlobKey::random();
    maker
        .sign_act(
            f.blobs.as_ref(),
            &source,
            &signed,
            &act("Anna Smith", Some("anna@example.org"), "sig_anna", 1, 0.1),
        )
        .await?;
    let signed = read(f.blobs.as_ref(), &signed).await?;
    let input = signet_pdf::certificate::CertificateInput::new(
        "Lease",
        "env_test",
        signet_pdf::certificate::Labels::english(),
    );
    let (appended, _) = signet_pdf::certificate::append_certificate(
        &signed,
        &input,
        &signet_pdf::stamp::FontLibrary::builtin(),
    )?;
    let sealed = maker.finish_bytes(&appended)?;
    let path = f.dir.path().join("appended.pdf");
    std::fs::write(&path, &sealed)?;
    let (ok, text) = run(Command::new(py)
        .args(["sign", "validate", "--trust-replace", "--trust"])
        .arg(f.dir.path().join("root.pem"))
        .arg(&path));
    eprintln!("pyhanko:\n{text}");
    assert!(!ok, "pyHanko now accepts appended pages: {text}");
    assert!(text.contains("ILLEGAL_MODIFICATIONS"), "{text}");
    Ok(())
}

#[tokio::test]
async fn the_certificate_is_a_pdf_of_its_own_in_the_envelope_language() -> anyhow::Result<()> {
    let f = fixture().await?;
    let maker = InstanceSignatureMaker::new(f.evidence.clone(), None)?;
    let target = BlobKey::random();
    maker
        .certificate(f.blobs.as_ref(), &target, &record(Language::Fr))
        .await?;
    let pdf = read(f.blobs.as_ref(), &target).await?;
    assert!(signet_pdf::intake::inspect(&pdf).is_ok(), "a readable PDF");
    if let Some(pdftotext) = tool("pdftotext") {
        let path = f.dir.path().join("certificate.pdf");
        std::fs::write(&path, &pdf)?;
        let (ok, text) = run(Command::new(pdftotext).arg(&path).arg("-"));
        assert!(ok, "pdftotext: {text}");
        for expected in [
            "Bail d'habitation",
            "Anna Smith",
            "Signataire",
            "Code envoyé par SMS",
            "192.0.2.7",
        ] {
            assert!(text.contains(expected), "{expected:?} not in:\n{text}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_signer_without_marks_signs_invisibly() -> anyhow::Result<()> {
    let f = fixture().await?;
    let maker = InstanceSignatureMaker::new(f.evidence.clone(), None)?;
    let source = BlobKey::random();
    let original = signet_pdf::sample::blank(1);
    f.blobs.put(&source, body(original.clone()), None).await?;
    let target = BlobKey::random();
    let mut invisible = act("Chloé Martin", None, "sig_chloe", 1, 0.1);
    invisible.marks.clear();
    maker
        .sign_act(f.blobs.as_ref(), &source, &target, &invisible)
        .await?;
    let signed = read(f.blobs.as_ref(), &target).await?;
    assert!(signed.starts_with(&original));
    let report = signet_pdf::verify::verify_pdf(
        &signed,
        &signet_pdf::verify::VerifyOptions {
            trust_roots: vec![f.evidence.pki.root_cert.clone()],
            now: SystemClock.now(),
        },
    )?;
    assert!(report.valid, "{}", report.to_text());
    assert_eq!(report.signatures.len(), 1);
    assert_eq!(
        report.signatures[0].field_name,
        "sig_chloe",
        "{}",
        report.to_text()
    );
    Ok(())
}

#[tokio::test]
async fn a_time_stamp_outage_stores_nothing() -> anyhow::Result<()> {
    let f = fixture().await?;
    let source = BlobKey::random();
    f.blobs
        .put(&source, body(signet_pdf::sample::blank(1)), None)
        .await?;
    // A port nothing listens on: no token, so no signature (never a B-B in place of a B-T).
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/tsa", listener.local_addr()?);
    drop(listener);
    let maker = InstanceSignatureMaker::new(f.evidence.clone(), Some(&url))?;
    let target = BlobKey::random();
    let result = maker
        .sign_act(
            f.blobs.as_ref(),
            &source,
            &target,
            &act("Anna Smith", Some("anna@example.org"), "sig_anna", 1, 0.1),
        )
        .await;
    assert!(
        matches!(result, Err(SealFailure::TimestampUnavailable(_))),
        "{result:?}"
    );
    assert!(f.blobs.get(&target).await.is_err(), "nothing stored");

    // The archival seal fails closed the same way.
    let signed = BlobKey::random();
    InstanceSignatureMaker::new(f.evidence.clone(), None)?
        .sign_act(
            f.blobs.as_ref(),
            &source,
            &signed,
            &act("Anna Smith", None, "sig_anna", 1, 0.1),
        )
        .await?;
    let result = maker
        .finish(f.blobs.as_ref(), &signed, &target, &record(Language::En))
        .await;
    assert!(
        matches!(result, Err(SealFailure::TimestampUnavailable(_))),
        "{result:?}"
    );
    assert!(f.blobs.get(&target).await.is_err(), "nothing stored");
    Ok(())
}

#[tokio::test]
async fn a_document_that_is_not_a_pdf_is_refused_and_nothing_is_stored() -> anyhow::Result<()> {
    let f = fixture().await?;
    let maker = InstanceSignatureMaker::new(f.evidence.clone(), None)?;
    let source = BlobKey::random();
    f.blobs
        .put(&source, body(b"not a pdf at all".to_vec()), None)
        .await?;
    for marks in [true, false] {
        let mut request = act("Anna Smith", Some("anna@example.org"), "sig_anna", 1, 0.1);
        if !marks {
            request.marks.clear();
        }
        let target = BlobKey::random();
        let result = maker
            .sign_act(f.blobs.as_ref(), &source, &target, &request)
            .await;
        assert!(
            matches!(result, Err(SealFailure::InvalidDocument(_))),
            "marks {marks}: {result:?}"
        );
        assert!(f.blobs.get(&target).await.is_err(), "nothing stored");
    }
    let target = BlobKey::random();
    let result = maker
        .finish(f.blobs.as_ref(), &source, &target, &record(Language::En))
        .await;
    assert!(
        matches!(result, Err(SealFailure::InvalidDocument(_))),
        "{result:?}"
    );
    assert!(f.blobs.get(&target).await.is_err(), "nothing stored");
    Ok(())
}
