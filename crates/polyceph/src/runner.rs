//! The actor loop: birth, then ticks and mail until the end, then death.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep_until};
use tracing::Instrument;

use crate::context::Route;
use crate::directory::{ActorCell, Directory};
use crate::envelope::slots::Undelivered;
use crate::mail::Post;
use crate::{Actor, Context, Envelope, ExitReason, Stopwatch};

/// Starts `actor` as a task of the application, with the registered `cell`.
pub(crate) fn launch<A: Actor>(directory: &Arc<Directory>, cell: Arc<ActorCell>, actor: A, frequency: Option<f64>) {
    let span = tracing::info_span!("actor", actor.name = %cell.name);
    let post = Post { directory: directory.clone(), me: cell.name.clone() };
    let ctx = Context::new(post, cell, frequency);
    directory.tracker.spawn(run(actor, ctx).instrument(span));
}

async fn run<A: Actor>(mut actor: A, mut ctx: Context<A>) {
    let reason = live(&mut actor, &mut ctx).await;
    Box::pin(actor.death(&mut ctx, &reason)).await;
    tracing::info!(%reason, "actor stopped");
    // Dropping the context closes the mailbox and accounts for what is left.
}

async fn live<A: Actor>(actor: &mut A, ctx: &mut Context<A>) -> ExitReason {
    tracing::debug!("birth");
    if let Err(error) = Box::pin(actor.birth(ctx)).await {
        tracing::error!(%error, "birth failed");
        return ExitReason::Failed(error.to_string());
    }
    let shutdown = ctx.post.directory.shutdown.clone();
    let mut ticker = ctx.frequency.map(|hz| Ticker::new(hz, Instant::now()));
    ctx.frequency_changed = false;
    while !ctx.dying {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return ExitReason::Shutdown,
            Some(due) = next_tick(&mut ticker) => {
                tick(actor, ctx, due).await;
                if let Some(ticker) = &mut ticker {
                    ticker.schedule_after(due, &ctx.cell);
                }
            }
            mail = ctx.next_mail() => match mail {
                Some(mail) => dispatch(actor, ctx, mail).await,
                None => return ExitReason::Normal,
            },
        }
        if std::mem::take(&mut ctx.frequency_changed) {
            ticker = ctx.frequency.map(|hz| Ticker::new(hz, Instant::now() + period(hz)));
        }
    }
    ExitReason::Normal
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
    /// ran past the next due time is an overrun: it is counted and logged,
    /// and the missed ticks are skipped rather than run in a burst.
    fn schedule_after(&mut self, due: Instant, cell: &ActorCell) {
        let now = Instant::now();
        let mut next = due + self.period;
        if now >= next {
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
    if let Err(error) = Box::pin(actor.life(ctx)).await {
        ctx.cell.counters.life_errors.bump();
        tracing::warn!(%error, "life failed");
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
    let routes = ctx.routes.clone();
    let slots = mail.slots().cloned();
    let mut failure = None;
    let mut last = None;
    // Each matching handler but the last gets a copy; the last gets the original.
    for route in routes.filtered.iter().filter(|r| r.filter.as_ref().is_none_or(|f| f.matches(&mail))) {
        if let Some(previous) = last.replace(route) {
            call(previous, actor, ctx, mail.clone(), &mut failure).await;
        }
    }
    if last.is_none() {
        for route in &routes.fallbacks {
            if let Some(previous) = last.replace(route) {
                call(previous, actor, ctx, mail.clone(), &mut failure).await;
            }
        }
    }
    let fate = match last {
        Some(route) => {
            call(route, actor, ctx, mail, &mut failure).await;
            ctx.cell.counters.handled.bump();
            failure.map_or(Undelivered::NoReply, Undelivered::Failed)
        }
        None => {
            ctx.cell.counters.unhandled.bump();
            tracing::warn!(mail.subject = mail.subject(), "unhandled mail: no filter matched and no fallback");
            drop(mail);
            Undelivered::Unhandled
        }
    };
    if let Some(slots) = slots {
        if let Some(ack) = slots.take_ack() {
            let _ = ack.send(if fate == Undelivered::NoReply { Ok(()) } else { Err(fate.clone()) });
        }
        // If nobody holds the envelope any more, its requester learns this now.
        slots.set_fate(fate);
    }
}

async fn call<A: Actor>(
    route: &Route<A>,
    actor: &mut A,
    ctx: &mut Context<A>,
    mail: Envelope,
    failure: &mut Option<String>,
) {
    if let Err(error) = route.handler.call(actor, ctx, mail).await {
        ctx.cell.counters.handler_errors.bump();
        tracing::warn!(%error, "handler failed");
        failure.get_or_insert_with(|| error.to_string());
    }
}

impl<A: Actor> Drop for Context<A> {
    /// The actor has stopped: close its mailbox, account for every envelope
    /// it leaves behind, and take it out of the directory.
    fn drop(&mut self) {
        let directory = &self.post.directory;
        directory.unregister(&self.cell);
        let left = self.stash.drain(..).chain(self.cell.mailbox.close());
        for envelope in left {
            envelope.set_fate(Undelivered::Stopped);
            directory.dead_letter(&envelope, "actor stopped with the mail queued");
        }
        if std::thread::panicking() {
            tracing::error!(actor.name = %self.cell.name, "actor panicked");
        }
    }
}
