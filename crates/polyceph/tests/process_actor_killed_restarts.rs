//! A process actor whose child is killed with SIGKILL is restarted in a new
//! process; the requests the dead process had (the one it was handling, and
//! one waiting in its mailbox) fail with an error naming the kill, never
//! hang; the new process answers what comes next.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use polyceph::Event;
use polyceph::error::RequestError;
use polyceph::prelude::*;
use polyceph::testing::Probe;

struct Worker;

impl Actor for Worker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^pid$")?, Self::pid);
        ctx.on(Filter::subject("^hang$")?, Self::hang);
        Ok(())
    }
}

impl Worker {
    async fn pid(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, std::process::id()).send().await?;
        Ok(())
    }

    /// Never answers: the request stays in flight until the process dies.
    async fn hang(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        ctx.app().mail("test", "hanging", ()).send().await?;
        std::future::pending().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_actor_restarts_and_its_request_fails() -> anyhow::Result<()> {
    let builder = Application::builder().process_args([
        "--exact",
        "a_killed_process_actor_restarts_and_its_request_fails",
        "--nocapture",
    ]);
    let mut events = builder.events();
    let (probe, mut hanging) = Probe::new();
    let app = builder
        .actor("worker", Worker)
        .mode(Mode::Process)
        .restart(Restart::Always)
        .actor("test", probe)
        .start()
        .await?;
    let first: u32 = app.request("worker", "pid", (), Duration::from_secs(10)).await?.body()?;
    assert_ne!(first, std::process::id());

    let asker = app.clone();
    let in_flight = tokio::spawn(async move { asker.request("worker", "hang", (), Duration::from_secs(30)).await });
    hanging.expect(&Filter::subject("^hanging$")?, Duration::from_secs(10)).await?;
    // Queued in the child behind the hanging request: it dies with it.
    let queued = {
        let asker = app.clone();
        tokio::spawn(async move { asker.request("worker", "pid", (), Duration::from_secs(30)).await })
    };
    // Once the parent's side has passed it on (its third envelope: pid,
    // hang, pid), it belongs to this process; before that, it would rightly
    // wait in the parent's mailbox for the next process.
    tokio::time::timeout(Duration::from_secs(10), async {
        while app.actor_stats("worker").map_or(0, |stats| stats.handled) < 3 {
            tokio::task::yield_now().await;
        }
    })
    .await?;
    kill(Pid::from_raw(i32::try_from(first)?), Signal::SIGKILL)?;

    for request in [in_flight, queued] {
        match request.await? {
            Err(RequestError::Lost { reason, .. }) => {
                assert!(reason.contains("SIGKILL"), "the error names the kill: {reason}");
            }
            other => panic!("a request the process had must fail with the kill, got {other:?}"),
        }
    }
    loop {
        match events.next().await {
            Some(Event::Restarted { actor, .. }) if actor.is("worker") => break,
            Some(_) => {}
            None => panic!("no restart event"),
        }
    }
    let second: u32 = app.request("worker", "pid", (), Duration::from_secs(10)).await?.body()?;
    assert_ne!(second, first, "a new process answers");
    assert!(app.shutdown().await.is_empty());
    Ok(())
}
