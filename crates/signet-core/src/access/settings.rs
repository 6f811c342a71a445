//! The recipient portal's limits.

use time::Duration;

/// The portal's limits.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    /// How long a one-time code is accepted.
    pub code_ttl: Duration,
    /// Wrong codes or answers before the link locks.
    pub max_failed_attempts: u32,
    /// How long a locked link refuses attempts.
    pub lockout: Duration,
    /// Codes a link may have sent per [`PortalSettings::code_window`].
    pub max_codes: u32,
    /// The window over which sent codes are counted.
    pub code_window: Duration,
    /// How long an authenticated session lasts (never beyond the link's expiry).
    pub session_ttl: Duration,
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            code_ttl: Duration::minutes(10),
            max_failed_attempts: 5,
            lockout: Duration::minutes(30),
            max_codes: 5,
            code_window: Duration::hours(24),
            session_ttl: Duration::minutes(30),
        }
    }
}
