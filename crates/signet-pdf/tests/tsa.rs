//! RFC 3161 TSA tests: `openssl ts -verify` accepts our replies; the HTTP client tolerates
//! fractional seconds; bad requests are rejected cleanly.
//!
//! Needs `openssl` on PATH for the interoperability checks (skipped with a NOTICE otherwise, or
//! failing when `CI=true`).

#![allow(
    clippy::disallowed_methods,
    reason = "tests and benchmarks take the real time"
)]

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Command;

use common::{run, tool};
use signet_pdf::pki::{InstancePki, PkiOptions};
use signet_pdf::tsa::{self, DEFAULT_TSA_POLICY, TimestampSource};

fn pki() -> InstancePki {
    let now = time::OffsetDateTime::now_utc();
    InstancePki::generate(&PkiOptions::new(
        "Signet TSA Test",
        "http://127.0.0.1:9/crl",
        now,
    ))
    .expect("pki")
}

#[test]
fn openssl_verifies_replies() {
    let Some(openssl) = tool("openssl", None) else {
        return;
    };
    let pki = pki();
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("data.txt"), b"hello, time-stamped world\n").expect("write");
    std::fs::write(p("root.pem"), pki.root_cert.to_pem()).expect("write");
    std::fs::write(p("tsa.pem"), pki.tsa_cert.to_pem()).expect("write");
    for (variant, tsa) in [
        ("whole-seconds", pki.tsa(DEFAULT_TSA_POLICY).expect("tsa")),
        (
            "milliseconds",
            pki.tsa(DEFAULT_TSA_POLICY)
                .expect("tsa")
                .with_millisecond_precision(),
        ),
    ] {
        for cert_req in [true, false] {
            let mut q = Command::new(&openssl);
            q.args(["ts", "-query", "-sha256", "-data"])
                .arg(p("data.txt"))
                .arg("-out")
                .arg(p("req.tsq"));
            if cert_req {
                q.arg("-cert");
            }
            let (ok, text) = run(&mut q);
            assert!(ok, "openssl ts -query: {text}");
            let reply = tsa.respond(&std::fs::read(p("req.tsq")).expect("read"));
            std::fs::write(p("reply.tsr"), &reply).expect("write");
            let (ok, text) = run(Command::new(&openssl)
                .args(["ts", "-reply", "-text", "-in"])
                .arg(p("reply.tsr")));
            assert!(ok && text.contains("Status: Granted."), "{text}");
            eprintln!("{variant} certReq={cert_req}:\n{text}");
            let (ok, text) = run(Command::new(&openssl)
                .args(["ts", "-verify", "-data"])
                .arg(p("data.txt"))
                .arg("-in")
                .arg(p("reply.tsr"))
                .arg("-CAfile")
                .arg(p("root.pem"))
                .arg("-untrusted")
                .arg(p("tsa.pem")));
            eprintln!("openssl ts -verify ({variant}, certReq={cert_req}): {text}");
            assert!(ok && text.contains("Verification: OK"), "{text}");
            // Nonce echoed, certificates only on request.
            let (ok, text) = run(Command::new(&openssl)
                .args(["ts", "-query", "-text", "-in"])
                .arg(p("req.tsq")));
            assert!(ok);
            let nonce = text
                .lines()
                .find(|l| l.contains("Nonce:"))
                .expect("nonce")
                .trim()
                .to_owned();
            let (_, reply_text) = run(Command::new(&openssl)
                .args(["ts", "-reply", "-text", "-in"])
                .arg(p("reply.tsr")));
            assert!(
                reply_text.contains(&nonce),
                "nonce {nonce} not echoed: {reply_text}"
            );
            let token = tsa::token_from_response(&reply).expect("token");
            assert_eq!(cert_req, tsa_cert_embedded(&token, pki.tsa_cert.der()));
        }
    }
}

fn tsa_cert_embedded(token: &[u8], cert: &[u8]) -> bool {
    token.windows(cert.len()).any(|w| w == cert)
}

#[test]
fn bad_requests_are_rejected() {
    let pki = pki();
    let tsa = pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    for req in [
        &b""[..],
        b"\x30\x00",
        b"garbage",
        &[0x30, 0x03, 0x02, 0x01, 0x01],
    ] {
        let resp = tsa.respond(req);
        assert!(matches!(
            tsa::token_from_response(&resp),
            Err(tsa::TimestampError::Rejected { status: 2, .. })
        ));
    }
    // Wrong imprint length for SHA-256.
    let mut req = tsa::build_request(&[7; 32], None);
    let pos = req
        .windows(2)
        .position(|w| w == [0x04, 0x20])
        .expect("imprint");
    req[pos + 1] = 0x1f;
    req.remove(pos + 2);
    let fixed_len = req.len() - 2;
    req[1] = u8::try_from(fixed_len).expect("short");
    req[5] -= 1;
    let resp = tsa.respond(&req);
    assert!(tsa::token_from_response(&resp).is_err());
    // A request naming another policy is refused; one naming none is served.
    let other = pki.tsa("1.2.3.4").expect("tsa");
    let good = tsa::build_request(&[1; 32], None);
    assert!(tsa::token_from_response(&other.respond(&good)).is_ok());
    let mut with_policy = good.clone();
    let policy = [0x06, 0x03, 0x2a, 0x03, 0x05]; // 1.2.3.5
    let imprint_end = 2 + 3 + 2 + with_policy[6] as usize;
    with_policy.splice(imprint_end..imprint_end, policy);
    with_policy[1] += policy.len() as u8;
    assert!(matches!(
        tsa::token_from_response(&other.respond(&with_policy)),
        Err(tsa::TimestampError::Rejected { status: 2, .. })
    ));
}

/// A one-shot HTTP server in front of the built-in TSA.
fn serve(tsa: tsa::TimeStampAuthority) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/tsa", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut len = 0usize;
            let mut content_type = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if let Some(v) = lower.strip_prefix("content-type:") {
                    content_type = v.trim().to_owned();
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            assert_eq!(content_type, "application/timestamp-query");
            let reply = tsa.respond(&body);
            let mut stream = reader.into_inner();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reply.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&reply);
        }
    });
    url
}

#[test]
fn http_client_tolerates_fractional_seconds() {
    let pki = pki();
    let fixed = time::macros::datetime!(2026-11-22 10:11:12.345 UTC);
    let tsa = pki
        .tsa(DEFAULT_TSA_POLICY)
        .expect("tsa")
        .with_millisecond_precision()
        .with_clock(move || fixed);
    let url = serve(tsa);
    let client =
        tsa::HttpTimestampSource::new(url, std::time::Duration::from_secs(10)).expect("client");
    let digest = [0xab; 32];
    let token = client.timestamp(&digest).expect("timestamp");
    let info = tsa::check_token(&token, &digest, None).expect("token");
    assert_eq!(info.gen_time, fixed);
    assert_eq!(info.policy, DEFAULT_TSA_POLICY);
    assert!(token.windows(19).any(|w| w == b"20261122101112.345Z"));
}

#[test]
fn http_client_fails_closed() {
    let client =
        tsa::HttpTimestampSource::new("http://127.0.0.1:9/tsa", std::time::Duration::from_secs(2))
            .expect("client");
    assert!(matches!(
        client.timestamp(&[0; 32]),
        Err(tsa::TimestampError::Transport(_))
    ));
}

/// Returns a genuine token, but over another digest.
struct LyingSource(tsa::TimeStampAuthority);

impl TimestampSource for LyingSource {
    fn timestamp(&self, _digest: &[u8; 32]) -> Result<Vec<u8>, tsa::TimestampError> {
        self.0.timestamp(&[0x42; 32])
    }
}

/// Always fails, like an unreachable TSA.
struct DownSource;

impl TimestampSource for DownSource {
    fn timestamp(&self, _digest: &[u8; 32]) -> Result<Vec<u8>, tsa::TimestampError> {
        Err(tsa::TimestampError::Transport("connection refused".into()))
    }
}

#[test]
fn sealing_fails_closed_without_a_usable_timestamp() {
    use signet_pdf::seal::{Level, SealError, seal_bytes};
    let pki = pki();
    let mut sealer = pki.sealer().expect("sealer");
    let doc = common::classic_pdf(1);
    let lying = LyingSource(pki.tsa(DEFAULT_TSA_POLICY).expect("tsa"));
    for level in [Level::BT, Level::BLT] {
        let err = seal_bytes(&doc, &sealer, level, Some(&lying)).expect_err("wrong imprint");
        assert!(
            matches!(err, SealError::Timestamp(tsa::TimestampError::Mismatch(_))),
            "{err}"
        );
        let err = seal_bytes(&doc, &sealer, level, Some(&DownSource)).expect_err("down");
        assert!(
            matches!(err, SealError::Timestamp(tsa::TimestampError::Transport(_))),
            "{err}"
        );
    }
    // B-LT without CRLs for the chains is refused rather than silently weaker.
    sealer.crls.clear();
    let good = pki.tsa(DEFAULT_TSA_POLICY).expect("tsa");
    let err = seal_bytes(&doc, &sealer, Level::BLT, Some(&good)).expect_err("no CRLs");
    assert!(matches!(err, SealError::MissingRevocationInfo(_)), "{err}");
}
