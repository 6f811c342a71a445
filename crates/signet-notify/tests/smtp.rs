//! E-mail through a real SMTP server: `aiosmtpd` (PyPI) storing what it receives in a Maildir,
//! read back with Python's own `email` parser.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use signet_notify::Lang;
use signet_notify::mail::templates::{Invitation, render_invitation};
use signet_notify::mail::{MailSettings, MailTransport, Mailer};

/// The SMTP server process; killed (by its own pid) when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    fn start(python: &Path) -> Self {
        Self::start_with(python, &[])
    }

    /// Starts aiosmtpd with `extra` command-line arguments (TLS certificates).
    fn start_with(python: &Path, extra: &[&Path]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let maildir = dir.path().join("Maildir");
        let port = common::closed_port();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(extra)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start aiosmtpd");
        let mut server = Self {
            child,
            port,
            maildir,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("aiosmtpd exited early: {status}");
            }
            assert!(Instant::now() < deadline, "aiosmtpd did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

#[derive(Debug, Deserialize)]
struct Received {
    from: String,
    to: String,
    subject: String,
    content_type: String,
    parts: Vec<String>,
    text: String,
    html: String,
    hrefs: Vec<String>,
}

const READ_MAILDIR: &str = r#"
import json, mailbox, sys
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser

class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []
    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for (k, v) in attrs if k == "href"]

out = []
box = mailbox.Maildir(sys.argv[1], factory=None, create=False)
for key in box.iterkeys():
    m = BytesParser(policy=policy.default).parsebytes(box.get_bytes(key))
    html = m.get_body(("html",)).get_content()
    links = Links()
    links.feed(html)
    out.append({
        "from": str(m["From"]), "to": str(m["To"]), "subject": str(m["Subject"]),
        "content_type": m.get_content_type(),
        "parts": [p.get_content_type() for p in m.walk()],
        "text": m.get_body(("plain",)).get_content(), "html": html, "hrefs": links.hrefs,
    })
print(json.dumps(out))
"#;

fn read_maildir(python: &Path, maildir: &Path) -> Vec<Received> {
    let out = Command::new(python)
        .args(["-c", READ_MAILDIR])
        .arg(maildir)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut received: Vec<Received> = serde_json::from_slice(&out.stdout).expect("JSON");
    received.sort_by_key(|r| r.to.to_lowercase());
    received
}

#[tokio::test]
async fn invitations_in_french_and_english_reach_a_real_smtp_server() {
    let Some(python) = common::python_with(&["aiosmtpd"]) else {
        return;
    };
    let server = SmtpServer::start(&python);
    let settings = MailSettings::from_url(
        &format!("smtp://127.0.0.1:{}", server.port),
        "Signet <noreply@signet.test>",
    )
    .expect("settings");
    let mailer = Mailer::new(&settings).expect("mailer");

    let fr_link = "https://signet.test/r/Tok3nFr?lang=fr&x=1";
    let fr = render_invitation(&Invitation {
        lang: Lang::Fr,
        sender_name: "Étude Dupont & Associés".to_owned(),
        document_names: vec![
            "Bail <2026>.pdf".to_owned(),
            "État des lieux.pdf".to_owned(),
        ],
        link: fr_link.to_owned(),
        expiry_days: 14,
    })
    .expect("fr");
    mailer
        .send(&fr.to("Zoé Martin <zoe@example.org>"))
        .await
        .expect("fr sent");

    let en_link = "https://signet.test/r/Tok3nEn";
    let en = render_invitation(&Invitation {
        lang: Lang::En,
        sender_name: "Acme Ltd".to_owned(),
        document_names: vec!["Offer.pdf".to_owned()],
        link: en_link.to_owned(),
        expiry_days: 1,
    })
    .expect("en");
    mailer
        .send(&en.to("bob@example.com"))
        .await
        .expect("en sent");

    let received = read_maildir(&python, &server.maildir);
    assert_eq!(received.len(), 2, "{received:#?}");

    let en = &received[0];
    assert_eq!(en.from, "Signet <noreply@signet.test>");
    assert_eq!(en.to, "bob@example.com");
    assert_eq!(en.subject, "Acme Ltd sent you a document");
    assert_eq!(en.content_type, "multipart/alternative");
    assert_eq!(
        en.parts,
        ["multipart/alternative", "text/plain", "text/html"]
    );
    assert!(en.text.contains(en_link), "{}", en.text);
    assert!(en.text.contains("Offer.pdf"));
    assert!(en.text.contains("This link expires in 1 day."));
    assert_eq!(en.hrefs, [en_link, en_link]);
    assert!(
        en.html
            .contains("Acme Ltd sent you a confidential document:")
    );

    let fr = &received[1];
    assert_eq!(fr.from, "Signet <noreply@signet.test>");
    assert_eq!(fr.to, "Zoé Martin <zoe@example.org>");
    assert_eq!(
        fr.subject,
        "Étude Dupont & Associés vous a envoyé 2 documents"
    );
    assert_eq!(fr.content_type, "multipart/alternative");
    assert_eq!(
        fr.parts,
        ["multipart/alternative", "text/plain", "text/html"]
    );
    assert!(fr.text.contains(fr_link), "{}", fr.text);
    assert!(fr.text.contains("Bail <2026>.pdf"));
    assert!(fr.text.contains("Ce lien expire dans 14 jours."));
    assert_eq!(fr.hrefs, [fr_link, fr_link]);
    assert!(fr.html.contains("Bail &lt;2026&gt;.pdf"), "{}", fr.html);
    assert!(
        fr.html
            .contains("Étude Dupont &amp; Associés vous a envoyé 2 documents")
    );
    assert!(fr.html.contains("<html lang=\"fr\">"));
}

#[tokio::test]
async fn required_tls_is_not_downgraded() {
    let Some(python) = common::python_with(&["aiosmtpd"]) else {
        return;
    };
    // This server offers no STARTTLS and speaks plain text from the first byte.
    let server = SmtpServer::start(&python);
    let message = render_invitation(&Invitation {
        lang: Lang::En,
        sender_name: "Acme".to_owned(),
        document_names: vec!["a.pdf".to_owned()],
        link: "https://signet.test/r/x".to_owned(),
        expiry_days: 3,
    })
    .expect("render")
    .to("bob@example.com");
    for url in [
        format!("smtp+starttls://u:p@127.0.0.1:{}", server.port),
        format!("smtps://127.0.0.1:{}", server.port),
    ] {
        let settings = MailSettings::from_url(&url, "noreply@signet.test")
            .expect("settings")
            .with_timeout(Duration::from_secs(5));
        let err = Mailer::new(&settings)
            .expect("mailer")
            .send(&message)
            .await
            .expect_err("no TLS available");
        eprintln!("{url}: {err}");
    }
    assert!(read_maildir(&python, &server.maildir).is_empty());
}

#[tokio::test]
async fn unreachable_relay_is_retryable_and_bad_recipient_is_not() {
    let settings = MailSettings::from_url(
        &format!("smtp://127.0.0.1:{}", common::closed_port()),
        "noreply@signet.test",
    )
    .expect("settings");
    let mailer = Mailer::new(&settings).expect("mailer");
    let mut message = signet_notify::mail::Message {
        to: "bob@example.com".to_owned(),
        subject: "s".to_owned(),
        html: "<p>h</p>".to_owned(),
        text: "t".to_owned(),
    };
    let err = mailer.send(&message).await.expect_err("nobody listens");
    assert!(err.is_retryable(), "{err}");
    message.to = "not an address".to_owned();
    let err = mailer.send(&message).await.expect_err("bad recipient");
    assert!(!err.is_retryable(), "{err}");
}

/// A test CA and a server certificate for `localhost` and `127.0.0.1`, made with the openssl CLI.
struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    fn make() -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = r#"set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -days 2 -subj "/CN=Signet Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
  -subj "/CN=localhost"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' > ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 2 -extfile ext
"#;
        let ok = Command::new("sh")
            .args(["-c", script])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Some(Self { dir });
        }
        let notice = "the openssl CLI could not make test certificates";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{notice}");
        }
        eprintln!("SKIPPED: {notice}");
        None
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.path("ca.pem")).expect("ca.pem")
    }
}

fn short_message(to: &str, link: &str) -> signet_notify::mail::Message {
    render_invitation(&Invitation {
        lang: Lang::En,
        sender_name: "Acme".to_owned(),
        document_names: vec!["a.pdf".to_owned()],
        link: link.to_owned(),
        expiry_days: 3,
    })
    .expect("render")
    .to(to)
}

#[tokio::test]
async fn implicit_tls_and_starttls_with_certificate_checks() {
    let Some(python) = common::python_with(&["aiosmtpd"]) else {
        return;
    };
    let Some(pki) = TestPki::make() else {
        return;
    };
    let (cert, key) = (pki.path("server.pem"), pki.path("server.key"));
    let smtps_flag = PathBuf::from("--smtpscert");
    let smtps_key = PathBuf::from("--smtpskey");
    let tls_flag = PathBuf::from("--tlscert");
    let tls_key = PathBuf::from("--tlskey");
    let smtps = SmtpServer::start_with(&python, &[&smtps_flag, &cert, &smtps_key, &key]);
    let starttls = SmtpServer::start_with(&python, &[&tls_flag, &cert, &tls_key, &key]);

    for (server, url) in [
        (&smtps, format!("smtps://127.0.0.1:{}", smtps.port)),
        (
            &starttls,
            format!("smtp+starttls://127.0.0.1:{}", starttls.port),
        ),
        (
            &starttls,
            format!("smtp://localhost:{}?tls=starttls", starttls.port),
        ),
    ] {
        // Without the test CA the certificate is not trusted, and nothing is delivered.
        let untrusted = MailSettings::from_url(&url, "noreply@signet.test")
            .expect("settings")
            .with_timeout(Duration::from_secs(5));
        let err = Mailer::new(&untrusted)
            .expect("mailer")
            .send(&short_message(
                "bob@example.com",
                "https://signet.test/r/no",
            ))
            .await
            .expect_err("untrusted certificate");
        assert!(format!("{err}").contains("ertificate"), "{url}: {err}");

        let trusted = untrusted
            .with_root_certificates_pem(&pki.ca_pem())
            .expect("CA");
        let link = format!("https://signet.test/r/{}", server.port);
        Mailer::new(&trusted)
            .expect("mailer")
            .send(&short_message("bob@example.com", &link))
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let received = read_maildir(&python, &server.maildir);
        assert!(
            received.iter().any(|r| r.text.contains(&link)),
            "{url}: {received:#?}"
        );
        assert!(received.iter().all(|r| !r.text.contains("/r/no")));
    }
}
