//! The poller between birth and death: hosts, calls under way, mail.
//!
//! The actor hands every call to its host's worker and returns at once;
//! completions come back through the outbox and a wake-up (see `wake`). A
//! tick or a wake-up *services* the poller: it takes in the completions, in
//! the order each host's calls ran, then times out the calls past their
//! deadline. Replies, `domains`, `domain.state_changed` and `host.status`
//! mail all leave from here.

use std::sync::Arc;

use polyceph::{Address, Body, Context, Envelope};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::builder::Config;
use crate::host::{Host, Plan, Purpose};
use crate::session::{Answer, Session};
use crate::status::{Board, bump};
use crate::wake::{Alarm, Doorbell};
use crate::worker::{Completion, JobId, Outbox, Worker};
use crate::{DomainInfo, Domains, HostStatus, HostStatusChanged, LibvirtError, LibvirtPoller, Reply, subjects};

/// The poller's state from birth to death.
#[derive(Debug)]
pub(crate) struct Running {
    config: Arc<Config>,
    board: Arc<Board>,
    hosts: Vec<Host>,
    completions: mpsc::UnboundedReceiver<Completion>,
    doorbell: Doorbell,
    alarm: Alarm,
    next_job: JobId,
}

impl Running {
    pub(crate) fn start(config: &Arc<Config>, board: &Arc<Board>, ctx: &Context<LibvirtPoller>) -> Self {
        let doorbell = Doorbell::new(ctx.app(), ctx.name().clone());
        let (outbox, completions) = Outbox::new(doorbell.clone());
        let hosts = config
            .hosts
            .iter()
            .enumerate()
            .map(|(index, (label, uri))| {
                let counters = board.counters(index);
                let session = Session::new(uri, config.call_timeout, counters.connect_threads.clone());
                // After a restart, the status starts over too.
                board.publish(index, &HostStatus::Connecting);
                Host::new(label.clone(), Worker::new(index, session, outbox.clone()), counters)
            })
            .collect();
        Self {
            config: config.clone(),
            board: board.clone(),
            hosts,
            completions,
            alarm: Alarm::start(doorbell.clone()),
            doorbell,
            next_job: 0,
        }
    }

    /// A tick: catches up with what happened, then polls every host that can be.
    pub(crate) fn tick(&mut self, ctx: &Context<LibvirtPoller>) {
        self.service(ctx);
        let now = Instant::now();
        for index in 0..self.hosts.len() {
            match self.hosts[index].plan_poll(now) {
                Plan::Poll { may_connect } => {
                    self.submit(index, Purpose::Poll(None), may_connect, now);
                    self.publish(ctx, index);
                }
                Plan::Skip => {
                    let host = &self.hosts[index];
                    bump(&host.counters.skipped_polls);
                    tracing::debug!(host = %host.label, "libvirt poll skipped: the host's earlier calls are under way");
                }
                Plan::Wait => {}
            }
        }
    }

    /// A request: a call to make, or a refusal to send at once.
    pub(crate) fn request(&mut self, ctx: &Context<LibvirtPoller>, label: &str, purpose: Purpose) {
        let Some(index) = self.hosts.iter().position(|host| host.label == label) else {
            return answer_error(ctx, purpose, LibvirtError::UnknownHost { host: label.to_owned() });
        };
        let now = Instant::now();
        match self.hosts[index].admit(now) {
            Ok(may_connect) => {
                self.submit(index, purpose, may_connect, now);
                self.publish(ctx, index);
            }
            Err(refusal) => {
                let error = refusal.for_host(label, self.config.call_timeout);
                answer_error(ctx, purpose, error);
            }
        }
    }

    fn submit(&mut self, index: usize, purpose: Purpose, may_connect: bool, now: Instant) {
        let id = self.next_job;
        self.next_job += 1;
        let deadline = now + self.config.call_timeout;
        self.hosts[index].submit(id, purpose, may_connect, deadline);
        self.alarm.arm(deadline);
    }

    /// Takes in the completed calls, then times out those past their deadline.
    pub(crate) fn service(&mut self, ctx: &Context<LibvirtPoller>) {
        // Completions that come while the poller is at work do not ring:
        // the doorbell is answered only once none is left.
        loop {
            while let Ok(completion) = self.completions.try_recv() {
                self.complete(ctx, completion);
            }
            self.doorbell.answer();
            if self.completions.is_empty() {
                break;
            }
        }
        let now = Instant::now();
        let (timeout, backoff) = (self.config.call_timeout, self.config.backoff);
        for index in 0..self.hosts.len() {
            let host = &mut self.hosts[index];
            let expired = host.expire(now, timeout, backoff);
            host.refresh_stuck(timeout);
            let error = LibvirtError::TimedOut { host: host.label.clone(), timeout };
            for purpose in expired {
                answer_error(ctx, purpose, error.clone());
            }
            self.publish(ctx, index);
        }
        if let Some(next) = self.hosts.iter().filter_map(Host::next_deadline).min() {
            self.alarm.arm(next);
        }
    }

    fn complete(&mut self, ctx: &Context<LibvirtPoller>, completion: Completion) {
        let Completion { host: index, job, outcome } = completion;
        let (now, timeout, backoff) = (Instant::now(), self.config.call_timeout, self.config.backoff);
        let host = &mut self.hosts[index];
        let Some(purpose) = host.complete(job, outcome.link.as_ref(), now, backoff) else { return };
        host.refresh_stuck(timeout);
        let result = outcome.answer.map_err(|error| error.for_host(&host.label));
        // A new connection is announced before what it brought.
        self.publish(ctx, index);
        match purpose {
            Purpose::Expired => {}
            Purpose::Poll(request) => {
                let polled = self.polled(ctx, index, result);
                if let Some(request) = request {
                    reply(ctx, &request, polled);
                }
            }
            Purpose::List(request) => {
                let label = self.hosts[index].label.clone();
                let listed = result.map(|answer| Domains { host: label, domains: answer.into_domains() });
                reply(ctx, &request, listed);
            }
            Purpose::Info(request, _) => reply(ctx, &request, result.map(Answer::into_info)),
            Purpose::Suspend(request, _) | Purpose::Resume(request, _) => {
                reply(ctx, &request, result.map(|_| ()));
            }
        }
    }

    /// Mails a poll's outcome: the state changes, then the domains.
    fn polled(&mut self, ctx: &Context<LibvirtPoller>, index: usize, result: Reply<Answer>) -> Reply<()> {
        let host = &mut self.hosts[index];
        match result {
            Ok(answer) => {
                let domains = answer.into_domains();
                bump(&host.counters.polls);
                for change in host.diff(&domains) {
                    tell(ctx, &self.config.recipient, host, subjects::STATE_CHANGED, change);
                }
                let domains = Domains { host: host.label.clone(), domains };
                tell(ctx, &self.config.recipient, host, subjects::DOMAINS, domains);
                Ok(())
            }
            Err(error) => {
                bump(&host.counters.poll_failures);
                tracing::warn!(host = %host.label, %error, "libvirt poll failed");
                Err(error)
            }
        }
    }

    /// Publishes the host's status, and mails it, if it changed.
    fn publish(&mut self, ctx: &Context<LibvirtPoller>, index: usize) {
        let host = &mut self.hosts[index];
        let Some(status) = host.status_change() else { return };
        match &status {
            HostStatus::Failed { error } => tracing::warn!(host = %host.label, %error, "libvirt host failing"),
            other => tracing::info!(host = %host.label, status = ?other, "libvirt host status"),
        }
        self.board.publish(index, &status);
        let changed = HostStatusChanged { host: host.label.clone(), status };
        tell(ctx, &self.config.recipient, host, subjects::HOST_STATUS, changed);
    }
}

/// Sends mail to the recipient without waiting; what cannot be queued is
/// counted and logged.
fn tell<B: Body>(ctx: &Context<LibvirtPoller>, to: &Address, host: &Host, subject: &'static str, body: B) {
    if let Err(error) = ctx.mail(to.clone(), subject, body).try_send() {
        bump(&host.counters.mail_dropped);
        tracing::warn!(host = %host.label, subject, %error, "libvirt poller mail dropped");
    }
}

/// Answers `request` without waiting. A reply to a request completes it;
/// one to plain mail is queued for the sender, and if that fails the
/// runtime counts it (a dead letter, or a rejection in the sender's stats).
fn reply<T: Body>(ctx: &Context<LibvirtPoller>, request: &Envelope, reply: Reply<T>) {
    if let Err(error) = ctx.reply(request, reply).try_send() {
        tracing::warn!(%error, "libvirt poller reply not delivered");
    }
}

/// Answers a request with `error`, in the reply type its subject promises.
fn answer_error(ctx: &Context<LibvirtPoller>, purpose: Purpose, error: LibvirtError) {
    match purpose {
        Purpose::Poll(None) | Purpose::Expired => {}
        Purpose::Poll(Some(request)) | Purpose::Suspend(request, _) | Purpose::Resume(request, _) => {
            reply::<()>(ctx, &request, Err(error));
        }
        Purpose::List(request) => reply::<Domains>(ctx, &request, Err(error)),
        Purpose::Info(request, _) => reply::<DomainInfo>(ctx, &request, Err(error)),
    }
}
