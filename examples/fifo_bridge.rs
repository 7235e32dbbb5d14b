//! A shell script talks to an actor through two named pipes.
//!
//! `greeter` gets each line written to the FIFO `in`, one message per line
//! (`subject<TAB>body`, or an envelope in JSON), and answers into the FIFO
//! `out`, one JSON envelope per line. The reader of `in` says the lines come
//! from `out`, the writer actor of the FIFO `out`: that is where replies go.
//!
//! By default the example plays the shell user itself: it writes three
//! lines with the shell's `printf`, prints the replies it reads from `out`,
//! and exits. With `--serve` it waits for you until Ctrl-C:
//!
//! ```text
//! cargo run --example fifo_bridge
//! cargo run --example fifo_bridge -- --serve --dir /tmp/polyceph
//!
//! # in another shell: first a reader for the replies, then the requests
//! cat /tmp/polyceph/out &
//! printf 'greet\tworld\n' > /tmp/polyceph/in          # {"...","body":"Hello, world!"}
//! printf 'add\t[1, 2, 3.5]\n' > /tmp/polyceph/in      # {"...","body":6.5}
//! ```
//!
//! See `docs/fifo.md` for the line format and the other framings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use polyceph::prelude::*;
use polyceph_fifo::{FifoReader, FifoWriter, Framing};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::unix::pipe;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "A shell script talks to an actor through two named pipes")]
struct Args {
    /// Where to make the FIFOs `in` and `out` (default: a new directory in
    /// the system's temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Wait for lines from you until Ctrl-C, instead of writing a few itself.
    #[arg(long)]
    serve: bool,
}

/// Answers greetings and sums; says what it does not understand.
struct Greeter;

impl Actor for Greeter {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^greet$")?, Self::greet);
        ctx.on(Filter::subject("^add$")?, Self::add);
        ctx.fallback(Self::unknown);
        Ok(())
    }
}

impl Greeter {
    async fn greet(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let name: String = mail.body()?;
        ctx.reply(&mail, format!("Hello, {name}!")).send().await?;
        Ok(())
    }

    async fn add(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let numbers: Vec<f64> = mail.body()?;
        ctx.reply(&mail, numbers.iter().sum::<f64>()).send().await?;
        Ok(())
    }

    async fn unknown(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let answer = format!("unknown subject {:?}: try greet or add", mail.subject());
        ctx.reply(&mail, answer).subject("error").send().await?;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    polyceph_examples::init_tracing();
    match bridge(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fifo_bridge: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn bridge(args: Args) -> anyhow::Result<()> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("polyceph-fifo-bridge-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot make {}", dir.display()))?;
    let (inbox, outbox) = (dir.join("in"), dir.join("out"));

    // Lines read from `in` come from `out`: replies to them are written there.
    let reader = FifoReader::builder(&inbox, "greeter").framing(Framing::Lines).sender("out").remove_at_shutdown(true);
    let writer = FifoWriter::builder(&outbox).framing(Framing::Lines).remove_at_shutdown(true);
    let application = Application::builder()
        .actor("greeter", Greeter)
        .actor("out", writer.open().context("the FIFO out")?)
        .actor("in", reader.open().context("the FIFO in")?);

    if args.serve {
        println!("reading {}, answering into {}; Ctrl-C to stop. Try:", inbox.display(), outbox.display());
        println!("  cat {} &", outbox.display());
        println!("  printf 'greet\\tworld\\n' > {}", inbox.display());
        application.run().await?;
        return Ok(());
    }

    let app = application.start().await?;
    let talked = talk(&inbox, &outbox).await;
    app.shutdown().await;
    let _ = std::fs::remove_dir(&dir);
    talked
}

/// Plays the shell user: one `printf` per line, then reads the reply.
async fn talk(inbox: &Path, outbox: &Path) -> anyhow::Result<()> {
    // Open for reading first: the writer reports replies with nobody reading as lost.
    let mut replies = BufReader::new(pipe::OpenOptions::new().open_receiver(outbox)?).lines();
    for line in ["greet\tworld", "add\t[1, 2, 3.5]", "frobnicate"] {
        let status = std::process::Command::new("sh")
            .args(["-c", r#"printf '%s\n' "$1" > "$0""#])
            .arg(inbox)
            .arg(line)
            .status()
            .context("cannot run sh")?;
        anyhow::ensure!(status.success(), "printf into {} failed: {status}", inbox.display());
        let reply = tokio::time::timeout(Duration::from_secs(10), replies.next_line())
            .await
            .context("no reply within 10 s")??
            .context("the FIFO out ended")?;
        let reply = Envelope::from_json(reply.as_bytes())?;
        println!("{line:?} -> {}: {}", reply.subject(), reply.body::<Value>()?);
    }
    Ok(())
}
