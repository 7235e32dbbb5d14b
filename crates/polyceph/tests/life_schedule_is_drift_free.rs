//! Proves that ticks fall on `start + k * period`: the time `life` takes
//! does not push later ticks back, and rounding does not accumulate.

use std::time::Duration;

use polyceph::prelude::*;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};

/// Reports when each tick started, relative to `start`, then works for `work`.
struct Worker {
    start: Instant,
    work: Duration,
    ticks: mpsc::UnboundedSender<Duration>,
}

impl Actor for Worker {
    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.ticks.send(self.start.elapsed())?;
        sleep(self.work).await;
        Ok(())
    }
}

/// Starts a worker at `hz` that works `work` per tick, runs it until `until`
/// after the start, and returns the tick times.
async fn tick_times(hz: f64, work: Duration, until: Duration) -> anyhow::Result<Vec<Duration>> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    let app = Application::builder().actor("worker", Worker { start, work, ticks: tx }).frequency(hz).start().await?;
    sleep_until(start + until).await;
    app.shutdown().await;
    let mut times = Vec::new();
    while let Some(at) = rx.recv().await {
        times.push(at);
    }
    Ok(times)
}

#[tokio::test(start_paused = true)]
async fn ticks_are_exact_multiples_of_the_period_when_life_takes_time() -> anyhow::Result<()> {
    // 2 Hz, life takes 0.3 s: a schedule that counted from the end of
    // `life` would tick at 0, 0.8, 1.6, ...
    let times = tick_times(2.0, Duration::from_millis(300), Duration::from_millis(10_250)).await?;

    let expected: Vec<_> = (0..=20).map(|k| Duration::from_millis(500 * k)).collect();
    assert_eq!(times, expected);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn ticks_are_exact_multiples_of_the_period_when_life_is_instant() -> anyhow::Result<()> {
    let times = tick_times(4.0, Duration::ZERO, Duration::from_millis(5_100)).await?;

    let expected: Vec<_> = (0..=20).map(|k| Duration::from_millis(250 * k)).collect();
    assert_eq!(times, expected);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_inexact_period_does_not_accumulate_error() -> anyhow::Result<()> {
    // 3 Hz: the period is 333.333... ms, which the timer (1 ms resolution)
    // cannot hit. Each tick may be up to 1 ms late, but no more, even after
    // 300 ticks: the error does not add up.
    let times = tick_times(3.0, Duration::from_millis(100), Duration::from_millis(100_100)).await?;

    assert_eq!(times.len(), 301, "ticks at k/3 s for k = 0..=300");
    let period = Duration::from_secs_f64(1.0 / 3.0);
    for (k, at) in (0_u32..).zip(&times) {
        let due = period * k;
        assert!(*at >= due && *at - due < Duration::from_millis(1), "tick {k} at {at:?}, due at {due:?}");
    }
    Ok(())
}
