//! Proves that mail to a topic reaches every subscriber exactly once, that
//! subscribing and unsubscribing are idempotent, that an unsubscribed actor
//! gets nothing, that a topic nobody subscribes to is no recipient, and that
//! handlers may subscribe and unsubscribe while a topic delivery is running.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use polyceph::error::SendError;
use polyceph::prelude::*;
use tokio::sync::{Notify, mpsc};
use tokio::time::timeout;

const TIMEOUT: Duration = Duration::from_secs(1);

/// Subscribes and unsubscribes on request (twice each, answering both
/// results), blocks on `block` until the gate opens, and reports every other
/// mail it handles. A churner also unsubscribes and resubscribes while
/// handling a `headline`, and subscribes to `other`.
struct Subscriber {
    seen: mpsc::UnboundedSender<Envelope>,
    gate: Arc<Notify>,
    churn: bool,
}

impl Subscriber {
    fn new(churn: bool) -> (Self, mpsc::UnboundedReceiver<Envelope>, Arc<Notify>) {
        let (seen, rx) = mpsc::unbounded_channel();
        let gate = Arc::new(Notify::new());
        (Self { seen, gate: gate.clone(), churn }, rx, gate)
    }
}

impl Actor for Subscriber {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^subscribe$")?, Self::subscribe);
        ctx.on(Filter::subject("^unsubscribe$")?, Self::unsubscribe);
        ctx.on(Filter::subject("^block$")?, Self::block);
        ctx.fallback(Self::record);
        if self.churn {
            ctx.on(Filter::subject("^headline$")?, Self::churn);
        }
        Ok(())
    }
}

impl Subscriber {
    async fn subscribe(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let topic: String = mail.body()?;
        let results = (ctx.subscribe(topic.as_str()), ctx.subscribe(topic.as_str()));
        ctx.reply(&mail, results).send().await?;
        Ok(())
    }

    async fn unsubscribe(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let topic: String = mail.body()?;
        let results = (ctx.unsubscribe(&topic), ctx.unsubscribe(&topic));
        ctx.reply(&mail, results).send().await?;
        Ok(())
    }

    async fn block(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.seen.send(mail)?;
        self.gate.notified().await;
        Ok(())
    }

    async fn record(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.seen.send(mail)?;
        Ok(())
    }

    async fn churn(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let churned = [ctx.unsubscribe("news"), ctx.subscribe("news"), ctx.subscribe("other")];
        self.seen.send(mail.with_header("churned", churned.to_vec()))?;
        Ok(())
    }
}

/// Asks `who` to subscribe to `topic` twice; returns both results.
async fn subscribe(app: &AppHandle, who: &str, topic: &str) -> anyhow::Result<(bool, bool)> {
    Ok(app.request(who, "subscribe", topic.to_owned(), TIMEOUT).await?.body()?)
}

/// Asks `who` to unsubscribe from `topic` twice; returns both results.
async fn unsubscribe(app: &AppHandle, who: &str, topic: &str) -> anyhow::Result<(bool, bool)> {
    Ok(app.request(who, "unsubscribe", topic.to_owned(), TIMEOUT).await?.body()?)
}

/// Asserts that `who` handled nothing more than what `seen` already showed.
async fn nothing_more(app: &AppHandle, who: &str, seen: &mut mpsc::UnboundedReceiver<Envelope>) -> anyhow::Result<()> {
    app.mail(who, "marker", ()).deliver(TIMEOUT).await?;
    assert_eq!(seen.try_recv().map(|m| m.subject().to_owned()).as_deref(), Ok("marker"), "{who} got more");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn every_subscriber_gets_one_copy_and_unsubscribing_stops_it() -> anyhow::Result<()> {
    let (s1, mut rx1, _) = Subscriber::new(false);
    let (s2, mut rx2, _) = Subscriber::new(false);
    let (s3, mut rx3, _) = Subscriber::new(false);
    let app = Application::builder().actor("s1", s1).actor("s2", s2).actor("s3", s3).start().await?;

    for who in ["s1", "s2", "s3"] {
        assert_eq!(subscribe(&app, who, "news").await?, (true, false), "{who} subscribes once");
    }

    let mail = app.mail(Address::topic("news"), "headline", 1_u32);
    let id = mail.envelope().id();
    mail.send().await?;
    for (who, rx) in [("s1", &mut rx1), ("s2", &mut rx2), ("s3", &mut rx3)] {
        let copy = rx.recv().await.expect("a copy");
        assert_eq!((copy.subject(), copy.body::<u32>()?, copy.id()), ("headline", 1, id));
        assert_eq!(copy.recipient(), &Address::topic("news"));
        nothing_more(&app, who, rx).await?;
    }

    assert_eq!(unsubscribe(&app, "s2", "news").await?, (true, false), "s2 unsubscribes once");
    app.send(Address::topic("news"), "headline", 2_u32).await?;
    for (who, rx) in [("s1", &mut rx1), ("s3", &mut rx3)] {
        assert_eq!(rx.recv().await.expect("a copy").body::<u32>()?, 2);
        nothing_more(&app, who, rx).await?;
    }
    nothing_more(&app, "s2", &mut rx2).await?;

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_topic_nobody_subscribes_to_is_no_recipient() -> anyhow::Result<()> {
    let (s1, _rx1, _) = Subscriber::new(false);
    let app = Application::builder().actor("s1", s1).start().await?;

    let mail = app.mail(Address::topic("void"), "headline", ());
    let id = mail.envelope().id();
    match mail.send().await {
        Err(SendError::NoSuchRecipient { to, envelope }) => {
            assert_eq!(to, Address::topic("void"));
            assert_eq!(envelope.id(), id);
        }
        other => panic!("expected no such recipient, got {other:?}"),
    }

    // Nor is a topic whose last subscriber left.
    assert_eq!(subscribe(&app, "s1", "news").await?, (true, false));
    app.send(Address::topic("news"), "headline", ()).await?;
    assert_eq!(unsubscribe(&app, "s1", "news").await?, (true, false));
    let error = app.send(Address::topic("news"), "headline", ()).await.expect_err("nobody listens");
    assert!(matches!(error, SendError::NoSuchRecipient { .. }), "{error:?}");
    assert_eq!(app.stats().dead_letters, 2);

    // And unsubscribing from a topic one never joined is a no-op.
    assert_eq!(unsubscribe(&app, "s1", "never").await?, (false, false));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn subscriptions_may_change_while_a_topic_delivery_is_running() -> anyhow::Result<()> {
    let (churner, mut churner_rx, _) = Subscriber::new(true);
    let (slow, mut slow_rx, slow_gate) = Subscriber::new(false);
    let (late, mut late_rx, _) = Subscriber::new(false);
    let app = Application::builder()
        .actor("churner", churner)
        .actor("slow", slow)
        .capacity(1)
        .actor("late", late)
        .start()
        .await?;
    assert_eq!(subscribe(&app, "churner", "news").await?, (true, false));
    assert_eq!(subscribe(&app, "slow", "news").await?, (true, false));

    // `slow` is blocked with a full mailbox: the delivery to it has to wait.
    app.send("slow", "block", ()).await?;
    assert_eq!(slow_rx.recv().await.map(|m| m.subject().to_owned()).as_deref(), Some("block"));
    app.send("slow", "filler", ()).await?;

    let mut publish = pin!(app.send(Address::topic("news"), "headline", ()));
    assert!(timeout(TIMEOUT, publish.as_mut()).await.is_err(), "the delivery is still running");

    // Meanwhile the churner got its copy and changed its subscriptions from
    // its handler, and another actor subscribed.
    let copy = churner_rx.recv().await.expect("the churner's copy");
    assert_eq!(copy.field("churned").as_deref(), Some("[true, true, true]"));
    assert_eq!(subscribe(&app, "late", "news").await?, (true, false));

    slow_gate.notify_one();
    publish.await?;
    let slow_seen: Vec<_> =
        [slow_rx.recv().await, slow_rx.recv().await].into_iter().flatten().map(|m| m.subject().to_owned()).collect();
    assert_eq!(slow_seen, ["filler", "headline"]);
    nothing_more(&app, "late", &mut late_rx).await?;

    // The next headline reaches all three, once each.
    app.send(Address::topic("news"), "headline", ()).await?;
    app.send(Address::topic("other"), "other news", ()).await?;
    let churner_seen: Vec<_> = [churner_rx.recv().await, churner_rx.recv().await]
        .into_iter()
        .flatten()
        .map(|m| m.subject().to_owned())
        .collect();
    assert_eq!(churner_seen, ["headline", "other news"]);
    for (who, rx) in [("slow", &mut slow_rx), ("late", &mut late_rx)] {
        assert_eq!(rx.recv().await.map(|m| m.subject().to_owned()).as_deref(), Some("headline"));
        nothing_more(&app, who, rx).await?;
    }
    nothing_more(&app, "churner", &mut churner_rx).await?;

    app.shutdown().await;
    Ok(())
}
