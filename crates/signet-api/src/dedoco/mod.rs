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
use signet_core::ids::{FolderId, RegisteredDocumentId};
use signet_core::signing::folders::{
    ApiSession, NewFolder, NewRegisteredDocument, OnBehalfOf, RegisteredDocumentView,
    SenderCallbacks,
};
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

/// Business processes become signing envelopes through the signing core's use-cases, which this
/// build does not have yet: refuse them after checking them, before anything is stored.
fn processes_unavailable() -> DedocoError {
    DedocoError::NotImplemented("business processes are not available on this server yet".into())
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
    for (i, process) in body.business_processes.iter().enumerate() {
        let at = format!("business_processes[{i}]");
        match process.document_id {
            Some(index) if index < documents.len() => {}
            _ => {
                return Err(bad(format!(
                    "{at}.document_id: the index of a document of this request"
                )));
            }
        }
        check_process(&at, process, now).map_err(bad)?;
    }
    if !body.business_processes.is_empty() {
        return Err(processes_unavailable());
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
    let answer = CreatedFolder {
        folder: folder_out(&view),
        documents: view
            .documents
            .iter()
            .map(|d| document_out(d, process_ids(&state, d)))
            .collect(),
        business_processes: Vec::new(),
        links: Vec::new(),
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
    if let Some(process) = &body.business_process {
        check_process(
            "business_process",
            process,
            state.core.now().unix_timestamp(),
        )
        .map_err(bad)?;
        // Checked to exist first, so that a foreign folder answers 404 before 501.
        state.core.folder_of(&caller, &folder).await?;
        return Err(processes_unavailable());
    }
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
    let answer = AddedDocument {
        document: document_out(&view, process_ids(&state, &view)),
        business_process: None,
        links: Vec::new(),
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
    state
        .core
        .void_registered_document(&caller, &id, &session.on_behalf_of)
        .await?;
    Ok((StatusCode::OK, Json(serde_json::json!({}))).into_response())
}

async fn links(
    State(state): State<AppState>,
    Authenticated { caller, .. }: Authenticated,
    DedocoPath(id): DedocoPath<String>,
) -> Result<Response, DedocoError> {
    if object_id::<FolderId>(&id).is_none() {
        return Err(DedocoError::NotFound);
    }
    // A process is known only once the signing core made its envelope.
    state
        .core
        .resolve_alias(&caller, "process", &id)
        .await?
        .ok_or(DedocoError::NotFound)?;
    Err(processes_unavailable())
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
        answer.push(Verified {
            process: None,
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
