//! Mail sent to a process actor once its crash is known (the request the
//! dead process had has failed) waits for the new process and is answered
//! there, as the process module's contract says ("Mail queued in the
//! mailbox waits for the new process"). Repeated, because the failure it
//! guards against is a race: about one crash in thirty lost the next
//! request.

use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;

const ROUNDS: usize = 300;

struct Fragile;

impl Actor for Fragile {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^pid$")?, Self::pid);
        ctx.on(Filter::subject("^crash$")?, Self::crash);
        Ok(())
    }
}

impl Fragile {
    async fn pid(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, std::process::id()).send().await?;
        Ok(())
    }

    async fn crash(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        std::process::exit(3)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_sent_after_a_crash_reaches_the_new_process() -> anyhow::Result<()> {
    let app = Application::builder()
        .process_args(["--exact", "mail_sent_after_a_crash_reaches_the_new_process", "--nocapture"])
        .actor("fragile", Fragile)
        .mode(Mode::Process)
        .restart(Restart::Always)
        .intensity(u32::MAX, Duration::from_secs(1))
        .start()
        .await?;
    let mut pid: u32 = app.request("fragile", "pid", (), Duration::from_secs(5)).await?.body()?;
    let mut lost = Vec::new();
    for round in 0..ROUNDS {
        match app.request("fragile", "crash", (), Duration::from_secs(5)).await {
            Err(RequestError::Lost { reason, .. }) => {
                assert!(reason.contains("status 3"), "the error names the exit: {reason}");
            }
            other => panic!("the crash request must fail with the exit, got {other:?}"),
        }
        // Sent as soon as the crash is known: it must wait for the new process.
        match app.request("fragile", "pid", (), Duration::from_secs(5)).await {
            Ok(reply) => {
                let next: u32 = reply.body()?;
                assert_ne!(next, pid, "a new process answers after the crash");
                pid = next;
            }
            Err(error) => lost.push(format!("round {round}: {error}")),
        }
    }
    assert!(lost.is_empty(), "{} of {ROUNDS} requests sent after a crash were lost: {lost:#?}", lost.len());
    assert!(app.shutdown().await.is_empty());
    Ok(())
}
