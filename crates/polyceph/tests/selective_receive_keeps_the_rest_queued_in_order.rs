//! Proves that `Context::receive` returns the first mail matching its filter
//! while every other mail, sent before or after it, stays queued and is
//! handled afterwards by the normal handlers in its original order; and that
//! it times out with `ReceiveError::Timeout` when nothing matches.

use std::time::Duration;

use polyceph::error::ReceiveError;
use polyceph::prelude::*;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Receives selectively inside handlers (and in its first tick); logs what it
/// receives and every mail its fallback handles.
struct Selective {
    log: mpsc::UnboundedSender<String>,
}

impl Actor for Selective {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^start$")?, Self::start);
        ctx.on(Filter::subject("^wait for nothing$")?, Self::wait_for_nothing);
        ctx.fallback(Self::other);
        Ok(())
    }

    async fn life(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        // Only ticks when given a frequency: receives once, then stops ticking.
        let go = ctx.receive(Filter::subject("^go$")?, Duration::from_secs(10)).await?;
        self.log.send(format!("life received {}", go.subject()))?;
        ctx.set_frequency(None)?;
        Ok(())
    }
}

impl Selective {
    async fn start(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.log.send("start".into())?;
        let key = ctx.receive(Filter::subject("^key 2$")?, Duration::from_secs(10)).await?;
        self.log.send(format!("received {}: {}", key.subject(), key.body::<u32>()?))?;
        // Mail passed over by the first receive is still there for a second one.
        let key = ctx.receive(Filter::subject("^key 1$")?, Duration::from_secs(10)).await?;
        self.log.send(format!("received {}: {}", key.subject(), key.body::<u32>()?))?;
        Ok(())
    }

    async fn wait_for_nothing(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        let started = Instant::now();
        let outcome = ctx.receive(Filter::subject("^never$")?, Duration::from_secs(2)).await;
        assert_eq!(outcome.as_ref().map(Envelope::subject), Err(&ReceiveError::Timeout(Duration::from_secs(2))));
        self.log.send(format!("{} after {:?}", outcome.expect_err("timed out"), started.elapsed()))?;
        Ok(())
    }

    async fn other(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.log.send(mail.subject().to_owned())?;
        Ok(())
    }
}

async fn lines(rx: &mut mpsc::UnboundedReceiver<String>, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(rx.recv().await.expect("the actor logs"));
    }
    out
}

#[tokio::test(start_paused = true)]
async fn receive_takes_the_match_and_leaves_the_rest_in_order() -> anyhow::Result<()> {
    let (log, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("selective", Selective { log }).start().await?;

    app.send("selective", "start", ()).await?;
    assert_eq!(lines(&mut rx, 1).await, ["start"]);
    for (subject, n) in [("a", 0), ("key 1", 1), ("b", 0), ("key 2", 2), ("c", 0)] {
        app.send("selective", subject, n).await?;
    }
    app.send("selective", "d", ()).await?;

    let seen = lines(&mut rx, 6).await;
    assert_eq!(seen, ["received key 2: 2", "received key 1: 1", "a", "b", "c", "d"]);

    // The received mail was not handled again.
    app.mail("selective", "end", ()).deliver(Duration::from_secs(1)).await?;
    assert_eq!(rx.try_recv().as_deref(), Ok("end"));
    assert!(rx.try_recv().is_err());

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn receive_times_out_and_keeps_what_it_passed_over() -> anyhow::Result<()> {
    let (log, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("selective", Selective { log }).start().await?;

    app.send("selective", "before", ()).await?;
    app.send("selective", "wait for nothing", ()).await?;
    app.send("selective", "x", ()).await?;
    app.send("selective", "y", ()).await?;

    let seen = lines(&mut rx, 4).await;
    assert_eq!(seen, ["before", "no matching mail within 2s after 2s", "x", "y"]);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn life_can_receive_selectively_too() -> anyhow::Result<()> {
    let (log, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("selective", Selective { log }).frequency(1.0).start().await?;

    // The first tick runs right after birth and waits for `go`.
    app.send("selective", "first", ()).await?;
    app.send("selective", "go", ()).await?;
    app.send("selective", "second", ()).await?;

    let seen = lines(&mut rx, 3).await;
    assert_eq!(seen, ["life received go", "first", "second"]);

    app.shutdown().await;
    Ok(())
}
