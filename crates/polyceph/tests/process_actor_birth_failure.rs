//! A process actor whose `birth` fails in the child stops like any actor
//! whose `birth` fails (see `lifecycle_events_are_observable.rs`,
//! `a_failed_birth_stops_without_starting`): `start` completes, the actor
//! fails and stops without a `Started` event and, with `Restart::Never`,
//! without a restart, and the events carry the error's text from the child.

use std::time::Duration;

use polyceph::Event;
use polyceph::prelude::*;

const WHY: &str = "no sensor on /dev/ttyUSB7";

/// Fails its birth.
struct Stillborn;

impl Actor for Stillborn {
    async fn birth(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        Err(WHY.into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_actors_birth_failure_is_reported_with_its_error() -> anyhow::Result<()> {
    let builder = Application::builder().process_args([
        "--exact",
        "a_process_actors_birth_failure_is_reported_with_its_error",
        "--nocapture",
    ]);
    let mut events = builder.events();
    let app = tokio::time::timeout(
        Duration::from_secs(10),
        builder.actor("stillborn", Stillborn).mode(Mode::Process).restart(Restart::Never).start(),
    )
    .await??;

    let (mut started, mut failed) = (false, None);
    let stopped = loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next()).await?.expect("the app runs");
        match event {
            Event::Started { actor } if actor.is("stillborn") => started = true,
            Event::Failed { actor, reason } if actor.is("stillborn") => failed = Some(reason),
            Event::Stopped { actor, reason } if actor.is("stillborn") => break reason,
            Event::Restarted { actor, .. } if actor.is("stillborn") => panic!("restarted with Restart::Never"),
            _ => {}
        }
    };
    let failed = failed.expect("a Failed event comes before Stopped");
    assert_eq!(failed, stopped);
    match &stopped {
        ExitReason::Failed(text) => assert!(text.contains(WHY), "the reason carries the birth's error: {text}"),
        other => panic!("the actor must stop as failed, got {other:?}"),
    }
    assert!(!started, "an actor whose birth failed never started");
    assert!(!app.is_running("stillborn"));
    assert!(app.shutdown().await.is_empty());
    Ok(())
}
