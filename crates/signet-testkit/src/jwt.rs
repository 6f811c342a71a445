//! Token makers for tests, honest and forged, written out by hand so that a test can produce
//! exactly the bytes an attacker would send.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;

/// doclinc claims with a fresh random `jti`.
pub fn claims(tenant_id: &str, iat: i64, exp: i64) -> Value {
    serde_json::json!({
        "tenantId": tenant_id,
        "jti": format!("test-{}", hex::encode(rand::random::<[u8; 8]>())),
        "iat": iat,
        "exp": exp,
    })
}

fn segment(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// An HS256 token over `header` and `claims`.
pub fn hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = format!("{}.{}", segment(header), segment(claims));
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// An HS512 token.
pub fn hs512(header: &Value, claims: &Value, key: &[u8]) -> String {
    let input = format!("{}.{}", segment(header), segment(claims));
    let mut mac = <Hmac<sha2::Sha512> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// An unsigned token (`alg: none`), with an empty or a given signature segment.
pub fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", segment(header), segment(claims))
}
