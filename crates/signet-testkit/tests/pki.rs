//! The instance PKI over HTTP: the root, its CRL, and the RFC 3161 time-stamp authority, checked
//! with OpenSSL as an independent implementation.

use std::process::Command;

use reqwest::StatusCode;
use sha2::Digest as _;
use signet_testkit::{Backend, TestApp};

fn openssl_available() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is required in CI"
        );
        eprintln!("openssl not found: skipping");
    }
    found
}

#[tokio::test]
async fn tsa_replies_verify_with_openssl_and_the_crl_is_served() -> anyhow::Result<()> {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await? else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let root = app.http.get(app.url("/v1/pki/root.pem")).send().await?;
    assert_eq!(root.status(), StatusCode::OK);
    let root_pem = root.text().await?;
    assert!(root_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    std::fs::write(dir.path().join("root.pem"), &root_pem)?;

    let crl = app.http.get(app.url("/v1/pki/crl")).send().await?;
    assert_eq!(crl.headers()["content-type"], "application/pkix-crl");
    std::fs::write(dir.path().join("crl.der"), crl.bytes().await?)?;

    let data = b"document to time-stamp";
    let digest: [u8; 32] = sha2::Sha256::digest(data).into();
    let query = signet_pdf::tsa::build_request(&digest, Some(&[7, 7, 7, 7, 7, 7, 7, 7]));
    let reply = app
        .http
        .post(app.url("/v1/tsa"))
        .header("Content-Type", "application/timestamp-query")
        .body(query)
        .send()
        .await?;
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(
        reply.headers()["content-type"],
        "application/timestamp-reply"
    );
    let reply = reply.bytes().await?;
    assert!(signet_pdf::tsa::token_from_response(&reply).is_ok());

    // Garbage gets a rejection reply, not an error page or a panic; a wrong type gets 415.
    let rejected = app
        .http
        .post(app.url("/v1/tsa"))
        .header("Content-Type", "application/timestamp-query")
        .body("nonsense")
        .send()
        .await?;
    assert_eq!(rejected.status(), StatusCode::OK);
    assert!(signet_pdf::tsa::token_from_response(&rejected.bytes().await?).is_err());
    let wrong = app
        .http
        .post(app.url("/v1/tsa"))
        .header("Content-Type", "text/plain")
        .body("x")
        .send()
        .await?;
    assert_eq!(wrong.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    if !openssl_available() {
        return Ok(());
    }
    std::fs::write(dir.path().join("data.bin"), data)?;
    std::fs::write(dir.path().join("reply.tsr"), &reply)?;
    // The TSA certificate travels in the reply (certReq is set by build_request).
    let out = Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "ts",
            "-verify",
            "-data",
            "data.bin",
            "-in",
            "reply.tsr",
            "-CAfile",
            "root.pem",
        ])
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("Verification: OK"),
        "{text}"
    );
    // The same reply does not verify other data.
    std::fs::write(dir.path().join("other.bin"), b"other")?;
    let out = Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "ts",
            "-verify",
            "-data",
            "other.bin",
            "-in",
            "reply.tsr",
            "-CAfile",
            "root.pem",
        ])
        .output()?;
    assert!(!out.status.success());
    // The CRL is signed by the root.
    let out = Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "crl", "-inform", "DER", "-in", "crl.der", "-noout", "-CAfile", "root.pem",
        ])
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("verify OK"), "{text}");
    Ok(())
}
