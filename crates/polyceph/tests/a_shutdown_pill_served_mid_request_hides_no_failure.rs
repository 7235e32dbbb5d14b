//! Proves that an actor which takes its shutdown pill while a handler
//! serves mail during `request_serving` still reports how that handler
//! ended: a panic after the pill is `ExitReason::Panicked`, not `Shutdown`.

use std::future::poll_fn;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use polyceph::prelude::*;
use tokio::sync::{Notify, mpsc};

/// Answers `question` once the gate opens.
struct Answerer {
    arrived: mpsc::UnboundedSender<()>,
    gate: Arc<Notify>,
}

impl Actor for Answerer {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^question$")?, Self::answer);
        Ok(())
    }
}

impl Answerer {
    async fn answer(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.arrived.send(())?;
        self.gate.notified().await;
        ctx.reply(&mail, "answer").send().await?;
        Ok(())
    }
}

/// On `work`, asks the answerer while serving its own mail, then panics.
struct Asker {
    deaths: mpsc::UnboundedSender<ExitReason>,
}

impl Actor for Asker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^work$")?, Self::work);
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.deaths.send(reason.clone());
    }
}

impl Asker {
    async fn work(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        let question = ctx.envelope("answerer", "question", ());
        ctx.request_serving(self, question, Duration::from_secs(60)).await?;
        panic!("after the reply");
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_after_the_pill_is_still_the_reason() -> anyhow::Result<()> {
    let (arrived, mut question_arrived) = mpsc::unbounded_channel();
    let (deaths, mut died) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    // Started last, the asker has the first turn.
    let app = Application::builder()
        .actor("answerer", Answerer { arrived, gate: gate.clone() })
        .actor("asker", Asker { deaths })
        .start()
        .await?;
    app.send("asker", "work", ()).await?;
    question_arrived.recv().await;

    // The first poll begins the shutdown: the asker's pill is queued.
    let mut shutdown = pin!(app.shutdown());
    poll_fn(|cx| {
        assert!(shutdown.as_mut().poll(cx).is_pending(), "the asker is still in its handler");
        Poll::Ready(())
    })
    .await;
    // `request_serving` takes the pill while it waits for the answer.
    while app.actor_stats("asker").is_some_and(|stats| stats.queued > 0) {
        tokio::task::yield_now().await;
    }
    gate.notify_one();

    assert!(shutdown.await.is_empty());
    assert_eq!(died.recv().await, Some(ExitReason::Panicked("after the reply".into())));
    Ok(())
}
