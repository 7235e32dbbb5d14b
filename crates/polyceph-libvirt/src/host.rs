//! One host as the poller keeps it: its worker, its connection's phase, the
//! calls under way, and the domain states of its last poll.
//!
//! Every call submitted is tracked here until its completion comes back
//! (or, if it had not started, until it is withdrawn at its deadline).
//! A call past its deadline is *expired*: its requester has been told
//! `TimedOut`, its late answer will be ignored, and while it is still under
//! way the host is stuck: it reports `Failed` and takes no new calls.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use polyceph::Envelope;
use tokio::time::Instant;
use uuid::Uuid;

use crate::link::Link;
use crate::session::{Call, CallError, LinkEvent, no_answer};
use crate::status::{HostCounters, bump};
use crate::worker::{Job, JobId, Worker};
use crate::{DomainId, DomainInfo, DomainState, HostStatus, LibvirtError, StateChanged};

/// How many scheduled polls a host may have under way: one running, one
/// waiting to start right after it. A tick that finds both is skipped.
const POLL_DEPTH: usize = 2;

/// How many calls a host may have under way before requests are refused
/// with `Busy`.
const QUEUE_LIMIT: usize = 64;

/// Why a call submitted to a host is made, and whom to answer.
#[derive(Debug)]
pub(crate) enum Purpose {
    /// A poll: scheduled, or asked for by the request it holds.
    Poll(Option<Envelope>),
    /// `list_domains`.
    List(Envelope),
    /// `get_info`.
    Info(Envelope, DomainId),
    /// `suspend`.
    Suspend(Envelope, DomainId),
    /// `resume`.
    Resume(Envelope, DomainId),
    /// Past its deadline: answered already, its outcome is ignored.
    Expired,
}

impl Purpose {
    /// The call that serves this purpose (an expired one is never submitted).
    pub(crate) fn call(&self) -> Call {
        match self {
            Self::Poll(_) | Self::List(_) | Self::Expired => Call::Domains,
            Self::Info(_, id) => Call::Info(id.clone()),
            Self::Suspend(_, id) => Call::Suspend(id.clone()),
            Self::Resume(_, id) => Call::Resume(id.clone()),
        }
    }
}

/// A call under way.
#[derive(Debug)]
struct Pending {
    id: JobId,
    deadline: Instant,
    purpose: Purpose,
}

/// What a tick does for a host.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Poll it (connecting first if `may_connect`).
    Poll { may_connect: bool },
    /// Its earlier calls are still under way: this tick's poll is skipped.
    Skip,
    /// It is down and its back-off has not passed: nothing to do.
    Wait,
}

/// Why a request was refused without a call.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Stuck,
    Busy,
    NotConnected(String),
}

#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) label: String,
    pub(crate) counters: Arc<HostCounters>,
    worker: Worker,
    link: Link,
    /// In submission order, so deadlines ascend.
    outstanding: VecDeque<Pending>,
    known: HashMap<Uuid, DomainState>,
    /// The map the next poll fills, kept to reuse its allocation.
    spare: HashMap<Uuid, DomainState>,
    /// The status last published.
    published: HostStatus,
}

impl Host {
    pub(crate) fn new(label: String, worker: Worker, counters: Arc<HostCounters>) -> Self {
        let link = Link::new();
        let published = link.status();
        Self {
            label,
            counters,
            worker,
            link,
            outstanding: VecDeque::new(),
            known: HashMap::new(),
            spare: HashMap::new(),
            published,
        }
    }

    /// What this tick does for the host; starts a connection attempt if it
    /// polls without a connection.
    pub(crate) fn plan_poll(&mut self, now: Instant) -> Plan {
        if self.link.is_stuck() {
            return Plan::Skip;
        }
        let scheduled = self.outstanding.iter().filter(|p| matches!(p.purpose, Purpose::Poll(None))).count();
        // A poll may wait behind an attempt a request started, not behind one of its own.
        let depth = if self.link.is_attempting() { 1 } else { POLL_DEPTH };
        if self.link.is_connected() || self.link.is_attempting() {
            return if scheduled < depth { Plan::Poll { may_connect: false } } else { Plan::Skip };
        }
        if self.link.may_connect(now) {
            self.attempt();
            return Plan::Poll { may_connect: true };
        }
        Plan::Wait
    }

    /// Whether a request may make its call now, and whether that call may
    /// connect (starting an attempt if so).
    pub(crate) fn admit(&mut self, now: Instant) -> Result<bool, Refusal> {
        if self.link.is_stuck() {
            return Err(Refusal::Stuck);
        }
        if self.outstanding.len() >= QUEUE_LIMIT {
            return Err(Refusal::Busy);
        }
        // Queued behind the attempt under way, it finds its outcome.
        if self.link.is_connected() || self.link.is_attempting() {
            return Ok(false);
        }
        if self.link.may_connect(now) {
            self.attempt();
            return Ok(true);
        }
        Err(Refusal::NotConnected(self.link.reason()))
    }

    fn attempt(&mut self) {
        self.link.attempt();
        bump(&self.counters.connect_attempts);
    }

    /// Hands a call to the worker and tracks it.
    pub(crate) fn submit(&mut self, id: JobId, purpose: Purpose, may_connect: bool, deadline: Instant) {
        self.worker.submit(Job { id, call: purpose.call(), may_connect });
        self.outstanding.push_back(Pending { id, deadline, purpose });
    }

    /// The purpose of a completed call, no longer tracked.
    pub(crate) fn complete(
        &mut self,
        id: JobId,
        link: Option<&LinkEvent>,
        now: Instant,
        backoff: polyceph::Backoff,
    ) -> Option<Purpose> {
        let at = self.outstanding.iter().position(|p| p.id == id)?;
        let pending = self.outstanding.remove(at)?;
        if let Some(event) = link {
            if matches!(event, LinkEvent::OpenFailed(_)) {
                bump(&self.counters.connect_failures);
            }
            self.link.apply(event, now, backoff);
        }
        Some(pending.purpose)
    }

    /// Expires the calls past their deadline, withdrawing those not started,
    /// and returns their purposes, to be answered `TimedOut`.
    pub(crate) fn expire(&mut self, now: Instant, timeout: Duration, backoff: polyceph::Backoff) -> Vec<Purpose> {
        let mut expired = Vec::new();
        let mut withdrawn = Vec::new();
        for pending in &mut self.outstanding {
            if pending.deadline > now {
                break;
            }
            if matches!(pending.purpose, Purpose::Expired) {
                continue;
            }
            bump(&self.counters.timeouts);
            tracing::warn!(host = %self.label, ?timeout, "libvirt call timed out");
            expired.push(std::mem::replace(&mut pending.purpose, Purpose::Expired));
            if let Some(job) = self.worker.withdraw(pending.id) {
                withdrawn.push(pending.id);
                // An attempt that never started failed all the same.
                if job.may_connect {
                    self.link.apply(&LinkEvent::OpenFailed(CallError::TimedOut(timeout)), now, backoff);
                }
            }
        }
        self.outstanding.retain(|p| !withdrawn.contains(&p.id));
        expired
    }

    /// Marks the host stuck while an expired call is still under way.
    pub(crate) fn refresh_stuck(&mut self, timeout: Duration) {
        let stuck = self.outstanding.iter().any(|p| matches!(p.purpose, Purpose::Expired));
        self.link.set_stuck(stuck.then(|| no_answer(timeout)));
    }

    /// The earliest deadline of a call not yet expired.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.outstanding.iter().find(|p| !matches!(p.purpose, Purpose::Expired)).map(|p| p.deadline)
    }

    /// The status, if it changed since it was last published.
    pub(crate) fn status_change(&mut self) -> Option<HostStatus> {
        let status = self.link.status();
        (status != self.published).then(|| {
            self.published.clone_from(&status);
            status
        })
    }

    /// Remembers the domains' states, and returns the changes since the last poll.
    pub(crate) fn diff(&mut self, domains: &[DomainInfo]) -> Vec<StateChanged> {
        let mut changes = Vec::new();
        self.spare.clear();
        for domain in domains {
            if let Some(&from) = self.known.get(&domain.uuid)
                && from != domain.state
            {
                changes.push(StateChanged {
                    host: self.label.clone(),
                    uuid: domain.uuid,
                    name: domain.name.clone(),
                    from,
                    to: domain.state,
                });
            }
            self.spare.insert(domain.uuid, domain.state);
        }
        std::mem::swap(&mut self.known, &mut self.spare);
        changes
    }
}

impl Refusal {
    pub(crate) fn for_host(self, host: &str, timeout: Duration) -> LibvirtError {
        let host = host.to_owned();
        match self {
            Self::Stuck => LibvirtError::TimedOut { host, timeout },
            Self::Busy => LibvirtError::Busy { host },
            Self::NotConnected(reason) => LibvirtError::NotConnected { host, reason },
        }
    }
}
