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

pub(crate) type ReplySender = Responder<Envelope>;
pub(crate) type AckSender = Responder<()>;

/// Where an answer (a reply, or an acknowledgement) goes: to a task that
/// waits for it, or straight on with a call, which a wire uses to write the
/// answer out without a task in between.
pub(crate) enum Responder<T> {
    Channel(oneshot::Sender<Result<T, Undelivered>>),
    /// Called once, on the thread that answers (or drops the envelope).
    Call(Caller<T>),
}

/// The call of a [`Responder::Call`]. It must not block, nor take a lock
/// the answering side may hold. Dropped uncalled, it is called with
/// [`Undelivered::Stopped`], as a dropped channel reads.
pub(crate) struct Caller<T>(Option<Call<T>>);

type Call<T> = Box<dyn FnOnce(Result<T, Undelivered>) + Send + Sync>;

impl<T> Drop for Caller<T> {
    fn drop(&mut self) {
        if let Some(call) = self.0.take() {
            call(Err(Undelivered::Stopped));
        }
    }
}

impl<T> Responder<T> {
    /// A responder that calls `answer`.
    pub(crate) fn call(answer: impl FnOnce(Result<T, Undelivered>) + Send + Sync + 'static) -> Self {
        Self::Call(Caller(Some(Box::new(answer))))
    }

    /// Gives the answer; back as an error if nobody waits for it any more.
    pub(crate) fn send(self, answer: Result<T, Undelivered>) -> Result<(), Result<T, Undelivered>> {
        match self {
            Self::Channel(tx) => tx.send(answer),
            Self::Call(mut caller) => {
                if let Some(call) = caller.0.take() {
                    call(answer);
                }
                Ok(())
            }
        }
    }
}

impl<T> From<oneshot::Sender<Result<T, Undelivered>>> for Responder<T> {
    fn from(tx: oneshot::Sender<Result<T, Undelivered>>) -> Self {
        Self::Channel(tx)
    }
}

impl<T> std::fmt::Debug for Responder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Channel(_) => f.write_str("Channel"),
            Self::Call(_) => f.write_str("Call"),
        }
    }
}

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
    pub(crate) fn reply(tx: impl Into<ReplySender>) -> Self {
        Self::new(Some(tx.into()), None)
    }

    pub(crate) fn ack(tx: impl Into<AckSender>) -> Self {
        Self::new(None, Some(tx.into()))
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What a calling responder was called with.
    type Calls<T> = Arc<Mutex<Vec<Result<T, Undelivered>>>>;

    /// A calling responder and what it was called with.
    fn recorder<T: Send + 'static>() -> (Responder<T>, Calls<T>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        (Responder::call(move |answer| seen.lock().unwrap().push(answer)), calls)
    }

    #[test]
    fn a_calling_responder_is_called_once_with_the_answer() {
        let (responder, calls) = recorder::<u32>();
        assert!(responder.send(Ok(7)).is_ok());
        assert_eq!(*calls.lock().unwrap(), [Ok(7)]);
    }

    #[test]
    fn a_calling_responder_dropped_uncalled_says_stopped() {
        let (responder, calls) = recorder::<u32>();
        drop(responder);
        assert_eq!(*calls.lock().unwrap(), [Err(Undelivered::Stopped)]);
    }

    #[test]
    fn slots_dropped_unanswered_call_with_their_fate() {
        let (reply, replies) = recorder::<Envelope>();
        let slots = Slots::reply(reply);
        slots.set_fate(Undelivered::Unhandled);
        drop(slots);
        let replies = replies.lock().unwrap();
        assert_eq!(replies.len(), 1);
        assert!(matches!(replies[0], Err(Undelivered::Unhandled)));

        let (ack, acks) = recorder::<()>();
        let slots = Slots::ack(ack);
        slots.acknowledge();
        drop(slots);
        assert_eq!(*acks.lock().unwrap(), [Ok(())], "answered once, not again on drop");
    }
}
