//! A process actor answers requests like any actor, from its own process.

use std::time::Duration;

use polyceph::prelude::*;

struct Doubler;

impl Actor for Doubler {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^double$")?, Self::double);
        Ok(())
    }
}

impl Doubler {
    async fn double(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let n: u64 = mail.body()?;
        ctx.reply(&mail, (n * 2, std::process::id())).send().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_actor_answers_requests_from_its_own_process() -> anyhow::Result<()> {
    let app = Application::builder()
        .process_args(["--exact", "a_process_actor_answers_requests_from_its_own_process", "--nocapture"])
        .actor("doubler", Doubler)
        .mode(Mode::Process)
        .start()
        .await?;
    let reply = app.request("doubler", "double", 21_u64, Duration::from_secs(5)).await?;
    let (doubled, pid): (u64, u32) = reply.body()?;
    assert_eq!(doubled, 42);
    assert_ne!(pid, std::process::id(), "answered from another process");
    assert!(app.shutdown().await.is_empty());
    Ok(())
}
