//! Retrieval of a client's file from a URL the client gave: a GET through the outbound-target
//! guard (every address of every hop checked, connections pinned to the checked addresses), each
//! redirect checked again, the answer size-limited while it is read. The answer is either the
//! file itself (`application/pdf`) or JSON `{"file": "<base64>"}`.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use signet_core::signing::folders::{FileRetriever, RetrievalFailure};

use crate::target::{self, TargetPolicy};

/// The most redirects followed.
pub const MAX_REDIRECTS: usize = 3;

/// Fetches client files under an outbound target policy.
#[derive(Debug, Clone)]
pub struct ClientFileRetriever {
    policy: TargetPolicy,
    timeout: Duration,
}

impl ClientFileRetriever {
    /// A retriever that refuses private targets unless `policy` allows them; each hop gets
    /// `timeout` in all.
    pub fn new(policy: TargetPolicy, timeout: Duration) -> Self {
        Self { policy, timeout }
    }
}

#[derive(serde::Deserialize)]
struct FileAnswer {
    file: String,
}

/// Decodes base64 in any of its usual alphabets, with or without padding.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    let text = text
        .strip_prefix("data:application/pdf;base64,")
        .unwrap_or(text);
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

#[async_trait]
impl FileRetriever for ClientFileRetriever {
    async fn retrieve(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, RetrievalFailure> {
        // Base64 in JSON is a third larger than the file.
        let limit =
            usize::try_from(max_bytes.saturating_mul(4) / 3 + 64 * 1024).unwrap_or(usize::MAX);
        let max_file = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        let mut current = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let target = target::validate(&current, self.policy).await.map_err(|e| {
                if e.is_retryable() {
                    RetrievalFailure::Failed(e.to_string())
                } else {
                    RetrievalFailure::Refused(e.to_string())
                }
            })?;
            let client = target
                .pinned_client(self.timeout)
                .map_err(|e| RetrievalFailure::Failed(e.to_string()))?;
            let mut response = client
                .get(target.url().clone())
                .header(reqwest::header::ACCEPT, "application/json, application/pdf")
                .send()
                .await
                .map_err(|e| RetrievalFailure::Failed(e.to_string()))?;
            if response.status().is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        RetrievalFailure::Failed("a redirect without Location".into())
                    })?;
                let next = target
                    .url()
                    .join(location)
                    .map_err(|e| RetrievalFailure::Refused(format!("redirect: {e}")))?;
                current = next.to_string();
                continue;
            }
            if !response.status().is_success() {
                return Err(RetrievalFailure::Failed(format!(
                    "the server answered {}",
                    response.status()
                )));
            }
            if response.content_length().is_some_and(|n| n > limit as u64) {
                return Err(RetrievalFailure::Refused("the answer is too large".into()));
            }
            let is_pdf = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.trim_start().starts_with("application/pdf"));
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| RetrievalFailure::Failed(e.to_string()))?
            {
                if body.len() + chunk.len() > limit {
                    return Err(RetrievalFailure::Refused("the answer is too large".into()));
                }
                body.extend_from_slice(&chunk);
            }
            let file = if is_pdf {
                body
            } else {
                let answer: FileAnswer = serde_json::from_slice(&body).map_err(|_| {
                    RetrievalFailure::Refused("the answer is not {\"file\": base64}".into())
                })?;
                decode_base64(&answer.file)
                    .ok_or_else(|| RetrievalFailure::Refused("`file` is not base64".into()))?
            };
            if file.len() > max_file {
                return Err(RetrievalFailure::Refused("the file is too large".into()));
            }
            return Ok(file);
        }
        Err(RetrievalFailure::Refused(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_in_every_alphabet() {
        let bytes = vec![0xfbu8, 0xff, 0x01, 0x02];
        for text in [
            STANDARD.encode(&bytes),
            STANDARD_NO_PAD.encode(&bytes),
            URL_SAFE.encode(&bytes),
            URL_SAFE_NO_PAD.encode(&bytes),
        ] {
            assert_eq!(decode_base64(&text), Some(bytes.clone()), "{text}");
        }
        assert_eq!(decode_base64("not base64!"), None);
    }

    #[tokio::test]
    async fn private_and_metadata_targets_are_refused() {
        let retriever = ClientFileRetriever::new(TargetPolicy::default(), Duration::from_secs(5));
        for url in [
            "http://127.0.0.1:9/file",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/file",
            "http://192.168.0.1/file",
            "http://[::1]/file",
            "file:///etc/passwd",
        ] {
            let refused = retriever.retrieve(url, 1024).await;
            assert!(
                matches!(refused, Err(RetrievalFailure::Refused(_))),
                "{url}: {refused:?}"
            );
        }
        let allowing = ClientFileRetriever::new(
            TargetPolicy {
                allow_private_targets: true,
            },
            Duration::from_secs(5),
        );
        let metadata = allowing
            .retrieve("http://169.254.169.254/latest/meta-data", 1024)
            .await;
        assert!(matches!(metadata, Err(RetrievalFailure::Refused(_))));
    }
}
