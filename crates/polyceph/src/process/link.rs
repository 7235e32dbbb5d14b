//! The link between a process actor's child and its parent: envelopes in
//! length-delimited msgpack frames over a Unix socket, both ways.
//!
//! Both ends work alike, each with a [`Peer`] for the other: requests (and
//! deliveries waiting for an acknowledgement) that cross the link wait
//! there until the far side answers, and a request that arrives gets a
//! reply slot whose answer goes back over the link. So `request`, `deliver`
//! and their errors work across processes as they do within one.

use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::{Buf, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Notify;
use tokio_util::codec::{Decoder, Encoder};

use crate::error::SendError;
use crate::remote::{Incoming, Peer};
use crate::wire::EnvelopeCodec;
use crate::{Envelope, Name};

pub(crate) use crate::remote::{CONTROL as LINK, control};

/// Control subjects.
pub(crate) const BORN: &str = "born";
pub(crate) const EXITED: &str = "exited";

/// How many encoded bytes may wait for the socket before senders wait.
/// Answers to the far side's requests do not wait: the far side bounds
/// how many it asks at once.
const QUEUE_BYTES: usize = 1 << 20;

/// One end of the link.
#[derive(Debug)]
pub(crate) struct Link {
    out: Arc<Outbox>,
    peer: Arc<Peer>,
    /// Who is on the far side, for logs: the process actor's name.
    pub(crate) actor: Name,
}

/// The sending half. Whoever sends encodes the envelope and writes it to
/// the socket at once, without a task in between; only what the socket
/// does not take right away is left to the flusher task, which writes it
/// when the socket has room. One lock keeps frames whole and in order.
#[derive(Debug)]
struct Outbox {
    socket: OwnedWriteHalf,
    state: Mutex<Out>,
    /// Wakes the flusher: bytes wait, or the link closes.
    flush: Notify,
    /// Wakes senders that wait for room.
    room: Notify,
    actor: Name,
}

#[derive(Debug)]
struct Out {
    codec: EnvelopeCodec,
    /// Frames the socket has not taken yet.
    pending: BytesMut,
    /// Closed ([`Link::close`], or the socket failed): nothing more is
    /// accepted, and the flusher ends once `pending` is written.
    closed: bool,
}

impl Link {
    /// Splits `stream` into this end's sending half, with its flusher task
    /// (spawned; it ends once the link is closed and everything written),
    /// and the read half, which the caller reads with [`read_frames`].
    pub(crate) fn open(stream: UnixStream, actor: Name) -> (Arc<Self>, OwnedReadHalf, tokio::task::JoinHandle<()>) {
        let (read, socket) = stream.into_split();
        let out = Arc::new(Outbox {
            socket,
            state: Mutex::new(Out { codec: EnvelopeCodec::new(), pending: BytesMut::new(), closed: false }),
            flush: Notify::new(),
            room: Notify::new(),
            actor: actor.clone(),
        });
        let flusher = tokio::spawn(flush(out.clone()));
        let peer = Arc::new(Peer::new(format!("process {actor}")));
        (Arc::new(Self { out, peer, actor }), read, flusher)
    }

    /// Writes `envelope` to the far side, waiting for room if `wait` and
    /// more than [`QUEUE_BYTES`] are still unwritten (without `wait`, that
    /// is [`SendError::MailboxFull`]). Completes in its first poll unless it
    /// waits for room.
    pub(crate) async fn send(&self, mut envelope: Envelope, wait: bool) -> Result<(), SendError> {
        loop {
            let mut room = pin!(self.out.room.notified());
            {
                let out = self.out.lock();
                if out.closed {
                    drop(out);
                    tracing::warn!(actor.name = %self.actor, mail.id = %envelope.id(), "process link closed: mail not sent");
                    return Err(SendError::Stopped { to: envelope.recipient().clone(), envelope });
                }
                if out.pending.len() < QUEUE_BYTES {
                    drop(out);
                    // Registered before it is written: the answer may come
                    // at once. (Outside the lock: a far side found gone
                    // fails the envelope's slots, which may write here.)
                    if self.peer.outgoing(&mut envelope).is_ok()
                        && let Err(error) = self.out.write(&envelope)
                    {
                        tracing::warn!(actor.name = %self.actor, mail.id = %envelope.id(), %error, "mail not sent to the process");
                        self.peer.unsent(&envelope, &error.to_string());
                    }
                    return Ok(());
                }
                if !wait {
                    drop(out);
                    return Err(SendError::MailboxFull { to: envelope.recipient().clone(), envelope });
                }
                room.as_mut().enable();
            }
            room.await;
        }
    }

    /// A writer of answers to the far side's requests, for
    /// [`Peer::incoming_then`]: it never waits for room.
    fn answers(&self) -> impl FnOnce(Envelope) + Send + Sync + 'static {
        let out = self.out.clone();
        move |answer| {
            if let Err(error) = out.write(&answer) {
                tracing::warn!(actor.name = %out.actor, mail.id = %answer.id(), %error, "answer not sent to the process");
            }
        }
    }

    /// Writes what is queued, then closes the link.
    pub(crate) fn close(&self) {
        self.out.close();
    }

    /// Whether the far side is known to be gone ([`Link::fail_pending`]).
    pub(crate) fn is_gone(&self) -> bool {
        self.peer.is_gone()
    }

    /// Everything still waiting for the far side learns it never will.
    pub(crate) fn fail_pending(&self, why: &str) {
        self.peer.fail_pending(why);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Answers still owed keep the outbox; the flusher ends with them.
        self.out.close();
    }
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, Out> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encodes `envelope` and writes it, or leaves it to the flusher. An
    /// envelope that cannot be encoded is an error and nothing is written;
    /// one for a closed link is dropped (the far side is gone).
    fn write(&self, envelope: &Envelope) -> std::io::Result<()> {
        let mut out = self.lock();
        if out.closed {
            return Ok(());
        }
        let Out { codec, pending, .. } = &mut *out;
        let behind = !pending.is_empty();
        codec.encode(envelope, pending)?;
        // Bytes already waiting mean the socket is full and the flusher
        // has been woken: it writes this frame with them.
        if !behind {
            self.try_write(&mut out);
        }
        Ok(())
    }

    /// Writes what the socket takes now; leaves the rest to the flusher.
    fn try_write(&self, out: &mut Out) {
        while !out.pending.is_empty() {
            match self.socket.try_write(&out.pending) {
                Ok(n) => out.pending.advance(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.flush.notify_one();
                    return;
                }
                Err(error) => {
                    self.broken(out, &error);
                    return;
                }
            }
        }
    }

    /// The socket failed: what waits is dropped (the far side is gone, and
    /// its reader fails what waits for it), and nothing more is accepted.
    fn broken(&self, out: &mut Out, error: &std::io::Error) {
        tracing::debug!(actor.name = %self.actor, %error, "process link broken");
        out.pending.clear();
        out.closed = true;
        self.flush.notify_one();
        self.room.notify_waiters();
    }

    fn close(&self) {
        self.lock().closed = true;
        self.flush.notify_one();
        self.room.notify_waiters();
    }
}

/// Writes what the senders left when the socket was full; once the link is
/// closed and all is written, shuts the socket's write side, which the far
/// side reads as the end.
async fn flush(out: Arc<Outbox>) {
    loop {
        out.flush.notified().await;
        loop {
            {
                let state = out.lock();
                if state.pending.is_empty() {
                    out.room.notify_waiters();
                    if state.closed {
                        drop(state);
                        let _ = socket2::SockRef::from(out.socket.as_ref()).shutdown(std::net::Shutdown::Write);
                        return;
                    }
                    break;
                }
            }
            if let Err(error) = out.socket.writable().await {
                out.broken(&mut out.lock(), &error);
                continue;
            }
            let mut state = out.lock();
            out.try_write(&mut state);
            if state.pending.len() < QUEUE_BYTES {
                out.room.notify_waiters();
            }
        }
    }
}

/// What each end does with what it reads.
pub(crate) trait Side: Send + Sync + 'static {
    /// Mail for this end, already given its reply or acknowledgement slot.
    fn deliver(&self, envelope: Envelope) -> impl Future<Output = ()> + Send;
    /// A control envelope that answers nothing pending (`born`, `exited`).
    fn control(&self, envelope: Envelope);
}

/// Reads frames until the far side closes the link (or it breaks).
pub(crate) async fn read_frames(mut read: OwnedReadHalf, link: Arc<Link>, side: Arc<impl Side>) {
    let mut codec = EnvelopeCodec::new();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    loop {
        let (items, end) = match read.read_buf(&mut buf).await {
            Ok(0) => (codec.decode_eof(&mut buf), true),
            Ok(_) => (codec.decode(&mut buf), false),
            Err(error) => {
                tracing::debug!(actor.name = %link.actor, %error, "process link broken");
                return;
            }
        };
        let mut item = items;
        loop {
            match item {
                Ok(Some(Ok(envelope))) => receive(&link, &side, envelope).await,
                Ok(Some(Err(error))) => {
                    tracing::warn!(actor.name = %link.actor, %error, "bad frame from the process link, skipped");
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(actor.name = %link.actor, %error, "process link broken");
                    return;
                }
            }
            item = if end { codec.decode_eof(&mut buf) } else { codec.decode(&mut buf) };
        }
        if end {
            return;
        }
    }
}

async fn receive(link: &Arc<Link>, side: &Arc<impl Side>, envelope: Envelope) {
    match link.peer.incoming_then(envelope, link.answers()) {
        Incoming::Settled => {}
        Incoming::Control(envelope) => side.control(envelope),
        // The answer is written out where it is given: `incoming_then`.
        Incoming::Mail { envelope, answer: _ } => side.deliver(envelope).await,
    }
}
