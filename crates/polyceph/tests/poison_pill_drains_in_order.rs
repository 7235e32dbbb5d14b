//! Proves that a poison pill is an ordinary envelope in the mailbox: the
//! actor handles what was queued before it, runs `death` and stops, and
//! what came after it is a dead letter; that mail from outside cannot forge
//! one; and that a pill to everyone stops every actor.

mod support;

use polyceph::prelude::*;
use polyceph::{Event, Name};
use support::{Gated, Probe, blocked_gate, next, subjects};

#[tokio::test(start_paused = true)]
async fn what_was_queued_before_the_pill_is_handled_then_the_actor_stops() -> anyhow::Result<()> {
    let (app, gate, mut handled) = blocked_gate(8, FullPolicy::Wait).await?;
    let mut events = app.events();
    app.send("gated", "a", ()).await?;
    app.send("gated", "b", ()).await?;
    app.poison("gated").await?;
    app.send("gated", "after", ()).await?;
    gate.notify_one();

    assert_eq!(subjects(&mut handled, 2).await, ["a", "b"]);
    assert_eq!(events.next().await, Some(Event::Stopped { actor: Name::new("gated"), reason: ExitReason::Normal }));
    assert!(handled.recv().await.is_none(), "`after` and the pill never reached a handler");
    assert_eq!(app.stats().dead_letters, 1, "`after` is a dead letter");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn mail_from_outside_cannot_forge_a_pill() -> anyhow::Result<()> {
    let (probe, mut seen) = Probe::new();
    let app = Application::builder().actor("probe", probe).start().await?;

    // The same subject, sent as mail or decoded from the wire, is ordinary mail.
    app.send("probe", "poison pill", ()).await?;
    assert_eq!(next(&mut seen).await.subject(), "poison pill");
    let decoded = Envelope::from_msgpack(&Envelope::new("outsider", "probe", "poison pill", ()).to_msgpack()?)?;
    assert!(!decoded.is_poison_pill());
    assert!(app.is_running("probe"));
    app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_pill_to_everyone_stops_every_actor() -> anyhow::Result<()> {
    let (handled, _rx) = tokio::sync::mpsc::unbounded_channel();
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    let app = Application::builder()
        .actor("one", Gated::new(handled.clone(), gate.clone()))
        .actor("two", Gated::new(handled, gate))
        .start()
        .await?;
    app.poison(Address::Everyone).await?;
    app.wait().await;
    assert_eq!(app.stats().actors, 0);
    Ok(())
}
