//! Proves that a full mailbox with the wait policy makes `send` wait until the
//! actor takes mail, makes `try_send` fail with the envelope handed back, and
//! loses nothing: everything queued is handled afterwards, in order.

mod support;

use std::pin::pin;
use std::time::Duration;

use polyceph::error::{RequestError, SendError};
use polyceph::prelude::*;
use support::blocked_gate;
use tokio::time::{Instant, timeout};

#[tokio::test(start_paused = true)]
async fn send_waits_for_room_and_try_send_hands_the_envelope_back() -> anyhow::Result<()> {
    let (app, gate, mut handled) = blocked_gate(2, FullPolicy::Wait).await?;

    app.send("gated", "second", ()).await?;
    app.send("gated", "third", ()).await?;
    assert_eq!(app.actor_stats("gated").map(|s| s.queued), Some(2));

    // The fourth send waits: the clock runs a whole second and it is still pending.
    let mut fourth = pin!(app.send("gated", "fourth", ()));
    assert!(timeout(Duration::from_secs(1), fourth.as_mut()).await.is_err(), "send waited");

    // try_send never waits: the envelope comes back, unchanged.
    let fifth = app.mail("gated", "fifth", 5_u8);
    let id = fifth.envelope().id();
    match fifth.try_send() {
        Err(SendError::MailboxFull { to, envelope }) => {
            assert_eq!(to, Address::actor("gated"));
            assert_eq!(envelope.id(), id);
            assert_eq!(envelope.body::<u8>()?, 5);
        }
        other => panic!("expected a full mailbox, got {other:?}"),
    }
    let sixth = app.mail("gated", "sixth", ());
    let id = sixth.envelope().id();
    let error = sixth.try_send().expect_err("still full");
    assert!(matches!(error, SendError::MailboxFull { .. }));
    assert_eq!(error.into_envelope().id(), id);

    // The actor takes mail: the waiting send completes, without more time passing.
    let opened = Instant::now();
    gate.notify_one();
    fourth.await?;
    assert_eq!(opened.elapsed(), Duration::ZERO);

    let mut order = Vec::new();
    for _ in 0..3 {
        order.push(handled.recv().await.expect("handled").subject().to_owned());
    }
    assert_eq!(order, ["second", "third", "fourth"]);
    let stats = app.actor_stats("gated").expect("running");
    assert_eq!((stats.handled, stats.queued, stats.rejected, stats.dropped), (4, 0, 2, 0));

    app.shutdown().await;
    assert!(handled.try_recv().is_err(), "the refused mail never arrived");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_request_waiting_for_room_times_out_within_its_timeout() -> anyhow::Result<()> {
    let (app, gate, mut handled) = blocked_gate(2, FullPolicy::Wait).await?;
    app.send("gated", "second", ()).await?;
    app.send("gated", "third", ()).await?;

    let started = Instant::now();
    let outcome = app.request("gated", "question", (), Duration::from_secs(3)).await;
    assert!(matches!(outcome, Err(RequestError::Timeout { .. })), "{outcome:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(3));

    gate.notify_one();
    app.mail("gated", "last", ()).deliver(Duration::from_secs(1)).await?;
    let order: Vec<_> = std::iter::from_fn(|| handled.try_recv().ok()).map(|m| m.subject().to_owned()).collect();
    assert_eq!(order, ["second", "third", "last"], "the timed-out request was never queued");

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn several_held_back_senders_all_get_through_in_order() -> anyhow::Result<()> {
    let (app, gate, mut handled) = blocked_gate(2, FullPolicy::Wait).await?;

    // Three tasks send 10 mails each through a mailbox of 2 while the actor is blocked.
    let mut senders = Vec::new();
    for who in 0..3_u32 {
        let app = app.clone();
        senders.push(tokio::spawn(async move {
            for i in 0..10_u32 {
                app.send("gated", "n", (who, i)).await?;
            }
            anyhow::Ok(())
        }));
    }
    for sender in &mut senders {
        assert!(timeout(Duration::from_secs(1), sender).await.is_err(), "every sender is held back");
    }
    assert_eq!(app.actor_stats("gated").map(|s| s.queued), Some(2));

    gate.notify_one();
    for sender in senders {
        sender.await??;
    }
    let mut next = [0_u32; 3];
    for _ in 0..30 {
        let (who, i) = handled.recv().await.expect("handled").body::<(u32, u32)>()?;
        assert_eq!(i, next[who as usize], "sender {who} in order");
        next[who as usize] += 1;
    }
    assert_eq!(next, [10; 3]);

    app.shutdown().await;
    Ok(())
}
