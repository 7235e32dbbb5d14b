//! The link between a process actor's child and its parent: envelopes in
//! length-delimited msgpack frames over a Unix socket, both ways.
//!
//! Both ends work alike, each with a [`Peer`] for the other: requests (and
//! deliveries waiting for an acknowledgement) that cross the link wait
//! there until the far side answers, and a request that arrives gets a
//! reply slot whose answer goes back over the link. So `request`, `deliver`
//! and their errors work across processes as they do within one.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio_util::codec::{Decoder, Encoder};
use tokio_util::sync::CancellationToken;

use crate::error::SendError;
use crate::remote::{Incoming, Peer};
use crate::wire::EnvelopeCodec;
use crate::{Envelope, Name};

pub(crate) use crate::remote::{CONTROL as LINK, control};

/// Control subjects.
pub(crate) const BORN: &str = "born";
pub(crate) const EXITED: &str = "exited";

/// How many envelopes may wait for the writer before senders wait.
const QUEUE: usize = 1024;

/// One end of the link.
#[derive(Debug)]
pub(crate) struct Link {
    tx: mpsc::Sender<Envelope>,
    /// Tells the writer to finish what is queued and close.
    closing: CancellationToken,
    peer: Arc<Peer>,
    /// Who is on the far side, for logs: the process actor's name.
    pub(crate) actor: Name,
}

impl Link {
    /// Splits `stream` into this end's writer task (spawned) and the read
    /// half, which the caller reads with [`read_frames`].
    pub(crate) fn open(stream: UnixStream, actor: Name) -> (Arc<Self>, OwnedReadHalf, tokio::task::JoinHandle<()>) {
        let (read, write) = stream.into_split();
        let (tx, rx) = mpsc::channel(QUEUE);
        let peer = Arc::new(Peer::new(format!("process {actor}")));
        let closing = CancellationToken::new();
        let writer = tokio::spawn(write_frames(rx, write, peer.clone(), actor.clone(), closing.clone()));
        (Arc::new(Self { tx, closing, peer, actor }), read, writer)
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
        self.peer.is_gone()
    }

    /// Everything still waiting for the far side learns it never will.
    pub(crate) fn fail_pending(&self, why: &str) {
        self.peer.fail_pending(why);
    }
}

/// Writes what is queued, several envelopes per system call when they
/// queue up; ends when every sender is gone or the socket fails, and then
/// closes the write side, which the far side reads as the end.
async fn write_frames(
    mut rx: mpsc::Receiver<Envelope>,
    mut write: OwnedWriteHalf,
    peer: Arc<Peer>,
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
        while let Some(mut envelope) = next.take() {
            // Registered before it is written: the answer may come at once.
            if peer.outgoing(&mut envelope).is_err() {
                // The far side is gone: no answer will come.
                next = rx.try_recv().ok();
                continue;
            }
            if let Err(error) = codec.encode(&envelope, &mut frames) {
                tracing::warn!(actor.name = %actor, mail.id = %envelope.id(), %error, "mail not sent to the process");
                peer.unsent(&envelope, &error.to_string());
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

async fn receive(link: &Arc<Link>, side: &Arc<impl Side>, envelope: Envelope) {
    match link.peer.incoming(envelope) {
        Incoming::Settled => {}
        Incoming::Control(envelope) => side.control(envelope),
        Incoming::Mail { envelope, answer } => {
            if let Some(answer) = answer {
                let link = link.clone();
                tokio::spawn(async move {
                    let _ = link.send(answer.wait().await, true).await;
                });
            }
            side.deliver(envelope).await;
        }
    }
}
