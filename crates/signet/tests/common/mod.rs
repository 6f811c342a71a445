//! A real `signet serve` process for the end-to-end tests of this crate, and the operator's
//! command line around it.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A port nothing listens on yet.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `signet serve` on SQLite in `dir`, whose stdout and stderr go to files; killed if the test
/// ends early.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Nothing to do when `stop` already reaped it; otherwise no process is left behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `signet serve` with these extra environment variables.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_on(dir, free_port(), env)
    }

    /// [`Server::start`] on a given port (to restart a node where its clients expect it).
    pub fn start_on(dir: &Path, port: u16, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::spawn(dir, port, None, env)
    }

    /// [`Server::start`] under `ulimit -n open_files` (through `sh`, so the limit applies first).
    pub fn start_with_open_files(
        dir: &Path,
        open_files: u32,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::spawn(dir, free_port(), Some(open_files), env)
    }

    fn spawn(
        dir: &Path,
        port: u16,
        open_files: Option<u32>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let stdout = dir.join("serve.stdout");
        let stderr = dir.join("serve.stderr");
        // Files, not pipes: a chatty server fills a pipe nobody reads and then blocks.
        let mut command = match open_files {
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$@\""))
                    .arg("sh")
                    .arg(env!("CARGO_BIN_EXE_signet"));
                sh
            }
            None => Command::new(env!("CARGO_BIN_EXE_signet")),
        };
        command
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("NO_COLOR", "1")
            .env_remove("SIGNET_DATABASE_URL")
            .env_remove("SIGNET_SMS_TOKEN");
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .stdout(std::fs::File::create(&stdout)?)
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()?;
        Ok(Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stdout,
            stderr,
        })
    }

    /// Waits until the server answers, failing early with its output if it exited instead.
    pub async fn wait_until_serving(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if let Ok(response) = http.get(format!("{}/healthz", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("signet serve exited with {status}:\n{}", self.output()?);
            }
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(30),
                "{} never answered",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Sends SIGTERM (a graceful stop).
    pub fn terminate(&self) -> anyhow::Result<()> {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)?;
        Ok(())
    }

    /// Waits (at most a minute) for the process to exit; its status.
    pub fn wait_exit(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(60),
                "signet serve never exited"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's log (its standard error) so far; empty when there is none yet.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Kills the process with SIGKILL (no shutdown, no flush) and reaps it.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Everything the server wrote so far.
    pub fn output(&self) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(&self.stdout)? + &std::fs::read_to_string(&self.stderr)?)
    }

    /// A field of `/proc/PID/status` in KiB (`VmHWM` is the peak resident set).
    pub fn status_kib(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no {field} in /proc/PID/status"))
    }
}

/// Runs a `signet` command on the data directory in `dir` with these environment variables;
/// its standard output, or an error with its standard error when it fails.
pub fn signet(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> anyhow::Result<String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_signet"));
    command
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env("SIGNET_LOG", "warn")
        .env_remove("SIGNET_DATABASE_URL");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output()?;
    anyhow::ensure!(
        out.status.success(),
        "signet {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Creates a self-sending tenant with the operator's command line: its id and API key.
pub fn create_tenant(dir: &Path, extra: &[&str]) -> anyhow::Result<(String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["tenant", "create", "--name", "Acme Payroll", "--json"])
        .args(extra)
        .env("SIGNET_LOG", "warn")
        .env_remove("SIGNET_DATABASE_URL")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tenant: Value = serde_json::from_slice(&out.stdout)?;
    let field = |name: &str| tenant[name].as_str().unwrap_or_default().to_owned();
    Ok((field("tenantId"), field("apiKey")))
}

/// A fresh doclinc bearer token for a tenant.
#[allow(
    clippy::disallowed_methods,
    reason = "the server under test reads the system clock too"
)]
pub fn bearer(tenant_id: &str, api_key: &str) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    signet_testkit::jwt::hs256(
        &serde_json::json!({"alg": "HS256", "typ": "JWT"}),
        &signet_testkit::jwt::claims(tenant_id, now, now + 600),
        api_key.as_bytes(),
    )
}
