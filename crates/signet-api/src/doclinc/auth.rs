//! doclinc authentication: a tenant-made HS256 JWT per request, signed with the tenant's API key.
//!
//! Verified by hand with HMAC-SHA256 rather than through a JWT library because every rule here is
//! specific: only `HS256` is acceptable (checked on the raw header, before anything else), the key
//! may be the API key's text or its hex-decoded bytes (the vendor never says which), and `iat`,
//! `exp` and replay are judged by the core's injected clock and store, which JWT libraries cannot
//! be given. The HMAC itself and the constant-time comparison come from RustCrypto.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use signet_core::crypto::{constant_time_eq, hmac_sha256};
use signet_core::ids::TenantId;
use signet_core::model::{Tenant, TokenClaim};
use signet_core::service::Caller;
use time::{Duration, OffsetDateTime};

use super::error::DoclincError;
use crate::AppState;

/// Token rules, configurable by the operator.
#[derive(Debug, Clone)]
pub struct DoclincSettings {
    /// The longest accepted `exp − iat`, in seconds (the vendor's example uses exactly 7200).
    pub max_token_lifetime_secs: i64,
    /// How far `iat` may be from server time, either way, in seconds.
    pub max_clock_skew_secs: i64,
}

impl Default for DoclincSettings {
    fn default() -> Self {
        Self {
            max_token_lifetime_secs: 7200,
            max_clock_skew_secs: 600,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    crit: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claims {
    tenant_id: String,
    jti: String,
    iat: i64,
    exp: i64,
}

/// Why a token was refused; logged, never told to the client (which only sees 401).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("algorithm {0:?} is not HS256")]
    Algorithm(String),
    #[error("unknown tenant")]
    UnknownTenant,
    #[error("bad signature")]
    Signature,
    #[error("iat is {0} s away from server time")]
    Skew(i64),
    #[error("expired")]
    Expired,
    #[error("lifetime {0} s is too long")]
    Lifetime(i64),
    #[error("jti already used")]
    Replay,
}

/// A caller authenticated by a doclinc token, whose id has been claimed (a replay is refused
/// before the handler runs).
#[derive(Debug)]
pub(crate) struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = DoclincError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let AuthenticatedOnce(caller, claim) =
            AuthenticatedOnce::from_request_parts(parts, state).await?;
        match claim_alone(state, &caller.tenant.id, &claim).await {
            Ok(()) => Ok(Authenticated(caller)),
            Err(failure) => Err(refusal(failure, caller.ip)),
        }
    }
}

/// A caller authenticated by a doclinc token whose id is NOT claimed yet: for the creates,
/// which claim it in the envelope's own write (`Core::create_delivery_claiming`), so that one
/// transaction holds both. A handler taking this must claim the id whatever happens (see
/// `super::claiming`).
#[derive(Debug)]
pub(crate) struct AuthenticatedOnce(pub Caller, pub TokenClaim);

impl FromRequestParts<AppState> for AuthenticatedOnce {
    type Rejection = DoclincError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = crate::auth_header::client_ip(parts, state).await;
        let token = crate::auth_header::credentials(&parts.headers, "Bearer");
        refused_or(verify(state, token).await, ip)
            .map(|(caller, claim)| AuthenticatedOnce(caller, claim))
    }
}

/// The caller of a verified token, or the doclinc refusal (logged once, here).
fn refused_or(
    verified: Result<(Tenant, TokenClaim), AuthFailure>,
    ip: Option<std::net::IpAddr>,
) -> Result<(Caller, TokenClaim), DoclincError> {
    match verified {
        Ok((tenant, claim)) => Ok((
            crate::auth_header::tenant_caller(tenant, "doclinc", Some(claim.token_id.clone()), ip),
            claim,
        )),
        Err(failure) => Err(refusal(failure, ip)),
    }
}

/// The doclinc answer to a token that failed (logged once, here): 401 for the token, the core's
/// error for anything else.
fn refusal(failure: AuthFailure, ip: Option<std::net::IpAddr>) -> DoclincError {
    match failure {
        AuthFailure::Token(reason) => {
            tracing::info!(%reason, ip = ?ip, "doclinc token refused");
            DoclincError::Unauthorized
        }
        AuthFailure::Internal(e) => DoclincError::Core(e),
    }
}

/// Claims a verified token's id on its own write; a replay is refused.
async fn claim_alone(
    state: &AppState,
    tenant: &TenantId,
    claim: &TokenClaim,
) -> Result<(), AuthFailure> {
    let fresh = state
        .core
        .claim_token_id(tenant, &claim.token_id, claim.valid_until)
        .await
        .map_err(AuthFailure::Internal)?;
    if fresh {
        Ok(())
    } else {
        Err(TokenError::Replay.into())
    }
}

/// After a create that was refused for another reason than its token: claims the token's id
/// alone, so that a verified token is used once whatever its request's fate. Answers the
/// create's own error, or 401 when the token had been used before (a replay is told so, never
/// how its request would have fared).
pub(crate) async fn claim_after_failure(
    state: &AppState,
    caller: &Caller,
    claim: &TokenClaim,
    failure: DoclincError,
) -> DoclincError {
    match claim_alone(state, &caller.tenant.id, claim).await {
        Ok(()) => failure,
        // The store failed again: the create's own error says enough.
        Err(AuthFailure::Internal(_)) => failure,
        Err(token) => refusal(token, caller.ip),
    }
}

enum AuthFailure {
    Token(TokenError),
    Internal(signet_core::CoreError),
}

impl From<TokenError> for AuthFailure {
    fn from(e: TokenError) -> Self {
        AuthFailure::Token(e)
    }
}

fn decode_json<T: for<'de> Deserialize<'de>>(
    segment: &str,
    what: &'static str,
) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed(what))
}

/// Checks a token (everything but its id's freshness); answers its tenant and the id to claim.
async fn verify(
    state: &AppState,
    token: Option<&str>,
) -> Result<(Tenant, TokenClaim), AuthFailure> {
    let token = token.filter(|t| !t.is_empty()).ok_or(TokenError::Missing)?;
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("not three segments").into());
    };
    let header: Header = decode_json(header_b64, "header")?;
    if header.alg != "HS256" {
        return Err(TokenError::Algorithm(header.alg).into());
    }
    if header.crit.is_some()
        || header
            .typ
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        return Err(TokenError::Malformed("unsupported header parameters").into());
    }
    let claims: Claims = decode_json(claims_b64, "claims")?;
    if claims.jti.is_empty() || claims.jti.len() > 255 {
        return Err(TokenError::Malformed("jti").into());
    }
    let tenant_id: TenantId = claims
        .tenant_id
        .parse()
        .map_err(|_| TokenError::UnknownTenant)?;
    let (tenant, api_key) = state
        .core
        .tenant_with_key(&tenant_id)
        .await
        .map_err(AuthFailure::Internal)?
        .ok_or(TokenError::UnknownTenant)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed("signature"))?;
    let signing_input = format!("{header_b64}.{claims_b64}");
    let key_text = api_key.expose_secret();
    let mut valid = constant_time_eq(
        &hmac_sha256(key_text.as_bytes(), signing_input.as_bytes()),
        &signature,
    );
    if let Ok(key_bytes) = hex::decode(key_text) {
        valid |= constant_time_eq(
            &hmac_sha256(&key_bytes, signing_input.as_bytes()),
            &signature,
        );
    }
    if !valid {
        return Err(TokenError::Signature.into());
    }

    let rules = &state.settings.doclinc;
    let now = state.core.now().unix_timestamp();
    let skew = claims.iat - now;
    if skew.abs() > rules.max_clock_skew_secs {
        return Err(TokenError::Skew(skew).into());
    }
    if claims.exp <= now {
        return Err(TokenError::Expired.into());
    }
    let lifetime = claims.exp - claims.iat;
    if lifetime <= 0 || lifetime > rules.max_token_lifetime_secs {
        return Err(TokenError::Lifetime(lifetime).into());
    }
    // Remember the jti until the token could no longer pass the checks above.
    let forget_after = OffsetDateTime::from_unix_timestamp(claims.exp)
        .map_err(|_| TokenError::Malformed("exp"))?
        + Duration::seconds(rules.max_clock_skew_secs);
    Ok((
        tenant,
        TokenClaim {
            token_id: claims.jti,
            valid_until: forget_after,
        },
    ))
}
