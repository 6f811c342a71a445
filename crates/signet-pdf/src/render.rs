//! Page images for the signer's app: one page rendered to PNG at a given width by poppler's
//! `pdftoppm`, run as a bounded subprocess — the document on its stdin, the PNG on its stdout,
//! no shell, no temporary files, an address-space and CPU limit set by `prlimit` (util-linux)
//! and a wall-clock deadline after which it is killed.
//!
//! A subprocess rather than a Rust rasterizer in-process: poppler renders what viewers render,
//! a malicious file can at worst crash or exhaust its own process, and the build stays small.
//! The document is checked with this crate's reader first (page index, encryption), so the
//! common mistakes are typed errors before anything is spawned.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::pdf::doc::Document;
use crate::pdf::{PdfError, Reader};

/// Limits and tools for [`render_page_png`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RenderLimits {
    /// Wall-clock time before the renderer is killed.
    pub timeout: Duration,
    /// Address-space limit of the renderer (bytes).
    pub memory_bytes: u64,
    /// Largest image width accepted (pixels).
    pub max_width: u32,
    /// Largest PNG accepted from the renderer (bytes).
    pub max_output: usize,
    /// The `pdftoppm` program.
    pub pdftoppm: PathBuf,
    /// The `prlimit` program; `None` runs `pdftoppm` without resource limits (the deadline
    /// still applies).
    pub prlimit: Option<PathBuf>,
}

impl Default for RenderLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            memory_bytes: 512 << 20,
            max_width: 4096,
            max_output: 64 << 20,
            pdftoppm: PathBuf::from("pdftoppm"),
            prlimit: Some(PathBuf::from("prlimit")),
        }
    }
}

/// Errors from rendering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The document cannot be read (or is encrypted).
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// The page does not exist.
    #[error("page {page} does not exist (the document has {count})")]
    NoSuchPage {
        /// The page asked for (0-based).
        page: u32,
        /// Pages in the document.
        count: u32,
    },
    /// The width is 0 or above [`RenderLimits::max_width`].
    #[error("width {0} is out of range")]
    BadWidth(u32),
    /// The renderer could not be started (not installed?).
    #[error("the renderer could not be started: {0}")]
    Spawn(std::io::Error),
    /// The renderer ran past [`RenderLimits::timeout`] (or its CPU limit) and was killed.
    #[error("rendering took longer than {0:?}")]
    Timeout(Duration),
    /// The renderer ran out of its memory allowance.
    #[error("rendering needed more memory than allowed")]
    MemoryLimit,
    /// The PNG was larger than [`RenderLimits::max_output`].
    #[error("the image is larger than allowed")]
    OutputTooLarge,
    /// The renderer failed.
    #[error("the renderer failed: {0}")]
    Failed(String),
}

/// Renders page `page` (0-based) of `pdf`, as displayed (crop box, /Rotate), to a PNG
/// `width` pixels wide.
pub fn render_page_png(
    pdf: &[u8],
    page: u32,
    width: u32,
    limits: &RenderLimits,
) -> Result<Vec<u8>, RenderError> {
    if width == 0 || width > limits.max_width {
        return Err(RenderError::BadWidth(width));
    }
    let mut r = Reader::open(pdf)?;
    let doc = Document::load(&mut r)?;
    if page >= doc.page_count {
        return Err(RenderError::NoSuchPage {
            page,
            count: doc.page_count,
        });
    }
    let quarter_turn = doc
        .page(&mut r, page)?
        .is_some_and(|p| p.geometry.rotate % 180 == 90);
    let n = (page + 1).to_string();
    let w = width.to_string();
    // pdftoppm scales the page before turning it: on a page turned a quarter, the displayed
    // width is the unturned height.
    let (sx, sy) = if quarter_turn {
        ("-1", w.as_str())
    } else {
        (w.as_str(), "-1")
    };
    let args = [
        "-f",
        &n,
        "-l",
        &n,
        "-scale-to-x",
        sx,
        "-scale-to-y",
        sy,
        "-cropbox",
        "-png",
        "-singlefile",
        "-",
    ];
    let mut cmd = match &limits.prlimit {
        Some(prlimit) => {
            let cpu = limits.timeout.as_secs().max(1);
            let mut c = Command::new(prlimit);
            c.arg(format!("--as={}", limits.memory_bytes))
                .arg(format!("--cpu={cpu}"))
                .arg("--")
                .arg(&limits.pdftoppm);
            c
        }
        None => Command::new(&limits.pdftoppm),
    };
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(RenderError::Spawn)?;
    let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(RenderError::Failed("no pipes to the renderer".into()));
    };
    let max_output = limits.max_output;
    std::thread::scope(|s| {
        // A renderer that stops reading (it failed, or it was killed) ends the write with an
        // error, which is expected and ignored.
        s.spawn(move || {
            let _ = stdin.write_all(pdf);
        });
        let out = s.spawn(move || {
            let mut buf = Vec::new();
            let res = stdout.take(max_output as u64 + 1).read_to_end(&mut buf);
            res.map(|_| buf)
        });
        let err = s.spawn(move || {
            let mut buf = Vec::new();
            let _ = (&mut stderr).take(64 << 10).read_to_end(&mut buf);
            buf
        });
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if started.elapsed() >= limits.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(RenderError::Timeout(limits.timeout));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(RenderError::Failed(e.to_string()));
                }
            }
        };
        let out = out.join();
        let err = err.join().unwrap_or_default();
        let status = status?;
        let err_text = String::from_utf8_lossy(&err);
        if err_text.contains("Out of memory") || err_text.contains("bad_alloc") {
            return Err(RenderError::MemoryLimit);
        }
        {
            use std::os::unix::process::ExitStatusExt;
            // The CPU limit ends the process with SIGXCPU (or SIGKILL past the hard limit).
            if matches!(status.signal(), Some(24 | 9)) {
                return Err(RenderError::Timeout(limits.timeout));
            }
        }
        let png = match out {
            Ok(Ok(png)) => png,
            _ => return Err(RenderError::Failed("reading the image failed".into())),
        };
        if png.len() > max_output {
            return Err(RenderError::OutputTooLarge);
        }
        if !status.success() || !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(RenderError::Failed(format!(
                "{status}: {}",
                err_text.lines().next().unwrap_or("no image")
            )));
        }
        Ok(png)
    })
}
