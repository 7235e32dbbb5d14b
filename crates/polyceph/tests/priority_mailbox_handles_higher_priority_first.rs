//! Proves that an actor with a priority mailbox handles queued mail highest
//! priority first, first in first out within one priority, while a FIFO
//! mailbox ignores priorities.

mod support;

use std::sync::Arc;

use polyceph::prelude::*;
use support::Gated;
use tokio::sync::{Notify, mpsc};

const QUEUED: [(&str, i8); 6] = [("a", 0), ("b", 5), ("c", 0), ("d", 9), ("e", 5), ("f", -1)];

/// Queues [`QUEUED`] behind a blocked handler, opens the gate and returns
/// the handling order as (subject, priority).
async fn handling_order(queue: QueueKind) -> anyhow::Result<Vec<(String, i8)>> {
    let (handled, mut rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    let app = Application::builder().actor("gated", Gated::new(handled, gate.clone())).queue(queue).start().await?;

    app.send("gated", "block", ()).await?;
    assert_eq!(rx.recv().await.map(|m| m.subject().to_owned()).as_deref(), Some("block"));
    for (subject, priority) in QUEUED {
        app.mail("gated", subject, ()).priority(priority).send().await?;
    }
    assert_eq!(app.actor_stats("gated").map(|s| s.queued), Some(QUEUED.len()));

    gate.notify_one();
    let mut order = Vec::new();
    for _ in 0..QUEUED.len() {
        let mail = rx.recv().await.expect("handled");
        order.push((mail.subject().to_owned(), mail.priority()));
    }
    app.shutdown().await;
    Ok(order)
}

fn owned(order: &[(&str, i8)]) -> Vec<(String, i8)> {
    order.iter().map(|&(s, p)| (s.to_owned(), p)).collect()
}

#[tokio::test(start_paused = true)]
async fn higher_priority_first_and_fifo_within_a_priority() -> anyhow::Result<()> {
    let order = handling_order(QueueKind::Priority).await?;
    assert_eq!(order, owned(&[("d", 9), ("b", 5), ("e", 5), ("a", 0), ("c", 0), ("f", -1)]));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_fifo_mailbox_ignores_priorities() -> anyhow::Result<()> {
    let order = handling_order(QueueKind::Fifo).await?;
    assert_eq!(order, owned(&QUEUED));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn mail_arriving_later_with_a_higher_priority_goes_ahead() -> anyhow::Result<()> {
    let (handled, mut rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    let app = Application::builder()
        .actor("gated", Gated::new(handled, gate.clone()))
        .queue(QueueKind::Priority)
        .start()
        .await?;

    // Each `block` holds the actor until the gate opens once more.
    app.send("gated", "block", ()).await?;
    assert_eq!(rx.recv().await.map(|m| m.subject().to_owned()).as_deref(), Some("block"));
    app.mail("gated", "low", ()).priority(-5).send().await?;
    app.mail("gated", "block", ()).priority(1).send().await?;
    gate.notify_one();
    assert_eq!(rx.recv().await.map(|m| m.subject().to_owned()).as_deref(), Some("block"));
    // While the second block runs, an urgent mail arrives after `low` did.
    app.mail("gated", "urgent", ()).priority(i8::MAX).send().await?;
    gate.notify_one();
    let next: Vec<_> =
        [rx.recv().await, rx.recv().await].into_iter().flatten().map(|m| m.subject().to_owned()).collect();
    assert_eq!(next, ["urgent", "low"]);

    app.shutdown().await;
    Ok(())
}
