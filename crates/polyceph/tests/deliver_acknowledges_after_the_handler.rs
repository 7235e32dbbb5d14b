//! Proves that `deliver` returns only once the recipient's handlers have
//! finished with the mail, and that a failing handler, unmatched mail and a
//! timeout are distinct `DeliverError`s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use polyceph::error::DeliverError;
use polyceph::prelude::*;
use tokio::time::Instant;

const WORK: Duration = Duration::from_secs(2);
const TIMEOUT: Duration = Duration::from_secs(5);

/// Handlers that take time before leaving a mark, fail, or take too long.
struct Worker {
    done: Arc<AtomicU32>,
}

impl Actor for Worker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^work$")?, Self::work);
        ctx.on(Filter::subject("^work$")?, Self::work_more);
        ctx.on(Filter::subject("^fail$")?, Self::fail);
        ctx.on(Filter::subject("^dawdle$")?, Self::dawdle);
        Ok(())
    }
}

impl Worker {
    async fn work(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        tokio::time::sleep(WORK).await;
        self.done.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// A second handler for the same mail: `deliver` waits for it too.
    async fn work_more(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        tokio::time::sleep(WORK).await;
        self.done.fetch_add(10, Ordering::SeqCst);
        Ok(())
    }

    async fn fail(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        Err("disk on fire".into())
    }

    async fn dawdle(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        tokio::time::sleep(TIMEOUT * 2).await;
        self.done.fetch_add(100, Ordering::SeqCst);
        Ok(())
    }
}

async fn start() -> anyhow::Result<(AppHandle, Arc<AtomicU32>)> {
    let done = Arc::new(AtomicU32::new(0));
    let app = Application::builder().actor("worker", Worker { done: done.clone() }).start().await?;
    Ok((app, done))
}

#[tokio::test(start_paused = true)]
async fn deliver_returns_after_every_matching_handler_has_finished() -> anyhow::Result<()> {
    let (app, done) = start().await?;

    let started = Instant::now();
    app.mail("worker", "work", ()).deliver(TIMEOUT).await?;
    assert_eq!(done.load(Ordering::SeqCst), 11, "both handlers' effects are visible");
    assert_eq!(started.elapsed(), WORK * 2);

    // Plain `send` returns as soon as the mail is queued, for contrast.
    app.send("worker", "work", ()).await?;
    assert_eq!(done.load(Ordering::SeqCst), 11);
    // A delivery queued behind it is acknowledged after both were handled.
    let started = Instant::now();
    app.mail("worker", "work", ()).deliver(WORK * 5).await?;
    assert_eq!(done.load(Ordering::SeqCst), 33);
    assert_eq!(started.elapsed(), WORK * 4);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_failing_handler_gives_handler_failed() -> anyhow::Result<()> {
    let (app, _done) = start().await?;

    match app.mail("worker", "fail", ()).deliver(TIMEOUT).await {
        Err(DeliverError::HandlerFailed { to, reason }) => {
            assert_eq!(to, Address::actor("worker"));
            assert_eq!(reason, "disk on fire");
        }
        other => panic!("expected handler failed, got {other:?}"),
    }
    assert_eq!(app.actor_stats("worker").map(|s| s.handler_errors), Some(1));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn unmatched_mail_gives_unhandled() -> anyhow::Result<()> {
    let (app, _done) = start().await?;

    match app.mail("worker", "nothing matches this", ()).deliver(TIMEOUT).await {
        Err(DeliverError::Unhandled { to }) => assert_eq!(to, Address::actor("worker")),
        other => panic!("expected unhandled, got {other:?}"),
    }
    assert_eq!(app.actor_stats("worker").map(|s| s.unhandled), Some(1));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_slow_handler_gives_a_timeout_after_exactly_the_timeout() -> anyhow::Result<()> {
    let (app, done) = start().await?;

    let started = Instant::now();
    match app.mail("worker", "dawdle", ()).deliver(TIMEOUT).await {
        Err(DeliverError::Timeout { to, timeout }) => {
            assert_eq!(to, Address::actor("worker"));
            assert_eq!(timeout, TIMEOUT);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(started.elapsed(), TIMEOUT);
    assert_eq!(done.load(Ordering::SeqCst), 0, "the handler is still running");

    app.shutdown().await;
    assert_eq!(done.load(Ordering::SeqCst), 100, "shutdown let the handler finish");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn delivering_to_nobody_fails_to_send() -> anyhow::Result<()> {
    let (app, _done) = start().await?;

    let started = Instant::now();
    match app.mail("nobody", "work", ()).deliver(TIMEOUT).await {
        Err(DeliverError::Send(error)) => {
            assert_eq!(error.to(), &Address::actor("nobody"));
            assert_eq!(error.into_envelope().subject(), "work");
        }
        other => panic!("expected a send error, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::ZERO);

    app.shutdown().await;
    Ok(())
}
