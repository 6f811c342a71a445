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
}
