//! Envelopes that collect signatures: `POST /v1/envelopes`, `GET /v1/envelopes[?state=&cursor=]`,
//! `GET /v1/envelopes/{id}`, `POST /v1/envelopes/{id}/void`, `POST /v1/envelopes/{id}/remind`,
//! `GET /v1/envelopes/{id}/events`, `GET /v1/envelopes/{id}/result[?document=]` and
//! `GET /v1/envelopes/{id}/certificate`. Translation only: the rules are the core's.

pub(super) mod wire;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use signet_core::CoreError;
use signet_core::ids::DocumentId;
use signet_core::signing::{EnvelopeView, NewSignEnvelope, Origin, Reason, RecordedSigningEvent};

use self::wire::{
    CreateEnvelopeIn, EnvelopeEventOut, EnvelopeEventsOut, EnvelopeListOut, EnvelopeOut,
    EnvelopeStateWire, EnvelopeSummaryOut, VoidIn, envelope_id,
};
use super::NativeError;
use super::auth::NativeCaller;
use super::error::Problem;
use super::pagination::PageRequest;
use super::wire::{NativeJson, NativePath, NativeQuery, idempotency_key};
use crate::AppState;

/// Where the request came from, as the core records it with the act.
fn origin(caller: &signet_core::service::Caller, headers: &HeaderMap) -> Origin {
    Origin {
        ip: caller.ip,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}

fn view_out(state: &AppState, view: &EnvelopeView) -> EnvelopeOut {
    EnvelopeOut::new(
        &view.envelope,
        |p| {
            view.signing_urls
                .iter()
                .find(|(id, _)| *id == p.id)
                .map(|(_, url)| url.clone())
                .unwrap_or_else(|| state.core.signing_url(&p.id))
        },
        &view.current,
        &view.versions,
        &view.results,
        view.certificate.as_ref(),
    )
}

#[utoipa::path(
    post,
    path = "/v1/envelopes",
    operation_id = "createEnvelope",
    tag = "envelopes",
    summary = "Create an envelope that collects signatures",
    description = "Participants whose turn has come are invited at once. With an \
                   `Idempotency-Key`, a repeat of the same request answers the same envelope.",
    params(super::openapi::IdempotencyKey),
    request_body = CreateEnvelopeIn,
    responses(
        (status = 201, description = "Created", body = EnvelopeOut,
            headers(("Location" = String, description = "The envelope's URL"))),
        (status = 400, description = "A bad value or reference (unknown document, a page the \
                                       document does not have, a cycle in `after`, a fraction \
                                       outside 0..1, an unknown participant key); `field` names it",
            body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The tenant is suspended or its plan lacks a feature",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The Idempotency-Key was used for a different request",
            body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large",
            body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not JSON",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `POST /v1/envelopes` → 201.
pub(super) async fn create(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    headers: HeaderMap,
    NativeJson(body): NativeJson<CreateEnvelopeIn>,
) -> Result<Response, NativeError> {
    let idempotency_key = idempotency_key(&headers)?;
    let draft = body.into_draft()?;
    let view = state
        .core
        .create_sign_envelope(
            &caller,
            NewSignEnvelope {
                draft,
                origin: origin(&caller, &headers),
                idempotency_key,
            },
        )
        .await?;
    let location = format!("/v1/envelopes/{}", view.envelope.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view_out(&state, &view)),
    )
        .into_response())
}

/// The list's query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Only envelopes in this state.
    state: Option<EnvelopeStateWire>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
    /// Envelopes per page, 1 to 200 (default 50).
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/v1/envelopes",
    operation_id = "listEnvelopes",
    tag = "envelopes",
    summary = "List envelopes, oldest first",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = EnvelopeListOut),
        (status = 400, description = "A bad state, cursor or limit",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `GET /v1/envelopes?state=&cursor=&limit=`.
pub(super) async fn list(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativeQuery(query): NativeQuery<ListQuery>,
) -> Result<Json<EnvelopeListOut>, NativeError> {
    let page = PageRequest::parse(query.cursor.as_deref(), query.limit)?;
    let after = page
        .after
        .as_deref()
        .map(|id| {
            id.parse().map_err(|_| NativeError::InvalidField {
                field: "cursor".into(),
                message: "is not a cursor this API gave out".into(),
            })
        })
        .transpose()?;
    let envelopes = state
        .core
        .list_sign_envelopes(
            &caller,
            query.state.map(EnvelopeStateWire::to_core),
            after.as_ref(),
            page.fetch(),
        )
        .await?;
    let (envelopes, next_cursor) = page.page(envelopes, |e| e.id.to_string());
    Ok(Json(EnvelopeListOut {
        items: envelopes.iter().map(EnvelopeSummaryOut::new).collect(),
        next_cursor,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/envelopes/{id}",
    operation_id = "showEnvelope",
    tag = "envelopes",
    summary = "Show an envelope",
    description = "Its state, its participants and theirs, its documents and their current \
                   versions, and the sealed results once made.",
    params(("id" = String, Path, description = "The envelope's id")),
    responses(
        (status = 200, description = "The envelope", body = EnvelopeOut),
        (status = 404, description = "No such envelope of the caller's",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `GET /v1/envelopes/{id}`.
pub(super) async fn show(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
) -> Result<Json<EnvelopeOut>, NativeError> {
    let view = state
        .core
        .sign_envelope(&caller, &envelope_id(&id)?)
        .await?;
    Ok(Json(view_out(&state, &view)))
}

#[utoipa::path(
    post,
    path = "/v1/envelopes/{id}/void",
    operation_id = "voidEnvelope",
    tag = "envelopes",
    summary = "Void an open envelope",
    description = "With an `Idempotency-Key`, a repeat of the request (same reason) answers \
                   the voided envelope instead of 409; the key used with another reason or \
                   envelope answers 409.",
    params(("id" = String, Path, description = "The envelope's id"), super::openapi::IdempotencyKey),
    request_body = VoidIn,
    responses(
        (status = 200, description = "Voided", body = EnvelopeOut),
        (status = 400, description = "No reason, or a bad one",
            body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such envelope of the caller's",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The envelope is already final",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `POST /v1/envelopes/{id}/void` `{reason}`.
pub(super) async fn void(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
    headers: HeaderMap,
    NativeJson(body): NativeJson<VoidIn>,
) -> Result<Json<EnvelopeOut>, NativeError> {
    let key = idempotency_key(&headers)?;
    let id = envelope_id(&id)?;
    let reason: Reason = body.reason.parse().map_err(|e| NativeError::InvalidField {
        field: "reason".into(),
        message: format!("{e}"),
    })?;
    let view = state
        .core
        .void_sign_envelope(&caller, &id, reason, origin(&caller, &headers), key)
        .await?;
    Ok(Json(view_out(&state, &view)))
}

#[utoipa::path(
    post,
    path = "/v1/envelopes/{id}/remind",
    operation_id = "remindEnvelope",
    tag = "envelopes",
    summary = "Remind the participants whose turn it is",
    description = "Each participant is reminded at most the reminder policy's `max` times (3 \
                   without a policy). A repeat under the same `Idempotency-Key` reminds nobody \
                   again and answers the envelope as it is.",
    params(("id" = String, Path, description = "The envelope's id"), super::openapi::IdempotencyKey),
    responses(
        (status = 200, description = "Reminders queued", body = EnvelopeOut),
        (status = 404, description = "No such envelope of the caller's",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The envelope is final, or nobody may be reminded now",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `POST /v1/envelopes/{id}/remind` (no body).
pub(super) async fn remind(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
    headers: HeaderMap,
) -> Result<Json<EnvelopeOut>, NativeError> {
    let key = idempotency_key(&headers)?;
    let view = state
        .core
        .remind_sign_envelope(&caller, &envelope_id(&id)?, origin(&caller, &headers), key)
        .await?;
    Ok(Json(view_out(&state, &view)))
}

/// A page of events.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EventsQuery {
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
    /// Events per page, 1 to 200 (default 50).
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/v1/envelopes/{id}/events",
    operation_id = "listEnvelopeEvents",
    tag = "envelopes",
    summary = "An envelope's events, in order",
    params(("id" = String, Path, description = "The envelope's id"), EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = EnvelopeEventsOut),
        (status = 404, description = "No such envelope of the caller's",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `GET /v1/envelopes/{id}/events`.
pub(super) async fn events(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
    NativeQuery(query): NativeQuery<EventsQuery>,
) -> Result<Json<EnvelopeEventsOut>, NativeError> {
    let page = PageRequest::parse(query.cursor.as_deref(), query.limit)?;
    // An event's place in the envelope's history is its cursor: the history only grows.
    let first: usize = match page.after.as_deref() {
        None => 0,
        Some(seq) => seq
            .parse::<usize>()
            .map_err(|_| NativeError::InvalidField {
                field: "cursor".into(),
                message: "is not a cursor this API gave out".into(),
            })?
            .saturating_add(1),
    };
    let id = envelope_id(&id)?;
    let view = state.core.sign_envelope(&caller, &id).await?;
    let recorded: Vec<(usize, RecordedSigningEvent)> = state
        .core
        .sign_envelope_events(&caller, &id)
        .await?
        .into_iter()
        .enumerate()
        .skip(first)
        .take(page.fetch() as usize)
        .collect();
    let (recorded, next_cursor) = page.page(recorded, |(seq, _)| seq.to_string());
    Ok(Json(EnvelopeEventsOut {
        items: recorded
            .iter()
            .map(|(seq, e)| {
                EnvelopeEventOut::new(&view.envelope, *seq as u64, &e.leaf_hash, &e.event)
            })
            .collect(),
        next_cursor,
    }))
}

/// Which signed document's result.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ResultQuery {
    /// The envelope document (its id at creation) whose sealed result is wanted; needed when
    /// the envelope signs more than one.
    document: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/envelopes/{id}/result",
    operation_id = "getEnvelopeResult",
    tag = "envelopes",
    summary = "The sealed PDF",
    description = "The final, sealed version of a signed document (PAdES, timestamped): \
                   every signer's signature and the archival seal.",
    params(("id" = String, Path, description = "The envelope's id"), ResultQuery),
    responses(
        (status = 200, description = "The sealed PDF", content(("application/pdf"))),
        (status = 404, description = "No such envelope of the caller's, or no such document in it",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not completed and sealed yet",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `GET /v1/envelopes/{id}/result[?document=]`.
pub(super) async fn result(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
    NativeQuery(query): NativeQuery<ResultQuery>,
) -> Result<Response, NativeError> {
    let document: Option<DocumentId> = query
        .document
        .as_deref()
        .map(|d| {
            d.parse()
                .map_err(|_| NativeError::Core(CoreError::NotFound))
        })
        .transpose()?;
    let (doc, stream) = state
        .core
        .sign_envelope_result(&caller, &envelope_id(&id)?, document.as_ref())
        .await?;
    Ok(file(&doc, stream))
}

#[utoipa::path(
    get,
    path = "/v1/envelopes/{id}/certificate",
    operation_id = "getEnvelopeCertificate",
    tag = "envelopes",
    summary = "The completion certificate",
    params(("id" = String, Path, description = "The envelope's id")),
    responses(
        (status = 200, description = "The certificate (PDF)", content(("application/pdf"))),
        (status = 404, description = "No such envelope of the caller's",
            body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not completed and sealed yet",
            body = Problem, content_type = "application/problem+json"),
    ),
    security(("basic" = []))
)]
/// `GET /v1/envelopes/{id}/certificate`.
pub(super) async fn certificate(
    State(state): State<AppState>,
    NativeCaller(caller): NativeCaller,
    NativePath(id): NativePath<String>,
) -> Result<Response, NativeError> {
    let (doc, stream) = state
        .core
        .sign_envelope_certificate(&caller, &envelope_id(&id)?)
        .await?;
    Ok(file(&doc, stream))
}

fn file(
    doc: &signet_core::signing::library::LibraryDocument,
    stream: signet_core::blob::ByteStream,
) -> Response {
    crate::http::file_response(
        doc.name.as_str(),
        doc.media_type.as_str(),
        doc.size,
        &doc.sha256.to_hex(),
        stream,
    )
}
