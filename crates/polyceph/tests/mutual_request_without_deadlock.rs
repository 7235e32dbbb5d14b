//! Proves that two actors can ask each other: while A waits in
//! `Context::request_serving`, it serves B's counter-question, and both get
//! their answers on distinct threads. With plain requests on both sides the
//! exchange ends in a `RequestError::Timeout`, never a hang.

use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What A saw of one exchange.
#[derive(Debug)]
struct Exchange {
    question: Envelope,
    outcome: Result<Envelope, RequestError>,
    took: Duration,
}

/// Asks B on `start` (serving its own mail meanwhile) or `start plainly`
/// (blocking), and answers B's counter-questions.
struct A {
    exchanges: mpsc::UnboundedSender<Exchange>,
    timeout: Duration,
}

impl Actor for A {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^start$")?, Self::start_serving);
        ctx.on(Filter::subject("^start plainly$")?, Self::start_plainly);
        ctx.on(Filter::subject("^counter-question$")?, Self::counter_question);
        ctx.on(Filter::subject("^sync$")?, sync);
        Ok(())
    }
}

impl A {
    async fn start_serving(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        let question = ctx.envelope("b", "question", "what is six times seven?");
        let started = Instant::now();
        let outcome = ctx.request_serving(self, question.clone(), self.timeout).await;
        self.exchanges.send(Exchange { question, outcome, took: started.elapsed() })?;
        Ok(())
    }

    async fn start_plainly(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        let mail = ctx.mail("b", "question", "what is six times seven?");
        let question = mail.envelope().clone();
        let started = Instant::now();
        // A plain request blocks this actor until the reply comes, like an
        // Erlang `gen_server:call`: it cannot serve B's counter-question.
        let outcome = mail.request(self.timeout).await;
        self.exchanges.send(Exchange { question, outcome, took: started.elapsed() })?;
        Ok(())
    }

    async fn counter_question(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, "in base 10").send().await?;
        Ok(())
    }
}

/// Before answering a question, asks A a counter-question with a plain request.
struct B {
    counter_exchanges: mpsc::UnboundedSender<Exchange>,
    timeout: Duration,
}

impl Actor for B {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^question$")?, Self::question);
        ctx.on(Filter::subject("^sync$")?, sync);
        Ok(())
    }
}

/// Does nothing: `deliver`ing it tells the test that all mail before it was handled.
async fn sync<T: Actor>(_actor: &mut T, _ctx: &mut Context<T>, _mail: Envelope) -> Result<()> {
    Ok(())
}

impl B {
    async fn question(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let counter = ctx.mail("a", "counter-question", "in which base?");
        let question = counter.envelope().clone();
        let started = Instant::now();
        let outcome = counter.request(self.timeout).await;
        let answer = match &outcome {
            Ok(reply) => format!("42, {}", reply.body::<String>()?),
            Err(_) => "42, in some base".to_owned(),
        };
        self.counter_exchanges.send(Exchange { question, outcome, took: started.elapsed() })?;
        ctx.reply(&mail, answer).send().await?;
        Ok(())
    }
}

struct Run {
    app: AppHandle,
    a: mpsc::UnboundedReceiver<Exchange>,
    b: mpsc::UnboundedReceiver<Exchange>,
}

async fn start(a_timeout: Duration, b_timeout: Duration) -> anyhow::Result<Run> {
    let (exchanges, a) = mpsc::unbounded_channel();
    let (counter_exchanges, b) = mpsc::unbounded_channel();
    let app = Application::builder()
        .actor("a", A { exchanges, timeout: a_timeout })
        .actor("b", B { counter_exchanges, timeout: b_timeout })
        .start()
        .await?;
    Ok(Run { app, a, b })
}

#[tokio::test(start_paused = true)]
async fn request_serving_answers_the_counter_question_while_waiting() -> anyhow::Result<()> {
    let mut run = start(Duration::from_secs(5), Duration::from_secs(5)).await?;

    run.app.send("a", "start", ()).await?;
    let b_side = run.b.recv().await.expect("b reports its counter-question");
    let a_side = run.a.recv().await.expect("a reports its question");

    // B got its answer from A while A was waiting on B, at once.
    let counter_reply = b_side.outcome?;
    assert_eq!(counter_reply.body::<String>()?, "in base 10");
    assert_eq!(counter_reply.thread(), b_side.question.thread());
    assert_eq!(b_side.took, Duration::ZERO);

    // And A got B's answer, on its own thread.
    let reply = a_side.outcome?;
    assert_eq!(reply.body::<String>()?, "42, in base 10");
    assert_eq!(reply.thread(), a_side.question.thread());
    assert_eq!(reply.in_reply_to(), Some(a_side.question.id()));
    assert_eq!(a_side.took, Duration::ZERO);

    assert_ne!(a_side.question.thread(), b_side.question.thread(), "two conversations, two threads");

    let stats = run.app.actor_stats("a").expect("running");
    assert_eq!((stats.handled, stats.queued), (2, 0), "start and the counter-question");
    assert_eq!(run.app.stats().late_replies, 0);
    run.app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn plain_requests_both_ways_end_in_a_timeout_not_a_hang() -> anyhow::Result<()> {
    let a_timeout = Duration::from_secs(1);
    let mut run = start(a_timeout, Duration::from_secs(5)).await?;

    run.app.send("a", "start plainly", ()).await?;

    // A is blocked in its request, so B's counter-question waits in A's
    // mailbox and B cannot answer: A's request times out, exactly on time.
    let a_side = run.a.recv().await.expect("a reports its question");
    assert!(
        matches!(a_side.outcome, Err(RequestError::Timeout { timeout, .. }) if timeout == a_timeout),
        "{:?}",
        a_side.outcome
    );
    assert_eq!(a_side.took, a_timeout);

    // Freed, A then answers the counter-question; B's answer to A comes too
    // late for A's request and is counted as such.
    let b_side = run.b.recv().await.expect("b reports its counter-question");
    assert_eq!(b_side.outcome?.body::<String>()?, "in base 10");
    assert_eq!(b_side.took, a_timeout);
    run.app.mail("b", "sync", ()).deliver(Duration::from_secs(1)).await?;
    assert_eq!(run.app.stats().late_replies, 1);
    run.app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn plain_requests_time_out_on_the_side_with_the_shorter_timeout() -> anyhow::Result<()> {
    let b_timeout = Duration::from_secs(1);
    let mut run = start(Duration::from_secs(5), b_timeout).await?;

    run.app.send("a", "start plainly", ()).await?;

    // This time B gives up first, then answers A as best it can.
    let b_side = run.b.recv().await.expect("b reports its counter-question");
    assert!(
        matches!(b_side.outcome, Err(RequestError::Timeout { timeout, .. }) if timeout == b_timeout),
        "{:?}",
        b_side.outcome
    );
    assert_eq!(b_side.took, b_timeout);
    let a_side = run.a.recv().await.expect("a reports its question");
    assert_eq!(a_side.outcome?.body::<String>()?, "42, in some base");
    assert_eq!(a_side.took, b_timeout);

    // A then answers the stale counter-question: a late reply.
    run.app.mail("a", "sync", ()).deliver(Duration::from_secs(1)).await?;
    assert_eq!(run.app.stats().late_replies, 1);
    run.app.shutdown().await;
    Ok(())
}
