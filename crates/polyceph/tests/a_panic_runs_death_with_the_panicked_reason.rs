//! Proves that `death` runs "whatever the reason", panics included: a
//! handler or `life` that panics stops the actor, `death` gets
//! `ExitReason::Panicked` with the panic message, and the rest of the
//! application keeps running.

use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;
use tokio::sync::mpsc;

/// `boom` panics; `life` panics on its second tick. Reports its death.
struct Fragile {
    deaths: mpsc::UnboundedSender<ExitReason>,
    ticks: u64,
}

impl Actor for Fragile {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^boom$")?, Self::boom);
        Ok(())
    }

    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.ticks += 1;
        assert!(self.ticks < 2, "life gave up on tick {}", self.ticks);
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.deaths.send(reason.clone());
    }
}

impl Fragile {
    async fn boom(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        panic!("boom went the handler");
    }
}

/// Answers `ping`.
struct Sturdy;

impl Actor for Sturdy {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ping$")?, Self::ping);
        Ok(())
    }
}

impl Sturdy {
    async fn ping(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, "pong").send().await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_handler_runs_death_with_the_message() -> anyhow::Result<()> {
    let (deaths, mut died) = mpsc::unbounded_channel();
    let app =
        Application::builder().actor("fragile", Fragile { deaths, ticks: 0 }).actor("sturdy", Sturdy).start().await?;

    let asked = app.request("fragile", "boom", (), Duration::from_secs(1)).await;
    assert!(matches!(asked, Err(RequestError::RecipientStopped { .. })), "{asked:?}");

    assert_eq!(died.recv().await, Some(ExitReason::Panicked("boom went the handler".into())));
    assert!(!app.is_running("fragile"));
    let pong = app.request("sturdy", "ping", (), Duration::from_secs(1)).await?;
    assert_eq!(pong.body::<String>()?, "pong");

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_panicking_life_runs_death_with_the_message() -> anyhow::Result<()> {
    let (deaths, mut died) = mpsc::unbounded_channel();
    let app = Application::builder().actor("fragile", Fragile { deaths, ticks: 0 }).frequency(1.0).start().await?;

    app.wait().await;
    assert_eq!(died.recv().await, Some(ExitReason::Panicked("life gave up on tick 2".into())));
    assert!(!app.is_running("fragile"));
    Ok(())
}
