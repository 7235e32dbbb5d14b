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
        if *reason == ExitReason::SupervisorRestart {
            return self != Self::Never;
        }
        let failed = matches!(reason, ExitReason::Panicked(_) | ExitReason::Failed(_));
        match self {
            Self::Never => false,
            Self::OnFailure => failed,
            Self::Always => failed || *reason == ExitReason::Normal,
        }
    }
}

/// Which actors a supervisor restarts when one of its children fails and
/// is to be restarted (OTP's restart strategies).
///
/// Children are ordered by when they were first started; a restart keeps
/// a child's place. Siblings stopped for the restart run `death` with
/// [`ExitReason::SupervisorRestart`], last started first, keep their
/// mailboxes, and are started again in start order, each `birth` over
/// before the next begins. A sibling that cannot restart (added as a
/// value, or [`Restart::Never`]) stays stopped, as an OTP temporary child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// Only the failed child (the default).
    #[default]
    OneForOne,
    /// Every child of the supervisor.
    OneForAll,
    /// The failed child and every child started after it.
    RestForOne,
}

/// A nested supervisor: a group of actors with its own strategy, itself a
/// child of the application (or of another supervisor).
///
/// When one of its children fails more often than the child's intensity
/// allows, the supervisor fails: all its children stop, and its parent
/// restarts it (all its children afresh, in start order) as its own
/// [`restart`](SupervisorOptions::restart) policy and
/// [`intensity`](SupervisorOptions::intensity) say, or escalates in turn.
/// At the top, an escalation stops the application.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use polyceph::{ActorOptions, Restart, Strategy, SupervisorOptions};
///
/// let sensors = SupervisorOptions::new(Strategy::OneForAll).intensity(2, Duration::from_secs(60));
/// let imu = ActorOptions::new().restart(Restart::OnFailure).under("sensors");
/// # let _ = (sensors, imu);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisorOptions {
    pub(crate) strategy: Strategy,
    pub(crate) restart: Restart,
    pub(crate) intensity: Intensity,
    pub(crate) backoff: Option<Backoff>,
    pub(crate) parent: Option<String>,
}

impl SupervisorOptions {
    /// A supervisor with this strategy, restarted by its parent when it
    /// fails ([`Restart::OnFailure`]), at most 3 times in 5 s.
    pub fn new(strategy: Strategy) -> Self {
        Self { strategy, restart: Restart::OnFailure, intensity: Intensity::default(), backoff: None, parent: None }
    }

    /// Whether its parent restarts it when it fails (default
    /// [`Restart::OnFailure`]; [`Restart::Never`] leaves its children stopped).
    #[must_use]
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// At most `max_restarts` restarts of this supervisor within `within`;
    /// one more escalates to its parent.
    #[must_use]
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.intensity = Intensity { max_restarts, within };
        self
    }

    /// Waits before restarting it, doubling as [`Backoff`] says.
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = Some(Backoff { first, max });
        self
    }

    /// Nests it under another supervisor, declared before it (default: the
    /// application).
    #[must_use]
    pub fn under(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
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
