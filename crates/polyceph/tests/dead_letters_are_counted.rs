//! Proves that mail that reaches nobody is counted in `AppStats::dead_letters`:
//! mail to an unknown name (which fails with `SendError::NoSuchRecipient`,
//! the envelope handed back) and mail left queued when its actor stops; and
//! that mail which did reach someone is not.

mod support;

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use polyceph::error::SendError;
use polyceph::prelude::*;
use support::Idle;
use tokio::sync::{Notify, mpsc};
use tokio::time::timeout;

const TIMEOUT: Duration = Duration::from_secs(1);

/// On `write`, mails a name nobody has and reports the outcome.
struct Writer {
    outcome: mpsc::UnboundedSender<Result<(), SendError>>,
}

impl Actor for Writer {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^write$")?, Self::write);
        Ok(())
    }
}

impl Writer {
    async fn write(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.outcome.send(ctx.mail("ghost", "boo", ()).send().await)?;
        Ok(())
    }
}

/// Joins `workers` on `join`; reports what it handles; on `block and die`,
/// waits for the gate, then dies.
struct Member {
    seen: mpsc::UnboundedSender<Envelope>,
    gate: Arc<Notify>,
}

impl Actor for Member {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^block and die$")?, Self::block_and_die);
        ctx.fallback(Self::record);
        Ok(())
    }
}

impl Member {
    async fn block_and_die(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.seen.send(mail)?;
        self.gate.notified().await;
        ctx.die();
        Ok(())
    }

    async fn record(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        if mail.subject() == "join" {
            ctx.join("workers");
        }
        self.seen.send(mail)?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn mail_to_an_unknown_name_is_handed_back_and_counted() -> anyhow::Result<()> {
    let (outcome, mut outcome_rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("idle", Idle).actor("writer", Writer { outcome }).start().await?;
    assert_eq!(app.stats().dead_letters, 0);

    let mail = app.mail("nobody", "hello?", "anyone there").header("x", 1).priority(3);
    let id = mail.envelope().id();
    match mail.send().await {
        Err(SendError::NoSuchRecipient { to, envelope }) => {
            assert_eq!(to, Address::actor("nobody"));
            assert_eq!(envelope.id(), id);
            assert_eq!(envelope.subject(), "hello?");
            assert_eq!(envelope.body::<String>()?, "anyone there");
            assert_eq!(envelope.field("x").as_deref(), Some("1"));
            assert_eq!(envelope.priority(), 3);
        }
        other => panic!("expected no such recipient, got {other:?}"),
    }
    assert_eq!(app.stats().dead_letters, 1);

    // try_send too, and from inside an actor.
    let error = app.mail("nobody", "again", ()).try_send().expect_err("nobody");
    assert!(matches!(error, SendError::NoSuchRecipient { .. }));
    assert_eq!(app.stats().dead_letters, 2);
    app.send("writer", "write", ()).await?;
    let outcome = outcome_rx.recv().await.expect("writer reports");
    let error = outcome.expect_err("ghost is nobody");
    assert_eq!(error.to(), &Address::actor("ghost"));
    assert_eq!(error.into_envelope().sender().as_str(), "writer");
    assert_eq!(app.stats().dead_letters, 3);

    // Mail that was delivered is not counted.
    app.send("idle", "fine", ()).await?;
    assert_eq!(app.stats().dead_letters, 3);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn mail_left_queued_by_a_stopping_actor_is_counted() -> anyhow::Result<()> {
    let (seen, mut seen_rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    let app = Application::builder().actor("member", Member { seen, gate: gate.clone() }).start().await?;

    app.send("member", "block and die", ()).await?;
    assert_eq!(seen_rx.recv().await.map(|m| m.subject().to_owned()).as_deref(), Some("block and die"));
    for subject in ["left 1", "left 2", "left 3"] {
        app.send("member", subject, ()).await?;
    }
    gate.notify_one();
    app.wait().await;

    assert!(seen_rx.recv().await.is_none(), "nothing more was handled");
    assert_eq!(app.stats().dead_letters, 3);
    // Once it is gone, its name is nobody's.
    let error = app.send("member", "late", ()).await.expect_err("stopped");
    assert!(matches!(error, SendError::NoSuchRecipient { .. }), "{error:?}");
    assert_eq!(app.stats().dead_letters, 4);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn mail_a_group_passes_on_to_another_member_is_not_a_dead_letter() -> anyhow::Result<()> {
    let (first_tx, mut first_rx) = mpsc::unbounded_channel();
    let (second_tx, mut second_rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    let app = Application::builder()
        .actor("first", Member { seen: first_tx, gate: gate.clone() })
        .capacity(1)
        .actor("second", Member { seen: second_tx, gate: gate.clone() })
        .start()
        .await?;
    // `first` joins `workers` before `second`, so it has the first turn.
    for (name, rx) in [("first", &mut first_rx), ("second", &mut second_rx)] {
        app.mail(name, "join", ()).deliver(TIMEOUT).await?;
        assert_eq!(rx.recv().await.map(|m| m.subject().to_owned()).as_deref(), Some("join"));
    }

    // `first` is blocked with a full mailbox of one.
    app.send("first", "block and die", ()).await?;
    assert_eq!(first_rx.recv().await.map(|m| m.subject().to_owned()).as_deref(), Some("block and die"));
    app.send("first", "filler", ()).await?;

    // The job waits for room at `first`, which stops instead: `second` gets it.
    let mut job = pin!(app.send(Address::group("workers"), "job", ()));
    assert!(timeout(TIMEOUT, job.as_mut()).await.is_err(), "the job waits for first");
    gate.notify_one();
    job.await?;
    assert_eq!(second_rx.recv().await.map(|m| m.subject().to_owned()).as_deref(), Some("job"));
    assert!(first_rx.recv().await.is_none(), "first handled nothing more and stopped");

    // Only the filler left in `first`'s mailbox reached nobody; the job
    // passed on to `second` is no dead letter.
    assert_eq!(app.stats().dead_letters, 1);

    app.shutdown().await;
    Ok(())
}
