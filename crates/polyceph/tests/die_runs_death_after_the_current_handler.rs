//! Proves that `Context::die` lets the current handler finish, then runs
//! `death` with `ExitReason::Normal`; the actor leaves the directory, mail
//! queued behind is counted as dead letters, and a request queued behind
//! fails with `RequestError::RecipientStopped`.

use std::future::poll_fn;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use polyceph::error::{RequestError, SendError};
use polyceph::prelude::*;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// What a mortal actor went through, in order.
#[derive(Debug, PartialEq)]
enum Event {
    Dying,
    HandlerFinished,
    Handled(String),
    Ticked(u64),
    Death(ExitReason),
}

/// `die` calls `Context::die`, then waits for the gate before finishing.
/// `life` dies on tick `die_on_tick`, if set.
struct Mortal {
    events: mpsc::UnboundedSender<Event>,
    gate: Option<oneshot::Receiver<()>>,
    ticks: u64,
    die_on_tick: Option<u64>,
}

impl Actor for Mortal {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^die$")?, Self::die);
        ctx.on(!Filter::subject("^die$")?, Self::other);
        Ok(())
    }

    async fn life(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        self.ticks += 1;
        self.events.send(Event::Ticked(self.ticks))?;
        if Some(self.ticks) == self.die_on_tick {
            ctx.die();
        }
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.events.send(Event::Death(reason.clone()));
    }
}

impl Mortal {
    async fn die(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        ctx.die();
        self.events.send(Event::Dying)?;
        if let Some(gate) = self.gate.take() {
            gate.await?;
        }
        self.events.send(Event::HandlerFinished)?;
        Ok(())
    }

    async fn other(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.events.send(Event::Handled(mail.subject().to_owned()))?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn die_finishes_the_handler_then_runs_death_and_drops_the_queue() -> anyhow::Result<()> {
    let (events, mut seen) = mpsc::unbounded_channel();
    let (open, gate) = oneshot::channel();
    let mortal = Mortal { events, gate: Some(gate), ticks: 0, die_on_tick: None };
    let app = Application::builder().actor("mortal", mortal).start().await?;

    app.send("mortal", "before", ()).await?;
    app.send("mortal", "die", ()).await?;
    assert_eq!(seen.recv().await, Some(Event::Handled("before".into())));
    assert_eq!(seen.recv().await, Some(Event::Dying));

    // The actor is inside the dying handler: queue mail and a request behind it.
    app.send("mortal", "after 1", ()).await?;
    app.send("mortal", "after 2", ()).await?;
    let mut question = pin!(app.request("mortal", "question", (), Duration::from_secs(10)));
    poll_fn(|cx| {
        assert!(question.as_mut().poll(cx).is_pending(), "the request waits for its reply");
        Poll::Ready(())
    })
    .await;
    assert_eq!(app.actor_stats("mortal").map(|s| s.queued), Some(3));
    assert!(app.is_running("mortal"), "still in its handler");

    let asked_at = Instant::now();
    open.send(()).map_err(|()| anyhow::anyhow!("the handler stopped waiting"))?;
    match question.await {
        Err(RequestError::RecipientStopped { to }) => assert_eq!(to.to_string(), "mortal"),
        other => panic!("expected RequestError::RecipientStopped, got {other:?}"),
    }
    assert_eq!(asked_at.elapsed(), Duration::ZERO, "the request failed at once, not at its timeout");
    app.wait().await;

    assert_eq!(seen.recv().await, Some(Event::HandlerFinished));
    assert_eq!(seen.recv().await, Some(Event::Death(ExitReason::Normal)));
    assert_eq!(seen.recv().await, None, "nothing handled after the dying handler");

    assert!(!app.is_running("mortal"));
    assert_eq!(app.actor_stats("mortal"), None);
    let stats = app.stats();
    assert_eq!(stats.dead_letters, 3, "two mails and the request");
    assert_eq!(stats.actors, 0);

    // Mail to it now has nowhere to go.
    let sent = app.send("mortal", "too late", ()).await;
    assert!(matches!(sent, Err(SendError::NoSuchRecipient { .. })), "{sent:?}");
    assert_eq!(app.stats().dead_letters, 4);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn die_in_life_runs_death_after_that_tick() -> anyhow::Result<()> {
    let (events, mut seen) = mpsc::unbounded_channel();
    let mortal = Mortal { events, gate: None, ticks: 0, die_on_tick: Some(3) };
    let start = Instant::now();
    let app = Application::builder().actor("mortal", mortal).frequency(1.0).start().await?;

    app.wait().await;
    assert_eq!(start.elapsed(), Duration::from_secs(2), "died on the tick at 2 s");
    for expected in [Event::Ticked(1), Event::Ticked(2), Event::Ticked(3), Event::Death(ExitReason::Normal)] {
        assert_eq!(seen.recv().await, Some(expected));
    }
    assert_eq!(seen.recv().await, None);
    assert!(!app.is_running("mortal"));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn other_actors_live_on_when_one_dies() -> anyhow::Result<()> {
    let (events, mut seen) = mpsc::unbounded_channel();
    let (other_events, mut other_seen) = mpsc::unbounded_channel();
    let mortal = Mortal { events, gate: None, ticks: 0, die_on_tick: None };
    let survivor = Mortal { events: other_events, gate: None, ticks: 0, die_on_tick: None };
    let app = Application::builder().actor("mortal", mortal).actor("survivor", survivor).start().await?;

    app.send("mortal", "die", ()).await?;
    assert_eq!(seen.recv().await, Some(Event::Dying));
    assert_eq!(seen.recv().await, Some(Event::HandlerFinished));
    assert_eq!(seen.recv().await, Some(Event::Death(ExitReason::Normal)));
    // The channel closes when the actor is dropped, once its task is over.
    assert_eq!(seen.recv().await, None);
    assert!(!app.is_running("mortal"));
    assert!(app.is_running("survivor"));
    app.send("survivor", "still here", ()).await?;
    assert_eq!(other_seen.recv().await, Some(Event::Handled("still here".into())));

    app.shutdown().await;
    assert_eq!(other_seen.recv().await, Some(Event::Death(ExitReason::Shutdown)));
    Ok(())
}

/// Dies in its birth.
struct DiesAtBirth {
    events: mpsc::UnboundedSender<Event>,
}

impl Actor for DiesAtBirth {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::any(), Self::anything);
        ctx.die();
        Ok(())
    }

    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.events.send(Event::Ticked(1))?;
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.events.send(Event::Death(reason.clone()));
    }
}

impl DiesAtBirth {
    async fn anything(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.events.send(Event::Handled(mail.subject().to_owned()))?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn die_in_birth_runs_death_at_once() -> anyhow::Result<()> {
    let (events, mut seen) = mpsc::unbounded_channel();
    // `start` returns once birth is over; the actor died in it.
    let app = Application::builder().actor("brief", DiesAtBirth { events }).frequency(10.0).start().await?;
    app.wait().await;
    assert_eq!(seen.recv().await, Some(Event::Death(ExitReason::Normal)));
    assert_eq!(seen.recv().await, None, "no tick, no handler");
    let sent = app.send("brief", "hello", ()).await;
    assert!(matches!(sent, Err(polyceph::error::SendError::NoSuchRecipient { .. })), "{sent:?}");
    assert_eq!(app.stats().dead_letters, 1);
    Ok(())
}
