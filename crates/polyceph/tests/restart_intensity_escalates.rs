//! Proves the restart intensity: an actor that keeps failing is restarted
//! at most N times within T; the next failure escalates, the application
//! stops, and `run` says which actor and why (exit status 5). Restarts
//! that fall out of the window are forgiven.

use std::time::Duration;

use polyceph::error::RunError;
use polyceph::prelude::*;
use polyceph::{Event, Name};

/// Fails in `birth`, every time.
struct Doomed;

impl Actor for Doomed {
    async fn birth(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        Err("cannot open the device".into())
    }
}

#[tokio::test(start_paused = true)]
async fn the_failure_past_the_intensity_escalates_and_stops_the_application() {
    let builder = Application::builder()
        .actor_with("doomed", || Doomed)
        .restart(Restart::OnFailure)
        .intensity(3, Duration::from_secs(5))
        .actor("bystander", polyceph::testing::Probe::new().0);
    let mut events = builder.events();
    let outcome = builder.run().await;

    let failure = ExitReason::Failed("cannot open the device".into());
    match &outcome {
        Err(RunError::Escalated { actor, reason }) => {
            assert_eq!(actor, &Name::new("doomed"));
            assert_eq!(reason, &failure);
        }
        other => panic!("expected an escalation, got {other:?}"),
    }
    assert_eq!(outcome.err().map(|e| e.exit_code()), Some(5));

    let mut failures = 0;
    let mut restarts = 0;
    let mut escalated = false;
    while let Some(event) = events.next().await {
        match event {
            Event::Failed { .. } => failures += 1,
            Event::Restarted { .. } => restarts += 1,
            Event::Escalated { actor, reason } => {
                assert_eq!((actor, reason), (Name::new("doomed"), failure.clone()));
                escalated = true;
            }
            Event::Stopped { actor, reason } if actor.is("bystander") => assert_eq!(reason, ExitReason::Shutdown),
            _ => {}
        }
    }
    assert_eq!((failures, restarts, escalated), (4, 3, true), "three restarts, then the fourth failure escalates");
}

/// Panics when told to.
struct Flaky;

impl Actor for Flaky {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^fail$")?, Self::fail);
        Ok(())
    }
}

impl Flaky {
    async fn fail(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        panic!("flaky");
    }
}

#[tokio::test(start_paused = true)]
async fn failures_spread_out_over_time_are_forgiven() -> anyhow::Result<()> {
    let builder = Application::builder()
        .actor_with("flaky", || Flaky)
        .restart(Restart::OnFailure)
        .intensity(1, Duration::from_secs(5));
    let mut events = builder.events();
    let app = builder.start().await?;
    for _ in 0..3 {
        app.send("flaky", "fail", ()).await?;
        assert!(events.wait_for(Duration::from_secs(1), |e| matches!(e, Event::Restarted { .. })).await.is_some());
        // Out of the five-second window before the next failure.
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    assert_eq!(app.actor_stats("flaky").map(|s| s.restarts), Some(3));
    app.shutdown().await;
    Ok(())
}
