//! Proves that `AppHandle::shutdown` stops every actor, each after the
//! mail queued before its poison pill, with `death` getting
//! `ExitReason::Shutdown`, and that `shutdown` and `wait` return once all
//! have stopped.

use std::future::poll_fn;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use polyceph::error::SpawnError;
use polyceph::prelude::*;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

/// Reports its death; `slow` takes five seconds and reports when it starts
/// and ends.
struct Witness {
    name: &'static str,
    events: mpsc::UnboundedSender<String>,
}

impl Actor for Witness {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^slow$")?, Self::slow);
        ctx.on(Filter::subject("^question$")?, Self::answer);
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.events.send(format!("{} death: {reason}", self.name));
    }
}

impl Witness {
    async fn slow(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.events.send(format!("{} slow start", self.name))?;
        sleep(Duration::from_secs(5)).await;
        self.events.send(format!("{} slow end", self.name))?;
        Ok(())
    }

    async fn answer(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, "answer").send().await?;
        Ok(())
    }
}

fn witness(name: &'static str, events: &mpsc::UnboundedSender<String>) -> Witness {
    Witness { name, events: events.clone() }
}

/// Everything reported so far, in order.
fn reported(rx: &mut mpsc::UnboundedReceiver<String>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(event) = rx.try_recv() {
        out.push(event);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn every_actor_dies_with_the_shutdown_reason() -> anyhow::Result<()> {
    let (events, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder()
        .actor("ticking", witness("ticking", &events))
        .frequency(2.0)
        .actor("reactive", witness("reactive", &events))
        .start()
        .await?;
    app.spawn("spawned", witness("spawned", &events), ActorOptions::new().frequency(0.5))?;
    drop(events);
    sleep(Duration::from_secs(3)).await;
    assert_eq!(app.stats().actors, 3);

    app.shutdown().await;

    // Last started first.
    assert_eq!(reported(&mut rx), ["spawned death: shutdown", "reactive death: shutdown", "ticking death: shutdown"]);
    assert_eq!(rx.recv().await, None, "every actor has been dropped");
    app.wait().await;
    for name in ["ticking", "reactive", "spawned"] {
        assert!(!app.is_running(name), "{name}");
    }
    assert_eq!(app.stats().actors, 0);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn shutdown_handles_the_mail_queued_before_the_pill() -> anyhow::Result<()> {
    let (events, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder()
        .actor("busy", witness("busy", &events))
        .actor("idle", witness("idle", &events))
        .start()
        .await?;
    drop(events);

    app.send("busy", "slow", ()).await?;
    assert_eq!(rx.recv().await.as_deref(), Some("busy slow start"));
    let started = Instant::now();

    // Queued behind the slow handler, before the pill: both are handled.
    app.send("busy", "slow", ()).await?;
    let mut question = pin!(app.request("busy", "question", (), Duration::from_secs(60)));
    poll_fn(|cx| {
        assert!(question.as_mut().poll(cx).is_pending(), "the request waits for its reply");
        Poll::Ready(())
    })
    .await;

    app.shutdown().await;
    assert_eq!(started.elapsed(), Duration::from_secs(10), "both slow handlers ran to their end");

    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    assert_eq!(
        events,
        [
            // Started last, `idle` stops first, while `busy` is busy.
            "idle death: shutdown",
            "busy slow end",
            "busy slow start",
            "busy slow end",
            "busy death: shutdown",
        ]
    );
    assert_eq!(question.await?.body::<String>()?, "answer");
    assert_eq!(app.stats().dead_letters, 0, "nothing queued was lost");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn wait_returns_when_the_app_is_shut_down() -> anyhow::Result<()> {
    let (events, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("one", witness("one", &events)).frequency(1.0).start().await?;
    drop(events);

    let waiter = tokio::spawn({
        let app = app.clone();
        async move { app.wait().await }
    });
    sleep(Duration::from_secs(10)).await;
    assert!(!waiter.is_finished(), "the actor is still running");

    app.shutdown().await;
    waiter.await?;
    assert_eq!(rx.recv().await.as_deref(), Some("one death: shutdown"));

    // Shutting down again is harmless; nothing more starts.
    app.shutdown().await;
    let spawned = app.spawn("late", witness("late", &mpsc::unbounded_channel().0), ActorOptions::new());
    assert_eq!(spawned, Err(SpawnError::ShuttingDown));
    assert!(!app.is_running("late"));
    Ok(())
}

/// Ticks at 1 Hz, counting; `slow` takes five seconds; reports its ticks at death.
struct Ticking {
    events: mpsc::UnboundedSender<String>,
}

impl Actor for Ticking {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^slow$")?, Self::slow);
        Ok(())
    }

    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.events.send("tick".into())?;
        Ok(())
    }

    async fn death(&mut self, ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.events.send(format!("death: {reason} after {} ticks", ctx.stats().ticks));
    }
}

impl Ticking {
    async fn slow(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.events.send("slow start".into())?;
        sleep(Duration::from_secs(5)).await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn no_tick_runs_once_the_actors_turn_to_stop_has_come() -> anyhow::Result<()> {
    let (events, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("ticking", Ticking { events }).frequency(1.0).start().await?;

    // Ticks at 0 s; the slow handler starts at 0.5 s and holds the actor
    // past the tick due at 1 s. Shutdown is asked for meanwhile (the only
    // actor, its turn comes at once): once the handler returns, the actor
    // dies, without running the overdue tick.
    sleep(Duration::from_millis(500)).await;
    app.send("ticking", "slow", ()).await?;
    assert_eq!(rx.recv().await.as_deref(), Some("tick"));
    assert_eq!(rx.recv().await.as_deref(), Some("slow start"));
    app.shutdown().await;

    assert_eq!(rx.recv().await.as_deref(), Some("death: shutdown after 1 ticks"));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_right_after_the_start_allows_no_tick_after_the_first() -> anyhow::Result<()> {
    let (events, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("ticking", Ticking { events }).frequency(1.0).start().await?;

    // `start` returned after birth, and the first tick is due right after
    // birth; the shutdown stops the actor before any other tick.
    app.shutdown().await;

    assert_eq!(rx.recv().await.as_deref(), Some("tick"));
    assert_eq!(rx.recv().await.as_deref(), Some("death: shutdown after 1 ticks"));
    Ok(())
}
