//! The `Authorization` header, read the same way by every dialect: the scheme is
//! case-insensitive (RFC 9110 §11.1), so `Bearer`, `bearer` and `BEARER` are one scheme.

use std::net::IpAddr;

use axum::extract::FromRequestParts as _;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use signet_core::model::{Actor, Tenant};
use signet_core::service::Caller;

use crate::{AppState, ClientIp};

/// The client's address as the dialects record it (`None` when it cannot be told).
pub(crate) async fn client_ip(parts: &mut Parts, state: &AppState) -> Option<IpAddr> {
    let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
        .await
        .unwrap_or(ClientIp(None));
    ip
}

/// The core's caller for `tenant`, authenticated by `dialect` with `credential` (a token id,
/// recorded in events) from `ip`.
pub(crate) fn tenant_caller(
    tenant: Tenant,
    dialect: &str,
    credential: Option<String>,
    ip: Option<IpAddr>,
) -> Caller {
    Caller {
        actor: Actor::Tenant {
            tenant_id: tenant.id.to_upper_hex(),
            dialect: dialect.into(),
            credential,
        },
        tenant,
        ip,
    }
}

/// The credentials after `scheme` in the request's `Authorization` header, trimmed; `None` when
/// the header is absent, not text, or names another scheme.
pub(crate) fn credentials<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim_start();
    let (name, rest) = value.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn schemes_are_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR   abc "] {
            assert_eq!(credentials(&with(value), "Bearer"), Some("abc"), "{value}");
        }
        assert_eq!(credentials(&with("basic dTpw"), "Basic"), Some("dTpw"));
    }

    #[test]
    fn other_schemes_and_missing_headers_give_nothing() {
        assert_eq!(credentials(&with("Basic abc"), "Bearer"), None);
        assert_eq!(credentials(&with("Bearerabc"), "Bearer"), None);
        assert_eq!(credentials(&with("Bearer"), "Bearer"), None);
        assert_eq!(credentials(&HeaderMap::new(), "Bearer"), None);
    }
}
