//! Proves that fallback handlers run, all of them and in registration order,
//! only for mail that no filter matched; and that without a fallback such
//! mail is counted in `ActorStats::unhandled` and a request for it fails
//! with `RequestError::Unhandled`.

use std::time::Duration;

use polyceph::error::{DeliverError, RequestError};
use polyceph::prelude::*;

const WAIT: Duration = Duration::from_secs(1);

/// Handles `known` (and `broken`, which fails) with filters, anything else
/// with two fallbacks; `report` answers the log.
#[derive(Default)]
struct Sorter {
    log: Vec<String>,
}

impl Actor for Sorter {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^known$")?, Self::known);
        ctx.on(Filter::subject("^broken$")?, Self::broken);
        ctx.on(Filter::subject("^report$")?, Self::report);
        ctx.fallback(Self::first_fallback);
        ctx.fallback(Self::second_fallback);
        Ok(())
    }
}

impl Sorter {
    async fn known(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.log.push(format!("known: {}", mail.subject()));
        Ok(())
    }

    async fn broken(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.log.push(format!("broken: {}", mail.subject()));
        Err("broken on purpose".into())
    }

    async fn first_fallback(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.log.push(format!("first fallback: {}", mail.subject()));
        Ok(())
    }

    async fn second_fallback(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.log.push(format!("second fallback: {}", mail.subject()));
        if mail.expects_reply() {
            ctx.reply(&mail, "fallback answer").send().await?;
        }
        Ok(())
    }

    async fn report(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, std::mem::take(&mut self.log)).send().await?;
        Ok(())
    }
}

/// Handles `known` only (answering it if asked), and has no fallback.
struct Strict;

impl Actor for Strict {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^known$")?, Self::known);
        Ok(())
    }
}

impl Strict {
    async fn known(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        if mail.expects_reply() {
            ctx.reply(&mail, "known").send().await?;
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn fallbacks_run_in_order_only_for_unmatched_mail() -> anyhow::Result<()> {
    let app = Application::builder().actor("sorter", Sorter::default()).start().await?;

    app.mail("sorter", "known", ()).deliver(WAIT).await?;
    app.mail("sorter", "stranger", ()).deliver(WAIT).await?;
    // A matched handler that fails is still a match: no fallback for it.
    let broken = app.mail("sorter", "broken", ()).deliver(WAIT).await;
    assert!(matches!(broken, Err(DeliverError::HandlerFailed { .. })), "{broken:?}");
    app.mail("sorter", "another stranger", ()).deliver(WAIT).await?;

    let log: Vec<String> = app.request("sorter", "report", (), WAIT).await?.body()?;
    assert_eq!(
        log,
        [
            "known: known",
            "first fallback: stranger",
            "second fallback: stranger",
            "broken: broken",
            "first fallback: another stranger",
            "second fallback: another stranger",
        ]
    );

    let stats = app.actor_stats("sorter").ok_or_else(|| anyhow::anyhow!("sorter stopped"))?;
    assert_eq!(stats.unhandled, 0, "fallbacks took what no filter matched");
    assert_eq!(stats.handler_errors, 1);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_fallback_can_answer_a_request() -> anyhow::Result<()> {
    let app = Application::builder().actor("sorter", Sorter::default()).start().await?;

    let reply = app.request("sorter", "what is this", (), WAIT).await?;
    assert_eq!(reply.body::<String>()?, "fallback answer");

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn without_a_fallback_unmatched_mail_is_counted_as_unhandled() -> anyhow::Result<()> {
    let app = Application::builder().actor("strict", Strict).start().await?;

    app.mail("strict", "known", ()).deliver(WAIT).await?;
    let delivered = app.mail("strict", "stranger", ()).deliver(WAIT).await;
    assert!(matches!(delivered, Err(DeliverError::Unhandled { .. })), "{delivered:?}");
    let stats = app.actor_stats("strict").ok_or_else(|| anyhow::anyhow!("strict stopped"))?;
    assert_eq!((stats.handled, stats.unhandled), (1, 1));

    let asked = app.request("strict", "stranger", (), WAIT).await;
    match asked {
        Err(RequestError::Unhandled { to }) => assert_eq!(to.to_string(), "strict"),
        other => panic!("expected RequestError::Unhandled, got {other:?}"),
    }
    let stats = app.actor_stats("strict").ok_or_else(|| anyhow::anyhow!("strict stopped"))?;
    assert_eq!(stats.unhandled, 2);

    // Plain mail that nothing takes is counted too, and the actor goes on.
    app.send("strict", "stranger", ()).await?;
    let reply = app.request("strict", "known", (), WAIT).await?;
    assert_eq!(reply.body::<String>()?, "known");
    let stats = app.actor_stats("strict").ok_or_else(|| anyhow::anyhow!("strict stopped"))?;
    assert_eq!(stats.unhandled, 3);

    app.shutdown().await;
    Ok(())
}
