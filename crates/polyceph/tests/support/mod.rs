//! Helpers shared by the integration tests.
//!
//! Tests wait on envelopes through a [`Probe`], never on sleeps.

#![allow(dead_code, unreachable_pub, unused_imports)]

use std::sync::Arc;
use std::time::Duration;

use polyceph::prelude::*;
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep, sleep_until};

pub use polyceph::testing::{Probe, Recorded};

/// The next envelope a probe saw; fails the test if none comes (on paused
/// time, the minute passes as soon as everything is idle).
pub async fn next(recorded: &mut Recorded) -> Envelope {
    recorded.next(Duration::from_secs(60)).await.expect("the probe got mail")
}

/// The subjects of the next `n` envelopes sent on `rx`.
pub async fn subjects(rx: &mut mpsc::UnboundedReceiver<Envelope>, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(rx.recv().await.expect("mail came").subject().to_owned());
    }
    out
}

/// An actor that does nothing: a recipient that exists.
pub struct Idle;

impl Actor for Idle {}

/// Reports when each tick started, relative to `start`; tick number `k`
/// (from 0) works for `work(k)`.
pub struct Worker {
    pub start: Instant,
    pub tick: u32,
    pub work: fn(u32) -> Duration,
    pub ticks: mpsc::UnboundedSender<Duration>,
}

impl Actor for Worker {
    async fn life(&mut self, _ctx: &mut Context<Self>) -> Result<()> {
        self.ticks.send(self.start.elapsed())?;
        let work = (self.work)(self.tick);
        self.tick += 1;
        sleep(work).await;
        Ok(())
    }
}

pub struct Run {
    pub times: Vec<Duration>,
    pub ticks: u64,
    pub overruns: u64,
}

/// Runs a worker at 2 Hz until `until` after the start.
pub async fn run(work: fn(u32) -> Duration, until: Duration) -> anyhow::Result<Run> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    let worker = Worker { start, tick: 0, work, ticks: tx };
    let app = Application::builder().actor("worker", worker).frequency(2.0).start().await?;
    sleep_until(start + until).await;
    let stats = app.actor_stats("worker").ok_or_else(|| anyhow::anyhow!("worker stopped"))?;
    app.shutdown().await;
    let mut times = Vec::new();
    while let Some(at) = rx.recv().await {
        times.push(at);
    }
    Ok(Run { times, ticks: stats.ticks, overruns: stats.overruns })
}

pub fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Reports every envelope it handles; on `block` it then waits at the gate.
pub struct Gated {
    handled: mpsc::UnboundedSender<Envelope>,
    gate: Arc<Notify>,
}

impl Actor for Gated {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^block$")?, Self::block);
        ctx.fallback(Self::record);
        Ok(())
    }
}

impl Gated {
    /// A gated actor reporting to `handled`, waiting at `gate` after `block`.
    pub fn new(handled: mpsc::UnboundedSender<Envelope>, gate: Arc<Notify>) -> Self {
        Self { handled, gate }
    }

    async fn block(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        self.handled.send(mail)?;
        self.gate.notified().await;
        Ok(())
    }

    async fn record(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        if mail.expects_reply() {
            ctx.reply(&mail, ()).send().await?;
        }
        self.handled.send(mail)?;
        Ok(())
    }
}

/// Starts an application whose `gated` actor has a mailbox of `capacity`
/// under `policy`, and blocks it in a handler: its mailbox is empty and
/// nothing leaves it until the gate opens.
pub async fn blocked_gate(
    capacity: usize,
    policy: FullPolicy,
) -> anyhow::Result<(AppHandle, Arc<Notify>, mpsc::UnboundedReceiver<Envelope>)> {
    let (handled, mut rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Notify::new());
    let app = Application::builder()
        .actor("gated", Gated::new(handled, gate.clone()))
        .capacity(capacity)
        .policy(policy)
        .start()
        .await?;
    app.send("gated", "block", ()).await?;
    let first = rx.recv().await.expect("gated took the first mail");
    assert_eq!(first.subject(), "block");
    Ok((app, gate, rx))
}

/// The next `n` stops on `events`, as (actor, reason), sorted by actor.
pub async fn stops(events: &mut polyceph::Events, n: usize) -> Vec<(String, ExitReason)> {
    let mut stops = Vec::with_capacity(n);
    while stops.len() < n {
        match events.next().await {
            Some(polyceph::Event::Stopped { actor, reason }) => stops.push((actor.to_string(), reason)),
            Some(_) => {}
            None => panic!("the application is gone after {} stops", stops.len()),
        }
    }
    stops.sort_by(|a, b| a.0.cmp(&b.0));
    stops
}

/// Logs its births and deaths; panics on `crash`.
pub struct Member {
    name: &'static str,
    log: mpsc::UnboundedSender<String>,
}

impl Actor for Member {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^crash$")?, Self::crash);
        self.log.send(format!("{} birth", self.name))?;
        Ok(())
    }

    async fn death(&mut self, _ctx: &mut Context<Self>, reason: &ExitReason) {
        let _ = self.log.send(format!("{} death: {reason}", self.name));
    }
}

impl Member {
    async fn crash(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        panic!("{} crashes", self.name);
    }
}

pub fn member(name: &'static str, log: &mpsc::UnboundedSender<String>) -> impl Fn() -> Member + Send + Sync + 'static {
    let log = log.clone();
    move || Member { name, log: log.clone() }
}

/// One msgpack value, written by rmp-serde rather than polyceph's encoder.
pub fn mp(value: impl Into<Value>) -> Vec<u8> {
    rmp_serde::to_vec(&value.into()).expect("a Value encodes")
}

/// A msgpack map of `fields` in this order (duplicates allowed), each value
/// already msgpack.
pub fn map(fields: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    rmp::encode::write_map_len(&mut out, u32::try_from(fields.len()).expect("few fields")).expect("writes to a Vec");
    for (name, value) in fields {
        rmp::encode::write_str(&mut out, name).expect("writes to a Vec");
        out.extend_from_slice(value);
    }
    out
}

/// A UUID as the wire carries it: `bin 16`.
pub fn bin(id: uuid::Uuid) -> Vec<u8> {
    mp(Value::bytes(*id.as_bytes()))
}
