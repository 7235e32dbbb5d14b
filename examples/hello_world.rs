//! Polycephaly's "Hello, World!" in polyceph.
//!
//! `main` runs at 5 Hz and answers mail whose subject is `salutation` (any
//! case) with a reply carrying an extra `acme` header. `hello` runs at
//! 0.2 Hz (every 5 s): each tick it sends `main` a salutation with extra
//! headers (the seed's args and kwargs), waits up to 10 s for the reply, and
//! logs both envelopes with all their fields.
//!
//! ```text
//! cargo run --example hello_world              # until Ctrl-C
//! cargo run --example hello_world -- --count 2 # stop after two exchanges
//! RUST_LOG=debug cargo run --example hello_world -- --count 1
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use polyceph::prelude::*;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Polycephaly's Hello, World! in polyceph")]
struct Args {
    /// Stop after this many exchanges (default: run until Ctrl-C).
    #[arg(long)]
    count: Option<u64>,
}

/// Answers salutations.
struct Main;

impl Actor for Main {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject(r"(?i)^SALUTATION$")?, Self::salutation);
        ctx.on(Filter::subject("^goodbye$")?, Self::goodbye);
        Ok(())
    }
}

impl Main {
    async fn salutation(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        tracing::info!("'{}' received a salutation from '{}':\n{mail}", ctx.name(), mail.sender());
        let reply = ctx.reply(&mail, "Hi, thanks for writing.").header("acme", 123);
        tracing::info!("'{}' sends a reply to '{}':\n{}", ctx.name(), mail.sender(), reply.envelope());
        reply.send().await?;
        Ok(())
    }

    async fn goodbye(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        ctx.die();
        Ok(())
    }
}

/// Sends a salutation every tick and waits for the answer.
struct Hello {
    args: Vec<&'static str>,
    kwargs: BTreeMap<&'static str, i64>,
    exchanges: u64,
    count: Option<u64>,
}

impl Actor for Hello {
    async fn life(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        let mail = ctx
            .mail("main", "salutation", "Hello, World!")
            .header("args", self.args.clone())
            .header("kwargs", self.kwargs.clone());
        tracing::info!("'{}' sends a message to 'main':\n{}", ctx.name(), mail.envelope());
        let reply = mail.request(Duration::from_secs(10)).await?;
        tracing::info!("'{}' received a reply from '{}':\n{reply}", ctx.name(), reply.sender());
        self.exchanges += 1;
        if self.count.is_some_and(|count| self.exchanges >= count) {
            ctx.mail("main", "goodbye", ()).send().await?;
            ctx.die();
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    polyceph_examples::init_tracing();
    tracing::info!("start: 'Hello, World!'");
    let hello = Hello {
        args: vec!["Arg1", "Arg2"],
        kwargs: BTreeMap::from([("abc", 123), ("xyz", 789)]),
        exchanges: 0,
        count: args.count,
    };
    let outcome = Application::builder()
        .global_frequency(15.0)
        .actor("main", Main)
        .frequency(5.0)
        .actor("hello", hello)
        .frequency(0.2)
        .run()
        .await;
    tracing::info!("stop: 'Hello, World!'");
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The exit status says why: see `RunError::exit_code`.
            eprintln!("hello_world: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
