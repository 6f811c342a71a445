//! doclinc tokens: an HS256 JWT per request, keyed with the API key's text.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// A tenant's id and key, able to mint tokens with unique `jti`s.
pub struct Credentials {
    tenant: String,
    mac: Hmac<Sha256>,
    header: String,
    run: u128,
    counter: AtomicU64,
}

impl Credentials {
    pub fn new(tenant: &str, key: &str) -> Self {
        // HMAC takes keys of any length, so this cannot fail.
        let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
        Self {
            tenant: tenant.to_owned(),
            mac,
            header: URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            run: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            counter: AtomicU64::new(0),
        }
    }

    /// A fresh token; `tag` and a process-wide counter make its `jti` unique.
    pub fn token(&self, tag: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let claims = serde_json::json!({
            "tenantId": self.tenant,
            "jti": format!("{tag}-{}-{n}", self.run),
            "iat": now,
            "exp": now + 3600,
        });
        let signing_input = format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }
}
