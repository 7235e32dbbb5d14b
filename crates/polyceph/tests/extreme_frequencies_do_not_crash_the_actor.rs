//! Proves that a frequency the runtime accepts (positive and finite) never
//! crashes the actor, however high or low: it is either refused with
//! `InvalidFrequency` or the actor keeps running and answering mail.

use std::time::Duration;

use polyceph::error::SpawnError;
use polyceph::prelude::*;
use tokio::sync::mpsc;
use tokio::time::sleep;

/// Answers `ping`; `set` (body `f64`) sets the frequency and answers whether
/// it was accepted. Reports its death.
struct Robust {
    deaths: mpsc::UnboundedSender<ExitReason>,
}

impl Actor for Robust {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ping$")?, Self::ping);
        ctx.on(Filter::subject("^set$")?, Self::set);
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.deaths.send(reason.clone());
    }
}

impl Robust {
    async fn ping(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, "pong").send().await?;
        Ok(())
    }

    async fn set(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let accepted = ctx.set_frequency(mail.body::<f64>()?).is_ok();
        ctx.reply(&mail, accepted).send().await?;
        Ok(())
    }
}

/// Whether the actor still answers after a while at its frequency.
async fn still_answers(app: &AppHandle) -> bool {
    sleep(Duration::from_secs(3)).await;
    let pong = app.request("robust", "ping", (), Duration::from_secs(1)).await;
    matches!(pong.map(|reply| reply.body::<String>()), Ok(Ok(text)) if text == "pong")
}

/// Starts the actor at `hz`: it must be refused, or keep answering and die
/// of the shutdown.
async fn configured(hz: f64) -> anyhow::Result<()> {
    let (deaths, mut died) = mpsc::unbounded_channel();
    let started = Application::builder().actor("robust", Robust { deaths }).frequency(hz).start().await;
    match started {
        Err(SpawnError::InvalidFrequency(_)) => {}
        Err(other) => panic!("{hz:e} Hz: unexpected error {other}"),
        Ok(app) => {
            assert!(still_answers(&app).await, "{hz:e} Hz: the actor stopped answering");
            app.shutdown().await;
            assert_eq!(died.recv().await, Some(ExitReason::Shutdown), "{hz:e} Hz: death ran");
        }
    }
    Ok(())
}

/// Sets `hz` from a handler: it must be refused, or the actor keeps
/// answering and dies of the shutdown.
async fn set_at_run_time(hz: f64) -> anyhow::Result<()> {
    let (deaths, mut died) = mpsc::unbounded_channel();
    let app = Application::builder().actor("robust", Robust { deaths }).start().await?;
    let accepted = app.request("robust", "set", hz, Duration::from_secs(1)).await?.body::<bool>()?;
    if accepted {
        assert!(still_answers(&app).await, "{hz:e} Hz: the actor stopped answering");
    }
    app.shutdown().await;
    assert_eq!(died.recv().await, Some(ExitReason::Shutdown), "{hz:e} Hz: death ran");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_terahertz_frequency_is_refused_or_works_when_configured() -> anyhow::Result<()> {
    configured(1e12).await
}

#[tokio::test(start_paused = true)]
async fn a_terahertz_frequency_is_refused_or_works_when_set_at_run_time() -> anyhow::Result<()> {
    set_at_run_time(1e12).await
}

#[tokio::test(start_paused = true)]
async fn the_largest_frequency_is_refused_or_works_when_configured() -> anyhow::Result<()> {
    configured(f64::MAX).await
}

#[tokio::test(start_paused = true)]
async fn the_largest_frequency_is_refused_or_works_when_set_at_run_time() -> anyhow::Result<()> {
    set_at_run_time(f64::MAX).await
}

#[tokio::test(start_paused = true)]
async fn a_tiny_frequency_is_refused_or_works_when_configured() -> anyhow::Result<()> {
    configured(1e-30).await
}

#[tokio::test(start_paused = true)]
async fn a_tiny_frequency_is_refused_or_works_when_set_at_run_time() -> anyhow::Result<()> {
    set_at_run_time(1e-30).await
}

#[tokio::test(start_paused = true)]
async fn the_smallest_frequency_is_refused_or_works_when_configured() -> anyhow::Result<()> {
    configured(f64::MIN_POSITIVE).await
}

#[tokio::test(start_paused = true)]
async fn the_smallest_frequency_is_refused_or_works_when_set_at_run_time() -> anyhow::Result<()> {
    set_at_run_time(f64::MIN_POSITIVE).await
}

/// One tick per thousand years: slow, but representable.
const MILLENNIAL: f64 = 1.0 / (1_000.0 * 365.25 * 86_400.0);

#[tokio::test(start_paused = true)]
async fn a_frequency_with_a_millennial_period_works() -> anyhow::Result<()> {
    configured(MILLENNIAL).await?;
    set_at_run_time(MILLENNIAL).await
}
