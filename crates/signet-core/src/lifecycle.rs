//! Envelope lifecycle as pure functions: which transition is allowed from which state, and what
//! the aggregate looks like afterwards. No I/O and no clock here — callers pass the time — so
//! every rule is tested directly.

use time::{Duration, OffsetDateTime};

use crate::ids::DocumentId;
use crate::model::{DocumentContent, EnvelopeAggregate, EnvelopeState, StoredContent};

/// Something that moves an envelope through its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transition {
    /// A document's bytes arrived.
    ReceiveDocument,
    /// The sender confirmed.
    Confirm,
    /// The sender cancelled.
    Cancel,
    /// The links (or the upload window) ran out.
    Expire,
    /// Every participant finished.
    Complete,
    /// The envelope is declared void.
    Void,
}

/// A transition that the current state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{} is not possible: the envelope {}", transition_words(*.transition), state_words(*.from))]
pub struct NotAllowed {
    /// The state the envelope was in.
    pub from: EnvelopeState,
    /// What was attempted.
    pub transition: Transition,
}

/// What was attempted, as a client reads it (the message reaches API clients).
fn transition_words(transition: Transition) -> &'static str {
    match transition {
        Transition::ReceiveDocument => "uploading a document",
        Transition::Confirm => "confirming",
        Transition::Cancel => "cancelling",
        Transition::Expire => "expiring",
        Transition::Complete => "completing",
        Transition::Void => "voiding",
    }
}

/// Where the envelope stands, as a client reads it.
fn state_words(state: EnvelopeState) -> &'static str {
    match state {
        EnvelopeState::Draft => "is a draft",
        EnvelopeState::Uploading => "is still waiting for its documents",
        EnvelopeState::Open => "was already confirmed",
        EnvelopeState::Completed => "is completed",
        EnvelopeState::Expired => "has expired",
        EnvelopeState::Cancelled => "was cancelled",
        EnvelopeState::Voided => "is void",
    }
}

/// The state after `transition`, or why it is not allowed. Confirming an open envelope and
/// cancelling a cancelled one are allowed and change nothing, so that clients can retry.
pub fn next_state(
    from: EnvelopeState,
    transition: Transition,
) -> Result<EnvelopeState, NotAllowed> {
    use EnvelopeState::*;
    use Transition::*;
    let to = match (from, transition) {
        (Draft | Uploading, ReceiveDocument) => Uploading,
        (Draft | Uploading | Open, Confirm) => Open,
        (Draft | Uploading | Open | Completed | Expired | Cancelled, Cancel) => Cancelled,
        (Draft | Uploading | Open, Expire) => Expired,
        (Open, Complete) => Completed,
        (Open | Completed, Void) => Voided,
        _ => return Err(NotAllowed { from, transition }),
    };
    Ok(to)
}

/// Why an envelope could not be confirmed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfirmError {
    /// The state does not allow it.
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    /// A document has not been uploaded.
    #[error("document {0} has not been uploaded")]
    MissingDocument(DocumentId),
    /// The documents together are larger than the plan allows.
    #[error("documents total {total} bytes, the plan allows {limit}")]
    TooLarge {
        /// Total size of the documents.
        total: u64,
        /// The plan's limit.
        limit: u64,
    },
}

/// Why a document could not be received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The envelope no longer accepts uploads.
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    /// No such document in this envelope.
    #[error("no such document")]
    UnknownDocument,
    /// This document was already uploaded (upload URLs are single-use).
    #[error("document already uploaded")]
    AlreadyUploaded,
    /// The upload window closed.
    #[error("the upload URL has expired")]
    DeadlinePassed,
}

impl EnvelopeAggregate {
    /// Records a document's stored bytes.
    pub fn receive_document(
        &mut self,
        document: DocumentId,
        content: StoredContent,
        now: OffsetDateTime,
    ) -> Result<(), ReceiveError> {
        let to = next_state(self.envelope.state, Transition::ReceiveDocument)?;
        if now > self.envelope.upload_deadline {
            return Err(ReceiveError::DeadlinePassed);
        }
        let doc = self
            .documents
            .iter_mut()
            .find(|d| d.id == document)
            .ok_or(ReceiveError::UnknownDocument)?;
        if !matches!(doc.content, DocumentContent::Pending) {
            return Err(ReceiveError::AlreadyUploaded);
        }
        doc.content = DocumentContent::Stored(content);
        self.envelope.state = to;
        Ok(())
    }

    /// Total size of the stored documents.
    pub fn total_size(&self) -> u64 {
        self.documents
            .iter()
            .filter_map(|d| d.stored().map(|c| c.size))
            .sum()
    }

    /// Confirms the envelope: every document must be stored and within `max_bytes` in total.
    /// Returns whether anything changed (confirming twice is a no-op).
    pub fn confirm(&mut self, max_bytes: u64, now: OffsetDateTime) -> Result<bool, ConfirmError> {
        let to = next_state(self.envelope.state, Transition::Confirm)?;
        if self.envelope.state == EnvelopeState::Open {
            return Ok(false);
        }
        if let Some(missing) = self.documents.iter().find(|d| d.stored().is_none()) {
            return Err(ConfirmError::MissingDocument(missing.id));
        }
        let total = self.total_size();
        if total > max_bytes {
            return Err(ConfirmError::TooLarge {
                total,
                limit: max_bytes,
            });
        }
        self.envelope.state = to;
        self.envelope.confirmed_at = Some(now);
        self.envelope.expires_at =
            Some(now + Duration::days(i64::from(self.envelope.links.expiration_days)));
        Ok(true)
    }

    /// Cancels the envelope and marks every document deleted, returning the blobs the caller
    /// must delete once the change is saved. Cancelling twice returns no blobs.
    pub fn cancel(&mut self, now: OffsetDateTime) -> Result<Vec<crate::blob::BlobKey>, NotAllowed> {
        let to = next_state(self.envelope.state, Transition::Cancel)?;
        let mut blobs = Vec::new();
        for doc in &mut self.documents {
            let sha256 = match &doc.content {
                DocumentContent::Stored(c) => {
                    blobs.push(c.blob.clone());
                    Some(c.sha256)
                }
                DocumentContent::Deleted { sha256 } => *sha256,
                DocumentContent::Pending => None,
            };
            doc.content = DocumentContent::Deleted { sha256 };
        }
        if self.envelope.state != to {
            self.envelope.closed_at = Some(now);
        }
        self.envelope.state = to;
        Ok(blobs)
    }

    /// Expires an open envelope whose links ran out; `Ok(false)` when it is not due yet.
    pub fn expire(&mut self, now: OffsetDateTime) -> Result<bool, NotAllowed> {
        let to = next_state(self.envelope.state, Transition::Expire)?;
        if self.envelope.state == EnvelopeState::Open
            && self.envelope.expires_at.is_some_and(|at| now < at)
        {
            return Ok(false);
        }
        self.envelope.state = to;
        self.envelope.closed_at = Some(now);
        Ok(true)
    }

    /// Whether a participant may use the envelope's links at `now`.
    pub fn links_usable(&self, now: OffsetDateTime) -> bool {
        self.envelope.state == EnvelopeState::Open
            && self.envelope.expires_at.is_some_and(|at| now < at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnvelopeState::*;
    use proptest::prelude::*;

    const ALL_STATES: [EnvelopeState; 7] = [
        Draft, Uploading, Open, Completed, Expired, Cancelled, Voided,
    ];
    const ALL_TRANSITIONS: [Transition; 6] = [
        Transition::ReceiveDocument,
        Transition::Confirm,
        Transition::Cancel,
        Transition::Expire,
        Transition::Complete,
        Transition::Void,
    ];

    #[test]
    fn delivery_happy_path() {
        let s = next_state(Draft, Transition::ReceiveDocument).expect("upload");
        let s = next_state(s, Transition::Confirm).expect("confirm");
        assert_eq!(s, Open);
        assert_eq!(next_state(s, Transition::Cancel), Ok(Cancelled));
    }

    #[test]
    fn cancelled_envelopes_accept_nothing_but_cancel() {
        for t in ALL_TRANSITIONS {
            let result = next_state(Cancelled, t);
            if t == Transition::Cancel {
                assert_eq!(result, Ok(Cancelled));
            } else {
                assert!(result.is_err(), "{t:?} allowed after cancel");
            }
        }
    }

    #[test]
    fn no_upload_after_confirmation() {
        assert!(next_state(Open, Transition::ReceiveDocument).is_err());
    }

    proptest! {
        /// Whatever happens, an envelope never returns to draft, and once final it stays final.
        #[test]
        fn final_states_stay_final(start in 0usize..7, steps in proptest::collection::vec(0usize..6, 0..20)) {
            let mut state = ALL_STATES[start];
            for step in steps {
                let was_final = state.is_final();
                if let Ok(next) = next_state(state, ALL_TRANSITIONS[step]) {
                    prop_assert!(next != Draft);
                    if was_final {
                        prop_assert!(next.is_final());
                    }
                    state = next;
                }
            }
        }
    }
}
