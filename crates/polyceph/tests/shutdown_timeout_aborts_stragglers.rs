//! Proves that a shutdown gives each actor's turn at most the shutdown
//! timeout: an actor still in a handler or in `death` then is aborted,
//! named in the result and in an `Event::Stopped` with
//! `ExitReason::Aborted`, and the shutdown goes on: the others stop cleanly
//! with `ExitReason::Shutdown`.

mod support;

use std::time::Duration;

use polyceph::Name;
use polyceph::prelude::*;
use support::stops;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Hangs in `death` if `stuck_in_death`, or in its handler on `hang`.
struct Straggler {
    stuck_in_death: bool,
    deaths: mpsc::UnboundedSender<String>,
}

impl Actor for Straggler {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^hang$")?, Self::hang);
        Ok(())
    }

    async fn death(&mut self, ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.deaths.send(format!("{} dying: {reason}", ctx.name()));
        if self.stuck_in_death {
            std::future::pending::<()>().await;
        }
    }
}

impl Straggler {
    async fn hang(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.deaths.send(format!("{} hanging", ctx.name()))?;
        std::future::pending::<()>().await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn stragglers_are_aborted_and_named_after_the_timeout() -> anyhow::Result<()> {
    let (deaths, mut died) = mpsc::unbounded_channel();
    let straggler = |stuck_in_death| Straggler { stuck_in_death, deaths: deaths.clone() };
    let builder = Application::builder()
        .shutdown_timeout(Duration::from_secs(2))
        .actor("clean", straggler(false))
        .actor("slow-death", straggler(true))
        .actor("hung-handler", straggler(false));
    let mut events = builder.events();
    let app = builder.start().await?;
    app.send("hung-handler", "hang", ()).await?;
    assert_eq!(died.recv().await.as_deref(), Some("hung-handler hanging"));

    let started = Instant::now();
    let mut aborted = app.shutdown().await;
    // In reverse start order: `hung-handler` never reaches its pill (2 s),
    // `slow-death` never finishes `death` (2 s), `clean` stops at once.
    assert_eq!(started.elapsed(), Duration::from_secs(4), "waited the timeout per straggler, no longer");
    aborted.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(aborted, [Name::new("hung-handler"), Name::new("slow-death")]);
    assert_eq!(app.stats().actors, 0, "everyone is gone");

    assert_eq!(
        stops(&mut events, 3).await,
        [
            ("clean".to_owned(), ExitReason::Shutdown),
            ("hung-handler".to_owned(), ExitReason::Aborted),
            ("slow-death".to_owned(), ExitReason::Aborted),
        ]
    );
    let mut dying = vec![died.recv().await, died.recv().await];
    dying.sort();
    assert_eq!(dying, [Some("clean dying: shutdown".to_owned()), Some("slow-death dying: shutdown".to_owned())]);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_clean_shutdown_aborts_nobody() -> anyhow::Result<()> {
    let (deaths, _died) = mpsc::unbounded_channel();
    let app = Application::builder().actor("clean", Straggler { stuck_in_death: false, deaths }).start().await?;
    assert!(app.shutdown().await.is_empty());
    Ok(())
}
