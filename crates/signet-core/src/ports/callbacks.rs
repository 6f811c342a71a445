//! Ports for documents the sender keeps: fetching their files from a URL the client gave, and
//! writing the callbacks that hand new versions and status changes back to the sender.

use crate::signing::model::SignEnvelope;

/// The public alias of a core id (`namespace`, id as text).
pub type Alias<'a> = dyn Fn(&str, &str) -> String + 'a;

/// Why a client's file could not be retrieved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetrievalFailure {
    /// The URL or a redirect points where Signet does not go (private, loopback, metadata, a
    /// scheme other than http(s)), or the answer is too large or not a file.
    #[error("refused: {0}")]
    Refused(String),
    /// The client's server could not be reached or answered an error.
    #[error("failed: {0}")]
    Failed(String),
}

/// Fetches a file from a URL a client gave (through the outbound-target guard, with size and
/// time limits, every redirect checked again). Implemented in `signet-notify`.
#[async_trait::async_trait]
pub trait FileRetriever: Send + Sync + 'static {
    /// The file's bytes; at most `max_bytes`.
    async fn retrieve(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, RetrievalFailure>;
}

/// Writes the bodies of sender callbacks in the words of the API the sender used (the dialect
/// that keeps sender callbacks implements it).
pub trait SenderCallbackRenderer: Send + Sync + 'static {
    /// The status callback's body for the envelope as it is now; `alias` gives the public alias
    /// of a core id in a namespace (`Core::public_alias`).
    fn status(&self, alias: &Alias<'_>, envelope: &SignEnvelope) -> String;
    /// The file callback's body carrying a new version of the envelope's document.
    fn file(&self, alias: &Alias<'_>, envelope: &SignEnvelope, pdf: &[u8]) -> String;
}
