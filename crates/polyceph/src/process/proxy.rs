//! The parent's side: a proxy actor that starts the child process, forwards
//! its mailbox over the link and routes what the child sends.

use std::ffi::OsString;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use super::link::{self, BORN, EXITED, Link, Side};
use super::{ACTOR_VAR, PARENT_VAR, SOCKET_VAR};
use crate::context::Supervision;
use crate::directory::{ActorCell, Directory};
use crate::envelope::{BodySlot, Pill};
use crate::error::SendError;
use crate::runner::{self, Source};
use crate::{Actor, Context, Envelope, ExitReason, Name, Result};

/// Asks the child to stop.
pub(crate) const STOP: &str = "stop";

/// Starts the proxy of a process actor in `cell`.
pub(crate) fn launch(
    directory: &Arc<Directory>,
    cell: Arc<ActorCell>,
    supervision: Supervision,
    args: Arc<[OsString]>,
) -> oneshot::Receiver<()> {
    let factory = move || Proxy { args: args.clone(), running: None };
    // The child ticks; the proxy only forwards.
    runner::launch(directory, cell, Source::factory(factory, supervision), None)
}

/// Holds a process actor's place in the parent.
struct Proxy {
    args: Arc<[OsString]>,
    running: Option<Running>,
}

/// One child process.
struct Running {
    link: Arc<Link>,
    /// Set once the child has ended: `Some(None)` if it stopped cleanly,
    /// `Some(Some(why))` if it failed, was killed or could not start.
    ended: watch::Receiver<Option<Option<String>>>,
    /// Dropping it kills the child, if it still runs.
    _kill: oneshot::Sender<()>,
}

/// What the parent's end of the link does with what it reads.
struct Parent {
    directory: Arc<Directory>,
    born: Mutex<Option<oneshot::Sender<()>>>,
    /// The failure the child reported before it exited.
    failure: Mutex<Option<String>>,
}

impl Side for Parent {
    async fn deliver(&self, envelope: Envelope) {
        // A refusal is counted and logged as a dead letter by the directory.
        let _ = self.directory.route(envelope, true).finish().await;
    }

    fn control(&self, envelope: Envelope) {
        match envelope.subject() {
            BORN => {
                if let Some(born) = self.born.lock().unwrap_or_else(PoisonError::into_inner).take() {
                    let _ = born.send(());
                }
            }
            EXITED => {
                let failure = envelope.body::<Option<String>>().ok().flatten();
                *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = failure;
            }
            other => tracing::warn!(subject = other, "unknown control envelope from the process"),
        }
    }
}

impl Actor for Proxy {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        let ended = self.start(ctx).await?;
        let state = ended.borrow().clone();
        match state {
            None => {
                ctx.fallback(Self::forward);
                Ok(())
            }
            Some(failure) => Err(failure.unwrap_or_else(|| "the process stopped during its birth".to_owned()).into()),
        }
    }

    async fn death(&mut self, ctx: &mut Context<Self>, _reason: &ExitReason) {
        let Some(running) = self.running.take() else { return };
        let mut ended = running.ended.clone();
        if ended.borrow().is_some() {
            return;
        }
        // The child handles what it has, runs `death` and exits.
        let stop = link::control(ctx.name().clone(), STOP, None, BodySlot::local(()));
        let _ = running.link.send(stop, true).await;
        let timeout = ctx.post.directory.shutdown_timeout;
        if tokio::time::timeout(timeout, ended.wait_for(Option::is_some)).await.is_err() {
            tracing::warn!(?timeout, "the process did not stop in time: killing it");
            drop(running);
            let _ = ended.wait_for(Option::is_some).await;
        }
    }
}

impl Proxy {
    /// Starts the child and waits until its `birth` is over; returns the
    /// watch of its end.
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<watch::Receiver<Option<Option<String>>>> {
        let name = ctx.name().clone();
        let (listener, socket) = listen()?;
        let mut command = tokio::process::Command::new(std::env::current_exe()?);
        command
            .args(self.args.iter())
            .env(ACTOR_VAR, name.as_str())
            .env(SOCKET_VAR, &socket)
            .env(PARENT_VAR, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let pid = child.id().ok_or("the process exited at once")?;
        tracing::debug!(pid, "process started");
        if let Some(out) = child.stdout.take() {
            tokio::spawn(log_lines(out, name.clone(), "stdout"));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(log_lines(err, name.clone(), "stderr"));
        }
        let stream = tokio::select! {
            stream = accept(&listener, pid) => stream?,
            status = child.wait() => return Err(format!("the process exited before it connected: {}", exit(status?)).into()),
        };
        drop(listener);

        let (link, read, _writer) = Link::open(stream, name.clone());
        let (born_tx, born_rx) = oneshot::channel();
        let side = Arc::new(Parent {
            directory: ctx.post.directory.clone(),
            born: Mutex::new(Some(born_tx)),
            failure: Mutex::default(),
        });
        let reader = tokio::spawn(link::read_frames(read, link.clone(), side.clone()));
        let (ended_tx, ended) = watch::channel(None);
        let (kill, killed) = oneshot::channel::<()>();
        let (cell, incarnation, watched) = (ctx.cell.clone(), ctx.incarnation(), link.clone());
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                _ = killed => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            // Its end of the socket closed with it: the reader ends once it
            // has routed everything the child wrote.
            let _ = reader.await;
            let reported = side.failure.lock().unwrap_or_else(PoisonError::into_inner).take();
            let failure = match status {
                Ok(status) if status.success() && reported.is_none() => None,
                Ok(status) => Some(reported.unwrap_or_else(|| format!("the process {}", exit(status)))),
                Err(error) => Some(format!("cannot wait for the process: {error}")),
            };
            let why = failure.as_deref().unwrap_or("the process stopped");
            watched.fail_pending(&format!("{why} before answering"));
            drop(watched);
            tracing::debug!(pid, failure = failure.as_deref(), "process ended");
            let mut notice = link::control(cell.name.clone(), "ended", None, BodySlot::local(()));
            notice.make_pill(Pill::Ended { incarnation, failure: failure.clone() });
            let _ = cell.mailbox.push_notice(notice);
            let _ = ended_tx.send(Some(failure));
        });
        self.running = Some(Running { link, ended: ended.clone(), _kill: kill });

        let mut waiting = ended.clone();
        let born = tokio::select! {
            born = born_rx => born.is_ok(),
            _ = waiting.wait_for(Option::is_some) => true,
        };
        if !born {
            // The link closed without a word: the end is near.
            let _ = ended.clone().wait_for(Option::is_some).await;
        }
        Ok(ended)
    }

    /// Sends mail on to the child. If the child is gone, the mail goes back
    /// to the front of the queue for the next one, and this incarnation ends.
    async fn forward(&mut self, ctx: &mut Context<Self>, mut mail: Envelope) -> Result<()> {
        let Some(running) = &self.running else { return Err("no process".into()) };
        // A delivery is acknowledged when the child has handled it, not now.
        mail.hand_over_ack();
        // Gone is known before `ended` is set: from then on, mail waits for
        // the next process. (Mail that passes this check as the process dies
        // is failed with the exit's reason by the link, never lost quietly.)
        let gone = running.link.is_gone() || running.ended.borrow().is_some();
        let refused = if gone {
            Some(mail)
        } else {
            match running.link.send(mail, true).await {
                Ok(()) => None,
                Err(SendError::Stopped { envelope, .. }) => Some(envelope),
                Err(other) => return Err(other.into()),
            }
        };
        if let Some(mail) = refused {
            ctx.stash.push_front(mail);
            let mut ended = running.ended.clone();
            let failure = ended.wait_for(Option::is_some).await.ok().and_then(|e| e.clone()).flatten();
            ctx.fail(ExitReason::Failed(failure.unwrap_or_else(|| "the process stopped".to_owned())));
        }
        Ok(())
    }
}

/// Listens on a new abstract Unix socket (no file to clean up); returns it
/// and its name.
fn listen() -> std::io::Result<(UnixListener, String)> {
    let name = format!("polyceph-{}-{}", std::process::id(), Uuid::new_v4().simple());
    let listener = std::os::unix::net::UnixListener::bind_addr(&SocketAddr::from_abstract_name(&name)?)?;
    listener.set_nonblocking(true)?;
    Ok((UnixListener::from_std(listener)?, name))
}

/// Accepts the child's connection, checked by its process id: another
/// process that found the socket's name is turned away.
async fn accept(listener: &UnixListener, pid: u32) -> std::io::Result<UnixStream> {
    loop {
        let (stream, _) = listener.accept().await?;
        let peer = stream.peer_cred()?.pid();
        if peer == i32::try_from(pid).ok() {
            return Ok(stream);
        }
        tracing::warn!(?peer, expected = pid, "a stranger connected to the process socket: refused");
    }
}

/// Logs each line the child writes, with the actor's name.
async fn log_lines(output: impl AsyncRead + Unpin, actor: Name, stream: &'static str) {
    let mut lines = BufReader::new(output).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(actor.name = %actor, stream, "{line}");
    }
}

/// How a process ended, in words.
fn exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => match nix::sys::signal::Signal::try_from(signal) {
            Ok(name) => format!("was killed by signal {signal} ({name})"),
            Err(_) => format!("was killed by signal {signal}"),
        },
        (None, None) => format!("ended ({status})"),
    }
}
