//! Proves that an escalation in an embedded application (`start`, no
//! `run`) shuts it down gracefully by itself: once the failing actor
//! exceeds its restart intensity, every other actor runs `death` with
//! `ExitReason::Shutdown`, one at a time in reverse start order, and
//! `AppHandle::wait` returns without anyone calling `shutdown`.

use std::time::Duration;

use polyceph::prelude::*;
use polyceph::{Event, Name};
use tokio::sync::mpsc;

/// Logs its `death`; `fail` ends the incarnation with an error.
struct Mortal {
    log: mpsc::UnboundedSender<String>,
}

impl Actor for Mortal {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^fail$")?, Self::fail);
        Ok(())
    }

    async fn death(&mut self, ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.log.send(format!("{} death: {reason}", ctx.name()));
    }
}

impl Mortal {
    async fn fail(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        Err("broken".into())
    }
}

/// Starts the actors named in `order` (`flaky` restarts once at most
/// within a minute), fails `flaky` twice, and returns the deaths logged
/// and the `Stopped` events, in order, once the application stopped.
async fn escalate(order: &[&'static str]) -> anyhow::Result<(Vec<String>, Vec<(Name, ExitReason)>)> {
    let (tx, mut log) = mpsc::unbounded_channel();
    let (&first, rest) = order.split_first().expect("some actors");
    assert_ne!(first, "flaky", "`flaky` has a predecessor");
    // Every actor ticks, also while it waits for its turn to stop.
    let mut builder = Application::builder().global_frequency(1.0).actor(first, Mortal { log: tx.clone() });
    for &name in rest {
        builder = if name == "flaky" {
            let log = tx.clone();
            builder
                .actor_with(name, move || Mortal { log: log.clone() })
                .restart(Restart::OnFailure)
                .intensity(1, Duration::from_secs(60))
        } else {
            builder.actor(name, Mortal { log: tx.clone() })
        };
    }
    drop(tx);
    let mut events = builder.events();
    let app = builder.start().await?;

    app.send("flaky", "fail", ()).await?;
    let restarted = events.wait_for(Duration::from_secs(1), |e| matches!(e, Event::Restarted { .. })).await;
    assert!(matches!(&restarted, Some(Event::Restarted { actor, .. }) if actor.is("flaky")), "{restarted:?}");
    app.send("flaky", "fail", ()).await?;
    let failure = ExitReason::Failed("broken".into());
    assert_eq!(
        events.wait_for(Duration::from_secs(1), |e| matches!(e, Event::Escalated { .. })).await,
        Some(Event::Escalated { actor: Name::new("flaky"), reason: failure }),
    );

    // Nobody calls `shutdown`: the escalation stops the application.
    app.wait().await;
    assert_eq!(app.stats().actors, 0);
    assert_eq!(app.stats().dead_letters, 0);

    let mut deaths = Vec::new();
    while let Some(death) = log.recv().await {
        deaths.push(death);
    }
    let mut stopped = Vec::new();
    while stopped.len() < order.len() {
        match events.next().await {
            Some(Event::Stopped { actor, reason }) => stopped.push((actor, reason)),
            Some(_) => {}
            None => panic!("the application is gone after {stopped:?}"),
        }
    }
    Ok((deaths, stopped))
}

/// The `Stopped` events of the actors other than `flaky`, in order, after
/// checking that `flaky` stopped with its failure.
fn others(stopped: &[(Name, ExitReason)]) -> Vec<(String, ExitReason)> {
    assert!(stopped.contains(&(Name::new("flaky"), ExitReason::Failed("broken".into()))), "{stopped:?}");
    stopped
        .iter()
        .filter(|(actor, _)| !actor.is("flaky"))
        .map(|(actor, reason)| (actor.to_string(), reason.clone()))
        .collect()
}

fn shutdown(name: &str) -> (String, ExitReason) {
    (name.to_owned(), ExitReason::Shutdown)
}

#[tokio::test(start_paused = true)]
async fn the_others_die_of_the_shutdown_in_reverse_start_order() -> anyhow::Result<()> {
    let (deaths, stopped) = escalate(&["zeta", "alpha", "flaky", "mu", "beta"]).await?;

    assert_eq!(
        deaths,
        [
            "flaky death: failed: broken",
            "flaky death: failed: broken",
            "beta death: shutdown",
            "mu death: shutdown",
            "alpha death: shutdown",
            "zeta death: shutdown",
        ]
    );
    assert_eq!(others(&stopped), [shutdown("beta"), shutdown("mu"), shutdown("alpha"), shutdown("zeta")]);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_order_holds_when_the_last_started_actor_escalates() -> anyhow::Result<()> {
    let (deaths, stopped) = escalate(&["zeta", "alpha", "mu", "flaky"]).await?;

    assert_eq!(
        deaths,
        [
            "flaky death: failed: broken",
            "flaky death: failed: broken",
            "mu death: shutdown",
            "alpha death: shutdown",
            "zeta death: shutdown",
        ]
    );
    assert_eq!(others(&stopped), [shutdown("mu"), shutdown("alpha"), shutdown("zeta")]);
    Ok(())
}
