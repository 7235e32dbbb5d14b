//! One host's calls, in order, one at a time, off the async workers.
//!
//! The poller never waits for libvirt: it submits a [`Job`] to the host's
//! [`Worker`] and carries on. The worker runs its jobs on a thread of Tokio's
//! blocking pool (`spawn_blocking`), borrowed only while there is work: the
//! thread drains the queue and returns it when the queue is empty. So a host
//! has at most one call under way, a host that hangs holds one thread (its
//! queue waits behind it), and an idle host holds none. Each outcome goes
//! back through the [`Outbox`] and wakes the poller.
//!
//! While the blocking thread runs, Tokio's paused test clock does not
//! advance on its own; this is what lets tests of the poll frequency run on
//! paused time.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;

use crate::session::{Call, Outcome, Session};
use crate::wake::Doorbell;

/// A job's number, unique within one poller.
pub(crate) type JobId = u64;

/// A call to make, and whether it may open a connection first.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) id: JobId,
    pub(crate) call: Call,
    pub(crate) may_connect: bool,
}

/// A finished job.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) host: usize,
    pub(crate) job: JobId,
    pub(crate) outcome: Outcome,
}

/// Where finished jobs go: a channel the poller empties when it wakes.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<Completion>,
    doorbell: Doorbell,
}

impl Outbox {
    pub(crate) fn new(doorbell: Doorbell) -> (Self, mpsc::UnboundedReceiver<Completion>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx, doorbell }, rx)
    }

    fn deliver(&self, completion: Completion) {
        // Fails only once the poller is gone: nobody is left to tell.
        if self.tx.send(completion).is_ok() {
            self.doorbell.ring();
        }
    }
}

/// Runs one host's jobs.
#[derive(Debug)]
pub(crate) struct Worker {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    host: usize,
    queue: Mutex<Queue>,
    session: Mutex<Session>,
    outbox: Outbox,
}

#[derive(Debug, Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// A blocking thread is draining the queue.
    draining: bool,
}

impl Worker {
    pub(crate) fn new(host: usize, session: Session, outbox: Outbox) -> Self {
        let queue = Mutex::new(Queue::default());
        Self { shared: Arc::new(Shared { host, queue, session: Mutex::new(session), outbox }) }
    }

    /// Queues `job`, borrowing a blocking thread if none is draining.
    pub(crate) fn submit(&self, job: Job) {
        let mut queue = lock(&self.shared.queue);
        queue.jobs.push_back(job);
        if !queue.draining {
            queue.draining = true;
            drop(queue);
            let shared = self.shared.clone();
            drop(tokio::task::spawn_blocking(move || drain(&shared)));
        }
    }

    /// Takes back a job that has not started; `None` if it has (or is done).
    pub(crate) fn withdraw(&self, id: JobId) -> Option<Job> {
        let mut queue = lock(&self.shared.queue);
        let at = queue.jobs.iter().position(|job| job.id == id)?;
        queue.jobs.remove(at)
    }
}

impl Drop for Worker {
    /// Drops the jobs not started, and closes the connection on a thread of
    /// its own: closing a remote connection is a call, which may block, and
    /// the poller goes away on an async worker.
    fn drop(&mut self) {
        lock(&self.shared.queue).jobs.clear();
        let shared = self.shared.clone();
        let closing = std::thread::Builder::new()
            .name("libvirt-close".to_owned())
            // Waits for a call under way to return first.
            .spawn(move || lock(&shared.session).close());
        if let Err(error) = closing {
            tracing::warn!(%error, "libvirt poller: no thread to close a connection; it closes when its last call returns");
        }
    }
}

/// Runs queued jobs until the queue is empty.
fn drain(shared: &Shared) {
    let mut session = lock(&shared.session);
    let _unstick = Unstick(shared);
    loop {
        let job = {
            let mut queue = lock(&shared.queue);
            let job = queue.jobs.pop_front();
            // Under the lock: a job submitted from now on starts a new drain.
            queue.draining = job.is_some();
            job
        };
        let Some(job) = job else { return };
        let outcome = session.run(&job.call, job.may_connect);
        shared.outbox.deliver(Completion { host: shared.host, job: job.id, outcome });
    }
}

/// If a call panics, lets the next job start a new drain. (The job that
/// panicked never completes: the poller times it out.)
struct Unstick<'a>(&'a Shared);

impl Drop for Unstick<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            lock(&self.0.queue).draining = false;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
