//! Proves what each restart policy restarts after: `Never` nothing (and a
//! handler error is only counted), `OnFailure` a panic or an error but not
//! `die`, `Always` also `die`; and that a policy needs a factory.

use std::time::Duration;

use polyceph::error::SpawnError;
use polyceph::prelude::*;
use polyceph::{Event, Name};

/// Panics, errs or dies on request.
struct Moody;

impl Actor for Moody {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^panic$")?, Self::panic);
        ctx.on(Filter::subject("^err$")?, Self::err);
        ctx.on(Filter::subject("^die$")?, Self::die);
        Ok(())
    }
}

impl Moody {
    async fn panic(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        panic!("boom");
    }

    async fn err(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        Err("bad input".into())
    }

    async fn die(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        ctx.die();
        Ok(())
    }
}

/// What follows `subject` sent to an actor with `restart` within a second:
/// a restart, a stop, or nothing.
async fn after(restart: Restart, subject: &'static str) -> anyhow::Result<Option<Event>> {
    let builder = Application::builder().actor_with("moody", || Moody).restart(restart);
    let mut events = builder.events();
    let app = builder.start().await?;
    app.send("moody", subject, ()).await?;
    let next =
        events.wait_for(Duration::from_secs(1), |e| matches!(e, Event::Restarted { .. } | Event::Stopped { .. })).await;
    app.shutdown().await;
    Ok(next)
}

fn restarted(event: &Option<Event>) -> bool {
    matches!(event, Some(Event::Restarted { .. }))
}

#[tokio::test(start_paused = true)]
async fn each_policy_restarts_after_what_it_says() -> anyhow::Result<()> {
    assert!(!restarted(&after(Restart::Never, "panic").await?));
    assert!(restarted(&after(Restart::OnFailure, "panic").await?));
    assert!(restarted(&after(Restart::OnFailure, "err").await?));
    assert!(!restarted(&after(Restart::OnFailure, "die").await?));
    assert!(restarted(&after(Restart::Always, "die").await?));
    assert_eq!(
        after(Restart::Never, "panic").await?,
        Some(Event::Stopped { actor: Name::new("moody"), reason: ExitReason::Panicked("boom".into()) })
    );
    // Under `Never` a handler error is counted and the actor carries on.
    assert_eq!(after(Restart::Never, "err").await?, None);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_restart_policy_needs_a_factory() -> anyhow::Result<()> {
    let started = Application::builder().actor("moody", Moody).restart(Restart::OnFailure).start().await;
    assert_eq!(started.err(), Some(SpawnError::NotRestartable(Name::new("moody"))));

    let app = Application::builder().start().await?;
    let spawned = app.spawn("moody", Moody, ActorOptions::new().restart(Restart::Always));
    assert_eq!(spawned, Err(SpawnError::NotRestartable(Name::new("moody"))));
    app.spawn_with("moody", || Moody, ActorOptions::new().restart(Restart::Always))?;
    assert!(app.is_running("moody"));
    app.shutdown().await;
    Ok(())
}
