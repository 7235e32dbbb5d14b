//! Proves that a request or delivery taken by `Context::receive` is settled
//! by the receiving actor: answered if it replies, otherwise reported as
//! unanswered (`RequestError::NoReply`) or finished with (`deliver` is `Ok`),
//! never as if the running recipient had stopped.

use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;
use tokio::sync::mpsc;

const TIMEOUT: Duration = Duration::from_secs(5);

/// On `take three`, receives a request and answers it, then receives a
/// request and a delivery and drops them without a word.
struct Taker {
    log: mpsc::UnboundedSender<&'static str>,
}

impl Actor for Taker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^take three$")?, Self::take_three);
        Ok(())
    }
}

impl Taker {
    async fn take_three(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        let question = ctx.receive(Filter::subject("^answer me$")?, TIMEOUT).await?;
        ctx.reply(&question, "answered").send().await?;
        drop(ctx.receive(Filter::subject("^ignore me$")?, TIMEOUT).await?);
        drop(ctx.receive(Filter::subject("^just take me$")?, TIMEOUT).await?);
        self.log.send("took three")?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn received_requests_are_answered_or_reported_unanswered() -> anyhow::Result<()> {
    let (log, mut rx) = mpsc::unbounded_channel();
    let app = Application::builder().actor("taker", Taker { log }).start().await?;

    app.send("taker", "take three", ()).await?;
    let reply = app.request("taker", "answer me", (), TIMEOUT).await?;
    assert_eq!(reply.body::<String>()?, "answered");

    // Mail handed to the handler by `receive` counts as handled: dropped
    // unanswered, a request gets `NoReply` and a delivery completes.
    let ignored = app.request("taker", "ignore me", (), TIMEOUT).await;
    assert!(matches!(ignored, Err(RequestError::NoReply { .. })), "{ignored:?}");

    let delivered = app.mail("taker", "just take me", ()).deliver(TIMEOUT).await;
    assert!(delivered.is_ok(), "{delivered:?}");

    assert_eq!(rx.recv().await, Some("took three"));
    assert!(app.is_running("taker"));
    app.shutdown().await;
    Ok(())
}
