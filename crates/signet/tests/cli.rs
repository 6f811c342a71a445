//! The operator's command line end to end: every command on one data directory, sealing checked
//! by `signet verify` and by independent validators (pyHanko, poppler's pdfsig, qpdf).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn signet(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("SIGNET_LOG", "warn")
        .env_remove("SIGNET_DATABASE_URL")
        .output()
        .expect("run signet")
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A tool from the test venv or PATH; `None` (skip) outside CI when missing.
fn tool(name: &str) -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/bin")
        .join(name);
    if venv.exists() {
        return Some(venv);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.exists())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is required in CI"
        );
        eprintln!("{name} not found: skipping its check");
    }
    found
}

/// A small one-page PDF with a classic cross-reference table.
fn sample_pdf() -> Vec<u8> {
    signet_pdf::sample::classic(
        &[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            "<< /Length 40 >>\nstream\nBT /F1 24 Tf 72 700 Td (Pay stub) Tj ET\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ],
        "",
    )
}

#[test]
fn operator_commands_work_on_one_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    ok(&signet(&data, &["init"]));
    assert!(data.join("master.key").exists());

    let created: serde_json::Value = serde_json::from_str(&ok(&signet(
        &data,
        &[
            "tenant",
            "create",
            "--name",
            "Acme",
            "--features",
            "sms,secret",
            "--max-transaction-bytes",
            "5000",
            "--self-send",
            "false",
            "--json",
        ],
    )))
    .expect("json");
    let id = created["tenantId"].as_str().expect("tenantId").to_owned();
    assert_eq!(id.len(), 30);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    let key = created["apiKey"].as_str().expect("apiKey");
    assert_eq!(key.len(), 64);
    assert_eq!(created["features"], serde_json::json!(["sms", "secret"]));
    assert_eq!(created["selfSend"], false);
    // The key is stored sealed: its text is nowhere in the database file.
    let db = std::fs::read(data.join("signet.db")).expect("db");
    assert!(!db.windows(key.len()).any(|w| w == key.as_bytes()));

    let updated: serde_json::Value = serde_json::from_str(&ok(&signet(
        &data,
        &[
            "tenant",
            "update",
            "--tenant",
            &id,
            "--features",
            "voice",
            "--max-transaction-bytes",
            "9",
            "--self-send",
            "true",
            "--require-signer-auth",
            "true",
            "--json",
        ],
    )))
    .expect("json");
    assert_eq!(updated["features"], serde_json::json!(["voice"]));
    assert_eq!(updated["maxTransactionBytes"], 9);
    assert_eq!(created["requireSignerAuth"], false, "allowed by default");
    assert_eq!(updated["requireSignerAuth"], true);
    let suspended: serde_json::Value = serde_json::from_str(&ok(&signet(
        &data,
        &["tenant", "suspend", "--tenant", &id, "--json"],
    )))
    .expect("json");
    assert_eq!(suspended["status"], "suspended");
    assert!(ok(&signet(&data, &["tenant", "list"])).contains(&id));
    assert!(
        !signet(&data, &["tenant", "update", "--tenant", "nothex"])
            .status
            .success()
    );

    // The ledger recorded each operator action and verifies.
    let head = ok(&signet(&data, &["ledger", "head"]));
    assert!(head.contains("/signet-ledger\n3\n"), "{head}");
    assert!(ok(&signet(&data, &["ledger", "verify"])).starts_with("ok: 3 leaves"));
    assert!(ok(&signet(&data, &["check"])).contains("ok"));
    let example = ok(&signet(&data, &["config", "example"]));
    for key in [
        "doclinc_max_token_lifetime_secs",
        "sms_url",
        "auth_lockout_minutes",
    ] {
        assert!(example.contains(key), "{key} in the example");
    }
    // The SMS provider is configured by SIGNET_SMS_URL, and a bad one is refused at start-up.
    let with_sms = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .arg("--data-dir")
            .arg(&data)
            .arg("check")
            .env("SIGNET_LOG", "warn")
            .env("SIGNET_SMS_URL", url)
            .env_remove("SIGNET_DATABASE_URL")
            .output()
            .expect("run signet")
    };
    assert!(ok(&with_sms("https://sms.example.com/send")).contains("ok"));
    assert!(ok(&with_sms("log")).contains("ok"));
    let refused = with_sms("ftp://sms.example.com");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("sms_url"));
}

#[test]
fn sealed_pdfs_verify_here_and_with_independent_validators() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, sample_pdf()).expect("write");
    let root = dir.path().join("root.pem");
    std::fs::write(&root, ok(&signet(&data, &["pki", "root"]))).expect("write root");

    for level in ["B-B", "B-T", "B-LT"] {
        let output = dir.path().join(format!("sealed-{level}.pdf"));
        let report = ok(&signet(
            &data,
            &[
                "seal",
                input.to_str().expect("utf-8"),
                output.to_str().expect("utf-8"),
                "--level",
                level,
            ],
        ));
        assert!(report.contains("byte_range"), "{report}");
        // Our verifier, with the root given (fully offline) and by default.
        let text = ok(&signet(
            &data,
            &[
                "verify",
                output.to_str().expect("utf-8"),
                "--trust",
                root.to_str().expect("utf-8"),
            ],
        ));
        assert!(text.contains("CMS signature:     valid"), "{level}: {text}");
        let json: serde_json::Value = serde_json::from_str(&ok(&signet(
            &data,
            &["verify", output.to_str().expect("utf-8"), "--json"],
        )))
        .expect("json");
        assert_eq!(json["valid"], true, "{json}");
        if level != "B-B" {
            assert!(
                json["signatures"][0]["timestamp"].is_object(),
                "{level}: {json}"
            );
        }

        if let Some(qpdf) = tool("qpdf") {
            let out = Command::new(qpdf)
                .arg("--check")
                .arg(&output)
                .output()
                .expect("qpdf");
            assert!(
                out.status.success(),
                "qpdf: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        if let Some(pdfsig) = tool("pdfsig") {
            let out = Command::new(pdfsig)
                .arg("-nocert")
                .arg(&output)
                .output()
                .expect("pdfsig");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("Signature is Valid"),
                "pdfsig {level}: {text}"
            );
        }
        if let Some(pyhanko) = tool("pyhanko") {
            let out = Command::new(pyhanko)
                .args([
                    "sign",
                    "validate",
                    "--no-revocation-check",
                    "--trust-replace",
                    "--trust",
                ])
                .arg(&root)
                .arg(&output)
                .output()
                .expect("pyhanko");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "pyhanko {level}: {text}");
            assert!(text.contains(":INTACT:TRUSTED"), "pyhanko {level}: {text}");
            if level != "B-B" {
                assert!(
                    text.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
                    "pyhanko {level}: {text}"
                );
            }
        }

        // One flipped byte inside the signed range: verify fails with exit code 1.
        let mut tampered = std::fs::read(&output).expect("read");
        tampered[200] ^= 0x01;
        let bad = dir.path().join(format!("tampered-{level}.pdf"));
        std::fs::write(&bad, &tampered).expect("write");
        let out = signet(
            &data,
            &[
                "verify",
                bad.to_str().expect("utf-8"),
                "--trust",
                root.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{level}: tampering must fail verification"
        );
    }
    // A broken PDF gets a clear error, not a panic.
    let broken = dir.path().join("broken.pdf");
    std::fs::write(&broken, b"%PDF-1.7\nthis is not a pdf").expect("write");
    let out = signet(
        &data,
        &[
            "seal",
            broken.to_str().expect("utf-8"),
            dir.path().join("x.pdf").to_str().expect("utf-8"),
        ],
    );
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert!(!dir.path().join("x.pdf").exists(), "no half-written output");
}

#[test]
fn operator_keys_made_by_openssl_seal_and_verify() {
    let Some(openssl) = tool("openssl") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    for (key_args, name) in [
        (vec!["-newkey", "rsa:2048"], "rsa"),
        (
            vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "ec",
        ),
    ] {
        let key = path(&format!("{name}.key"));
        let cert = path(&format!("{name}.pem"));
        let mut args = vec![
            "req",
            "-x509",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/O=Operator/CN=Operator Seal",
        ];
        args.extend(key_args);
        args.extend(["-keyout", &key, "-out", &cert]);
        let out = Command::new(&openssl)
            .args(&args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ok(&signet(
            &data,
            &[
                "pki",
                "import",
                "--sealing-key",
                &key,
                "--sealing-chain",
                &cert,
            ],
        ));
        let input = path("in.pdf");
        std::fs::write(&input, sample_pdf()).expect("write");
        let output = path(&format!("sealed-{name}.pdf"));
        ok(&signet(&data, &["seal", &input, &output, "--level", "B-T"]));
        // The relying party trusts the operator's certificate and, for the time-stamp, the
        // instance root (the built-in TSA's issuer).
        let bundle = path(&format!("{name}-trust.pem"));
        let trust =
            std::fs::read_to_string(&cert).expect("cert") + &ok(&signet(&data, &["pki", "root"]));
        std::fs::write(&bundle, trust).expect("write");
        let json: serde_json::Value = serde_json::from_str(&ok(&signet(
            &data,
            &["verify", &output, "--trust", &bundle, "--json"],
        )))
        .expect("json");
        assert_eq!(json["valid"], true, "{name}: {json}");
        assert!(
            json["signatures"][0]["signer"]
                .as_str()
                .unwrap_or_default()
                .contains("Operator Seal"),
            "{json}"
        );
        // Against the instance root instead, the chain does not verify.
        assert_eq!(signet(&data, &["verify", &output]).status.code(), Some(1));
    }
    // A key that does not match the certificate is refused.
    let out = signet(
        &data,
        &[
            "pki",
            "import",
            "--sealing-key",
            &path("rsa.key"),
            "--sealing-chain",
            &path("ec.pem"),
        ],
    );
    assert!(!out.status.success());
}

/// `signet check --blobs` reads every stored document back: clean, it passes; with one blob
/// deleted and another damaged by one bit, it names both documents and their tenant and exits
/// non-zero (issue 13 item 7).
#[tokio::test]
async fn check_blobs_names_missing_and_damaged_documents() -> anyhow::Result<()> {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let tenant: serde_json::Value = serde_json::from_str(&ok(&signet(
        &data,
        &["tenant", "create", "--name", "Acme", "--json"],
    )))?;
    let (id, key) = (
        tenant["tenantId"].as_str().unwrap_or_default(),
        tenant["apiKey"].as_str().unwrap_or_default(),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Killed(
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .arg("--data-dir")
            .arg(&data)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("SIGNET_LOG", "warn")
            .env_remove("SIGNET_DATABASE_URL")
            .stdout(Stdio::null())
            .spawn()?,
    );
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "serve never listened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = common::bearer(id, key);
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{base}/transactions/cells"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "contacts": [{"recipientEmail": "r@example.com", "recipientIsoCountryCode": "CA",
                          "recipientCell": "8191234567"}],
            "documents": [{"name": "a.pdf"}, {"name": "b.pdf"}, {"name": "c.pdf"}]
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let documents = created["sendTransaction"]["documents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(documents.len(), 3, "{created}");
    for (i, document) in documents.iter().enumerate() {
        let url = document["url"].as_str().unwrap_or_default();
        http.put(url)
            .body(vec![b'0' + i as u8; 70_000 + i])
            .send()
            .await?
            .error_for_status()?;
    }

    let clean = ok(&signet(&data, &["check", "--blobs", "all"]));
    assert!(
        clean.contains("3 of 3 stored documents read back, 0 missing"),
        "{clean}"
    );
    // A sample reads some of them, and nothing is wrong with any.
    ok(&signet(&data, &["check", "--blobs", "50%"]));

    // Blobs are files named by random keys: the largest is c.pdf's, the smallest a.pdf's.
    let mut blobs: Vec<(u64, PathBuf)> = std::fs::read_dir(data.join("blobs"))?
        .map(|entry| {
            let path = entry?.path();
            Ok((std::fs::metadata(&path)?.len(), path))
        })
        .collect::<std::io::Result<_>>()?;
    blobs.sort();
    assert_eq!(blobs.len(), 3);
    std::fs::remove_file(&blobs[0].1)?;
    let mut damaged = std::fs::read(&blobs[2].1)?;
    damaged[200] ^= 0x04;
    std::fs::write(&blobs[2].1, damaged)?;

    let failed = signet(&data, &["check", "--blobs", "all"]);
    assert!(!failed.status.success(), "check must fail");
    let report = String::from_utf8_lossy(&failed.stdout);
    let line_of = |document: &str| {
        report
            .lines()
            .find(|line| {
                line.to_lowercase().contains(&document.to_lowercase()) && line.contains(id)
            })
            .unwrap_or_else(|| panic!("no line names {document} and {id}: {report}"))
            .to_owned()
    };
    assert!(
        line_of(&document_id(&created, 0)).contains("missing"),
        "{report}"
    );
    assert!(
        line_of(&document_id(&created, 2)).contains("authentication"),
        "{report}"
    );
    assert!(
        !report.contains(&document_id(&created, 1)),
        "b.pdf is intact: {report}"
    );
    assert!(
        report.contains("3 of 3 stored documents read back, 2 missing or damaged"),
        "{report}"
    );
    Ok(())
}

/// The id of the `index`th document of a doclinc create response, from its upload URL
/// (`…/uploads/{document}?expires=…`).
fn document_id(created: &serde_json::Value, index: usize) -> String {
    let url = created["sendTransaction"]["documents"][index]["url"]
        .as_str()
        .unwrap_or_default();
    let after = url.split("/uploads/").nth(1).unwrap_or_default();
    after.split('?').next().unwrap_or_default().to_owned()
}
