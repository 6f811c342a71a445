//! The doclinc dialect: confidential sending with recipient two-factor authentication, at the
//! vendor's own paths. One handler per vendor operation:
//!
//! | operation | route |
//! |---|---|
//! | create (SMS / voice) | `POST /transactions/cells` |
//! | create (secret question) | `POST /transactions/secrets` |
//! | confirm | `POST /transactions/cell/{id}` |
//! | cancel | `DELETE /transactions/cell/{id}` |
//! | contact lookup | `GET /transactions/contacts/{email}` |
//!
//! Uploads go to the shared signed-URL endpoint (`crate::uploads`).

mod auth;
mod banner;
mod error;
mod notifications;
mod wire;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use secrecy::SecretString;
use signet_core::CoreError;
use signet_core::ids::EnvelopeId;
use signet_core::model::{AuthMethod, LinkPolicy, TokenClaim};
use signet_core::service::{Caller, CreatedDelivery, NewDelivery, NewParticipant, SecretAnswer};
use signet_core::values::{DocumentName, Email, Language, Phone};
use time::format_description::well_known::Rfc3339;

pub use auth::DoclincSettings;
pub use error::DoclincError;
pub use notifications::DoclincRenderer;

use crate::AppState;
use crate::endpoint::Scope;
use auth::{Authenticated, AuthenticatedOnce};
use wire::*;

/// Every doclinc operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /transactions/cells`
    CreateCellTransaction,
    /// `POST /transactions/secrets`
    CreateSecretTransaction,
    /// `POST /transactions/cell/{id}`
    Confirm,
    /// `DELETE /transactions/cell/{id}`
    Cancel,
    /// `GET /transactions/contacts/{email}`
    Contact,
}

impl crate::endpoint::Endpoint for Endpoint {
    const DIALECT: &'static str = "doclinc";
    const ALL: &'static [Self] = &[
        Self::CreateCellTransaction,
        Self::CreateSecretTransaction,
        Self::Confirm,
        Self::Cancel,
        Self::Contact,
    ];

    fn method(self) -> Method {
        match self {
            Self::Cancel => Method::DELETE,
            Self::Contact => Method::GET,
            _ => Method::POST,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::CreateCellTransaction => "/transactions/cells",
            Self::CreateSecretTransaction => "/transactions/secrets",
            Self::Confirm | Self::Cancel => "/transactions/cell/{id}",
            Self::Contact => "/transactions/contacts/{email}",
        }
    }

    fn scope(self) -> Scope {
        Scope::Tenant
    }

    fn handler(self) -> MethodRouter<AppState> {
        match self {
            Self::CreateCellTransaction => post(create_cell_transaction),
            Self::CreateSecretTransaction => post(create_secret_transaction),
            Self::Confirm => post(confirm_transaction),
            Self::Cancel => delete(cancel_transaction),
            Self::Contact => get(get_contact),
        }
    }
}

/// A JSON body parsed into doclinc's error shape: size-limited, 400 on anything malformed.
struct DoclincJson<T>(T);

impl<T: for<'de> serde::Deserialize<'de>> FromRequest<AppState> for DoclincJson<T> {
    type Rejection = DoclincError;

    async fn from_request(
        request: Request<Body>,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let limit = state.settings.max_json_bytes;
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| DoclincError::TooLarge)?;
        serde_json::from_slice(&bytes)
            .map(DoclincJson)
            .map_err(|e| {
                DoclincError::BadRequest(format!(
                    "Invalid JSON: {}",
                    crate::rejection::json_text(&e)
                ))
            })
    }
}

/// Path parameters parsed into doclinc's error shape.
struct DoclincPath<T>(T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for DoclincPath<T> {
    type Rejection = DoclincError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| DoclincPath(value))
            .map_err(|e| DoclincError::BadRequest(crate::rejection::path_text(&e)))
    }
}

fn bad(message: impl Into<String>) -> DoclincError {
    DoclincError::BadRequest(message.into())
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The fields both create calls share.
fn common(
    body: &CreateTransaction,
) -> Result<(Language, Language, LinkPolicy, bool, Vec<DocumentName>), DoclincError> {
    if let Some(kind) = present(&body.transaction_type)
        && !kind.eq_ignore_ascii_case("send")
    {
        return Err(bad("transactionType must be \"send\""));
    }
    let language = |value: &Option<String>, field: &str| -> Result<Language, DoclincError> {
        present(value)
            .map(|v| match v.parse() {
                // doclinc speaks English and French only, whatever else the core knows.
                Ok(language @ (Language::En | Language::Fr)) => Ok(language),
                _ => Err(bad(format!("{field}: supported languages are EN and FR"))),
            })
            .unwrap_or(Ok(Language::En))
    };
    let sender = language(&body.transaction_language_ref, "transactionLanguageRef")?;
    let recipient = language(&body.subject_language_ref, "subjectLanguageRef")?;
    if body.documents.is_empty() {
        return Err(bad("documents: at least one document is required"));
    }
    let documents = body
        .documents
        .iter()
        .map(|d| d.name.parse().map_err(|e| bad(format!("documents: {e}"))))
        .collect::<Result<Vec<DocumentName>, _>>()?;
    let links = LinkPolicy {
        expiration_days: body.link_expiration_days.unwrap_or(14),
        reusable: body.is_link_reusable.unwrap_or(true),
    };
    Ok((
        sender,
        recipient,
        links,
        body.is_event_notification_enabled.unwrap_or(false),
        documents,
    ))
}

fn email(contact: &ContactIn) -> Result<Email, DoclincError> {
    contact
        .recipient_email
        .parse()
        .map_err(|e| bad(format!("recipientEmail: {e}")))
}

/// Runs a create whose token id is claimed in the create's own write. Whatever else refuses the
/// create (its body, the core's rules, the store), the id is then claimed alone: a verified
/// token is used once, and a replayed one always answers 401, never how its request would
/// have fared.
async fn claiming(
    state: &AppState,
    caller: &Caller,
    claim: &TokenClaim,
    create: impl Future<Output = Result<Response, DoclincError>>,
) -> Result<Response, DoclincError> {
    match create.await {
        Ok(response) => Ok(response),
        // The create's write found the token id used before: a replay.
        Err(DoclincError::Core(CoreError::Unauthenticated)) => {
            tracing::info!(ip = ?caller.ip, "doclinc token refused: jti already used");
            Err(DoclincError::Unauthorized)
        }
        Err(failure) => Err(auth::claim_after_failure(state, caller, claim, failure).await),
    }
}

async fn create_cell_transaction(
    State(state): State<AppState>,
    AuthenticatedOnce(caller, claim): AuthenticatedOnce,
    body: Result<DoclincJson<CreateTransaction>, DoclincError>,
) -> Result<Response, DoclincError> {
    claiming(
        &state,
        &caller,
        &claim,
        create_cell(&state, &caller, &claim, body),
    )
    .await
}

async fn create_cell(
    state: &AppState,
    caller: &Caller,
    claim: &TokenClaim,
    body: Result<DoclincJson<CreateTransaction>, DoclincError>,
) -> Result<Response, DoclincError> {
    let DoclincJson(body) = body?;
    let (sender_language, participant_language, links, notify_events, documents) = common(&body)?;
    if body.contacts.is_empty() {
        return Err(bad("contacts: at least one contact is required"));
    }
    let mut participants = Vec::with_capacity(body.contacts.len());
    for contact in &body.contacts {
        let method = match present(&contact.authentication_method) {
            None => AuthMethod::Sms,
            Some(m) => match AuthMethod::parse(m) {
                Some(m @ (AuthMethod::Sms | AuthMethod::Voice)) => m,
                _ => return Err(bad("authenticationMethod must be sms or voice")),
            },
        };
        let country = present(&contact.recipient_iso_country_code)
            .ok_or_else(|| bad("recipientIsoCountryCode is required"))?;
        let cell =
            present(&contact.recipient_cell).ok_or_else(|| bad("recipientCell is required"))?;
        let phone = Phone::from_national(country, cell).map_err(|e| bad(e.to_string()))?;
        participants.push(NewParticipant {
            email: email(contact)?,
            phone: Some(phone),
            auth: method,
            secret_answer: None,
        });
    }
    let request = NewDelivery {
        sender_language,
        participant_language,
        links,
        notify_events,
        secret_question: None,
        participants,
        documents,
    };
    let created = state
        .core
        .create_delivery_claiming(caller, claim, request)
        .await?;
    Ok(created_response(
        &caller.tenant,
        participant_language,
        &body,
        created,
    ))
}

async fn create_secret_transaction(
    State(state): State<AppState>,
    AuthenticatedOnce(caller, claim): AuthenticatedOnce,
    body: Result<DoclincJson<CreateTransaction>, DoclincError>,
) -> Result<Response, DoclincError> {
    claiming(
        &state,
        &caller,
        &claim,
        create_secret(&state, &caller, &claim, body),
    )
    .await
}

async fn create_secret(
    state: &AppState,
    caller: &Caller,
    claim: &TokenClaim,
    body: Result<DoclincJson<CreateTransaction>, DoclincError>,
) -> Result<Response, DoclincError> {
    let DoclincJson(body) = body?;
    let (sender_language, participant_language, links, notify_events, documents) = common(&body)?;
    let [contact] = body.contacts.as_slice() else {
        return Err(bad(
            "contacts: secret transactions take exactly one contact",
        ));
    };
    let question =
        present(&body.secret_question).ok_or_else(|| bad("secretQuestion is required"))?;
    let answer = match (
        present(&contact.secret_answer),
        present(&contact.secret_answer_ref),
    ) {
        (Some(answer), None) => SecretAnswer::New(SecretString::from(answer.to_owned())),
        (None, Some(reference)) => SecretAnswer::Reference(reference.to_owned()),
        (Some(_), Some(_)) => return Err(bad("give secretAnswer or secretAnswerRef, not both")),
        (None, None) => return Err(bad("secretAnswer or secretAnswerRef is required")),
    };
    let request = NewDelivery {
        sender_language,
        participant_language,
        links,
        notify_events,
        secret_question: Some(question.to_owned()),
        participants: vec![NewParticipant {
            email: email(contact)?,
            phone: None,
            auth: AuthMethod::Secret,
            secret_answer: Some(answer),
        }],
        documents,
    };
    let created = state
        .core
        .create_delivery_claiming(caller, claim, request)
        .await?;
    Ok(created_response(
        &caller.tenant,
        participant_language,
        &body,
        created,
    ))
}

fn created_response(
    tenant: &signet_core::model::Tenant,
    language: Language,
    body: &CreateTransaction,
    created: CreatedDelivery,
) -> Response {
    let href = format!("/transactions/cell/{}", created.envelope_id);
    let names: Vec<String> = body
        .documents
        .iter()
        .map(|d| d.name.trim().to_owned())
        .collect();
    let days = body.link_expiration_days.unwrap_or(14);
    let (banner, banners) = if tenant.self_send {
        let all: Vec<(String, String)> = created
            .links
            .iter()
            .map(|l| (l.email.to_string(), l.url.clone()))
            .collect();
        let rendered = created
            .links
            .iter()
            .map(|l| {
                banner::render(
                    language,
                    &created.sender_name,
                    &names,
                    days,
                    &[(l.email.to_string(), l.url.clone())],
                )
                .map(|banner| RecipientBanner {
                    recipient_email: l.email.to_string(),
                    banner,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|each| {
                // With one recipient the banner listing them all is theirs: rendered once.
                let whole = match each.as_slice() {
                    [only] => Ok(only.banner.clone()),
                    _ => banner::render(language, &created.sender_name, &names, days, &all),
                };
                whole.map(|banner| (Some(banner), Some(each)))
            });
        match rendered {
            Ok(banners) => banners,
            Err(e) => {
                return DoclincError::Core(signet_core::CoreError::Unexpected(anyhow::anyhow!(
                    "rendering the banner: {e}"
                )))
                .into_response();
            }
        }
    } else {
        (None, None)
    };
    let answer = Created {
        send_transaction: SendTransaction {
            transaction_id: created.envelope_id.to_string(),
            documents: created
                .uploads
                .iter()
                .zip(&names)
                .map(|(u, name)| UploadUrl {
                    name: name.clone(),
                    url: u.url.clone(),
                    url_time_to_live: u.ttl_seconds,
                })
                .collect(),
        },
        banner,
        banners,
        commands: vec![
            Command {
                href: href.clone(),
                method: "POST",
                rel: "Confirm",
            },
            Command {
                href,
                method: "Delete",
                rel: "Cancel",
            },
        ],
    };
    (StatusCode::CREATED, Json(answer)).into_response()
}

fn envelope_id(id: &str) -> Result<EnvelopeId, DoclincError> {
    id.parse()
        .map_err(|_| DoclincError::Core(signet_core::CoreError::NotFound))
}

async fn confirm_transaction(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    DoclincPath(id): DoclincPath<String>,
) -> Result<Response, DoclincError> {
    let id = envelope_id(&id)?;
    let envelope = state.core.confirm(&caller, &id).await?;
    let answer = Confirmed {
        transaction_id: id.to_string(),
        status: "confirmed",
        link_expiration: envelope
            .envelope
            .expires_at
            .and_then(|at| at.format(&Rfc3339).ok()),
    };
    Ok((StatusCode::OK, Json(answer)).into_response())
}

async fn cancel_transaction(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    DoclincPath(id): DoclincPath<String>,
) -> Result<Response, DoclincError> {
    let id = envelope_id(&id)?;
    state.core.cancel(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_contact(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    DoclincPath(email): DoclincPath<String>,
) -> Result<Response, DoclincError> {
    let email: Email = email
        .parse()
        .map_err(|_| DoclincError::Core(signet_core::CoreError::NotFound))?;
    let contact = state.core.contact(&caller, &email).await?;
    let answer = ContactOut {
        language_ref: contact.language.code().to_ascii_uppercase(),
        cell_contact: contact
            .cell
            .map(|c| CellContactOut {
                cell_iso_country_code: Some(c.phone.iso_country().to_owned()),
                cell: Some(c.phone.national().to_owned()),
                authentication_method: Some(c.method.as_str()),
            })
            .unwrap_or_default(),
        secret_contact: contact
            .secret
            .map(|s| SecretContactOut {
                secret_question: Some(s.question),
                secret_answer_ref: Some(s.answer_ref),
            })
            .unwrap_or_default(),
    };
    Ok((StatusCode::OK, Json(answer)).into_response())
}
