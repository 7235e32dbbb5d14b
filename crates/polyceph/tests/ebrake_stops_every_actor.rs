//! Proves that the emergency brake stops the whole application at once:
//! every actor runs `death` with `ExitReason::Ebrake(reason)`, the pull is
//! an event, `Builder::run` returns `RunError::Ebrake` with who and why, and
//! only the first pull counts.

use polyceph::error::RunError;
use polyceph::prelude::*;
use polyceph::{Event, Name};
use tokio::sync::mpsc;

/// Reports its death; pulls the brake on `brake`.
struct Crew {
    deaths: mpsc::UnboundedSender<(String, ExitReason)>,
}

impl Actor for Crew {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^brake$")?, Self::brake);
        Ok(())
    }

    async fn death(&mut self, ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.deaths.send((ctx.name().to_string(), reason.clone()));
    }
}

impl Crew {
    async fn brake(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.ebrake(mail.body::<String>()?);
        ctx.ebrake("a second pull changes nothing");
        Ok(())
    }
}

fn crew(deaths: &mpsc::UnboundedSender<(String, ExitReason)>) -> Crew {
    Crew { deaths: deaths.clone() }
}

#[tokio::test(start_paused = true)]
async fn every_actor_dies_of_the_brake() -> anyhow::Result<()> {
    let (deaths, mut died) = mpsc::unbounded_channel();
    let builder = Application::builder().actor("a", crew(&deaths)).actor("b", crew(&deaths)).actor("c", crew(&deaths));
    let mut events = builder.events();
    let app = builder.start().await?;

    app.send("b", "brake", "coolant leak").await?;
    app.wait().await;

    let mut all = vec![died.recv().await, died.recv().await, died.recv().await];
    all.sort_by_key(|death| death.as_ref().map(|(name, _)| name.clone()));
    let brake = ExitReason::Ebrake("coolant leak".into());
    assert_eq!(
        all,
        [Some(("a".into(), brake.clone())), Some(("b".into(), brake.clone())), Some(("c".into(), brake.clone()))]
    );
    // Starts, the pull, and a stop for each: read until the last stop.
    let mut seen = Vec::new();
    while seen.iter().filter(|e| matches!(e, Event::Stopped { .. })).count() < 3 {
        seen.push(events.next().await.expect("the application is alive"));
    }
    let pulls: Vec<_> = seen.iter().filter(|e| matches!(e, Event::Ebrake { .. })).collect();
    assert_eq!(pulls, [&Event::Ebrake { by: Name::new("b"), reason: "coolant leak".into() }], "one pull counts");
    Ok(())
}

/// Pulls the brake on its first tick.
struct Panicky;

impl Actor for Panicky {
    async fn life(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.ebrake("sensor out of range");
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn run_returns_the_brake_with_who_and_why() {
    let (deaths, _died) = mpsc::unbounded_channel();
    let outcome =
        Application::builder().actor("panicky", Panicky).frequency(1.0).actor("bystander", crew(&deaths)).run().await;
    match outcome {
        Err(RunError::Ebrake { by, reason }) => {
            assert_eq!(by, Name::new("panicky"));
            assert_eq!(reason, "sensor out of range");
        }
        other => panic!("expected the brake, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_embedding_code_can_pull_the_brake() -> anyhow::Result<()> {
    let (deaths, mut died) = mpsc::unbounded_channel();
    let app = Application::builder().actor("a", crew(&deaths)).start().await?;
    app.ebrake("operator stop");
    app.wait().await;
    assert_eq!(died.recv().await, Some(("a".into(), ExitReason::Ebrake("operator stop".into()))));
    Ok(())
}
