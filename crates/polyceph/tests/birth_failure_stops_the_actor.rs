//! Proves that an error from `birth` stops the actor: `death` runs with
//! `ExitReason::Failed` carrying the error's message, `life` never runs, the
//! handlers registered before the error never run, and the actor is no
//! longer running.

use std::time::Duration;

use polyceph::error::SendError;
use polyceph::prelude::*;
use tokio::sync::mpsc;

/// Registers a handler, then fails its birth.
struct Stillborn {
    events: mpsc::UnboundedSender<String>,
}

impl Actor for Stillborn {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::any(), Self::anything);
        Err("no configuration found".into())
    }

    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.events.send("life".into())?;
        Ok(())
    }

    async fn death(&mut self, ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.events.send(format!("death: {reason:?}, ticks {}", ctx.stats().ticks));
    }
}

impl Stillborn {
    async fn anything(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.events.send(format!("handled {}", mail.subject()))?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_birth_runs_death_with_the_error_and_stops_the_actor() -> anyhow::Result<()> {
    let (events, mut seen) = mpsc::unbounded_channel();
    // `start` returns once birth is over, here failed.
    let app = Application::builder().actor("stillborn", Stillborn { events }).frequency(10.0).start().await?;
    app.wait().await;
    assert_eq!(seen.recv().await.as_deref(), Some(r#"death: Failed("no configuration found"), ticks 0"#));
    assert_eq!(seen.recv().await, None, "no life, no handler");

    assert!(!app.is_running("stillborn"));
    assert_eq!(app.actor_stats("stillborn"), None);
    let sent = app.send("stillborn", "hello", ()).await;
    assert!(matches!(sent, Err(SendError::NoSuchRecipient { .. })), "{sent:?}");
    assert_eq!(app.stats().dead_letters, 1, "the mail sent after the failed birth");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_failed_birth_stops_only_that_actor() -> anyhow::Result<()> {
    let (events, mut seen) = mpsc::unbounded_channel();
    let app = Application::builder().actor("stillborn", Stillborn { events }).actor("healthy", Healthy).start().await?;

    let death = seen.recv().await;
    assert_eq!(death.as_deref(), Some(r#"death: Failed("no configuration found"), ticks 0"#));
    assert_eq!(seen.recv().await, None);
    assert!(!app.is_running("stillborn"));

    let reply = app.request("healthy", "ping", (), Duration::from_secs(1)).await?;
    assert_eq!(reply.body::<String>()?, "pong");

    app.shutdown().await;
    Ok(())
}

#[test]
fn the_failure_reason_displays_the_error() {
    let reason = ExitReason::Failed("no configuration found".into());
    assert_eq!(reason.to_string(), "failed: no configuration found");
}

/// Answers `ping` with `pong`.
struct Healthy;

impl Actor for Healthy {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ping$")?, Self::ping);
        Ok(())
    }
}

impl Healthy {
    async fn ping(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, "pong").send().await?;
        Ok(())
    }
}
