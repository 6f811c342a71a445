//! The signer's web app: server-rendered pages where a participant opens their signing link,
//! proves who they are, reviews every page of every document, fills their fields, signs (or
//! declines with a reason). Every rule is the core's (`signing::signer` for codes, lock,
//! sessions and form tokens; the lifecycle for turn, state and order).
//!
//! - `GET /sign/{token}`: the step the participant is at (waiting for others, authenticate,
//!   review and sign, done, closed).
//! - `POST /sign/{token}/code`, `/verify`: ask for a code, prove identity (or continue, for a
//!   link that needs no proof). Success sets the session cookie and redirects (303).
//! - `GET /sign/{token}/pages/{document}/{page}?w=`: a page image (PNG).
//! - `POST /sign/{token}/sign`, `GET|POST /sign/{token}/decline`: act, each form carrying a
//!   token bound to the session and used once; success redirects (303) to the sender's URL for
//!   it, where given, else back to the link.
//! - `POST /sign/{token}/marks`: a drawn or uploaded signature image (the script's only call).
//! - `GET /sign/{token}/signed/{document}`: the sealed result, for a signer in their session,
//!   once the envelope is sealed (the done page links it), unless the sender withheld the
//!   signed copy (then 404, and no link).
//!
//! Without JavaScript everything works with plain forms; the script (`/assets/signer.js`,
//! served here, CSP `script-src 'self'`) adds drawing and highlights. The session cookie is
//! `HttpOnly`, `SameSite=Strict`, `Secure` when the public URL is https, scoped to the link.

mod catalog;
mod pages;

use askama::Template as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Form, FromRequestParts, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use signet_core::ids::DocumentId;
use signet_core::signing::signer::{CodeRequest, FormAct, SignerPage, SignerStep, Verdict};
use signet_core::signing::{
    AuthMethod, DocumentAction, EnvelopeStatus, FieldId, FieldKind, FieldValue, ImageRef,
    ImageType, Mark, Origin, Reason,
};
use signet_core::{CoreError, ErrorKind};

use crate::web_app::{self, base_path};
use crate::{AppState, ClientIp};
use catalog::{Texts, preferred_language, texts};
use pages::{Body, Decline, EnterCode, Notice, Page, Start};

/// The session cookie's name.
const SESSION_COOKIE: &str = "signet_signer";
/// Forms are small; a drawn or uploaded signature is at most 2 MiB.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024 + 1024;
/// The sign form may carry a few images of at most 2 MiB each (image fields).
const MAX_SIGN_FORM_BYTES: usize = 8 * 1024 * 1024 + 64 * 1024;
const STYLESHEET: &str = include_str!("../../assets/signer.css");
const SCRIPT: &str = include_str!("../../assets/signer.js");

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/sign/{token}", get(show))
        .route("/sign/{token}/code", post(request_code))
        .route("/sign/{token}/verify", post(verify))
        .route("/sign/{token}/pages/{document}/{page}", get(page_image))
        .route(
            "/sign/{token}/sign",
            post(sign).layer(DefaultBodyLimit::max(MAX_SIGN_FORM_BYTES)),
        )
        .route("/sign/{token}/decline", get(decline_form).post(decline))
        .route("/sign/{token}/marks", post(store_mark))
        .route("/sign/{token}/signed/{document}", get(signed_copy))
        .route("/assets/signer.css", get(stylesheet))
        .route("/assets/signer.js", get(script))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(security_headers))
}

/// The CSP of a page whose forms may lead to the sender's redirect URLs: `form-action` must name
/// their origins, or the browser refuses to follow the redirect after the post.
fn csp(form_targets: &[String]) -> String {
    let mut targets = String::from("'self'");
    for origin in form_targets {
        targets.push(' ');
        targets.push_str(origin);
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
         connect-src 'self'; form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
    )
}

async fn security_headers(mut response: Response) -> Response {
    // The policy is plain ASCII, so the fallback (stricter still) is never used.
    let policy =
        HeaderValue::from_str(&csp(&[])).unwrap_or(HeaderValue::from_static("default-src 'none'"));
    web_app::security_headers(response.headers_mut(), policy);
    response
}

async fn stylesheet() -> Response {
    web_app::asset("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> Response {
    web_app::asset("text/javascript; charset=utf-8", SCRIPT)
}

/// Path parameters; a path that does not decode gets the app's "not found" page.
struct SignerPath<T>(T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for SignerPath<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(SignerPath(value)),
            Err(_) => Err(error_page(state, &parts.headers, CoreError::NotFound)),
        }
    }
}

fn link_path(state: &AppState, token: &str) -> String {
    format!("{}/sign/{token}", base_path(state))
}

/// Where the request came from, recorded with every act.
fn origin(ip: Option<std::net::IpAddr>, headers: &HeaderMap) -> Origin {
    Origin {
        ip,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    web_app::session_cookie(headers, SESSION_COOKIE)
}

fn set_session_cookie(link_path: &str, token: &str, max_age: i64, secure: bool) -> String {
    web_app::set_session_cookie(SESSION_COOKIE, link_path, token, max_age, secure)
}

fn html(status: StatusCode, page: Page, csp_targets: &[String]) -> Response {
    match page.render() {
        Ok(body) => {
            let mut response = (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                body,
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&csp(csp_targets)) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, value);
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering a signer page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A page for a core error, in the browser's language (the envelope may not be known).
fn error_page(state: &AppState, headers: &HeaderMap, err: CoreError) -> Response {
    let t = texts(preferred_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    ));
    if err.kind() == ErrorKind::Unexpected {
        tracing::error!(error = %err, "signer request failed");
    }
    let (status, title, text) = match err.kind() {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "title_not_found", "not_found"),
        ErrorKind::Invalid | ErrorKind::TooLarge => {
            (StatusCode::BAD_REQUEST, "title_error", "bad_request")
        }
        ErrorKind::Unauthenticated => (StatusCode::UNAUTHORIZED, "title_verify", "session_over"),
        ErrorKind::Conflict | ErrorKind::Gone | ErrorKind::Forbidden => {
            (StatusCode::CONFLICT, "title_closed", "closed")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "title_error", "error"),
    };
    html(
        status,
        Page::message(t, base_path(state), title, vec![t.get(text).to_owned()]),
        &[],
    )
}

/// The origin (`scheme://host[:port]`) of an absolute URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// The origins of the envelope's redirect URLs, which its forms may lead to.
fn redirect_origins(view: &SignerPage) -> Vec<String> {
    let r = &view.envelope.redirects;
    [&r.success, &r.cancel, &r.error]
        .into_iter()
        .flatten()
        .filter_map(|url| origin_of(url.as_str()))
        .collect()
}

/// The page for where the participant stands, with an optional notice.
fn render(
    state: &AppState,
    token: &str,
    view: &SignerPage,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let t = texts(view.language);
    let base = base_path(state);
    let link = link_path(state, token);
    let targets = redirect_origins(view);
    let title_text = view.envelope.title.as_str();
    let intro = t.fill(
        "asks_you",
        &[("sender", &view.sender_name), ("title", title_text)],
    );
    let me = match view.me() {
        Ok(me) => me,
        Err(e) => return error_page_in(state, t, e),
    };
    let mut page = match &view.step {
        SignerStep::Waiting { names } => {
            let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            Page::message(
                t,
                base,
                "title_waiting",
                vec![
                    t.fill("waiting_for", &[("names", &names.join(", "))]),
                    t.get("waiting_hint").to_owned(),
                ],
            )
        }
        SignerStep::Locked { until } => Page::message(
            t,
            base,
            "title_locked",
            vec![t.fill("locked", &[("when", &pages::when(*until))])],
        ),
        SignerStep::Authenticate {
            method,
            code_pending,
            codes_left,
        } => {
            let to = match method {
                AuthMethod::EmailCode => me.email.as_ref().map(|e| mask_email(e.as_str())),
                _ => me.phone.as_ref().map(signet_core::portal::mask_phone),
            }
            .unwrap_or_default();
            let settings = &state.core.settings().portal;
            let body = if *method == AuthMethod::None {
                Body::Start(Start {
                    explanation: t.get("auth_none").to_owned(),
                    action: format!("{link}/verify"),
                    button: t.get("continue").to_owned(),
                })
            } else if *code_pending {
                Body::EnterCode(EnterCode {
                    action: format!("{link}/verify"),
                    label: t.fill("code_label", &[("to", &to)]),
                    verify: t.get("verify").to_owned(),
                    resend: (*codes_left > 0)
                        .then(|| (format!("{link}/code"), t.get("resend").to_owned())),
                    hint: (*codes_left < settings.max_codes)
                        .then(|| t.fill("codes_left", &[("n", &codes_left.to_string())])),
                })
            } else {
                let key = match method {
                    AuthMethod::EmailCode => "auth_email",
                    AuthMethod::VoiceCode => "auth_voice",
                    _ => "auth_sms",
                };
                Body::Start(Start {
                    explanation: t.fill(key, &[("to", &to)]),
                    action: format!("{link}/code"),
                    button: t.get("send_code").to_owned(),
                })
            };
            let mut page = Page::new(t, base, "title_verify", body);
            page.intro = Some(intro.clone());
            page
        }
        SignerStep::Review => {
            let Some(session) = &view.session else {
                return error_page_in(state, t, CoreError::Unauthenticated);
            };
            let form_token = state.core.signer_form_token(session);
            let can_sign = me.role.acts();
            let review = pages::review(t, &link, view, &view.document_names, &form_token, can_sign);
            let mut page = Page::new(t, base, "title_review", Body::Review(Box::new(review)));
            page.intro = Some(intro.clone());
            page.script = can_sign;
            page
        }
        SignerStep::Signed => {
            let mut paragraphs = vec![t.fill("done_signed", &[("title", title_text)])];
            if view.envelope.status == EnvelopeStatus::Completed {
                paragraphs.push(t.fill("completed", &[("title", title_text)]));
            } else {
                paragraphs.push(t.get("done_waiting").to_owned());
            }
            let mut page = Page::message(t, base, "title_done", paragraphs);
            // The signed copy, once sealed, for the browser that holds the session, unless the
            // sender withheld it (the download checks all three again).
            if view.envelope.signed_copy_offered
                && view.envelope.sealed_at.is_some()
                && view.session.is_some()
                && let Body::Message(message) = &mut page.body
            {
                message.links = signed_copies(view)
                    .map(|(document, name)| {
                        (
                            format!("{link}/signed/{document}"),
                            t.fill("done_download", &[("document", name)]),
                        )
                    })
                    .collect();
            }
            page
        }
        SignerStep::Declined => Page::message(
            t,
            base,
            "title_declined",
            vec![t.fill("declined", &[("title", title_text)])],
        ),
        SignerStep::Released => Page::message(
            t,
            base,
            "title_completed",
            vec![t.fill("completed", &[("title", title_text)])],
        ),
        SignerStep::Closed(status) => {
            let (title, mut paragraphs) = match status {
                EnvelopeStatus::Declined => (
                    "title_envelope_declined",
                    vec![t.get("envelope_declined").to_owned()],
                ),
                EnvelopeStatus::Voided => ("title_voided", vec![t.get("voided").to_owned()]),
                EnvelopeStatus::Expired => ("title_expired", vec![t.get("expired").to_owned()]),
                EnvelopeStatus::Completed => (
                    "title_completed",
                    vec![t.fill("completed", &[("title", title_text)])],
                ),
                _ => ("title_closed", vec![t.get("closed").to_owned()]),
            };
            if let Some(reason) = &view.envelope.void_reason {
                paragraphs.push(t.fill("voided_reason", &[("reason", reason.as_str())]));
            }
            Page::message(t, base, title, paragraphs)
        }
        _ => Page::message(t, base, "title_closed", vec![t.get("closed").to_owned()]),
    };
    page.notice = notice;
    html(status, page, &targets)
}

/// The envelope's signed documents with their names: those a signed copy exists of.
fn signed_copies(view: &SignerPage) -> impl Iterator<Item = (DocumentId, &str)> {
    view.envelope
        .documents
        .iter()
        .filter(|d| d.action == DocumentAction::Sign)
        .map(|d| {
            let name = view
                .document_names
                .iter()
                .find(|(id, _)| *id == d.document)
                .map_or("", |(_, name)| name.as_str());
            (d.document, name)
        })
}

/// The sealed result of one signed document, as a download, for a signer in their session.
async fn signed_copy(
    State(state): State<AppState>,
    SignerPath((token, document)): SignerPath<(String, DocumentId)>,
    headers: HeaderMap,
) -> Response {
    let session = session_cookie(&headers);
    match state
        .core
        .signer_signed_copy(&token, session.as_deref(), &document)
        .await
    {
        Ok((version, stream)) => {
            let name = version.name.as_str().replace(['"', '\\', '\r', '\n'], "_");
            (
                [
                    (header::CONTENT_TYPE, version.media_type.as_str().to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                    (header::CACHE_CONTROL, "private, no-store".to_owned()),
                ],
                axum::body::Body::from_stream(stream),
            )
                .into_response()
        }
        Err(e) => error_page(&state, &headers, e),
    }
}

fn error_page_in(state: &AppState, t: &Texts, err: CoreError) -> Response {
    tracing::error!(error = %err, "signer page failed");
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        Page::message(
            t,
            base_path(state),
            "title_error",
            vec![t.get("error").to_owned()],
        ),
        &[],
    )
}

/// `a•••@example.com`: enough to recognise one's address, not to learn it.
fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

async fn show(
    State(state): State<AppState>,
    SignerPath(token): SignerPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    // A link the sender completed with its file's URL: fetch and check the file, then go on
    // at the plain link.
    match crate::file_links::open(&state, &token).await {
        Ok(Some(plain)) => return Redirect::to(&link_path(&state, &plain)).into_response(),
        Ok(None) => {}
        Err(e) => return error_page(&state, &headers, e),
    }
    let session = session_cookie(&headers);
    match state
        .core
        .signer_page(&token, session.as_deref(), &origin(ip, &headers))
        .await
    {
        Ok(view) => render(&state, &token, &view, None, StatusCode::OK),
        Err(e) => error_page(&state, &headers, e),
    }
}

/// The link's page as it is now, with a notice and a status.
async fn again(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
    notice: impl FnOnce(&Texts, &SignerPage) -> Option<Notice>,
    status: StatusCode,
) -> Response {
    let session = session_cookie(headers);
    match state
        .core
        .signer_page(token, session.as_deref(), &origin(ip, headers))
        .await
    {
        Ok(view) => {
            let t = texts(view.language);
            let notice = notice(t, &view);
            render(state, token, &view, notice, status)
        }
        Err(e) => error_page(state, headers, e),
    }
}

fn error_notice(text: String) -> Option<Notice> {
    Some(Notice {
        kind: "error",
        text,
    })
}

async fn request_code(
    State(state): State<AppState>,
    SignerPath(token): SignerPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    let link = link_path(&state, &token);
    match state
        .core
        .signer_request_code(&token, &origin(ip, &headers))
        .await
    {
        Ok(CodeRequest::Sent { .. }) => Redirect::to(&link).into_response(),
        Ok(CodeRequest::TooMany { retry_after }) => {
            let when = pages::when(retry_after);
            again(
                &state,
                &token,
                &headers,
                ip,
                |t, _| error_notice(t.fill("too_many_codes", &[("when", &when)])),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
        Ok(_) => Redirect::to(&link).into_response(),
        Err(e) if e.kind() == ErrorKind::Conflict => {
            again(
                &state,
                &token,
                &headers,
                ip,
                |_, _| None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => error_page(&state, &headers, e),
    }
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn verify(
    State(state): State<AppState>,
    SignerPath(token): SignerPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let link = link_path(&state, &token);
    let code = (!form.code.trim().is_empty()).then_some(form.code.as_str());
    let verdict = match state
        .core
        .signer_verify(&token, code, &origin(ip, &headers))
        .await
    {
        Ok(verdict) => verdict,
        Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::Invalid) => {
            return again(
                &state,
                &token,
                &headers,
                ip,
                |_, _| None,
                StatusCode::CONFLICT,
            )
            .await;
        }
        Err(e) => return error_page(&state, &headers, e),
    };
    let (key, n, status) = match verdict {
        Verdict::Authenticated {
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
        Verdict::Wrong { attempts_left } => (
            "wrong_code",
            attempts_left.to_string(),
            StatusCode::UNAUTHORIZED,
        ),
        Verdict::NoCode => ("no_code", String::new(), StatusCode::UNAUTHORIZED),
        Verdict::Busy => ("busy", String::new(), StatusCode::TOO_MANY_REQUESTS),
        // The page says until when.
        _ => {
            return again(
                &state,
                &token,
                &headers,
                ip,
                |_, _| None,
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
        }
    };
    again(
        &state,
        &token,
        &headers,
        ip,
        |t, _| error_notice(t.fill(key, &[("n", &n)])),
        status,
    )
    .await
}

#[derive(Debug, Deserialize)]
struct WidthQuery {
    w: Option<u32>,
}

async fn page_image(
    State(state): State<AppState>,
    SignerPath((token, document, page)): SignerPath<(String, DocumentId, u32)>,
    Query(query): Query<WidthQuery>,
    headers: HeaderMap,
) -> Response {
    let session = session_cookie(&headers);
    match state
        .core
        .signer_page_png(
            &token,
            session.as_deref(),
            &document,
            page,
            query.w.unwrap_or(960),
        )
        .await
    {
        Ok(png) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                // Private to the session's browser, which may keep it while the page is open.
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            png,
        )
            .into_response(),
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::NotFound => StatusCode::NOT_FOUND,
                ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
                ErrorKind::Gone => StatusCode::GONE,
                _ => {
                    tracing::error!(error = %e, "rendering a page image failed");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            status.into_response()
        }
    }
}

/// The sign form's values: every field the participant fills, the typed name, the drawn or
/// uploaded mark, the consent and the form token.
fn sign_values(
    view: &SignerPage,
    pairs: &[(String, String)],
    images: &[(FieldId, ImageRef)],
) -> Result<Vec<(FieldId, FieldValue)>, String> {
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    let name = get("signature_name").unwrap_or_default();
    let image = match get("mark").filter(|m| !m.is_empty()) {
        Some(mark) => Some(parse_mark(mark).ok_or("the signature image is not valid")?),
        None => None,
    };
    let mut values = Vec::new();
    for field in view.envelope.fields_of(view.participant) {
        let input = get(&format!("field.{}", field.id));
        let value = match field.kind {
            FieldKind::Signature => {
                let mark = match &image {
                    Some((drawn, image)) if *drawn => Mark::Drawn {
                        image: image.clone(),
                    },
                    Some((_, image)) => Mark::Uploaded {
                        image: image.clone(),
                    },
                    None if name.is_empty() => continue,
                    None => Mark::Typed {
                        text: name.to_owned(),
                    },
                };
                FieldValue::Mark(mark)
            }
            FieldKind::Initials => match input.filter(|v| !v.is_empty()) {
                Some(text) => FieldValue::Mark(Mark::Typed {
                    text: text.to_owned(),
                }),
                None => continue,
            },
            FieldKind::Checkbox => FieldValue::Checkbox(input.is_some()),
            FieldKind::Date => match input.filter(|v| !v.is_empty()) {
                Some(text) => {
                    let format = time::macros::format_description!("[year]-[month]-[day]");
                    FieldValue::Date(
                        time::Date::parse(text, &format)
                            .map_err(|_| format!("{text} is not a date"))?,
                    )
                }
                None => continue,
            },
            FieldKind::Name | FieldKind::Text => match input.filter(|v| !v.is_empty()) {
                Some(text) => FieldValue::Text(text.to_owned()),
                None => continue,
            },
            FieldKind::Image => match images.iter().find(|(id, _)| *id == field.id) {
                Some((_, image)) => FieldValue::Mark(Mark::Uploaded {
                    image: image.clone(),
                }),
                None => continue,
            },
            // Filled by Signet.
            _ => continue,
        };
        values.push((field.id, value));
    }
    Ok(values)
}

/// `drawn:<sha256>:png` or `uploaded:<sha256>:jpeg`, as the marks endpoint answered.
fn parse_mark(text: &str) -> Option<(bool, ImageRef)> {
    let mut parts = text.split(':');
    let drawn = match parts.next()? {
        "drawn" => true,
        "uploaded" => false,
        _ => return None,
    };
    let sha256 = parts.next()?.parse().ok()?;
    let media_type = match parts.next()? {
        "png" => ImageType::Png,
        "jpeg" => ImageType::Jpeg,
        _ => return None,
    };
    parts
        .next()
        .is_none()
        .then_some((drawn, ImageRef { sha256, media_type }))
}

fn mark_text(drawn: bool, image: &ImageRef) -> String {
    let kind = if drawn { "drawn" } else { "uploaded" };
    let media = match image.media_type {
        ImageType::Jpeg => "jpeg",
        _ => "png",
    };
    format!("{kind}:{}:{media}", image.sha256.to_hex())
}

/// The notice for an act the core refused.
fn refusal_text(t: &Texts, err: &CoreError) -> String {
    use signet_core::signing::Refusal;
    let key = match err {
        CoreError::Refused(Refusal::FieldsMissing { .. }) => "missing_fields",
        CoreError::Refused(Refusal::NoConsent) => "no_consent",
        CoreError::Refused(Refusal::NotYourTurn { .. }) => "not_your_turn",
        CoreError::Refused(Refusal::BadValue { field, .. }) => {
            return t.fill("bad_value", &[("field", &field.to_string())]);
        }
        CoreError::Refused(Refusal::Closed(_) | Refusal::ExpiryPassed) => "closed",
        _ if err.kind() == ErrorKind::Invalid => "bad_request",
        _ if err.kind() == ErrorKind::Conflict => "closed",
        _ => "error",
    };
    t.get(key).to_owned()
}

/// The sign form as posted: its text values, and the files chosen for image fields (posted as
/// `multipart/form-data` when the form has any; plain forms are url-encoded).
#[derive(Default)]
struct SignPost {
    pairs: Vec<(String, String)>,
    /// `(input name, bytes)` of each non-empty file.
    files: Vec<(String, Bytes)>,
}

impl SignPost {
    async fn read(state: &AppState, request: axum::extract::Request) -> Result<Self, StatusCode> {
        use axum::extract::FromRequest as _;
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, state)
                .await
                .map_err(|_| StatusCode::BAD_REQUEST)?;
            return Ok(Self {
                pairs,
                files: Vec::new(),
            });
        }
        let mut form = axum::extract::Multipart::from_request(request, state)
            .await
            .map_err(|_| StatusCode::BAD_REQUEST)?;
        let mut post = Self::default();
        while let Some(part) = form.next_field().await.map_err(|e| e.status())? {
            let name = part.name().unwrap_or_default().to_owned();
            if part.file_name().is_some() {
                let bytes = part.bytes().await.map_err(|e| e.status())?;
                if !bytes.is_empty() {
                    post.files.push((name, bytes));
                }
            } else {
                post.pairs
                    .push((name, part.text().await.map_err(|e| e.status())?));
            }
        }
        Ok(post)
    }
}

/// A file's image type, from its first bytes (the core checks them again).
fn sniff_image(bytes: &[u8]) -> Option<ImageType> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageType::Png)
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(ImageType::Jpeg)
    } else {
        None
    }
}

/// Stores the images posted for the participant's image fields; the field they are for and
/// their reference, or the notice that says which was refused.
async fn store_field_images(
    state: &AppState,
    token: &str,
    session: Option<&str>,
    form_token: &str,
    view: &SignerPage,
    files: Vec<(String, Bytes)>,
) -> Result<Vec<(FieldId, ImageRef)>, String> {
    let t = texts(view.language);
    let mut stored = Vec::new();
    for (name, bytes) in files {
        let Some(field) = view
            .envelope
            .fields_of(view.participant)
            .find(|f| f.kind == FieldKind::Image && name == format!("image.{}", f.id))
        else {
            // Not one of theirs: ignored, like any unknown input.
            continue;
        };
        let refused = || t.fill("bad_value", &[("field", &field.id.to_string())]);
        let media = sniff_image(&bytes).ok_or_else(refused)?;
        let image = state
            .core
            .signer_store_mark(token, session, form_token, bytes.to_vec(), media)
            .await
            .map_err(|e| {
                if e.kind() == ErrorKind::Unexpected {
                    tracing::error!(error = %e, "storing an image field failed");
                }
                refused()
            })?;
        stored.push((field.id, image));
    }
    Ok(stored)
}

async fn sign(
    State(state): State<AppState>,
    SignerPath(token): SignerPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    let link = link_path(&state, &token);
    let session = session_cookie(&headers);
    let origin = origin(ip, &headers);
    let post = match SignPost::read(&state, request).await {
        Ok(post) => post,
        Err(status) => return status.into_response(),
    };
    let view = match state
        .core
        .signer_page(&token, session.as_deref(), &origin)
        .await
    {
        Ok(view) => view,
        Err(e) => return error_page(&state, &headers, e),
    };
    let pairs = post.pairs;
    let form_token = pairs
        .iter()
        .find(|(k, _)| k == "form")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let consent = pairs.iter().any(|(k, v)| k == "consent" && v == "yes");
    let images = match store_field_images(
        &state,
        &token,
        session.as_deref(),
        &form_token,
        &view,
        post.files,
    )
    .await
    {
        Ok(images) => images,
        Err(text) => {
            return render(
                &state,
                &token,
                &view,
                error_notice(text),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let values = match sign_values(&view, &pairs, &images) {
        Ok(values) => values,
        Err(problem) => {
            let t = texts(view.language);
            let notice = error_notice(t.fill("bad_value", &[("field", &problem)]));
            return render(&state, &token, &view, notice, StatusCode::BAD_REQUEST);
        }
    };
    match state
        .core
        .signer_sign(
            &token,
            session.as_deref(),
            &form_token,
            values,
            consent,
            &origin,
        )
        .await
    {
        Ok(FormAct::Done(envelope)) => {
            let to = envelope
                .redirects
                .success
                .as_ref()
                .map_or(link, |url| url.as_str().to_owned());
            Redirect::to(&to).into_response()
        }
        Ok(_) => Redirect::to(&link).into_response(),
        Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::Conflict) => {
            let text = refusal_text(texts(view.language), &e);
            again(
                &state,
                &token,
                &headers,
                ip,
                |_, _| error_notice(text),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) if e.kind() == ErrorKind::Unexpected => {
            tracing::error!(error = %e, "signing failed");
            match &view.envelope.redirects.error {
                Some(url) => Redirect::to(url.as_str()).into_response(),
                None => error_page(&state, &headers, e),
            }
        }
        Err(e) => error_page(&state, &headers, e),
    }
}

async fn decline_form(
    State(state): State<AppState>,
    SignerPath(token): SignerPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    let link = link_path(&state, &token);
    let session = session_cookie(&headers);
    let view = match state
        .core
        .signer_page(&token, session.as_deref(), &origin(ip, &headers))
        .await
    {
        Ok(view) => view,
        Err(e) => return error_page(&state, &headers, e),
    };
    let (SignerStep::Review, Some(session)) = (&view.step, &view.session) else {
        return render(&state, &token, &view, None, StatusCode::OK);
    };
    let t = texts(view.language);
    let decline = Decline {
        intro: t.get("decline_intro").to_owned(),
        action: format!("{link}/decline"),
        token: state.core.signer_form_token(session),
        reason_label: t.get("decline_reason").to_owned(),
        button: t.get("decline").to_owned(),
        back: (link.clone(), t.get("back").to_owned()),
    };
    let page = Page::new(
        t,
        base_path(&state),
        "title_decline",
        Body::Decline(decline),
    );
    html(StatusCode::OK, page, &redirect_origins(&view))
}

#[derive(Debug, Deserialize)]
struct DeclineForm {
    #[serde(default)]
    form: String,
    #[serde(default)]
    reason: String,
}

async fn decline(
    State(state): State<AppState>,
    SignerPath(token): SignerPath<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<DeclineForm>,
) -> Response {
    let link = link_path(&state, &token);
    let session = session_cookie(&headers);
    let Ok(reason) = form.reason.parse::<Reason>() else {
        return again(
            &state,
            &token,
            &headers,
            ip,
            |t, _| error_notice(t.get("bad_request").to_owned()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    match state
        .core
        .signer_decline(
            &token,
            session.as_deref(),
            &form.form,
            reason,
            &origin(ip, &headers),
        )
        .await
    {
        Ok(FormAct::Done(envelope)) => {
            let to = envelope
                .redirects
                .cancel
                .as_ref()
                .map_or(link, |url| url.as_str().to_owned());
            Redirect::to(&to).into_response()
        }
        Ok(_) => Redirect::to(&link).into_response(),
        Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::Conflict) => {
            again(
                &state,
                &token,
                &headers,
                ip,
                |_, _| None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => error_page(&state, &headers, e),
    }
}

#[derive(Debug, Deserialize)]
struct MarkQuery {
    kind: Option<String>,
}

/// The script's call: stores a drawn or uploaded image and answers the mark the sign form
/// sends with it. JSON in, JSON out; the form token travels in `X-Signet-Form`.
async fn store_mark(
    State(state): State<AppState>,
    SignerPath(token): SignerPath<String>,
    Query(query): Query<MarkQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let session = session_cookie(&headers);
    let media = match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some("image/png") => ImageType::Png,
        Some("image/jpeg") => ImageType::Jpeg,
        _ => return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response(),
    };
    let form_token = headers
        .get("x-signet-form")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let drawn = query.kind.as_deref() != Some("uploaded");
    match state
        .core
        .signer_store_mark(&token, session.as_deref(), form_token, body.to_vec(), media)
        .await
    {
        Ok(image) => {
            axum::Json(serde_json::json!({ "mark": mark_text(drawn, &image) })).into_response()
        }
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::NotFound => StatusCode::NOT_FOUND,
                ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
                ErrorKind::Invalid => StatusCode::BAD_REQUEST,
                ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::Conflict => StatusCode::CONFLICT,
                _ => {
                    tracing::error!(error = %e, "storing a signature image failed");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            status.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_core::signing::Role;

    #[test]
    fn marks_read_back_as_written() {
        let image = ImageRef {
            sha256: signet_core::values::Sha256Digest::from_bytes([7; 32]),
            media_type: ImageType::Jpeg,
        };
        for drawn in [true, false] {
            assert_eq!(
                parse_mark(&mark_text(drawn, &image)),
                Some((drawn, image.clone()))
            );
        }
        assert_eq!(parse_mark("drawn:zz:png"), None);
        assert_eq!(parse_mark("typed:00:png"), None);
    }

    #[test]
    fn forms_may_lead_only_to_the_senders_origins() {
        assert_eq!(
            origin_of("https://example.com:8443/done?x=1").as_deref(),
            Some("https://example.com:8443")
        );
        let policy = csp(&["https://example.com".into()]);
        assert!(policy.contains("form-action 'self' https://example.com;"));
        assert!(policy.contains("script-src 'self';"));
        assert!(!policy.contains("unsafe"));
    }

    #[test]
    fn cookies_are_strict_and_secure_over_https() {
        let cookie = set_session_cookie("/sign/t", "x", 60, true);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(cookie.ends_with("; Secure"));
        assert!(!set_session_cookie("/sign/t", "x", 60, false).contains("Secure"));
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(mask_email("ada@example.com"), "a•••@example.com");
    }

    #[test]
    fn every_role_that_acts_gets_a_form() {
        assert!(Role::Signer.acts() && Role::Approver.acts() && !Role::Viewer.acts());
    }
}
