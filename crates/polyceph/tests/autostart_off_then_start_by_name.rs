//! Proves that an actor added with autostart off is only described until it
//! is started by name (from the handle or from another actor): mail to it
//! is refused meanwhile, its name is taken, and once started it runs like
//! any other.

mod support;

use polyceph::error::{SendError, SpawnError};
use polyceph::prelude::*;
use polyceph::{Event, Name};
use support::{Idle, Probe, next};

#[tokio::test(start_paused = true)]
async fn it_waits_until_started_by_name() -> anyhow::Result<()> {
    let (probe, mut seen) = Probe::new();
    let builder = Application::builder().actor("early", Idle).actor("later", probe).autostart(false);
    let mut events = builder.events();
    let app = builder.start().await?;
    assert_eq!(events.next().await, Some(Event::Started { actor: Name::new("early") }));

    assert!(!app.is_running("later"));
    let sent = app.send("later", "too soon", ()).await;
    assert!(matches!(sent, Err(SendError::NoSuchRecipient { .. })), "{sent:?}");
    let taken = app.spawn("LATER", Idle, ActorOptions::new());
    assert_eq!(taken, Err(SpawnError::DuplicateName(Name::new("LATER"))), "its name is taken");

    app.start_actor("later").await?;
    assert_eq!(events.next().await, Some(Event::Started { actor: Name::new("later") }));
    app.send("later", "now", ()).await?;
    assert_eq!(next(&mut seen).await.subject(), "now");

    let again = app.start_actor("later").await;
    assert_eq!(again, Err(SpawnError::NotDormant(Name::new("later"))), "started once only");
    assert_eq!(app.start_actor("nobody").await, Err(SpawnError::NotDormant(Name::new("nobody"))));
    app.shutdown().await;
    Ok(())
}

/// Starts `helper` when told to.
struct Starter;

impl Actor for Starter {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^start helper$")?, Self::start_helper);
        Ok(())
    }
}

impl Starter {
    async fn start_helper(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.start_actor("helper").await?;
        ctx.reply(&mail, "started").send().await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn another_actor_can_start_it() -> anyhow::Result<()> {
    let app = Application::builder().actor("starter", Starter).actor("helper", Idle).autostart(false).start().await?;
    assert!(!app.is_running("helper"));
    let reply = app.request("starter", "start helper", (), std::time::Duration::from_secs(1)).await?;
    assert_eq!(reply.body::<String>()?, "started");
    assert!(app.is_running("helper"));
    app.shutdown().await;
    Ok(())
}
