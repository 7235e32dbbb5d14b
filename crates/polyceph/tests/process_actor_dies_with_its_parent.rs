//! A process actor's child does not outlive its parent: when the parent
//! process is killed with SIGKILL (no `death`, no shutdown, nothing run in
//! the parent), the child is gone too.
//!
//! Three processes: this test (a child subreaper, so that orphans of its
//! descendants are reparented to it and it can wait for them), a parent
//! (this binary again, running the helper test below) that starts an
//! application with a process actor and prints the actor's pid, and the
//! actor's child. The test SIGKILLs the parent and waits for the orphaned
//! child to end.
//!
//! The helper is `#[ignore]`d, against the style guide, because it is not a
//! test: it is the parent's `main`, and waits until it is killed. Run with
//! `--ignored` by anyone else, it returns at once.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use polyceph::prelude::*;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The helper that plays the parent.
const HELPER: &str = "helper_parent_of_a_process_actor";
/// Set by the test for the parent (and inherited by its child): the helper
/// only plays its part when the test started it.
const PARENT_VAR: &str = "POLYCEPH_TEST_DIES_WITH_PARENT";
/// How long each step may take before the test fails.
const STEP: Duration = Duration::from_secs(10);

struct Worker;

impl Actor for Worker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^pid$")?, Self::pid);
        Ok(())
    }
}

impl Worker {
    async fn pid(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, std::process::id()).send().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_actor_dies_with_its_parent() -> anyhow::Result<()> {
    nix::sys::prctl::set_child_subreaper(true)?;
    let mut parent = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--ignored", "--exact", HELPER, "--nocapture"])
        .env(PARENT_VAR, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let parent_pid = Pid::from_raw(i32::try_from(parent.id().expect("the parent runs"))?);
    let mut lines = BufReader::new(parent.stdout.take().expect("stdout is piped")).lines();
    let child = tokio::time::timeout(STEP, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(pid) = line.strip_prefix("CHILD ") {
                return Ok(Pid::from_raw(pid.trim().parse()?));
            }
        }
        anyhow::bail!("the parent ended without printing its child's pid")
    })
    .await
    .expect("the parent printed its child's pid in time")?;
    assert_ne!(child, parent_pid);
    assert!(kill(child, None).is_ok(), "the child runs before its parent is killed");

    kill(parent_pid, Signal::SIGKILL)?;
    let status = tokio::time::timeout(STEP, parent.wait()).await.expect("the parent ended")?;
    assert!(!status.success(), "the parent was killed: {status}");

    // Reparented to this test (the subreaper) when the parent died.
    let waiting = tokio::task::spawn_blocking(move || waitpid(child, None));
    let ended = match tokio::time::timeout(STEP, waiting).await {
        Ok(ended) => ended??,
        Err(_) => {
            // Unblocks the waiting thread before failing.
            let _ = kill(child, Signal::SIGKILL);
            panic!("the child of a process actor outlived its parent by {STEP:?}");
        }
    };
    match ended {
        WaitStatus::Signaled(pid, Signal::SIGKILL, _) | WaitStatus::Exited(pid, _) => assert_eq!(pid, child),
        other => panic!("the child must be killed by SIGKILL or exit, got {other:?}"),
    }
    Ok(())
}

/// The parent: starts a process actor, prints its child's pid, and waits to
/// be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper: the parent process of a_process_actor_dies_with_its_parent"]
async fn helper_parent_of_a_process_actor() -> anyhow::Result<()> {
    if std::env::var_os(PARENT_VAR).is_none() {
        return Ok(());
    }
    let app = Application::builder()
        .process_args(["--ignored", "--exact", HELPER, "--nocapture"])
        .actor("worker", Worker)
        .mode(Mode::Process)
        .start()
        .await?;
    let pid: u32 = app.request("worker", "pid", (), STEP).await?.body()?;
    println!("CHILD {pid}");
    std::future::pending().await
}
