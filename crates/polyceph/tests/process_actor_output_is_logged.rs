//! What a process actor's child writes on its standard output and error is
//! logged in the parent, line by line, with the actor's name.

use std::io;
use std::time::Duration;

use polyceph::prelude::*;
use tokio::sync::watch;

const OUT_LINE: &str = "talking on stdout: 1f9a3c";
const ERR_LINE: &str = "talking on stderr: 7b2e4d";

/// Prints a line on each stream when asked.
struct Talker;

impl Actor for Talker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^talk$")?, Self::talk);
        Ok(())
    }
}

impl Talker {
    async fn talk(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        println!("{OUT_LINE}");
        eprintln!("{ERR_LINE}");
        ctx.reply(&mail, std::process::id()).send().await?;
        Ok(())
    }
}

/// Appends what the formatter writes to the log it shares.
struct Capture(watch::Sender<String>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.send_modify(|log| log.push_str(&String::from_utf8_lossy(buf)));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_actors_output_is_logged_with_its_name() -> anyhow::Result<()> {
    // Global: the lines are logged on the runtime's worker threads. The
    // child runs this test too and installs its own; nothing reads it.
    let (log, mut logged) = watch::channel(String::new());
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || Capture(log.clone()))
        .try_init()
        .map_err(|e| anyhow::anyhow!(e))?;

    let app = Application::builder()
        .process_args(["--exact", "a_process_actors_output_is_logged_with_its_name", "--nocapture"])
        .actor("talker", Talker)
        .mode(Mode::Process)
        .start()
        .await?;
    let child: u32 = app.request("talker", "talk", (), Duration::from_secs(5)).await?.body()?;
    assert_ne!(child, std::process::id(), "the actor runs in another process");

    for (text, stream) in [(OUT_LINE, "stdout"), (ERR_LINE, "stderr")] {
        let line_of = |log: &str| log.lines().find(|line| line.contains(text)).map(str::to_owned);
        let found = tokio::time::timeout(Duration::from_secs(5), logged.wait_for(|log| line_of(log).is_some()))
            .await
            .is_ok_and(|seen| seen.is_ok());
        let log = logged.borrow().clone();
        assert!(found, "the child's {stream} line is logged in the parent; the log:\n{log}");
        let line = line_of(&log).expect("found above");
        assert!(line.contains("actor.name=talker"), "the line names the actor: {line}");
        assert!(line.contains(&format!("stream=\"{stream}\"")), "the line names the stream: {line}");
    }
    assert!(app.shutdown().await.is_empty());
    Ok(())
}
