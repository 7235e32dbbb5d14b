//! Proves that an error returned by a handler or by `life` is counted
//! (`ActorStats::handler_errors`, `ActorStats::life_errors`) and that the
//! actor keeps ticking and handling later mail.

use std::time::Duration;

use polyceph::ActorStats;
use polyceph::error::{DeliverError, RequestError};
use polyceph::prelude::*;
use tokio::time::{Instant, sleep_until};

const WAIT: Duration = Duration::from_secs(1);

/// `life` fails on every odd tick; `fail` fails; `ok` answers how many
/// ticks and `ok` mails it has seen.
#[derive(Default)]
struct Flaky {
    ticks: u64,
    oks: u64,
}

impl Actor for Flaky {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^fail$")?, Self::fail);
        ctx.on(Filter::subject("^ok$")?, Self::ok);
        Ok(())
    }

    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.ticks += 1;
        if self.ticks % 2 == 1 {
            return Err(format!("tick {} failed", self.ticks).into());
        }
        Ok(())
    }
}

impl Flaky {
    async fn fail(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        Err("refused".into())
    }

    async fn ok(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.oks += 1;
        if mail.expects_reply() {
            ctx.reply(&mail, (self.ticks, self.oks)).send().await?;
        }
        Ok(())
    }
}

fn flaky_stats(app: &AppHandle) -> anyhow::Result<ActorStats> {
    app.actor_stats("flaky").ok_or_else(|| anyhow::anyhow!("flaky stopped"))
}

#[tokio::test(start_paused = true)]
async fn handler_errors_are_counted_and_later_mail_is_handled() -> anyhow::Result<()> {
    let app = Application::builder().actor("flaky", Flaky::default()).start().await?;

    app.send("flaky", "fail", ()).await?;
    let delivered = app.mail("flaky", "fail", ()).deliver(WAIT).await;
    match delivered {
        Err(DeliverError::HandlerFailed { reason, .. }) => assert_eq!(reason, "refused"),
        other => panic!("expected DeliverError::HandlerFailed, got {other:?}"),
    }
    let asked = app.request("flaky", "fail", (), WAIT).await;
    match asked {
        Err(RequestError::HandlerFailed { reason, .. }) => assert_eq!(reason, "refused"),
        other => panic!("expected RequestError::HandlerFailed, got {other:?}"),
    }

    let reply = app.request("flaky", "ok", (), WAIT).await?;
    assert_eq!(reply.body::<(u64, u64)>()?, (0, 1));

    let stats = flaky_stats(&app)?;
    assert_eq!(stats.handler_errors, 3);
    assert_eq!(stats.handled, 4, "a failed handler still took its mail");
    assert_eq!(stats.life_errors, 0);
    assert!(app.is_running("flaky"));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn life_errors_are_counted_and_the_actor_keeps_ticking() -> anyhow::Result<()> {
    let start = Instant::now();
    let app = Application::builder().actor("flaky", Flaky::default()).frequency(1.0).start().await?;

    // Ticks at 0..=4 s; ticks 1, 3 and 5 fail.
    sleep_until(start + Duration::from_millis(4_500)).await;
    let stats = flaky_stats(&app)?;
    assert_eq!((stats.ticks, stats.life_errors), (5, 3));

    app.send("flaky", "ok", ()).await?;
    let reply = app.request("flaky", "ok", (), WAIT).await?;
    assert_eq!(reply.body::<(u64, u64)>()?, (5, 2));

    sleep_until(start + Duration::from_millis(9_500)).await;
    let stats = flaky_stats(&app)?;
    assert_eq!((stats.ticks, stats.life_errors), (10, 5));
    assert_eq!(stats.handler_errors, 0);
    assert!(app.is_running("flaky"));

    app.shutdown().await;
    Ok(())
}
