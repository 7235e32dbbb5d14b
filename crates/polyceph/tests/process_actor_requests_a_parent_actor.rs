//! Mail goes both ways across the process link: a process actor, inside a
//! handler, requests an actor that lives in the parent and gets its reply;
//! its plain `send` reaches that actor; and its request that no handler of
//! that actor matches fails in the child with `RequestError::Unhandled`, as
//! it would in one process.

use std::time::Duration;

use polyceph::error::RequestError;
use polyceph::prelude::*;
use tokio::sync::mpsc;

const TIMEOUT: Duration = Duration::from_secs(5);

/// What the process actor tells the test.
type Report = (u64, u32, u32, bool, String);

/// Lives in the child; asks `oracle`, in the parent, before answering.
struct Asker;

impl Actor for Asker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ask$")?, Self::ask);
        Ok(())
    }
}

impl Asker {
    async fn ask(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let question: u64 = mail.body()?;
        let (answer, oracle_pid): (u64, u32) = ctx.mail("oracle", "answer", question).request(TIMEOUT).await?.body()?;
        ctx.mail("oracle", "note", std::process::id()).send().await?;
        let (unhandled, error) = match ctx.mail("oracle", "nonsense", ()).request(TIMEOUT).await {
            Err(error @ RequestError::Unhandled { .. }) => (true, error.to_string()),
            Err(error) => (false, error.to_string()),
            Ok(reply) => (false, format!("unexpected reply: {reply}")),
        };
        let report: Report = (answer, oracle_pid, std::process::id(), unhandled, error);
        ctx.reply(&mail, report).send().await?;
        Ok(())
    }
}

/// Lives in the parent: answers `answer` requests, passes `note`s on to
/// the test, and has no handler for anything else.
struct Oracle(mpsc::UnboundedSender<Envelope>);

impl Actor for Oracle {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^answer$")?, Self::answer);
        ctx.on(Filter::subject("^note$")?, Self::note);
        Ok(())
    }
}

impl Oracle {
    async fn answer(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let question: u64 = mail.body()?;
        ctx.reply(&mail, (question + 21, std::process::id())).send().await?;
        Ok(())
    }

    async fn note(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let _ = self.0.send(mail);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_actor_requests_and_mails_a_parent_actor() -> anyhow::Result<()> {
    let (tx, mut notes) = mpsc::unbounded_channel();
    let app = Application::builder()
        .process_args(["--exact", "a_process_actor_requests_and_mails_a_parent_actor", "--nocapture"])
        .actor("oracle", Oracle(tx))
        .actor("asker", Asker)
        .mode(Mode::Process)
        .start()
        .await?;
    let report: Report = app.request("asker", "ask", 21_u64, Duration::from_secs(10)).await?.body()?;
    let (answer, oracle_pid, asker_pid, unhandled, error) = report;
    assert_eq!(answer, 42, "the child got the parent actor's reply");
    assert_eq!(oracle_pid, std::process::id(), "the oracle answered from the parent");
    assert_ne!(asker_pid, std::process::id(), "the asker runs in another process");
    assert!(unhandled, "a request no handler matches fails with Unhandled in the child, got: {error}");
    assert_eq!(error, RequestError::Unhandled { to: Address::from("oracle") }.to_string());

    // Sent before the reply: already in the oracle's mailbox.
    let note = tokio::time::timeout(TIMEOUT, notes.recv()).await?.expect("the note reached the oracle");
    assert!(note.sender().is("asker"));
    assert_eq!(note.body::<u32>()?, asker_pid);
    assert!(app.shutdown().await.is_empty());
    Ok(())
}
