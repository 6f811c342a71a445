//! The signer's act end to end, through a running server: what a signer without JavaScript
//! does, timed from the sign form's post to the moment the stamped, signed, time-stamped version
//! of the document is stored.
//!
//! The act itself runs in a durable job (`ApplySignature`), so the post answers before the
//! version exists; the end of an act is seen by polling `GET /v1/envelopes/{id}` until the
//! document lists a `signed` version. With one signer the envelope then completes, and the
//! archival seal (another job) follows: its time is reported beside the act's, and every worker
//! waits for its envelope's seal before posting its next act, so the acts per second include
//! the seals they cause, as they would on a real server.
//!
//! Everything before the post (upload, envelope, opening the link, the "no code" sign-in, the
//! review page and its form token) is done for every act first, outside the timed part.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

/// What to measure (the `act` command's options; the server and tenant come apart).
#[derive(Debug, clap::Args)]
pub struct Settings {
    /// Pages of the generated document.
    #[arg(long, default_value_t = 1)]
    pub pages: usize,
    /// Acts to time (0: only the page images).
    #[arg(long, default_value_t = 20)]
    pub acts: usize,
    /// Acts in flight at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Pause between two polls of an envelope, e.g. 5ms.
    #[arg(long, default_value = "5ms", value_parser = crate::parse_duration)]
    pub poll: Duration,
    /// Page images to time (spread through the document), each first and again; 0: none.
    #[arg(long, default_value_t = 0)]
    pub page_images: usize,
    /// Width of the page images, in pixels.
    #[arg(long, default_value_t = 960)]
    pub image_width: u32,
}

/// One envelope, opened and signed in to up to its review page: all a browser holds before
/// its signer presses "sign".
struct Prepared {
    envelope: String,
    document: String,
    signing_url: String,
    cookie: String,
    form_token: String,
}

/// The times of one act, from the post.
struct Timed {
    /// Until the post answered (its redirect).
    post: Duration,
    /// Until the signed version was listed.
    signed: Duration,
    /// Until the envelope was sealed.
    sealed: Duration,
}

/// Runs the act benchmark (and the page images, when asked) and prints its results,
/// against the server at `base`, as `tenant` with its API `key`.
pub async fn run(base: &str, tenant: &str, key: &str, settings: &Settings) -> anyhow::Result<()> {
    let client = browser()?;
    let api = Api {
        client: client.clone(),
        base: base.trim_end_matches('/').to_owned(),
        tenant: tenant.to_owned(),
        key: key.to_owned(),
    };

    if settings.acts > 0 {
        let setup = Instant::now();
        let mut prepared = Vec::with_capacity(settings.acts);
        for n in 0..settings.acts {
            prepared.push(
                prepare(&api, settings.pages, n)
                    .await
                    .with_context(|| format!("preparing act {n}"))?,
            );
        }
        eprintln!(
            "prepared {} envelopes of {} page(s) in {:.1}s",
            settings.acts,
            settings.pages,
            setup.elapsed().as_secs_f64()
        );
        let started = Instant::now();
        let mut acts = futures::stream::iter(prepared)
            .map(|p| {
                let api = &api;
                async move { act(api, &p, settings.poll).await }
            })
            .buffer_unordered(settings.concurrency.max(1));
        let mut times = Vec::with_capacity(settings.acts);
        while let Some(result) = acts.next().await {
            times.push(result?);
        }
        let elapsed = started.elapsed();
        print_acts(settings, &times, elapsed);
    }

    if settings.page_images > 0 {
        page_images(&api, settings).await?;
    }
    Ok(())
}

/// A client that behaves like a browser without JavaScript as far as the server can tell:
/// redirects are seen (the session cookie comes with one) rather than followed.
fn browser() -> anyhow::Result<Client> {
    Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("signet-bench act")
        .timeout(Duration::from_secs(120))
        .build()
        .context("cannot build the HTTP client")
}

/// The native API, as the sender's system uses it.
struct Api {
    client: Client,
    base: String,
    tenant: String,
    key: String,
}

impl Api {
    async fn upload(&self, name: &str, pdf: Vec<u8>) -> anyhow::Result<String> {
        let response = self
            .client
            .post(format!("{}/v1/documents", self.base))
            .basic_auth(&self.tenant, Some(&self.key))
            .query(&[("name", name)])
            .header(header::CONTENT_TYPE, "application/pdf")
            .body(pdf)
            .send()
            .await?;
        let body = expect_json(response, StatusCode::CREATED, "POST /v1/documents").await?;
        Ok(body["id"]
            .as_str()
            .context("the document has no id")?
            .to_owned())
    }

    /// An envelope for one signer who signs without a code, with one signature field on page 1.
    async fn envelope(&self, title: &str, document: &str) -> anyhow::Result<(String, String)> {
        let body = json!({
            "title": title,
            "documents": [{ "id": document, "action": "sign" }],
            "participants": [
                { "key": "signer", "name": "Bench Signer", "role": "signer", "auth": "none" }
            ],
            "fields": [
                { "participant": "signer", "document": document, "page": 1,
                  "x": 0.1, "y": 0.8, "width": 0.35, "height": 0.06, "type": "signature" }
            ]
        });
        let response = self
            .client
            .post(format!("{}/v1/envelopes", self.base))
            .basic_auth(&self.tenant, Some(&self.key))
            .json(&body)
            .send()
            .await?;
        let body = expect_json(response, StatusCode::CREATED, "POST /v1/envelopes").await?;
        let id = body["id"].as_str().context("the envelope has no id")?;
        let url = body["participants"][0]["signing_url"]
            .as_str()
            .context("the participant has no signing_url")?;
        Ok((id.to_owned(), url.to_owned()))
    }

    async fn get_envelope(&self, id: &str) -> anyhow::Result<Value> {
        let response = self
            .client
            .get(format!("{}/v1/envelopes/{id}", self.base))
            .basic_auth(&self.tenant, Some(&self.key))
            .send()
            .await?;
        expect_json(response, StatusCode::OK, "GET /v1/envelopes/{id}").await
    }
}

async fn expect_json(
    response: reqwest::Response,
    expected: StatusCode,
    what: &str,
) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text().await?;
    if status != expected {
        bail!("{what} answered {status}: {}", snippet(&text));
    }
    serde_json::from_str(&text).with_context(|| format!("{what} answered no JSON"))
}

fn snippet(text: &str) -> &str {
    let end = text
        .char_indices()
        .nth(300)
        .map_or(text.len(), |(at, _)| at);
    &text[..end]
}

/// Uploads a fresh document, makes its envelope and walks the signer up to the review page.
async fn prepare(api: &Api, pages: usize, n: usize) -> anyhow::Result<Prepared> {
    // Each act signs its own document, as each real signer would: nothing one act computed
    // (a parsed file, a rendered page) can be reused by the next.
    let document = api
        .upload(
            &format!("bench-{n}.pdf"),
            text_pdf(pages, &format!("act {n}")),
        )
        .await?;
    let (envelope, signing_url) = api.envelope(&format!("Bench act {n}"), &document).await?;
    let (cookie, page) = sign_in(&api.client, &signing_url).await?;
    let form_token = attribute_after(&page, "name=\"form\" value=\"")
        .context("the review page has no form token (is the sign form there?)")?
        .to_owned();
    Ok(Prepared {
        envelope,
        document,
        signing_url,
        cookie,
        form_token,
    })
}

/// Opens the link, starts (the participant needs no code), and reads the review page with the
/// session cookie the start set. Answers the cookie (`name=value`) and the page.
async fn sign_in(client: &Client, signing_url: &str) -> anyhow::Result<(String, String)> {
    let opened = client.get(signing_url).send().await?;
    let status = opened.status();
    let page = opened.text().await?;
    if status != StatusCode::OK || !page.contains("/verify\"") {
        bail!(
            "opening the link answered {status} without the start form: {}",
            snippet(&page)
        );
    }
    // The start form has no input: a browser posts it as an empty url-encoded form.
    let started = client
        .post(format!("{signing_url}/verify"))
        .form(&[] as &[(&str, &str)])
        .send()
        .await?;
    if started.status() != StatusCode::SEE_OTHER {
        bail!("starting answered {}", started.status());
    }
    let cookie = started
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("starting set no session cookie")?
        .to_owned();
    let review = client
        .get(signing_url)
        .header(header::COOKIE, &cookie)
        .send()
        .await?;
    let status = review.status();
    let page = review.text().await?;
    if status != StatusCode::OK {
        bail!("the review page answered {status}: {}", snippet(&page));
    }
    Ok((cookie, page))
}

/// The text after `marker` up to the next double quote.
fn attribute_after<'a>(page: &'a str, marker: &str) -> Option<&'a str> {
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(&page[start..end])
}

/// Posts the sign form as the browser does and waits for the signed version, then the seal.
async fn act(api: &Api, prepared: &Prepared, poll: Duration) -> anyhow::Result<Timed> {
    let posted = Instant::now();
    let response = api
        .client
        .post(format!("{}/sign", prepared.signing_url))
        .header(header::COOKIE, &prepared.cookie)
        .form(&[
            ("form", prepared.form_token.as_str()),
            ("mark", ""),
            ("signature_name", "Bench Signer"),
            ("consent", "yes"),
        ])
        .send()
        .await?;
    let status = response.status();
    let body = response.text().await?;
    let post = posted.elapsed();
    if status != StatusCode::SEE_OTHER {
        bail!("the sign form answered {status}: {}", snippet(&body));
    }
    let mut signed = None;
    loop {
        let envelope = api.get_envelope(&prepared.envelope).await?;
        let now = posted.elapsed();
        if signed.is_none() && has_signed_version(&envelope, &prepared.document) {
            signed = Some(now);
        }
        if envelope["sealed_at"].is_string() {
            // Signed and sealed between two polls: both were first seen now.
            let signed = signed.unwrap_or(now);
            return Ok(Timed {
                post,
                signed,
                sealed: now,
            });
        }
        if let Some(state) = envelope["state"].as_str()
            && !matches!(state, "open" | "completed")
        {
            bail!("envelope {} ended {state}", prepared.envelope);
        }
        if now > Duration::from_secs(300) {
            bail!(
                "envelope {} was not sealed within 5 minutes",
                prepared.envelope
            );
        }
        tokio::time::sleep(poll).await;
    }
}

fn has_signed_version(envelope: &Value, document: &str) -> bool {
    envelope["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["id"] == document)
        .flat_map(|d| d["versions"].as_array().into_iter().flatten())
        .any(|v| v["kind"] == "signed")
}

/// Times page images of a fresh document: each page once (rendered, as nothing asked for it
/// before) and again (from the server's cache).
async fn page_images(api: &Api, settings: &Settings) -> anyhow::Result<()> {
    let pages = settings.pages;
    let count = settings.page_images.min(pages);
    // Spread through the document: 1, then every pages/count-th.
    let wanted: Vec<usize> = (0..count).map(|i| 1 + i * pages / count).collect();
    let document = api
        .upload("bench-pages.pdf", text_pdf(pages, "page images"))
        .await?;
    let (_, signing_url) = api.envelope("Bench page images", &document).await?;
    let (cookie, _) = sign_in(&api.client, &signing_url).await?;
    let mut first = Vec::with_capacity(count);
    let mut cached = Vec::with_capacity(count);
    for round in [&mut first, &mut cached] {
        for page in &wanted {
            let url = format!(
                "{signing_url}/pages/{document}/{page}?w={}",
                settings.image_width
            );
            let sent = Instant::now();
            let response = api
                .client
                .get(&url)
                .header(header::COOKIE, &cookie)
                .send()
                .await?;
            let status = response.status();
            let png = response.bytes().await?;
            let took = sent.elapsed();
            if status != StatusCode::OK || !png.starts_with(b"\x89PNG") {
                bail!("page {page} answered {status} ({} bytes)", png.len());
            }
            round.push(took);
        }
    }
    let line = |name: &str, times: &[Duration]| {
        let s = Summary::of(times);
        println!(
            "  {name}: mean {:.1} ms, p50 {:.1} ms, max {:.1} ms over pages {wanted:?}",
            s.mean, s.p50, s.max
        );
        format!(
            "{name}_mean_ms={:.3} {name}_p50_ms={:.3} {name}_max_ms={:.3}",
            s.mean, s.p50, s.max
        )
    };
    println!(
        "page images of a {pages}-page document, {} px wide:",
        settings.image_width
    );
    let a = line("first", &first);
    let b = line("cached", &cached);
    println!(
        "RESULT name=page_images pages={pages} images={count} width={} {a} {b}",
        settings.image_width
    );
    Ok(())
}

/// Mean, median and extremes of a set of times, in milliseconds.
struct Summary {
    mean: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Summary {
    fn of(times: &[Duration]) -> Self {
        let mut ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        // Nearest rank: the smallest time at or above which p % of the times lie.
        let rank = |p: f64| -> f64 {
            if ms.is_empty() {
                return f64::NAN;
            }
            let rank = ((p / 100.0) * ms.len() as f64).ceil() as usize;
            ms[rank.clamp(1, ms.len()) - 1]
        };
        let mean = if ms.is_empty() {
            f64::NAN
        } else {
            ms.iter().sum::<f64>() / ms.len() as f64
        };
        Self {
            mean,
            p50: rank(50.0),
            p99: rank(99.0),
            max: rank(100.0),
        }
    }
}

fn print_acts(settings: &Settings, times: &[Timed], elapsed: Duration) {
    let post = Summary::of(&times.iter().map(|t| t.post).collect::<Vec<_>>());
    let signed = Summary::of(&times.iter().map(|t| t.signed).collect::<Vec<_>>());
    let sealed = Summary::of(&times.iter().map(|t| t.sealed).collect::<Vec<_>>());
    let rate = times.len() as f64 / elapsed.as_secs_f64();
    println!(
        "act: {} acts on a {}-page document at concurrency {} in {:.2}s: {rate:.2} acts/s (seals included)",
        times.len(),
        settings.pages,
        settings.concurrency,
        elapsed.as_secs_f64()
    );
    for (name, s) in [
        ("form post answered", &post),
        ("signed version stored", &signed),
        ("envelope sealed", &sealed),
    ] {
        println!(
            "  {name:<22} p50 {:.1} ms, p99 {:.1} ms, mean {:.1} ms, max {:.1} ms",
            s.p50, s.p99, s.mean, s.max
        );
    }
    println!(
        "RESULT name=act pages={} concurrency={} acts={} acts_per_s={rate:.3} post_p50_ms={:.3} signed_p50_ms={:.3} signed_p99_ms={:.3} signed_mean_ms={:.3} sealed_p50_ms={:.3} sealed_p99_ms={:.3} poll_ms={}",
        settings.pages,
        settings.concurrency,
        times.len(),
        post.p50,
        signed.p50,
        signed.p99,
        signed.mean,
        sealed.p50,
        sealed.p99,
        settings.poll.as_millis()
    );
}

/// A text PDF of `pages` A4 pages (Helvetica, 31 lines each), with `label` on its first line
/// so that every document differs. Classic cross-reference table, no compression: what a
/// simple generator writes.
pub fn text_pdf(pages: usize, label: &str) -> Vec<u8> {
    let pages = pages.max(1);
    // Objects: 1 catalog, 2 page tree, 3 font, then per page its page object and its content.
    let page_object = |i: usize| 4 + 2 * i;
    let mut objects: Vec<String> = Vec::with_capacity(3 + 2 * pages);
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..pages)
        .map(|i| format!("{} 0 R", page_object(i)))
        .collect();
    objects.push(format!(
        "<< /Type /Pages /Count {pages} /Kids [{}] >>",
        kids.join(" ")
    ));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    let label: String = label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect();
    for i in 0..pages {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            page_object(i) + 1
        ));
        let mut content = format!(
            "BT /F1 18 Tf 60 780 Td (Service agreement, {label}, page {} of {pages}) Tj ET\n",
            i + 1
        );
        for line in 0..30 {
            content.push_str(&format!(
                "BT /F1 10 Tf 60 {} Td (Article {}.{line}: each party keeps the other's information confidential.) Tj ET\n",
                740 - 20 * line,
                i + 1
            ));
        }
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (n, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", n + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cross-reference entry points at the start of its object, and startxref at the
    /// table: a reader that trusts them (lopdf, poppler) finds every page.
    #[test]
    fn the_generated_pdf_is_indexed_correctly() {
        let pdf = text_pdf(3, "x");
        // Offsets count bytes, and the second line holds non-ASCII bytes: work on bytes.
        let find = |needle: &[u8]| pdf.windows(needle.len()).rposition(|w| w == needle);
        let at = find(b"startxref\n").expect("a startxref") + b"startxref\n".len();
        let startxref: usize = std::str::from_utf8(&pdf[at..])
            .ok()
            .and_then(|rest| rest.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("a startxref offset");
        let table = std::str::from_utf8(&pdf[startxref..]).expect("an ASCII table");
        assert!(table.starts_with("xref\n0 10\n0000000000 65535 f \n"));
        let entries: Vec<usize> = table
            .lines()
            .skip(3)
            .take(9)
            .map(|line| line[..10].parse().expect("an offset"))
            .collect();
        for (n, offset) in entries.iter().enumerate() {
            assert!(
                pdf[*offset..].starts_with(format!("{} 0 obj\n", n + 1).as_bytes()),
                "object {}",
                n + 1
            );
        }
        assert!(find(b"/Count 3 ").is_some());
        assert_ne!(text_pdf(3, "a"), text_pdf(3, "b"));
    }

    #[test]
    fn the_form_token_is_read_from_the_page() {
        let page = r#"<input type="hidden" name="form" value="ab12.cd34">"#;
        assert_eq!(
            attribute_after(page, "name=\"form\" value=\""),
            Some("ab12.cd34")
        );
        assert_eq!(attribute_after("<p>", "name=\"form\" value=\""), None);
    }

    #[test]
    fn a_signed_version_is_found_only_on_its_document() {
        let envelope = json!({ "documents": [
            { "id": "a", "versions": [] },
            { "id": "b", "versions": [{ "kind": "signed" }] }
        ]});
        assert!(has_signed_version(&envelope, "b"));
        assert!(!has_signed_version(&envelope, "a"));
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Summary::of(&times);
        assert!((s.p50 - 50.0).abs() < 1e-9);
        assert!((s.p99 - 99.0).abs() < 1e-9);
        assert!((s.max - 100.0).abs() < 1e-9);
        assert!((s.mean - 50.5).abs() < 1e-9);
    }
}
