//! Request/reply with a peer on the far side of a wire: a process actor's
//! child, another application at the end of a pair of FIFOs, a Unix socket.
//!
//! A [`Peer`] remembers the requests (and the deliveries waiting for an
//! acknowledgement) written out to one far side, keyed by their id, until
//! that side answers: with the reply itself, or with a control envelope from
//! [`CONTROL`] saying `acked` or `undelivered` (its body says why, as in
//! `docs/wire-format.md`). A request read from the far side is given a
//! reply slot whose [`Answer`] is the envelope to write back. So
//! [`Mail::request`](crate::Mail::request), [`Mail::deliver`](crate::Mail::deliver)
//! and their errors work across the wire as they do within one application.
//!
//! A bridge does three things with it:
//! - before writing an envelope out, [`Peer::outgoing`];
//! - for each envelope read back, [`Peer::incoming`]: it either settles
//!   something pending, or is mail to deliver, perhaps with an [`Answer`]
//!   to write back once it resolves;
//! - when the far side is gone, [`Peer::fail_pending`], so nothing waits
//!   for it any longer than that.
//!
//! # Examples
//!
//! The far side of a request: a frame read from the wire is a request to
//! the `echo` actor; the answer is what to write back.
//!
//! ```
//! use polyceph::prelude::*;
//! use polyceph::remote::{Incoming, Peer};
//!
//! struct Echo;
//! impl Actor for Echo {
//!     async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
//!         ctx.on(Filter::subject("^echo$")?, Self::echo);
//!         Ok(())
//!     }
//! }
//! impl Echo {
//!     async fn echo(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
//!         ctx.reply(&mail, mail.body::<String>()?).send().await?;
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Application::builder().actor("echo", Echo).start().await?;
//! let peer = Peer::new("the other application");
//! // A request, as a far side written in any language would send it.
//! let frame = br#"{"v": 1, "id": "67e55044-10b1-426f-9247-bb680e5fe0c8",
//!     "thread": "67e55044-10b1-426f-9247-bb680e5fe0c8", "thread_index": 1,
//!     "time": "2026-11-21T10:00:00Z", "sender": "asker", "recipient": "echo",
//!     "subject": "echo", "priority": 0, "headers": {}, "body": "hello",
//!     "expects": "reply"}"#;
//! match peer.incoming(Envelope::from_json(frame)?) {
//!     Incoming::Mail { envelope, answer } => {
//!         app.post(envelope).await?;
//!         if let Some(answer) = answer {
//!             let reply = answer.wait().await;
//!             assert_eq!(reply.body::<String>()?, "hello");
//!             assert_eq!(reply.in_reply_to(), Some("67e55044-10b1-426f-9247-bb680e5fe0c8".parse()?));
//!             // ...and write `reply.to_msgpack()?` back to the far side.
//!         }
//!     }
//!     Incoming::Settled => {} // answered a request of ours
//!     Incoming::Control(stray) => tracing::warn!(%stray, "stray control envelope"),
//! }
//! app.shutdown().await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::envelope::slots::{Responder, Slots, Undelivered};
use crate::envelope::{BodySlot, Expects};
use crate::{Envelope, Name};

/// The sender of a peer's own control envelopes (`acked`, `undelivered`).
/// Not a valid actor name, so no actor can send as it.
pub const CONTROL: &str = "$link";

/// Subject of the control envelope that acknowledges a delivery.
pub const ACKED: &str = "acked";

/// Subject of the control envelope that says a request or delivery was not
/// answered, and why (body: `[kind, reason or nil]`).
pub const UNDELIVERED: &str = "undelivered";

/// Requests and deliveries written out to one far side and waiting for its
/// answer. See the [module documentation](self).
pub struct Peer {
    name: Name,
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    map: HashMap<Uuid, Envelope>,
    /// Once the far side is gone, why; nothing is kept waiting then.
    gone: Option<String>,
    /// Past this many entries, the map is swept of those nobody waits for
    /// any more; then twice what is left.
    sweep_at: usize,
}

impl Waiting {
    /// The size of the first sweep.
    const FIRST_SWEEP: usize = 64;

    /// Forgets what nobody waits for any more: answered already, or past
    /// its requester's deadline. A far side that never answers (a peer
    /// written in another language may ignore `expects`) so costs memory
    /// only for what is still waiting. Amortised constant time per entry.
    fn sweep(&mut self) {
        if self.map.len() >= self.sweep_at.max(Self::FIRST_SWEEP) {
            self.map.retain(|_, envelope| envelope.expects().is_some());
            self.sweep_at = 2 * self.map.len();
        }
    }
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiting = self.lock();
        f.debug_struct("Peer")
            .field("name", &self.name)
            .field("pending", &waiting.map.len())
            .field("gone", &waiting.gone)
            .finish()
    }
}

/// What an envelope read from the far side is.
#[derive(Debug)]
pub enum Incoming {
    /// It answered a request or delivery written out earlier, which now has
    /// its answer. Nothing more to do.
    Settled,
    /// Mail to deliver (for example with [`AppHandle::post`](crate::AppHandle::post)).
    Mail {
        /// The mail, carrying its reply or acknowledgement slot.
        envelope: Envelope,
        /// When the far side waits for an answer: resolves to the envelope
        /// to write back to it.
        answer: Option<Answer>,
    },
    /// A control envelope from [`CONTROL`] that answers nothing pending:
    /// a late or unknown answer. Bridges count and log it.
    Control(Envelope),
}

/// The answer owed to the far side for one of its requests or deliveries.
#[derive(Debug)]
pub struct Answer {
    id: Uuid,
    to: Name,
    waiting: AnswerKind,
}

#[derive(Debug)]
enum AnswerKind {
    Reply(oneshot::Receiver<Result<Envelope, Undelivered>>),
    Ack(oneshot::Receiver<Result<(), Undelivered>>),
}

impl Answer {
    /// Waits for the answer: the reply, an `acked` control envelope, or an
    /// `undelivered` one saying why there is none (no handler, the actor
    /// stopped, the mailbox was full, ...). Never waits forever: every way
    /// the mail can end answers it.
    pub async fn wait(self) -> Envelope {
        let Self { id, to, waiting } = self;
        // A slot dropped without a word reads as `Stopped`, as a calling
        // slot says it.
        match waiting {
            AnswerKind::Reply(rx) => reply_answer(id, to, rx.await.unwrap_or(Err(Undelivered::Stopped))),
            AnswerKind::Ack(rx) => ack_answer(id, to, rx.await.unwrap_or(Err(Undelivered::Stopped))),
        }
    }
}

/// Why [`Peer::outgoing`] did not keep an envelope: the far side is gone.
/// The envelope's request or delivery has already failed with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Gone(pub String);

impl Peer {
    /// A peer for the far side called `name` (used in logs and errors).
    pub fn new(name: impl Into<Name>) -> Self {
        Self { name: name.into(), waiting: Mutex::new(Waiting::default()) }
    }

    /// The far side's name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// Call before writing `envelope` out: if it waits for an answer, keeps
    /// it until [`Peer::incoming`] reads one (the answer may come at once,
    /// so do this first). From then on the far side owes the answer: a
    /// delivery is acknowledged when the far side has handled it, not when
    /// the handler that wrote it out returns.
    ///
    /// # Errors
    ///
    /// [`Gone`] when the far side is known to be gone: the envelope's
    /// request fails at once, and it need not be written.
    pub fn outgoing(&self, envelope: &mut Envelope) -> Result<(), Gone> {
        envelope.hand_over_ack();
        if envelope.expects().is_none() {
            return Ok(());
        }
        let mut waiting = self.lock();
        if let Some(why) = &waiting.gone {
            let why = why.clone();
            drop(waiting);
            if let Some(slots) = envelope.slots() {
                slots.expire(Undelivered::Lost(why.clone()));
            }
            return Err(Gone(why));
        }
        waiting.sweep();
        waiting.map.insert(envelope.id(), envelope.clone());
        Ok(())
    }

    /// Call when `envelope`, passed to [`Peer::outgoing`], could not be
    /// written after all: its request or delivery fails with `why`.
    pub fn unsent(&self, envelope: &Envelope, why: &str) {
        self.lock().map.remove(&envelope.id());
        // Failed now, not when the envelope is dropped: whoever holds it may
        // still record another fate (a handler that returns without error).
        if let Some(slots) = envelope.slots() {
            slots.expire(Undelivered::Failed(format!("cannot send it to {}: {why}", self.name)));
        }
    }

    /// Sorts out an envelope read from the far side; see [`Incoming`].
    pub fn incoming(&self, envelope: Envelope) -> Incoming {
        self.sort(envelope, |envelope, id, to, expects| {
            let waiting = match expects {
                Expects::Reply => {
                    let (tx, rx) = oneshot::channel();
                    envelope.attach(Slots::reply(tx));
                    AnswerKind::Reply(rx)
                }
                Expects::Ack => {
                    let (tx, rx) = oneshot::channel();
                    envelope.attach(Slots::ack(tx));
                    AnswerKind::Ack(rx)
                }
            };
            Some(Answer { id, to, waiting })
        })
    }

    /// As [`Peer::incoming`], but the answer is handed to `write` the
    /// moment it is known, on the thread that answers (or that drops the
    /// mail unanswered), instead of through an [`Answer`] that a task waits
    /// for: one hand-off less per request. `write` must not block; a bridge
    /// typically encodes the answer into its outgoing buffer there.
    /// [`Incoming::Mail`] then never carries an answer.
    pub fn incoming_then(&self, envelope: Envelope, write: impl FnOnce(Envelope) + Send + Sync + 'static) -> Incoming {
        self.sort(envelope, |envelope, id, to, expects| {
            match expects {
                Expects::Reply => {
                    envelope.attach(Slots::reply(Responder::call(move |answer| write(reply_answer(id, to, answer)))))
                }
                Expects::Ack => {
                    envelope.attach(Slots::ack(Responder::call(move |answer| write(ack_answer(id, to, answer)))))
                }
            };
            None
        })
    }

    /// Settles what `envelope` answers, or gives mail that waits for an
    /// answer its slot with `attach`.
    fn sort(
        &self,
        mut envelope: Envelope,
        attach: impl FnOnce(&mut Envelope, Uuid, Name, Expects) -> Option<Answer>,
    ) -> Incoming {
        if let Some(id) = envelope.in_reply_to() {
            let original = self.lock().map.remove(&id);
            if let Some(original) = original {
                settle(&original, envelope);
                return Incoming::Settled;
            }
        }
        if envelope.sender().is(CONTROL) {
            return Incoming::Control(envelope);
        }
        let (id, to) = (envelope.id(), envelope.sender().clone());
        let answer = envelope.expects().and_then(|expects| attach(&mut envelope, id, to, expects));
        Incoming::Mail { envelope, answer }
    }

    /// Everything waiting for the far side learns that it never will (its
    /// request fails with `why`), and so does everything passed to
    /// [`Peer::outgoing`] from now on, until [`Peer::revive`].
    pub fn fail_pending(&self, why: &str) {
        let waiting: Vec<_> = {
            let mut waiting = self.lock();
            waiting.gone = Some(why.to_owned());
            waiting.map.drain().map(|(_, envelope)| envelope).collect()
        };
        for envelope in waiting {
            if let Some(slots) = envelope.slots() {
                slots.expire(Undelivered::Lost(why.to_owned()));
            }
        }
    }

    /// Whether the far side is known to be gone ([`Peer::fail_pending`]).
    pub fn is_gone(&self) -> bool {
        self.lock().gone.is_some()
    }

    /// The far side is back (a new connection): [`Peer::outgoing`] keeps
    /// envelopes again.
    pub fn revive(&self) {
        self.lock().gone = None;
    }

    /// How many requests and deliveries wait for the far side (those whose
    /// requester gave up are forgotten from time to time, not at once).
    pub fn pending(&self) -> usize {
        self.lock().map.len()
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The far side answered `original`.
fn settle(original: &Envelope, answer: Envelope) {
    let Some(slots) = original.slots() else { return };
    if !answer.sender().is(CONTROL) {
        if !slots.answer(answer) {
            tracing::debug!(mail.id = %original.id(), "late reply from a peer dropped");
        }
        return;
    }
    match answer.subject() {
        ACKED => slots.acknowledge(),
        UNDELIVERED => slots.expire(fate_from(&answer)),
        other => tracing::warn!(subject = other, "unknown control answer from a peer"),
    }
}

/// A control envelope from [`CONTROL`].
pub(crate) fn control(to: Name, subject: &'static str, in_reply_to: Option<Uuid>, body: BodySlot) -> Envelope {
    Envelope::link_control(Name::new(CONTROL), to, subject, in_reply_to, body)
}

/// What goes back to the far side for request `id`: the reply, or why
/// there is none.
fn reply_answer(id: Uuid, to: Name, answer: Result<Envelope, Undelivered>) -> Envelope {
    answer.unwrap_or_else(|fate| undelivered(id, to, &fate))
}

/// What goes back to the far side for delivery `id`: `acked`, or why not.
fn ack_answer(id: Uuid, to: Name, answer: Result<(), Undelivered>) -> Envelope {
    match answer {
        Ok(()) => control(to, ACKED, Some(id), BodySlot::local(())),
        Err(fate) => undelivered(id, to, &fate),
    }
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
        Undelivered::Lost(reason) => ("lost", Some(reason.clone())),
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
            "lost" => Undelivered::Lost(reason.unwrap_or(kind)),
            _ => Undelivered::Failed(reason.unwrap_or(kind)),
        },
        Err(error) => Undelivered::Failed(format!("unreadable answer from a peer: {error}")),
    }
}
