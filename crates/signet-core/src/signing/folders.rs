//! Folders of a tenant, in Signet's own words: a folder groups documents *registered by their
//! SHA3-256* (the client keeps the bytes; they arrive later, when a signer opens a link) and the
//! signing envelopes attached to them. Folders can be linked to each other. Every change is a
//! history entry whose `leaf_hash` is the transparency-log leaf of the event recording it.
//!
//! Also here: the sender callbacks chosen with an API credential or an envelope (a status URL and
//! a file URL, checked by the outbound-target guard), and short public aliases of core ids for
//! APIs whose id formats cannot carry them (an alias is a keyed hash of the id, so it is stable
//! and reveals nothing; the store keeps the way back).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{CoreError, CoreResult};
use crate::ids::{DocumentId, EnvelopeId, EventId, FolderId, RegisteredDocumentId, TenantId};
use crate::model::{Event, EventKind};
use crate::ports::{Caller, Core, require_active};
use crate::values::Sha3Digest;

pub use crate::ports::callbacks::{FileRetriever, RetrievalFailure, SenderCallbackRenderer};

/// The most documents one folder is created with.
pub const MAX_FOLDER_DOCUMENTS: usize = 100;
/// The most folders one folder links to.
pub const MAX_LINKED_FOLDERS: usize = 100;
/// The longest folder or document name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// The longest callback URL accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// Whether a folder or a registered document is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FolderStatus {
    /// Valid and in use.
    Active,
    /// Valid, not in use.
    Closed,
    /// Invalid: no longer used, nothing can be added.
    Voided,
}

impl FolderStatus {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            FolderStatus::Active => "active",
            FolderStatus::Closed => "closed",
            FolderStatus::Voided => "voided",
        }
    }
}

impl std::str::FromStr for FolderStatus {
    type Err = crate::values::InvalidValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "active" => Ok(FolderStatus::Active),
            "closed" => Ok(FolderStatus::Closed),
            "voided" => Ok(FolderStatus::Voided),
            _ => Err(crate::values::InvalidValue::new(
                "folder status",
                "unknown status",
            )),
        }
    }
}

/// A folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Its id.
    pub id: FolderId,
    /// Whose it is.
    pub tenant_id: TenantId,
    /// Its name, as the creator set it.
    pub name: String,
    /// When the creator says it was created.
    pub created_at: OffsetDateTime,
    /// Folders linked to it, in the order given.
    pub linked: Vec<FolderId>,
    /// Whether it is in use.
    pub status: FolderStatus,
}

/// A document registered by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredDocument {
    /// Its id.
    pub id: RegisteredDocumentId,
    /// Whose it is.
    pub tenant_id: TenantId,
    /// The folder holding it.
    pub folder_id: FolderId,
    /// Its name, as the creator set it.
    pub name: String,
    /// Its file type (`pdf`).
    pub file_type: String,
    /// Every SHA3-256 it is known by: the registered one first, then each version Signet produced.
    pub digests: Vec<Sha3Digest>,
    /// Whether it is in use.
    pub status: FolderStatus,
    /// When the creator says it was created.
    pub created_at: OffsetDateTime,
    /// The signing envelopes attached to it, oldest first.
    pub envelopes: Vec<EnvelopeId>,
    /// The library document holding its bytes, once they arrived and matched.
    pub library: Option<DocumentId>,
}

impl RegisteredDocument {
    /// The digest it was registered with.
    pub fn registered_digest(&self) -> &Sha3Digest {
        // `digests` is created with the registered digest and only ever grows.
        &self.digests[0]
    }
}

/// What a history entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HistoryAction {
    /// The folder was created.
    FolderCreated,
    /// A document was added to the folder.
    DocumentAdded {
        /// The document.
        document: RegisteredDocumentId,
    },
    /// The document was registered.
    DocumentCreated,
    /// A signing envelope was attached to the document.
    EnvelopeAttached {
        /// The envelope.
        envelope: EnvelopeId,
    },
    /// The document was voided.
    Voided,
    /// The document's bytes were retrieved and matched a known digest.
    BytesRetrieved {
        /// Their SHA3-256.
        digest: Sha3Digest,
    },
}

/// Who did what a history entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryActor {
    /// The acting tenant (upper-case hex) or participant.
    pub id: String,
    /// The person acting for it, when the client named one.
    pub name: Option<String>,
    /// That person's e-mail address, when the client gave one.
    pub email: Option<String>,
}

/// One change of a folder or a registered document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The event recording it.
    pub event: EventId,
    /// Whose it is.
    pub tenant_id: TenantId,
    /// The folder's or document's id, as text.
    pub subject: String,
    /// Orders the entries of one subject (as stored: 0, 1, 2, … in the order written).
    pub ordinal: i64,
    /// What happened.
    pub action: HistoryAction,
    /// Who did it.
    pub actor: HistoryActor,
    /// When.
    pub at: OffsetDateTime,
    /// The transparency-log leaf hash of the event.
    pub leaf_hash: [u8; 32],
}

/// A person a client acts for, as the client named them (not verified by Signet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnBehalfOf {
    /// Their name.
    pub name: Option<String>,
    /// Their e-mail address.
    pub email: Option<String>,
}

/// Where Signet tells the sender about an envelope: its status, and each new version of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderCallbacks {
    /// Receives status changes.
    pub status_url: String,
    /// Receives each new version of the file.
    pub file_url: String,
}

/// The callbacks and user chosen with one API credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSession {
    /// A digest of the credential (never the credential itself).
    pub token_digest: String,
    /// Whose it is.
    pub tenant_id: TenantId,
    /// The callbacks of envelopes created with it.
    pub callbacks: SenderCallbacks,
    /// The person the client acts for.
    pub on_behalf_of: OnBehalfOf,
    /// When the credential stops working.
    pub expires_at: OffsetDateTime,
}

/// A document to register.
#[derive(Debug, Clone)]
pub struct NewRegisteredDocument {
    /// Its name.
    pub name: String,
    /// Its file type; only `pdf` is accepted.
    pub file_type: String,
    /// Its SHA3-256.
    pub digest: Sha3Digest,
    /// When the creator says it was created.
    pub created_at: OffsetDateTime,
}

/// A folder to create.
#[derive(Debug, Clone)]
pub struct NewFolder {
    /// Its name.
    pub name: String,
    /// When the creator says it was created.
    pub created_at: OffsetDateTime,
    /// Existing folders of the tenant to link to it.
    pub linked: Vec<FolderId>,
    /// Its documents (at least one).
    pub documents: Vec<NewRegisteredDocument>,
}

/// A folder with its documents and history.
#[derive(Debug, Clone)]
pub struct FolderView {
    /// The folder.
    pub folder: Folder,
    /// Its documents, with their histories, in the order they were registered.
    pub documents: Vec<RegisteredDocumentView>,
    /// Its history.
    pub history: Vec<HistoryEntry>,
}

/// A registered document with its history.
#[derive(Debug, Clone)]
pub struct RegisteredDocumentView {
    /// The document.
    pub document: RegisteredDocument,
    /// Its history.
    pub history: Vec<HistoryEntry>,
}

fn checked_name(what: &str, name: &str) -> CoreResult<String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(CoreError::Invalid(format!(
            "{what}: 1 to {MAX_NAME_CHARS} characters, no control characters"
        )));
    }
    Ok(name.to_owned())
}

fn checked_file_type(file_type: &str) -> CoreResult<String> {
    if file_type != "pdf" {
        return Err(CoreError::Invalid(
            "file_type: only \"pdf\" is supported".into(),
        ));
    }
    Ok(file_type.to_owned())
}

/// Collects history entries and their events for one transaction.
struct Recorder<'a> {
    core: &'a Core,
    caller: &'a Caller,
    actor: HistoryActor,
    entries: Vec<HistoryEntry>,
    events: Vec<Event>,
}

impl<'a> Recorder<'a> {
    fn new(core: &'a Core, caller: &'a Caller, on_behalf_of: &OnBehalfOf) -> Self {
        Self {
            core,
            caller,
            actor: HistoryActor {
                id: caller.tenant.id.to_upper_hex(),
                name: on_behalf_of.name.clone(),
                email: on_behalf_of.email.clone(),
            },
            entries: Vec::new(),
            events: Vec::new(),
        }
    }

    fn record(
        &mut self,
        kind: EventKind,
        subject: String,
        action: HistoryAction,
        envelope: Option<EnvelopeId>,
    ) -> CoreResult<()> {
        let mut event = self.core.event(
            self.caller.tenant.id,
            kind,
            self.caller.actor.clone(),
            self.caller.ip,
        );
        event.envelope_id = envelope;
        event.data = serde_json::json!({
            "subject": subject,
            "change": serde_json::to_value(&action).map_err(|e| anyhow::anyhow!(e))?,
            "on_behalf_of": { "name": self.actor.name, "email": self.actor.email },
        });
        // The position in this batch; the store numbers each subject's entries in write order.
        let ordinal = self.entries.len() as i64;
        self.entries.push(HistoryEntry {
            event: event.id,
            tenant_id: self.caller.tenant.id,
            subject,
            ordinal,
            action,
            actor: self.actor.clone(),
            at: event.at,
            leaf_hash: crate::evidence::leaf_hash(&event),
        });
        self.events.push(event);
        Ok(())
    }
}

impl Core {
    /// Creates a folder with its documents, linked to existing folders of the caller.
    pub async fn create_folder(
        &self,
        caller: &Caller,
        new: NewFolder,
        on_behalf_of: &OnBehalfOf,
    ) -> CoreResult<FolderView> {
        require_active(&caller.tenant)?;
        let name = checked_name("folder_name", &new.name)?;
        if new.documents.is_empty() {
            return Err(CoreError::Invalid(
                "documents: a folder holds at least one document".into(),
            ));
        }
        if new.documents.len() > MAX_FOLDER_DOCUMENTS {
            return Err(CoreError::Invalid(format!(
                "documents: at most {MAX_FOLDER_DOCUMENTS}"
            )));
        }
        if new.linked.len() > MAX_LINKED_FOLDERS {
            return Err(CoreError::Invalid(format!(
                "linked_folders: at most {MAX_LINKED_FOLDERS}"
            )));
        }
        let mut seen = BTreeSet::new();
        for (i, linked) in new.linked.iter().enumerate() {
            if !seen.insert(*linked)
                || self
                    .store
                    .folder(&caller.tenant.id, linked)
                    .await?
                    .is_none()
            {
                return Err(CoreError::Invalid(format!(
                    "linked_folders[{i}]: no such folder"
                )));
            }
        }
        let folder = Folder {
            id: FolderId::random(),
            tenant_id: caller.tenant.id,
            name,
            created_at: new.created_at,
            linked: new.linked,
            status: FolderStatus::Active,
        };
        let mut documents = Vec::with_capacity(new.documents.len());
        for (i, d) in new.documents.into_iter().enumerate() {
            documents.push(RegisteredDocument {
                id: RegisteredDocumentId::random(),
                tenant_id: caller.tenant.id,
                folder_id: folder.id,
                name: checked_name(&format!("documents[{i}].name"), &d.name)?,
                file_type: checked_file_type(&d.file_type)
                    .map_err(|e| CoreError::Invalid(format!("documents[{i}].{e}")))?,
                digests: vec![d.digest],
                status: FolderStatus::Active,
                created_at: d.created_at,
                envelopes: Vec::new(),
                library: None,
            });
        }
        let mut rec = Recorder::new(self, caller, on_behalf_of);
        rec.record(
            EventKind::FolderCreated,
            folder.id.to_string(),
            HistoryAction::FolderCreated,
            None,
        )?;
        for d in &documents {
            rec.record(
                EventKind::DocumentRegistered,
                folder.id.to_string(),
                HistoryAction::DocumentAdded { document: d.id },
                None,
            )?;
        }
        for d in &documents {
            rec.record(
                EventKind::DocumentRegistered,
                d.id.to_string(),
                HistoryAction::DocumentCreated,
                None,
            )?;
        }
        self.store
            .insert_folder(&folder, &documents, &rec.entries, &rec.events)
            .await?;
        let history = |subject: String| -> Vec<HistoryEntry> {
            rec.entries
                .iter()
                .filter(|e| e.subject == subject)
                .cloned()
                .collect()
        };
        Ok(FolderView {
            history: history(folder.id.to_string()),
            documents: documents
                .into_iter()
                .map(|document| RegisteredDocumentView {
                    history: history(document.id.to_string()),
                    document,
                })
                .collect(),
            folder,
        })
    }

    /// The caller's folder, with its documents and histories.
    pub async fn folder_view(&self, caller: &Caller, id: &FolderId) -> CoreResult<FolderView> {
        require_active(&caller.tenant)?;
        let tenant = &caller.tenant.id;
        let folder = self
            .store
            .folder(tenant, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        let mut documents = Vec::new();
        for document in self.store.folder_documents(tenant, id).await? {
            let history = self.store.history(tenant, &document.id.to_string()).await?;
            documents.push(RegisteredDocumentView { document, history });
        }
        Ok(FolderView {
            history: self.store.history(tenant, &id.to_string()).await?,
            documents,
            folder,
        })
    }

    /// Registers one more document in an active folder of the caller.
    pub async fn register_document(
        &self,
        caller: &Caller,
        folder: &FolderId,
        new: NewRegisteredDocument,
        on_behalf_of: &OnBehalfOf,
    ) -> CoreResult<RegisteredDocumentView> {
        require_active(&caller.tenant)?;
        let name = checked_name("document_name", &new.name)?;
        let file_type = checked_file_type(&new.file_type)?;
        let folder = self
            .store
            .folder(&caller.tenant.id, folder)
            .await?
            .ok_or(CoreError::NotFound)?;
        if folder.status != FolderStatus::Active {
            return Err(CoreError::StateConflict(format!(
                "the folder is {}",
                folder.status.as_str()
            )));
        }
        let document = RegisteredDocument {
            id: RegisteredDocumentId::random(),
            tenant_id: caller.tenant.id,
            folder_id: folder.id,
            name,
            file_type,
            digests: vec![new.digest],
            status: FolderStatus::Active,
            created_at: new.created_at,
            envelopes: Vec::new(),
            library: None,
        };
        let mut rec = Recorder::new(self, caller, on_behalf_of);
        rec.record(
            EventKind::DocumentRegistered,
            folder.id.to_string(),
            HistoryAction::DocumentAdded {
                document: document.id,
            },
            None,
        )?;
        rec.record(
            EventKind::DocumentRegistered,
            document.id.to_string(),
            HistoryAction::DocumentCreated,
            None,
        )?;
        self.store
            .insert_registered_document(&document, &rec.entries, &rec.events)
            .await?;
        let subject = document.id.to_string();
        Ok(RegisteredDocumentView {
            history: rec
                .entries
                .into_iter()
                .filter(|e| e.subject == subject)
                .collect(),
            document,
        })
    }

    /// The caller's registered document with its history.
    pub async fn registered_document_view(
        &self,
        caller: &Caller,
        id: &RegisteredDocumentId,
    ) -> CoreResult<RegisteredDocumentView> {
        require_active(&caller.tenant)?;
        let document = self
            .store
            .registered_document(&caller.tenant.id, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        let history = self
            .store
            .history(&caller.tenant.id, &id.to_string())
            .await?;
        Ok(RegisteredDocumentView { document, history })
    }

    /// The name of the folder holding a registered document (for answers that show it).
    pub async fn folder_of(&self, caller: &Caller, id: &FolderId) -> CoreResult<Folder> {
        self.store
            .folder(&caller.tenant.id, id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// Attaches a signing envelope of the caller to an active registered document, with the
    /// sender callbacks chosen for it (checked by the outbound-target guard).
    pub async fn attach_envelope(
        &self,
        caller: &Caller,
        id: &RegisteredDocumentId,
        envelope: EnvelopeId,
        callbacks: Option<&SenderCallbacks>,
        on_behalf_of: &OnBehalfOf,
    ) -> CoreResult<RegisteredDocumentView> {
        require_active(&caller.tenant)?;
        if let Some(callbacks) = callbacks {
            self.check_sender_callbacks(callbacks).await?;
        }
        let mut document = self
            .store
            .registered_document(&caller.tenant.id, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        if document.status != FolderStatus::Active {
            return Err(CoreError::StateConflict(format!(
                "the document is {}",
                document.status.as_str()
            )));
        }
        if !document.envelopes.contains(&envelope) {
            document.envelopes.push(envelope);
        }
        let mut rec = Recorder::new(self, caller, on_behalf_of);
        rec.record(
            EventKind::EnvelopeAttached,
            document.id.to_string(),
            HistoryAction::EnvelopeAttached { envelope },
            Some(envelope),
        )?;
        if let Some(callbacks) = callbacks {
            self.store
                .put_envelope_callbacks(&caller.tenant.id, &envelope, callbacks)
                .await?;
        }
        self.store
            .save_registered_document(&document, &rec.entries, &rec.events)
            .await?;
        self.registered_document_view(caller, id).await
    }

    /// Voids a registered document of the caller; answers it with the envelopes attached to it,
    /// which the caller voids through the signing use-cases.
    pub async fn void_registered_document(
        &self,
        caller: &Caller,
        id: &RegisteredDocumentId,
        on_behalf_of: &OnBehalfOf,
    ) -> CoreResult<RegisteredDocument> {
        require_active(&caller.tenant)?;
        let mut document = self
            .store
            .registered_document(&caller.tenant.id, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        if document.status == FolderStatus::Voided {
            return Ok(document);
        }
        document.status = FolderStatus::Voided;
        let mut rec = Recorder::new(self, caller, on_behalf_of);
        rec.record(
            EventKind::RegisteredDocumentVoided,
            document.id.to_string(),
            HistoryAction::Voided,
            None,
        )?;
        self.store
            .save_registered_document(&document, &rec.entries, &rec.events)
            .await?;
        Ok(document)
    }

    /// The caller's registered documents known by `digest`, registered or produced by Signet.
    pub async fn registered_documents_with_digest(
        &self,
        caller: &Caller,
        digest: &Sha3Digest,
    ) -> CoreResult<Vec<RegisteredDocumentView>> {
        require_active(&caller.tenant)?;
        let mut views = Vec::new();
        for document in self
            .store
            .registered_documents_with_digest(&caller.tenant.id, digest)
            .await?
        {
            let history = self
                .store
                .history(&caller.tenant.id, &document.id.to_string())
                .await?;
            views.push(RegisteredDocumentView { document, history });
        }
        Ok(views)
    }

    /// The registered document an envelope of the caller is attached to.
    pub async fn registered_document_of_envelope(
        &self,
        caller: &Caller,
        envelope: &EnvelopeId,
    ) -> CoreResult<Option<RegisteredDocument>> {
        Ok(self
            .store
            .registered_document_of_envelope(&caller.tenant.id, envelope)
            .await?)
    }

    /// Checks sender callback URLs: length, and the outbound-target guard (scheme, no private or
    /// loopback target unless the operator allows them) when a webhook sender is installed.
    pub async fn check_sender_callbacks(&self, callbacks: &SenderCallbacks) -> CoreResult<()> {
        for (field, url) in [
            ("statusCallback", &callbacks.status_url),
            ("fileCallback", &callbacks.file_url),
        ] {
            if url.is_empty() || url.len() > MAX_URL_CHARS {
                return Err(CoreError::Invalid(format!(
                    "{field}: a URL of 1 to {MAX_URL_CHARS} characters is required"
                )));
            }
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(CoreError::Invalid(format!("{field}: an http(s) URL")));
            }
            if let Some(sender) = self.webhook_sender() {
                sender
                    .check_target(url)
                    .await
                    .map_err(|e| CoreError::Invalid(format!("{field}: {e}")))?;
            }
        }
        Ok(())
    }

    /// The sender callbacks of an envelope of the caller's tenant.
    pub async fn envelope_callbacks(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
    ) -> CoreResult<Option<SenderCallbacks>> {
        Ok(self.store.envelope_callbacks(tenant, envelope).await?)
    }

    /// A keyed MAC under an instance key derived from the master key for `purpose`: for tokens
    /// an instance issues itself (never a tenant's API key).
    pub fn instance_mac(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        let key = self.master().derive(&format!("instance-mac:{purpose}"));
        crate::crypto::hmac_sha256(&key, message)
    }

    /// Keeps the callbacks and user chosen with an API credential, after checking the URLs.
    pub async fn record_api_session(&self, session: &ApiSession) -> CoreResult<()> {
        self.check_sender_callbacks(&session.callbacks).await?;
        Ok(self.store.put_api_session(session).await?)
    }

    /// The callbacks chosen with a credential, while it is valid.
    pub async fn api_session(&self, token_digest: &str) -> CoreResult<Option<ApiSession>> {
        Ok(self.store.api_session(token_digest, self.now()).await?)
    }

    /// The public alias of a core id (given as text) in `namespace`: 12 bytes of a keyed hash,
    /// shown as 24 lower-case hex digits. Stable for the instance; the store keeps the way back
    /// once [`Core::record_aliases`] was called.
    pub fn public_alias(&self, namespace: &str, target: &str) -> String {
        let mac = self.instance_mac("public-alias", format!("{namespace}\0{target}").as_bytes());
        hex::encode(&mac[..12])
    }

    /// Records the aliases of the tenant's ids (`(namespace, target)`), so they resolve.
    pub async fn record_aliases(
        &self,
        tenant: &TenantId,
        targets: &[(&str, String)],
    ) -> CoreResult<()> {
        let pairs: Vec<(String, String)> = targets
            .iter()
            .map(|(namespace, target)| {
                (
                    format!("{namespace}:{}", self.public_alias(namespace, target)),
                    target.clone(),
                )
            })
            .collect();
        Ok(self.store.insert_aliases(tenant, &pairs).await?)
    }

    /// The core id (as text) behind a public alias in `namespace`, for the caller's tenant.
    pub async fn resolve_alias(
        &self,
        caller: &Caller,
        namespace: &str,
        alias: &str,
    ) -> CoreResult<Option<String>> {
        Ok(self
            .store
            .resolve_alias(&caller.tenant.id, &format!("{namespace}:{alias}"))
            .await?)
    }
}

/// A file retrieved for a registered document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrievedFile {
    /// Its SHA3-256: the registered digest or a version Signet produced.
    pub digest: Sha3Digest,
    /// The library document holding the registered original's bytes.
    pub library: Option<DocumentId>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl Core {
    /// Retrieves the current file of a registered document from the client's `url` and checks
    /// it: its SHA3-256 must be the registered digest or a version Signet produced, or nothing
    /// proceeds. The first time the registered original arrives, it is kept in the tenant's
    /// library (checked to be a PDF Signet can sign) and the document's history records it.
    pub async fn retrieve_registered_document(
        &self,
        retriever: &dyn FileRetriever,
        tenant: &TenantId,
        id: &RegisteredDocumentId,
        url: &str,
    ) -> CoreResult<RetrievedFile> {
        use sha3::Digest as _;
        let tenant = self
            .store
            .tenant(tenant)
            .await?
            .ok_or(CoreError::NotFound)?;
        require_active(&tenant)?;
        let mut document = self
            .store
            .registered_document(&tenant.id, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        if document.status == FolderStatus::Voided {
            return Err(CoreError::StateConflict("the document is voided".into()));
        }
        let bytes = retriever
            .retrieve(url, tenant.plan.max_envelope_bytes)
            .await
            .map_err(|e| CoreError::Invalid(format!("the file retrieval URL: {e}")))?;
        let digest = Sha3Digest::from_bytes(sha3::Sha3_256::digest(&bytes).into());
        if !document.digests.contains(&digest) {
            return Err(CoreError::Invalid(
                "the retrieved file matches neither the registered hash nor a version Signet \
                 produced"
                    .into(),
            ));
        }
        let caller = Caller {
            actor: crate::model::Actor::System,
            tenant: tenant.clone(),
            ip: None,
        };
        if &digest == document.registered_digest() {
            let awaited = match document.library {
                Some(id) => self
                    .store
                    .library_document(&tenant.id, &id)
                    .await?
                    .filter(|stored| stored.awaited),
                None => None,
            };
            let first = match (document.library, awaited) {
                (None, _) => {
                    let stored = self
                        .add_library_document(
                            &caller,
                            super::NewLibraryDocument {
                                name: library_name(&document)?,
                                media_type: super::MediaType::pdf(),
                                ip: None,
                                idempotency_key: None,
                            },
                            byte_stream(&bytes),
                        )
                        .await?;
                    document.library = Some(stored.id);
                    true
                }
                (Some(_), Some(awaited)) => self.fill_awaited(&tenant, &awaited, &bytes).await?,
                (Some(_), None) => false,
            };
            if first {
                let mut rec = Recorder::new(self, &caller, &OnBehalfOf::default());
                rec.record(
                    EventKind::RegisteredDocumentRetrieved,
                    document.id.to_string(),
                    HistoryAction::BytesRetrieved { digest },
                    None,
                )?;
                self.store
                    .save_registered_document(&document, &rec.entries, &rec.events)
                    .await?;
            }
        }
        Ok(RetrievedFile {
            digest,
            library: document.library,
            bytes,
        })
    }

    /// Records a version Signet produced from a registered document (a signed or sealed file),
    /// so that a client's file retrieval may answer it and the verifier finds it.
    pub async fn record_produced_version(
        &self,
        tenant: &TenantId,
        id: &RegisteredDocumentId,
        digest: Sha3Digest,
    ) -> CoreResult<()> {
        let mut document = self
            .store
            .registered_document(tenant, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        if !document.digests.contains(&digest) {
            document.digests.push(digest);
            self.store
                .save_registered_document(&document, &[], &[])
                .await?;
        }
        Ok(())
    }
}

fn byte_stream(bytes: &[u8]) -> crate::blob::ByteStream {
    let bytes = bytes::Bytes::copy_from_slice(bytes);
    Box::pin(futures::stream::once(async move {
        Ok::<_, std::io::Error>(bytes)
    }))
}

fn library_name(document: &RegisteredDocument) -> CoreResult<crate::values::DocumentName> {
    Ok(format!("{}.pdf", document.name.trim_end_matches(".pdf"))
        .parse::<crate::values::DocumentName>()
        .or_else(|_| "document.pdf".parse())?)
}

impl Core {
    /// The library document standing for a registered document in signing envelopes: the one
    /// holding its bytes, or — before they arrived — an *awaited* one known only by the
    /// registered SHA3-256, whose bytes the first retrieval fills in.
    pub async fn library_document_of_registered(
        &self,
        caller: &Caller,
        id: &RegisteredDocumentId,
    ) -> CoreResult<DocumentId> {
        require_active(&caller.tenant)?;
        let mut document = self
            .store
            .registered_document(&caller.tenant.id, id)
            .await?
            .ok_or(CoreError::NotFound)?;
        if document.status != FolderStatus::Active {
            return Err(CoreError::StateConflict(format!(
                "the document is {}",
                document.status.as_str()
            )));
        }
        if let Some(library) = document.library {
            return Ok(library);
        }
        let awaited = super::LibraryDocument::original(
            DocumentId::generate(),
            caller.tenant.id,
            library_name(&document)?,
            super::MediaType::pdf(),
            // Placeholders until the bytes arrive (the store marks the document awaited).
            super::FileFacts {
                size: 0,
                sha256: crate::values::Sha256Digest::from_bytes([0; 32]),
                sha3_256: *document.registered_digest(),
                pages: None,
            },
            self.now(),
        );
        let mut event = self.event(
            caller.tenant.id,
            EventKind::LibraryDocumentStored,
            caller.actor.clone(),
            caller.ip,
        );
        event.document_id = Some(awaited.id);
        event.data = serde_json::json!({
            "sha3_256": awaited.sha3_256,
            "awaited": true,
        });
        self.store
            .insert_awaited_library_document(&awaited, &[event])
            .await?;
        document.library = Some(awaited.id);
        self.store
            .save_registered_document(&document, &[], &[])
            .await?;
        Ok(awaited.id)
    }

    /// Gives an awaited library document its bytes (already checked to have its SHA3-256):
    /// stored, inspected (a PDF Signet can sign; its pages counted) and recorded. Answers
    /// whether this call filled it (`false` when a concurrent one did first).
    async fn fill_awaited(
        &self,
        tenant: &crate::model::Tenant,
        awaited: &super::library::StoredLibraryDocument,
        bytes: &[u8],
    ) -> CoreResult<bool> {
        let key = crate::blob::BlobKey::random();
        let stored = self
            .blobs
            .put(
                &key,
                byte_stream(bytes),
                Some(tenant.plan.max_envelope_bytes),
            )
            .await?;
        let outcome = self.keep_filled(tenant, awaited, &key, stored).await;
        if !matches!(outcome, Ok(true))
            && let Err(e) = self.blobs.delete(&key).await
        {
            tracing::warn!(error = %e, blob = key.as_str(), "could not delete the blob of an unused retrieval");
        }
        outcome
    }

    async fn keep_filled(
        &self,
        tenant: &crate::model::Tenant,
        awaited: &super::library::StoredLibraryDocument,
        key: &crate::blob::BlobKey,
        stored: crate::blob::StoredBlob,
    ) -> CoreResult<bool> {
        if stored.sha3_256 != awaited.document.sha3_256 {
            return Err(CoreError::Invalid(
                "the file does not match the awaited document".into(),
            ));
        }
        let inspector = self
            .inspector
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no document inspector configured"))?;
        let pages = match inspector.inspect_pdf(self.blobs.as_ref(), key).await {
            Ok(signable) => signable.pages,
            Err(crate::inspect::InspectFailure::Unsignable(why)) => {
                return Err(CoreError::Invalid(format!(
                    "this PDF cannot be signed: {why}"
                )));
            }
            Err(crate::inspect::InspectFailure::Blob(e)) => return Err(e.into()),
            Err(crate::inspect::InspectFailure::Unexpected(e)) => {
                return Err(CoreError::Unexpected(e));
            }
        };
        let mut document = awaited.document.clone();
        document.size = stored.size;
        document.sha256 = stored.sha256;
        document.pages = Some(pages);
        let mut event = self.event(
            tenant.id,
            EventKind::LibraryDocumentStored,
            crate::model::Actor::System,
            None,
        );
        event.document_id = Some(document.id);
        event.data = serde_json::json!({
            "sha256": document.sha256,
            "sha3_256": document.sha3_256,
            "size": document.size,
            "arrived": true,
        });
        match self
            .store
            .fill_awaited_library_document(&document, key, &[event])
            .await
        {
            Ok(()) => Ok(true),
            Err(crate::store::StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens a participant's link that carries the URL of the sender's current file: fetches
    /// it (through the outbound-target guard), checks it is the registered document or a
    /// version Signet produced, gives the envelope's awaited document its bytes on the first
    /// arrival, and checks the fields against its pages. A field on a page the file does not
    /// have refuses ([`CoreError::Refused`]); nothing can be signed then. Answers the file.
    pub async fn open_with_retrieved_file(
        &self,
        token: &str,
        url: &str,
    ) -> CoreResult<RetrievedFile> {
        let (envelope, _) = self.participant_envelope(token).await?;
        let retriever = self
            .retriever
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no file retriever configured"))?;
        let retriever = retriever.as_ref();
        let tenant = envelope.tenant_id;
        let registered = self
            .store
            .registered_document_of_envelope(&tenant, &envelope.id)
            .await?
            .ok_or_else(|| CoreError::Invalid("this link takes no file URL".into()))?;
        let file = self
            .retrieve_registered_document(retriever, &tenant, &registered.id, url)
            .await?;
        for doc in envelope.documents.iter().filter(|d| d.awaited()) {
            let Some(stored) = self.store.library_document(&tenant, &doc.document).await? else {
                continue;
            };
            // An envelope made concurrently with another may hold its own awaited document.
            let stored = if stored.awaited && stored.document.sha3_256 == file.digest {
                let tenant_row = self
                    .store
                    .tenant(&tenant)
                    .await?
                    .ok_or(CoreError::NotFound)?;
                self.fill_awaited(&tenant_row, &stored, &file.bytes).await?;
                self.store
                    .library_document(&tenant, &doc.document)
                    .await?
                    .ok_or(CoreError::NotFound)?
            } else {
                stored
            };
            let Some(pages) = stored.document.pages.filter(|_| !stored.awaited) else {
                continue;
            };
            let document = doc.document;
            let id = envelope.id;
            let outcome = self
                .run_sign_command(
                    || async {
                        self.store
                            .sign_envelope(&tenant, &id)
                            .await?
                            .ok_or(CoreError::NotFound)
                    },
                    super::Command::DocumentArrived { document, pages },
                    &super::Origin::default(),
                    &crate::model::Actor::System,
                )
                .await;
            match outcome {
                Ok(_) => {}
                // A closed envelope refuses every act anyway; the signer's app says so.
                Err(CoreError::Refused(super::Refusal::Closed(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(file)
    }
}

impl Core {
    /// Writes sender callback bodies with `renderer`.
    pub fn with_sender_callback_renderer(
        mut self,
        renderer: Arc<dyn SenderCallbackRenderer>,
    ) -> Self {
        self.callback_renderer = Some(renderer);
        self
    }

    /// The durable job delivering `body` to the envelope's `target` callback. Messages to one
    /// envelope's callback are ordered: a later one waits while an earlier one is being
    /// retried, so a receiver sees them in the order the events happened.
    fn sender_callback_job(
        &self,
        tenant_id: TenantId,
        envelope_id: EnvelopeId,
        callbacks: SenderCallbacks,
        target: CallbackTarget,
        message_id: String,
        body: String,
    ) -> crate::jobs::NewJob {
        let (url, word) = match target {
            CallbackTarget::Status => (callbacks.status_url, "status"),
            CallbackTarget::File => (callbacks.file_url, "file"),
        };
        crate::jobs::NewJob::at(
            crate::jobs::JobKind::DeliverSenderCallback {
                tenant_id,
                envelope_id,
                url,
                message_id,
                body,
            },
            self.now(),
        )
        .ordered(format!("sender-callback:{envelope_id}:{word}"))
    }

    /// The status callback an outcome calls for: one after every signature, completion,
    /// decline, expiry or void of an envelope with sender callbacks, saved with the outcome.
    pub(crate) async fn sender_status_jobs(
        &self,
        outcome: &super::Outcome,
    ) -> CoreResult<Vec<crate::jobs::NewJob>> {
        use super::{Effect, Notice};
        let Some(renderer) = &self.callback_renderer else {
            return Ok(Vec::new());
        };
        let due = outcome.effects.iter().any(|e| {
            matches!(
                e,
                Effect::Notify(
                    Notice::Signed(_)
                        | Notice::Completed
                        | Notice::Declined(_)
                        | Notice::Voided
                        | Notice::Expired
                )
            )
        });
        if !due {
            return Ok(Vec::new());
        }
        let envelope = &outcome.envelope;
        let Some(callbacks) = self
            .store
            .envelope_callbacks(&envelope.tenant_id, &envelope.id)
            .await?
        else {
            return Ok(Vec::new());
        };
        let body = renderer.status(
            &|namespace, target| self.public_alias(namespace, target),
            envelope,
        );
        Ok(vec![self.sender_callback_job(
            envelope.tenant_id,
            envelope.id,
            callbacks,
            CallbackTarget::Status,
            new_message_id(),
            body,
        )])
    }

    /// What a new version of an envelope's document calls for when the envelope is attached to a
    /// registered document: its digest joins the document's known ones (so that the sender's
    /// file retrieval may answer it and the verifier finds it), and the file callback carries it.
    pub(crate) async fn produced_version_jobs(
        &self,
        envelope: &super::SignEnvelope,
        digest: Sha3Digest,
        pdf: impl std::future::Future<Output = CoreResult<Vec<u8>>>,
    ) -> CoreResult<Vec<crate::jobs::NewJob>> {
        let tenant = envelope.tenant_id;
        let Some(registered) = self
            .store
            .registered_document_of_envelope(&tenant, &envelope.id)
            .await?
        else {
            return Ok(Vec::new());
        };
        self.record_produced_version(&tenant, &registered.id, digest)
            .await?;
        let (Some(renderer), Some(callbacks)) = (
            &self.callback_renderer,
            self.store.envelope_callbacks(&tenant, &envelope.id).await?,
        ) else {
            return Ok(Vec::new());
        };
        let pdf = pdf.await?;
        let body = renderer.file(
            &|namespace, target| self.public_alias(namespace, target),
            envelope,
            &pdf,
        );
        Ok(vec![self.sender_callback_job(
            tenant,
            envelope.id,
            callbacks,
            CallbackTarget::File,
            new_message_id(),
            body,
        )])
    }
}

/// A message id (`webhook-id`) for a new message, kept on every attempt.
fn new_message_id() -> String {
    format!("msg_{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// Which sender callback a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackTarget {
    /// The status URL.
    Status,
    /// The file URL.
    File,
}

impl Core {
    /// Queues `body` for the envelope's sender callback, as a durable job retried with backoff
    /// for days and dead-lettered after (replayable like a webhook). Nothing when the envelope
    /// has no callbacks. Answers the message id.
    pub async fn queue_sender_callback(
        &self,
        tenant: &TenantId,
        envelope: &EnvelopeId,
        target: CallbackTarget,
        body: String,
    ) -> CoreResult<Option<String>> {
        let Some(callbacks) = self.store.envelope_callbacks(tenant, envelope).await? else {
            return Ok(None);
        };
        let message_id = new_message_id();
        let job = self.sender_callback_job(
            *tenant,
            *envelope,
            callbacks,
            target,
            message_id.clone(),
            body,
        );
        self.store.append_events_with_jobs(&[], &[job]).await?;
        self.wake_worker();
        Ok(Some(message_id))
    }

    /// The Standard Webhooks secrets a sender callback is signed with: the tenant's webhook
    /// secrets when it has an endpoint, else one derived for the tenant from the instance key
    /// (receivers that ignore the headers lose nothing).
    pub(crate) fn callback_secrets(
        &self,
        tenant: &crate::model::Tenant,
    ) -> CoreResult<Vec<String>> {
        if let Some(endpoint) = &tenant.webhook {
            let secrets = self.signing_secrets(endpoint, self.now())?;
            if !secrets.is_empty() {
                return Ok(secrets);
            }
        }
        use base64::Engine as _;
        let derived = self.instance_mac("sender-callback", tenant.id.to_upper_hex().as_bytes());
        Ok(vec![format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(derived)
        )])
    }
}
