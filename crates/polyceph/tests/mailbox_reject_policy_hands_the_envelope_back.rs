//! Proves that with the reject policy, mail sent to a full mailbox fails at
//! once with `SendError::MailboxFull`, the envelope is handed back, and the
//! refusal is counted in `ActorStats::rejected`; what was queued is handled.

mod support;

use std::time::Duration;

use polyceph::error::{RequestError, SendError};
use polyceph::prelude::*;
use support::blocked_gate;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A sender actor: on `go`, sends `gated` one mail and reports the outcome.
struct Sender {
    outcomes: mpsc::UnboundedSender<Result<(), SendError>>,
}

impl Actor for Sender {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^go$")?, Self::go);
        Ok(())
    }
}

impl Sender {
    async fn go(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        let outcome = ctx.mail("gated", "from sender", ()).send().await;
        self.outcomes.send(outcome)?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_full_rejecting_mailbox_refuses_at_once_and_counts() -> anyhow::Result<()> {
    let (outcomes, mut outcome_rx) = mpsc::unbounded_channel();
    let (app, gate, mut handled_rx) = blocked_gate(2, FullPolicy::Reject).await?;
    app.spawn("sender", Sender { outcomes }, ActorOptions::new())?;
    app.send("gated", "second", ()).await?;
    app.send("gated", "third", ()).await?;

    // `send` (which would wait under the wait policy) fails at once.
    let started = Instant::now();
    let fourth = app.mail("gated", "fourth", "keep me");
    let id = fourth.envelope().id();
    match fourth.send().await {
        Err(SendError::MailboxFull { to, envelope }) => {
            assert_eq!(to, Address::actor("gated"));
            assert_eq!(envelope.id(), id);
            assert_eq!(envelope.subject(), "fourth");
            assert_eq!(envelope.body::<String>()?, "keep me");
        }
        other => panic!("expected a full mailbox, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(app.actor_stats("gated").map(|s| s.rejected), Some(1));

    // So does mail from an actor, and a request.
    app.send("sender", "go", ()).await?;
    let outcome = outcome_rx.recv().await.expect("sender reports");
    assert_eq!(outcome.map_err(SendError::into_envelope).expect_err("refused").sender().as_str(), "sender");
    let request = app.request("gated", "question", (), Duration::from_secs(5)).await;
    assert!(matches!(request, Err(RequestError::Send(SendError::MailboxFull { .. }))), "{request:?}");
    assert_eq!(started.elapsed(), Duration::ZERO);
    let stats = app.actor_stats("gated").expect("running");
    assert_eq!((stats.rejected, stats.dropped, stats.queued), (3, 0, 2));
    assert_eq!(app.stats().dead_letters, 0, "refused mail is handed back, not a dead letter");

    // What was queued is handled, in order; the refused mail never arrives.
    gate.notify_one();
    let mut order = Vec::new();
    for _ in 0..2 {
        order.push(handled_rx.recv().await.expect("handled").subject().to_owned());
    }
    assert_eq!(order, ["second", "third"]);
    // With room again, mail is accepted.
    app.mail("gated", "last", ()).deliver(Duration::from_secs(1)).await?;
    assert_eq!(handled_rx.try_recv().map(|m| m.subject().to_owned()).as_deref(), Ok("last"));
    assert!(handled_rx.try_recv().is_err(), "the refused mail never arrives");

    app.shutdown().await;
    Ok(())
}
