//! A host's connection as the poller sees it, the reconnect back-off, and
//! the [`HostStatus`] derived from both.
//!
//! The poller learns what happened to a connection from the outcomes of the
//! calls ([`LinkEvent`]), in the order the host's calls ran. It decides when
//! a call may open a connection: right away at first, then after each
//! failure (failed attempt or lost connection) only once its back-off has
//! passed: `first`, doubling with each further failure, at most `max`.

use std::time::Duration;

use polyceph::Backoff;
use tokio::time::Instant;

use crate::HostStatus;
use crate::session::LinkEvent;

#[derive(Debug)]
pub(crate) struct Link {
    phase: Phase,
    /// Set while a call is stuck past its deadline: the host is failing,
    /// whatever the connection's phase.
    stuck: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Never tried.
    New,
    /// An attempt is under way, after `failures` failures.
    Attempting {
        failures: u32,
    },
    Connected,
    /// No connection; the next attempt waits until `retry_at`.
    Down {
        error: String,
        failures: u32,
        retry_at: Instant,
    },
}

impl Link {
    pub(crate) fn new() -> Self {
        Self { phase: Phase::New, stuck: None }
    }

    pub(crate) fn status(&self) -> HostStatus {
        if let Some(error) = &self.stuck {
            return HostStatus::Failed { error: error.clone() };
        }
        match &self.phase {
            Phase::New | Phase::Attempting { failures: 0 } => HostStatus::Connecting,
            Phase::Attempting { failures } => HostStatus::Reconnecting { attempt: *failures },
            Phase::Connected => HostStatus::Connected,
            Phase::Down { error, .. } => HostStatus::Failed { error: error.clone() },
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    pub(crate) fn is_attempting(&self) -> bool {
        matches!(self.phase, Phase::Attempting { .. })
    }

    pub(crate) fn is_stuck(&self) -> bool {
        self.stuck.is_some()
    }

    /// Whether a call may open a connection now.
    pub(crate) fn may_connect(&self, now: Instant) -> bool {
        match &self.phase {
            Phase::New => true,
            Phase::Down { retry_at, .. } => now >= *retry_at,
            Phase::Attempting { .. } | Phase::Connected => false,
        }
    }

    /// A call that may connect has been submitted.
    pub(crate) fn attempt(&mut self) {
        let failures = match self.phase {
            Phase::Down { failures, .. } => failures,
            _ => 0,
        };
        self.phase = Phase::Attempting { failures };
    }

    pub(crate) fn apply(&mut self, event: &LinkEvent, now: Instant, backoff: Backoff) {
        match event {
            LinkEvent::Opened => self.phase = Phase::Connected,
            LinkEvent::OpenFailed(error) | LinkEvent::Lost(error) => {
                let failures = match self.phase {
                    Phase::Attempting { failures } | Phase::Down { failures, .. } => failures + 1,
                    Phase::New | Phase::Connected => 1,
                };
                let retry_at = now + delay(backoff, failures);
                self.phase = Phase::Down { error: error.to_string(), failures, retry_at };
            }
        }
    }

    pub(crate) fn set_stuck(&mut self, stuck: Option<String>) {
        self.stuck = stuck;
    }

    /// Why a call cannot be made without a connection.
    pub(crate) fn reason(&self) -> String {
        match &self.phase {
            Phase::Down { error, .. } => error.clone(),
            _ => "no connection yet".to_owned(),
        }
    }
}

/// The wait after the `failures`-th failure in a row (from 1).
fn delay(backoff: Backoff, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1);
    let factor = 1_u32.checked_shl(doublings).unwrap_or(u32::MAX);
    backoff.first.checked_mul(factor).unwrap_or(backoff.max).min(backoff.max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::CallError;

    const BACKOFF: Backoff = Backoff { first: Duration::from_secs(1), max: Duration::from_secs(10) };

    fn refused() -> LinkEvent {
        LinkEvent::OpenFailed(CallError::NotConnected("connection refused".to_owned()))
    }

    #[test]
    fn the_back_off_doubles_up_to_its_max() {
        let delays: Vec<_> = (1..=6).map(|n| delay(BACKOFF, n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
        assert_eq!(delay(BACKOFF, u32::MAX), BACKOFF.max);
    }

    #[test]
    fn failed_attempts_count_up_and_wait_their_back_off() {
        let start = Instant::now();
        let mut link = Link::new();
        assert!(link.may_connect(start));
        link.attempt();
        assert_eq!(link.status(), HostStatus::Connecting);
        assert!(!link.may_connect(start), "one attempt at a time");

        link.apply(&refused(), start, BACKOFF);
        assert_eq!(link.status(), HostStatus::Failed { error: "connection refused".to_owned() });
        assert_eq!(link.reason(), "connection refused");
        assert!(!link.may_connect(start + Duration::from_millis(999)));
        assert!(link.may_connect(start + Duration::from_secs(1)));

        let retry = start + Duration::from_secs(1);
        link.attempt();
        assert_eq!(link.status(), HostStatus::Reconnecting { attempt: 1 });
        link.apply(&refused(), retry, BACKOFF);
        assert!(!link.may_connect(retry + Duration::from_millis(1_999)));
        assert!(link.may_connect(retry + Duration::from_secs(2)));
        link.attempt();
        assert_eq!(link.status(), HostStatus::Reconnecting { attempt: 2 });

        link.apply(&LinkEvent::Opened, retry, BACKOFF);
        assert_eq!(link.status(), HostStatus::Connected);
        assert!(link.is_connected());
    }

    #[test]
    fn a_lost_connection_is_retried_after_the_first_delay() {
        let start = Instant::now();
        let mut link = Link::new();
        link.attempt();
        link.apply(&LinkEvent::Opened, start, BACKOFF);
        let lost = CallError::Libvirt { code: 38, message: "broken pipe".to_owned() };
        link.apply(&LinkEvent::Lost(lost), start, BACKOFF);
        assert_eq!(link.status(), HostStatus::Failed { error: "broken pipe".to_owned() });
        assert!(!link.may_connect(start));
        assert!(link.may_connect(start + BACKOFF.first));
        link.attempt();
        assert_eq!(link.status(), HostStatus::Reconnecting { attempt: 1 });
    }

    #[test]
    fn a_stuck_call_fails_the_host_until_it_returns() {
        let mut link = Link::new();
        link.attempt();
        link.apply(&LinkEvent::Opened, Instant::now(), BACKOFF);
        link.set_stuck(Some("no answer within 2s".to_owned()));
        assert_eq!(link.status(), HostStatus::Failed { error: "no answer within 2s".to_owned() });
        assert!(link.is_connected(), "the connection itself is not known to be broken");
        link.set_stuck(None);
        assert_eq!(link.status(), HostStatus::Connected);
    }
}
