//! Proves that `Context::set_frequency` changes the tick rate from then on
//! (the new schedule starts one new period after the change), that `None`
//! stops the ticks, that an invalid frequency is an error that changes
//! nothing, and that `Context::frequency` reads the current value.

use std::time::Duration;

use polyceph::error::{InvalidFrequency, SpawnError};
use polyceph::prelude::*;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// Reports each tick's time relative to `start`. `set` (body `Option<f64>`)
/// changes the frequency and answers `Ok(hz)` with the frequency after the
/// call, or `Err((bits of the rejected value, message))`. `get` answers the
/// frequency.
struct Tunable {
    start: Instant,
    ticks: mpsc::UnboundedSender<Duration>,
    /// Frequency to switch to from `life`, after this many ticks.
    change_in_life: Option<(u32, Option<f64>)>,
    ticked: u32,
    frequency_at_birth: mpsc::UnboundedSender<Option<f64>>,
}

impl Tunable {
    fn new(start: Instant) -> (Self, mpsc::UnboundedReceiver<Duration>, mpsc::UnboundedReceiver<Option<f64>>) {
        let (ticks, ticks_rx) = mpsc::unbounded_channel();
        let (frequency_at_birth, birth_rx) = mpsc::unbounded_channel();
        let actor = Self { start, ticks, change_in_life: None, ticked: 0, frequency_at_birth };
        (actor, ticks_rx, birth_rx)
    }
}

impl Actor for Tunable {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        self.frequency_at_birth.send(ctx.frequency())?;
        ctx.on(Filter::subject("^set$")?, Self::set);
        ctx.on(Filter::subject("^get$")?, Self::get);
        Ok(())
    }

    async fn life(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        self.ticks.send(self.start.elapsed())?;
        self.ticked += 1;
        if let Some((after, hz)) = self.change_in_life
            && self.ticked == after
        {
            ctx.set_frequency(hz)?;
        }
        Ok(())
    }
}

impl Tunable {
    async fn set(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let hz: Option<f64> = mail.body()?;
        // On error: the rejected value (as bits: NaN never equals itself) and the message.
        let outcome: Result<Option<f64>, (u64, String)> = match ctx.set_frequency(hz) {
            Ok(()) => Ok(ctx.frequency()),
            Err(error) => Err((error.0.to_bits(), error.to_string())),
        };
        ctx.reply(&mail, outcome).send().await?;
        Ok(())
    }

    async fn get(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, ctx.frequency()).send().await?;
        Ok(())
    }
}

async fn set(app: &AppHandle, hz: Option<f64>) -> anyhow::Result<Result<Option<f64>, (u64, String)>> {
    let reply = app.request("tunable", "set", hz, Duration::from_secs(1)).await?;
    Ok(reply.body()?)
}

async fn get(app: &AppHandle) -> anyhow::Result<Option<f64>> {
    let reply = app.request("tunable", "get", (), Duration::from_secs(1)).await?;
    Ok(reply.body()?)
}

/// Every tick reported so far.
fn drain(rx: &mut mpsc::UnboundedReceiver<Duration>) -> Vec<u64> {
    let mut out = Vec::new();
    while let Ok(at) = rx.try_recv() {
        out.push(u64::try_from(at.as_millis()).unwrap_or(u64::MAX));
    }
    out
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[tokio::test(start_paused = true)]
async fn a_new_frequency_applies_from_one_new_period_after_the_change() -> anyhow::Result<()> {
    let start = Instant::now();
    let (actor, mut ticks, _birth) = Tunable::new(start);
    let app = Application::builder().actor("tunable", actor).frequency(2.0).start().await?;

    sleep_until(start + ms(1_250)).await;
    assert_eq!(get(&app).await?, Some(2.0));
    assert_eq!(set(&app, Some(4.0)).await?, Ok(Some(4.0)));
    assert_eq!(get(&app).await?, Some(4.0));

    // 2 Hz until 1.25 s (0, 0.5, 1.0), then 4 Hz from 1.25 s: 1.5, 1.75, ...
    sleep_until(start + ms(2_600)).await;
    assert_eq!(drain(&mut ticks), [0, 500, 1_000, 1_500, 1_750, 2_000, 2_250, 2_500]);

    // Slower again: 1 Hz from 2.6 s: 3.6, 4.6, ...
    assert_eq!(set(&app, Some(1.0)).await?, Ok(Some(1.0)));
    sleep_until(start + ms(6_000)).await;
    assert_eq!(drain(&mut ticks), [3_600, 4_600, 5_600]);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn none_stops_the_ticks_and_a_frequency_restarts_them() -> anyhow::Result<()> {
    let start = Instant::now();
    let (actor, mut ticks, _birth) = Tunable::new(start);
    let app = Application::builder().actor("tunable", actor).frequency(2.0).start().await?;

    sleep_until(start + ms(1_250)).await;
    assert_eq!(set(&app, None).await?, Ok(None));
    assert_eq!(get(&app).await?, None);

    sleep_until(start + ms(60_000)).await;
    assert_eq!(drain(&mut ticks), [0, 500, 1_000]);
    assert_eq!(app.actor_stats("tunable").map(|s| s.ticks), Some(3));

    // A reactive actor starts ticking one period after it gets a frequency.
    assert_eq!(set(&app, Some(0.5)).await?, Ok(Some(0.5)));
    sleep_until(start + ms(66_500)).await;
    assert_eq!(drain(&mut ticks), [62_000, 64_000, 66_000]);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_invalid_frequency_is_an_error_and_changes_nothing() -> anyhow::Result<()> {
    let start = Instant::now();
    let (actor, mut ticks, _birth) = Tunable::new(start);
    let app = Application::builder().actor("tunable", actor).frequency(2.0).start().await?;

    // Invalid changes at 1.25 s: had any of them reset the schedule (even to
    // 2 Hz), the next tick would come at 1.75 s instead of 1.5 s.
    sleep_until(start + ms(1_250)).await;
    for hz in [0.0, -0.0, -2.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e12, 1e-30, 1000.5] {
        let outcome = set(&app, Some(hz)).await?;
        let (rejected, message) = outcome.expect_err("an invalid frequency is an error");
        assert_eq!(rejected, hz.to_bits(), "the error names the rejected value");
        assert_eq!(message, InvalidFrequency(hz).to_string());
        assert_eq!(get(&app).await?, Some(2.0), "after trying {hz}");
    }

    sleep_until(start + ms(2_250)).await;
    assert_eq!(drain(&mut ticks), [0, 500, 1_000, 1_500, 2_000]);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn set_frequency_works_from_life_too() -> anyhow::Result<()> {
    let start = Instant::now();
    let (mut actor, mut ticks, _birth) = Tunable::new(start);
    // After its third tick (at 1.0 s), slow down to 0.5 Hz: next at 3.0 s.
    actor.change_in_life = Some((3, Some(0.5)));
    let app = Application::builder().actor("tunable", actor).frequency(2.0).start().await?;

    sleep_until(start + ms(7_500)).await;
    assert_eq!(drain(&mut ticks), [0, 500, 1_000, 3_000, 5_000, 7_000]);
    assert_eq!(get(&app).await?, Some(0.5));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn frequency_reads_the_configured_or_global_value() -> anyhow::Result<()> {
    let start = Instant::now();
    let (own, _own_ticks, mut own_birth) = Tunable::new(start);
    let (global, _global_ticks, mut global_birth) = Tunable::new(start);
    let (reactive, _reactive_ticks, mut reactive_birth) = Tunable::new(start);
    let app = Application::builder()
        .global_frequency(5.0)
        .actor("own", own)
        .frequency(0.2)
        .actor("global", global)
        .actor("reactive", reactive)
        .reactive()
        .start()
        .await?;

    assert_eq!(own_birth.recv().await, Some(Some(0.2)));
    assert_eq!(global_birth.recv().await, Some(Some(5.0)));
    assert_eq!(reactive_birth.recv().await, Some(None));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_invalid_global_frequency_fails_the_start() {
    let (actor, _ticks, _birth) = Tunable::new(Instant::now());
    let started = Application::builder().global_frequency(0.0).actor("tunable", actor).reactive().start().await;
    assert_eq!(started.err(), Some(SpawnError::InvalidFrequency(InvalidFrequency(0.0))));
}
