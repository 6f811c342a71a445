//! Signing: envelopes that collect signatures, in Signet's own words (the vendor dialects
//! translate to and from these types).
//!
//! Pure rules only, no I/O: the tenant's document [`library`] with its version links, the
//! envelope [`model`], the [`order`] between participants as a dependency graph, [`fields`]
//! placed on pages, and the [`lifecycle`] that checks a draft and moves an envelope by one
//! command at a time, returning effects and events as data.

mod envelopes;
pub mod fields;
pub mod folders;
pub(crate) mod jobs;
pub mod library;
pub mod lifecycle;
pub mod links;
pub mod model;
pub mod order;
mod participant;
mod service;
pub mod signer;
mod text;
pub mod versions;

#[cfg(test)]
mod tests;

pub use envelopes::{EnvelopeView, MAX_LIST_LIMIT, NewSignEnvelope, RecordedSigningEvent};
pub use fields::{
    Field, FieldError, FieldId, FieldKind, FieldValue, ImageRef, ImageType, Mark, Rect, check_value,
};
pub use library::{
    FileFacts, LibraryDocument, LibraryError, MediaType, VersionKind, find_in_family, lineage,
};
pub use lifecycle::{
    Act, DraftDocument, DraftError, DraftField, DraftParticipant, DraftProblem, EnvelopeDraft,
    Refusal, apply, create, may_act_now, waiting_for,
};
pub use model::{
    Actor, AuthMethod, AuthPolicy, Command, CompletionRule, DocumentAction, Effect,
    EnvelopeDocument, EnvelopeStatus, EventKind, Label, Notice, Origin, Outcome, PAGES_AWAITED,
    Participant, ParticipantKey, ParticipantState, PersonName, Reason, RedirectUrl, Redirects,
    ReminderPolicy, Role, SignEnvelope, SigningEvent, Timer, Title,
};
pub use order::{OrderError, group_edges, sequence_edges};
pub use participant::MAX_MARK_IMAGE_BYTES;
pub use service::NewLibraryDocument;
pub use versions::{SignVersion, SignVersionKind};
