//! Proves that the mailbox outlives an incarnation: with 1000 mails
//! queued, an actor that panics at mail 500 is restarted and its next
//! incarnation handles the rest, so all 1000 are handled exactly once, in
//! order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use polyceph::prelude::*;
use tokio::sync::mpsc;

/// Records each number it handles; panics once, at 500.
struct Counter {
    handled: mpsc::UnboundedSender<u32>,
    crashed: Arc<AtomicBool>,
}

impl Actor for Counter {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^number$")?, Self::number);
        Ok(())
    }
}

impl Counter {
    async fn number(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let n = mail.body::<u32>()?;
        self.handled.send(n)?;
        if n == 500 && !self.crashed.swap(true, Ordering::SeqCst) {
            panic!("crash at {n}");
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn all_thousand_mails_are_handled_exactly_once() -> anyhow::Result<()> {
    let (handled, mut seen) = mpsc::unbounded_channel();
    let crashed = Arc::new(AtomicBool::new(false));
    let factory = move || Counter { handled: handled.clone(), crashed: crashed.clone() };
    let app = Application::builder()
        .actor_with("counter", factory)
        .restart(Restart::OnFailure)
        .capacity(2048)
        .start()
        .await?;
    for n in 0..1000_u32 {
        app.send("counter", "number", n).await?;
    }
    let mut got = Vec::with_capacity(1000);
    while got.len() < 1000 {
        got.push(seen.recv().await.expect("the counter lives on"));
    }
    assert_eq!(got, (0..1000).collect::<Vec<_>>(), "each once, in order");
    let stats = app.actor_stats("counter").expect("running");
    assert_eq!(stats.restarts, 1);
    assert_eq!(app.stats().dead_letters, 0);
    app.shutdown().await;
    Ok(())
}
