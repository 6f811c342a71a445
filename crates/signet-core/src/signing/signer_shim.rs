//! TEMPORARY: stand-ins with the contract's signatures for the lead's participant-side helpers
//! (`signing/participant.rs` on `main`), so the signer app builds before they land. Deleted by
//! the merge of `main` that brings the real ones.

use super::fields::{ImageRef, ImageType};
use super::model::{Command, Origin, SignEnvelope};
use crate::error::{CoreError, CoreResult};
use crate::ids::{ParticipantId, TenantId};
use crate::ports::Core;

fn not_yet() -> CoreError {
    CoreError::Unexpected(anyhow::anyhow!("the signing service is not merged yet"))
}

impl Core {
    /// See SIGNING-CONTRACT.md.
    pub async fn act_as_participant(
        &self,
        token: &str,
        command: impl Fn(ParticipantId) -> Command,
        origin: &Origin,
    ) -> CoreResult<SignEnvelope> {
        let _ = (token, command, origin);
        Err(not_yet())
    }

    /// See SIGNING-CONTRACT.md.
    pub async fn participant_envelope(
        &self,
        token: &str,
    ) -> CoreResult<(SignEnvelope, ParticipantId)> {
        let _ = token;
        Err(not_yet())
    }

    /// See SIGNING-CONTRACT.md.
    pub async fn store_mark_image(
        &self,
        tenant: &TenantId,
        bytes: Vec<u8>,
        media: ImageType,
    ) -> CoreResult<ImageRef> {
        let _ = (tenant, bytes, media);
        Err(not_yet())
    }
}
