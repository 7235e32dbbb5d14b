//! The link between a process actor's child and its parent: envelopes in
//! length-delimited msgpack frames over a Unix socket, both ways.
//!
//! Both ends work alike. Requests (and deliveries waiting for an
//! acknowledgement) that cross the link wait in `pending`, keyed by their
//! id, until the far side answers: with the reply itself, or with a control
//! envelope from [`LINK`] saying `acked` or `undelivered`. A request that
//! arrives is given a reply slot of its own, whose answer goes back over
//! the link. So `request`, `deliver` and their errors work across
//! processes as they do within one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{Decoder, Encoder};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::envelope::slots::{Slots, Undelivered};
use crate::envelope::{BodySlot, Expects};
use crate::error::SendError;
use crate::wire::EnvelopeCodec;
use crate::{Envelope, Name};

/// The sender of the link's own control envelopes. Not a valid actor name,
/// and only honoured on the link itself (a peer on another wire sending
/// as `$link` gets nothing from it).
pub(crate) const LINK: &str = "$link";

/// Control subjects.
pub(crate) const BORN: &str = "born";
pub(crate) const EXITED: &str = "exited";
const ACKED: &str = "acked";
const UNDELIVERED: &str = "undelivered";

/// How many envelopes may wait for the writer before senders wait.
const QUEUE: usize = 1024;

/// Requests and deliveries sent over the link, waiting for an answer; once
/// the far side is gone, why (and nothing waits any more).
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    map: HashMap<Uuid, Envelope>,
    gone: Option<String>,
}

pub(crate) type Pending = Mutex<Waiting>;

/// One end of the link.
#[derive(Debug)]
pub(crate) struct Link {
    tx: mpsc::Sender<Envelope>,
    /// Tells the writer to finish what is queued and close.
    closing: CancellationToken,
    pending: Arc<Pending>,
    /// Who is on the far side, for logs: the process actor's name.
    pub(crate) actor: Name,
}

impl Link {
    /// Splits `stream` into this end's writer task (spawned) and the read
    /// half, which the caller reads with [`read_frames`].
    pub(crate) fn open(stream: UnixStream, actor: Name) -> (Arc<Self>, OwnedReadHalf, tokio::task::JoinHandle<()>) {
        let (read, write) = stream.into_split();
        let (tx, rx) = mpsc::channel(QUEUE);
        let pending = Arc::new(Pending::default());
        let closing = CancellationToken::new();
        let writer = tokio::spawn(write_frames(rx, write, pending.clone(), actor.clone(), closing.clone()));
        (Arc::new(Self { tx, closing, pending, actor }), read, writer)
    }

    /// Queues `envelope` for the far side, waiting for room if `wait`.
    pub(crate) async fn send(&self, envelope: Envelope, wait: bool) -> Result<(), SendError> {
        let sent = if wait {
            self.tx.send(envelope).await.map_err(|e| (e.0, true))
        } else {
            self.tx.try_send(envelope).map_err(|e| match e {
                mpsc::error::TrySendError::Full(envelope) => (envelope, false),
                mpsc::error::TrySendError::Closed(envelope) => (envelope, true),
            })
        };
        match sent {
            Ok(()) => Ok(()),
            Err((envelope, true)) => {
                tracing::warn!(actor.name = %self.actor, mail.id = %envelope.id(), "process link closed: mail not sent");
                Err(SendError::Stopped { to: envelope.recipient().clone(), envelope })
            }
            Err((envelope, false)) => Err(SendError::MailboxFull { to: envelope.recipient().clone(), envelope }),
        }
    }

    /// Writes what is queued, then closes the link.
    pub(crate) fn close(&self) {
        self.closing.cancel();
    }

    /// Whether the far side is known to be gone ([`Link::fail_pending`]).
    pub(crate) fn is_gone(&self) -> bool {
        lock(&self.pending).gone.is_some()
    }

    /// Everything still waiting for the far side learns it never will.
    pub(crate) fn fail_pending(&self, why: &str) {
        fail_pending(&self.pending, why);
    }
}

pub(crate) fn fail_pending(pending: &Pending, why: &str) {
    let waiting: Vec<_> = {
        let mut waiting = lock(pending);
        waiting.gone = Some(why.to_owned());
        waiting.map.drain().map(|(_, envelope)| envelope).collect()
    };
    for envelope in waiting {
        if let Some(slots) = envelope.slots() {
            slots.expire(Undelivered::Failed(why.to_owned()));
        }
    }
}

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, Waiting> {
    pending.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes what is queued, several envelopes per system call when they
/// queue up; ends when every sender is gone or the socket fails, and then
/// closes the write side, which the far side reads as the end.
async fn write_frames(
    mut rx: mpsc::Receiver<Envelope>,
    mut write: OwnedWriteHalf,
    pending: Arc<Pending>,
    actor: Name,
    closing: CancellationToken,
) {
    let mut codec = EnvelopeCodec::new();
    let mut frames = BytesMut::new();
    loop {
        let first = tokio::select! {
            biased;
            first = rx.recv() => first,
            () = closing.cancelled() => rx.try_recv().ok(),
        };
        let Some(first) = first else { break };
        let mut next = Some(first);
        while let Some(envelope) = next.take() {
            // Registered before it is written: the answer may come at once.
            let waits = envelope.expects().is_some();
            if waits {
                let mut waiting = lock(&pending);
                if let Some(why) = &waiting.gone {
                    // The far side is gone: no answer will come.
                    let why = Undelivered::Failed(why.clone());
                    drop(waiting);
                    if let Some(slots) = envelope.slots() {
                        slots.expire(why);
                    }
                    next = rx.try_recv().ok();
                    continue;
                }
                waiting.map.insert(envelope.id(), envelope.clone());
            }
            if let Err(error) = codec.encode(&envelope, &mut frames) {
                tracing::warn!(actor.name = %actor, mail.id = %envelope.id(), %error, "mail not sent to the process");
                if waits {
                    lock(&pending).map.remove(&envelope.id());
                }
                envelope.set_fate(Undelivered::Failed(format!("cannot send it to process {actor}: {error}")));
            }
            if frames.len() < 64 * 1024 {
                next = rx.try_recv().ok();
            }
        }
        if let Err(error) = write.write_all(&frames).await {
            tracing::debug!(actor.name = %actor, %error, "process link broken");
            break;
        }
        frames.clear();
    }
    let _ = write.shutdown().await;
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

async fn receive(link: &Arc<Link>, side: &Arc<impl Side>, mut envelope: Envelope) {
    if let Some(id) = envelope.in_reply_to() {
        let original = lock(&link.pending).map.remove(&id);
        if let Some(original) = original {
            settle(&original, envelope);
            return;
        }
    }
    if envelope.sender().is(LINK) {
        side.control(envelope);
        return;
    }
    match envelope.expects() {
        Some(Expects::Reply) => {
            let (tx, rx) = oneshot::channel();
            envelope.attach(Slots::reply(tx));
            let (link, id, to) = (link.clone(), envelope.id(), envelope.sender().clone());
            tokio::spawn(async move {
                let answer = match rx.await {
                    Ok(Ok(reply)) => reply,
                    Ok(Err(fate)) => undelivered(id, to, &fate),
                    Err(_) => undelivered(id, to, &Undelivered::Stopped),
                };
                let _ = link.send(answer, true).await;
            });
        }
        Some(Expects::Ack) => {
            let (tx, rx) = oneshot::channel();
            envelope.attach(Slots::ack(tx));
            let (link, id, to) = (link.clone(), envelope.id(), envelope.sender().clone());
            tokio::spawn(async move {
                let answer = match rx.await {
                    Ok(Ok(())) => control(to, ACKED, Some(id), BodySlot::local(())),
                    Ok(Err(fate)) => undelivered(id, to, &fate),
                    Err(_) => undelivered(id, to, &Undelivered::Stopped),
                };
                let _ = link.send(answer, true).await;
            });
        }
        None => {}
    }
    side.deliver(envelope).await;
}

/// The far side answered `original`.
fn settle(original: &Envelope, answer: Envelope) {
    let Some(slots) = original.slots() else { return };
    if !answer.sender().is(LINK) {
        if !slots.answer(answer) {
            tracing::debug!(mail.id = %original.id(), "late reply from the process link dropped");
        }
        return;
    }
    match answer.subject() {
        ACKED => slots.acknowledge(),
        UNDELIVERED => slots.expire(fate_from(&answer)),
        other => tracing::warn!(subject = other, "unknown control answer on the process link"),
    }
}

/// A control envelope from the link.
pub(crate) fn control(to: Name, subject: &'static str, in_reply_to: Option<Uuid>, body: BodySlot) -> Envelope {
    Envelope::link_control(Name::new(LINK), to, subject, in_reply_to, body)
}

/// Why `id` got no answer, as its fate's kind and reason.
fn undelivered(id: Uuid, to: Name, fate: &Undelivered) -> Envelope {
    let (kind, reason) = match fate {
        Undelivered::Stopped => ("stopped", None),
        Undelivered::Dropped => ("dropped", None),
        Undelivered::Unhandled => ("unhandled", None),
        Undelivered::NoReply => ("no_reply", None),
        Undelivered::TimedOut => ("timed_out", None),
        Undelivered::Failed(reason) => ("failed", Some(reason.clone())),
    };
    control(to, UNDELIVERED, Some(id), BodySlot::local((kind, reason)))
}

fn fate_from(answer: &Envelope) -> Undelivered {
    match answer.body::<(String, Option<String>)>() {
        Ok((kind, reason)) => match kind.as_str() {
            "stopped" => Undelivered::Stopped,
            "dropped" => Undelivered::Dropped,
            "unhandled" => Undelivered::Unhandled,
            "no_reply" => Undelivered::NoReply,
            "timed_out" => Undelivered::TimedOut,
            _ => Undelivered::Failed(reason.unwrap_or(kind)),
        },
        Err(error) => Undelivered::Failed(format!("unreadable answer from the process link: {error}")),
    }
}
