//! Proves that `ctx.die()` ends the actor after the current handler: the
//! other handlers matching the same envelope do not run, and an actor that
//! dies while serving mail in `request_serving` stops serving.

use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;
use tokio::sync::mpsc;

struct Twice {
    ran: mpsc::UnboundedSender<&'static str>,
}

impl Actor for Twice {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^go$")?, Self::first);
        ctx.on(Filter::subject("^go$")?, Self::second);
        Ok(())
    }
}

impl Twice {
    async fn first(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.ran.send("first")?;
        ctx.die();
        Ok(())
    }

    async fn second(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.ran.send("second")?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_handlers_after_the_dying_one_do_not_run() -> anyhow::Result<()> {
    let (ran, mut seen) = mpsc::unbounded_channel();
    let app = Application::builder().actor("twice", Twice { ran }).start().await?;
    app.send("twice", "go", ()).await?;
    app.wait().await;
    assert_eq!(seen.recv().await, Some("first"));
    assert_eq!(seen.recv().await, None, "second never ran");
    Ok(())
}

/// Asks `silent` (who never answers) while serving its own mail; `die`
/// arriving meanwhile ends the serving.
struct Asker {
    handled: mpsc::UnboundedSender<String>,
}

impl Actor for Asker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ask$")?, Self::ask);
        ctx.on(Filter::subject("^die$")?, Self::die);
        ctx.fallback(Self::other);
        Ok(())
    }
}

impl Asker {
    async fn ask(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        let question = ctx.envelope("silent", "question", ());
        let answer = ctx.request_serving(self, question, Duration::from_secs(3)).await;
        assert!(matches!(answer, Err(RequestError::Timeout { .. })), "{answer:?}");
        self.handled.send("ask done".to_owned())?;
        Ok(())
    }

    async fn die(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.handled.send("die".to_owned())?;
        ctx.die();
        Ok(())
    }

    async fn other(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.handled.send(mail.subject().to_owned())?;
        Ok(())
    }
}

/// Keeps every envelope unanswered, so a request to it waits out its timeout.
#[derive(Default)]
struct Silent {
    kept: Vec<Envelope>,
}

impl Actor for Silent {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.fallback(Self::keep);
        Ok(())
    }
}

impl Silent {
    async fn keep(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.kept.push(mail);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn dying_while_serving_stops_the_serving() -> anyhow::Result<()> {
    let (handled, mut seen) = mpsc::unbounded_channel();
    let app =
        Application::builder().actor("asker", Asker { handled }).actor("silent", Silent::default()).start().await?;
    app.send("asker", "ask", ()).await?;
    app.send("asker", "die", ()).await?;
    app.send("asker", "after", ()).await?;

    assert_eq!(seen.recv().await.as_deref(), Some("die"), "served while waiting");
    assert_eq!(seen.recv().await.as_deref(), Some("ask done"), "then only the reply was awaited");
    assert_eq!(seen.recv().await, None, "`after` was never handled");
    assert!(!app.is_running("asker"));
    assert_eq!(app.stats().dead_letters, 1, "`after` is a dead letter");
    app.shutdown().await;
    Ok(())
}
