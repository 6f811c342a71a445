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
pub(crate) mod tests {
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

    /// The whole table, cell by cell: what each transition leads to from each state.
    #[test]
    fn every_transition_from_every_state() {
        use Transition::*;
        let expected = |from: EnvelopeState, t: Transition| -> Option<EnvelopeState> {
            Some(match (from, t) {
                (Draft | Uploading, ReceiveDocument) => Uploading,
                (Draft | Uploading | Open, Confirm) => Open,
                (Voided, Cancel) => return None,
                (_, Cancel) => Cancelled,
                (Draft | Uploading | Open, Expire) => Expired,
                (Open, Complete) => Completed,
                (Open | Completed, Void) => Voided,
                _ => return None,
            })
        };
        for from in ALL_STATES {
            for t in ALL_TRANSITIONS {
                match expected(from, t) {
                    Some(to) => assert_eq!(next_state(from, t), Ok(to), "{from:?} {t:?}"),
                    None => assert_eq!(
                        next_state(from, t),
                        Err(NotAllowed {
                            from,
                            transition: t
                        }),
                        "{from:?} {t:?}"
                    ),
                }
            }
        }
    }

    /// The refusal reaches API clients as it is: it is written for them.
    #[test]
    fn refusals_read_as_sentences_for_clients() {
        let refusal = |from, transition| NotAllowed { from, transition }.to_string();
        assert_eq!(
            refusal(Open, Transition::ReceiveDocument),
            "uploading a document is not possible: the envelope was already confirmed"
        );
        assert_eq!(
            refusal(Cancelled, Transition::Confirm),
            "confirming is not possible: the envelope was cancelled"
        );
        // Every pair names what was attempted and where the envelope stands, with no Rust names.
        let mut sentences = std::collections::HashSet::new();
        for from in ALL_STATES {
            for transition in ALL_TRANSITIONS {
                let sentence = refusal(from, transition);
                assert!(!sentence.contains(&format!("{from:?}")), "{sentence}");
                assert!(!sentence.contains(&format!("{transition:?}")), "{sentence}");
                sentences.insert(sentence);
            }
        }
        assert_eq!(sentences.len(), ALL_STATES.len() * ALL_TRANSITIONS.len());
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::seconds(seconds)
    }

    fn content(size: u64) -> StoredContent {
        StoredContent {
            blob: crate::blob::BlobKey::random(),
            size,
            sha256: crate::values::Sha256Digest::from_bytes([1; 32]),
            sha3_256: Some(crate::values::Sha3Digest::from_bytes([2; 32])),
            content_type: "application/pdf".into(),
            stored_at: at(0),
        }
    }

    /// A draft envelope with two pending documents, its upload window closing at `at(100)`, its
    /// links working for 14 days after confirmation.
    pub(crate) fn draft() -> EnvelopeAggregate {
        use crate::model::*;
        let document = |position| Document {
            id: DocumentId::generate(),
            position,
            name: "payslip.pdf".parse().expect("a valid name"),
            content: DocumentContent::Pending,
            derived_from: None,
        };
        EnvelopeAggregate {
            envelope: Envelope {
                id: crate::ids::EnvelopeId::generate(),
                tenant_id: crate::ids::TenantId::random(),
                purpose: Purpose::Deliver,
                state: Draft,
                version: 0,
                sender_language: crate::values::Language::En,
                participant_language: crate::values::Language::En,
                links: LinkPolicy {
                    expiration_days: 14,
                    reusable: true,
                },
                notify_events: false,
                secret_question: None,
                created_at: at(0),
                upload_deadline: at(100),
                confirmed_at: None,
                expires_at: None,
                closed_at: None,
            },
            documents: vec![document(0), document(1)],
            participants: Vec::new(),
        }
    }

    fn uploaded(sizes: [u64; 2]) -> EnvelopeAggregate {
        let mut envelope = draft();
        for (i, size) in sizes.into_iter().enumerate() {
            let id = envelope.documents[i].id;
            envelope
                .receive_document(id, content(size), at(10))
                .expect("received");
        }
        envelope
    }

    #[test]
    fn uploads_are_accepted_until_the_deadline_and_not_after() {
        let mut envelope = draft();
        let first = envelope.documents[0].id;
        assert_eq!(
            envelope.receive_document(first, content(5), at(100)),
            Ok(())
        );
        assert_eq!(envelope.envelope.state, Uploading);
        let second = envelope.documents[1].id;
        assert_eq!(
            envelope.receive_document(second, content(5), at(101)),
            Err(ReceiveError::DeadlinePassed)
        );
        assert!(envelope.documents[1].stored().is_none());
    }

    #[test]
    fn each_document_is_uploaded_once() {
        let mut envelope = draft();
        let id = envelope.documents[0].id;
        envelope
            .receive_document(id, content(5), at(1))
            .expect("first");
        let kept = envelope.documents[0].clone();
        assert_eq!(
            envelope.receive_document(id, content(6), at(2)),
            Err(ReceiveError::AlreadyUploaded)
        );
        assert_eq!(envelope.documents[0], kept, "the first upload is kept");
        assert_eq!(
            envelope.receive_document(DocumentId::generate(), content(1), at(2)),
            Err(ReceiveError::UnknownDocument)
        );
    }

    #[test]
    fn confirmation_needs_every_document_within_the_plan() {
        let mut missing = draft();
        let id = missing.documents[0].id;
        missing
            .receive_document(id, content(5), at(1))
            .expect("one");
        assert_eq!(
            missing.confirm(100, at(2)),
            Err(ConfirmError::MissingDocument(missing.documents[1].id))
        );

        let mut exact = uploaded([40, 60]);
        assert_eq!(exact.total_size(), 100);
        assert_eq!(
            exact.confirm(100, at(20)),
            Ok(true),
            "the limit itself is allowed"
        );
        assert_eq!(exact.envelope.state, Open);
        assert_eq!(exact.envelope.confirmed_at, Some(at(20)));
        assert_eq!(
            exact.envelope.expires_at,
            Some(at(20) + Duration::days(14)),
            "links work for the policy's days after confirmation"
        );
        assert_eq!(exact.confirm(100, at(30)), Ok(false), "twice is a no-op");
        assert_eq!(exact.envelope.confirmed_at, Some(at(20)));

        let mut over = uploaded([40, 61]);
        assert_eq!(
            over.confirm(100, at(20)),
            Err(ConfirmError::TooLarge {
                total: 101,
                limit: 100
            })
        );
        assert_eq!(over.envelope.state, Uploading);
    }

    #[test]
    fn links_work_from_confirmation_until_expiry() {
        let mut envelope = uploaded([1, 1]);
        assert!(!envelope.links_usable(at(20)), "not before confirmation");
        envelope.confirm(10, at(20)).expect("confirmed");
        let end = at(20) + Duration::days(14);
        assert!(envelope.links_usable(at(21)));
        assert!(envelope.links_usable(end - Duration::seconds(1)));
        assert!(!envelope.links_usable(end), "not at the expiry itself");
        envelope.cancel(at(30)).expect("cancelled");
        assert!(!envelope.links_usable(at(31)), "not once cancelled");
    }

    #[test]
    fn expiry_waits_for_the_links_to_run_out() {
        let mut envelope = uploaded([1, 1]);
        envelope.confirm(10, at(20)).expect("confirmed");
        let end = at(20) + Duration::days(14);
        assert_eq!(envelope.expire(end - Duration::seconds(1)), Ok(false));
        assert_eq!(envelope.envelope.state, Open);
        assert_eq!(envelope.envelope.closed_at, None);
        assert_eq!(envelope.expire(end), Ok(true));
        assert_eq!(envelope.envelope.state, Expired);
        assert_eq!(envelope.envelope.closed_at, Some(end));

        // An envelope never confirmed expires whenever the sweeper finds it.
        let mut abandoned = draft();
        assert_eq!(abandoned.expire(at(500)), Ok(true));
        assert_eq!(abandoned.envelope.state, Expired);
    }

    #[test]
    fn cancelling_hands_back_every_stored_blob_once() {
        let mut envelope = uploaded([3, 4]);
        let blobs: Vec<_> = envelope
            .documents
            .iter()
            .map(|d| d.stored().expect("stored").blob.clone())
            .collect();
        let hashes: Vec<_> = envelope
            .documents
            .iter()
            .map(|d| d.stored().expect("stored").sha256)
            .collect();
        assert_eq!(envelope.cancel(at(40)), Ok(blobs));
        assert_eq!(envelope.envelope.state, Cancelled);
        assert_eq!(envelope.envelope.closed_at, Some(at(40)));
        for (doc, sha256) in envelope.documents.iter().zip(hashes) {
            assert_eq!(
                doc.content,
                DocumentContent::Deleted {
                    sha256: Some(sha256)
                },
                "the hash outlives the bytes"
            );
        }
        assert_eq!(envelope.cancel(at(50)), Ok(vec![]), "twice: nothing more");
        assert_eq!(envelope.envelope.closed_at, Some(at(40)), "closed once");
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
