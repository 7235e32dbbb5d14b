//! Proves that `life` runs at the actor's frequency, starting right after
//! birth, that an actor without a frequency never ticks, and that the global
//! frequency applies to actors that set none unless they opt out with
//! `.reactive()`.

use std::time::Duration;

use polyceph::error::{InvalidFrequency, SpawnError};
use polyceph::prelude::*;
use tokio::time::{Instant, sleep_until};

/// Counts its ticks and answers `count` with the number.
#[derive(Default)]
struct Ticker {
    ticks: u64,
}

impl Actor for Ticker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^count$")?, Self::count);
        Ok(())
    }

    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.ticks += 1;
        Ok(())
    }
}

impl Ticker {
    async fn count(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, self.ticks).send().await?;
        Ok(())
    }
}

/// The number of ticks `name` counted itself, asked by request.
async fn ticks(app: &AppHandle, name: &str) -> anyhow::Result<u64> {
    let reply = app.request(name, "count", (), Duration::from_secs(1)).await?;
    Ok(reply.body::<u64>()?)
}

#[tokio::test(start_paused = true)]
async fn two_hertz_ticks_twenty_times_in_ten_seconds() -> anyhow::Result<()> {
    let start = Instant::now();
    let app = Application::builder().actor("ticker", Ticker::default()).frequency(2.0).start().await?;

    // Ticks fall at 0, 0.5, ..., 9.5 s: twenty of them before 10 s.
    sleep_until(start + Duration::from_millis(9_999)).await;
    assert_eq!(ticks(&app, "ticker").await?, 20);
    assert_eq!(app.actor_stats("ticker").map(|s| s.ticks), Some(20));

    // The 21st falls at exactly 10 s.
    sleep_until(start + Duration::from_millis(10_001)).await;
    assert_eq!(ticks(&app, "ticker").await?, 21);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_first_tick_comes_right_after_birth() -> anyhow::Result<()> {
    let start = Instant::now();
    let app = Application::builder().actor("ticker", Ticker::default()).frequency(2.0).start().await?;

    // One tick at t = 0, the next one period later, not one period after birth.
    sleep_until(start + Duration::from_millis(499)).await;
    assert_eq!(ticks(&app, "ticker").await?, 1);
    sleep_until(start + Duration::from_millis(501)).await;
    assert_eq!(ticks(&app, "ticker").await?, 2);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_fifth_of_a_hertz_ticks_every_five_seconds() -> anyhow::Result<()> {
    let start = Instant::now();
    let app = Application::builder().actor("slow", Ticker::default()).frequency(0.2).start().await?;

    for (at_ms, expected) in [(4_999, 1), (5_001, 2), (9_999, 2), (10_001, 3), (14_999, 3), (15_001, 4)] {
        sleep_until(start + Duration::from_millis(at_ms)).await;
        assert_eq!(ticks(&app, "slow").await?, expected, "ticks at {at_ms} ms");
    }

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_actor_without_a_frequency_never_ticks() -> anyhow::Result<()> {
    let start = Instant::now();
    let app = Application::builder().actor("reactive", Ticker::default()).start().await?;

    sleep_until(start + Duration::from_secs(60)).await;
    assert_eq!(ticks(&app, "reactive").await?, 0);
    assert_eq!(app.actor_stats("reactive").map(|s| s.ticks), Some(0));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_global_frequency_applies_to_actors_that_set_none() -> anyhow::Result<()> {
    let start = Instant::now();
    let app = Application::builder()
        .global_frequency(1.0)
        .actor("default", Ticker::default())
        .actor("own", Ticker::default())
        .frequency(4.0)
        .actor("reactive", Ticker::default())
        .reactive()
        .start()
        .await?;

    // 1 Hz: ticks at 0, 1, ..., 9 s. 4 Hz: at 0, 0.25, ..., 9.75 s.
    sleep_until(start + Duration::from_millis(9_999)).await;
    assert_eq!(ticks(&app, "default").await?, 10);
    assert_eq!(ticks(&app, "own").await?, 40);
    assert_eq!(ticks(&app, "reactive").await?, 0);
    assert_eq!(app.actor_stats("reactive").map(|s| s.ticks), Some(0));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_actor_spawned_later_gets_the_global_frequency_too() -> anyhow::Result<()> {
    let app = Application::builder().global_frequency(2.0).actor("first", Ticker::default()).start().await?;
    let spawned_at = Instant::now();
    app.spawn("late", Ticker::default(), ActorOptions::new())?;
    app.spawn("late-reactive", Ticker::default(), ActorOptions::new().reactive())?;

    sleep_until(spawned_at + Duration::from_millis(4_999)).await;
    assert_eq!(ticks(&app, "late").await?, 10);
    assert_eq!(ticks(&app, "late-reactive").await?, 0);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_invalid_frequency_fails_the_start() -> anyhow::Result<()> {
    for hz in [0.0, -1.0, f64::INFINITY] {
        let started = Application::builder().actor("ticker", Ticker::default()).frequency(hz).start().await;
        assert_eq!(started.err(), Some(SpawnError::InvalidFrequency(InvalidFrequency(hz))), "{hz} Hz");
    }
    let started = Application::builder().global_frequency(-2.0).actor("ticker", Ticker::default()).start().await;
    assert_eq!(started.err(), Some(SpawnError::InvalidFrequency(InvalidFrequency(-2.0))));

    let app = Application::builder().actor("ticker", Ticker::default()).start().await?;
    let spawned = app.spawn("late", Ticker::default(), ActorOptions::new().frequency(0.0));
    assert_eq!(spawned, Err(SpawnError::InvalidFrequency(InvalidFrequency(0.0))));
    assert!(!app.is_running("late"));

    app.shutdown().await;
    Ok(())
}
