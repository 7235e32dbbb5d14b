//! Composing and sending mail: the [`Mail`] builder.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::{Instant, timeout_at};

use crate::deadlines::Registered;
use crate::directory::{Directory, Routed};
use crate::envelope::slots::{Slots, Undelivered};
use crate::envelope::{Body, BodySlot, Pill};
use crate::error::{DeliverError, RequestError, SendError};
use crate::{Address, Envelope, Name, Value};

/// A sending identity: the directory and the name mail goes out under.
#[derive(Clone)]
pub(crate) struct Post {
    pub(crate) directory: Arc<Directory>,
    pub(crate) me: Name,
    /// The sender's current incarnation; 0 outside the actors.
    pub(crate) incarnation: u64,
}

impl Post {
    pub(crate) fn mail<B: Body>(
        &self,
        to: impl Into<Address>,
        subject: impl Into<Cow<'static, str>>,
        body: B,
    ) -> Mail<'_> {
        let envelope = Envelope::with_body(self.me.clone(), to.into(), subject.into(), BodySlot::local(body))
            .with_incarnation(self.incarnation);
        Mail { post: self, envelope, answers: None }
    }

    /// Sends a poison pill to `to`, queued like any mail.
    pub(crate) async fn poison(&self, to: Address) -> Result<(), SendError> {
        let mut pill = Envelope::with_body(self.me.clone(), to, Cow::Borrowed("poison pill"), BodySlot::local(()))
            .with_incarnation(self.incarnation);
        pill.make_pill(Pill::Poison);
        self.directory.route(pill, true).finish().await
    }

    /// Routes an envelope made elsewhere (read from a wire) as it is.
    pub(crate) async fn post(&self, envelope: Envelope) -> Result<(), SendError> {
        self.directory.route(envelope, true).finish().await
    }

    pub(crate) fn try_post(&self, envelope: Envelope) -> Result<(), SendError> {
        match self.directory.route(envelope, false) {
            Routed::Done(done) => done,
            Routed::Pending(_) => unreachable!("routing without waiting never waits"),
        }
    }

    pub(crate) fn reply<B: Body>(&self, original: &Envelope, body: B) -> Mail<'_> {
        let envelope = Envelope::reply_to(original, self.me.clone(), Cow::Borrowed("reply"), BodySlot::local(body))
            .with_incarnation(self.incarnation);
        Mail { post: self, envelope, answers: original.slots().cloned() }
    }
}

/// Mail being composed: set headers and priority, then send it one of four ways.
///
/// | method | returns when | waits at a full mailbox |
/// |---|---|---|
/// | [`send`](Mail::send) | the envelope is queued | yes, if the recipient's policy says wait |
/// | [`try_send`](Mail::try_send) | at once | never |
/// | [`request`](Mail::request) | the reply arrives | yes, within the timeout |
/// | [`deliver`](Mail::deliver) | the recipient's handlers have finished with it | yes, within the timeout |
///
/// Made by [`Context::mail`](crate::Context::mail),
/// [`Context::reply`](crate::Context::reply) and
/// [`AppHandle::mail`](crate::AppHandle::mail). Nothing is sent until one of
/// the four methods is called.
///
/// # Examples
///
/// ```
/// # use polyceph::prelude::*;
/// # use std::time::Duration;
/// # struct Echo;
/// # impl Actor for Echo {
/// #     async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
/// #         ctx.on(Filter::any(), Self::echo);
/// #         Ok(())
/// #     }
/// # }
/// # impl Echo {
/// #     async fn echo(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
/// #         let text: String = mail.body()?;
/// #         ctx.reply(&mail, text).send().await?;
/// #         Ok(())
/// #     }
/// # }
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = Application::builder().actor("echo", Echo).start().await?;
/// let reply = app
///     .mail("echo", "shout", "hello")
///     .header("volume", 11)
///     .priority(5)
///     .request(Duration::from_secs(1))
///     .await?;
/// assert_eq!(reply.body::<String>()?, "hello");
/// assert_eq!(reply.headers().get("volume"), Some(&Value::from(11)));
/// # app.shutdown().await;
/// # Ok(()) }
/// ```
#[must_use = "mail is not sent until .send(), .try_send(), .request() or .deliver() is called"]
pub struct Mail<'p> {
    post: &'p Post,
    envelope: Envelope,
    /// The request this mail answers, if it is a reply.
    answers: Option<Arc<Slots>>,
}

impl<'p> Mail<'p> {
    /// Adds a header.
    pub fn header(mut self, name: impl AsRef<str>, value: impl Into<Value>) -> Self {
        self.envelope.headers_mut().insert(name, value);
        self
    }

    /// Sets the priority (default 0; higher is handled first by a priority mailbox).
    pub fn priority(mut self, priority: i8) -> Self {
        self.envelope = self.envelope.with_priority(priority);
        self
    }

    /// Replaces the subject (a reply's subject is `reply` unless set).
    pub fn subject(mut self, subject: impl Into<Cow<'static, str>>) -> Self {
        self.envelope.set_subject(subject.into());
        self
    }

    /// The envelope as composed so far.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Queues the mail, waiting for room if the recipient's mailbox is full
    /// and its policy is to wait.
    ///
    /// A reply to a request completes that request instead of entering a
    /// mailbox; if the requester stopped waiting, the reply is counted in
    /// [`AppStats::late_replies`](crate::AppStats::late_replies), logged and dropped.
    ///
    /// # Errors
    ///
    /// [`SendError`], with the envelope handed back.
    pub async fn send(self) -> Result<(), SendError> {
        let Some((post, envelope)) = self.answer_request() else { return Ok(()) };
        // Matched here rather than through `Post::post`, and ended before
        // the wait: a future of 48 bytes instead of 160, which every caller
        // moves into its own state.
        let waiting = match post.directory.route(envelope, true) {
            Routed::Done(done) => return done,
            Routed::Pending(waiting) => waiting,
        };
        waiting.await
    }

    /// Queues the mail if that can be done without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError`], with the envelope handed back; a full mailbox is
    /// [`SendError::MailboxFull`] whatever the recipient's policy.
    pub fn try_send(self) -> Result<(), SendError> {
        let Some((post, envelope)) = self.answer_request() else { return Ok(()) };
        post.try_post(envelope)
    }

    /// Sends the mail as a request and waits for the reply, on the same thread.
    ///
    /// The reply goes straight to this call: it reaches a requester that is
    /// inside a handler, and is never seen by the requester's filters. The
    /// timeout covers waiting for mailbox room too.
    ///
    /// # Errors
    ///
    /// Distinct [`RequestError`]s for an unknown recipient, a timeout, a
    /// recipient that stopped, dropped, did not match or did not answer the
    /// request. It never waits past the timeout.
    pub async fn request(self, timeout: Duration) -> Result<Envelope, RequestError> {
        let deadline = Instant::now() + timeout;
        let (tx, rx) = oneshot::channel();
        let mut envelope = self.envelope;
        let to = envelope.recipient().clone();
        let slots = envelope.attach(Slots::reply(tx));
        let directory = &self.post.directory;
        // No timer of our own: the application's deadline keeper fails the
        // reply slot when the deadline passes.
        let _deadline = Registered::new(&directory.deadlines, deadline, slots);
        send_by(directory, envelope, deadline).await.map_err(|e| e.or_timeout(to.clone(), timeout))?;
        request_outcome(to, timeout, Some(rx.await))
    }

    /// Sends the mail and waits until the recipient's handlers have finished
    /// with it (libchirp's synchronous mode).
    ///
    /// # Errors
    ///
    /// [`DeliverError`] if it could not be sent, a handler failed, no handler
    /// matched, the recipient stopped or dropped it, or the timeout passed.
    pub async fn deliver(self, timeout: Duration) -> Result<(), DeliverError> {
        let deadline = Instant::now() + timeout;
        let (tx, rx) = oneshot::channel();
        let mut envelope = self.envelope;
        let to = envelope.recipient().clone();
        let slots = envelope.attach(Slots::ack(tx));
        let directory = &self.post.directory;
        let _deadline = Registered::new(&directory.deadlines, deadline, slots);
        match send_by(directory, envelope, deadline).await {
            Ok(()) => {}
            Err(Unsent::Refused(e)) => return Err(e.into()),
            Err(Unsent::Late) => return Err(DeliverError::Timeout { to, timeout }),
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(undelivered)) => Err(match undelivered {
                Undelivered::Failed(reason) => DeliverError::HandlerFailed { to, reason },
                Undelivered::Lost(reason) => DeliverError::Lost { to, reason },
                Undelivered::Unhandled => DeliverError::Unhandled { to },
                Undelivered::Dropped => DeliverError::Dropped { to },
                // Handled, and nobody owed a reply: that is success here.
                Undelivered::NoReply => return Ok(()),
                Undelivered::Stopped => DeliverError::RecipientStopped { to },
                Undelivered::TimedOut => DeliverError::Timeout { to, timeout },
            }),
            Err(_) => Err(DeliverError::RecipientStopped { to }),
        }
    }

    /// Completes the request this mail answers, if any. Returns the envelope
    /// if it is to be routed as ordinary mail.
    fn answer_request(self) -> Option<(&'p Post, Envelope)> {
        let Mail { post, envelope, answers } = self;
        let Some(reply) = answers.and_then(|slots| slots.take_reply()) else { return Some((post, envelope)) };
        match reply {
            Some(tx) => {
                if let Err(Ok(reply)) = tx.send(Ok(envelope)) {
                    post.directory.late_reply(&reply);
                }
            }
            None => post.directory.late_reply(&envelope),
        }
        None
    }
}

impl fmt::Debug for Mail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail").field("envelope", &self.envelope).finish_non_exhaustive()
    }
}

/// Why mail with a deadline was not sent.
pub(crate) enum Unsent {
    Refused(SendError),
    /// The deadline passed while waiting for mailbox room.
    Late,
}

impl Unsent {
    pub(crate) fn or_timeout(self, to: Address, timeout: Duration) -> RequestError {
        match self {
            Self::Refused(e) => e.into(),
            Self::Late => RequestError::Timeout { to, timeout },
        }
    }
}

/// Routes mail, waiting for mailbox room no later than `deadline`.
pub(crate) async fn send_by(directory: &Directory, envelope: Envelope, deadline: Instant) -> Result<(), Unsent> {
    // Ended before the wait, so that the routing's outcome is not kept
    // in every request's future beside the wait.
    let waiting = match directory.route(envelope, true) {
        Routed::Done(done) => return done.map_err(Unsent::Refused),
        Routed::Pending(waiting) => waiting,
    };
    // Rare: boxed, so the timer is not carried inline by every request.
    match Box::pin(timeout_at(deadline, waiting)).await {
        Ok(done) => done.map_err(Unsent::Refused),
        Err(_) => Err(Unsent::Late),
    }
}

/// What a request's reply channel yielded (`None`: the deadline passed).
pub(crate) fn request_outcome(
    to: Address,
    timeout: Duration,
    reply: Option<Result<Result<Envelope, Undelivered>, oneshot::error::RecvError>>,
) -> Result<Envelope, RequestError> {
    match reply {
        Some(Ok(Ok(reply))) => Ok(reply),
        Some(Ok(Err(undelivered))) => Err(match undelivered {
            Undelivered::Dropped => RequestError::Dropped { to },
            Undelivered::Unhandled => RequestError::Unhandled { to },
            Undelivered::NoReply => RequestError::NoReply { to },
            Undelivered::Failed(reason) => RequestError::HandlerFailed { to, reason },
            Undelivered::Lost(reason) => RequestError::Lost { to, reason },
            Undelivered::Stopped => RequestError::RecipientStopped { to },
            Undelivered::TimedOut => RequestError::Timeout { to, timeout },
        }),
        Some(Err(_)) => Err(RequestError::RecipientStopped { to }),
        None => Err(RequestError::Timeout { to, timeout }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventSender;
    use crate::supervision::Strategy;

    /// Every caller moves these futures into its own state (a handler's, a
    /// task's), with a `memcpy` of their whole size: this guards the layout
    /// work in `send` and `send_by` (the routing's outcome ended before the
    /// wait) against a change that quietly grows them again (160 and 272
    /// bytes before it).
    #[tokio::test]
    async fn the_futures_of_send_and_request_stay_small() {
        let directory = Arc::new(Directory::new(None, EventSender::new(), Duration::from_secs(1), Strategy::OneForOne));
        let post = Post { directory, me: crate::Name::new("me"), incarnation: 0 };
        let send = post.mail("you", "hi", ()).send();
        assert!(size_of_val(&send) <= 48, "send: {} bytes", size_of_val(&send));
        let request = post.mail("you", "hi", ()).request(Duration::from_secs(1));
        assert!(size_of_val(&request) <= 232, "request: {} bytes", size_of_val(&request));
    }
}
