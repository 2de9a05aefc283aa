//! Time as the machines see it: milliseconds on the caller's monotonic clock.

use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A point on the caller's monotonic clock, in milliseconds.
///
/// The machines never read a clock: every input carries `now`, and every deadline they
/// report is a `Timestamp` on the same clock. It serialises as a plain number so that
/// transcripts and checkpoints stay plain JSON.
///
/// Arithmetic saturates: a machine must never panic because a caller passed an extreme value.
///
/// ```
/// use callsig::Timestamp;
/// use std::time::Duration;
///
/// let t = Timestamp::from_millis(1_000);
/// assert_eq!(t + Duration::from_secs(2), Timestamp::from_millis(3_000));
/// assert_eq!(Timestamp::from_millis(3_000) - t, Duration::from_secs(2));
/// // Going backwards saturates at zero instead of panicking.
/// assert_eq!(t - Timestamp::from_millis(3_000), Duration::ZERO);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The origin of the clock.
    pub const ZERO: Timestamp = Timestamp(0);
    /// The largest representable instant. A timer whose deadline saturates to it (a huge
    /// duration in a config) is never armed: the end of the clock is never reached.
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// A timestamp `ms` milliseconds after the clock's origin.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the clock's origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The deadline of a timer armed at `self` for `d`: at least 1 ms later, so that a
    /// timer re-armed while timers fire is never due in the same call (a zero duration in a
    /// config would otherwise fire it again and again).
    pub(crate) fn after(self, d: Duration) -> Timestamp {
        self + d.max(Duration::from_millis(1))
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(millis(rhs)))
    }
}

impl AddAssign<Duration> for Timestamp {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(millis(rhs)))
    }
}

impl Sub<Timestamp> for Timestamp {
    type Output = Duration;
    fn sub(self, rhs: Timestamp) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Timestamp::MAX + Duration::from_secs(1), Timestamp::MAX);
        assert_eq!(Timestamp::ZERO - Duration::from_secs(1), Timestamp::ZERO);
        assert_eq!(
            Timestamp::from_millis(5) + Duration::MAX,
            Timestamp::MAX,
            "a Duration beyond u64 milliseconds saturates"
        );
    }

    #[test]
    fn serialises_as_a_number() {
        let t = Timestamp::from_millis(42);
        assert_eq!(serde_json::to_string(&t).unwrap(), "42");
        assert_eq!(serde_json::from_str::<Timestamp>("42").unwrap(), t);
    }
}
