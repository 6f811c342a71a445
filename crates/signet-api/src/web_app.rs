//! What the two server-rendered web apps share — the recipient portal (`/r/…`) and the signer's
//! app (`/sign/…`): the headers every page gets, static assets, where the apps live under the
//! public URL, and their session cookies. Each app keeps its own pages, texts and CSP.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse as _, Response};

use crate::AppState;

/// Sets the headers every page of an app carries: no referrer leaks the link's token, no
/// sniffing, no framing, the app's `csp` unless the page set its own, and no caching unless the
/// response says otherwise.
pub(crate) fn security_headers(headers: &mut HeaderMap, csp: HeaderValue) {
    let fixed = [
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(csp);
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// A static asset compiled into the binary (a stylesheet, a script), cacheable for an hour.
pub(crate) fn asset(media_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, media_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Where the apps live under the public URL: its path, without a trailing slash (empty at the
/// root).
pub(crate) fn base_path(state: &AppState) -> String {
    path_of(&state.core.settings().public_url)
}

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map(|i| after_scheme[i..].trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// The value of the cookie `name` among the request's cookies.
pub(crate) fn session_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value of session `name`: readable by no script, sent by no other site, only
/// to this link's pages, and only over TLS when the app is served over https.
pub(crate) fn set_session_cookie(
    name: &str,
    link_path: &str,
    token: &str,
    max_age: i64,
    secure: bool,
) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={token}; Path={link_path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookies_are_locked_down_and_secure_behind_https() {
        let cookie = set_session_cookie("s", "/signet/r/TOKEN", "abc", 1800, true);
        assert_eq!(
            cookie,
            "s=abc; Path=/signet/r/TOKEN; Max-Age=1800; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_session_cookie("s", "/r/T", "abc", 1, false).contains("Secure"));
    }

    #[test]
    fn only_the_named_cookie_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("other=1; s=tok; x=y"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("t=2"));
        assert_eq!(session_cookie(&headers, "s").as_deref(), Some("tok"));
        assert_eq!(session_cookie(&headers, "t").as_deref(), Some("2"));
        assert_eq!(session_cookie(&headers, "x=y"), None);
        assert_eq!(session_cookie(&HeaderMap::new(), "s"), None);
    }

    #[test]
    fn the_base_path_is_the_public_urls_path() {
        assert_eq!(path_of("https://example.com"), "");
        assert_eq!(path_of("https://example.com/"), "");
        assert_eq!(path_of("https://example.com/signet/"), "/signet");
        assert_eq!(path_of("http://127.0.0.1:8080/a/b"), "/a/b");
    }

    #[test]
    fn a_page_keeps_its_own_policy_and_caching() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("page"),
        );
        security_headers(&mut headers, HeaderValue::from_static("app"));
        assert_eq!(headers[header::CACHE_CONTROL], "private");
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "page");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        let mut headers = HeaderMap::new();
        security_headers(&mut headers, HeaderValue::from_static("app"));
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "app");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}
