//! Proves that mail to `Address::Everyone` reaches every running actor
//! exactly once, except the actor that sent it.

mod support;

use std::time::Duration;

use polyceph::error::SendError;
use polyceph::prelude::*;
use support::{Probe, next};
use tokio::sync::mpsc;

const TIMEOUT: Duration = Duration::from_secs(1);

/// On `shout`, sends a broadcast; reports everything else it handles.
struct Shouter {
    seen: mpsc::UnboundedSender<Envelope>,
}

impl Actor for Shouter {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^shout$")?, Self::shout);
        ctx.fallback(Self::record);
        Ok(())
    }
}

impl Shouter {
    async fn shout(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        ctx.mail(Address::Everyone, "hear ye", "from the shouter").send().await?;
        Ok(())
    }

    async fn record(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.seen.send(mail)?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn everyone_but_the_sender_gets_one_copy() -> anyhow::Result<()> {
    let (shouter_tx, mut shouter_rx) = mpsc::unbounded_channel();
    let (a, mut a_rx) = Probe::new();
    let (b, mut b_rx) = Probe::new();
    let (c, mut c_rx) = Probe::new();
    let app = Application::builder()
        .actor("shouter", Shouter { seen: shouter_tx })
        .actor("a", a)
        .actor("b", b)
        .actor("c", c)
        .start()
        .await?;

    app.mail("shouter", "shout", ()).deliver(TIMEOUT).await?;
    for (name, rx) in [("a", &mut a_rx), ("b", &mut b_rx), ("c", &mut c_rx)] {
        let copy = next(rx).await;
        assert_eq!(copy.subject(), "hear ye");
        assert_eq!(copy.sender().as_str(), "shouter");
        assert_eq!(copy.recipient(), &Address::Everyone);
        assert_eq!(copy.body::<String>()?, "from the shouter");
        // Exactly one: the next thing it handles is a marker sent afterwards.
        app.mail(name, "marker", ()).deliver(TIMEOUT).await?;
        assert_eq!(next(rx).await.subject(), "marker", "{name} got one copy");
    }

    // The shouter's catch-all saw only the marker sent to it now.
    app.mail("shouter", "marker", ()).deliver(TIMEOUT).await?;
    assert_eq!(shouter_rx.try_recv().map(|m| m.subject().to_owned()).as_deref(), Ok("marker"));
    assert!(shouter_rx.try_recv().is_err(), "the sender got no copy");
    assert_eq!(app.stats().dead_letters, 0);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn from_the_app_handle_every_running_actor_gets_a_copy() -> anyhow::Result<()> {
    let (shouter_tx, mut shouter_rx) = mpsc::unbounded_channel();
    let (a, mut a_rx) = Probe::new();
    let (b, mut b_rx) = Probe::new();
    let app = Application::builder()
        .actor("shouter", Shouter { seen: shouter_tx })
        .actor("a", a)
        .actor("b", b)
        .start()
        .await?;

    app.send(Address::Everyone, "notice", 1_u32).await?;
    assert_eq!(shouter_rx.recv().await.map(|m| m.body::<u32>()).transpose()?, Some(1));
    assert_eq!(next(&mut a_rx).await.body::<u32>()?, 1);
    assert_eq!(next(&mut b_rx).await.body::<u32>()?, 1);

    // An actor spawned later is part of everyone.
    let (late, mut late_rx) = Probe::new();
    app.spawn("late", late, ActorOptions::new())?;
    app.send(Address::Everyone, "notice", 2_u32).await?;
    for rx in [&mut a_rx, &mut b_rx, &mut late_rx] {
        assert_eq!(next(rx).await.body::<u32>()?, 2);
    }
    assert_eq!(shouter_rx.recv().await.map(|m| m.body::<u32>()).transpose()?, Some(2));
    assert_eq!(app.stats().dead_letters, 0);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn with_nobody_else_running_everyone_is_no_recipient() -> anyhow::Result<()> {
    /// Broadcasts on `shout` and reports the outcome.
    struct Alone {
        outcome: mpsc::UnboundedSender<Result<(), SendError>>,
    }

    impl Actor for Alone {
        async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
            ctx.on(Filter::subject("^shout$")?, Self::shout);
            Ok(())
        }
    }

    impl Alone {
        async fn shout(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
            self.outcome.send(ctx.mail(Address::Everyone, "anyone?", ()).send().await)?;
            Ok(())
        }
    }

    let (outcome, mut outcome_rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("alone", Alone { outcome }).start().await?;
    app.send("alone", "shout", ()).await?;
    let outcome = outcome_rx.recv().await.expect("alone reports");
    assert!(matches!(outcome, Err(SendError::NoSuchRecipient { to: Address::Everyone, .. })), "{outcome:?}");
    assert_eq!(app.stats().dead_letters, 1);

    app.shutdown().await;
    Ok(())
}
