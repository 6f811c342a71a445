//! A participant's side of an envelope, as use-cases shared by the signer's web app and the
//! vendor dialects: find the envelope a signing link names, act on it (the lifecycle decides
//! whether the act is allowed: turn, state, role, fields), keep the images a signer draws or
//! uploads.
//!
//! The link's token proves only that Signet minted it for that participant; proving who holds
//! it (codes, attempts, sessions) is the signer's access rules' business, before they call
//! [`Core::act_as_participant`].

use super::fields::{ImageRef, ImageType};
use super::model::{Command, Origin, SignEnvelope};
use crate::blob::BlobKey;
use crate::error::{CoreError, CoreResult};
use crate::ids::{DocumentId, ParticipantId, TenantId};
use crate::model::{Actor, TenantStatus};
use crate::ports::Core;
use crate::signing::library::{FileFacts, LibraryDocument, MediaType};
use crate::store::StoredSignEnvelope;
use crate::values::DocumentName;

/// The largest image a signer may draw or upload.
pub const MAX_MARK_IMAGE_BYTES: usize = 2 << 20;

/// Whether `bytes` start like a file of `media` (the stamper decodes them fully later).
fn looks_like(bytes: &[u8], media: ImageType) -> bool {
    match media {
        ImageType::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        ImageType::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
    }
}

impl Core {
    /// Loads the envelope of the participant `token` names; [`CoreError::NotFound`] for a
    /// token this instance did not mint or a participant that does not exist, and for a
    /// suspended tenant's envelopes.
    async fn envelope_of_token(
        &self,
        token: &str,
    ) -> CoreResult<(StoredSignEnvelope, ParticipantId)> {
        let participant = self
            .participant_of_signing_token(token)
            .ok_or(CoreError::NotFound)?;
        let stored = self
            .store
            .sign_envelope_of_participant(&participant)
            .await?
            .ok_or(CoreError::NotFound)?;
        let tenant = self
            .store
            .tenant(&stored.envelope.tenant_id)
            .await?
            .ok_or(CoreError::NotFound)?;
        if tenant.status != TenantStatus::Active {
            return Err(CoreError::NotFound);
        }
        Ok((stored, participant))
    }

    /// The envelope of the participant a signing token names, and who that is.
    pub async fn participant_envelope(
        &self,
        token: &str,
    ) -> CoreResult<(SignEnvelope, ParticipantId)> {
        let (stored, participant) = self.envelope_of_token(token).await?;
        Ok((stored.envelope, participant))
    }

    /// Acts as the participant `token` names: `command` is built for them, decided by the
    /// lifecycle on the envelope's current state (retried on concurrent changes) and saved with
    /// its events and jobs. A refusal is [`CoreError::Refused`] and changes nothing.
    pub async fn act_as_participant(
        &self,
        token: &str,
        command: impl Fn(ParticipantId) -> Command,
        origin: &Origin,
    ) -> CoreResult<SignEnvelope> {
        let (_, participant) = self.envelope_of_token(token).await?;
        self.run_sign_command(
            || async { Ok(self.envelope_of_token(token).await?.0) },
            command(participant),
            origin,
            &Actor::Participant {
                participant_id: participant.to_string(),
            },
        )
        .await
    }

    /// Keeps an image a signer drew or uploaded (PNG or JPEG, at most
    /// [`MAX_MARK_IMAGE_BYTES`]) in the tenant's library and answers the reference a field
    /// value carries.
    pub async fn store_mark_image(
        &self,
        tenant: &TenantId,
        bytes: Vec<u8>,
        media: ImageType,
    ) -> CoreResult<ImageRef> {
        if bytes.len() > MAX_MARK_IMAGE_BYTES {
            return Err(CoreError::TooLarge {
                total: bytes.len() as u64,
                limit: MAX_MARK_IMAGE_BYTES as u64,
            });
        }
        if !looks_like(&bytes, media) {
            return Err(CoreError::Invalid(
                "the image is not a PNG or JPEG file".into(),
            ));
        }
        let (media_type, name) = match media {
            ImageType::Jpeg => ("image/jpeg", "mark.jpg"),
            ImageType::Png => ("image/png", "mark.png"),
        };
        let key = BlobKey::random();
        let body: crate::blob::ByteStream = Box::pin(futures::stream::once(async move {
            Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))
        }));
        let stored = self
            .blobs
            .put(&key, body, Some(MAX_MARK_IMAGE_BYTES as u64))
            .await?;
        let document = LibraryDocument::original(
            DocumentId::generate(),
            *tenant,
            name.parse::<DocumentName>()?,
            media_type.parse::<MediaType>()?,
            FileFacts {
                size: stored.size,
                sha256: stored.sha256,
                sha3_256: stored.sha3_256,
                pages: None,
            },
            self.clock.now(),
        );
        if let Err(e) = self
            .store
            .insert_library_document(&document, &key, None, &[])
            .await
        {
            let _ = self.blobs.delete(&key).await;
            return Err(e.into());
        }
        Ok(ImageRef {
            sha256: stored.sha256,
            media_type: media,
        })
    }
}
