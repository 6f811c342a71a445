//! Time, injected: the core asks a [`Clock`] instead of the system, so that tests can move time
//! forward (expiries, token lifetimes) without sleeping.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// A source of the current time (UTC).
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Now, to the microsecond: the precision the stores keep, so that a time shown before it
    /// is stored reads the same after.
    #[allow(
        clippy::disallowed_methods,
        reason = "the one place where the system time is read"
    )]
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }
}

/// A clock that stands still until moved: for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    /// A clock showing `start`, to the microsecond (as [`SystemClock`]).
    pub fn new(start: OffsetDateTime) -> Self {
        let start = start
            .replace_nanosecond(start.nanosecond() / 1_000 * 1_000)
            .unwrap_or(start);
        Self(Mutex::new(start))
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}
