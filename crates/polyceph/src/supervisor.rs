//! Supervisors with a strategy: which siblings restart with a failed child,
//! and nested supervisors that fail and restart as one.
//!
//! An actor restarts itself (see the runner) when its supervisor is the
//! application with [`Strategy::OneForOne`]: nothing else is involved, and
//! it costs nothing. Otherwise its cell names a [`Node`]. When such an
//! actor is to restart, or has failed past its intensity, it *parks*: it
//! leaves a [`Go`] sender with its node and reports to the application's
//! one orchestrator task. The orchestrator handles reports one at a time:
//! it stops the siblings the strategy names (last started first, each
//! after the handler it is in) until they have parked too, then starts
//! them in start order, each `birth` over before the next.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

use crate::context::Supervision;
use crate::directory::{ActorCell, Directory};
use crate::events::Event;
use crate::supervision::{Restart, RestartWindow, Strategy};
use crate::{ExitReason, Name};

/// A supervisor: the application's (when its strategy is not one-for-one)
/// or a nested one.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) name: Name,
    pub(crate) strategy: Strategy,
    /// `None` for the application's own.
    parent: Option<Arc<Node>>,
    /// Its place among its parent's children.
    seq: u64,
    /// How its parent restarts it.
    supervision: Supervision,
    window: Mutex<RestartWindow>,
    state: Mutex<NodeState>,
    /// Notified when a child parks or leaves.
    changed: Notify,
}

#[derive(Debug, Default)]
struct NodeState {
    /// Children by place in the start order.
    children: BTreeMap<u64, Child>,
    /// Children waiting to be started again.
    parked: HashMap<u64, oneshot::Sender<Go>>,
}

#[derive(Debug, Clone)]
enum Child {
    Actor(Arc<ActorCell>),
    Node(Arc<Node>),
}

/// What tells a parked actor to start a new incarnation.
#[derive(Debug)]
pub(crate) struct Go {
    /// Resets its restart window: its supervisor restarted as a whole.
    pub(crate) fresh: bool,
    /// Told once `birth` is over.
    pub(crate) born: oneshot::Sender<()>,
}

/// A parked child's report to the orchestrator.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) node: Arc<Node>,
    pub(crate) seq: u64,
    pub(crate) actor: Name,
    pub(crate) reason: ExitReason,
    /// Its failures exceeded its intensity: its supervisor fails.
    pub(crate) escalate: bool,
}

impl Node {
    pub(crate) fn new(
        name: Name,
        strategy: Strategy,
        parent: Option<Arc<Node>>,
        seq: u64,
        supervision: Supervision,
    ) -> Arc<Self> {
        let node = Arc::new(Self {
            name,
            strategy,
            parent,
            seq,
            supervision,
            window: Mutex::default(),
            state: Mutex::default(),
            changed: Notify::new(),
        });
        if let Some(parent) = &node.parent {
            lock(&parent.state).children.insert(seq, Child::Node(node.clone()));
        }
        node
    }

    pub(crate) fn add(&self, seq: u64, cell: Arc<ActorCell>) {
        lock(&self.state).children.insert(seq, Child::Actor(cell));
    }

    /// The actor at `seq` stopped for good.
    pub(crate) fn remove(&self, seq: u64) {
        {
            let mut state = lock(&self.state);
            state.children.remove(&seq);
            state.parked.remove(&seq);
        }
        self.changed.notify_waiters();
    }

    /// The actor at `seq` waits to be started again; it is told on `go`.
    pub(crate) fn park(&self, seq: u64, go: oneshot::Sender<Go>) {
        lock(&self.state).parked.insert(seq, go);
        self.changed.notify_waiters();
    }

    fn is_parked_or_gone(&self, seq: u64) -> bool {
        let state = lock(&self.state);
        state.parked.contains_key(&seq) || !state.children.contains_key(&seq)
    }

    fn children(&self) -> Vec<(u64, Child)> {
        lock(&self.state).children.iter().map(|(seq, child)| (*seq, child.clone())).collect()
    }
}

/// Starts the application's orchestrator; reports go to the sender.
pub(crate) fn orchestrator(directory: &Arc<Directory>) -> mpsc::UnboundedSender<Report> {
    let (reports, mut received) = mpsc::unbounded_channel::<Report>();
    let weak = Arc::downgrade(directory);
    directory.runtime.spawn(async move {
        while let Some(report) = received.recv().await {
            // The directory holds the sender: this task ends with it.
            let Some(directory) = Weak::upgrade(&weak) else { return };
            if !directory.is_stopping() {
                Orchestrator { directory }.handle(report).await;
            }
        }
    });
    reports
}

struct Orchestrator {
    directory: Arc<Directory>,
}

impl Orchestrator {
    async fn handle(&self, report: Report) {
        // A report from a child restarted meanwhile (by a sibling's
        // failure) is already dealt with.
        if !lock(&report.node.state).parked.contains_key(&report.seq) {
            return;
        }
        if report.escalate {
            self.node_failed(report.node, report.actor, report.reason).await;
        } else {
            self.restart(&report.node, report.seq, &report.actor).await;
        }
    }

    /// Restarts the children of `node` its strategy names for a failure of
    /// the child at `seq` (already parked).
    async fn restart(&self, node: &Arc<Node>, seq: u64, after: &Name) {
        let children = node.children();
        let set: Vec<_> = match node.strategy {
            Strategy::OneForOne => children.into_iter().filter(|(s, _)| *s == seq).collect(),
            Strategy::OneForAll => children,
            Strategy::RestForOne => children.into_iter().filter(|(s, _)| *s >= seq).collect(),
        };
        for (seq, child) in set.iter().rev() {
            self.stop(node, *seq, child).await;
        }
        self.directory.events.send(Event::SupervisorRestarted { supervisor: node.name.clone(), after: after.clone() });
        for (seq, child) in &set {
            Box::pin(self.start(node, *seq, child, false)).await;
        }
    }

    /// Stops a child of `node` for a restart: an actor after the handler it
    /// is in, a nested supervisor's children last started first.
    async fn stop(&self, node: &Node, seq: u64, child: &Child) {
        match child {
            Child::Actor(cell) => {
                let parked = async {
                    loop {
                        let changed = node.changed.notified();
                        tokio::pin!(changed);
                        changed.as_mut().enable();
                        if node.is_parked_or_gone(seq) {
                            return;
                        }
                        cell.mailbox.recycle();
                        changed.await;
                    }
                };
                if tokio::time::timeout(self.directory.shutdown_timeout, parked).await.is_err() {
                    tracing::error!(actor.name = %cell.name, "did not stop for its supervisor's restart in time");
                    self.directory.abort(cell);
                }
            }
            Child::Node(nested) => {
                for (seq, child) in nested.children().iter().rev() {
                    Box::pin(self.stop(nested, *seq, child)).await;
                }
            }
        }
    }

    /// Starts a stopped child of `node` again; waits for its `birth`.
    async fn start(&self, node: &Node, seq: u64, child: &Child, fresh: bool) {
        match child {
            Child::Actor(_) => {
                let Some(go) = lock(&node.state).parked.remove(&seq) else { return };
                let (born, birth_over) = oneshot::channel();
                if go.send(Go { fresh, born }).is_ok() {
                    let _ = birth_over.await;
                }
            }
            Child::Node(nested) => {
                for (seq, child) in &nested.children() {
                    Box::pin(self.start(nested, *seq, child, true)).await;
                }
            }
        }
    }

    /// `node` gives up after `actor` failed past its intensity: its
    /// children stop, and its parent restarts it or fails in turn.
    async fn node_failed(&self, node: Arc<Node>, actor: Name, reason: ExitReason) {
        for (seq, child) in node.children().iter().rev() {
            self.stop(&node, *seq, child).await;
        }
        let Some(parent) = node.parent.clone() else {
            // The application's own supervisor: the application stops.
            self.directory.escalate(actor, reason);
            return;
        };
        tracing::error!(supervisor = %node.name, actor.name = %actor, %reason, "supervisor failed: a child exceeded its restart intensity");
        let supervision = node.supervision;
        if supervision.restart == Restart::Never {
            // Its parked children are told nothing: they stop for good.
            lock(&node.state).parked.clear();
            return;
        }
        let delay = lock(&node.window).admit(Instant::now(), supervision.intensity, supervision.backoff);
        let Some(delay) = delay else {
            return Box::pin(self.node_failed(parent, node.name.clone(), reason)).await;
        };
        if !delay.is_zero() {
            self.back_off(delay).await;
        }
        self.restart(&parent, node.seq, &node.name).await;
    }

    async fn back_off(&self, delay: Duration) {
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = self.directory.stopping() => {}
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
