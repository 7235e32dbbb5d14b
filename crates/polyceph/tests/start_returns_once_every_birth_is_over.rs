//! Proves that `Builder::start` returns once every actor's `birth` is over,
//! so what actors set up in `birth` (topic subscriptions, group membership,
//! handlers) is in place for the caller's first mail; and that births run
//! concurrently, each actor already able to receive mail from the others.

use std::time::Duration;

use polyceph::prelude::*;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Takes `delay` to be born, then subscribes to `news` and joins `crew`.
struct Slow {
    delay: Duration,
    seen: mpsc::UnboundedSender<String>,
}

impl Actor for Slow {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        tokio::time::sleep(self.delay).await;
        ctx.subscribe("news");
        ctx.join("crew");
        ctx.fallback(Self::record);
        Ok(())
    }
}

impl Slow {
    async fn record(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.seen.send(format!("{} got {}", ctx.name(), mail.subject()))?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn what_birth_sets_up_is_ready_when_start_returns() -> anyhow::Result<()> {
    let (seen, mut rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let app = Application::builder()
        .actor("one", Slow { delay: Duration::from_secs(2), seen: seen.clone() })
        .actor("two", Slow { delay: Duration::from_secs(3), seen })
        .start()
        .await?;
    // Births ran side by side: three seconds, not five.
    assert_eq!(started.elapsed(), Duration::from_secs(3));

    app.send(Address::topic("news"), "headline", ()).await?;
    app.send(Address::group("crew"), "chore", ()).await?;
    let mut got = vec![rx.recv().await, rx.recv().await, rx.recv().await];
    got.sort();
    assert_eq!(
        got,
        [Some("one got chore".to_owned()), Some("one got headline".to_owned()), Some("two got headline".to_owned())]
    );
    app.shutdown().await;
    Ok(())
}

/// Mails `listener` from its birth, before `listener`'s own birth is over.
struct Early;

impl Actor for Early {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.mail("listener", "hello from birth", ()).send().await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn an_actor_can_mail_another_from_its_birth() -> anyhow::Result<()> {
    let (seen, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder()
        .actor("early", Early)
        .actor("listener", Slow { delay: Duration::from_secs(1), seen })
        .start()
        .await?;
    assert_eq!(rx.recv().await.as_deref(), Some("listener got hello from birth"));
    app.shutdown().await;
    Ok(())
}
