//! Proves that every handler whose filter matches an envelope runs, in the
//! order the handlers were registered, each with the same envelope, and that
//! handlers whose filters do not match do not run.

use std::time::Duration;

use polyceph::prelude::*;

/// Logs which handler ran on which envelope; `report` answers the log.
#[derive(Default)]
struct Many {
    log: Vec<(String, String)>,
}

impl Actor for Many {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ping$")?, Self::first);
        ctx.on(!Filter::subject("^report$")?, Self::second);
        ctx.on(Filter::subject("^pong$")?, Self::pong_only);
        ctx.on(Filter::header("n", "^1$")?, Self::third);
        ctx.on(Filter::subject("^ping$")?, Self::fourth);
        ctx.on(Filter::subject("^report$")?, Self::report);
        Ok(())
    }
}

impl Many {
    fn note(&mut self, handler: &str, mail: &Envelope) {
        self.log.push((handler.to_owned(), format!("{} {}", mail.subject(), mail.id())));
    }

    async fn first(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.note("first", &mail);
        Ok(())
    }

    async fn second(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        // Yield to the runtime: the next handler still waits for this one.
        tokio::task::yield_now().await;
        self.note("second", &mail);
        Ok(())
    }

    async fn pong_only(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.note("pong_only", &mail);
        Ok(())
    }

    async fn third(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.note("third", &mail);
        Ok(())
    }

    async fn fourth(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.note("fourth", &mail);
        Ok(())
    }

    async fn report(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, std::mem::take(&mut self.log)).send().await?;
        Ok(())
    }
}

async fn log(app: &AppHandle) -> anyhow::Result<Vec<(String, String)>> {
    Ok(app.request("many", "report", (), Duration::from_secs(1)).await?.body()?)
}

#[tokio::test(start_paused = true)]
async fn all_matching_handlers_run_in_registration_order() -> anyhow::Result<()> {
    let app = Application::builder().actor("many", Many::default()).start().await?;

    let ping = app.mail("many", "ping", ()).header("n", 1);
    let id = ping.envelope().id();
    ping.deliver(Duration::from_secs(1)).await?;

    let seen = format!("ping {id}");
    let expected: Vec<_> = ["first", "second", "third", "fourth"].map(|h| (h.to_owned(), seen.clone())).to_vec();
    assert_eq!(log(&app).await?, expected);

    // One envelope, however many handlers took it.
    let stats = app.actor_stats("many").ok_or_else(|| anyhow::anyhow!("many stopped"))?;
    assert_eq!((stats.handled, stats.unhandled), (2, 0), "the ping and the report");

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn only_the_matching_handlers_run() -> anyhow::Result<()> {
    let app = Application::builder().actor("many", Many::default()).start().await?;

    // Matches `second` and `pong_only`, in that order.
    let pong = app.mail("many", "pong", ());
    let pong_id = pong.envelope().id();
    pong.deliver(Duration::from_secs(1)).await?;
    // Matches `first`, `second` and `fourth` but not `third`: no header `n`.
    let ping = app.mail("many", "ping", ());
    let ping_id = ping.envelope().id();
    ping.deliver(Duration::from_secs(1)).await?;
    // Matches `second` only: `n` is there but not 1.
    let other = app.mail("many", "other", ()).header("n", 2);
    let other_id = other.envelope().id();
    other.deliver(Duration::from_secs(1)).await?;

    let entry = |h: &str, what: String| (h.to_owned(), what);
    assert_eq!(
        log(&app).await?,
        [
            entry("second", format!("pong {pong_id}")),
            entry("pong_only", format!("pong {pong_id}")),
            entry("first", format!("ping {ping_id}")),
            entry("second", format!("ping {ping_id}")),
            entry("fourth", format!("ping {ping_id}")),
            entry("second", format!("other {other_id}")),
        ]
    );

    app.shutdown().await;
    Ok(())
}
