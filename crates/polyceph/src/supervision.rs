//! Restart policies: when a failed actor comes back, how often, how soon.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::ExitReason;

/// When an actor is restarted (OTP's temporary, transient, permanent).
///
/// Restarting needs a way to make a new actor: add it with
/// [`Builder::actor_with`](crate::Builder::actor_with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Restart {
    /// Never (the default). An error from `life` or a handler is counted and
    /// the actor carries on; a panic or a failed `birth` stops it.
    #[default]
    Never,
    /// After a failure: a panic anywhere, or an error from `birth`, `life`
    /// or a handler (which then ends the incarnation).
    OnFailure,
    /// After a failure, and after it stopped by itself (`die`, a poison
    /// pill). Never after a shutdown or the emergency brake.
    Always,
}

impl Restart {
    /// Whether an error returned by `life` or a handler ends the incarnation.
    pub(crate) fn errors_fail(self) -> bool {
        self != Self::Never
    }

    pub(crate) fn restarts_after(self, reason: &ExitReason) -> bool {
        let failed = matches!(reason, ExitReason::Panicked(_) | ExitReason::Failed(_));
        match self {
            Self::Never => false,
            Self::OnFailure => failed,
            Self::Always => failed || *reason == ExitReason::Normal,
        }
    }
}

/// At most `max_restarts` restarts within `within`; one more escalates
/// (default: 3 in 5 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intensity {
    /// Restarts allowed in the window.
    pub max_restarts: u32,
    /// The sliding window.
    pub within: Duration,
}

impl Default for Intensity {
    fn default() -> Self {
        Self { max_restarts: 3, within: Duration::from_secs(5) }
    }
}

/// Exponential back-off between restarts: `first`, then doubling for each
/// restart still in the intensity window, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first restart.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
}

/// The restarts of one actor within the intensity window.
#[derive(Debug, Default)]
pub(crate) struct RestartWindow {
    recent: VecDeque<Instant>,
}

impl RestartWindow {
    /// Admits a restart at `now`: `Some(delay before it)`, or `None` if it
    /// would exceed the intensity (the failure escalates).
    pub(crate) fn admit(&mut self, now: Instant, intensity: Intensity, backoff: Option<Backoff>) -> Option<Duration> {
        while self.recent.front().is_some_and(|at| now.duration_since(*at) >= intensity.within) {
            self.recent.pop_front();
        }
        if self.recent.len() >= intensity.max_restarts as usize {
            return None;
        }
        let earlier = u32::try_from(self.recent.len()).unwrap_or(u32::MAX);
        self.recent.push_back(now);
        Some(backoff.map_or(Duration::ZERO, |b| {
            b.first.checked_mul(1_u32.checked_shl(earlier).unwrap_or(u32::MAX)).unwrap_or(b.max).min(b.max)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_fourth_restart_within_five_seconds_escalates() {
        let start = Instant::now();
        let mut window = RestartWindow::default();
        let intensity = Intensity::default();
        for k in 0..3 {
            assert_eq!(window.admit(start + k * SECOND, intensity, None), Some(Duration::ZERO));
        }
        assert_eq!(window.admit(start + 3 * SECOND, intensity, None), None);
        // Five seconds after the first, it has left the window.
        assert_eq!(window.admit(start + 5 * SECOND, intensity, None), Some(Duration::ZERO));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let start = Instant::now();
        let mut window = RestartWindow::default();
        let intensity = Intensity { max_restarts: 10, within: Duration::from_secs(60) };
        let backoff = Some(Backoff { first: Duration::from_millis(100), max: Duration::from_millis(500) });
        let delays: Vec<_> = (0..5).map(|_| window.admit(start, intensity, backoff)).collect();
        let ms = |m| Some(Duration::from_millis(m));
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
    }

    #[test]
    fn policies_restart_after_what_they_say() {
        let panicked = ExitReason::Panicked("x".into());
        assert!(!Restart::Never.restarts_after(&panicked));
        assert!(Restart::OnFailure.restarts_after(&panicked));
        assert!(!Restart::OnFailure.restarts_after(&ExitReason::Normal));
        assert!(Restart::Always.restarts_after(&ExitReason::Normal));
        assert!(!Restart::Always.restarts_after(&ExitReason::Shutdown));
        assert!(!Restart::Always.restarts_after(&ExitReason::Ebrake("x".into())));
    }
}
