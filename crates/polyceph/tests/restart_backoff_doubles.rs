//! Proves exponential back-off between restarts: the first restart waits
//! the first delay, each next one twice as long, up to the maximum.

use std::time::Duration;

use polyceph::Event;
use polyceph::prelude::*;
use tokio::time::Instant;

/// Fails in `birth`, every time.
struct Doomed;

impl Actor for Doomed {
    async fn birth(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        Err("still broken".into())
    }
}

#[tokio::test(start_paused = true)]
async fn restarts_wait_one_two_four_then_four_seconds() -> anyhow::Result<()> {
    let builder = Application::builder()
        .actor_with("doomed", || Doomed)
        .restart(Restart::OnFailure)
        .intensity(10, Duration::from_secs(60))
        .backoff(Duration::from_secs(1), Duration::from_secs(4));
    let mut events = builder.events();
    let start = Instant::now();
    let app = builder.start().await?;
    let mut at = Vec::new();
    while at.len() < 4 {
        if let Some(Event::Restarted { .. }) = events.next().await {
            at.push(start.elapsed().as_secs());
        }
    }
    assert_eq!(at, [1, 3, 7, 11], "waits of 1, 2, 4 and 4 s (the maximum)");
    app.shutdown().await;
    Ok(())
}
