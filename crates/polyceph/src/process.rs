//! Process mode: an actor in a child OS process ([`Mode::Process`]).
//!
//! The parent re-executes its own binary (never `fork()` inside a running
//! Tokio process) with the actor's name in the environment. The child runs
//! `main` again up to [`Builder::start`] or [`Builder::run`], which there
//! starts only that actor and links its mail to the parent over a Unix
//! socket in the [wire format](crate::wire); it never returns to `main`.
//! In the parent, a proxy holds the actor's place: the same name, mailbox
//! and supervision, so from outside a process actor is like any other.
//!
//! - Mail to the actor goes over the link; mail it sends comes back and is
//!   routed in the parent. Requests and deliveries work both ways, with the
//!   same errors as in one process.
//! - Every body that crosses must serialize: [`Body`](crate::Body) requires
//!   `Serialize`, so this is checked at compile time. A body whose
//!   `Serialize` fails at run time is not sent; its sender's request or
//!   delivery fails with the encoder's message, and it is logged.
//! - The child's `life` runs in the child at the actor's frequency.
//! - A child that exits or is killed is seen at once (its socket closes and
//!   Tokio reaps it) and the proxy ends with
//!   [`ExitReason::Failed`](crate::ExitReason::Failed): the actor is
//!   restarted per its policy, in a new process. Requests it had not answered
//!   fail with [`RequestError::Lost`](crate::error::RequestError::Lost)
//!   naming the exit. Mail queued in the mailbox waits for the new process.
//! - Stopping the actor asks the child to stop: it handles what it has, runs
//!   `death` and exits. A child still running after the shutdown timeout is
//!   killed.
//! - The child dies with its parent: it asks the kernel for `SIGKILL` when
//!   the parent dies (`PR_SET_PDEATHSIG`), and stops when the link closes.
//! - The child's standard output and error are logged in the parent, line by
//!   line, with the actor's name.
//!
//! Code in `main` before the application starts runs in the child too; use
//! [`is_child`] to skip what only the parent should do. Process actors must
//! be added with [`Builder::actor`] or [`Builder::actor_with`] (the child
//! finds them there), not spawned later. Topics and groups the actor joins
//! in the child are not yet known to the parent.

mod child;
pub(crate) mod link;
mod proxy;

pub(crate) use child::serve as serve_child;
pub(crate) use proxy::launch;

#[cfg(doc)]
use crate::{Builder, Mode};

/// Names the actor a child process is to run.
const ACTOR_VAR: &str = "POLYCEPH_PROCESS_ACTOR";
/// The abstract Unix socket the child connects to.
const SOCKET_VAR: &str = "POLYCEPH_PROCESS_SOCKET";
/// The parent's pid, so the child can tell whether it was orphaned.
const PARENT_VAR: &str = "POLYCEPH_PROCESS_PARENT";

/// Whether this process is the child process of a process-mode actor.
///
/// # Examples
///
/// ```
/// if !polyceph::process::is_child() {
///     // parent-only set-up: parse options, print a banner...
/// }
/// ```
pub fn is_child() -> bool {
    std::env::var_os(ACTOR_VAR).is_some()
}

/// What the parent told a child process.
#[derive(Debug)]
pub(crate) struct ChildRole {
    actor: String,
    socket: String,
    parent: u32,
}

/// This process's role as a process actor's child, if it is one.
pub(crate) fn child_role() -> Option<ChildRole> {
    let actor = std::env::var(ACTOR_VAR).ok()?;
    let socket = std::env::var(SOCKET_VAR).unwrap_or_default();
    let parent = std::env::var(PARENT_VAR).ok().and_then(|pid| pid.parse().ok()).unwrap_or(0);
    Some(ChildRole { actor, socket, parent })
}
