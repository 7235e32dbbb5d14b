//! The actor loop: birth, then ticks and mail until the end, then death.
//!
//! Every hook and handler runs under [`Guarded`], which turns a panic into
//! the actor's end with [`ExitReason::Panicked`]: `death` still runs, the
//! mail it leaves is accounted for, and no other actor notices.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep, sleep_until};
use tracing::Instrument;

use crate::context::{Route, Supervision};
use crate::directory::{ActorCell, Directory};
use crate::envelope::Pill;
use crate::envelope::slots::Undelivered;
use crate::events::Event;
use crate::mail::Post;
use crate::mailbox::Received;
use crate::supervision::{Backoff, Intensity, Restart, RestartWindow, Strategy};
use crate::supervisor::{Go, Report};
use crate::{Actor, Context, Envelope, ExitReason, Mode, Stopwatch};

/// Where an actor's incarnations come from, and how they are supervised.
pub(crate) struct Source<A> {
    maker: Maker<A>,
    supervision: Supervision,
}

impl<A> Source<A> {
    /// One actor, never restarted.
    pub(crate) fn once(actor: A) -> Self {
        Self { maker: Maker::Once(Some(actor)), supervision: Supervision::default() }
    }

    /// A factory source, its actors supervised by `supervision`.
    pub(crate) fn factory(make: impl Fn() -> A + Send + Sync + 'static, supervision: Supervision) -> Self {
        Self { maker: Maker::Factory(Box::new(make)), supervision }
    }

    /// What the task keeps: the maker, the restart policy (only a factory's
    /// actors restart), and the rest of the supervision if it is not the
    /// default (else it is made at the first restart). A factory that
    /// captures nothing and a default supervision, the common case, take
    /// no allocation.
    fn split(self) -> (Maker<A>, Restart, Option<Box<Restarts>>) {
        let Supervision { restart, intensity, backoff } = self.supervision;
        let restart = if matches!(self.maker, Maker::Once(_)) { Restart::Never } else { restart };
        let custom = restart != Restart::Never && (intensity != Intensity::default() || backoff.is_some());
        let restarts = custom.then(|| Box::new(Restarts { intensity, backoff, window: RestartWindow::default() }));
        (self.maker, restart, restarts)
    }
}

/// Makes the actor of each incarnation: a factory that captures nothing is
/// a zero-sized box, which allocates nothing.
enum Maker<A> {
    Once(Option<A>),
    Factory(Box<dyn Fn() -> A + Send + Sync>),
}

impl<A> Maker<A> {
    fn next(&mut self) -> Option<A> {
        match self {
            Self::Once(actor) => actor.take(),
            Self::Factory(make) => Some(make()),
        }
    }
}

/// The intensity and back-off of an actor that can restart, with its recent
/// restarts.
#[derive(Debug, Default)]
struct Restarts {
    intensity: Intensity,
    backoff: Option<Backoff>,
    window: RestartWindow,
}

/// Starts an actor as a task of the application, with the registered
/// `cell`. The receiver completes once its first `birth` is over.
pub(crate) fn launch<A: Actor>(
    directory: &Arc<Directory>,
    cell: Arc<ActorCell>,
    source: Source<A>,
    frequency: Option<f64>,
) -> oneshot::Receiver<()> {
    let (born, birth_over) = oneshot::channel();
    start(directory, cell, source, frequency, Some(born));
    birth_over
}

/// Starts an actor as [`launch`] does; `born`, if any, is told when the
/// first `birth` is over.
pub(crate) fn start<A: Actor>(
    directory: &Arc<Directory>,
    cell: Arc<ActorCell>,
    source: Source<A>,
    frequency: Option<f64>,
    born: Option<oneshot::Sender<()>>,
) {
    let span = tracing::info_span!("actor", actor.name = %cell.name);
    let post = Post { directory: directory.clone(), me: cell.name.clone(), incarnation: 0 };
    let running = run(post, cell.clone(), source, frequency, born).instrument(span);
    match cell.mode {
        Mode::Thread => on_own_thread(directory, &cell, running),
        _ => {
            let task = directory.tracker.spawn(running);
            let _ = cell.abort.set(task.abort_handle());
        }
    }
}

/// Runs the actor on its own OS thread, with a current-thread runtime; a
/// task of the application waits for the thread's end, so that shutdown
/// waits for it too.
fn on_own_thread(directory: &Arc<Directory>, cell: &ActorCell, running: impl Future<Output = ()> + Send + 'static) {
    let (ended, thread_over) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name(format!("polyceph:{}", cell.name)).spawn(move || {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(running),
            // Dropping `running` drops the context: the actor is cleaned up.
            Err(error) => tracing::error!(%error, "cannot build the actor's runtime"),
        }
        drop(ended);
    });
    if let Err(error) = thread {
        // The closure, and with it the context, was dropped: cleaned up.
        tracing::error!(actor.name = %cell.name, %error, "cannot start the actor's thread");
        return;
    }
    let task = directory.tracker.spawn(async move {
        let _ = thread_over.await;
    });
    let _ = cell.abort.set(task.abort_handle());
}

/// Runs incarnations of the actor until one ends without a restart: the
/// future of its task.
///
/// What the task owns is moved into a [`Life`] once, and the loop borrows
/// it: as the arguments of an `async fn`, it would be stored twice in every
/// actor's task, as the arguments and as the locals they are moved into
/// (rust-lang/rust#62958), ~190 bytes of each idle actor.
fn run<A: Actor>(
    post: Post,
    cell: Arc<ActorCell>,
    source: Source<A>,
    frequency: Option<f64>,
    born: Option<oneshot::Sender<()>>,
) -> impl Future<Output = ()> + Send + 'static {
    let (maker, restart, restarts) = source.split();
    let ctx = Context::new(post, cell, frequency, restart);
    let mut life = Life { maker, ctx, born, restarts };
    async move {
        let reason = life.incarnations().await;
        let Life { ctx, .. } = life;
        stopped(ctx, reason);
    }
}

/// What an actor's task owns.
struct Life<A: Actor> {
    maker: Maker<A>,
    /// Holds the restart policy.
    ctx: Context<A>,
    /// Told when the first incarnation's `birth` is over.
    born: Option<oneshot::Sender<()>>,
    /// The rest of the supervision and the recent restarts: from the start
    /// if the supervision is not the default, else from the first restart.
    restarts: Option<Box<Restarts>>,
}

impl<A: Actor> Life<A> {
    /// Runs incarnations until one is not followed by another; why the last
    /// one ended.
    ///
    /// What happens between two incarnations is a future of its own
    /// ([`between`]), so that what it keeps (the exit reason, the actor
    /// being dropped) shares its room in the task with the running
    /// incarnation instead of taking more beside it.
    fn incarnations(&mut self) -> impl Future<Output = ExitReason> + Send + '_ {
        let Self { maker, ctx, born, restarts } = self;
        async move {
            loop {
                let Some(mut actor) = maker.next() else { return ExitReason::Normal };
                let reason = match be_born(&mut actor, ctx, born.take()).await {
                    Ok(()) => run_life(&mut actor, ctx).await,
                    Err(reason) => reason,
                };
                match between(actor, ctx, reason, restarts).await {
                    Ok(next_born) => *born = next_born,
                    Err(reason) => return reason,
                }
            }
        }
    }
}

/// After an incarnation ended with `reason`: runs `death`, then settles
/// whether another incarnation follows (`Ok`, with whom to tell when its
/// `birth` is over) or not (`Err`, why the actor stopped).
async fn between<A: Actor>(
    mut actor: A,
    ctx: &mut Context<A>,
    reason: ExitReason,
    restarts: &mut Option<Box<Restarts>>,
) -> Result<Option<oneshot::Sender<()>>, ExitReason> {
    if let Err(panic) = Guarded::new(actor.death(ctx, &reason)).await {
        tracing::error!(%panic, "death panicked");
    }
    drop(actor);
    let directory = &ctx.post.directory;
    if matches!(reason, ExitReason::Panicked(_) | ExitReason::Failed(_)) {
        directory.events.send(Event::Failed { actor: ctx.cell.name.clone(), reason: reason.clone() });
    }
    let restart = ctx.restart;
    // Most ends need no restart; that is settled here, before the wait for
    // one is boxed.
    if restart == Restart::Never || (!ctx.cell.mailbox.is_recycling() && !restart.restarts_after(&reason)) {
        return Err(reason);
    }
    let restarts = restarts.get_or_insert_with(Box::default);
    // Boxed: a timer or a wait inline would grow every idle actor's task.
    let Some(next_born) = Box::pin(again(directory, &ctx.cell, restart, restarts, &reason)).await else {
        return Err(reason);
    };
    ctx.reincarnate();
    ctx.cell.counters.restarts.bump();
    ctx.post.directory.events.send(Event::Restarted { actor: ctx.cell.name.clone(), incarnation: ctx.incarnation() });
    Ok(next_born)
}

/// After the last incarnation. Dropping the context closes the mailbox and
/// accounts for what is left; the actor is gone from the directory when
/// `Stopped` is heard.
fn stopped<A: Actor>(ctx: Context<A>, reason: ExitReason) {
    let (directory, cell) = (ctx.post.directory.clone(), ctx.cell.clone());
    drop(ctx);
    if let Some(node) = &cell.supervisor {
        node.remove(cell.seq());
    }
    let actor_name = cell.name.clone();
    let was_main = directory.main.get() == Some(&actor_name);
    directory.events.send(Event::Stopped { actor: actor_name, reason });
    if was_main {
        directory.main_stopped();
    }
}

/// Whether another incarnation follows one that ended with `reason`, and
/// when: `None` if not, else once the back-off is over or, for an actor
/// whose supervisor coordinates restarts, once the supervisor starts it
/// again (with the sender to tell it `birth` is over).
async fn again(
    directory: &Arc<Directory>,
    cell: &ActorCell,
    restart: Restart,
    restarts: &mut Restarts,
    reason: &ExitReason,
) -> Option<Option<oneshot::Sender<()>>> {
    if cell.mailbox.is_stopped() || directory.is_stopping() {
        return None;
    }
    let node = cell.supervisor.as_ref();
    // Whether to report to the supervisor, and whether as an escalation.
    let mut report = None;
    // Stopped by its supervisor for a restart: just wait to be started.
    if !cell.mailbox.take_recycle() {
        if !restart.restarts_after(reason) {
            return None;
        }
        match restarts.window.admit(Instant::now(), restarts.intensity, restarts.backoff) {
            None if node.is_none() => {
                directory.escalate(cell.name.clone(), reason.clone());
                return None;
            }
            None => report = Some(true),
            Some(delay) => {
                if !delay.is_zero() && !back_off(delay, directory, cell).await {
                    return None;
                }
                let coordinated = node.is_some_and(|node| node.strategy != Strategy::OneForOne);
                if coordinated {
                    report = Some(false);
                } else if !cell.mailbox.take_recycle() {
                    return Some(None);
                }
            }
        }
    }
    let node = node?;
    let (go, told) = oneshot::channel();
    let seq = cell.seq();
    node.park(seq, go);
    if let Some(escalate) = report {
        directory.report(Report {
            node: node.clone(),
            seq,
            actor: cell.name.clone(),
            reason: reason.clone(),
            escalate,
        });
    }
    let told = tokio::select! {
        told = told => told.ok(),
        () = directory.stopping() => None,
    };
    let Go { fresh, born } = told?;
    if fresh {
        restarts.window = RestartWindow::default();
    }
    cell.mailbox.take_recycle();
    Some(Some(born))
}

/// Runs `birth` and tells `born` it is over; `Err` if the incarnation
/// ends there.
async fn be_born<A: Actor>(
    actor: &mut A,
    ctx: &mut Context<A>,
    born: Option<oneshot::Sender<()>>,
) -> Result<(), ExitReason> {
    tracing::debug!(actor.incarnation = format_args!("{:016x}", ctx.incarnation()), "birth");
    let birth = Guarded::new(actor.birth(ctx)).await;
    if matches!(birth, Ok(Ok(()))) {
        ctx.post.directory.events.send(Event::Started { actor: ctx.cell.name.clone() });
    }
    if let Some(born) = born {
        let _ = born.send(());
    }
    match birth {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::error!(%error, "birth failed");
            return Err(ExitReason::Failed(error.to_string()));
        }
        // The loop does not start: the actor is dying.
        Err(panic) => ctx.fail(ExitReason::Panicked(panic)),
    }
    Ok(())
}

/// Ticks and mail, after `birth`, until the incarnation ends; why it ended.
///
/// A function returning an `async` block rather than an `async fn`, like
/// [`run`]: the arguments are then kept once in the task, not twice.
#[expect(clippy::manual_async_fn, reason = "an `async fn` keeps its arguments twice (rust-lang/rust#62958)")]
fn run_life<'a, A: Actor>(actor: &'a mut A, ctx: &'a mut Context<A>) -> impl Future<Output = ExitReason> + Send + 'a {
    async move {
        let mut ticker = ctx.frequency.map(|hz| Ticker::new(hz, Instant::now()));
        ctx.frequency_changed = false;
        while !ctx.dying {
            if ctx.cell.mailbox.is_interrupted() {
                return stopped_by_app(ctx);
            }
            // Once its shutdown turn has come, the actor only finishes its mail.
            let ticking = ticker.is_some() && !ctx.cell.mailbox.is_winding_down();
            tokio::select! {
                biased;
                Some(due) = next_tick(&mut ticker), if ticking => {
                    tick(actor, ctx, due).await;
                    if let Some(ticker) = &mut ticker {
                        ticker.schedule_after(due, &ctx.cell);
                    }
                    // Mail that waited during the tick goes before the next
                    // one, so a `life` that fills its period cannot starve mail.
                    Box::pin(handle_waiting(actor, ctx)).await;
                }
                received = ctx.next_mail() => match received {
                    // Boxed: inline, the dispatch state would be reserved in
                    // every idle actor's task. A pill needs no handler, so no box.
                    Received::Mail(mail) => {
                        if let Err(mail) = take_pill(ctx, mail) {
                            Box::into_pin(boxed!(dispatch(actor, ctx, mail))).await;
                        }
                    }
                    Received::Interrupted => return stopped_by_app(ctx),
                    Received::Closed => return ExitReason::Normal,
                },
            }
            if std::mem::take(&mut ctx.frequency_changed) {
                ticker = ctx.frequency.map(|hz| Ticker::new(hz, Instant::now() + period(hz)));
            }
        }
        match ctx.failure.take() {
            Some(failure) => failure,
            None if ctx.stash.front().is_some_and(|mail| matches!(mail.pill(), Some(Pill::Shutdown(_)))) => {
                ExitReason::Shutdown
            }
            None => ctx.post.directory.ebraked().map_or(ExitReason::Normal, |(_, reason)| ExitReason::Ebrake(reason)),
        }
    }
}

/// Handles the mail waiting now (not what arrives meanwhile), unless the
/// actor is stopping.
async fn handle_waiting<A: Actor>(actor: &mut A, ctx: &mut Context<A>) {
    let waiting = ctx.stash.len() + ctx.cell.mailbox.len();
    for _ in 0..waiting {
        if ctx.dying {
            return;
        }
        let Some(mail) = ctx.stash.pop_front().or_else(|| ctx.cell.mailbox.try_recv()) else { return };
        dispatch(actor, ctx, mail).await;
    }
}

/// Why an interrupted actor stops: its supervisor's restart, the emergency
/// brake, or a shutdown.
fn stopped_by_app<A: Actor>(ctx: &Context<A>) -> ExitReason {
    if ctx.cell.mailbox.is_recycling() {
        return ExitReason::SupervisorRestart;
    }
    ctx.post.directory.ebraked().map_or(ExitReason::Shutdown, |(_, reason)| ExitReason::Ebrake(reason))
}

/// Waits `delay` before a restart; `false` if the application stops
/// meanwhile. A supervisor's restart request ends the wait early.
async fn back_off(delay: Duration, directory: &Directory, cell: &ActorCell) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = cell.mailbox.interrupted() => !cell.mailbox.is_stopped(),
        () = directory.stopping() => false,
    }
}

/// A drift-free schedule: ticks fall on `start + k * period`.
struct Ticker {
    period: Duration,
    next: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl Ticker {
    fn new(hz: f64, first: Instant) -> Self {
        Self { period: period(hz), next: first, sleep: Box::pin(sleep_until(first)) }
    }

    /// Sets the next tick after the one due at `due` has run. A tick that
    /// ended after the next one was due is an overrun: it is counted and
    /// logged, and the missed ticks are skipped rather than run in a burst.
    fn schedule_after(&mut self, due: Instant, cell: &ActorCell) {
        let now = Instant::now();
        let mut next = due + self.period;
        if now > next {
            let late = now - due;
            let missed = late.as_nanos() / self.period.as_nanos();
            let ahead = self.period.as_nanos() * (missed + 1);
            next = due + Duration::from_nanos(u64::try_from(ahead).unwrap_or(u64::MAX));
            cell.counters.overruns.bump();
            tracing::warn!(
                took = ?late, period = ?self.period, missed_ticks = missed as u64,
                "life overran its period; the missed ticks are skipped"
            );
        }
        self.next = next;
        self.sleep.as_mut().reset(next);
    }
}

/// The period of a frequency already checked by `InvalidFrequency::check`.
fn period(hz: f64) -> Duration {
    Duration::from_secs_f64(1.0 / hz)
}

/// Completes when the next tick is due, with its due time; never without a ticker.
///
/// # Cancel safety
///
/// Cancel safe: waiting changes nothing.
async fn next_tick(ticker: &mut Option<Ticker>) -> Option<Instant> {
    match ticker {
        Some(ticker) => {
            ticker.sleep.as_mut().await;
            Some(ticker.next)
        }
        None => std::future::pending().await,
    }
}

async fn tick<A: Actor>(actor: &mut A, ctx: &mut Context<A>, due: Instant) {
    ctx.cell.counters.ticks.bump();
    let watch = Stopwatch::new();
    match Guarded::new(actor.life(ctx)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            ctx.cell.counters.life_errors.bump();
            tracing::warn!(%error, "life failed");
            if ctx.restart.errors_fail() {
                ctx.fail(ExitReason::Failed(error.to_string()));
            }
        }
        Err(panic) => ctx.fail(ExitReason::Panicked(panic)),
    }
    tracing::trace!(took = ?watch.toc(), late = ?watch.started().saturating_duration_since(due), "tick");
}

/// Runs every handler whose filter matches `mail` (or else the fallbacks),
/// in registration order, then acknowledges a synchronous delivery.
pub(crate) async fn dispatch<A: Actor>(actor: &mut A, ctx: &mut Context<A>, mail: Envelope) {
    let span = tracing::info_span!(
        "mail",
        mail.id = %mail.id(),
        mail.thread = %mail.thread(),
        mail.thread_index = mail.thread_index(),
        mail.subject = mail.subject(),
        mail.sender = %mail.sender(),
    );
    handle(actor, ctx, mail).instrument(span).await;
}

async fn handle<A: Actor>(actor: &mut A, ctx: &mut Context<A>, mail: Envelope) {
    let Err(mail) = take_pill(ctx, mail) else { return };
    let routes = ctx.routes.clone();
    let (filtered, fallbacks) = routes.as_deref().map_or((&[][..], &[][..]), |r| (&r.filtered[..], &r.fallbacks[..]));
    let slots = mail.slots().cloned();
    let mut failure = None;
    let mut last = None;
    // Each matching handler but the last gets a copy; the last gets the original.
    let matching = filtered.iter().filter(|r| r.filter.as_ref().is_none_or(|f| f.matches(&mail)));
    for route in matching {
        if let Some(previous) = last.replace(route) {
            call(previous, actor, ctx, mail.clone(), &mut failure).await;
        }
    }
    if last.is_none() {
        for route in fallbacks {
            if let Some(previous) = last.replace(route) {
                call(previous, actor, ctx, mail.clone(), &mut failure).await;
            }
        }
    }
    let fate = match last {
        Some(route) => {
            call(route, actor, ctx, mail, &mut failure).await;
            ctx.cell.counters.handled.bump();
            match failure {
                // The actor is gone: its requester hears that it stopped.
                _ if ctx.failure.is_some() => Undelivered::Stopped,
                Some(reason) => Undelivered::Failed(reason),
                None => Undelivered::NoReply,
            }
        }
        None => {
            ctx.cell.counters.unhandled.bump();
            tracing::warn!(mail.subject = mail.subject(), "unhandled mail: no filter matched and no fallback");
            drop(mail);
            Undelivered::Unhandled
        }
    };
    // If nobody holds the envelope any more, its requester learns the fate now.
    if let Some((ack, fate)) = slots.and_then(|slots| slots.finish(fate)) {
        let _ = ack.send(if fate == Undelivered::NoReply { Ok(()) } else { Err(fate) });
    }
}

/// Acts on a pill, which no handler sees; ordinary mail comes back as `Err`.
fn take_pill<A: Actor>(ctx: &mut Context<A>, mail: Envelope) -> Result<(), Envelope> {
    match mail.pill() {
        None => return Err(mail),
        // A process actor's child ended; a notice for an earlier
        // incarnation is stale.
        Some(Pill::Ended { incarnation, failure }) => {
            if *incarnation == ctx.incarnation() {
                match failure {
                    Some(failure) => ctx.fail(ExitReason::Failed(failure.clone())),
                    None => ctx.dying = true,
                }
            }
        }
        // Everything queued before it has been handled: stop here.
        Some(Pill::Shutdown(_)) => {
            tracing::debug!("shutdown: stopping");
            // Kept until the context is dropped, after `death`: then the
            // next actor's turn comes. (Set aside with the mail `receive`
            // kept, which nothing takes once the actor is dying.)
            ctx.stash.push_front(mail);
            ctx.dying = true;
        }
        Some(Pill::Poison) => {
            tracing::info!(mail.sender = %mail.sender(), "poison pill: stopping");
            ctx.dying = true;
        }
    }
    Ok(())
}

/// Runs one handler, unless the actor is already on its way out.
async fn call<A: Actor>(
    route: &Route<A>,
    actor: &mut A,
    ctx: &mut Context<A>,
    mail: Envelope,
    failure: &mut Option<String>,
) {
    if ctx.dying {
        return;
    }
    match Guarded::boxed(route.handler.call(actor, ctx, mail)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            ctx.cell.counters.handler_errors.bump();
            tracing::warn!(%error, "handler failed");
            if ctx.restart.errors_fail() {
                ctx.fail(ExitReason::Failed(error.to_string()));
            }
            failure.get_or_insert_with(|| error.to_string());
        }
        Err(panic) => ctx.fail(ExitReason::Panicked(panic)),
    }
}

/// A boxed future whose panic comes out as `Err` with the panic message.
struct Guarded<'a, T> {
    future: Pin<Box<dyn Future<Output = T> + Send + 'a>>,
}

impl<'a, T> Guarded<'a, T> {
    fn new(future: impl Future<Output = T> + Send + 'a) -> Self {
        Self::boxed(Box::pin(future))
    }

    fn boxed(future: Pin<Box<dyn Future<Output = T> + Send + 'a>>) -> Self {
        Self { future }
    }
}

impl<T> Future for Guarded<'_, T> {
    type Output = Result<T, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let future = &mut self.future;
        // The future is dropped right after a panic, never polled again, so
        // no broken state is observed through it.
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

impl<A: Actor> Context<A> {
    /// A hook or handler failed: this incarnation ends with `failure`
    /// (the first one, if several).
    pub(crate) fn fail(&mut self, failure: ExitReason) {
        if let ExitReason::Panicked(message) = &failure {
            tracing::error!(panic = %message, "actor panicked");
        }
        self.failure.get_or_insert(failure);
        self.dying = true;
    }
}

impl<A: Actor> Drop for Context<A> {
    /// The actor has stopped: close its mailbox, account for every envelope
    /// it leaves behind, and take it out of the directory.
    fn drop(&mut self) {
        let directory = &self.post.directory;
        directory.unregister(&self.cell);
        let left = self.stash.drain(..).chain(self.cell.mailbox.close());
        // A pill left over needs no answer; a shutdown's turn passes on as it drops.
        for envelope in left.filter(|envelope| !envelope.is_poison_pill()) {
            envelope.set_fate(Undelivered::Stopped);
            directory.dead_letter(&envelope, "actor stopped with the mail queued");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventSender;
    use crate::{FullPolicy, Name, QueueKind};

    struct Idle;

    impl Actor for Idle {}

    /// The future of an idle actor's task, without the span and tracker
    /// that `start` wraps it in.
    fn task_of(source: Source<Idle>) -> impl Future<Output = ()> {
        let directory = Arc::new(Directory::new(None, EventSender::new(), Duration::from_secs(1), Strategy::OneForOne));
        let cell = Arc::new(ActorCell::new(Name::new("idle"), 1024, QueueKind::Fifo, FullPolicy::Wait));
        let post = Post { directory, me: cell.name.clone(), incarnation: 0 };
        run(post, cell, source, None, None)
    }

    /// Tokio allocates a task in steps of 128 bytes (its cell is cache-line
    /// aligned): with its header, trailer, our span and the task tracker's
    /// handle, a future of up to 488 bytes fits 640, and one byte more
    /// takes every idle actor to 768. This guards the layout work in
    /// `run`, `incarnations` and `run_life` against a change that quietly
    /// grows each actor by a step.
    #[tokio::test]
    async fn an_idle_actors_task_stays_within_its_allocation_step() {
        let once = task_of(Source::once(Idle));
        assert!(size_of_val(&once) <= 488, "{} bytes", size_of_val(&once));
        let factory = task_of(Source::factory(|| Idle, Supervision::default()));
        assert!(size_of_val(&factory) <= 488, "{} bytes", size_of_val(&factory));
    }
}
