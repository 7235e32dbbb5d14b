//! Proves that with the drop-oldest policy, mail sent to a full mailbox is
//! queued by dropping the oldest queued envelope, that drops are counted in
//! `ActorStats::dropped`, that the rest is handled in order, and that a
//! dropped request fails with `RequestError::Dropped` at once.

mod support;

use std::sync::Arc;
use std::time::Duration;

use polyceph::error::{DeliverError, RequestError};
use polyceph::prelude::*;
use support::{Gated, blocked_gate};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

async fn subjects(rx: &mut mpsc::UnboundedReceiver<Envelope>, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(rx.recv().await.expect("handled").subject().to_owned());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn the_oldest_queued_mail_makes_room_and_is_counted() -> anyhow::Result<()> {
    let (app, gate, mut handled) = blocked_gate(2, FullPolicy::DropOldest).await?;

    for subject in ["m1", "m2", "m3", "m4", "m5"] {
        // Never waits, never fails.
        app.mail("gated", subject, ()).try_send()?;
    }
    let stats = app.actor_stats("gated").expect("running");
    assert_eq!((stats.queued, stats.dropped, stats.rejected), (2, 3, 0));

    gate.notify_one();
    assert_eq!(subjects(&mut handled, 2).await, ["m4", "m5"]);
    app.mail("gated", "last", ()).deliver(Duration::from_secs(1)).await?;
    assert_eq!(handled.try_recv().map(|m| m.subject().to_owned()).as_deref(), Ok("last"));
    assert!(handled.try_recv().is_err(), "the dropped mail never arrives");
    assert_eq!(app.stats().dead_letters, 0, "drops are counted as drops");

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_dropped_request_fails_with_dropped_at_once() -> anyhow::Result<()> {
    let (app, gate, mut handled) = blocked_gate(2, FullPolicy::DropOldest).await?;

    let started = Instant::now();
    let request = app.request("gated", "question", (), Duration::from_secs(10));
    let crowd_out = async {
        app.send("gated", "m2", ()).await?;
        app.send("gated", "m3", ()).await
    };
    // The request is queued first, then pushed out by m3.
    let (outcome, crowded) = tokio::join!(request, crowd_out);
    crowded?;
    match outcome {
        Err(RequestError::Dropped { to }) => assert_eq!(to, Address::actor("gated")),
        other => panic!("expected dropped, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::ZERO, "known when dropped, not at the timeout");
    assert_eq!(app.actor_stats("gated").map(|s| s.dropped), Some(1));

    // A delivery that gets dropped says so too.
    let delivery = app.mail("gated", "delivery", ()).deliver(Duration::from_secs(10));
    let crowd_out = async {
        app.send("gated", "m4", ()).await?;
        app.send("gated", "m5", ()).await
    };
    let (outcome, crowded) = tokio::join!(delivery, crowd_out);
    crowded?;
    assert!(matches!(outcome, Err(DeliverError::Dropped { .. })), "{outcome:?}");
    assert_eq!(app.actor_stats("gated").map(|s| s.dropped), Some(4), "m2, m3 and the delivery went too");

    gate.notify_one();
    assert_eq!(subjects(&mut handled, 2).await, ["m4", "m5"]);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_priority_mailbox_drops_the_oldest_of_the_lowest_priority() -> anyhow::Result<()> {
    let (handled, mut rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    let app = Application::builder()
        .actor("gated", Gated::new(handled, gate.clone()))
        .capacity(3)
        .queue(QueueKind::Priority)
        .policy(FullPolicy::DropOldest)
        .start()
        .await?;
    app.send("gated", "block", ()).await?;
    assert_eq!(rx.recv().await.map(|m| m.subject().to_owned()).as_deref(), Some("block"));

    for (subject, priority) in [("high", 5), ("low a", -1), ("low b", -1), ("new", 0)] {
        app.mail("gated", subject, ()).priority(priority).try_send()?;
    }
    assert_eq!(app.actor_stats("gated").map(|s| s.dropped), Some(1));

    gate.notify_one();
    assert_eq!(subjects(&mut rx, 3).await, ["high", "new", "low b"]);

    app.shutdown().await;
    Ok(())
}
