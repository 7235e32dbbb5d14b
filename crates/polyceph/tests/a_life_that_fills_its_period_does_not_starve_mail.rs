//! Proves that mail waiting when a `life` tick ends is handled before the
//! next tick, even when `life` takes its whole period and the next tick is
//! due the moment it returns: requests are answered at the end of the tick
//! in progress, and the ticks keep coming, one per period.

use std::time::Duration;

use polyceph::prelude::*;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, sleep_until};

/// At 2 Hz; each `life` sleeps a whole period. `ping` is answered with the
/// number of ticks so far.
struct Sleeper {
    ticks: u64,
}

const PERIOD: Duration = Duration::from_millis(500);

impl Actor for Sleeper {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ping$")?, Self::ping);
        Ok(())
    }

    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.ticks += 1;
        sleep(PERIOD).await;
        Ok(())
    }
}

impl Sleeper {
    async fn ping(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, self.ticks).send().await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn requests_are_answered_between_ticks_that_fill_their_period() -> anyhow::Result<()> {
    let start = Instant::now();
    let app = Application::builder().actor("sleeper", Sleeper { ticks: 0 }).frequency(2.0).start().await?;

    for k in 0..8_u32 {
        // Halfway through tick `k` (from 0), which runs from k × 0.5 s to (k + 1) × 0.5 s.
        let asked = start + PERIOD * k + PERIOD / 2;
        sleep_until(asked).await;
        // Two periods: far more than the rest of the tick in progress.
        let reply = app.request("sleeper", "ping", (), PERIOD * 2).await;
        let reply = reply.map_err(|e| anyhow::anyhow!("ping during tick {k}: {e}"))?;
        assert_eq!(asked.elapsed(), PERIOD / 2, "answered as soon as tick {k} returned");
        assert_eq!(reply.body::<u64>()?, u64::from(k) + 1, "one tick per period, none skipped");
    }

    let stats = app.actor_stats("sleeper").expect("running");
    assert_eq!(stats.handled, 8, "every ping was handled");
    assert!(stats.ticks >= 8, "ticks kept coming: {}", stats.ticks);
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_burst_sent_during_a_tick_is_all_handled_before_the_next() -> anyhow::Result<()> {
    let start = Instant::now();
    let app = Application::builder().actor("sleeper", Sleeper { ticks: 0 }).frequency(2.0).start().await?;

    sleep_until(start + PERIOD * 3 + PERIOD / 2).await;
    let mut pings = JoinSet::new();
    for _ in 0..10 {
        let app = app.clone();
        pings.spawn(async move { app.request("sleeper", "ping", (), PERIOD * 2).await });
    }
    while let Some(reply) = pings.join_next().await {
        assert_eq!(reply??.body::<u64>()?, 4, "every ping queued during the fourth tick is handled before the fifth");
    }
    assert_eq!(start.elapsed(), PERIOD * 4);
    app.shutdown().await;
    Ok(())
}
