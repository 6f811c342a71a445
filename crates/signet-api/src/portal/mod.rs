//! The recipient portal: server-rendered pages (no JavaScript, no outside assets) where a
//! participant opens their link, proves who they are, and downloads their documents.
//!
//! - `GET /r/{token}`: who sent what, and the next step (send a code, enter it, answer the
//!   question) — or the documents, once a session cookie is presented; or why the link no longer
//!   works (expired, cancelled, used, locked).
//! - `POST /r/{token}/code`, `/verify`, `/answer`, `/open`: send a code, check a code, check an
//!   answer, open a link that needs no proof. Success sets the session cookie and redirects
//!   (303) to the link.
//! - `GET /r/{token}/documents/{id}`: the document, streamed, with its real name and type.
//!
//! The session cookie is `HttpOnly`, `SameSite=Strict`, `Secure` when the public URL is https,
//! and scoped to the link's path. Every response carries a strict CSP, `Referrer-Policy:
//! no-referrer` and `Cache-Control: no-store`. The link token is in the path, which the request
//! spans never record (they name the route template).

mod pages;

use askama::Template as _;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Form, FromRequestParts, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use signet_core::blob::ByteStream;
use signet_core::ids::DocumentId;
use signet_core::model::AuthMethod;
use signet_core::portal::{
    LinkStatus, LinkView, PortalDownload, PortalOutcome, Proof, Retrieval, mask_phone,
};
use signet_core::values::Language;
use signet_core::{CoreError, ErrorKind};

use crate::web_app::{self, base_path};
use crate::{AppState, ClientIp};
use pages::{Body, DocRow, Header, Notice, Page, texts};

/// The session cookie's name.
const SESSION_COOKIE: &str = "signet_session";
/// Forms are a few fields; anything bigger is refused before it is read.
const MAX_FORM_BYTES: usize = 16 * 1024;
const STYLESHEET: &str = include_str!("../../assets/portal.css");
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/r/{token}", get(show))
        .route("/r/{token}/code", post(send_code))
        .route("/r/{token}/verify", post(verify_code))
        .route("/r/{token}/answer", post(verify_answer))
        .route("/r/{token}/open", post(open_without_proof))
        .route("/r/{token}/documents/{document}", get(download))
        .route("/assets/portal.css", get(stylesheet))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    web_app::security_headers(response.headers_mut(), HeaderValue::from_static(CSP));
    response
}

async fn stylesheet() -> Response {
    web_app::asset("text/css; charset=utf-8", STYLESHEET)
}

/// Path parameters; a path that does not decode gets the portal's "not found" page.
struct PortalPath<T>(T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for PortalPath<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PortalPath(value)),
            Err(_) => Err(error_page(state, &parts.headers, CoreError::NotFound)),
        }
    }
}

fn link_path(state: &AppState, token: &str) -> String {
    format!("{}/r/{token}", base_path(state))
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    web_app::session_cookie(headers, SESSION_COOKIE)
}

fn set_session_cookie(link_path: &str, token: &str, max_age: i64, secure: bool) -> String {
    web_app::set_session_cookie(SESSION_COOKIE, link_path, token, max_age, secure)
}

fn html(status: StatusCode, page: Page) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a portal page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A page for a core error, in the browser's language (the envelope is not known then).
fn error_page(state: &AppState, headers: &HeaderMap, err: CoreError) -> Response {
    let language = pages::preferred_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let t = texts(language);
    let base = base_path(state);
    if err.kind() == ErrorKind::Unexpected {
        tracing::error!(error = %err, "portal request failed");
    }
    let (status, title, text) = error_status(err.kind(), t);
    html(status, Page::message(t, base, title, text.to_owned()))
}

/// The status, title and text of the page for each kind of failure.
fn error_status(kind: ErrorKind, t: &pages::Texts) -> (StatusCode, &'static str, &'static str) {
    match kind {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, t.title_not_found, t.not_found),
        ErrorKind::Invalid => (StatusCode::BAD_REQUEST, t.title_error, t.bad_request),
        ErrorKind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, t.title_error, t.bad_request),
        ErrorKind::Gone => (StatusCode::GONE, t.title_expired, t.expired),
        ErrorKind::Conflict => (StatusCode::CONFLICT, t.title_closed, t.closed),
        ErrorKind::Forbidden => (StatusCode::FORBIDDEN, t.title_closed, t.closed),
        ErrorKind::Unauthenticated => (StatusCode::UNAUTHORIZED, t.title_error, t.error),
        ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, t.title_error, t.error),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, t.title_error, t.error),
    }
}

/// The page for a link as it is now, with an optional notice (a wrong code, …).
fn render_view(
    state: &AppState,
    token: &str,
    view: &LinkView,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let language: Language = view.envelope.envelope.participant_language;
    let t = texts(language);
    let base = base_path(state);
    let link = link_path(state, token);
    let authenticated = view.session.is_some();
    let header = Header {
        sender: view.sender_name.clone(),
        documents: view
            .documents()
            .map(|(doc, content)| DocRow {
                name: doc.name.as_str().to_owned(),
                size: pages::human_size(content.size, t),
                href: authenticated.then(|| format!("{link}/documents/{}", doc.id)),
            })
            .collect(),
    };
    let message = |status: StatusCode, title: &str, text: String| {
        html(status, Page::message(t, base.clone(), title, text))
    };
    if let Some(session) = &view.session {
        let mut note = format!("{} {}.", t.session_until, pages::when(session.expires_at));
        if !view.envelope.envelope.links.reusable {
            note = format!("{} {note}", t.single_use);
        } else if let Some(link_end) = view.envelope.envelope.expires_at {
            note = format!("{note} {} {}.", t.link_until, pages::when(link_end));
        }
        let page = Page {
            lang: t.code,
            t,
            title: t.title_documents.to_owned(),
            base: base.clone(),
            header: Some(header),
            notice,
            body: Body::Documents(pages::Documents { note }),
        };
        return html(StatusCode::OK, page);
    }
    match view.status {
        LinkStatus::Usable => {}
        LinkStatus::Expired => return message(StatusCode::GONE, t.title_expired, t.expired.into()),
        LinkStatus::Cancelled => {
            return message(StatusCode::GONE, t.title_cancelled, t.cancelled.into());
        }
        LinkStatus::Used => return message(StatusCode::GONE, t.title_used, t.used.into()),
        LinkStatus::Locked { until } => {
            let text = format!("{} {}.", t.locked, pages::when(until));
            return message(StatusCode::TOO_MANY_REQUESTS, t.title_locked, text);
        }
        _ => return message(StatusCode::GONE, t.title_closed, t.closed.into()),
    }
    let settings = &state.core.settings().portal;
    let body = match view.participant.auth {
        AuthMethod::Sms | AuthMethod::Voice => {
            let number = view
                .participant
                .phone
                .as_ref()
                .map(mask_phone)
                .unwrap_or_default();
            if view.pending_code().is_some() {
                let left = view.codes_left(settings);
                Body::EnterCode(pages::EnterCode {
                    verify_action: format!("{link}/verify"),
                    resend_action: format!("{link}/code"),
                    prompt: format!("{} {number}.", t.enter_code),
                    can_resend: left > 0,
                    resend_hint: (left < settings.max_codes)
                        .then(|| format!("{} {left}.", t.codes_left)),
                })
            } else {
                let how = if view.participant.auth == AuthMethod::Voice {
                    t.by_voice
                } else {
                    t.by_sms
                };
                Body::SendCode(pages::SendCode {
                    action: format!("{link}/code"),
                    explanation: format!("{how} {number}."),
                })
            }
        }
        AuthMethod::Secret => Body::Secret(pages::Secret {
            action: format!("{link}/answer"),
            question: view
                .envelope
                .envelope
                .secret_question
                .clone()
                .unwrap_or_default(),
        }),
        _ => Body::Open(pages::Open {
            action: format!("{link}/open"),
        }),
    };
    let page = Page {
        lang: t.code,
        t,
        title: t.title_verify.to_owned(),
        base,
        header: Some(header),
        notice,
        body,
    };
    html(status, page)
}

async fn show(
    State(state): State<AppState>,
    PortalPath(token): PortalPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    let session = session_cookie(&headers);
    match state.core.open_link(&token, session.as_deref(), ip).await {
        Ok(view) => render_view(&state, &token, &view, None, StatusCode::OK),
        Err(e) => error_page(&state, &headers, e),
    }
}

async fn send_code(
    State(state): State<AppState>,
    PortalPath(token): PortalPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    match state.core.send_code(&token, ip).await {
        Ok(outcome) => after(&state, &token, &headers, ip, outcome).await,
        Err(e) => error_page(&state, &headers, e),
    }
}

/// The fields of the code and answer forms (each form sends one).
#[derive(Debug, Deserialize)]
struct ProofForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    answer: String,
}

async fn verify_code(
    State(state): State<AppState>,
    PortalPath(token): PortalPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<ProofForm>, FormRejection>,
) -> Response {
    check_proof(&state, &token, ip, &headers, form, |f| Proof::Code(&f.code)).await
}

async fn verify_answer(
    State(state): State<AppState>,
    PortalPath(token): PortalPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<ProofForm>, FormRejection>,
) -> Response {
    check_proof(&state, &token, ip, &headers, form, |f| {
        Proof::Answer(&f.answer)
    })
    .await
}

async fn check_proof(
    state: &AppState,
    token: &str,
    ip: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    form: Result<Form<ProofForm>, FormRejection>,
    proof: impl for<'f> FnOnce(&'f ProofForm) -> Proof<'f>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(state, headers, CoreError::Invalid("unreadable form".into()));
    };
    match state.core.authenticate(token, proof(&form), ip).await {
        Ok(outcome) => after(state, token, headers, ip, outcome).await,
        Err(e) => error_page(state, headers, e),
    }
}

async fn open_without_proof(
    State(state): State<AppState>,
    PortalPath(token): PortalPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    match state.core.authenticate(&token, Proof::LinkOnly, ip).await {
        Ok(outcome) => after(&state, &token, &headers, ip, outcome).await,
        Err(e) => error_page(&state, &headers, e),
    }
}

/// What went wrong with an attempt, to say above the form.
enum Problem {
    Wrong(u32),
    NoCode,
    TooManyCodes(time::OffsetDateTime),
    Busy,
}

/// The answer to a portal action: a redirect to the link after success (with the session
/// cookie when one started), or the link's page with what went wrong.
async fn after(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
    outcome: PortalOutcome,
) -> Response {
    let link = link_path(state, token);
    let (problem, status) = match outcome {
        PortalOutcome::CodeSent { .. } => return Redirect::to(&link).into_response(),
        PortalOutcome::Authenticated {
            token: secret,
            session,
        } => {
            let max_age = (session.expires_at - state.core.now())
                .whole_seconds()
                .max(0);
            let secure = state.core.settings().public_url.starts_with("https://");
            let cookie = set_session_cookie(&link, secret.expose_secret(), max_age, secure);
            let mut response = Redirect::to(&link).into_response();
            match HeaderValue::from_str(&cookie) {
                Ok(value) => {
                    response.headers_mut().insert(header::SET_COOKIE, value);
                }
                Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
            return response;
        }
        PortalOutcome::Wrong { attempts_left } => (
            Some(Problem::Wrong(attempts_left)),
            StatusCode::UNAUTHORIZED,
        ),
        PortalOutcome::NoCode => (Some(Problem::NoCode), StatusCode::UNAUTHORIZED),
        PortalOutcome::Busy => (Some(Problem::Busy), StatusCode::TOO_MANY_REQUESTS),
        PortalOutcome::TooManyCodes { retry_after } => (
            Some(Problem::TooManyCodes(retry_after)),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        // The link's page says why (locked, expired, cancelled, used).
        _ => (None, StatusCode::OK),
    };
    let session = session_cookie(headers);
    let view = match state.core.open_link(token, session.as_deref(), ip).await {
        Ok(view) => view,
        Err(e) => return error_page(state, headers, e),
    };
    let t = texts(view.envelope.envelope.participant_language);
    let notice = problem.map(|problem| {
        let text = match problem {
            Problem::Wrong(left) => {
                let wrong = if view.participant.auth == AuthMethod::Secret {
                    t.wrong_answer
                } else {
                    t.wrong_code
                };
                format!("{wrong} {} {left}.", t.attempts_left)
            }
            Problem::NoCode => t.no_code.to_owned(),
            Problem::TooManyCodes(retry_after) => {
                format!("{} {}.", t.too_many_codes, pages::when(retry_after))
            }
            Problem::Busy => t.busy.to_owned(),
        };
        Notice {
            kind: "error",
            text,
        }
    });
    render_view(state, token, &view, notice, status)
}

async fn download(
    State(state): State<AppState>,
    PortalPath((token, document)): PortalPath<(String, String)>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    let Ok(document) = document.parse::<DocumentId>() else {
        return error_page(&state, &headers, CoreError::NotFound);
    };
    let session = session_cookie(&headers);
    let download = match state
        .core
        .portal_document(&token, session.as_deref(), &document, ip)
        .await
    {
        Ok(download) => download,
        Err(CoreError::Unauthenticated) => {
            return Redirect::to(&link_path(&state, &token)).into_response();
        }
        Err(e) => return error_page(&state, &headers, e),
    };
    let body = match state.core.open_content(&download.content).await {
        Ok(body) => body,
        Err(error) => {
            // The metadata says the document is stored: a missing or damaged blob is the
            // operator's to repair (`signet check --blobs` finds the others), not a 404.
            tracing::error!(
                document_id = %download.document.id,
                tenant_id = %download.tenant,
                %error,
                "a stored document cannot be read"
            );
            return server_error_page(&state, &headers);
        }
    };
    let (document, content) = (download.document.clone(), download.content.clone());
    let body = Box::pin(recording_body(state, download, body));
    crate::http::document_response(&document, &content, body)
}

/// The portal's page for a failure of the server that was already logged.
fn server_error_page(state: &AppState, headers: &HeaderMap) -> Response {
    let language = pages::preferred_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let t = texts(language);
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        Page::message(t, base_path(state), t.title_error, t.error.to_owned()),
    )
}

/// The response body of a download: the document's plaintext, with its retrieval recorded.
///
/// The retrieval is recorded, durably, before the chunk that completes the document is handed
/// to the connection; if that fails, the chunk is not sent. So nobody holds the whole document
/// without its retrieval on record, and a download that ends short (the stored bytes fail
/// authentication, the connection drops, a `HEAD` never reads the body) records none.
fn recording_body(
    state: AppState,
    download: PortalDownload,
    body: ByteStream,
) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    use futures::StreamExt as _;
    struct Sending {
        state: AppState,
        body: ByteStream,
        sent: u64,
        size: u64,
        document: DocumentId,
        tenant: signet_core::ids::TenantId,
        retrieval: Option<Retrieval>,
    }
    impl Sending {
        /// Records the retrieval once, when the whole document has been read.
        async fn record_if_complete(&mut self) -> std::io::Result<()> {
            if self.sent < self.size {
                return Ok(());
            }
            let Some(retrieval) = self.retrieval.take() else {
                return Ok(());
            };
            self.state
                .core
                .record_retrieval(retrieval)
                .await
                .map_err(|error| {
                    tracing::error!(
                        document_id = %self.document,
                        tenant_id = %self.tenant,
                        %error,
                        "recording a document retrieval failed; the download was cut short"
                    );
                    std::io::Error::other("recording the retrieval failed")
                })
        }
    }
    let sending = Sending {
        state,
        body,
        sent: 0,
        size: download.content.size,
        document: download.document.id,
        tenant: download.tenant,
        retrieval: Some(download.retrieval),
    };
    futures::stream::unfold(Some(sending), |sending| async move {
        let mut sending = sending?;
        match sending.body.next().await {
            Some(Ok(chunk)) => {
                sending.sent += chunk.len() as u64;
                match sending.record_if_complete().await {
                    Ok(()) => Some((Ok(chunk), Some(sending))),
                    Err(error) => Some((Err(error), None)),
                }
            }
            Some(Err(error)) => {
                tracing::error!(
                    document_id = %sending.document,
                    tenant_id = %sending.tenant,
                    %error,
                    sent = sending.sent,
                    "a stored document failed while being sent"
                );
                Some((Err(error), None))
            }
            // An empty document completes without a chunk.
            None => match sending.record_if_complete().await {
                Ok(()) => None,
                Err(error) => Some((Err(error), None)),
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookies_are_locked_down_and_secure_behind_https() {
        let cookie = set_session_cookie("/signet/r/TOKEN", "abc", 1800, true);
        assert_eq!(
            cookie,
            "signet_session=abc; Path=/signet/r/TOKEN; Max-Age=1800; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_session_cookie("/r/T", "abc", 1, false).contains("Secure"));
    }

    #[test]
    fn every_core_error_has_a_page_of_its_kind() {
        let t = texts(Language::En);
        for err in CoreError::one_of_each() {
            let (status, _, _) = error_status(err.kind(), t);
            assert_eq!(
                status == StatusCode::INTERNAL_SERVER_ERROR,
                err.kind() == ErrorKind::Unexpected,
                "{err} answered {status}"
            );
        }
    }

    #[test]
    fn only_the_session_cookie_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("other=1; signet_session=tok; x=y"),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("tok"));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }
}
