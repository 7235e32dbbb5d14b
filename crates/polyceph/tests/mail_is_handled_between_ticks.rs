//! Proves that an actor with a frequency handles mail as soon as it arrives,
//! between ticks: a burst of 100 mails is handled before the next tick,
//! never one mail per tick.

use std::time::Duration;

use polyceph::prelude::*;
use tokio::time::{Instant, sleep, sleep_until};

/// Counts ticks; `work` records how many ticks had run when it was handled;
/// `report` answers `(ticks seen by each work mail, ticks so far)`.
struct Busy {
    ticks: u64,
    life_takes: Duration,
    seen: Vec<u64>,
}

impl Busy {
    fn new(life_takes: Duration) -> Self {
        Self { ticks: 0, life_takes, seen: Vec::new() }
    }
}

impl Actor for Busy {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^work$")?, Self::work);
        ctx.on(Filter::subject("^report$")?, Self::report);
        Ok(())
    }

    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.ticks += 1;
        sleep(self.life_takes).await;
        Ok(())
    }
}

impl Busy {
    async fn work(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.seen.push(self.ticks);
        Ok(())
    }

    async fn report(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, (self.seen.clone(), self.ticks)).send().await?;
        Ok(())
    }
}

async fn report(app: &AppHandle) -> anyhow::Result<(Vec<u64>, u64)> {
    let reply = app.request("busy", "report", (), Duration::from_secs(10)).await?;
    Ok(reply.body()?)
}

#[tokio::test(start_paused = true)]
async fn a_hundred_mails_are_handled_before_the_next_tick() -> anyhow::Result<()> {
    let start = Instant::now();
    let app = Application::builder().actor("busy", Busy::new(Duration::ZERO)).frequency(1.0).start().await?;

    // After the first tick (t = 0), well before the second (t = 1 s).
    sleep_until(start + Duration::from_millis(250)).await;
    for i in 0..100 {
        app.send("busy", "work", i).await?;
    }
    let (seen, ticks) = report(&app).await?;

    assert_eq!(seen, vec![1; 100], "every mail handled after the first tick and before the second");
    assert_eq!(ticks, 1);
    assert_eq!(start.elapsed(), Duration::from_millis(250), "no time passed while handling");
    assert_eq!(app.actor_stats("busy").map(|s| (s.handled, s.queued)), Some((101, 0)));

    // The schedule is untouched: the second tick still comes at 1 s.
    sleep_until(start + Duration::from_millis(1_001)).await;
    assert_eq!(report(&app).await?.1, 2);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn mail_that_arrives_during_life_is_handled_as_soon_as_life_returns() -> anyhow::Result<()> {
    // `life` takes 0.5 s of each 1 s period.
    let start = Instant::now();
    let app =
        Application::builder().actor("busy", Busy::new(Duration::from_millis(500))).frequency(1.0).start().await?;

    // While the first tick is still running.
    sleep_until(start + Duration::from_millis(250)).await;
    for i in 0..100 {
        app.send("busy", "work", i).await?;
    }
    let (seen, ticks) = report(&app).await?;

    assert_eq!(seen, vec![1; 100]);
    assert_eq!(ticks, 1);
    assert_eq!(start.elapsed(), Duration::from_millis(500), "handled the moment life returned");

    app.shutdown().await;
    Ok(())
}
