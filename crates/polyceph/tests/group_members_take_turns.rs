//! Proves that mail to a group goes to one member at a time, round-robin in
//! the order they joined, and that a member that stopped is skipped.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use polyceph::error::SendError;
use polyceph::prelude::*;
use tokio::sync::{Notify, mpsc};
use tokio::time::timeout;

const TIMEOUT: Duration = Duration::from_secs(1);
/// What a worker reports when it blocks.
const BLOCKED: u32 = u32::MAX;

/// Joins or leaves `workers` on request, dies on `die` (or on `block and
/// die` once the gate opens), and reports every number it gets (tagged with
/// its name) and its death.
struct Worker {
    name: &'static str,
    seen: mpsc::UnboundedSender<(&'static str, u32)>,
    died: mpsc::UnboundedSender<&'static str>,
    gate: Arc<Notify>,
}

impl Actor for Worker {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^join$")?, Self::join);
        ctx.on(Filter::subject("^leave$")?, Self::leave);
        ctx.on(Filter::subject("^die$")?, Self::die);
        ctx.on(Filter::subject("^block and die$")?, Self::block_and_die);
        ctx.on(Filter::subject("^job$")?, Self::job);
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, _reason: &ExitReason) {
        let _ = self.died.send(self.name);
    }
}

impl Worker {
    async fn join(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let joined = (ctx.join("workers"), ctx.join("workers"));
        ctx.reply(&mail, joined).send().await?;
        Ok(())
    }

    async fn leave(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        let left = (ctx.leave("workers"), ctx.leave("workers"));
        ctx.reply(&mail, left).send().await?;
        Ok(())
    }

    async fn die(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        ctx.die();
        Ok(())
    }

    async fn block_and_die(&mut self, ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        self.seen.send((self.name, BLOCKED))?;
        self.gate.notified().await;
        ctx.die();
        Ok(())
    }

    async fn job(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.seen.send((self.name, mail.body()?))?;
        Ok(())
    }
}

struct Crew {
    app: AppHandle,
    gate: Arc<Notify>,
    seen: mpsc::UnboundedReceiver<(&'static str, u32)>,
    died: mpsc::UnboundedReceiver<&'static str>,
}

/// Starts w1, w2 (with a mailbox of `w2_capacity`) and w3, and has them
/// join `workers` in that order.
async fn crew_with(w2_capacity: usize) -> anyhow::Result<Crew> {
    let (seen, seen_rx) = mpsc::unbounded_channel();
    let (died, died_rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    let worker = |name| Worker { name, seen: seen.clone(), died: died.clone(), gate: gate.clone() };
    let app = Application::builder()
        .actor("w1", worker("w1"))
        .actor("w2", worker("w2"))
        .capacity(w2_capacity)
        .actor("w3", worker("w3"))
        .start()
        .await?;
    for name in ["w1", "w2", "w3"] {
        let joined: (bool, bool) = app.request(name, "join", (), TIMEOUT).await?.body()?;
        assert_eq!(joined, (true, false), "{name} joins once");
    }
    Ok(Crew { app, gate, seen: seen_rx, died: died_rx })
}

async fn crew() -> anyhow::Result<Crew> {
    crew_with(polyceph::DEFAULT_CAPACITY).await
}

async fn jobs(crew: &mut Crew, numbers: std::ops::Range<u32>) -> anyhow::Result<Vec<(&'static str, u32)>> {
    for n in numbers.clone() {
        crew.app.send(Address::group("workers"), "job", n).await?;
    }
    let mut seen = Vec::new();
    for _ in numbers {
        seen.push(crew.seen.recv().await.expect("a worker reports"));
    }
    seen.sort_by_key(|&(_, n)| n);
    Ok(seen)
}

#[tokio::test(start_paused = true)]
async fn nine_mails_to_three_members_go_round_robin() -> anyhow::Result<()> {
    let mut crew = crew().await?;

    let seen = jobs(&mut crew, 0..9).await?;
    let expected: Vec<_> = (0..9).map(|n| (["w1", "w2", "w3"][n as usize % 3], n)).collect();
    assert_eq!(seen, expected);
    for name in ["w1", "w2", "w3"] {
        assert_eq!(crew.app.actor_stats(name).map(|s| s.handled), Some(1 + 3), "join and three jobs");
    }

    crew.app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_stopped_member_is_skipped() -> anyhow::Result<()> {
    let mut crew = crew().await?;

    crew.app.send("w2", "die", ()).await?;
    assert_eq!(crew.died.recv().await, Some("w2"));
    assert!(!crew.app.is_running("w2"));

    let seen = jobs(&mut crew, 0..6).await?;
    let count = |name| seen.iter().filter(|&&(w, _)| w == name).count();
    assert_eq!((count("w1"), count("w2"), count("w3")), (3, 0, 3));
    // Still alternating between the two left.
    assert!(seen.windows(2).all(|w| w[0].0 != w[1].0), "{seen:?}");
    assert_eq!(crew.app.stats().dead_letters, 0, "no job was lost to the stopped member");

    crew.app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_member_that_left_is_skipped_and_an_empty_group_is_no_recipient() -> anyhow::Result<()> {
    let mut crew = crew().await?;

    let left: (bool, bool) = crew.app.request("w1", "leave", (), TIMEOUT).await?.body()?;
    assert_eq!(left, (true, false), "w1 leaves once");
    let seen = jobs(&mut crew, 0..4).await?;
    assert!(seen.iter().all(|&(w, _)| w != "w1"), "{seen:?}");
    assert_eq!(seen.iter().filter(|&&(w, _)| w == "w2").count(), 2);

    for name in ["w2", "w3"] {
        let _: (bool, bool) = crew.app.request(name, "leave", (), TIMEOUT).await?.body()?;
    }
    let error = crew.app.send(Address::group("workers"), "job", 99_u32).await.expect_err("an empty group");
    assert!(matches!(error, SendError::NoSuchRecipient { .. }), "{error:?}");
    assert_eq!(error.into_envelope().body::<u32>()?, 99);

    crew.app.shutdown().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_member_that_stops_while_mail_waits_for_it_passes_its_turn_on() -> anyhow::Result<()> {
    let mut crew = crew_with(1).await?;

    // Job 0 goes to w1; w2's turn is next.
    assert_eq!(jobs(&mut crew, 0..1).await?, [("w1", 0)]);
    // w2 is blocked with a full mailbox of one.
    crew.app.send("w2", "block and die", ()).await?;
    assert_eq!(crew.seen.recv().await, Some(("w2", BLOCKED)));
    crew.app.send("w2", "filler", ()).await?;

    // Job 1 waits for room at w2...
    let mut job = pin!(crew.app.send(Address::group("workers"), "job", 1_u32));
    assert!(timeout(TIMEOUT, job.as_mut()).await.is_err(), "job 1 waits for w2");
    // ...which stops instead: the job goes to the next member.
    crew.gate.notify_one();
    job.await?;
    assert_eq!(crew.seen.recv().await, Some(("w3", 1)));
    assert_eq!(crew.died.recv().await, Some("w2"));
    assert!(crew.seen.try_recv().is_err(), "job 1 was handled once");

    crew.app.shutdown().await;
    Ok(())
}
