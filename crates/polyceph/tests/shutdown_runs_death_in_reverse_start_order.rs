//! Proves that `AppHandle::shutdown` stops the actors one at a time in
//! reverse start order (the actors added to the builder, then one spawned
//! later), that an actor waiting for its turn still handles mail, so mail
//! sent from a later actor's `death` to an earlier one is handled and no
//! dead letter, and that a restarted actor keeps its place in the order.

use std::time::Duration;

use polyceph::prelude::*;
use polyceph::{Event, Name};
use tokio::sync::mpsc;

/// Logs each goodbye it handles and its own `death`; on a shutdown it says
/// goodbye to `previous`, the actor started just before it. `fail` ends
/// the incarnation with an error (a failure under `Restart::OnFailure`).
struct Farewell {
    previous: Option<&'static str>,
    log: mpsc::UnboundedSender<String>,
}

impl Farewell {
    fn new(previous: Option<&'static str>, log: &mpsc::UnboundedSender<String>) -> Self {
        Self { previous, log: log.clone() }
    }

    async fn goodbye(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.log.send(format!("{} got goodbye from {}", ctx.name(), mail.sender()))?;
        Ok(())
    }

    async fn fail(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        Err("crash".into())
    }
}

impl Actor for Farewell {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^goodbye$")?, Self::goodbye);
        ctx.on(Filter::subject("^fail$")?, Self::fail);
        Ok(())
    }

    async fn death(&mut self, ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.log.send(format!("{} death: {reason}", ctx.name()));
        let Some(previous) = self.previous else { return };
        if *reason == ExitReason::Shutdown
            && let Err(error) = ctx.mail(previous, "goodbye", ()).send().await
        {
            let _ = self.log.send(format!("{} could not say goodbye: {error}", ctx.name()));
        }
    }
}

/// Everything logged until every actor (every sender) is gone.
async fn everything(mut log: mpsc::UnboundedReceiver<String>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(line) = log.recv().await {
        out.push(line);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn deaths_come_in_reverse_start_order_and_each_goodbye_is_handled() -> anyhow::Result<()> {
    let (tx, log) = mpsc::unbounded_channel();
    // Start order zeta, alpha, mu, then beta: neither alphabetical nor its reverse.
    let app = Application::builder()
        .actor("zeta", Farewell::new(None, &tx))
        .actor("alpha", Farewell::new(Some("zeta"), &tx))
        .frequency(2.0)
        .actor("mu", Farewell::new(Some("alpha"), &tx))
        .start()
        .await?;
    let mut events = app.events();
    app.spawn("beta", Farewell::new(Some("mu"), &tx), ActorOptions::new())?;
    drop(tx);
    assert!(events.started("beta", Duration::from_secs(1)).await, "the spawned actor started");

    let aborted = app.shutdown().await;

    assert!(aborted.is_empty(), "aborted: {aborted:?}");
    assert_eq!(
        everything(log).await,
        [
            "beta death: shutdown",
            "mu got goodbye from beta",
            "mu death: shutdown",
            "alpha got goodbye from mu",
            "alpha death: shutdown",
            "zeta got goodbye from alpha",
            "zeta death: shutdown",
        ]
    );
    assert_eq!(app.stats().dead_letters, 0, "every goodbye reached a running actor");
    assert_eq!(app.stats().actors, 0);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_stopped_events_come_in_reverse_start_order() -> anyhow::Result<()> {
    let (tx, _log) = mpsc::unbounded_channel();
    let builder = Application::builder()
        .actor("zeta", Farewell::new(None, &tx))
        .actor("alpha", Farewell::new(Some("zeta"), &tx))
        .actor("mu", Farewell::new(Some("alpha"), &tx));
    let mut events = builder.events();
    let app = builder.start().await?;
    app.spawn("beta", Farewell::new(Some("mu"), &tx), ActorOptions::new())?;
    assert!(events.started("beta", Duration::from_secs(1)).await, "the spawned actor started");

    app.shutdown().await;

    let mut stopped = Vec::new();
    while stopped.len() < 4 {
        match events.next().await {
            Some(Event::Stopped { actor, reason }) => stopped.push((actor, reason)),
            Some(_) => {}
            None => panic!("the application is gone after {stopped:?}"),
        }
    }
    let shutdown = |name: &str| (Name::new(name), ExitReason::Shutdown);
    assert_eq!(stopped, [shutdown("beta"), shutdown("mu"), shutdown("alpha"), shutdown("zeta")]);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_restarted_actor_keeps_its_place_in_the_order() -> anyhow::Result<()> {
    let (tx, mut log) = mpsc::unbounded_channel();
    let phoenix_log = tx.clone();
    let builder = Application::builder()
        .actor("first", Farewell::new(None, &tx))
        .actor_with("phoenix", move || Farewell::new(Some("first"), &phoenix_log))
        .restart(Restart::OnFailure)
        .actor("last", Farewell::new(Some("phoenix"), &tx));
    drop(tx);
    let mut events = builder.events();
    let app = builder.start().await?;

    // Crash it once: its new incarnation started after `last`.
    app.send("phoenix", "fail", ()).await?;
    let restarted = events.wait_for(Duration::from_secs(1), |event| matches!(event, Event::Restarted { .. })).await;
    assert!(matches!(restarted, Some(Event::Restarted { actor, .. }) if actor.is("phoenix")));
    assert_eq!(log.recv().await.as_deref(), Some("phoenix death: failed: crash"));

    let aborted = app.shutdown().await;

    assert!(aborted.is_empty(), "aborted: {aborted:?}");
    assert_eq!(
        everything(log).await,
        [
            "last death: shutdown",
            "phoenix got goodbye from last",
            "phoenix death: shutdown",
            "first got goodbye from phoenix",
            "first death: shutdown",
        ]
    );
    assert_eq!(app.stats().dead_letters, 0);
    Ok(())
}
