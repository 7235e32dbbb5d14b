//! The directory: who is running, who subscribes to what, who is in which
//! group, and the routing of envelopes to mailboxes.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use hashbrown::{HashMap, HashTable};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::context::Supervision;
use crate::deadlines::Deadlines;
use crate::envelope::slots::Undelivered;
use crate::error::{SendError, SpawnError};
use crate::events::{Event, EventSender};
use crate::mailbox::{FullPolicy, Mailbox, PushError, Pushed, QueueKind};
use crate::name::{NameRef, hash_of};
use crate::process::link::Link;
use crate::shutdown::Shutdown;
use crate::stats::{ActorCounters, AppStats, Counter};
use crate::supervision::{Strategy, SupervisorOptions};
use crate::supervisor::{Node, Report};
use crate::{ActorStats, Address, Envelope, ExitReason, Mode, Name};

/// What the runtime keeps of a running actor: its name, mailbox and counters.
#[derive(Debug)]
pub(crate) struct ActorCell {
    pub(crate) name: Name,
    /// The name's hash, as [`Actors`] keys it: computed once, so the table
    /// grows and forgets the actor without hashing the name again.
    hash: u64,
    pub(crate) mailbox: Mailbox,
    pub(crate) counters: ActorCounters,
    /// Aborts the actor's task: for stragglers past the shutdown timeout.
    pub(crate) abort: std::sync::OnceLock<tokio::task::AbortHandle>,
    /// Stops when the main actor stops.
    pub(crate) bound: bool,
    pub(crate) mode: Mode,
    /// Whether it ever joined a topic or group: if not, leaving the
    /// directory need not lock the topic and group maps.
    joined: AtomicBool,
    /// Its place in the start order (set when registered; kept across restarts).
    seq: AtomicU64,
    /// The supervisor that coordinates its restarts, if any: `None` under
    /// the application's one-for-one, where it restarts on its own.
    pub(crate) supervisor: Option<Arc<Node>>,
}

impl ActorCell {
    pub(crate) fn new(name: Name, capacity: usize, kind: QueueKind, policy: FullPolicy) -> Self {
        Self {
            hash: hash_of(name.as_str()),
            name,
            mailbox: Mailbox::new(capacity, kind, policy),
            counters: ActorCounters::default(),
            abort: std::sync::OnceLock::new(),
            bound: true,
            mode: Mode::Task,
            joined: AtomicBool::new(false),
            seq: AtomicU64::new(0),
            supervisor: None,
        }
    }

    /// Its place in the start order.
    pub(crate) fn seq(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    pub(crate) fn stats(&self) -> ActorStats {
        self.counters.snapshot(self.mailbox.len())
    }
}

type Members = Arc<[Arc<ActorCell>]>;

#[derive(Debug)]
struct Group {
    members: Members,
    next: AtomicUsize,
}

/// Starts a registered actor of some type; the receiver completes once its
/// `birth` is over.
pub(crate) type Launch =
    Box<dyn FnOnce(&Arc<Directory>, Arc<ActorCell>, Option<f64>, Supervision) -> oneshot::Receiver<()> + Send>;

/// An actor described with autostart off.
pub(crate) struct Dormant {
    pub(crate) cell: Arc<ActorCell>,
    pub(crate) frequency: Option<f64>,
    pub(crate) supervision: Supervision,
    pub(crate) launch: Launch,
}

impl std::fmt::Debug for Dormant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dormant").field("name", &self.cell.name).finish_non_exhaustive()
    }
}

/// Shared by every actor, context and handle of one application.
#[derive(Debug)]
pub(crate) struct Directory {
    actors: RwLock<Actors>,
    topics: RwLock<HashMap<Name, Members>>,
    groups: RwLock<HashMap<Name, Arc<Group>>>,
    dead_letters: Counter,
    late_replies: Counter,
    stopping: AtomicBool,
    /// Cancelled when the application starts stopping: wakes actors that
    /// are between incarnations.
    stopping_token: CancellationToken,
    /// The graceful shutdown, once begun.
    shutdown: std::sync::OnceLock<Arc<Shutdown>>,
    /// Hands out places in the start order.
    next_seq: AtomicU64,
    /// The application's own supervisor.
    pub(crate) root: Arc<Node>,
    /// Nested supervisors, by name.
    supervisors: std::sync::Mutex<HashMap<Name, Arc<Node>>>,
    /// Where actors report to their supervisor (see [`crate::supervisor`]).
    reports: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Report>>,
    /// The runtime the application started on (thread-mode actors run on
    /// their own; the application's own tasks go here).
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) tracker: TaskTracker,
    pub(crate) global_frequency: Option<f64>,
    pub(crate) deadlines: Arc<Deadlines>,
    pub(crate) events: EventSender,
    pub(crate) shutdown_timeout: Duration,
    /// Actors described with autostart off, waiting to be started by name.
    dormant: std::sync::Mutex<HashMap<Name, Dormant>>,
    /// The main actor: when it stops, the actors bound to it stop too.
    pub(crate) main: std::sync::OnceLock<Name>,
    /// In a process actor's child: where mail for anyone not here goes.
    pub(crate) uplink: std::sync::OnceLock<Arc<Link>>,
    /// Who pulled the emergency brake, and why; the first pull counts.
    ebrake: std::sync::Mutex<Option<(Name, String)>>,
    /// The actor whose failures exceeded its restart intensity, and its last failure.
    escalation: std::sync::Mutex<Option<(Name, ExitReason)>>,
}

/// The running actors by name, case ignored. Each cell carries its name's
/// hash: registering hashes the name once, growing the table hashes
/// nothing, and forgetting an actor finds it by identity, not by name.
#[derive(Debug, Default)]
struct Actors(HashTable<Arc<ActorCell>>);

impl Actors {
    fn get(&self, name: &str) -> Option<&Arc<ActorCell>> {
        self.0.find(hash_of(name), |cell| cell.name == name)
    }

    /// Where `cell` goes: vacant, or taken by an actor of the same name.
    fn entry(&mut self, cell: &ActorCell) -> hashbrown::hash_table::Entry<'_, Arc<ActorCell>> {
        self.0.entry(cell.hash, |other| other.name == cell.name, |other| other.hash)
    }

    /// Forgets `cell`, if it is the one registered (not a newer actor that
    /// took the name since).
    fn remove(&mut self, cell: &Arc<ActorCell>) {
        if let Ok(entry) = self.0.find_entry(cell.hash, |other| Arc::ptr_eq(other, cell)) {
            entry.remove();
        }
    }

    fn values(&self) -> impl Iterator<Item = &Arc<ActorCell>> {
        self.0.iter()
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl Directory {
    pub(crate) fn new(
        global_frequency: Option<f64>,
        events: EventSender,
        shutdown_timeout: Duration,
        strategy: Strategy,
    ) -> Self {
        Self {
            root: Node::new(Name::new(crate::app::APP_SENDER), strategy, None, 0, Supervision::default()),
            supervisors: std::sync::Mutex::default(),
            reports: std::sync::OnceLock::new(),
            shutdown_timeout,
            dormant: std::sync::Mutex::default(),
            main: std::sync::OnceLock::new(),
            events,
            ebrake: std::sync::Mutex::new(None),
            uplink: std::sync::OnceLock::new(),
            escalation: std::sync::Mutex::new(None),
            global_frequency,
            deadlines: Deadlines::start(),
            actors: RwLock::default(),
            topics: RwLock::default(),
            groups: RwLock::default(),
            dead_letters: Counter::default(),
            late_replies: Counter::default(),
            stopping: AtomicBool::new(false),
            stopping_token: CancellationToken::new(),
            shutdown: std::sync::OnceLock::new(),
            next_seq: AtomicU64::new(1),
            runtime: tokio::runtime::Handle::current(),
            tracker: TaskTracker::new(),
        }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<Arc<ActorCell>> {
        read(&self.actors).get(name).cloned()
    }

    pub(crate) fn register(&self, cell: Arc<ActorCell>) -> Result<(), SpawnError> {
        let mut actors = write(&self.actors);
        if self.stopping.load(Ordering::Relaxed) {
            return Err(SpawnError::ShuttingDown);
        }
        // One lookup: the entry is found, or its place, and filled there.
        let hashbrown::hash_table::Entry::Vacant(place) = actors.entry(&cell) else {
            return Err(SpawnError::DuplicateName(cell.name.clone()));
        };
        if self.lock_dormant().contains_key(&cell.name) {
            return Err(SpawnError::DuplicateName(cell.name.clone()));
        }
        let seq = self.next_seq();
        cell.seq.store(seq, Ordering::Relaxed);
        if let Some(node) = &cell.supervisor {
            node.add(seq, cell.clone());
        }
        place.insert(cell);
        Ok(())
    }

    /// The next place in the start order.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Declares a nested supervisor under `parent` (or the application).
    pub(crate) fn add_supervisor(&self, name: Name, options: &SupervisorOptions) -> Result<(), SpawnError> {
        let parent = match &options.parent {
            Some(parent) => self.supervisor(parent)?,
            None => self.root.clone(),
        };
        let mut supervisors = self.supervisors.lock().unwrap_or_else(PoisonError::into_inner);
        if supervisors.contains_key(&name) {
            return Err(SpawnError::DuplicateName(name));
        }
        let supervision =
            Supervision { restart: options.restart, intensity: options.intensity, backoff: options.backoff };
        let node = Node::new(name.clone(), options.strategy, Some(parent), self.next_seq(), supervision);
        supervisors.insert(name, node);
        Ok(())
    }

    fn supervisor(&self, name: &str) -> Result<Arc<Node>, SpawnError> {
        let supervisors = self.supervisors.lock().unwrap_or_else(PoisonError::into_inner);
        supervisors.get(&NameRef(name)).cloned().ok_or_else(|| SpawnError::NoSuchSupervisor(Name::new(name)))
    }

    /// The supervisor that coordinates the restarts of an actor placed
    /// `under` a supervisor (or the application): `None` when the actor can
    /// restart on its own.
    pub(crate) fn coordinator(&self, under: Option<&str>) -> Result<Option<Arc<Node>>, SpawnError> {
        match under {
            Some(name) => self.supervisor(name).map(Some),
            None if self.root.strategy == Strategy::OneForOne => Ok(None),
            None => Ok(Some(self.root.clone())),
        }
    }

    /// Starts the orchestrator that handles the supervisors' reports.
    pub(crate) fn start_orchestrator(self: &Arc<Self>) {
        let _ = self.reports.set(crate::supervisor::orchestrator(self));
    }

    /// Hands a parked actor's report to the orchestrator.
    pub(crate) fn report(&self, report: Report) {
        if let Some(reports) = self.reports.get() {
            // Fails only once the orchestrator is gone with the application.
            let _ = reports.send(report);
        }
    }

    /// Keeps an actor to be started later by name.
    pub(crate) fn add_dormant(&self, dormant: Dormant) -> Result<(), SpawnError> {
        let actors = read(&self.actors);
        let mut waiting = self.lock_dormant();
        let name = dormant.cell.name.clone();
        if actors.get(name.as_str()).is_some() || waiting.contains_key(&name) {
            return Err(SpawnError::DuplicateName(name));
        }
        waiting.insert(name, dormant);
        Ok(())
    }

    /// Starts an actor kept with autostart off; returns once its `birth` is over.
    pub(crate) async fn start_dormant(self: &Arc<Self>, name: &str) -> Result<(), SpawnError> {
        let dormant =
            self.lock_dormant().remove(&NameRef(name)).ok_or_else(|| SpawnError::NotDormant(Name::new(name)))?;
        self.register(dormant.cell.clone())?;
        let birth = (dormant.launch)(self, dormant.cell, dormant.frequency, dormant.supervision);
        // An error only means the task is gone, which its logs tell.
        let _ = birth.await;
        Ok(())
    }

    fn lock_dormant(&self) -> std::sync::MutexGuard<'_, HashMap<Name, Dormant>> {
        self.dormant.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The main actor stopped: every actor bound to it stops after the
    /// handler it is in.
    pub(crate) fn main_stopped(&self) {
        let bound: Vec<_> = read(&self.actors).values().filter(|cell| cell.bound).cloned().collect();
        if !bound.is_empty() {
            tracing::info!(actors = bound.len(), "the main actor stopped: stopping the actors bound to it");
        }
        for cell in bound {
            cell.mailbox.interrupt();
        }
    }

    /// Stops the application: no actor starts any more, and every running
    /// actor stops taking mail after the handler it is in.
    pub(crate) fn stop_all(&self) {
        // The flag is set under the write lock, so every actor registers
        // either before (and is in the snapshot) or not at all; the
        // interrupts happen after, so stopping actors can leave meanwhile.
        let running: Vec<_> = {
            let actors = write(&self.actors);
            self.stopping.store(true, Ordering::Relaxed);
            actors.values().cloned().collect()
        };
        self.stopping_token.cancel();
        for cell in running {
            cell.mailbox.interrupt();
        }
    }

    /// Shuts the application down gracefully (see [`Shutdown`]); the first
    /// call begins it, every call returns it.
    pub(crate) fn shutdown(self: &Arc<Self>) -> Arc<Shutdown> {
        let mut running = None;
        let shutdown = self.shutdown.get_or_init(|| {
            // The flag is set under the write lock, so every actor registers
            // either before (and is in the snapshot) or not at all.
            let mut cells: Vec<_> = {
                let actors = write(&self.actors);
                self.stopping.store(true, Ordering::Relaxed);
                actors.values().cloned().collect()
            };
            cells.sort_unstable_by_key(|cell| cell.seq.load(Ordering::Relaxed));
            running = Some(cells);
            Arc::new(Shutdown::default())
        });
        if let Some(running) = running {
            self.stopping_token.cancel();
            shutdown.start(self, running);
        }
        shutdown.clone()
    }

    /// Whether the application is stopping: no actor starts or restarts.
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Completes once the application starts stopping.
    pub(crate) async fn stopping(&self) {
        self.stopping_token.cancelled().await;
    }

    /// Aborts every actor still running, without `death`, and names them.
    pub(crate) fn abort_all(&self) -> Vec<Name> {
        let stragglers: Vec<_> = read(&self.actors).values().cloned().collect();
        stragglers.iter().map(|cell| self.abort(cell)).collect()
    }

    /// Aborts an actor that did not stop in time, without `death` (a
    /// thread-mode actor's thread cannot be aborted and is left to finish).
    pub(crate) fn abort(&self, cell: &ActorCell) -> Name {
        if cell.mode == Mode::Thread {
            tracing::error!(actor.name = %cell.name, "actor did not stop in time; its thread cannot be aborted and is left to finish");
        } else {
            tracing::error!(actor.name = %cell.name, "actor aborted: it did not stop in time");
        }
        if let Some(abort) = cell.abort.get() {
            abort.abort();
        }
        self.events.send(Event::Stopped { actor: cell.name.clone(), reason: ExitReason::Aborted });
        cell.name.clone()
    }

    /// Pulls the emergency brake: the first pull is recorded and announced,
    /// and every actor stops after the handler it is in. Later pulls change
    /// nothing.
    pub(crate) fn ebrake(&self, by: Name, reason: String) {
        {
            let mut pulled = self.ebrake.lock().unwrap_or_else(PoisonError::into_inner);
            if pulled.is_some() {
                return;
            }
            *pulled = Some((by.clone(), reason.clone()));
        }
        self.events.send(Event::Ebrake { by, reason });
        self.stop_all();
    }

    /// An actor failed more often than its restart intensity allows: the
    /// application stops (the first escalation counts).
    pub(crate) fn escalate(self: &Arc<Self>, actor: Name, reason: ExitReason) {
        {
            let mut escalated = self.escalation.lock().unwrap_or_else(PoisonError::into_inner);
            if escalated.is_some() {
                return;
            }
            *escalated = Some((actor.clone(), reason.clone()));
        }
        self.events.send(Event::Escalated { actor, reason });
        self.shutdown();
    }

    /// The escalation that stopped the application, if any.
    pub(crate) fn escalated(&self) -> Option<(Name, ExitReason)> {
        self.escalation.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Who pulled the emergency brake and why, if anyone did.
    pub(crate) fn ebraked(&self) -> Option<(Name, String)> {
        self.ebrake.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Removes a stopped actor from the directory, its topics and its groups.
    pub(crate) fn unregister(&self, cell: &Arc<ActorCell>) {
        {
            write(&self.actors).remove(cell);
        }
        if !cell.joined.load(Ordering::Acquire) {
            return;
        }
        write(&self.topics).retain(|_, members| {
            if members.iter().any(|m| Arc::ptr_eq(m, cell)) {
                *members = without(members, cell);
            }
            !members.is_empty()
        });
        write(&self.groups).retain(|_, group| {
            if group.members.iter().any(|m| Arc::ptr_eq(m, cell)) {
                *group = Arc::new(Group {
                    members: without(&group.members, cell),
                    next: AtomicUsize::new(group.next.load(Ordering::Relaxed)),
                });
            }
            !group.members.is_empty()
        });
    }

    /// Adds `cell` to a topic; `false` if it was subscribed already.
    pub(crate) fn subscribe(&self, topic: Name, cell: &Arc<ActorCell>) -> bool {
        cell.joined.store(true, Ordering::Release);
        let mut topics = write(&self.topics);
        let members = topics.entry(topic).or_insert_with(|| Arc::from([]));
        if members.iter().any(|m| Arc::ptr_eq(m, cell)) {
            return false;
        }
        *members = members.iter().cloned().chain([cell.clone()]).collect();
        true
    }

    /// Removes `cell` from a topic; `false` if it was not subscribed.
    pub(crate) fn unsubscribe(&self, topic: &str, cell: &Arc<ActorCell>) -> bool {
        let mut topics = write(&self.topics);
        let Some(members) = topics.get_mut(&NameRef(topic)) else { return false };
        if !members.iter().any(|m| Arc::ptr_eq(m, cell)) {
            return false;
        }
        *members = without(members, cell);
        if members.is_empty() {
            topics.remove(&NameRef(topic));
        }
        true
    }

    /// Adds `cell` to a group; `false` if it was a member already.
    pub(crate) fn join(&self, group: Name, cell: &Arc<ActorCell>) -> bool {
        cell.joined.store(true, Ordering::Release);
        let mut groups = write(&self.groups);
        let entry = groups
            .entry(group)
            .or_insert_with(|| Arc::new(Group { members: Arc::from([]), next: AtomicUsize::new(0) }));
        if entry.members.iter().any(|m| Arc::ptr_eq(m, cell)) {
            return false;
        }
        *entry = Arc::new(Group {
            members: entry.members.iter().cloned().chain([cell.clone()]).collect(),
            next: AtomicUsize::new(entry.next.load(Ordering::Relaxed)),
        });
        true
    }

    /// Removes `cell` from a group; `false` if it was not a member.
    pub(crate) fn leave(&self, group: &str, cell: &Arc<ActorCell>) -> bool {
        let mut groups = write(&self.groups);
        let Some(entry) = groups.get_mut(&NameRef(group)) else { return false };
        if !entry.members.iter().any(|m| Arc::ptr_eq(m, cell)) {
            return false;
        }
        *entry = Arc::new(Group {
            members: without(&entry.members, cell),
            next: AtomicUsize::new(entry.next.load(Ordering::Relaxed)),
        });
        if entry.members.is_empty() {
            groups.remove(&NameRef(group));
        }
        true
    }

    /// Puts `envelope` into the mailbox(es) its recipient names. With `wait`,
    /// a full mailbox whose policy is to wait makes this wait; without, it
    /// is an error.
    ///
    /// Mail to one actor that finds room is queued right here, without a
    /// future; only waiting for room, and groups, topics and everyone when
    /// waiting is allowed, return a (boxed) future. This keeps the futures
    /// of `send` and `request` small.
    pub(crate) fn route(&self, envelope: Envelope, wait: bool) -> Routed<'_> {
        if let Some(link) = self.uplink.get() {
            return self.route_up(link, envelope, wait);
        }
        let Address::Actor(name) = envelope.recipient() else {
            let many = self.route_many(envelope, wait);
            if wait {
                return Routed::Pending(Box::pin(many));
            }
            // Without waiting, routing completes in its first poll.
            return Routed::Done(
                poll_once(many).unwrap_or_else(|| unreachable!("routing without waiting never waits")),
            );
        };
        // Queue under the read lock, without touching the cell's reference
        // count (a cache line the actor also writes).
        let actors = read(&self.actors);
        let Some(cell) = actors.get(name.as_str()) else {
            drop(actors);
            return Routed::Done(Err(self.nobody(envelope)));
        };
        match cell.mailbox.try_push(envelope) {
            Err(PushError::Full(back)) if wait && cell.mailbox.policy() == FullPolicy::Wait => {
                let cell = cell.clone();
                drop(actors);
                Routed::Pending(Box::pin(async move { self.push(&cell, back, true).await }))
            }
            pushed => Routed::Done(self.account(cell, pushed)),
        }
    }

    /// In a process actor's child, the actor itself is the only one here:
    /// mail to anyone else goes to the parent, which routes it.
    fn route_up<'a>(&'a self, link: &'a Link, envelope: Envelope, wait: bool) -> Routed<'a> {
        if let Address::Actor(name) = envelope.recipient()
            && let Some(cell) = self.lookup(name.as_str())
        {
            return Routed::Pending(Box::pin(async move { self.push(&cell, envelope, wait).await }));
        }
        let sent = link.send(envelope, wait);
        if wait {
            return Routed::Pending(Box::pin(sent));
        }
        Routed::Done(poll_once(sent).unwrap_or_else(|| unreachable!("sending without waiting never waits")))
    }

    async fn route_many(&self, envelope: Envelope, wait: bool) -> Result<(), SendError> {
        match envelope.recipient() {
            Address::Actor(_) => unreachable!("actors are routed by `route`"),
            Address::Group(name) => {
                let group = read(&self.groups).get(&NameRef(name.as_str())).cloned();
                let Some(group) = group else { return Err(self.nobody(envelope)) };
                let start = group.next.fetch_add(1, Ordering::Relaxed);
                let count = group.members.len();
                let mut envelope = envelope;
                // A member that stopped meanwhile passes its turn on; the
                // mail is a dead letter only if every member has stopped.
                for i in 0..count {
                    let member = &group.members[(start + i) % count];
                    match self.push_raw(member, envelope, wait).await {
                        Err(PushError::Closed(back)) => envelope = back,
                        pushed => return self.account(member, pushed),
                    }
                }
                Err(self.nobody(envelope))
            }
            Address::Topic(name) => {
                let members = read(&self.topics).get(&NameRef(name.as_str())).cloned();
                match members {
                    Some(members) => self.push_all(&members, envelope, wait).await,
                    None => Err(self.nobody(envelope)),
                }
            }
            Address::Everyone => {
                let sender = envelope.sender();
                let members: Vec<_> = read(&self.actors).values().filter(|c| c.name != *sender).cloned().collect();
                self.push_all(&members, envelope, wait).await
            }
        }
    }

    /// A copy for each member; succeeds if at least one was queued.
    async fn push_all(&self, members: &[Arc<ActorCell>], envelope: Envelope, wait: bool) -> Result<(), SendError> {
        let Some((last, rest)) = members.split_last() else { return Err(self.nobody(envelope)) };
        let mut delivered = false;
        for member in rest {
            delivered |= self.push(member, envelope.clone(), wait).await.is_ok();
        }
        match self.push(last, envelope, wait).await {
            Err(_) if delivered => Ok(()),
            done => done,
        }
    }

    pub(crate) async fn push(&self, cell: &ActorCell, envelope: Envelope, wait: bool) -> Result<(), SendError> {
        let pushed = self.push_raw(cell, envelope, wait).await;
        self.account(cell, pushed)
    }

    async fn push_raw(&self, cell: &ActorCell, envelope: Envelope, wait: bool) -> Result<Pushed, PushError> {
        if wait { cell.mailbox.push(envelope).await } else { cell.mailbox.try_push(envelope) }
    }

    /// Counts and logs what queuing cost, and turns a refusal into a [`SendError`].
    fn account(&self, cell: &ActorCell, pushed: Result<Pushed, PushError>) -> Result<(), SendError> {
        match pushed {
            Ok(Pushed::Queued) => Ok(()),
            Ok(Pushed::Evicted(old)) => {
                cell.counters.dropped.bump();
                tracing::warn!(
                    actor.name = %cell.name, mail.id = %old.id(), mail.subject = old.subject(),
                    "mailbox full: dropped the oldest envelope"
                );
                old.set_fate(Undelivered::Dropped);
                Ok(())
            }
            Err(PushError::Full(envelope)) => {
                cell.counters.rejected.bump();
                tracing::debug!(actor.name = %cell.name, mail.id = %envelope.id(), "mailbox full: mail refused");
                Err(SendError::MailboxFull { to: envelope.recipient().clone(), envelope })
            }
            Err(PushError::Closed(envelope)) => {
                self.dead_letter(&envelope, "recipient stopped");
                Err(SendError::Stopped { to: envelope.recipient().clone(), envelope })
            }
        }
    }

    fn nobody(&self, envelope: Envelope) -> SendError {
        self.dead_letter(&envelope, "no such recipient");
        SendError::NoSuchRecipient { to: envelope.recipient().clone(), envelope }
    }

    /// Counts and logs mail that reached nobody.
    pub(crate) fn dead_letter(&self, envelope: &Envelope, why: &str) {
        self.dead_letters.bump();
        tracing::warn!(
            mail.id = %envelope.id(), mail.subject = envelope.subject(), mail.sender = %envelope.sender(),
            mail.recipient = %envelope.recipient(), reason = why, "dead letter"
        );
    }

    /// Counts and logs a reply nobody waits for any more.
    pub(crate) fn late_reply(&self, reply: &Envelope) {
        self.late_replies.bump();
        tracing::warn!(
            mail.id = %reply.id(), mail.thread = %reply.thread(), mail.recipient = %reply.recipient(),
            "late reply dropped: the request was already answered or timed out"
        );
    }

    pub(crate) fn stats(&self) -> AppStats {
        AppStats {
            dead_letters: self.dead_letters.get(),
            late_replies: self.late_replies.get(),
            actors: read(&self.actors).len(),
        }
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        self.deadlines.close();
    }
}

/// The outcome of [`Directory::route`]: done, or a wait to finish.
pub(crate) enum Routed<'a> {
    Done(Result<(), SendError>),
    Pending(Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>),
}

impl Routed<'_> {
    /// Finishes the routing, waiting if it has to.
    pub(crate) async fn finish(self) -> Result<(), SendError> {
        match self {
            Self::Done(done) => done,
            Self::Pending(waiting) => waiting.await,
        }
    }
}

/// Polls a future once with a no-op waker.
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

fn without(members: &[Arc<ActorCell>], cell: &Arc<ActorCell>) -> Members {
    members.iter().filter(|m| !Arc::ptr_eq(m, cell)).cloned().collect()
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(name: &str) -> Arc<ActorCell> {
        Arc::new(ActorCell::new(Name::new(name), 4, QueueKind::Fifo, FullPolicy::Wait))
    }

    #[test]
    fn actors_are_found_ignoring_case_and_forgotten_by_identity() {
        let mut actors = Actors::default();
        let first = cell("Worker");
        let hashbrown::hash_table::Entry::Vacant(place) = actors.entry(&first) else { panic!("empty table") };
        place.insert(first.clone());
        assert!(Arc::ptr_eq(actors.get("WORKER").expect("found ignoring case"), &first));
        assert!(actors.get("worker2").is_none());
        // Another actor of the same name finds the place taken...
        let second = cell("worker");
        assert!(matches!(actors.entry(&second), hashbrown::hash_table::Entry::Occupied(_)));
        // ...and forgetting it leaves the registered one alone.
        actors.remove(&second);
        assert_eq!(actors.len(), 1);
        actors.remove(&first);
        assert_eq!(actors.len(), 0);
        // Growing the table keeps every actor findable (hashes come from the cells).
        let many: Vec<_> = (0..100).map(|i| cell(&format!("Actor-{i}"))).collect();
        for one in &many {
            let hashbrown::hash_table::Entry::Vacant(place) = actors.entry(one) else { panic!("names differ") };
            place.insert(one.clone());
        }
        assert!(
            many.iter().all(|one| actors.get(&one.name.as_str().to_uppercase()).is_some_and(|c| Arc::ptr_eq(c, one)))
        );
    }
}
