//! Dedoco authentication. `POST /api/v1/public/auth/token` takes the tenant's id and API key as
//! HTTP Basic credentials — standard `Basic base64(id:secret)` as real clients send it, or the
//! page's `Basic <id> <secret>` — and answers an HS256 JWT with exactly the vendor's claims
//! (`subId`, `subTyp`, `usrName?`, `usrEmail?`, `iat`, `exp`, `v`).
//!
//! The token is signed with an *instance* key derived from the master key (never the tenant's
//! API key, which the client also holds and could then mint its own tokens with). Every call
//! checks it fully by hand — the raw header's `alg` must be exactly `HS256` (so `none` and every
//! other algorithm are refused before anything else), the MAC in constant time, `subTyp`, `iat`
//! not in the future, `exp` not passed, the lifetime — and then loads the callbacks chosen when
//! it was issued (kept server-side under a digest of the token, since the vendor's claims have
//! no room for them).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use signet_core::crypto::constant_time_eq;
use signet_core::ids::TenantId;
use signet_core::model::Tenant;
use signet_core::service::Caller;
use signet_core::signing::folders::ApiSession;

use super::error::DedocoError;
use crate::AppState;

/// How long a token lives, in seconds (the vendor's sample token lives twelve hours).
pub(crate) const TOKEN_LIFETIME_SECS: i64 = 12 * 3600;
/// How far in the future `iat` may be, for clocks slightly apart across nodes.
const MAX_FUTURE_IAT_SECS: i64 = 60;
/// The purpose the instance key is derived for.
const TOKEN_KEY_PURPOSE: &str = "dedoco-token";
/// The purpose of the digest under which a token's callbacks are kept.
const TOKEN_DIGEST_PURPOSE: &str = "dedoco-token-digest";

/// The token header: always exactly this.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default, skip_serializing)]
    crit: Option<serde_json::Value>,
}

/// The vendor's claims, in its order and spelling.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Claims {
    /// The client id: the tenant id.
    pub sub_id: String,
    /// Always `public`.
    pub sub_typ: String,
    /// The client's user, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usr_name: Option<String>,
    /// The client's user's e-mail, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usr_email: Option<String>,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// The API version that issued it.
    pub v: u32,
}

/// Why a credential was refused; logged, never told to the client (which only sees 401).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("no credentials")]
    Missing,
    #[error("malformed: {0}")]
    Malformed(&'static str),
    #[error("algorithm {0:?} is not HS256")]
    Algorithm(String),
    #[error("bad signature")]
    Signature,
    #[error("subject type is not public")]
    SubjectType,
    #[error("issued in the future")]
    Future,
    #[error("expired")]
    Expired,
    #[error("unknown tenant or wrong key")]
    Credentials,
    #[error("no session for this token")]
    NoSession,
}

fn encode_json<T: Serialize>(value: &T) -> Result<String, DedocoError> {
    serde_json::to_vec(value)
        .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
        .map_err(|e| DedocoError::Core(signet_core::CoreError::Unexpected(e.into())))
}

fn decode_json<T: for<'de> Deserialize<'de>>(
    segment: &str,
    what: &'static str,
) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed(what))
}

/// Issues a token for `claims`.
pub(crate) fn issue(state: &AppState, claims: &Claims) -> Result<String, DedocoError> {
    let header = encode_json(&Header {
        alg: "HS256".into(),
        typ: Some("JWT".into()),
        crit: None,
    })?;
    let claims = encode_json(claims)?;
    let input = format!("{header}.{claims}");
    let mac = state.core.instance_mac(TOKEN_KEY_PURPOSE, input.as_bytes());
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac)))
}

/// The digest a token's session is kept under.
pub(crate) fn token_digest(state: &AppState, token: &str) -> String {
    hex::encode(
        state
            .core
            .instance_mac(TOKEN_DIGEST_PURPOSE, token.as_bytes()),
    )
}

/// Checks a token's form, algorithm, MAC and times; answers its claims.
pub(crate) fn verify(state: &AppState, token: &str, now: i64) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(mac_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("not three segments"));
    };
    let header: Header = decode_json(header_b64, "header")?;
    if header.alg != "HS256" {
        return Err(TokenError::Algorithm(header.alg));
    }
    if header.crit.is_some() || header.typ.as_deref().is_some_and(|t| t != "JWT") {
        return Err(TokenError::Malformed("header parameters"));
    }
    let mac = URL_SAFE_NO_PAD
        .decode(mac_b64)
        .map_err(|_| TokenError::Malformed("signature"))?;
    let expected = state.core.instance_mac(
        TOKEN_KEY_PURPOSE,
        format!("{header_b64}.{claims_b64}").as_bytes(),
    );
    if !constant_time_eq(&expected, &mac) {
        return Err(TokenError::Signature);
    }
    let claims: Claims = decode_json(claims_b64, "claims")?;
    if claims.sub_typ != "public" {
        return Err(TokenError::SubjectType);
    }
    if claims.iat > now + MAX_FUTURE_IAT_SECS {
        return Err(TokenError::Future);
    }
    if claims.exp <= now || claims.exp - claims.iat > TOKEN_LIFETIME_SECS {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// The client id and secret of a Basic header, in either form.
pub(crate) fn basic_credentials(credentials: &str) -> Option<(String, String)> {
    let credentials = credentials.trim();
    // The page's form: `Basic <id> <secret>`.
    let mut words = credentials.split_whitespace();
    if let (Some(id), Some(secret), None) = (words.next(), words.next(), words.next()) {
        return Some((id.to_owned(), secret.to_owned()));
    }
    // RFC 7617: `Basic base64(id:secret)`.
    let decoded = STANDARD.decode(credentials).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The tenant whose id and API key these are.
pub(crate) async fn tenant_of_basic(
    state: &AppState,
    credentials: Option<&str>,
) -> Result<Tenant, DedocoError> {
    let refuse = |reason: TokenError| {
        tracing::info!(%reason, "dedoco credentials refused");
        DedocoError::Unauthorized
    };
    let (id, secret) = credentials
        .and_then(basic_credentials)
        .ok_or_else(|| refuse(TokenError::Missing))?;
    let tenant_id: TenantId = id.parse().map_err(|_| refuse(TokenError::Credentials))?;
    let (tenant, key) = state
        .core
        .tenant_with_key(&tenant_id)
        .await?
        .ok_or_else(|| refuse(TokenError::Credentials))?;
    if !constant_time_eq(key.expose_secret().as_bytes(), secret.as_bytes()) {
        return Err(refuse(TokenError::Credentials));
    }
    Ok(tenant)
}

/// A caller authenticated by a Dedoco token, with the callbacks and user chosen with it.
#[derive(Debug)]
pub(crate) struct Authenticated {
    /// The core's caller.
    pub caller: Caller,
    /// What the token was issued with.
    pub session: ApiSession,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = DedocoError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = crate::auth_header::client_ip(parts, state).await;
        let token = crate::auth_header::credentials(&parts.headers, "Bearer");
        let refuse = |reason: TokenError| {
            tracing::info!(%reason, ip = ?ip, "dedoco token refused");
            DedocoError::Unauthorized
        };
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| refuse(TokenError::Missing))?;
        let claims = verify(state, token, state.core.now().unix_timestamp()).map_err(refuse)?;
        let digest = token_digest(state, token);
        let session = state
            .core
            .api_session(&digest)
            .await?
            .ok_or_else(|| refuse(TokenError::NoSession))?;
        let tenant_id: TenantId = claims
            .sub_id
            .parse()
            .map_err(|_| refuse(TokenError::Credentials))?;
        if session.tenant_id != tenant_id {
            return Err(refuse(TokenError::NoSession));
        }
        let (tenant, _) = state
            .core
            .tenant_with_key(&tenant_id)
            .await?
            .ok_or_else(|| refuse(TokenError::Credentials))?;
        let credential = digest[..16].to_owned();
        Ok(Authenticated {
            caller: crate::auth_header::tenant_caller(tenant, "dedoco", Some(credential), ip),
            session,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_basic_forms_are_read() {
        let standard = STANDARD.encode("ABC:s3cr3t:with-colon");
        assert_eq!(
            basic_credentials(&standard),
            Some(("ABC".into(), "s3cr3t:with-colon".into()))
        );
        assert_eq!(
            basic_credentials("ABC s3cr3t"),
            Some(("ABC".into(), "s3cr3t".into()))
        );
        assert_eq!(basic_credentials("notbase64!"), None);
        assert_eq!(basic_credentials("a b c"), None);
    }

    #[test]
    fn claims_are_exactly_the_vendors() {
        let claims = Claims {
            sub_id: "T".into(),
            sub_typ: "public".into(),
            usr_name: None,
            usr_email: Some("jim@example.com".into()),
            iat: 1,
            exp: 2,
            v: 1,
        };
        let value = serde_json::to_value(&claims).expect("serializable");
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["exp", "iat", "subId", "subTyp", "usrEmail", "v"]);
    }
}
