//! Proves Polycephaly's bound shutdown: when the main actor stops, every
//! actor bound to it (the default) stops too, while an unbound one runs on
//! until the application stops.

mod support;

use polyceph::Name;
use polyceph::error::SpawnError;
use polyceph::prelude::*;
use support::{Idle, stops};

/// The main actor: stops on `quit`.
struct Main;

impl Actor for Main {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^quit$")?, Self::quit);
        Ok(())
    }
}

impl Main {
    async fn quit(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        ctx.die();
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn bound_actors_stop_with_main_and_unbound_ones_run_on() -> anyhow::Result<()> {
    let builder =
        Application::builder().actor("main", Main).main().actor("bound", Idle).actor("free", Idle).bound(false);
    let mut events = builder.events();
    let app = builder.start().await?;
    app.spawn("late-bound", Idle, ActorOptions::new())?;

    app.send("main", "quit", ()).await?;
    assert_eq!(
        stops(&mut events, 3).await,
        [
            ("bound".to_owned(), ExitReason::Shutdown),
            ("late-bound".to_owned(), ExitReason::Shutdown),
            ("main".to_owned(), ExitReason::Normal),
        ]
    );
    assert!(app.is_running("free"), "an unbound actor runs on");
    app.shutdown().await;
    assert!(!app.is_running("free"));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_application_has_one_main_actor() {
    let started = Application::builder().actor("one", Idle).main().actor("two", Idle).main().start().await;
    assert_eq!(started.err(), Some(SpawnError::TwoMains(Name::new("two"))));
}
