//! Proves that an actor handles one sender's mail in the order it was sent:
//! 1000 mails from one sender, and two senders whose mail interleaves.

mod support;

use std::time::Duration;

use polyceph::prelude::*;
use support::{Probe, next};

const MAILS: u32 = 1000;

/// On `go`, sends `count` numbered mails to `to`, yielding between sends so
/// that other senders get their turn.
struct Sender {
    to: &'static str,
    count: u32,
}

impl Actor for Sender {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^go$")?, Self::go);
        Ok(())
    }
}

impl Sender {
    async fn go(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        for i in 0..self.count {
            ctx.mail(self.to, "number", i).send().await?;
            tokio::task::yield_now().await;
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_thousand_mails_from_one_sender_are_handled_in_order() -> anyhow::Result<()> {
    let (probe, mut seen) = Probe::new();
    let app = Application::builder().actor("probe", probe).start().await?;

    for i in 0..MAILS {
        app.send("probe", "number", i).await?;
    }
    for i in 0..MAILS {
        assert_eq!(next(&mut seen).await.body::<u32>()?, i);
    }
    assert_eq!(app.actor_stats("probe").map(|s| s.handled), Some(u64::from(MAILS)));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn each_of_two_interleaved_senders_keeps_its_order() -> anyhow::Result<()> {
    let (probe, mut seen) = Probe::new();
    let app = Application::builder()
        .actor("probe", probe)
        // A small mailbox: the senders also take turns waiting for room.
        .capacity(16)
        .actor("left", Sender { to: "probe", count: MAILS / 2 })
        .actor("right", Sender { to: "probe", count: MAILS / 2 })
        .start()
        .await?;

    app.send("left", "go", ()).await?;
    app.send("right", "go", ()).await?;

    let mut order = Vec::with_capacity(MAILS as usize);
    for _ in 0..MAILS {
        let mail = next(&mut seen).await;
        order.push((mail.sender().as_str().to_owned(), mail.body::<u32>()?));
    }
    for sender in ["left", "right"] {
        let numbers: Vec<u32> = order.iter().filter(|(s, _)| s == sender).map(|&(_, n)| n).collect();
        assert_eq!(numbers, (0..MAILS / 2).collect::<Vec<_>>(), "{sender}'s mail in order");
    }
    // The two really did interleave: the sender changes many times.
    let switches = order.windows(2).filter(|w| w[0].0 != w[1].0).count();
    assert!(switches > 10, "only {switches} switches between senders");

    // Nothing else arrived.
    app.mail("probe", "end", ()).deliver(Duration::from_secs(1)).await?;
    assert_eq!(next(&mut seen).await.subject(), "end");

    app.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_on_two_worker_threads_keep_their_order() -> anyhow::Result<()> {
    let (probe, mut seen) = Probe::new();
    let app = Application::builder()
        .actor("probe", probe)
        .capacity(16)
        .actor("left", Sender { to: "probe", count: MAILS })
        .actor("right", Sender { to: "probe", count: MAILS })
        .start()
        .await?;

    app.send("left", "go", ()).await?;
    app.send("right", "go", ()).await?;

    let (mut left, mut right) = (0, 0);
    for _ in 0..2 * MAILS {
        let mail = next(&mut seen).await;
        let counter = if mail.sender().is("left") { &mut left } else { &mut right };
        assert_eq!(mail.body::<u32>()?, *counter, "from {}", mail.sender());
        *counter += 1;
    }
    assert_eq!((left, right), (MAILS, MAILS));

    app.shutdown().await;
    Ok(())
}
