//! The child's side: runs the one actor and links it to the parent.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixStream;

use super::ChildRole;
use super::link::{self, BORN, EXITED, LINK, Link, Side};
use super::proxy::STOP;
use crate::directory::{ActorCell, Directory};
use crate::envelope::BodySlot;
use crate::error::BoxError;
use crate::{AppHandle, Builder, Envelope, Event, Events, ExitReason, Name};

/// How long the child waits for its last frames to be written.
const FLUSH: Duration = Duration::from_secs(2);

/// Runs this process as the child of a process actor, then exits: with
/// status 0 if the actor stopped normally, 1 if it failed (having told the
/// parent why), 2 if it could not start.
pub(crate) async fn serve(builder: Builder, role: ChildRole) -> ! {
    let code = match run(builder, &role).await {
        Ok(None) => 0,
        Ok(Some(failure)) => {
            tracing::error!(actor.name = role.actor, %failure, "process actor failed");
            1
        }
        Err(error) => {
            tracing::error!(actor.name = role.actor, %error, "process actor cannot start");
            eprintln!("polyceph: process actor {} cannot start: {error}", role.actor);
            2
        }
    };
    std::process::exit(code)
}

/// Runs the actor until it stops; its failure, if it failed.
async fn run(builder: Builder, role: &ChildRole) -> Result<Option<String>, BoxError> {
    die_with_parent(role.parent)?;
    let addr = SocketAddr::from_abstract_name(&role.socket)?;
    let stream = std::os::unix::net::UnixStream::connect_addr(&addr)?;
    stream.set_nonblocking(true)?;
    let stream = UnixStream::from_std(stream)?;

    let name = Name::new(&role.actor);
    let builder = builder.into_child(&role.actor)?;
    let mut events = builder.events();
    let (link, read, writer) = Link::open(stream, name.clone());
    let app = builder.start_linked(link.clone()).await?;
    // Born, or stopped in `birth`: then the parent hears why, and no `born`.
    let failure = match next_end(&mut events, &name, true).await {
        Some(reason) => Some(failure(&reason).unwrap_or_else(|| "the actor stopped during its birth".to_owned())),
        None => {
            let directory = app.directory().clone();
            let cell = directory.lookup(name.as_str()).ok_or("the actor stopped during its birth")?;
            let side = Arc::new(Child { directory, cell, app: app.clone() });
            let reader = tokio::spawn({
                let link = link.clone();
                async move {
                    link::read_frames(read, link, side).await;
                    // The parent closed the link, or died: stop.
                    app.shutdown().await;
                }
            });
            link.send(link::control(Name::new(LINK), BORN, None, BodySlot::local(())), true).await?;
            let reason = next_end(&mut events, &name, false).await.unwrap_or(ExitReason::Normal);
            reader.abort();
            failure(&reason)
        }
    };
    let exited = link::control(Name::new(LINK), EXITED, None, BodySlot::local(failure.clone()));
    let _ = link.send(exited, true).await;
    link.close();
    let _ = tokio::time::timeout(FLUSH, writer).await;
    Ok(failure)
}

/// Waits for the actor's `Stopped` event (its reason), or, if `or_started`,
/// for its `Started` event (`None`).
async fn next_end(events: &mut Events, name: &Name, or_started: bool) -> Option<ExitReason> {
    loop {
        match events.next().await {
            Some(Event::Started { actor }) if or_started && actor == *name => return None,
            Some(Event::Stopped { actor, reason }) if actor == *name => return Some(reason),
            Some(_) => {}
            None => return Some(ExitReason::Normal),
        }
    }
}

/// Why the actor failed, for the parent's `ExitReason::Failed`; `None` if
/// it stopped normally.
fn failure(reason: &ExitReason) -> Option<String> {
    match reason {
        ExitReason::Normal | ExitReason::Shutdown => None,
        ExitReason::Failed(why) => Some(why.clone()),
        other => Some(other.to_string()),
    }
}

/// Dies when the parent dies (the kernel sends `SIGKILL`); exits at once if
/// the parent is gone already.
fn die_with_parent(parent: u32) -> Result<(), BoxError> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
    if u32::try_from(nix::unistd::getppid().as_raw()).ok() != Some(parent) {
        return Err("the parent process is gone".into());
    }
    Ok(())
}

/// What the child's end of the link does with what it reads.
struct Child {
    directory: Arc<Directory>,
    cell: Arc<ActorCell>,
    app: AppHandle,
}

impl Side for Child {
    async fn deliver(&self, envelope: Envelope) {
        // Everything the parent sends is for this one actor.
        let _ = self.directory.push(&self.cell, envelope, true).await;
    }

    fn control(&self, envelope: Envelope) {
        match envelope.subject() {
            STOP => {
                let app = self.app.clone();
                tokio::spawn(async move { app.shutdown().await });
            }
            other => tracing::warn!(subject = other, "unknown control envelope from the parent"),
        }
    }
}
