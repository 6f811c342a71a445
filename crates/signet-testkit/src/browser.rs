//! A real browser for end-to-end tests: Debian's Chromium, driven through Debian's chromedriver
//! with fantoccini.
//!
//! Each [`Browser`] runs its own chromedriver on a port the kernel picks, with a fresh profile and
//! download directory, so tests in parallel processes share nothing. Dropping it ends the session
//! (Chromium quits) and kills whatever is left of chromedriver's process group.
//!
//! ```no_run
//! # async fn example(base_url: &str) -> anyhow::Result<()> {
//! use signet_testkit::browser::Browser;
//!
//! let Some(browser) = Browser::start().await? else {
//!     return Ok(()); // no Chromium here, outside CI: skip
//! };
//! browser.goto(&format!("{base_url}/r/abc")).await?;
//! browser.fill("input[name=code]", "123456").await?;
//! browser.click("button[type=submit]").await?;
//! assert_eq!(browser.text_of("h1").await?, "Documents to sign");
//! browser.screenshot("portal-documents").await?;
//! # Ok(()) }
//! ```

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};

/// Debian's Chromium (package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (package `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long the helpers wait for an element to appear.
pub const ELEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Chromium's switches. Headless and unsandboxed because tests run as root without a display;
/// the rest keep the browser from reaching the network or doing work a test does not ask for.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// How a [`Browser`] is set up.
///
/// The viewport is set through chromedriver's device emulation rather than the window size alone,
/// because headless Chromium will not make a window narrower than 500 pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserOptions {
    /// Viewport width in CSS pixels.
    pub width: u32,
    /// Viewport height in CSS pixels.
    pub height: u32,
    /// Behave as a phone: touch events, and pages laid out per their `<meta name="viewport">`
    /// (980 pixels wide without one), as mobile browsers do.
    pub mobile: bool,
    /// Run the pages' scripts. `false` is a browser with JavaScript turned off, for proving a
    /// page works without it (WebDriver's own commands still run); it clicks with a mouse, not
    /// a finger, even when `mobile`.
    pub javascript: bool,
}

impl BrowserOptions {
    /// A 390 × 844 phone: recipients mostly open the portal on one.
    pub const PHONE: Self = Self {
        width: 390,
        height: 844,
        mobile: true,
        javascript: true,
    };
    /// A 1280 × 800 desktop window.
    pub const DESKTOP: Self = Self {
        width: 1280,
        height: 800,
        mobile: false,
        javascript: true,
    };

    /// The same browser with JavaScript turned off.
    pub const fn without_javascript(self) -> Self {
        Self {
            javascript: false,
            ..self
        }
    }
}

impl Default for BrowserOptions {
    /// [`BrowserOptions::PHONE`].
    fn default() -> Self {
        Self::PHONE
    }
}

/// Whether Chromium and chromedriver are installed; `false` (skip) when they are not, except
/// under `CI=true`, where a missing browser is a failure.
pub fn available() -> bool {
    let ok = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{CHROMIUM} and {CHROMEDRIVER} are required in CI (Debian: chromium, chromium-driver)"
        );
        eprintln!("chromium or chromedriver not installed: skipping");
    }
    ok
}

/// A headless Chromium with its own chromedriver, profile and download directory.
pub struct Browser {
    client: Client,
    session_id: String,
    closed: bool,
    // Field order matters: the driver is killed before the directories Chromium writes to are
    // removed.
    driver: Driver,
    downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts a browser with [`BrowserOptions::default`]. `Ok(None)` when Chromium is not
    /// installed (see [`available`]).
    pub async fn start() -> anyhow::Result<Option<Self>> {
        Self::start_with(BrowserOptions::default()).await
    }

    /// Starts a browser set up by `options`. `Ok(None)` when Chromium is not installed (see
    /// [`available`]).
    pub async fn start_with(options: BrowserOptions) -> anyhow::Result<Option<Self>> {
        if !available() {
            return Ok(None);
        }
        let profile = tempfile::Builder::new()
            .prefix("signet-chromium-profile-")
            .tempdir()?;
        let downloads = tempfile::Builder::new()
            .prefix("signet-chromium-downloads-")
            .tempdir()?;
        let driver = Driver::spawn().await?;

        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        // The window (headless Chromium makes it at least 500 wide); the viewport the page sees
        // comes from the emulated device below.
        args.push(format!(
            "--window-size={},{}",
            options.width, options.height
        ));
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".into(), "chrome".into());
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": args,
                "mobileEmulation": {
                    "deviceMetrics": {
                        "width": options.width,
                        "height": options.height,
                        // 1 keeps screenshots at the viewport's size in pixels.
                        "pixelRatio": 1.0,
                        "mobile": options.mobile,
                        // chromedriver's click on a touch device never returns when the page
                        // cannot run scripts, so a browser without JavaScript clicks with a mouse.
                        "touch": options.mobile && options.javascript,
                    },
                },
                // chromedriver applies these to headless Chromium too, so a clicked download
                // lands in our directory without a prompt.
                "prefs": {
                    "download.default_directory": downloads.path(),
                    "download.prompt_for_download": false,
                },
            }),
        );
        // A page that never finishes loading should fail the test, not hang it for chromedriver's
        // default five minutes.
        capabilities.insert(
            "timeouts".into(),
            serde_json::json!({"pageLoad": 30_000, "script": 30_000, "implicit": 0}),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .context("starting a Chromium session through chromedriver")?;
        let session_id = match client.session_id().await {
            Ok(Some(id)) => id,
            other => {
                let _ = client.close().await;
                anyhow::bail!("chromedriver gave no session id: {other:?}");
            }
        };
        let browser = Self {
            client,
            session_id,
            closed: false,
            driver,
            downloads,
            _profile: profile,
        };
        if !options.javascript {
            browser.disable_javascript().await?;
        }
        Ok(Some(browser))
    }

    /// Turns the pages' scripts off through the DevTools protocol, which chromedriver passes on
    /// (`goog/cdp/execute`). The switch belongs to the tab and holds across its navigations.
    /// Chromium's own ways fall short under chromedriver: the content-settings preference stalls
    /// it, and Blink's `scriptEnabled=false` switch left a form post that never finished.
    async fn disable_javascript(&self) -> anyhow::Result<()> {
        let url = format!(
            "http://127.0.0.1:{}/session/{}/goog/cdp/execute",
            self.driver.port, self.session_id
        );
        let response = reqwest::Client::new()
            .post(&url)
            .json(&serde_json::json!({
                "cmd": "Emulation.setScriptExecutionDisabled",
                "params": {"value": true},
            }))
            .send()
            .await
            .context("asking chromedriver to turn JavaScript off")?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success(),
            "chromedriver refused to turn JavaScript off: {status} {}",
            response.text().await.unwrap_or_default()
        );
        Ok(())
    }

    /// The WebDriver client, for anything the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` and waits until the page has loaded.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("loading {url}"))
    }

    /// The URL of the current page.
    pub async fn current_url(&self) -> anyhow::Result<reqwest::Url> {
        Ok(self.client.current_url().await?)
    }

    /// The current page's HTML as the browser now sees it (after scripts ran).
    pub async fn page_source(&self) -> anyhow::Result<String> {
        Ok(self.client.source().await?)
    }

    /// Waits (up to [`ELEMENT_TIMEOUT`]) until the current page has loaded and its scripts ran:
    /// an element can be in the page before the script that takes over its form is, and a click
    /// in between races that script.
    pub async fn wait_until_loaded(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + ELEMENT_TIMEOUT;
        loop {
            let state = self
                .client
                .execute("return document.readyState", vec![])
                .await;
            match state {
                Ok(value) if value == "complete" => return Ok(()),
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Ok(value) => anyhow::bail!("the page is still {value} after {ELEMENT_TIMEOUT:?}"),
                Err(e) => return Err(e).context("reading document.readyState"),
            }
        }
    }

    /// The first element matching the CSS selector, waiting up to [`ELEMENT_TIMEOUT`] for it to
    /// appear.
    ///
    /// Errors are retried until then too: a lookup that races a navigation fails with "aborted
    /// by navigation" rather than waiting for the new page.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        let deadline = Instant::now() + ELEMENT_TIMEOUT;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return Ok(element),
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("no element matches {css:?}"));
                }
            }
        }
    }

    /// The rendered text of the first element matching `css` (see [`Browser::find`]).
    pub async fn text_of(&self, css: &str) -> anyhow::Result<String> {
        let element = self.find(css).await?;
        element
            .text()
            .await
            .with_context(|| format!("reading the text of {css:?}"))
    }

    /// Replaces the value of the field matching `css` by typing `text` into it.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let element = self.find(css).await?;
        element.clear().await?;
        element
            .send_keys(text)
            .await
            .with_context(|| format!("typing into {css:?}"))
    }

    /// Clicks the element matching `css`; when the click starts a navigation, chromedriver waits
    /// for the new page to load before answering.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let element = self.find(css).await?;
        element
            .click()
            .await
            .with_context(|| format!("clicking {css:?}"))
    }

    /// Clicks the element matching `css` and waits until the page it leads to has replaced the
    /// current one. A form submission answered by a redirect is not always awaited by
    /// chromedriver's click, so this waits for the old document to go stale.
    pub async fn submit(&self, css: &str) -> anyhow::Result<()> {
        let old = self.find("html").await?;
        self.click(css).await?;
        let deadline = Instant::now() + ELEMENT_TIMEOUT;
        while old.tag_name().await.is_ok() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "clicking {css:?} led to no new page"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.find("body").await?;
        Ok(())
    }

    /// Saves a PNG of the viewport as `<workspace>/target/screenshots/<name>.png` and returns
    /// its path. `name` is a file stem: letters, digits, `-` and `_`.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "screenshot name {name:?} is not a plain file stem"
        );
        let png = self.client.screenshot().await?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// The cookies the browser holds for the current page's origin.
    pub async fn cookies(&self) -> anyhow::Result<Vec<Cookie<'static>>> {
        Ok(self.client.get_all_cookies().await?)
    }

    /// The current page's cookies as a `Cookie` request header value (`a=1; b=2`), to fetch a
    /// URL with reqwest as the browser would — the simplest way to check a download's bytes.
    pub async fn cookie_header(&self) -> anyhow::Result<String> {
        Ok(self
            .cookies()
            .await?
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; "))
    }

    /// Where clicked downloads are saved (a fresh directory for this browser).
    pub fn downloads_dir(&self) -> &Path {
        self.downloads.path()
    }

    /// Waits until a download named `file_name` has finished (Chromium writes to a
    /// `.crdownload` file and renames it when done) and returns its path. A second download of
    /// the same name is saved as `name (1).ext`.
    pub async fn wait_for_download(
        &self,
        file_name: &str,
        timeout: Duration,
    ) -> anyhow::Result<PathBuf> {
        let path = self.downloads.path().join(file_name);
        let deadline = Instant::now() + timeout;
        loop {
            if path.is_file() {
                return Ok(path);
            }
            if Instant::now() >= deadline {
                let present: Vec<_> = std::fs::read_dir(self.downloads.path())?
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name())
                    .collect();
                anyhow::bail!(
                    "no download named {file_name:?} after {timeout:?}; the directory holds {present:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the session (Chromium quits) and stops chromedriver. Dropping the browser does the
    /// same, blocking; this is the polite way from async code.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.closed = true;
        self.client
            .clone()
            .close()
            .await
            .context("ending the chromedriver session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed {
            // Drop cannot await, and fantoccini's own clean-up runs on the test's runtime, which
            // may already be shutting down; a blocking request to chromedriver always works.
            if let Err(e) = delete_session(self.driver.port, &self.session_id) {
                eprintln!("could not end the chromedriver session: {e}");
            }
        }
    }
}

/// Where screenshots go: `<workspace>/target/screenshots`.
fn screenshot_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The testkit lives at <workspace>/crates/signet-testkit.
    let workspace = manifest.parent().and_then(Path::parent).unwrap_or(manifest);
    workspace.join("target").join("screenshots")
}

/// `DELETE /session/{id}` over a plain socket. chromedriver answers once Chromium has exited.
fn delete_session(port: u16, session_id: &str) -> std::io::Result<()> {
    let mut stream = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "DELETE /session/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    // chromedriver keeps the connection open despite `Connection: close`, so read just the
    // status line: it comes only after the browser has quit.
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status)?;
    if status.split(' ').nth(1) == Some("200") {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "chromedriver answered {:?}",
            status.trim_end()
        )))
    }
}

/// A chromedriver process, leading its own process group so that Chromium (which chromedriver
/// starts in the same group) can be killed with it.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts chromedriver, trying again (a new port each time) when it exits before listening.
    ///
    /// Why: with `--port=0` it takes a free port on one address family and then binds the same
    /// number on the other, which another process can hold at that moment (seen in a full run:
    /// "bind() failed: Address already in use", then chromedriver exits).
    async fn spawn() -> anyhow::Result<Self> {
        const ATTEMPTS: usize = 5;
        for _ in 0..ATTEMPTS {
            if let Some(driver) = Self::spawn_once().await? {
                return Ok(driver);
            }
        }
        anyhow::bail!("chromedriver exited before listening, {ATTEMPTS} times")
    }

    /// Starts chromedriver on a port it picks (`--port=0`, so parallel tests cannot race for
    /// one) and reads that port from its first lines of output; `None` if it exited first.
    async fn spawn_once() -> anyhow::Result<Option<Self>> {
        let mut child = Command::new(CHROMEDRIVER)
            .args(["--port=0", "--log-level=WARNING"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        let stdout = child.stdout.take();
        // From here on, dropping `driver` kills chromedriver.
        let mut driver = Self { child, port: 0 };
        let stdout = stdout.context("chromedriver's output was not captured")?;
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        // Keep reading after the port line: chromedriver would fail writing to a closed pipe.
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = parse_port(&line)
                    && let Some(tx) = port_tx.take()
                {
                    let _ = tx.send(port);
                }
            }
        });
        match tokio::time::timeout(Duration::from_secs(20), port_rx).await {
            Ok(Ok(port)) => {
                driver.port = port;
                Ok(Some(driver))
            }
            Ok(Err(_)) => Ok(None),
            Err(_) => anyhow::bail!("chromedriver did not report its port within 20 s"),
        }
    }

    fn kill(&mut self) {
        // process_group(0) made chromedriver's pid the group id. Killing the group before
        // reaping chromedriver means the id cannot have been reused yet.
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The port in chromedriver's "ChromeDriver was started successfully on port 41234." line.
fn parse_port(line: &str) -> Option<u16> {
    line.split_once("started successfully on port ")?
        .1
        .trim_end_matches('.')
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_chromedriver_port() {
        assert_eq!(
            parse_port("ChromeDriver was started successfully on port 41234."),
            Some(41234)
        );
        assert_eq!(parse_port("Only local connections are allowed."), None);
    }

    #[test]
    fn screenshots_go_to_the_workspace_target() {
        let dir = screenshot_dir();
        assert!(dir.ends_with("target/screenshots"), "{}", dir.display());
        assert!(
            dir.parent()
                .and_then(Path::parent)
                .is_some_and(|w| w.join("Cargo.lock").exists())
        );
    }
}
