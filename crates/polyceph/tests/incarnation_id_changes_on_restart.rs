//! Proves that each incarnation of an actor has its own id, carried by the
//! mail it sends, so a correspondent can tell that it restarted.

use std::time::Duration;

use polyceph::prelude::*;
use polyceph::{Event, Name};

/// Answers `who` with its incarnation; panics on `crash`.
struct Phoenix;

impl Actor for Phoenix {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^who$")?, Self::who);
        ctx.on(Filter::subject("^crash$")?, Self::crash);
        Ok(())
    }
}

impl Phoenix {
    async fn who(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, ctx.incarnation()).send().await?;
        Ok(())
    }

    async fn crash(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        panic!("on purpose");
    }
}

#[tokio::test(start_paused = true)]
async fn a_restart_brings_a_new_incarnation_that_mail_carries() -> anyhow::Result<()> {
    let builder = Application::builder().actor_with("phoenix", || Phoenix).restart(Restart::OnFailure);
    let mut events = builder.events();
    let app = builder.start().await?;
    let timeout = Duration::from_secs(1);

    let first = app.request("phoenix", "who", (), timeout).await?;
    assert_eq!(first.sender_incarnation(), first.body::<u64>()?, "mail carries its sender's incarnation");
    assert_ne!(first.sender_incarnation(), 0);

    app.send("phoenix", "crash", ()).await?;
    let restarted = events.wait_for(timeout, |e| matches!(e, Event::Restarted { .. })).await;
    let Some(Event::Restarted { actor, incarnation }) = restarted else { panic!("no restart: {restarted:?}") };
    assert_eq!(actor, Name::new("phoenix"));

    let second = app.request("phoenix", "who", (), timeout).await?;
    assert_eq!(second.sender_incarnation(), incarnation);
    assert_ne!(second.sender_incarnation(), first.sender_incarnation(), "a correspondent sees the restart");
    app.shutdown().await;
    Ok(())
}
