//! Proves that a shutdown reaches an actor whose mailbox is full, under
//! the `Wait` and the `DropOldest` policy: its pill is queued beyond the
//! capacity (and never evicted by later mail), the mail queued before it is
//! handled once the actor is free again, then `death` runs with
//! `ExitReason::Shutdown`, and the shutdown is clean.

mod support;

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use polyceph::error::SendError;
use polyceph::prelude::*;
use polyceph::{Event, Name};
use support::{blocked_gate, subjects};
use tokio::time::Instant;

/// Polls `future` once, which must leave it pending.
async fn poll_once<F: Future>(mut future: Pin<&mut F>, what: &str) {
    poll_fn(|cx| {
        assert!(future.as_mut().poll(cx).is_pending(), "{what} is still pending");
        Poll::Ready(())
    })
    .await;
}

/// Awaits a shutdown, failing the test (instead of hanging) if it never
/// ends, as when a pill is lost (on paused time the minute passes as soon
/// as everything is idle).
async fn finished(shutdown: Pin<&mut impl Future<Output = Vec<Name>>>, what: &str) -> Vec<Name> {
    tokio::time::timeout(Duration::from_secs(60), shutdown)
        .await
        .unwrap_or_else(|_| panic!("{what}: the shutdown never ended"))
}

/// The gated actor is blocked in a handler with `one` and the request
/// `two` queued behind it, filling its mailbox of two; the shutdown then
/// queues its pill anyway. Once the gate opens, `one` and `two` are
/// handled (the request answered), then the actor dies of the shutdown.
async fn full_mailbox_is_drained_then_stopped(policy: FullPolicy) -> anyhow::Result<()> {
    let (app, gate, mut handled) = blocked_gate(2, policy).await?;
    let mut events = app.events();

    app.send("gated", "one", ()).await?;
    let mut two = pin!(app.request("gated", "two", (), Duration::from_secs(60)));
    poll_once(two.as_mut(), "the request").await;
    assert_eq!(app.actor_stats("gated").map(|s| s.queued), Some(2), "{policy:?}: the mailbox is full");
    if policy == FullPolicy::Wait {
        let refused = app.mail("gated", "refused", ()).try_send();
        assert!(matches!(refused, Err(SendError::MailboxFull { .. })), "{policy:?}: {refused:?}");
    }

    let started = Instant::now();
    let mut shutdown = pin!(app.shutdown());
    poll_once(shutdown.as_mut(), "the shutdown").await;
    assert_eq!(app.actor_stats("gated").map(|s| s.queued), Some(3), "{policy:?}: the pill went beyond the capacity");

    gate.notify_one();
    let aborted = finished(shutdown, &format!("{policy:?}")).await;

    assert_eq!(aborted, Vec::<Name>::new(), "{policy:?}: a clean shutdown");
    assert_eq!(started.elapsed(), Duration::ZERO, "{policy:?}: no wait for the shutdown timeout");
    assert_eq!(subjects(&mut handled, 2).await, ["one", "two"], "{policy:?}");
    assert!(handled.recv().await.is_none(), "{policy:?}: nothing else was handled, and the actor is gone");
    assert_eq!(two.await?.subject(), "reply", "{policy:?}: the queued request was answered");
    assert_eq!(
        events.next().await,
        Some(Event::Stopped { actor: Name::new("gated"), reason: ExitReason::Shutdown }),
        "{policy:?}: death ran with the shutdown reason"
    );
    let stats = app.stats();
    assert_eq!((stats.dead_letters, stats.actors), (0, 0), "{policy:?}: nothing queued was lost");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_full_waiting_mailbox_is_drained_then_stopped() -> anyhow::Result<()> {
    full_mailbox_is_drained_then_stopped(FullPolicy::Wait).await
}

#[tokio::test(start_paused = true)]
async fn a_full_drop_oldest_mailbox_is_drained_then_stopped() -> anyhow::Result<()> {
    full_mailbox_is_drained_then_stopped(FullPolicy::DropOldest).await
}

#[tokio::test(start_paused = true)]
async fn mail_crowding_a_drop_oldest_mailbox_never_evicts_the_pill() -> anyhow::Result<()> {
    let (app, gate, mut handled) = blocked_gate(2, FullPolicy::DropOldest).await?;
    let mut events = app.events();
    app.send("gated", "one", ()).await?;
    app.send("gated", "two", ()).await?;

    let started = Instant::now();
    let mut shutdown = pin!(app.shutdown());
    poll_once(shutdown.as_mut(), "the shutdown").await;

    // Each of these pushes out the oldest ordinary mail: `one`, `two`,
    // then `three`, the only one ahead of the pill. The pill, now the
    // oldest of all, stays.
    for subject in ["three", "four", "five"] {
        app.mail("gated", subject, ()).try_send()?;
    }
    let stats = app.actor_stats("gated").expect("still running");
    assert_eq!((stats.queued, stats.dropped), (3, 3), "the pill and the two latest");

    gate.notify_one();
    let aborted = finished(shutdown, "crowded").await;

    assert_eq!(aborted, Vec::<Name>::new(), "the pill stopped the actor: nobody was aborted");
    assert_eq!(started.elapsed(), Duration::ZERO, "no wait for the shutdown timeout");
    assert!(handled.recv().await.is_none(), "the pill came first: nothing after it was handled");
    assert_eq!(events.next().await, Some(Event::Stopped { actor: Name::new("gated"), reason: ExitReason::Shutdown }));
    assert_eq!(app.stats().dead_letters, 2, "`four` and `five`, queued after the pill");
    Ok(())
}
