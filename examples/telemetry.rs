//! Health and telemetry over UDP multicast, with group buffers.
//!
//! Three simulated nodes broadcast health (every second) and telemetry (four
//! times a second) on a host-local multicast group: joined and sent on the
//! loopback interface with TTL 0, so nothing leaves this machine. A monitor
//! application listens with a typed `MulticastListener`, keeps the last ten
//! reports of each kind per node in a `GroupBuffersActor`, and prints a table
//! every second, read with snapshot requests. `node-3` goes silent halfway
//! through; the monitor flags it.
//!
//! The two applications share nothing but the multicast group: run the
//! nodes on other machines (with a LAN configuration) and the monitor is
//! unchanged.
//!
//! ```text
//! cargo run --example telemetry                   # 8 seconds
//! cargo run --example telemetry -- --seconds 3
//! ```

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use polyceph::prelude::*;
use polyceph_multicast::{
    GroupBuffers, GroupBuffersActor, MulticastBroadcaster, MulticastConfig, MulticastListener, SNAPSHOT_GROUP,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Nodes broadcast health and telemetry over multicast; a monitor keeps the latest per node")]
struct Args {
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// The multicast group (host-local: loopback interface, TTL 0).
    #[arg(long, default_value = "239.255.70.70")]
    group: Ipv4Addr,
    /// The group's port.
    #[arg(long, default_value_t = polyceph_multicast::DEFAULT_PORT)]
    port: u16,
}

/// What nodes report, as a msgpack map with a `kind` field: a Python node
/// sends `{"kind": "health", "ok": true, "load": 0.4}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Report {
    Health { ok: bool, load: f32 },
    Telemetry { seq: u64, celsius: f32 },
}

const NODES: [&str; 3] = ["node-1", "node-2", "node-3"];
const HEALTH: &str = "health";
const TELEMETRY: &str = "telemetry";
/// How long without telemetry before a node is flagged.
const SILENCE: Duration = Duration::from_millis(1_500);

/// A simulated node: publishes telemetry each tick, health every fourth.
struct Node {
    broadcaster: MulticastBroadcaster,
    seq: u64,
    /// When it stops publishing, if ever.
    silent_at: Option<Instant>,
}

impl Actor for Node {
    async fn life(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        if self.silent_at.is_some_and(|at| Instant::now() >= at) {
            tracing::info!(node = %ctx.name(), "goes silent");
            ctx.die();
            return Ok(());
        }
        self.seq += 1;
        // Made-up readings: each node (1, 2, 3) with its own numbers.
        let n = ctx.name().as_str().bytes().last().map_or(0, |b| u64::from(b - b'0'));
        let celsius = 15.0 + 5.0 * n as f32 + ((self.seq * n) % 7) as f32 * 0.1;
        self.publish(ctx, TELEMETRY, Report::Telemetry { seq: self.seq, celsius }).await?;
        if self.seq % 4 == 1 {
            let load = ((self.seq / 4 + 3 * n) % 10) as f32 / 10.0;
            self.publish(ctx, HEALTH, Report::Health { ok: load < 0.9, load }).await?;
        }
        Ok(())
    }
}

impl Node {
    async fn publish(&self, ctx: &Context<Self>, topic: &str, report: Report) -> Result<()> {
        // Envelopes carry the node's name as sender: the monitor's key.
        let mail = ctx.envelope("monitor", topic.to_owned(), report);
        self.broadcaster.publish_envelope_to(topic, &mail).await?;
        Ok(())
    }
}

/// Prints the table every tick, from snapshots of the group buffers.
struct Monitor {
    started: Instant,
    /// Each node's latest telemetry number, and when it last changed.
    last_seen: BTreeMap<String, (u64, Instant)>,
}

impl Actor for Monitor {
    async fn life(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        let health = snapshot(ctx, HEALTH).await?;
        let telemetry = snapshot(ctx, TELEMETRY).await?;
        println!("--- {:.0} s", self.started.elapsed().as_secs_f64());
        println!("{:<8} {:>6} {:>6} {:>9} {:>9} {:>8}  status", "node", "ok", "load", "celsius", "avg(10)", "samples");
        for node in NODES {
            let readings = telemetry.get(node).map(Vec::as_slice).unwrap_or_default();
            let temps: Vec<(u64, f32)> = readings
                .iter()
                .filter_map(|r| match r {
                    Report::Telemetry { seq, celsius } => Some((*seq, *celsius)),
                    Report::Health { .. } => None,
                })
                .collect();
            let last_health = health.get(node).and_then(|h| h.last());
            let (ok, load) = match last_health {
                Some(Report::Health { ok, load }) => (ok.to_string(), format!("{load:.1}")),
                _ => ("-".into(), "-".into()),
            };
            let status = self.status(node, temps.last().map(|(seq, _)| *seq));
            let (last, average) = match temps.last() {
                Some((_, celsius)) => {
                    let average = temps.iter().map(|(_, c)| c).sum::<f32>() / temps.len() as f32;
                    (format!("{celsius:.1}"), format!("{average:.2}"))
                }
                None => ("-".into(), "-".into()),
            };
            println!("{node:<8} {ok:>6} {load:>6} {last:>9} {average:>9} {:>8}  {status}", temps.len());
        }
        println!();
        Ok(())
    }
}

impl Monitor {
    /// `ok`, or `SILENT` when the node's telemetry has not moved for [`SILENCE`].
    fn status(&mut self, node: &str, seq: Option<u64>) -> &'static str {
        let now = Instant::now();
        let Some(seq) = seq else { return "waiting" };
        let seen = self.last_seen.entry(node.to_owned()).or_insert((seq, now));
        if seen.0 != seq {
            *seen = (seq, now);
        }
        if now.duration_since(seen.1) > SILENCE { "SILENT" } else { "ok" }
    }
}

/// One group's snapshot, by node, from the buffers actor.
async fn snapshot(ctx: &Context<Monitor>, group: &str) -> Result<BTreeMap<String, Vec<Report>>> {
    let reply = ctx.mail("buffers", SNAPSHOT_GROUP, group.to_owned()).request(Duration::from_secs(1)).await?;
    Ok(reply.body()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    polyceph_examples::init_tracing();
    // Host-local: loopback interface, TTL 0. On a LAN, use
    // `MulticastConfig::new(group, port)` (TTL 1, the system's interface).
    let config = MulticastConfig::host_local(args.group, args.port).context("invalid group")?;
    let run_for = Duration::from_secs(args.seconds);

    // The monitor: listener -> group buffers <- monitor's snapshot requests.
    let buffers = Arc::new(GroupBuffers::<Report>::new([HEALTH, TELEMETRY], 10)?);
    let listener = MulticastListener::typed::<Report>(config.clone(), "buffers").topics([HEALTH, TELEMETRY]).build()?;
    let stats = listener.stats();
    let monitor = Application::builder()
        .actor("buffers", GroupBuffersActor::new(buffers.clone()))
        .actor("listener", listener)
        .actor("monitor", Monitor { started: Instant::now(), last_seen: BTreeMap::new() })
        .frequency(1.0)
        .start()
        .await
        .context("cannot start the monitor")?;

    // The nodes, each with its own broadcaster; node-3 stops halfway.
    let silent_at = Instant::now() + run_for / 2;
    let nodes = Application::builder().start().await.context("cannot start the nodes")?;
    for name in NODES {
        let broadcaster = MulticastBroadcaster::new(config.clone()).context("cannot open a broadcaster")?;
        let node = Node { broadcaster, seq: 0, silent_at: (name == "node-3").then_some(silent_at) };
        nodes.spawn(name, node, ActorOptions::new().frequency(4.0))?;
    }

    tokio::select! {
        () = tokio::time::sleep(run_for) => {}
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
    }
    nodes.shutdown().await;
    monitor.shutdown().await;
    let stats = stats.get();
    println!(
        "listener: {} datagrams, {} delivered, {} dropped; buffers: {} written, {} evicted",
        stats.received,
        stats.delivered,
        stats.dropped_queue_full + stats.decode_failed + stats.undeliverable,
        buffers.stats().written,
        buffers.stats().evicted
    );
    Ok(())
}
