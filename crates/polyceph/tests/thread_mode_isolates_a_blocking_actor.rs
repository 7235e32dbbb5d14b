//! Proves that an actor in `Mode::Thread` may block without holding up the
//! others: while its `life` is stuck in a blocking call, the application's
//! own (single-threaded) runtime still carries mail and replies, and the
//! blocked actor is supervised like any other (it stops on shutdown).
//!
//! Real time, not paused: the actor's thread runs its own runtime, which a
//! paused test clock does not reach.

use std::sync::mpsc as blocking;
use std::time::Duration;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use tokio::sync::mpsc;

/// Blocks its thread in `life` until released (or the sender is dropped).
struct Blocker {
    release: blocking::Receiver<()>,
    blocked: mpsc::UnboundedSender<()>,
}

impl Actor for Blocker {
    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        let _ = self.blocked.send(());
        // A blocking call, as a driver or a heavy computation would make.
        let _ = self.release.recv();
        Ok(())
    }
}

/// Answers `ping` at once.
struct Ponger;

impl Actor for Ponger {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ping$")?, Self::ping);
        Ok(())
    }
}

impl Ponger {
    async fn ping(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, "pong").send().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_blocked_thread_actor_holds_up_nobody() -> anyhow::Result<()> {
    let (release, release_rx) = blocking::channel();
    let (blocked_tx, mut blocked) = mpsc::unbounded_channel();
    let (probe, mut recorded) = Probe::new();
    let builder = Application::builder()
        .actor("blocker", Blocker { release: release_rx, blocked: blocked_tx })
        .mode(Mode::Thread)
        .frequency(10.0)
        .actor("ponger", Ponger)
        .actor("probe", probe);
    let mut events = builder.events();
    let app = builder.start().await?;

    blocked.recv().await.expect("the blocker is in its blocking call");
    // This runtime has one thread: had the blocker blocked it, nothing
    // below could run.
    let reply = app.request("ponger", "ping", (), Duration::from_secs(5)).await?;
    assert_eq!(reply.body::<String>()?, "pong");
    app.send("probe", "mail", ()).await?;
    assert_eq!(recorded.next(Duration::from_secs(5)).await?.subject(), "mail");
    assert!(app.is_running("blocker"));

    drop(release);
    assert!(app.shutdown().await.is_empty(), "every actor stopped in time");
    assert_eq!(events.stopped("blocker", Duration::from_secs(5)).await, Some(ExitReason::Shutdown));
    Ok(())
}

/// Names its thread.
struct WhereAmI {
    thread: mpsc::UnboundedSender<Option<String>>,
}

impl Actor for WhereAmI {
    async fn birth(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.thread.send(std::thread::current().name().map(str::to_owned))?;
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_thread_actor_has_its_own_named_thread() -> anyhow::Result<()> {
    let (thread, mut named) = mpsc::unbounded_channel();
    let app = Application::builder()
        .actor("worker", WhereAmI { thread: thread.clone() })
        .mode(Mode::Thread)
        .actor("task", WhereAmI { thread })
        .start()
        .await?;
    let mut names = vec![named.recv().await.flatten(), named.recv().await.flatten()];
    names.sort();
    let test_thread = std::thread::current().name().map(str::to_owned);
    assert!(names.contains(&Some("polyceph:worker".to_owned())), "{names:?}");
    assert!(names.contains(&test_thread), "the task-mode actor runs on the test's runtime: {names:?}");
    app.shutdown().await;
    Ok(())
}
