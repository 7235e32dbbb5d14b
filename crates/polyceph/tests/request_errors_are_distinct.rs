//! Proves that every way a request can go unanswered is its own
//! `RequestError`: a timeout (after exactly the timeout), an unknown
//! recipient (at once), a recipient that stopped first, handlers that did not
//! reply, a failing handler, and mail no handler matched.

use std::sync::Arc;
use std::time::Duration;

use polyceph::error::{RequestError, SendError};
use polyceph::prelude::*;
use tokio::sync::Notify;
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_secs(3);

/// A recipient with one handler per way of not answering.
struct Recipient {
    /// Requests it keeps without ever replying.
    kept: Vec<Envelope>,
    /// What `die` waits for before dying.
    gate: Arc<Notify>,
}

impl Actor for Recipient {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^keep$")?, Self::keep);
        ctx.on(Filter::subject("^ignore$")?, Self::ignore);
        ctx.on(Filter::subject("^fail$")?, Self::fail);
        ctx.on(Filter::subject("^die$")?, Self::die);
        ctx.on(Filter::subject("^die now$")?, Self::die_now);
        Ok(())
    }
}

impl Recipient {
    async fn keep(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.kept.push(mail);
        Ok(())
    }

    async fn ignore(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        Ok(())
    }

    async fn fail(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        Err("boom: cannot answer that".into())
    }

    async fn die(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.gate.notified().await;
        ctx.die();
        Ok(())
    }

    async fn die_now(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        ctx.die();
        Ok(())
    }
}

async fn start() -> anyhow::Result<(AppHandle, Arc<Notify>)> {
    let gate = Arc::new(Notify::new());
    let recipient = Recipient { kept: Vec::new(), gate: gate.clone() };
    let app = Application::builder().actor("recipient", recipient).start().await?;
    Ok((app, gate))
}

#[tokio::test(start_paused = true)]
async fn a_kept_but_unanswered_request_times_out_after_exactly_the_timeout() -> anyhow::Result<()> {
    let (app, _gate) = start().await?;

    let started = Instant::now();
    let outcome = app.request("recipient", "keep", (), TIMEOUT).await;
    assert_eq!(started.elapsed(), TIMEOUT);
    match outcome {
        Err(RequestError::Timeout { to, timeout }) => {
            assert_eq!(to, Address::actor("recipient"));
            assert_eq!(timeout, TIMEOUT);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The recipient still holds it: it was neither dropped nor handled otherwise.
    let stats = app.actor_stats("recipient").expect("running");
    assert_eq!((stats.handled, stats.unhandled, stats.handler_errors), (1, 0, 0));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_unknown_recipient_fails_at_once() -> anyhow::Result<()> {
    let (app, _gate) = start().await?;

    let started = Instant::now();
    let outcome = app.request("nobody", "keep", "body", TIMEOUT).await;
    assert_eq!(started.elapsed(), Duration::ZERO);
    match outcome {
        Err(RequestError::Send(SendError::NoSuchRecipient { to, envelope })) => {
            assert_eq!(to, Address::actor("nobody"));
            assert_eq!(envelope.subject(), "keep");
            assert_eq!(envelope.body::<String>()?, "body");
        }
        other => panic!("expected no such recipient, got {other:?}"),
    }

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_request_queued_behind_a_death_fails_as_recipient_stopped() -> anyhow::Result<()> {
    let (app, gate) = start().await?;

    // `die` is queued first and waits at the gate; the request queues behind it.
    app.send("recipient", "die", ()).await?;
    let request = app.request("recipient", "keep", (), TIMEOUT);
    let open_gate = async {
        gate.notify_one();
    };
    let started = Instant::now();
    let (outcome, ()) = tokio::join!(request, open_gate);
    assert_eq!(started.elapsed(), Duration::ZERO, "stopping is known at once, not at the timeout");
    match outcome {
        Err(RequestError::RecipientStopped { to }) => assert_eq!(to, Address::actor("recipient")),
        other => panic!("expected recipient stopped, got {other:?}"),
    }
    // The request left in the mailbox was accounted for as a dead letter.
    assert_eq!(app.stats().dead_letters, 1);

    app.wait().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_dies_without_replying_gives_no_reply() -> anyhow::Result<()> {
    let (app, _gate) = start().await?;

    // The request was taken and handled; its handler returned without a
    // reply and only then did the actor stop. The runtime reports what the
    // handler did (no reply), not the death that followed, and at once.
    let started = Instant::now();
    match app.request("recipient", "die now", (), TIMEOUT).await {
        Err(RequestError::NoReply { to }) => assert_eq!(to, Address::actor("recipient")),
        other => panic!("expected no reply, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::ZERO);

    app.wait().await;
    assert_eq!(app.stats().dead_letters, 0, "the request was handled, not left queued");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn handlers_that_do_not_reply_give_no_reply() -> anyhow::Result<()> {
    let (app, _gate) = start().await?;

    let started = Instant::now();
    match app.request("recipient", "ignore", (), TIMEOUT).await {
        Err(RequestError::NoReply { to }) => assert_eq!(to, Address::actor("recipient")),
        other => panic!("expected no reply, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::ZERO, "known as soon as the handlers return");

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_failing_handler_gives_handler_failed_with_its_error() -> anyhow::Result<()> {
    let (app, _gate) = start().await?;

    let started = Instant::now();
    match app.request("recipient", "fail", (), TIMEOUT).await {
        Err(RequestError::HandlerFailed { to, reason }) => {
            assert_eq!(to, Address::actor("recipient"));
            assert_eq!(reason, "boom: cannot answer that");
        }
        other => panic!("expected handler failed, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(app.actor_stats("recipient").map(|s| s.handler_errors), Some(1));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_request_no_handler_matches_gives_unhandled() -> anyhow::Result<()> {
    let (app, _gate) = start().await?;

    match app.request("recipient", "something else", (), TIMEOUT).await {
        Err(RequestError::Unhandled { to }) => assert_eq!(to, Address::actor("recipient")),
        other => panic!("expected unhandled, got {other:?}"),
    }
    assert_eq!(app.actor_stats("recipient").map(|s| s.unhandled), Some(1));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn every_error_reads_differently() -> anyhow::Result<()> {
    let (app, _gate) = start().await?;

    let timeout = app.request("recipient", "keep", (), TIMEOUT).await.expect_err("timeout").to_string();
    let unknown = app.request("nobody", "keep", (), TIMEOUT).await.expect_err("unknown").to_string();
    let no_reply = app.request("recipient", "ignore", (), TIMEOUT).await.expect_err("no reply").to_string();
    let failed = app.request("recipient", "fail", (), TIMEOUT).await.expect_err("failed").to_string();
    let unhandled = app.request("recipient", "other", (), TIMEOUT).await.expect_err("unhandled").to_string();

    let all = [&timeout, &unknown, &no_reply, &failed, &unhandled];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert!(timeout.contains("recipient") && timeout.contains("3s"), "{timeout}");
    assert!(unknown.contains("nobody"), "{unknown}");
    assert!(failed.contains("boom"), "{failed}");

    app.shutdown().await;
    Ok(())
}
