//! The multicast bridge against its floor, measured in one run.
//!
//! Both publish `MESSAGES` payloads of 256 bytes as fast as they can to one
//! host-local group (loopback interface, TTL 0: nothing leaves this host)
//! and count what arrives:
//!
//! - the floor: a raw Tokio UDP socket sends the very datagrams the bridge
//!   sends (header, topic and payload: 282 bytes), and a raw Tokio UDP socket
//!   joined to the group reads and counts them;
//! - the bridge: a `MulticastBroadcaster` publishes, a `MulticastListener`
//!   reads, queues and delivers each message as mail to an actor that
//!   counts it.
//!
//! Both sockets are made with the same options (`MulticastConfig`'s
//! `bind_sender` and `bind_receiver`: 4 MiB receive buffer). The rate is
//! what arrived divided by the time from the first send to the last
//! arrival; the loss is what did not arrive. The two alternate for several
//! rounds on one runtime (2 workers); medians are reported with the ratio
//! bridge / floor (the target is at least 0.8). Then both run again with
//! the senders paced at 0.8 × the floor's rate, for the loss at a rate
//! below saturation.
//!
//! ```text
//! cargo bench -p polyceph-multicast --bench multicast
//! POLYCEPH_BENCH_SIDE=bridge cargo bench -p polyceph-multicast --bench multicast   # one side only, for a profiler
//! ```

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use polyceph::prelude::*;
use polyceph_multicast::{MulticastBroadcaster, MulticastConfig, MulticastListener};
use tokio::net::UdpSocket;
use tokio::time::Instant;

const ROUNDS: usize = 5;
const MESSAGES: u64 = 200_000;
const PAYLOAD: usize = 256;
/// With nothing arriving for this long, the rest is lost.
const IDLE: Duration = Duration::from_millis(300);
/// Paced sending sleeps until due every this many messages.
const PACE_STEP: u64 = 64;
/// The paced rounds offer this share of the floor's rate.
const PACED_SHARE: f64 = 0.8;

/// What one side of one round measured.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Datagrams per second sent.
    sent_rate: f64,
    /// Datagrams per second that arrived.
    received_rate: f64,
    /// The share that did not arrive.
    loss: f64,
}

/// Counts arrivals and remembers when the last one came.
struct Arrivals {
    base: Instant,
    count: AtomicU64,
    /// Nanoseconds from `base` to the last arrival.
    last: AtomicU64,
}

impl Arrivals {
    fn new() -> Arc<Self> {
        Arc::new(Self { base: Instant::now(), count: AtomicU64::new(0), last: AtomicU64::new(0) })
    }

    fn arrived(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.last.store(self.base.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    /// Waits until all arrived or nothing arrives for [`IDLE`]; returns how
    /// many arrived, and when the last one did after `start`.
    async fn settle(&self, start: Instant) -> (u64, Duration) {
        let mut seen = u64::MAX;
        loop {
            let count = self.count.load(Ordering::Relaxed);
            if count == MESSAGES || count == seen {
                let last = self.base + Duration::from_nanos(self.last.load(Ordering::Relaxed));
                return (count, last.saturating_duration_since(start));
            }
            seen = count;
            tokio::time::sleep(if count == 0 { IDLE * 3 } else { IDLE }).await;
        }
    }
}

fn sample(sent_in: Duration, received: u64, received_in: Duration) -> Sample {
    Sample {
        sent_rate: MESSAGES as f64 / sent_in.as_secs_f64(),
        received_rate: received as f64 / received_in.as_secs_f64().max(f64::MIN_POSITIVE),
        loss: 1.0 - received as f64 / MESSAGES as f64,
    }
}

type BoxError = Box<dyn std::error::Error>;

/// Sends [`MESSAGES`] with `send`, as fast as it goes or paced to `rate`
/// per second; returns when it started and how long it took.
async fn send_all<E: Into<BoxError>>(
    rate: Option<f64>,
    mut send: impl AsyncFnMut() -> Result<(), E>,
) -> Result<(Instant, Duration), BoxError> {
    let start = Instant::now();
    for i in 0..MESSAGES {
        if let Some(rate) = rate
            && i % PACE_STEP == 0
        {
            tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
        }
        send().await.map_err(Into::into)?;
    }
    Ok((start, start.elapsed()))
}

/// The floor: raw sockets, the bridge's datagrams.
async fn floor(config: &MulticastConfig, datagram: &[u8], rate: Option<f64>) -> Result<Sample, BoxError> {
    let receiver = UdpSocket::from_std(config.bind_receiver()?)?;
    let sender = UdpSocket::from_std(config.bind_sender()?)?;
    let arrivals = Arrivals::new();
    let reading = {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            let mut buffer = vec![0; 65_536];
            while receiver.recv_from(&mut buffer).await.is_ok() {
                arrivals.arrived();
            }
        })
    };
    let (start, sent_in) = send_all(rate, async || sender.send(datagram).await.map(drop)).await?;
    let (received, received_in) = arrivals.settle(start).await;
    reading.abort();
    Ok(sample(sent_in, received, received_in))
}

/// Counts the mail it gets.
struct Counter {
    arrivals: Arc<Arrivals>,
}

impl Actor for Counter {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.fallback(Self::count);
        Ok(())
    }
}

impl Counter {
    async fn count(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        std::hint::black_box(mail);
        self.arrivals.arrived();
        Ok(())
    }
}

/// The bridge: broadcaster, listener, an actor's mailbox.
async fn bridge(config: &MulticastConfig, payload: &[u8], rate: Option<f64>) -> Result<Sample, BoxError> {
    let arrivals = Arrivals::new();
    let listener = MulticastListener::builder(config.clone(), "counter").topic("bench").build()?;
    let stats = listener.stats();
    let app = Application::builder()
        .actor("counter", Counter { arrivals: arrivals.clone() })
        .actor("listener", listener)
        .start()
        .await?;
    let broadcaster = MulticastBroadcaster::builder(config.clone()).topic("bench").build()?;
    let (start, sent_in) = send_all(rate, async || broadcaster.publish(payload).await).await?;
    let (received, received_in) = arrivals.settle(start).await;
    app.shutdown().await;
    let stats = stats.get();
    if stats.dropped_queue_full > 0 {
        println!("  (the bridge's queue dropped {}: counted, as `dropped_queue_full`)", stats.dropped_queue_full);
    }
    Ok(sample(sent_in, received, received_in))
}

fn main() -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(measure())
}

async fn measure() -> Result<(), BoxError> {
    let port = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
    let config = MulticastConfig::host_local(Ipv4Addr::new(239, 255, 77, 1), port)?;
    let payload = vec![0x5a; PAYLOAD];
    let datagram = bridge_datagram(&config, &payload).await?;

    let side = std::env::var("POLYCEPH_BENCH_SIDE").unwrap_or_default();
    if !side.is_empty() {
        for round in 1..=ROUNDS {
            let sample = match side.as_str() {
                "floor" => floor(&config, &datagram, None).await?,
                "bridge" => bridge(&config, &payload, None).await?,
                other => return Err(format!("POLYCEPH_BENCH_SIDE is floor or bridge, not {other:?}").into()),
            };
            println!("round {round}: {side}: {}", show(&sample));
        }
        return Ok(());
    }

    // As fast as the senders go.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        theirs.push(floor(&config, &datagram, None).await?);
        ours.push(bridge(&config, &payload, None).await?);
        println!("round {round}: floor {}, bridge {}", show(&theirs[round - 1]), show(&ours[round - 1]));
    }
    let (ours, theirs) = (median(&mut ours), median(&mut theirs));

    // Paced below the floor's rate: the loss at a rate both should sustain.
    let rate = PACED_SHARE * theirs.received_rate;
    let (mut ours_paced, mut theirs_paced) = (Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        theirs_paced.push(floor(&config, &datagram, Some(rate)).await?);
        ours_paced.push(bridge(&config, &payload, Some(rate)).await?);
        println!(
            "paced round {round}: floor {}, bridge {}",
            show(&theirs_paced[round - 1]),
            show(&ours_paced[round - 1])
        );
    }
    let (ours_paced, theirs_paced) = (median(&mut ours_paced), median(&mut theirs_paced));

    println!();
    println!("multicast, {MESSAGES} payloads of {PAYLOAD} bytes per round, {ROUNDS} rounds, medians by received rate");
    println!("{:<44} {:>12} {:>12} {:>8}", "", "sent/s", "received/s", "lost");
    for (name, s) in [
        ("raw tokio UDP sockets (floor), unpaced", theirs),
        ("polyceph-multicast bridge, unpaced", ours),
        ("raw tokio UDP sockets (floor), paced", theirs_paced),
        ("polyceph-multicast bridge, paced", ours_paced),
    ] {
        println!("{name:<44} {:>12.0} {:>12.0} {:>7.2}%", s.sent_rate, s.received_rate, s.loss * 100.0);
    }
    println!("paced at {PACED_SHARE} x the floor's unpaced rate: {rate:.0}/s");
    println!(
        "ratio bridge / floor (received/s, unpaced): {:.2} (target >= 0.8)",
        ours.received_rate / theirs.received_rate
    );
    Ok(())
}

fn show(sample: &Sample) -> String {
    format!("{:>7.0}/s received ({:.2} % lost)", sample.received_rate, sample.loss * 100.0)
}

/// The datagram the bridge sends for `payload`: captured from a broadcaster
/// by a raw socket on the group, so the floor sends exactly the same bytes.
async fn bridge_datagram(config: &MulticastConfig, payload: &[u8]) -> Result<Vec<u8>, BoxError> {
    let receiver = UdpSocket::from_std(config.bind_receiver()?)?;
    MulticastBroadcaster::builder(config.clone()).topic("bench").build()?.publish(payload).await?;
    let mut buffer = vec![0; 65_536];
    let (len, _) = tokio::time::timeout(Duration::from_secs(5), receiver.recv_from(&mut buffer)).await??;
    buffer.truncate(len);
    Ok(buffer)
}

fn median(samples: &mut [Sample]) -> Sample {
    samples.sort_by(|a, b| a.received_rate.total_cmp(&b.received_rate));
    samples[samples.len() / 2]
}
