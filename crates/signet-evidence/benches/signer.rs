//! The signer's act as the signing job runs it (issue 11): `InstanceSignatureMaker::sign_act`
//! reads the document from the (encrypted, local) blob store, stamps five marks (typed
//! signature, name, date, checkmark, PNG image), signs with a fresh P-256 key and a
//! certificate from the instance root, gets an RFC 3161 time-stamp from the built-in TSA and
//! stores the result as a new blob. On a 1-page and a 200-page document, one act at a time and
//! two at once (the machine has two cores). Then the archival seal (`finish`) once per
//! document, and page images (`PdfInspector::render_page`, 800 px wide) per page.
//!
//! Run: `cargo bench -p signet-evidence --bench signer` (env `SIGNET_BENCH_N` = acts per
//! measurement, default 200; `SIGNET_BENCH_PAGES` = pages rendered, default 10).

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use signet_core::Core;
use signet_core::blob::{BlobKey, BlobStore, ByteStream};
use signet_core::clock::{Clock as _, SystemClock};
use signet_core::crypto::MasterKey;
use signet_core::inspect::DocumentInspector as _;
use signet_core::service::CoreSettings;
use signet_core::signature::{ActMark, ActRequest, CompletionRecord, MarkContent, SignatureMaker};
use signet_core::signing::{ImageType, Rect};
use signet_core::values::Language;
use signet_evidence::{InstanceEvidence, InstanceSignatureMaker, PdfInspector};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A PDF of `pages` A4 pages, each with a heading and a paragraph of Helvetica text.
fn text_pdf(pages: usize) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    for i in 0..pages {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        let mut text = format!(
            "BT /F1 20 Tf 72 770 Td (Lease agreement, page {}) Tj ET\n",
            i + 1
        );
        for line in 0..30 {
            text.push_str(&format!(
                "BT /F1 10 Tf 72 {} Td (Clause {line}: the tenant shall keep the premises in good repair.) Tj ET\n",
                730 - 20 * line
            ));
        }
        objects.push(format!(
            "<< /Length {} >>\nstream\n{text}\nendstream",
            text.len()
        ));
    }
    signet_pdf::sample::classic(&objects, "")
}

fn png() -> Vec<u8> {
    let (w, h) = (120u32, 40u32);
    let mut data = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let ink = (x + 3 * y) % 17 < 3;
            data.extend_from_slice(if ink {
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

fn act(page: u32, image: &[u8]) -> ActRequest {
    let rect = |x, y, w, h| Rect::new(x, y, w, h).expect("rect");
    ActRequest {
        signer_name: "Anna Smith".into(),
        signer_email: Some("anna@example.org".into()),
        field_name: "sig_anna".into(),
        marks: vec![
            ActMark {
                page,
                rect: rect(0.1, 0.7, 0.4, 0.08),
                content: MarkContent::TypedSignature("Anna Smith".into()),
            },
            ActMark {
                page,
                rect: rect(0.1, 0.8, 0.3, 0.04),
                content: MarkContent::Name("Anna Smith".into()),
            },
            ActMark {
                page,
                rect: rect(0.5, 0.8, 0.2, 0.04),
                content: MarkContent::Date("30 November 2026".into()),
            },
            ActMark {
                page,
                rect: rect(0.8, 0.8, 0.05, 0.04),
                content: MarkContent::Checkmark,
            },
            ActMark {
                page,
                rect: rect(0.55, 0.65, 0.3, 0.1),
                content: MarkContent::Image {
                    bytes: image.to_vec(),
                    media_type: ImageType::Png,
                },
            },
        ],
        at: SystemClock.now(),
    }
}

fn body(bytes: Vec<u8>) -> ByteStream {
    Box::pin(futures::stream::once(async move { Ok(bytes.into()) }))
}

async fn size_of(blobs: &dyn BlobStore, key: &BlobKey) -> usize {
    let mut stream = blobs.get(key).await.expect("get");
    let mut n = 0;
    while let Some(chunk) = stream.next().await {
        n += chunk.expect("chunk").len();
    }
    n
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_number("SIGNET_BENCH_N", 200);
    let render_pages = env_number("SIGNET_BENCH_PAGES", 10);
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
            public_url: "http://127.0.0.1:9".into(),
            upload_url_ttl: time::Duration::hours(1),
            portal: Default::default(),
        },
    );
    let evidence = InstanceEvidence::load(&core).await?;
    let maker = Arc::new(InstanceSignatureMaker::new(evidence, None)?);
    let image = png();
    println!(
        "signet-evidence signer benchmark, N = {n}: blob in, stamp 5 marks, sign B-T (fresh P-256 key and certificate, built-in TSA), blob out"
    );
    for pages in [1usize, 200] {
        let doc = text_pdf(pages);
        let source = BlobKey::random();
        blobs.put(&source, body(doc.clone()), None).await?;
        let request = act(pages as u32, &image);
        // Warm-up (fonts loaded, subsets cached by the OS).
        let warm = BlobKey::random();
        maker
            .sign_act(blobs.as_ref(), &source, &warm, &request)
            .await?;
        let signed_len = size_of(blobs.as_ref(), &warm).await;

        let t = Instant::now();
        for _ in 0..n {
            let target = BlobKey::random();
            maker
                .sign_act(blobs.as_ref(), &source, &target, &request)
                .await?;
        }
        let per = t.elapsed().as_secs_f64() / n as f64;
        println!(
            "  act, one at a time {pages:>3} page(s) ({:>7} -> {:>7} bytes): {:>7.1} acts/s ({:.3} ms each)",
            doc.len(),
            signed_len,
            1.0 / per,
            per * 1e3
        );

        let t = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let (maker, blobs, source, request) = (
                maker.clone(),
                blobs.clone(),
                source.clone(),
                request.clone(),
            );
            tasks.push(tokio::spawn(async move {
                for _ in 0..n / 2 {
                    let target = BlobKey::random();
                    maker
                        .sign_act(blobs.as_ref(), &source, &target, &request)
                        .await?;
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        let per = t.elapsed().as_secs_f64() / (2 * (n / 2)) as f64;
        println!(
            "  act, two at once   {pages:>3} page(s): {:>7.1} acts/s",
            1.0 / per
        );

        let record = CompletionRecord {
            title: "Lease".into(),
            envelope_id: "env_bench".into(),
            language: Language::En,
            completed_at: Some(SystemClock.now()),
            participants: Vec::new(),
            documents: Vec::new(),
            events: Vec::new(),
            checkpoint: String::new(),
        };
        let rounds = (n / 10).max(5);
        let t = Instant::now();
        for _ in 0..rounds {
            let target = BlobKey::random();
            maker
                .finish(blobs.as_ref(), &warm, &target, &record)
                .await?;
        }
        let per = t.elapsed().as_secs_f64() / rounds as f64;
        println!(
            "  archival seal (B-LTA) {pages:>3} page(s), signed once: {:.3} ms each",
            per * 1e3
        );

        let inspector = PdfInspector;
        let shown: Vec<u32> = (0..render_pages.min(pages))
            .map(|i| 1 + (i * pages / render_pages.min(pages)) as u32)
            .collect();
        // Warm-up: poppler's fonts.
        inspector.render_page(blobs.as_ref(), &warm, 1, 800).await?;
        let mut times = Vec::new();
        let mut png_bytes = 0;
        for _ in 0..(render_pages / shown.len()).max(1) {
            for page in &shown {
                let t = Instant::now();
                let png = inspector
                    .render_page(blobs.as_ref(), &warm, *page, 800)
                    .await?;
                times.push(t.elapsed().as_secs_f64());
                png_bytes = png.len();
            }
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "  page image 800 px  {pages:>3} page(s), {} renders of pages {:?}: mean {:.1} ms, median {:.1} ms, max {:.1} ms ({png_bytes} bytes PNG)",
            times.len(),
            shown,
            mean * 1e3,
            times[times.len() / 2] * 1e3,
            times[times.len() - 1] * 1e3
        );
    }
    Ok(())
}
