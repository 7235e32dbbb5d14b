//! A flaky worker under one-for-one supervision, with the lifecycle events
//! printed as they happen.
//!
//! `feeder` sends `worker` a job ten times a second. `worker` panics on
//! every fifth job it handles; each time, the factory makes a new one
//! (a new incarnation, same mailbox: no job is lost) and the restart is an
//! event. After `--jobs` jobs the feeder sends everyone a poison pill and
//! the application ends. With `--crash-every 1` the worker fails faster
//! than its restart intensity (5 in 2 s) allows: the failure escalates and
//! the process exits with status 5.
//!
//! ```text
//! cargo run --example supervision
//! cargo run --example supervision -- --jobs 40 --crash-every 1   # escalates
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use polyceph::Event;
use polyceph::prelude::*;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "A flaky worker restarted by its supervisor")]
struct Args {
    /// How many jobs to feed the worker.
    #[arg(long, default_value_t = 20)]
    jobs: u32,
    /// The worker panics on every n-th job it handles.
    #[arg(long, default_value_t = 5)]
    crash_every: u32,
}

/// Does jobs; panics on every `crash_every`-th one of its incarnation.
struct Worker {
    crash_every: u32,
    done: u32,
}

impl Actor for Worker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        tracing::info!(incarnation = format_args!("{:016x}", ctx.incarnation()), "worker ready");
        ctx.on(Filter::subject("^job$")?, Self::job);
        Ok(())
    }
}

impl Worker {
    async fn job(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let job: u32 = mail.body()?;
        self.done += 1;
        if self.done == self.crash_every {
            panic!("worker gave up on job {job}");
        }
        tracing::info!(job, "job done");
        Ok(())
    }
}

/// Sends a job every tick, then poison pills.
struct Feeder {
    jobs: u32,
    sent: u32,
}

impl Actor for Feeder {
    async fn life(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        if self.sent == self.jobs {
            ctx.poison(Address::Everyone).await?;
            ctx.die();
            return Ok(());
        }
        ctx.mail("worker", "job", self.sent).send().await?;
        self.sent += 1;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    polyceph_examples::init_tracing();
    let crash_every = args.crash_every;
    let builder = Application::builder()
        .actor_with("worker", move || Worker { crash_every, done: 0 })
        .restart(Restart::OnFailure)
        .intensity(5, Duration::from_secs(2))
        .actor("feeder", Feeder { jobs: args.jobs, sent: 0 })
        .frequency(10.0);

    let mut events = builder.events();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            match event {
                Event::Failed { actor, reason } => println!("event: {actor} failed: {reason}"),
                Event::Restarted { actor, incarnation } => {
                    println!("event: {actor} restarted as incarnation {incarnation:016x}");
                }
                Event::Escalated { actor, reason } => println!("event: {actor} escalated: {reason}"),
                Event::Stopped { actor, reason } => println!("event: {actor} stopped: {reason}"),
                other => println!("event: {other:?}"),
            }
        }
    });

    match builder.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("supervision: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
