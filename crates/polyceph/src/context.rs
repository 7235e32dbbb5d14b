//! The [`Context`]: what an actor can do.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::{Instant, timeout_at};

use crate::app::AppHandle;
use crate::directory::ActorCell;
use crate::envelope::slots::{Slots, Undelivered};
use crate::envelope::{Body, BodySlot};
use crate::error::{InvalidFrequency, ReceiveError, RequestError};
use crate::mail::{Mail, Post, request_outcome, send_by};
use crate::mailbox::Received;
use crate::supervision::{Backoff, Intensity, Restart};
use crate::{Actor, ActorStats, Address, Envelope, Filter, Name, Result};

/// An async method that handles mail: what [`Context::on`] registers.
///
/// Implemented for every `async fn(&mut self, &mut Context<Self>, Envelope) ->
/// Result<()>` method of an actor (and for functions and closures of that
/// shape that return a `Send` future).
pub trait Handler<A: Actor>: Send + Sync + 'static {
    /// Handles one envelope.
    fn call<'a>(&'a self, actor: &'a mut A, ctx: &'a mut Context<A>, mail: Envelope) -> BoxFuture<'a>;
}

/// The boxed future of a running handler.
pub type BoxFuture<'a> = std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Names the future a handler returns for one lifetime; lets [`Handler`]
/// cover async methods, whose futures borrow the actor and the context.
pub trait HandlerFn<'a, A: Actor>: Fn(&'a mut A, &'a mut Context<A>, Envelope) -> Self::Fut {
    /// The handler's future.
    type Fut: Future<Output = Result<()>> + Send + 'a;
}

impl<'a, A, F, Fut> HandlerFn<'a, A> for F
where
    A: Actor,
    F: Fn(&'a mut A, &'a mut Context<A>, Envelope) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'a,
{
    type Fut = Fut;
}

impl<A, F> Handler<A> for F
where
    A: Actor,
    F: for<'a> HandlerFn<'a, A> + Send + Sync + 'static,
{
    fn call<'a>(&'a self, actor: &'a mut A, ctx: &'a mut Context<A>, mail: Envelope) -> BoxFuture<'a> {
        // Made in place: see `boxed!`.
        let future = boxed!(self(actor, ctx, mail));
        Box::into_pin(future)
    }
}

pub(crate) struct Route<A: Actor> {
    pub(crate) filter: Option<Filter>,
    pub(crate) handler: Arc<dyn Handler<A>>,
}

impl<A: Actor> Clone for Route<A> {
    fn clone(&self) -> Self {
        Self { filter: self.filter.clone(), handler: self.handler.clone() }
    }
}

/// The handlers of one actor, in registration order.
pub(crate) struct Routes<A: Actor> {
    pub(crate) filtered: Vec<Route<A>>,
    pub(crate) fallbacks: Vec<Route<A>>,
}

impl<A: Actor> Clone for Routes<A> {
    fn clone(&self) -> Self {
        Self { filtered: self.filtered.clone(), fallbacks: self.fallbacks.clone() }
    }
}

/// What an actor can do: send and reply, register handlers, receive
/// selectively, change its frequency, join groups and topics, die.
///
/// Every hook and handler gets `&mut Context<Self>`.
///
/// # Examples
///
/// A collector that subscribes to a topic, and on `collect` waits for the
/// next `reading` while other mail stays queued for its handlers:
///
/// ```
/// use std::time::Duration;
/// use polyceph::prelude::*;
///
/// struct Collector;
///
/// impl Actor for Collector {
///     async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
///         ctx.subscribe("telemetry");
///         ctx.on(Filter::subject("^collect$")?, Self::collect);
///         ctx.fallback(Self::other);
///         Ok(())
///     }
/// }
///
/// impl Collector {
///     async fn collect(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
///         let reading = ctx.receive(Filter::subject("^reading$")?, Duration::from_secs(1)).await?;
///         ctx.reply(&mail, reading.body::<f64>()?).send().await?;
///         Ok(())
///     }
///
///     async fn other(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
///         tracing::info!(subject = mail.subject(), "handled after the reading");
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = Application::builder().actor("collector", Collector).start().await?;
/// let asker = app.clone();
/// let reply = tokio::spawn(async move { asker.request("collector", "collect", (), Duration::from_secs(1)).await });
/// tokio::task::yield_now().await; // the collector is now waiting in `receive`
/// app.send("collector", "noise", ()).await?; // stays queued until `collect` is done
/// app.send(Address::topic("telemetry"), "reading", 21.5).await?;
/// assert_eq!(reply.await??.body::<f64>()?, 21.5);
/// # app.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Context<A: Actor> {
    pub(crate) post: Post,
    pub(crate) cell: Arc<ActorCell>,
    /// The handlers; `None` until the first is registered, so that an actor
    /// without handlers allocates nothing for them.
    pub(crate) routes: Option<Arc<Routes<A>>>,
    /// Mail taken from the mailbox by [`Context::receive`] but not matched;
    /// older than anything still in the mailbox.
    pub(crate) stash: VecDeque<Envelope>,
    pub(crate) frequency: Option<f64>,
    pub(crate) frequency_changed: bool,
    pub(crate) dying: bool,
    /// The failure (a panic, or an error under a restart policy) that ends
    /// this incarnation.
    pub(crate) failure: Option<crate::ExitReason>,
    /// The restart policy (the rest of the supervision lives with the
    /// runner, and only for actors that can restart).
    pub(crate) restart: Restart,
    initial_frequency: Option<f64>,
}

/// How an actor is supervised: its restart policy, intensity and back-off.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Supervision {
    pub(crate) restart: Restart,
    pub(crate) intensity: Intensity,
    pub(crate) backoff: Option<Backoff>,
}

impl<A: Actor> Context<A> {
    pub(crate) fn new(mut post: Post, cell: Arc<ActorCell>, frequency: Option<f64>, restart: Restart) -> Self {
        post.incarnation = new_incarnation();
        Self {
            restart,
            initial_frequency: frequency,
            post,
            cell,
            routes: None,
            stash: VecDeque::new(),
            frequency,
            frequency_changed: false,
            dying: false,
            failure: None,
        }
    }

    /// Makes this context ready for the next incarnation of a restarted
    /// actor: a new incarnation id, no handlers, the configured frequency.
    /// The mailbox and the mail `receive` set aside carry over.
    pub(crate) fn reincarnate(&mut self) {
        self.post.incarnation = new_incarnation();
        self.routes = None;
        self.frequency = self.initial_frequency;
        self.frequency_changed = false;
        self.dying = false;
        self.failure = None;
    }

    /// This incarnation's id: new each time the actor is (re)started, and
    /// carried by the mail it sends ([`Envelope::sender_incarnation`]).
    pub fn incarnation(&self) -> u64 {
        self.post.incarnation
    }

    /// This actor's name.
    pub fn name(&self) -> &Name {
        &self.cell.name
    }

    /// Starts composing mail from this actor; see [`Mail`].
    pub fn mail<B: Body>(&self, to: impl Into<Address>, subject: impl Into<Cow<'static, str>>, body: B) -> Mail<'_> {
        self.post.mail(to, subject, body)
    }

    /// Routes `envelope` as it is, to its recipient: for envelopes made
    /// elsewhere, such as those a bridge reads from a wire
    /// ([`Envelope::from_msgpack`]). Its id, thread, sender and headers
    /// are kept; a request read through a [`remote::Peer`](crate::remote::Peer)
    /// carries its reply slot. Waits for mailbox room if the recipient's
    /// policy says so.
    ///
    /// # Errors
    ///
    /// As [`Mail::send`].
    pub async fn post(&self, envelope: Envelope) -> Result<(), crate::error::SendError> {
        self.post.post(envelope).await
    }

    /// Routes `envelope` as [`post`](Self::post) does, if that can be done
    /// without waiting.
    ///
    /// # Errors
    ///
    /// As [`Mail::try_send`].
    pub fn try_post(&self, envelope: Envelope) -> Result<(), crate::error::SendError> {
        self.post.try_post(envelope)
    }

    /// Starts composing the reply to `original`: same thread, next thread
    /// index, sender and recipient swapped, the original's headers and
    /// priority kept, subject `reply`. Add headers to it, then send it; a
    /// reply to a request completes that request.
    pub fn reply<B: Body>(&self, original: &Envelope, body: B) -> Mail<'_> {
        self.post.reply(original, body)
    }

    /// Makes an envelope from this actor without sending it, for
    /// [`Context::request_serving`].
    pub fn envelope<B: Body>(
        &self,
        to: impl Into<Address>,
        subject: impl Into<Cow<'static, str>>,
        body: B,
    ) -> Envelope {
        Envelope::with_body(self.cell.name.clone(), to.into(), subject.into(), BodySlot::local(body))
            .with_incarnation(self.post.incarnation)
    }

    /// Registers `handler` for mail that matches `filter`.
    ///
    /// Every handler whose filter matches runs, in registration order, each
    /// with its own copy of the envelope (copies share the body).
    /// Registering from inside a handler takes effect from the next envelope.
    pub fn on(&mut self, filter: Filter, handler: impl Handler<A>) {
        self.routes_mut().filtered.push(Route { filter: Some(filter), handler: Arc::new(handler) });
    }

    /// Registers `handler` for mail that no filter matched. All fallbacks
    /// run, in registration order. Mail that no filter and no fallback takes
    /// is counted in [`ActorStats::unhandled`] and logged.
    pub fn fallback(&mut self, handler: impl Handler<A>) {
        self.routes_mut().fallbacks.push(Route { filter: None, handler: Arc::new(handler) });
    }

    /// The handlers, to change: a copy if a dispatch holds them now.
    fn routes_mut(&mut self) -> &mut Routes<A> {
        let routes =
            self.routes.get_or_insert_with(|| Arc::new(Routes { filtered: Vec::new(), fallbacks: Vec::new() }));
        Arc::make_mut(routes)
    }

    /// Waits for the next mail that matches `filter`; other mail stays
    /// queued, in order, for the handlers.
    ///
    /// # Errors
    ///
    /// [`ReceiveError::Timeout`] if none arrives in time;
    /// [`ReceiveError::Closed`] if the mailbox closes.
    pub async fn receive(&mut self, filter: Filter, timeout: Duration) -> Result<Envelope, ReceiveError> {
        let wanted = |mail: &Envelope| !mail.is_poison_pill() && filter.matches(mail);
        if let Some(at) = self.stash.iter().position(wanted) {
            return self.stash.remove(at).map(handed_over).ok_or(ReceiveError::Closed);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match timeout_at(deadline, self.cell.mailbox.recv()).await {
                Err(_) => return Err(ReceiveError::Timeout(timeout)),
                Ok(Received::Interrupted | Received::Closed) => return Err(ReceiveError::Closed),
                Ok(Received::Mail(mail)) if wanted(&mail) => return Ok(handed_over(mail)),
                Ok(Received::Mail(mail)) => self.stash.push_back(mail),
            }
        }
    }

    /// Sends `envelope` as a request and, while waiting for the reply, keeps
    /// handling this actor's incoming mail with its handlers.
    ///
    /// A plain [`Mail::request`] inside a handler blocks the actor until the
    /// reply arrives, like a call in Erlang: if the recipient asks this actor
    /// something before answering, both wait until a timeout. This method
    /// serves such questions meanwhile, so two actors can ask each other.
    /// The price: other handlers may change `actor` while this one waits.
    ///
    /// # Errors
    ///
    /// As [`Mail::request`].
    pub async fn request_serving(
        &mut self,
        actor: &mut A,
        mut envelope: Envelope,
        timeout: Duration,
    ) -> Result<Envelope, RequestError> {
        let deadline = Instant::now() + timeout;
        let (tx, mut rx) = oneshot::channel();
        let to = envelope.recipient().clone();
        envelope.attach(Slots::reply(tx));
        send_by(&self.post.directory, envelope, deadline).await.map_err(|e| e.or_timeout(to.clone(), timeout))?;
        let mut open = true;
        let reply = loop {
            tokio::select! {
                biased;
                reply = &mut rx => break Some(reply),
                () = tokio::time::sleep_until(deadline) => break None,
                received = self.next_mail(), if open && !self.dying => match received {
                    Received::Mail(mail) => Box::into_pin(boxed!(crate::runner::dispatch(actor, self, mail))).await,
                    // Stopping: wait for the reply alone, then let the loop end.
                    Received::Interrupted | Received::Closed => open = false,
                },
            }
        };
        request_outcome(to, timeout, reply)
    }

    /// The next mail to handle: stashed mail first, then the mailbox.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: mail is taken only when the future completes.
    pub(crate) async fn next_mail(&mut self) -> Received {
        match self.stash.pop_front() {
            Some(mail) => Received::Mail(mail),
            None => self.cell.mailbox.recv().await,
        }
    }

    /// The frequency `life` runs at, in hertz; `None` if purely reactive.
    pub fn frequency(&self) -> Option<f64> {
        self.frequency
    }

    /// Changes the frequency (`None`: stop ticking). The new schedule starts
    /// now: the next tick comes one new period from now.
    ///
    /// # Errors
    ///
    /// [`InvalidFrequency`] unless positive and finite; nothing changes then.
    pub fn set_frequency(&mut self, hz: impl Into<Option<f64>>) -> Result<(), InvalidFrequency> {
        let hz = hz.into();
        if let Some(hz) = hz {
            InvalidFrequency::check(hz)?;
        }
        self.frequency = hz;
        self.frequency_changed = true;
        Ok(())
    }

    /// Ends this actor once the current hook or handler returns; `death`
    /// runs with [`ExitReason::Normal`](crate::ExitReason::Normal). Mail
    /// still queued then is counted as dead letters; requests among it fail
    /// with [`RequestError::RecipientStopped`].
    pub fn die(&mut self) {
        self.dying = true;
    }

    /// Pulls the emergency brake: the whole application stops now. Every
    /// actor (this one too) stops after the handler it is in, and runs
    /// `death` with [`ExitReason::Ebrake`](crate::ExitReason::Ebrake)`(reason)`;
    /// [`Builder::run`](crate::Builder::run) returns
    /// [`RunError::Ebrake`](crate::error::RunError::Ebrake). Only the first
    /// pull counts.
    pub fn ebrake(&mut self, reason: impl Into<String>) {
        self.post.directory.ebrake(self.cell.name.clone(), reason.into());
        self.dying = true;
    }

    /// Sends a poison pill; see [`AppHandle::poison`](crate::AppHandle::poison).
    ///
    /// # Errors
    ///
    /// As [`Mail::send`].
    pub async fn poison(&self, to: impl Into<Address>) -> Result<(), crate::error::SendError> {
        self.post.poison(to.into()).await
    }

    /// Starts an actor that was added with autostart off; see
    /// [`AppHandle::start_actor`](crate::AppHandle::start_actor).
    ///
    /// # Errors
    ///
    /// As [`AppHandle::start_actor`](crate::AppHandle::start_actor).
    pub async fn start_actor(&self, name: &str) -> Result<(), crate::error::SpawnError> {
        self.post.directory.start_dormant(name).await
    }

    /// Subscribes to a topic; `false` if already subscribed.
    pub fn subscribe(&self, topic: impl Into<Name>) -> bool {
        self.post.directory.subscribe(topic.into(), &self.cell)
    }

    /// Unsubscribes from a topic; `false` if not subscribed.
    pub fn unsubscribe(&self, topic: &str) -> bool {
        self.post.directory.unsubscribe(topic, &self.cell)
    }

    /// Joins a group (mail to the group goes to one member at a time); `false` if a member already.
    pub fn join(&self, group: impl Into<Name>) -> bool {
        self.post.directory.join(group.into(), &self.cell)
    }

    /// Leaves a group; `false` if not a member.
    pub fn leave(&self, group: &str) -> bool {
        self.post.directory.leave(group, &self.cell)
    }

    /// This actor's counters.
    pub fn stats(&self) -> ActorStats {
        self.cell.stats()
    }

    /// A handle on the whole application: send from outside this actor's
    /// turn, spawn actors, shut down.
    pub fn app(&self) -> AppHandle {
        AppHandle::new(self.post.directory.clone())
    }
}

/// Mail given to user code by [`Context::receive`] counts as handled: a
/// delivery waiting on it completes, and a request gets `NoReply` if the
/// code drops it unanswered.
fn handed_over(mail: Envelope) -> Envelope {
    if let Some((ack, _)) = mail.slots().and_then(|slots| slots.finish(Undelivered::NoReply)) {
        let _ = ack.send(Ok(()));
    }
    mail
}

/// A new incarnation id: unique in this process, and unlikely to repeat in
/// another run, like libchirp's random identities, without drawing random
/// bytes for every start. A counter from a random start, spread over the 64
/// bits by splitmix64's finalizer (a bijection: two counts never meet); never
/// 0, which marks mail from outside the actors.
fn new_incarnation() -> u64 {
    static NEXT: LazyLock<AtomicU64> = LazyLock::new(|| AtomicU64::new(uuid::Uuid::new_v4().as_u64_pair().0));
    let mut z = NEXT.fetch_add(1, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    z.max(1)
}

impl<A: Actor> fmt::Debug for Context<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("name", &self.cell.name)
            .field("frequency", &self.frequency)
            .field("handlers", &self.routes.as_ref().map_or(0, |routes| routes.filtered.len()))
            .field("fallbacks", &self.routes.as_ref().map_or(0, |routes| routes.fallbacks.len()))
            .field("stashed", &self.stash.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incarnations_are_distinct_and_never_zero() {
        let ids: std::collections::HashSet<u64> = (0..100_000).map(|_| new_incarnation()).collect();
        assert_eq!(ids.len(), 100_000);
        assert!(!ids.contains(&0));
        // Spread over the bits, not a visible count.
        let (a, b) = (new_incarnation(), new_incarnation());
        assert!((a ^ b).count_ones() > 8, "{a:016x} then {b:016x}");
    }
}
