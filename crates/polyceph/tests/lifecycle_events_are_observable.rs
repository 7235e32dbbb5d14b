//! Proves that every start, failure and stop of an actor is an `Event` on
//! the application's event streams, with the reason it stopped, so tests and
//! users can wait on them instead of sleeping.

use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;
use polyceph::{Event, Name};

/// Dies, fails or panics on request.
struct Fragile;

impl Actor for Fragile {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^die$")?, Self::die);
        ctx.on(Filter::subject("^panic$")?, Self::panic);
        Ok(())
    }
}

impl Fragile {
    async fn die(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        ctx.die();
        Ok(())
    }

    async fn panic(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        panic!("asked to");
    }
}

struct Unborn;

impl Actor for Unborn {
    async fn birth(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        Err("no config".into())
    }
}

fn stopped(actor: &str, reason: ExitReason) -> Option<Event> {
    Some(Event::Stopped { actor: Name::new(actor), reason })
}

#[tokio::test(start_paused = true)]
async fn starts_and_stops_are_events_with_their_reasons() -> anyhow::Result<()> {
    let builder = Application::builder().actor("quits", Fragile).actor("crashes", Fragile).actor("stays", Fragile);
    let mut events = builder.events();
    let app = builder.start().await?;
    let mut started: Vec<_> = Vec::new();
    for _ in 0..3 {
        match events.next().await {
            Some(Event::Started { actor }) => started.push(actor.to_string()),
            other => panic!("expected a start, got {other:?}"),
        }
    }
    started.sort();
    assert_eq!(started, ["crashes", "quits", "stays"]);

    app.send("quits", "die", ()).await?;
    assert_eq!(events.next().await, stopped("quits", ExitReason::Normal));

    let asked = app.request("crashes", "panic", (), Duration::from_secs(1)).await;
    assert!(matches!(asked, Err(RequestError::RecipientStopped { .. })), "{asked:?}");
    let panicked = ExitReason::Panicked("asked to".into());
    assert_eq!(events.next().await, Some(Event::Failed { actor: Name::new("crashes"), reason: panicked.clone() }));
    assert_eq!(events.next().await, stopped("crashes", panicked));
    assert!(!app.is_running("crashes"), "gone from the directory when its stop is heard");

    app.shutdown().await;
    assert_eq!(events.next().await, stopped("stays", ExitReason::Shutdown));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_failed_birth_stops_without_starting() -> anyhow::Result<()> {
    let builder = Application::builder().actor("unborn", Unborn);
    let mut events = builder.events();
    let app = builder.start().await?;
    let failed = ExitReason::Failed("no config".into());
    assert_eq!(events.next().await, Some(Event::Failed { actor: Name::new("unborn"), reason: failed.clone() }));
    assert_eq!(events.next().await, stopped("unborn", failed));
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_stream_from_the_handle_sees_what_comes_after() -> anyhow::Result<()> {
    let app = Application::builder().actor("first", Fragile).start().await?;
    let mut events = app.events();
    app.spawn("second", Fragile, ActorOptions::new())?;
    assert_eq!(events.next().await, Some(Event::Started { actor: Name::new("second") }));
    app.shutdown().await;
    let mut stops = vec![events.next().await, events.next().await];
    stops.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(stops, [stopped("first", ExitReason::Shutdown), stopped("second", ExitReason::Shutdown)]);
    assert_eq!(events.missed(), 0);
    Ok(())
}
