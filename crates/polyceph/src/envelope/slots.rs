//! The in-process side of an envelope: where its reply and its delivery
//! acknowledgement go. Never serialized.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use super::Envelope;

/// Why a request or delivery ended without the answer it waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Undelivered {
    /// The recipient stopped (or was never reached) before handling it.
    Stopped,
    /// The mailbox dropped it to make room (drop-oldest).
    Dropped,
    /// No handler's filter matched it.
    Unhandled,
    /// Handlers ran but none replied.
    NoReply,
    /// A handler returned an error.
    Failed(String),
    /// It crossed a wire whose far side went away (or could not be
    /// reached) before answering: why.
    Lost(String),
    /// The waiting side's deadline passed.
    TimedOut,
}

pub(crate) type ReplySender = oneshot::Sender<Result<Envelope, Undelivered>>;
pub(crate) type AckSender = oneshot::Sender<Result<(), Undelivered>>;

/// Shared by every clone of one envelope; when the last clone is dropped
/// with a slot still unused, the waiting side learns why.
#[derive(Debug)]
pub(crate) struct Slots(Mutex<State>);

#[derive(Debug)]
struct State {
    is_request: bool,
    reply: Option<ReplySender>,
    ack: Option<AckSender>,
    fate: Undelivered,
}

impl Slots {
    pub(crate) fn reply(tx: ReplySender) -> Self {
        Self::new(Some(tx), None)
    }

    pub(crate) fn ack(tx: AckSender) -> Self {
        Self::new(None, Some(tx))
    }

    fn new(reply: Option<ReplySender>, ack: Option<AckSender>) -> Self {
        Self(Mutex::new(State { is_request: reply.is_some(), reply, ack, fate: Undelivered::Stopped }))
    }

    /// For a request, `Some` with its reply sender (`None` inside once a
    /// reply was sent); `None` if the envelope is no request.
    pub(crate) fn take_reply(&self) -> Option<Option<ReplySender>> {
        let mut state = self.lock();
        state.is_request.then(|| state.reply.take())
    }

    /// Handling is over: records the fate for whoever still waits, and
    /// hands out the delivery acknowledgement, if one is owed.
    pub(crate) fn finish(&self, fate: Undelivered) -> Option<(AckSender, Undelivered)> {
        let mut state = self.lock();
        state.fate = fate.clone();
        state.ack.take().map(|ack| (ack, fate))
    }

    pub(crate) fn expects_reply(&self) -> bool {
        self.lock().reply.is_some()
    }

    pub(crate) fn expects_ack(&self) -> bool {
        self.lock().ack.is_some()
    }

    /// Answers a request with `reply`; `false` if it was answered already
    /// (or is no request).
    pub(crate) fn answer(&self, reply: Envelope) -> bool {
        match self.take_reply() {
            Some(Some(tx)) => tx.send(Ok(reply)).is_ok(),
            _ => false,
        }
    }

    /// Takes the acknowledgement sender, to be used elsewhere.
    pub(crate) fn take_ack(&self) -> Option<AckSender> {
        self.lock().ack.take()
    }

    /// Acknowledges a delivery: handled.
    pub(crate) fn acknowledge(&self) {
        if let Some(tx) = self.lock().ack.take() {
            let _ = tx.send(Ok(()));
        }
    }

    /// The deadline passed: whoever still waits learns it now, and a reply
    /// or acknowledgement sent later finds the slot taken.
    pub(crate) fn expire(&self, why: Undelivered) {
        let (reply, ack) = {
            let mut state = self.lock();
            (state.reply.take(), state.ack.take())
        };
        if let Some(tx) = reply {
            let _ = tx.send(Err(why.clone()));
        }
        if let Some(tx) = ack {
            let _ = tx.send(Err(why));
        }
    }

    pub(crate) fn set_fate(&self, fate: Undelivered) {
        self.lock().fate = fate;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        let state = self.0.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = state.reply.take() {
            // The requester may have given up already; nothing to tell then.
            let _ = tx.send(Err(state.fate.clone()));
        }
        if let Some(tx) = state.ack.take() {
            let _ = tx.send(Err(state.fate.clone()));
        }
    }
}
