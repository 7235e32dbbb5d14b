//! Proves that a reply reaches an actor that requested from inside a
//! handler, while mail that arrived meanwhile stays queued in its mailbox and
//! is handled afterwards, in order.

use std::sync::Arc;
use std::time::Duration;

use polyceph::prelude::*;
use tokio::sync::{Notify, mpsc};

/// On `ask`, requests `b` from inside the handler; logs every step and every
/// other mail it handles.
struct A {
    log: mpsc::UnboundedSender<String>,
}

impl Actor for A {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ask$")?, Self::ask);
        ctx.fallback(Self::other);
        Ok(())
    }
}

impl A {
    async fn ask(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.log.send("asking".into())?;
        let reply = ctx.mail("b", "question", ()).request(Duration::from_secs(10)).await?;
        let queued = ctx.stats().queued;
        self.log.send(format!("reply {} with {queued} queued", reply.body::<String>()?))?;
        Ok(())
    }

    async fn other(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.log.send(mail.subject().to_owned())?;
        Ok(())
    }
}

/// Answers a question once the test opens the gate.
struct B {
    asked: mpsc::UnboundedSender<()>,
    gate: Arc<Notify>,
}

impl Actor for B {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^question$")?, Self::question);
        Ok(())
    }
}

impl B {
    async fn question(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.asked.send(())?;
        self.gate.notified().await;
        ctx.reply(&mail, "42").send().await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_reply_comes_back_into_the_handler_and_other_mail_waits() -> anyhow::Result<()> {
    let (log, mut log_rx) = mpsc::unbounded_channel();
    let (asked, mut asked_rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    let app = Application::builder().actor("a", A { log }).actor("b", B { asked, gate: gate.clone() }).start().await?;

    app.send("a", "ask", ()).await?;
    asked_rx.recv().await.expect("b got the question");
    // A is inside `ask`, waiting for the reply: this mail queues.
    for subject in ["first", "second", "third"] {
        app.send("a", subject, ()).await?;
    }
    assert_eq!(app.actor_stats("a").map(|s| s.queued), Some(3));
    assert_eq!(log_rx.recv().await.as_deref(), Some("asking"));
    assert!(log_rx.try_recv().is_err(), "nothing else handled while a waits");

    gate.notify_one();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(log_rx.recv().await.expect("a logs"));
    }
    assert_eq!(seen, ["reply 42 with 3 queued", "first", "second", "third"]);

    let stats = app.actor_stats("a").expect("running");
    assert_eq!((stats.handled, stats.unhandled, stats.queued), (4, 0, 0));
    app.shutdown().await;
    Ok(())
}
