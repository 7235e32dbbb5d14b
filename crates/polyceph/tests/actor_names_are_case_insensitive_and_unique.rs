//! Proves that actor names compare ignoring case and are unique: two actors
//! whose names differ only in case fail the start (and none is started),
//! mail to any spelling reaches the actor, invalid names are refused, and
//! `AppHandle::spawn` refuses a taken name.

mod support;

use std::time::Duration;

use polyceph::error::SpawnError;
use polyceph::prelude::*;
use polyceph::{Name, error::RequestError};
use support::{Idle, Probe, next};
use tokio::sync::mpsc;

/// Reports its birth; answers anything with its own name.
struct Named {
    born: mpsc::UnboundedSender<String>,
}

impl Actor for Named {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        self.born.send(ctx.name().to_string())?;
        ctx.on(Filter::any(), Self::whoami);
        Ok(())
    }
}

impl Named {
    async fn whoami(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, ctx.name().to_string()).send().await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn names_that_differ_only_in_case_fail_the_start() {
    let (born, mut births) = mpsc::unbounded_channel();
    let started = Application::builder()
        .actor("Main", Named { born: born.clone() })
        .actor("other", Named { born: born.clone() })
        .actor("main", Named { born })
        .start()
        .await;

    match started {
        Err(SpawnError::DuplicateName(name)) => {
            assert_eq!(name, Name::new("main"));
            assert_eq!(name.as_str(), "main", "names the second spelling");
        }
        other => panic!("expected SpawnError::DuplicateName, got {other:?}"),
    }
    // Every actor was dropped without being born: the channel closes empty.
    assert_eq!(births.recv().await, None, "no actor is started");
}

#[tokio::test(start_paused = true)]
async fn case_is_ignored_beyond_ascii_too() {
    let started = Application::builder().actor("Ärger", Idle).actor("äRGER", Idle).start().await;
    assert_eq!(started.err(), Some(SpawnError::DuplicateName(Name::new("äRGER"))));
}

#[tokio::test(start_paused = true)]
async fn mail_to_any_spelling_reaches_the_actor() -> anyhow::Result<()> {
    let (probe, mut rx) = Probe::new();
    let (born, _births) = mpsc::unbounded_channel();
    let app = Application::builder().actor("main", probe).actor("Named", Named { born }).start().await?;

    app.send("MAIN", "upper", ()).await?;
    app.send("Main", "mixed", ()).await?;
    app.send("main", "lower", ()).await?;
    for subject in ["upper", "mixed", "lower"] {
        assert_eq!(next(&mut rx).await.subject(), subject);
    }

    // The actor keeps the spelling it was given.
    let reply = app.request("nAMED", "who are you", (), Duration::from_secs(1)).await?;
    assert_eq!(reply.body::<String>()?, "Named");
    assert_eq!(reply.sender().as_str(), "Named");

    assert!(app.is_running("MAIN") && app.is_running("named") && app.is_running("NAMED"));
    assert!(app.actor_stats("mAiN").is_some());
    assert!(!app.is_running("mains"));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn invalid_names_are_refused() -> anyhow::Result<()> {
    for name in ["", "$x", "$app", "*", "group:x", "topic:x", "a:b"] {
        let started = Application::builder().actor(name, Idle).start().await;
        assert_eq!(started.err(), Some(SpawnError::InvalidName(name.to_owned())), "{name:?}");
    }

    let app = Application::builder().actor("idle", Idle).start().await?;
    for name in ["", "$x", "$app", "*", "group:x", "topic:x", "a:b"] {
        let spawned = app.spawn(name, Idle, ActorOptions::new());
        assert_eq!(spawned, Err(SpawnError::InvalidName(name.to_owned())), "{name:?}");
    }
    assert_eq!(app.stats().actors, 1);

    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn spawn_refuses_a_taken_name_in_any_case() -> anyhow::Result<()> {
    let (probe, mut rx) = Probe::new();
    let app = Application::builder().actor("probe", probe).start().await?;

    for name in ["probe", "PROBE", "Probe"] {
        let spawned = app.spawn(name, Idle, ActorOptions::new());
        assert_eq!(spawned, Err(SpawnError::DuplicateName(Name::new(name))), "{name}");
    }
    // The first actor is untouched.
    app.send("probe", "still me", ()).await?;
    assert_eq!(next(&mut rx).await.subject(), "still me");
    assert_eq!(app.stats().actors, 1);

    // A free name works, in whatever case it is then addressed.
    app.spawn("Second", Idle, ActorOptions::new())?;
    assert!(app.is_running("second"));
    let asked = app.request("SECOND", "anything", (), Duration::from_secs(1)).await;
    assert!(matches!(asked, Err(RequestError::Unhandled { .. })), "Idle handles nothing: {asked:?}");

    app.shutdown().await;
    Ok(())
}
