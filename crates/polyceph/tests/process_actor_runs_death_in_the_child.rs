//! A clean shutdown stops a process actor the way it stops any actor: its
//! `death` runs, in the child process, with `ExitReason::Shutdown`, and the
//! mail it sends from there reaches the parent's actors.

use std::time::Duration;

use polyceph::prelude::*;
use polyceph::testing::Probe;

/// Mails `relay` its pid and its exit reason from `death`.
struct Mortal;

impl Actor for Mortal {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ping$")?, Self::ping);
        Ok(())
    }

    async fn death(&mut self, ctx: &mut Context<Self>, why: &ExitReason) {
        let last_words = (std::process::id(), why.to_string());
        ctx.mail("relay", "died", last_words).send().await.expect("the relay is still running");
    }
}

impl Mortal {
    async fn ping(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, std::process::id()).send().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_shutdown_runs_death_in_the_child() -> anyhow::Result<()> {
    let (probe, mut relayed) = Probe::new();
    // The relay starts first, so it stops last: after the process actor.
    let app = Application::builder()
        .process_args(["--exact", "a_clean_shutdown_runs_death_in_the_child", "--nocapture"])
        .actor("relay", probe)
        .actor("mortal", Mortal)
        .mode(Mode::Process)
        .start()
        .await?;
    let child: u32 = app.request("mortal", "ping", (), Duration::from_secs(5)).await?.body()?;
    assert_ne!(child, std::process::id(), "the actor runs in another process");

    let aborted = tokio::time::timeout(Duration::from_secs(10), app.shutdown()).await?;
    assert!(aborted.is_empty(), "a clean shutdown aborts nobody: {aborted:?}");

    let died = relayed.try_next().expect("death's mail reached the parent before the relay stopped");
    assert_eq!(died.subject(), "died");
    assert!(died.sender().is("mortal"));
    let (pid, why): (u32, String) = died.body()?;
    assert_eq!(pid, child, "death ran in the actor's process");
    assert_ne!(pid, std::process::id());
    assert_eq!(why, ExitReason::Shutdown.to_string());
    assert!(relayed.try_next().is_none(), "death ran once");
    Ok(())
}
