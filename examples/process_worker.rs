//! A CPU-heavy worker in a child process, restarted after a crash.
//!
//! `primes` counts the primes below a number, by trial division, in its own
//! OS process (`Mode::Process`): this program re-executed, which runs `main`
//! again up to `start` and there serves only that actor. What the worker
//! prints is logged here with its name. Midway, `main` asks it to crash:
//! it aborts (SIGABRT), its request fails naming the signal, and the
//! supervisor (`Restart::Always`) starts a new process, which answers the
//! remaining jobs. `main` prints each answer with the pid that computed
//! it, then shuts down cleanly.
//!
//! ```text
//! cargo run --example process_worker
//! cargo run --example process_worker -- --jobs 3 --step 20000 --crash-after 1
//! RUST_LOG=debug cargo run --example process_worker
//! ```

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use polyceph::prelude::*;

/// How long `main` waits for an answer or a restart.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Command line. The worker's process parses the same arguments.
#[derive(Debug, Parser)]
#[command(about = "A CPU-heavy worker in a child process, restarted after a crash")]
struct Args {
    /// How many jobs: job k counts the primes below (k + 1) * step.
    #[arg(long, default_value_t = 6)]
    jobs: u64,
    /// How much each job's bound grows.
    #[arg(long, default_value_t = 50_000)]
    step: u64,
    /// Crash the worker once, after this many jobs (never if past --jobs).
    #[arg(long, default_value_t = 2)]
    crash_after: u64,
}

/// Counts primes, in the child process.
struct Primes;

impl Actor for Primes {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        // Standard output: logged by the parent, with the actor's name.
        println!("worker process {} ready", std::process::id());
        ctx.on(Filter::subject("^count$")?, Self::count);
        ctx.on(Filter::subject("^crash$")?, Self::crash);
        Ok(())
    }
}

impl Primes {
    async fn count(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let below: u64 = mail.body()?;
        let primes = tokio::task::spawn_blocking(move || count_primes(below)).await?;
        ctx.reply(&mail, (primes, std::process::id())).send().await?;
        Ok(())
    }

    async fn crash(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        eprintln!("worker process {}: crashing on purpose", std::process::id());
        std::process::abort()
    }
}

/// How many primes are below `n`, the slow way.
fn count_primes(n: u64) -> u64 {
    let is_prime = |k: u64| k >= 2 && (2..).take_while(|d| d * d <= k).all(|d| !k.is_multiple_of(d));
    (0..n).filter(|&k| is_prime(k)).count() as u64
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if polyceph::process::is_child() {
        // The worker's process logs warnings and errors only, plainly: its
        // standard error is logged again here, with time and colour.
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_writer(std::io::stderr)
            .init();
    } else {
        polyceph_examples::init_tracing();
    }
    let builder = Application::builder().actor("primes", Primes).mode(Mode::Process).restart(Restart::Always);
    // In the worker's process, `start` serves the worker and never returns.
    let app = builder.start().await.context("cannot start the application")?;

    for job in 0..args.jobs {
        if job == args.crash_after {
            let crashed = app.request("primes", "crash", (), TIMEOUT).await;
            let error = crashed.err().context("the worker survived its crash")?;
            println!("crash request failed, as meant to: {error}");
            // The next request waits in the mailbox for the new process.
        }
        let below = (job + 1) * args.step;
        let reply = app.request("primes", "count", below, TIMEOUT).await.with_context(|| format!("job {job}"))?;
        let (primes, pid): (u64, u32) = reply.body()?;
        println!("job {job}: {primes} primes below {below} (worker pid {pid})");
    }

    let aborted = app.shutdown().await;
    anyhow::ensure!(aborted.is_empty(), "actors aborted at shutdown: {aborted:?}");
    Ok(())
}
