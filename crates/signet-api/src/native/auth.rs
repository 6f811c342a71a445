//! Native authentication: HTTP Basic with the tenant id as user name and the API key as
//! password, resolved to the core's [`Caller`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use secrecy::ExposeSecret as _;
use signet_core::crypto::constant_time_eq;
use signet_core::ids::TenantId;
use signet_core::service::Caller;

use super::NativeError;
use crate::AppState;

/// A tenant authenticated with HTTP Basic.
pub(crate) struct NativeCaller(pub Caller);

impl FromRequestParts<AppState> for NativeCaller {
    type Rejection = NativeError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = crate::auth_header::client_ip(parts, state).await;
        let credentials = crate::auth_header::credentials(&parts.headers, "Basic")
            .and_then(|b64| {
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
            })
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(NativeError::Unauthorized)?;
        let (id, key) = credentials
            .split_once(':')
            .ok_or(NativeError::Unauthorized)?;
        let id: TenantId = id.parse().map_err(|_| NativeError::Unauthorized)?;
        let (tenant, api_key) = state
            .core
            .tenant_with_key(&id)
            .await?
            .ok_or(NativeError::Unauthorized)?;
        if !constant_time_eq(api_key.expose_secret().as_bytes(), key.as_bytes()) {
            return Err(NativeError::Unauthorized);
        }
        Ok(NativeCaller(crate::auth_header::tenant_caller(
            tenant, "native", None, ip,
        )))
    }
}
