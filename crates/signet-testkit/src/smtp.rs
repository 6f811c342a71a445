//! A real SMTP server for tests: `aiosmtpd` (PyPI, in the workspace's `.venv`) storing what it
//! receives in a Maildir.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// The test venv's Python if it can import `module`; `None` (skip) when it cannot, except under
/// `CI=true`, where a missing tool is a failure.
pub fn venv_python_with(module: &str) -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let ok = venv.exists()
        && Command::new(&venv)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{module} is required in CI"
        );
        eprintln!("{module} not available: skipping");
        return None;
    }
    Some(venv)
}

/// A running aiosmtpd, stopped when dropped.
pub struct SmtpServer {
    child: Child,
    /// Where received messages land (`new/` holds one file per message).
    pub maildir: PathBuf,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    python: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    /// Starts aiosmtpd on `port` (or a free one) and waits until it accepts connections.
    pub async fn start(python: &Path, port: Option<u16>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let maildir = dir.path().join("Maildir");
        let port = match port {
            Some(port) => port,
            None => std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port(),
        };
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()?;
        let server = Self {
            child,
            maildir,
            port,
            python: python.to_owned(),
            _dir: dir,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(server);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        anyhow::bail!("aiosmtpd did not start on port {port}")
    }

    /// How many messages have arrived.
    pub fn message_count(&self) -> usize {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Every message received so far, parsed by Python's `email` package (an independent MIME
    /// reader: quoted-printable and encoded headers are undone as a mail client would).
    pub fn messages(&self) -> anyhow::Result<Vec<ReceivedMail>> {
        let script = "import sys, json, mailbox\n\
            out = []\n\
            for m in mailbox.Maildir(sys.argv[1], create=False):\n    \
                text = next(p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type() == 'text/plain')\n    \
                out.append({'to': m['To'], 'subject': str(m['Subject']), 'text': text})\n\
            print(json.dumps(out))";
        if !self.maildir.join("new").exists() {
            return Ok(Vec::new());
        }
        let out = Command::new(&self.python)
            .args(["-c", script])
            .arg(&self.maildir)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    }
}

/// One received e-mail.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ReceivedMail {
    /// The `To` header.
    pub to: String,
    /// The decoded `Subject`.
    pub subject: String,
    /// The decoded `text/plain` part.
    pub text: String,
}
