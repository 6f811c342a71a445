//! The Dedoco dialect: documents registered by hash, grouped in folders, signed through business
//! processes, at the vendor's paths under `/api/v1/public`. One handler per vendor operation:
//!
//! | operation | route |
//! |---|---|
//! | get a token | `POST /api/v1/public/auth/token` |
//! | create a folder | `POST /api/v1/public/folders` |
//! | read a folder (Signet's addition) | `GET /api/v1/public/folders/{id}` |
//! | add a document | `POST /api/v1/public/documents` |
//! | void a document | `PUT /api/v1/public/documents/{id}/status` |
//! | signing links | `GET /api/v1/public/business-processes/{id}/links` |
//! | verify by hash | `GET /api/v1/public/verifier/doc-hashes/{hash}/result` |
//!
//! Folders and registered documents are the core's own (`signet_core::signing::folders`);
//! business processes are the core's signing envelopes.

mod auth;
mod error;
mod wire;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use signet_core::CoreError;
use signet_core::ids::{DocumentId, EnvelopeId, FolderId, ParticipantId, RegisteredDocumentId};
use signet_core::ports::Caller;
use signet_core::ports::callbacks::Alias;
use signet_core::signing::folders::{
    ApiSession, NewFolder, NewRegisteredDocument, OnBehalfOf, RegisteredDocument,
    RegisteredDocumentView, SenderCallbackRenderer, SenderCallbacks,
};
use signet_core::signing::{
    AuthMethod, CompletionRule, DocumentAction, DraftDocument, DraftField, DraftParticipant,
    EnvelopeDraft, EnvelopeStatus, EnvelopeView, EventKind as SigningEventKind, Field, FieldKind,
    NewSignEnvelope, Origin, ParticipantKey, ParticipantState, Role, SignEnvelope, SigningEvent,
    sequence_edges,
};
use signet_core::values::Phone;
use time::OffsetDateTime;

pub use error::DedocoError;

use crate::AppState;
use crate::endpoint::Scope;
use auth::Authenticated;
use wire::*;

/// Every Dedoco operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /api/v1/public/auth/token`
    GetToken,
    /// `POST /api/v1/public/folders`
    CreateFolder,
    /// `GET /api/v1/public/folders/{id}`
    GetFolder,
    /// `POST /api/v1/public/documents`
    AddDocument,
    /// `PUT /api/v1/public/documents/{id}/status`
    VoidDocument,
    /// `GET /api/v1/public/business-processes/{id}/links`
    Links,
    /// `GET /api/v1/public/verifier/doc-hashes/{hash}/result`
    Verify,
}

impl crate::endpoint::Endpoint for Endpoint {
    const DIALECT: &'static str = "dedoco";
    const ALL: &'static [Self] = &[
        Self::GetToken,
        Self::CreateFolder,
        Self::GetFolder,
        Self::AddDocument,
        Self::VoidDocument,
        Self::Links,
        Self::Verify,
    ];

    fn method(self) -> Method {
        match self {
            Self::GetToken | Self::CreateFolder | Self::AddDocument => Method::POST,
            Self::VoidDocument => Method::PUT,
            Self::GetFolder | Self::Links | Self::Verify => Method::GET,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::GetToken => "/api/v1/public/auth/token",
            Self::CreateFolder => "/api/v1/public/folders",
            Self::GetFolder => "/api/v1/public/folders/{id}",
            Self::AddDocument => "/api/v1/public/documents",
            Self::VoidDocument => "/api/v1/public/documents/{id}/status",
            Self::Links => "/api/v1/public/business-processes/{id}/links",
            Self::Verify => "/api/v1/public/verifier/doc-hashes/{hash}/result",
        }
    }

    fn scope(self) -> Scope {
        Scope::Tenant
    }

    fn handler(self) -> MethodRouter<AppState> {
        match self {
            Self::GetToken => post(get_token),
            Self::CreateFolder => post(create_folder),
            Self::GetFolder => get(get_folder),
            Self::AddDocument => post(add_document),
            Self::VoidDocument => put(void_document),
            Self::Links => get(links),
            Self::Verify => get(verify),
        }
    }
}

/// A JSON body in Dedoco's error shape: size-limited (413), 400 on anything malformed.
struct DedocoJson<T>(T);

impl<T: for<'de> serde::Deserialize<'de>> FromRequest<AppState> for DedocoJson<T> {
    type Rejection = DedocoError;

    async fn from_request(
        request: Request<Body>,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let limit = state.settings.max_json_bytes;
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| DedocoError::TooLarge)?;
        serde_json::from_slice(&bytes).map(DedocoJson).map_err(|e| {
            DedocoError::BadRequest(format!("Invalid JSON: {}", crate::rejection::json_text(&e)))
        })
    }
}

/// A path parameter; anything that does not parse is a resource that does not exist.
struct DedocoPath<T>(T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for DedocoPath<T> {
    type Rejection = DedocoError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| DedocoPath(value))
            .map_err(|_| DedocoError::NotFound)
    }
}

fn bad(message: impl Into<String>) -> DedocoError {
    DedocoError::BadRequest(message.into())
}

fn unix(field: &str, seconds: i64) -> Result<OffsetDateTime, DedocoError> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|_| bad(format!("{field}: a Unix time in seconds")))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

async fn get_token(
    State(state): State<AppState>,
    request: Request<Body>,
) -> Result<Response, DedocoError> {
    let (parts, body) = request.into_parts();
    let credentials = crate::auth_header::credentials(&parts.headers, "Basic").map(str::to_owned);
    let tenant = auth::tenant_of_basic(&state, credentials.as_deref()).await?;
    if tenant.status != signet_core::model::TenantStatus::Active {
        return Err(DedocoError::Core(CoreError::TenantSuspended));
    }
    let DedocoJson(body) =
        DedocoJson::<TokenRequest>::from_request(Request::from_parts(parts, body), &state).await?;
    let file_url = non_empty(body.file_callback).ok_or_else(|| bad("fileCallback is required"))?;
    let status_url =
        non_empty(body.status_callback).ok_or_else(|| bad("statusCallback is required"))?;
    let user_name = non_empty(body.user_name);
    let user_email = non_empty(body.user_email);
    for (field, value) in [("userName", &user_name), ("userEmail", &user_email)] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 255) {
            return Err(bad(format!("{field}: at most 255 characters")));
        }
    }
    let now = state.core.now().unix_timestamp();
    let claims = auth::Claims {
        sub_id: tenant.id.to_upper_hex(),
        sub_typ: "public".into(),
        usr_name: user_name.clone(),
        usr_email: user_email.clone(),
        iat: now,
        exp: now + auth::TOKEN_LIFETIME_SECS,
        v: 1,
    };
    let token = auth::issue(&state, &claims)?;
    let session = ApiSession {
        token_digest: auth::token_digest(&state, &token),
        tenant_id: tenant.id,
        callbacks: SenderCallbacks {
            status_url,
            file_url,
        },
        on_behalf_of: OnBehalfOf {
            name: user_name,
            email: user_email,
        },
        expires_at: unix("exp", claims.exp)?,
    };
    state.core.record_api_session(&session).await?;
    Ok((StatusCode::CREATED, Json(TokenResponse { token })).into_response())
}

fn document_out(view: &RegisteredDocumentView, processes: Vec<String>) -> DocumentOut {
    let d = &view.document;
    DocumentOut {
        id: d.id.to_string(),
        name: d.name.clone(),
        file_type: d.file_type.clone(),
        date_created: date(d.created_at),
        document_hashes: d.digests.iter().map(|h| h.to_hex()).collect(),
        business_processes: processes,
        status: d.status.as_str(),
        parent_folder: d.folder_id.to_string(),
        history: view.history.iter().map(history).collect(),
    }
}

/// The public ids of a document's business processes.
fn process_ids(state: &AppState, view: &RegisteredDocumentView) -> Vec<String> {
    view.document
        .envelopes
        .iter()
        .map(|e| state.core.public_alias("process", &e.to_string()))
        .collect()
}

fn folder_out(view: &signet_core::signing::folders::FolderView) -> FolderOut {
    FolderOut {
        id: view.folder.id.to_string(),
        name: view.folder.name.clone(),
        date_created: date(view.folder.created_at),
        child_documents: view
            .documents
            .iter()
            .map(|d| d.document.id.to_string())
            .collect(),
        linked_folders: view.folder.linked.iter().map(ToString::to_string).collect(),
        status: view.folder.status.as_str(),
        history: view.history.iter().map(history).collect(),
    }
}

async fn create_folder(
    State(state): State<AppState>,
    Authenticated { caller, session }: Authenticated,
    DedocoJson(body): DedocoJson<CreateFolder>,
) -> Result<Response, DedocoError> {
    let created_at = unix("date_created", body.date_created)?;
    let mut documents = Vec::with_capacity(body.documents.len());
    for (i, d) in body.documents.iter().enumerate() {
        documents.push(NewRegisteredDocument {
            name: d.name.clone(),
            file_type: d.file_type.clone(),
            digest: digest(&d.document_hash).ok_or_else(|| {
                bad(format!(
                    "documents[{i}].document_hash: a SHA3-256 in hexadecimal"
                ))
            })?,
            created_at,
        });
    }
    let linked = body
        .linked_folders
        .iter()
        .enumerate()
        .map(|(i, id)| {
            object_id::<FolderId>(id)
                .ok_or_else(|| bad(format!("linked_folders[{i}]: no such folder")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let now = state.core.now().unix_timestamp();
    let mut processes = Vec::with_capacity(body.business_processes.len());
    for (i, process) in body.business_processes.iter().enumerate() {
        let at = format!("business_processes[{i}]");
        let index = match process.document_id {
            Some(index) if index < documents.len() => index,
            _ => {
                return Err(bad(format!(
                    "{at}.document_id: the index of a document of this request"
                )));
            }
        };
        processes.push((index, check_process(&at, process, now).map_err(bad)?));
    }
    let view = state
        .core
        .create_folder(
            &caller,
            NewFolder {
                name: body.folder_name,
                created_at,
                linked,
                documents,
            },
            &session.on_behalf_of,
        )
        .await?;
    let mut business_processes = Vec::with_capacity(processes.len());
    let mut links = Vec::new();
    for (index, process) in &processes {
        let document = view.documents[*index].document.id;
        let (out, mut made) = start_process(&state, &caller, &session, &document, process).await?;
        business_processes.push(out);
        links.append(&mut made);
    }
    // Read again: the documents' histories and processes changed.
    let view = if processes.is_empty() {
        view
    } else {
        state.core.folder_view(&caller, &view.folder.id).await?
    };
    let answer = CreatedFolder {
        folder: folder_out(&view),
        documents: view
            .documents
            .iter()
            .map(|d| document_out(d, process_ids(&state, d)))
            .collect(),
        business_processes,
        links,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn get_folder(
    State(state): State<AppState>,
    Authenticated { caller, .. }: Authenticated,
    DedocoPath(id): DedocoPath<String>,
) -> Result<Response, DedocoError> {
    let id: FolderId = object_id(&id).ok_or(DedocoError::NotFound)?;
    let view = state.core.folder_view(&caller, &id).await?;
    let answer = FolderWithDocuments {
        folder: folder_out(&view),
        documents: view
            .documents
            .iter()
            .map(|d| document_out(d, process_ids(&state, d)))
            .collect(),
    };
    Ok((StatusCode::OK, Json(answer)).into_response())
}

async fn add_document(
    State(state): State<AppState>,
    Authenticated { caller, session }: Authenticated,
    DedocoJson(body): DedocoJson<AddDocument>,
) -> Result<Response, DedocoError> {
    let created_at = unix("date_created", body.date_created)?;
    let digest = digest(&body.document_hash)
        .ok_or_else(|| bad("document_hash: a SHA3-256 in hexadecimal"))?;
    let folder: FolderId = object_id(&body.parent_folder).ok_or(DedocoError::NotFound)?;
    let process = body
        .business_process
        .as_ref()
        .map(|process| {
            check_process(
                "business_process",
                process,
                state.core.now().unix_timestamp(),
            )
            .map_err(bad)
        })
        .transpose()?;
    let view = state
        .core
        .register_document(
            &caller,
            &folder,
            NewRegisteredDocument {
                name: body.document_name,
                file_type: body.file_type,
                digest,
                created_at,
            },
            &session.on_behalf_of,
        )
        .await?;
    let (business_process, links, view) = match &process {
        Some(process) => {
            let id = view.document.id;
            let (out, links) = start_process(&state, &caller, &session, &id, process).await?;
            let view = state.core.registered_document_view(&caller, &id).await?;
            (Some(out), links, view)
        }
        None => (None, Vec::new(), view),
    };
    let answer = AddedDocument {
        document: document_out(&view, process_ids(&state, &view)),
        business_process,
        links,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn void_document(
    State(state): State<AppState>,
    Authenticated { caller, session }: Authenticated,
    DedocoPath(id): DedocoPath<String>,
    DedocoJson(body): DedocoJson<StatusChange>,
) -> Result<Response, DedocoError> {
    let id: RegisteredDocumentId = object_id(&id).ok_or(DedocoError::NotFound)?;
    let value = body
        .value
        .as_deref()
        .or(body.status.as_deref())
        .ok_or_else(|| bad("value (or status) is required"))?;
    if value != "voided" {
        return Err(bad("value: only \"voided\" is accepted"));
    }
    let request_date = body
        .request_date
        .ok_or_else(|| bad("request_date is required"))?;
    unix("request_date", request_date)?;
    let document = state
        .core
        .void_registered_document(&caller, &id, &session.on_behalf_of)
        .await?;
    // Its business processes end with it; those already final stay as they are.
    for envelope in &document.envelopes {
        let reason = "The document was voided"
            .parse()
            .map_err(|e| DedocoError::Core(CoreError::Unexpected(anyhow::anyhow!("{e}"))))?;
        match state
            .core
            .void_sign_envelope(
                &caller,
                envelope,
                reason,
                Origin {
                    ip: caller.ip,
                    user_agent: None,
                },
                // Dedoco's void is idempotent by itself: an ended process is left as it is.
                None,
            )
            .await
        {
            Ok(_) | Err(CoreError::Refused(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((StatusCode::OK, Json(serde_json::json!({}))).into_response())
}

async fn links(
    State(state): State<AppState>,
    Authenticated { caller, .. }: Authenticated,
    DedocoPath(id): DedocoPath<String>,
) -> Result<Response, DedocoError> {
    let view = envelope_of_process(&state, &caller, &id).await?;
    let document = state
        .core
        .registered_document_of_envelope(&caller, &view.envelope.id)
        .await?
        .ok_or(DedocoError::NotFound)?;
    let answer = LinksOut {
        links: links_of(&state, &view.envelope, &document),
    };
    Ok((StatusCode::OK, Json(answer)).into_response())
}

async fn verify(
    State(state): State<AppState>,
    Authenticated { caller, .. }: Authenticated,
    DedocoPath(hash): DedocoPath<String>,
) -> Result<Response, DedocoError> {
    let digest = digest(&hash).ok_or_else(|| bad("doc_hash: a SHA3-256 in hexadecimal"))?;
    let views = state
        .core
        .registered_documents_with_digest(&caller, &digest)
        .await?;
    if views.is_empty() {
        return Err(DedocoError::NotFound);
    }
    let mut answer = Vec::with_capacity(views.len());
    for view in &views {
        let folder = state
            .core
            .folder_of(&caller, &view.document.folder_id)
            .await?;
        let d = &view.document;
        let process = match d.envelopes.last() {
            Some(envelope) => {
                let view = state.core.sign_envelope(&caller, envelope).await?;
                Some(process_out(&state, &caller, &view.envelope, &d.id).await?)
            }
            None => None,
        };
        answer.push(Verified {
            process,
            document: VerifiedDocument {
                id: d.id.to_string(),
                name: d.name.clone(),
                file_type: d.file_type.clone(),
                document_hashes: d.digests.iter().map(|h| h.to_hex()).collect(),
                prerequisite_documents: Vec::new(),
                business_processes: process_ids(&state, view),
                owner: caller.tenant.id.to_upper_hex(),
                date_created: date(d.created_at),
                status: d.status.as_str(),
                parent_folder: ParentFolder {
                    id: folder.id.to_string(),
                    name: folder.name,
                },
                history: view.history.iter().map(history).collect(),
            },
        });
    }
    Ok((StatusCode::OK, Json(answer)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Business processes: the core's signing envelopes over a registered document.

/// Participant keys carry the signer's index and sequence number, so that the process reads
/// back from the envelope as it was given: `signer-{index}-{sequence}`.
fn signer_key(index: usize, sequence: u32) -> Result<ParticipantKey, DedocoError> {
    format!("signer-{index}-{sequence}")
        .parse()
        .map_err(|_| DedocoError::Core(CoreError::Unexpected(anyhow::anyhow!("a signer key"))))
}

fn sequence_of(key: &ParticipantKey) -> u32 {
    key.as_str()
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default()
}

/// Marks a signature field as the signer's digital (`ndi`) signature.
const DIGITAL_LABEL: &str = "ndi";

fn text_kind(kind: TextKind) -> FieldKind {
    match kind {
        TextKind::Text => FieldKind::Text,
        TextKind::CustomDate => FieldKind::Date,
        TextKind::ActualDate => FieldKind::SigningDate,
        TextKind::Stamp => FieldKind::Image,
        TextKind::Initials => FieldKind::Initials,
    }
}

fn text_word(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Date => "custom-date",
        FieldKind::SigningDate => "actual-date",
        FieldKind::Image => "stamp",
        FieldKind::Initials => "initials",
        _ => "text",
    }
}

/// The signing envelope a checked business process asks for, over `document`.
fn process_draft(
    process: &CheckedProcess,
    document: DocumentId,
    title: &str,
) -> Result<EnvelopeDraft, DedocoError> {
    let mut participants = Vec::with_capacity(process.signers.len());
    let mut fields = Vec::new();
    let keys: Vec<(ParticipantKey, u32)> = process
        .signers
        .iter()
        .enumerate()
        .map(|(i, s)| Ok((signer_key(i, s.sequence)?, s.sequence)))
        .collect::<Result<_, DedocoError>>()?;
    let edges = sequence_edges(&keys);
    for (i, (s, (key, _))) in process.signers.iter().zip(&keys).enumerate() {
        let at = |field: &str| format!("signers[{i}].{field}");
        let auth = match s.verify {
            Verify::Sms => AuthMethod::SmsCode,
            Verify::Email => AuthMethod::EmailCode,
            Verify::None => AuthMethod::None,
        };
        let phone = s
            .phone
            .as_deref()
            .map(Phone::from_e164)
            .transpose()
            .map_err(|e| bad(format!("{}: {e}", at("signer_phone"))))?;
        participants.push(DraftParticipant {
            key: key.clone(),
            name: s
                .name
                .parse()
                .map_err(|e| bad(format!("{}: {e}", at("signer_name"))))?,
            email: Some(
                s.email
                    .parse()
                    .map_err(|e| bad(format!("{}: {e}", at("signer_email"))))?,
            ),
            phone,
            role: Role::Signer,
            auth,
            language: None,
            after: edges.get(key).cloned().unwrap_or_default(),
        });
        let field = |b: &CheckedBox, kind, required, label: Option<&str>| {
            Ok::<_, DedocoError>(DraftField {
                participant: key.clone(),
                document,
                page: b.page,
                x: b.x,
                y: b.y,
                width: b.width,
                height: b.height,
                kind,
                required,
                label: label
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.parse())
                    .transpose()
                    .map_err(|e| bad(format!("{}: {e}", at("custom_texts"))))?,
                value: None,
            })
        };
        for b in &s.signatures {
            let label = s.digital.then_some(DIGITAL_LABEL);
            fields.push(field(b, FieldKind::Signature, true, label)?);
        }
        for (kind, descriptor, mandatory, b) in &s.texts {
            // Signet fills the signing date itself: it never waits for the signer.
            let required = *mandatory && *kind != TextKind::ActualDate;
            fields.push(field(b, text_kind(*kind), required, Some(descriptor))?);
        }
    }
    let signers = process.signers.len() as u32;
    Ok(EnvelopeDraft {
        title: title
            .parse()
            .or_else(|_| "Document".parse())
            .map_err(|e| bad(format!("document name: {e}")))?,
        language: signet_core::values::Language::En,
        expires_at: process
            .expires_at
            .map(|t| unix("expiration_time", t))
            .transpose()?,
        documents: vec![DraftDocument {
            document,
            action: DocumentAction::Sign,
        }],
        participants,
        fields,
        completion: if process.min_signers >= signers {
            CompletionRule::AllSigners
        } else {
            CompletionRule::AtLeast {
                min_signers: process.min_signers,
            }
        },
        reminders: None,
        redirects: Default::default(),
        signed_copy_offered: process.allow_download,
    })
}

/// Makes a checked business process into a signing envelope over the registered document,
/// attaches it (with the token's callbacks) and records the public ids of the process and its
/// signers. Answers the process and its links.
async fn start_process(
    state: &AppState,
    caller: &Caller,
    session: &ApiSession,
    document: &RegisteredDocumentId,
    process: &CheckedProcess,
) -> Result<(ProcessOut, Vec<LinkOut>), DedocoError> {
    let core = &state.core;
    let library = core
        .library_document_of_registered(caller, document)
        .await?;
    let registered = core.registered_document_view(caller, document).await?;
    let draft = process_draft(process, library, &registered.document.name)?;
    let view = core
        .create_sign_envelope(
            caller,
            NewSignEnvelope {
                draft,
                origin: Origin {
                    ip: caller.ip,
                    user_agent: None,
                },
                idempotency_key: None,
            },
        )
        .await
        .map_err(|e| match e {
            CoreError::InvalidField { field, message } => bad(format!("{field}: {message}")),
            other => DedocoError::Core(other),
        })?;
    let envelope = view.envelope.id;
    let mut aliases = vec![("process", envelope.to_string())];
    aliases.extend(
        view.envelope
            .participants
            .iter()
            .map(|p| ("signer", p.id.to_string())),
    );
    core.record_aliases(&caller.tenant.id, &aliases).await?;
    core.attach_envelope(
        caller,
        document,
        envelope,
        Some(&session.callbacks),
        &session.on_behalf_of,
    )
    .await?;
    let out = process_out(state, caller, &view.envelope, document).await?;
    let links = links_of(state, &view.envelope, &registered.document);
    Ok((out, links))
}

fn signer_id(state: &AppState, participant: &ParticipantId) -> String {
    alias_signer(&state.core, participant)
}

fn process_id(state: &AppState, envelope: &EnvelopeId) -> String {
    state.core.public_alias("process", &envelope.to_string())
}

fn process_status(status: EnvelopeStatus) -> &'static str {
    match status {
        EnvelopeStatus::Open => "pending",
        EnvelopeStatus::Completed => "completed",
        EnvelopeStatus::Voided => "voided",
        EnvelopeStatus::Expired => "expired",
        EnvelopeStatus::Declined => "declined",
        _ => "pending",
    }
}

fn fraction_text(value: f64) -> String {
    // Up to six decimals, trailing zeros dropped: "0.5", "0.123".
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_owned()
}

fn placed(field: &Field) -> (Placement, Dimensions) {
    (
        Placement {
            page: field.page,
            x: fraction_text(field.rect.x()),
            y: fraction_text(field.rect.y()),
        },
        Dimensions {
            width: fraction_text(field.rect.width()),
            height: fraction_text(field.rect.height()),
        },
    )
}

fn links_of(
    state: &AppState,
    envelope: &SignEnvelope,
    document: &RegisteredDocument,
) -> Vec<LinkOut> {
    envelope
        .participants
        .iter()
        .map(|p| LinkOut {
            document_id: document.id.to_string(),
            document_name: document.name.clone(),
            business_process_id: process_id(state, &envelope.id),
            signer_id: signer_id(state, &p.id),
            signer_name: p.name.as_str().to_owned(),
            signer_email: p
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            link: state.core.signing_url(&p.id),
        })
        .collect()
}

fn process_action(event: &SigningEvent, state: &AppState) -> Option<String> {
    Some(match &event.kind {
        SigningEventKind::Created => "create Business Process (Signature)".to_owned(),
        SigningEventKind::Signed { participant, .. } => {
            format!("sign Business Process by {}", signer_id(state, participant))
        }
        SigningEventKind::Completed => "complete Business Process".to_owned(),
        SigningEventKind::Voided { .. } => "void Business Process".to_owned(),
        SigningEventKind::Expired => "expire Business Process".to_owned(),
        _ => return None,
    })
}

/// A business process as the vendor shows it, read back from its envelope.
async fn process_out(
    state: &AppState,
    caller: &Caller,
    envelope: &SignEnvelope,
    document: &RegisteredDocumentId,
) -> Result<ProcessOut, DedocoError> {
    let signers: Vec<SignerOut> = envelope
        .participants
        .iter()
        .map(|p| {
            let mut out = SignerOut {
                has_signed: p.state == ParticipantState::Signed,
                signer_id: signer_id(state, &p.id),
                signer_name: p.name.as_str().to_owned(),
                signer_email: p
                    .email
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
                signer_phone: p.phone.as_ref().map(|p| p.e164().to_owned()),
                sequence_number: sequence_of(&p.key),
                require_authentication: p.auth != AuthMethod::None,
                verify_method: match p.auth {
                    AuthMethod::SmsCode => "SMS",
                    AuthMethod::EmailCode => "EMAIL",
                    _ => "NO_AUTHENTICATION",
                },
                esignatures: Vec::new(),
                digi_signatures: Vec::new(),
                custom_texts: Vec::new(),
            };
            for f in envelope.fields_of(p.id) {
                let (placement, dimensions) = placed(f);
                match f.kind {
                    FieldKind::Signature
                        if f.label.as_ref().map(|l| l.as_str()) == Some(DIGITAL_LABEL) =>
                    {
                        out.digi_signatures.push(DigitalBox {
                            kind: DIGITAL_LABEL.into(),
                            placement,
                            dimensions,
                        });
                    }
                    FieldKind::Signature => out.esignatures.push(SignatureBox {
                        placement,
                        dimensions,
                    }),
                    kind => out.custom_texts.push(CustomText {
                        descriptor: f
                            .label
                            .as_ref()
                            .map(|l| l.as_str().to_owned())
                            .unwrap_or_default(),
                        is_mandatory: f.required || kind == FieldKind::SigningDate,
                        kind: text_word(kind).into(),
                        placement,
                        dimensions,
                    }),
                }
            }
            out
        })
        .collect();
    let mut sequences: std::collections::BTreeMap<u32, Vec<SignerRef>> = Default::default();
    for s in &signers {
        if s.sequence_number > 0 {
            sequences
                .entry(s.sequence_number)
                .or_default()
                .push(SignerRef {
                    signer_id: s.signer_id.clone(),
                    signer_name: s.signer_name.clone(),
                    signer_email: s.signer_email.clone(),
                });
        }
    }
    let n = signers.len() as u32;
    let history = state
        .core
        .sign_envelope_events(caller, &envelope.id)
        .await?
        .iter()
        .filter_map(|recorded| {
            let action = process_action(&recorded.event, state)?;
            Some(HistoryOut {
                action,
                actor: ActorOut {
                    id: match recorded.event.actor {
                        signet_core::signing::Actor::Participant(p) => signer_id(state, &p),
                        _ => caller.tenant.id.to_upper_hex(),
                    },
                    email: String::new(),
                    name: String::new(),
                },
                timestamp: date(recorded.event.at),
                transaction_hash: format!("0x{}", hex::encode(recorded.leaf_hash)),
            })
        })
        .collect();
    Ok(ProcessOut {
        id: process_id(state, &envelope.id),
        kind: "signature",
        date_created: date(envelope.created_at),
        expiration_time: date(envelope.expires_at.unwrap_or(OffsetDateTime::UNIX_EPOCH)),
        document_id: document.to_string(),
        allow_download: envelope.signed_copy_offered,
        sequential_requirement: sequences
            .into_iter()
            .map(|(sequence_number, signers)| SequenceOut {
                sequence_number,
                signers,
            })
            .collect(),
        completion_requirement: CompletionOut {
            min_number: match envelope.completion {
                CompletionRule::AtLeast { min_signers } => min_signers,
                _ => n,
            },
            overriding_signers: Vec::new(),
        },
        status: process_status(envelope.status),
        signers,
        history,
    })
}

/// The caller's envelope behind a public process id.
async fn envelope_of_process(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<EnvelopeView, DedocoError> {
    if object_id::<FolderId>(id).is_none() {
        return Err(DedocoError::NotFound);
    }
    let target = state
        .core
        .resolve_alias(caller, "process", id)
        .await?
        .ok_or(DedocoError::NotFound)?;
    let envelope: EnvelopeId = target.parse().map_err(|_| DedocoError::NotFound)?;
    Ok(state.core.sign_envelope(caller, &envelope).await?)
}

// ---------------------------------------------------------------------------------------------
// Callbacks to the sender.

/// The sender callbacks of business processes, in the vendor's shapes: the status callback
/// `{businessProcessId, status, signers[]}` and the file callback `{businessProcessId, file}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DedocoCallbacks;

fn alias_signer(core: &signet_core::Core, participant: &ParticipantId) -> String {
    format!(
        "SIG_{}",
        core.public_alias("signer", &participant.to_string())
    )
}

fn signer_alias(alias: &Alias<'_>, participant: &ParticipantId) -> String {
    format!("SIG_{}", alias("signer", &participant.to_string()))
}

impl SenderCallbackRenderer for DedocoCallbacks {
    fn status(&self, alias: &Alias<'_>, envelope: &SignEnvelope) -> String {
        let body = StatusCallback {
            business_process_id: alias("process", &envelope.id.to_string()),
            status: process_status(envelope.status),
            signers: envelope
                .participants
                .iter()
                .map(|p| CallbackSigner {
                    id: signer_alias(alias, &p.id),
                    name: p.name.as_str().to_owned(),
                    email: p
                        .email
                        .as_ref()
                        .map(|e| e.as_str().to_owned())
                        .unwrap_or_default(),
                    sequence_number: Some(sequence_of(&p.key)).filter(|n| *n > 0),
                    has_signed: p.state == ParticipantState::Signed,
                })
                .collect(),
        };
        // Plain data: serialising it cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }

    fn file(&self, alias: &Alias<'_>, envelope: &SignEnvelope, pdf: &[u8]) -> String {
        use base64::Engine as _;
        let body = FileCallback {
            business_process_id: alias("process", &envelope.id.to_string()),
            file: base64::engine::general_purpose::STANDARD.encode(pdf),
        };
        serde_json::to_string(&body).unwrap_or_default()
    }
}
