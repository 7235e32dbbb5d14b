//! Proves that a reply sent after its request timed out is counted in
//! `AppStats::late_replies` and dropped: the requester's handlers and
//! fallbacks never see it.

use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;
use tokio::sync::mpsc;
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_secs(2);

/// On `ask`, requests `slow` and reports the outcome; anything else (a
/// reply included) lands in its catch-all fallback and is reported too.
struct Asker {
    outcomes: mpsc::UnboundedSender<Result<Envelope, RequestError>>,
    caught: mpsc::UnboundedSender<Envelope>,
}

impl Actor for Asker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ask$")?, Self::ask);
        ctx.on(Filter::subject("^reply$")?, Self::catch);
        ctx.fallback(Self::catch);
        Ok(())
    }
}

impl Asker {
    async fn ask(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        let outcome = ctx.mail("slow", "question", ()).request(TIMEOUT).await;
        self.outcomes.send(outcome)?;
        Ok(())
    }

    async fn catch(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.caught.send(mail)?;
        Ok(())
    }
}

/// Keeps questions unanswered until told to `answer` them.
#[derive(Default)]
struct Slow {
    pending: Vec<Envelope>,
}

impl Actor for Slow {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^question$")?, Self::question);
        ctx.on(Filter::subject("^answer$")?, Self::answer);
        Ok(())
    }
}

impl Slow {
    async fn question(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.pending.push(mail);
        Ok(())
    }

    async fn answer(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        for question in self.pending.drain(..) {
            assert!(!question.expects_reply(), "the requester gave up waiting");
            ctx.reply(&question, "too late").send().await?;
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_reply_after_the_timeout_is_counted_and_never_seen() -> anyhow::Result<()> {
    let (outcomes, mut outcome_rx) = mpsc::unbounded_channel();
    let (caught, mut caught_rx) = mpsc::unbounded_channel();
    let app = Application::builder()
        .actor("asker", Asker { outcomes, caught })
        .actor("slow", Slow::default())
        .start()
        .await?;

    let started = Instant::now();
    app.send("asker", "ask", ()).await?;
    let outcome = outcome_rx.recv().await.expect("asker reports its outcome");
    assert!(matches!(outcome, Err(RequestError::Timeout { timeout: TIMEOUT, .. })), "{outcome:?}");
    assert_eq!(started.elapsed(), TIMEOUT);
    assert_eq!(app.stats().late_replies, 0);

    // Now slow replies; `deliver` returns once its handler has sent the reply.
    app.mail("slow", "answer", ()).deliver(Duration::from_secs(1)).await?;
    assert_eq!(app.stats().late_replies, 1);
    assert_eq!(app.stats().dead_letters, 0, "a late reply is not a dead letter");

    // Had the reply reached asker's mailbox, it would be handled before this marker.
    app.mail("asker", "marker", ()).deliver(Duration::from_secs(1)).await?;
    let first = caught_rx.try_recv().expect("the marker was caught");
    assert_eq!(first.subject(), "marker");
    assert!(caught_rx.try_recv().is_err(), "asker caught nothing else");
    assert!(outcome_rx.try_recv().is_err(), "the request resolved once only");

    let stats = app.actor_stats("asker").expect("running");
    assert_eq!((stats.handled, stats.unhandled, stats.queued), (2, 0, 0));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_second_reply_to_an_answered_request_is_late_too() -> anyhow::Result<()> {
    /// Replies twice to every question.
    struct Twice;

    impl Actor for Twice {
        async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
            ctx.on(Filter::subject("^question$")?, Self::twice);
            ctx.on(Filter::subject("^sync$")?, Self::sync);
            Ok(())
        }
    }

    impl Twice {
        async fn twice(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
            ctx.reply(&mail, "first").send().await?;
            assert!(!mail.expects_reply());
            ctx.reply(&mail, "second").send().await?;
            Ok(())
        }

        async fn sync(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
            Ok(())
        }
    }

    let app = Application::builder().actor("twice", Twice).start().await?;
    let reply = app.request("twice", "question", (), TIMEOUT).await?;
    assert_eq!(reply.body::<String>()?, "first");
    // The handler has finished once a delivery queued behind the request is acknowledged.
    app.mail("twice", "sync", ()).deliver(Duration::from_secs(1)).await?;
    assert_eq!(app.stats().late_replies, 1, "the second reply was late");
    assert_eq!(app.stats().dead_letters, 0);

    app.shutdown().await;
    Ok(())
}
