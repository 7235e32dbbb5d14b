//! Where an actor runs.

/// Where an actor runs. Either way it is addressed, supervised and stopped
/// the same.
///
/// # Examples
///
/// ```
/// use polyceph::{ActorOptions, Mode};
///
/// // An actor whose `life` blocks (a serial port, a CPU-heavy computation).
/// let options = ActorOptions::new().mode(Mode::Thread).frequency(10.0);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// A task on the application's Tokio runtime (the default). Hooks and
    /// handlers must not block: a blocking call stalls the other actors on
    /// that worker thread.
    #[default]
    Task,
    /// Its own OS thread, with a current-thread Tokio runtime of its own,
    /// for blocking or CPU-heavy work that must not delay other actors.
    /// Costs a thread (and its stack) per actor. Tokio's paused test clock
    /// does not reach that runtime: its timers use real time. An actor in
    /// this mode that outlives the shutdown timeout is reported and left to
    /// finish, since a thread cannot be aborted.
    Thread,
    /// A child OS process: this program re-executed, running only this
    /// actor, its mail carried over a Unix socket in the
    /// [wire format](crate::wire). For work that may crash, leak or block
    /// without taking the application with it. Bodies that cross must
    /// serialize; see [`process`](crate::process) for the whole contract.
    Process,
}
