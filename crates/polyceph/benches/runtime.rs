//! The runtime against its floor, measured in one run.
//!
//! The floor is raw `tokio::sync::mpsc` (+ `oneshot` for replies) carrying a
//! plain by-value envelope struct with the same fields as ours: two UUIDs,
//! three `String`s, a 32-byte body and an empty map. Each workload runs both
//! ways, alternately, several rounds; the median is reported with the ratio
//! floor / polyceph (above 1.0: polyceph is faster).
//!
//! Memory per idle actor is read from `/proc/self/statm` in a fresh child
//! process per measurement, so allocator reuse from earlier workloads does
//! not flatter it.
//!
//! ```text
//! cargo bench -p polyceph --bench runtime             # everything
//! cargo bench -p polyceph --bench runtime -- tell     # workloads whose name contains "tell"
//! ```
//!
//! criterion and divan report per-iteration statistics of one function at a
//! time; this harness needs ratios of two implementations in one run,
//! latency percentiles and resident memory, so it is a plain `harness = false`
//! binary.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use polyceph::prelude::*;
use tokio::sync::{Notify, mpsc, oneshot};
use uuid::Uuid;

const ROUNDS: usize = 5;
/// Spawn + stop takes ~30 ms a round, and its rounds spread by ±20 % on this
/// VM: more of them, for steadier medians at little cost.
const SPAWN_ROUNDS: usize = 11;
const TELLS: usize = 1_000_000;
const FAN_OUT_MAILS: usize = 100_000;
const FAN_OUT_ACTORS: usize = 100;
const ROUND_TRIPS: usize = 100_000;
const SPAWNS: usize = 10_000;
const IDLE_ACTORS: usize = 100_000;
const CAPACITY: usize = 1024;

type Body32 = [u8; 32];

/// The floor's envelope: the same fields as ours, by value.
#[allow(dead_code)]
struct RawEnvelope {
    id: Uuid,
    thread: Uuid,
    sender: String,
    recipient: String,
    subject: String,
    body: Body32,
    headers: HashMap<String, String>,
}

impl RawEnvelope {
    fn new(sender: &str, recipient: &str, subject: &str) -> Self {
        Self {
            id: Uuid::new_v4(),
            thread: Uuid::new_v4(),
            sender: sender.to_owned(),
            recipient: recipient.to_owned(),
            subject: subject.to_owned(),
            body: [7; 32],
            headers: HashMap::new(),
        }
    }
}

fn main() {
    if let Ok(which) = std::env::var("POLYCEPH_BENCH_MEMORY") {
        memory_child(&which);
        return;
    }
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");

    println!("| workload | floor (raw mpsc) | polyceph | ratio floor/polyceph |");
    println!("|---|---|---|---|");
    if wanted("tell") {
        let (floor, ours) = alternate(ROUNDS, || runtime.block_on(floor_tell()), || runtime.block_on(polyceph_tell()));
        row(&format!("tell 1 → 1, {TELLS} mails"), floor, ours, TELLS);
    }
    if wanted("fan-out") {
        let (floor, ours) =
            alternate(ROUNDS, || runtime.block_on(floor_fan_out()), || runtime.block_on(polyceph_fan_out()));
        row(&format!("fan-out {FAN_OUT_MAILS} mails to {FAN_OUT_ACTORS} actors"), floor, ours, FAN_OUT_MAILS);
    }
    if wanted("request-2threads") {
        // Both requesters run as runtime tasks, like actors, not on the
        // `block_on` thread (which would make every round trip cross threads).
        let side = std::env::var("POLYCEPH_BENCH_SIDE").unwrap_or_default();
        let floor = match side.as_str() {
            "polyceph" => vec![Duration::ZERO],
            _ => runtime.block_on(async { tokio::spawn(floor_round_trips(None)).await.expect("floor") }),
        };
        let ours = match side.as_str() {
            "floor" => vec![Duration::ZERO],
            _ => runtime.block_on(async { tokio::spawn(polyceph_round_trips()).await.expect("ours") }),
        };
        let (floor, ours) = (percentiles(floor), percentiles(ours));
        for (label, f, o) in [("p50", floor.0, ours.0), ("p99", floor.1, ours.1)] {
            println!(
                "| request/reply round trip {label} ({ROUND_TRIPS} requests) | {f:?} | {o:?} | {:.2} |",
                f.as_secs_f64() / o.as_secs_f64()
            );
        }
    }
    if wanted("request-timeout") {
        // Context, not the target: the floor given the guarantee every
        // polyceph request has, a timeout (one Tokio timer per request).
        let floor =
            percentiles(runtime.block_on(async {
                tokio::spawn(floor_round_trips(Some(Duration::from_secs(5)))).await.expect("floor")
            }));
        let ours = percentiles(runtime.block_on(async { tokio::spawn(polyceph_round_trips()).await.expect("ours") }));
        for (label, f, o) in [("p50", floor.0, ours.0), ("p99", floor.1, ours.1)] {
            println!(
                "| request/reply round trip {label} against mpsc + oneshot + `timeout` ({ROUND_TRIPS} requests) | {f:?} | {o:?} | {:.2} |",
                f.as_secs_f64() / o.as_secs_f64()
            );
        }
    }
    if wanted("request-1thread") {
        // The same round trips on a current-thread runtime: no wake-up can
        // cross threads, so this isolates the cost of the code itself.
        let single = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let side = std::env::var("POLYCEPH_BENCH_SIDE").unwrap_or_default();
        let floor = match side.as_str() {
            "polyceph" => vec![Duration::ZERO],
            _ => single.block_on(floor_round_trips(None)),
        };
        let ours = match side.as_str() {
            "floor" => vec![Duration::ZERO],
            _ => single.block_on(polyceph_round_trips()),
        };
        let (floor, ours) = (percentiles(floor), percentiles(ours));
        for (label, f, o) in [("p50", floor.0, ours.0), ("p99", floor.1, ours.1)] {
            println!(
                "| request/reply round trip {label}, one thread ({ROUND_TRIPS} requests) | {f:?} | {o:?} | {:.2} |",
                f.as_secs_f64() / o.as_secs_f64()
            );
        }
    }
    for (key, label, stop) in [
        ("spawn-poison", "spawn + stop (a poison pill each)", Stop::Poison),
        ("spawn-supervised", "spawn + stop, supervised (factory, `OnFailure`)", Stop::PoisonSupervised),
        ("spawn-shutdown", "spawn + ordered shutdown (reverse start order)", Stop::Shutdown),
    ] {
        if wanted(key) {
            let (floor, ours) = alternate(
                SPAWN_ROUNDS,
                || runtime.block_on(floor_spawn_stop()),
                || runtime.block_on(polyceph_spawn_stop(stop)),
            );
            row(&format!("{label}, {SPAWNS} actors"), floor, ours, SPAWNS);
        }
    }
    if wanted("memory") {
        let floor_value = memory_of("floor-by-value");
        let floor_boxed = memory_of("floor-boxed");
        let ours = memory_of("polyceph");
        let supervised = memory_of("polyceph-supervised");
        println!(
            "| resident memory per idle actor ({IDLE_ACTORS} actors) | {floor_value} B (by-value envelope), {floor_boxed} B (boxed) | {ours} B | {:.2} / {:.2} |",
            floor_value as f64 / ours as f64,
            floor_boxed as f64 / ours as f64
        );
        println!(
            "| resident memory per idle supervised actor (factory, restart on failure) | {floor_boxed} B (boxed) | {supervised} B | {:.2} |",
            floor_boxed as f64 / supervised as f64
        );
    }
}

/// Runs both sides `rounds` times, alternating, and returns their medians.
///
/// `POLYCEPH_BENCH_SIDE=floor` or `=polyceph` runs one side only (for a
/// profiler); the other then reads as zero.
fn alternate(
    rounds: usize,
    mut floor: impl FnMut() -> Duration,
    mut ours: impl FnMut() -> Duration,
) -> (Duration, Duration) {
    let side = std::env::var("POLYCEPH_BENCH_SIDE").unwrap_or_default();
    let mut f = Vec::with_capacity(rounds);
    let mut o = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        f.push(if side == "polyceph" { Duration::ZERO } else { floor() });
        o.push(if side == "floor" { Duration::ZERO } else { ours() });
    }
    (median(f), median(o))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn row(name: &str, floor: Duration, ours: Duration, items: usize) {
    let rate = |d: Duration| items as f64 / d.as_secs_f64() / 1e6;
    println!(
        "| {name} | {floor:.1?} ({:.2} M/s) | {ours:.1?} ({:.2} M/s) | {:.2} |",
        rate(floor),
        rate(ours),
        floor.as_secs_f64() / ours.as_secs_f64()
    );
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() * 99 / 100])
}

// ---------------------------------------------------------------- tell 1 → 1

async fn floor_tell() -> Duration {
    let (tx, mut rx) = mpsc::channel::<RawEnvelope>(CAPACITY);
    let start = Instant::now();
    let consumer = tokio::spawn(async move {
        let mut n = 0;
        while let Some(envelope) = rx.recv().await {
            black_box(&envelope);
            n += 1;
            if n == TELLS {
                break;
            }
        }
    });
    tokio::spawn(async move {
        for _ in 0..TELLS {
            if tx.send(RawEnvelope::new("producer", "sink", "tell")).await.is_err() {
                break;
            }
        }
    });
    consumer.await.expect("consumer");
    start.elapsed()
}

/// Counts mail and says when it has seen `expected`.
struct Sink {
    seen: usize,
    expected: usize,
    done: Arc<Notify>,
}

impl Actor for Sink {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^tell$")?, Self::tell);
        Ok(())
    }
}

impl Sink {
    async fn tell(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        black_box(&mail);
        self.seen += 1;
        if self.seen == self.expected {
            self.done.notify_one();
        }
        Ok(())
    }
}

async fn polyceph_tell() -> Duration {
    let done = Arc::new(Notify::new());
    let sink = Sink { seen: 0, expected: TELLS, done: done.clone() };
    let app = Application::builder().actor("sink", sink).capacity(CAPACITY).start().await.expect("start");
    let start = Instant::now();
    let producer = app.clone();
    tokio::spawn(async move {
        for _ in 0..TELLS {
            if producer.mail("sink", "tell", [7_u8; 32]).send().await.is_err() {
                break;
            }
        }
    });
    done.notified().await;
    let elapsed = start.elapsed();
    app.shutdown().await;
    elapsed
}

// ------------------------------------------------------------------ fan-out

async fn floor_fan_out() -> Duration {
    let left = Arc::new(AtomicUsize::new(FAN_OUT_ACTORS));
    let done = Arc::new(Notify::new());
    let names: Vec<String> = (0..FAN_OUT_ACTORS).map(|i| format!("sink-{i}")).collect();
    let mut senders = Vec::with_capacity(FAN_OUT_ACTORS);
    for _ in 0..FAN_OUT_ACTORS {
        let (tx, mut rx) = mpsc::channel::<RawEnvelope>(CAPACITY);
        let (left, done) = (left.clone(), done.clone());
        tokio::spawn(async move {
            for _ in 0..FAN_OUT_MAILS / FAN_OUT_ACTORS {
                black_box(rx.recv().await);
            }
            if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                done.notify_one();
            }
        });
        senders.push(tx);
    }
    let start = Instant::now();
    tokio::spawn(async move {
        for i in 0..FAN_OUT_MAILS {
            let to = i % FAN_OUT_ACTORS;
            if senders[to].send(RawEnvelope::new("producer", &names[to], "tell")).await.is_err() {
                break;
            }
        }
    });
    done.notified().await;
    start.elapsed()
}

async fn polyceph_fan_out() -> Duration {
    let left = Arc::new(AtomicUsize::new(FAN_OUT_ACTORS));
    let done = Arc::new(Notify::new());
    let names: Vec<String> = (0..FAN_OUT_ACTORS).map(|i| format!("sink-{i}")).collect();
    let mut builder = Application::builder().actor("unused", Idle).reactive();
    for name in &names {
        let share =
            Countdown { seen: 0, expected: FAN_OUT_MAILS / FAN_OUT_ACTORS, left: left.clone(), done: done.clone() };
        builder = builder.actor(name.as_str(), share).capacity(CAPACITY);
    }
    let app = builder.start().await.expect("start");
    let start = Instant::now();
    let producer = app.clone();
    tokio::spawn(async move {
        for i in 0..FAN_OUT_MAILS {
            let to = names[i % FAN_OUT_ACTORS].clone();
            if producer.mail(to, "tell", [7_u8; 32]).send().await.is_err() {
                break;
            }
        }
    });
    done.notified().await;
    let elapsed = start.elapsed();
    app.shutdown().await;
    elapsed
}

struct Idle;
impl Actor for Idle {}

/// One of many sinks; the last to finish says so.
struct Countdown {
    seen: usize,
    expected: usize,
    left: Arc<AtomicUsize>,
    done: Arc<Notify>,
}

impl Actor for Countdown {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^tell$")?, Self::tell);
        Ok(())
    }
}

impl Countdown {
    async fn tell(&mut self, _ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        black_box(&mail);
        self.seen += 1;
        if self.seen == self.expected && self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_one();
        }
        Ok(())
    }
}

// ------------------------------------------------------------ request/reply

/// Round trips over mpsc + oneshot; with `timeout`, each reply is awaited
/// under `tokio::time::timeout`, as a request that must not hang would be.
async fn floor_round_trips(timeout: Option<Duration>) -> Vec<Duration> {
    let (tx, mut rx) = mpsc::channel::<(RawEnvelope, oneshot::Sender<RawEnvelope>)>(CAPACITY);
    tokio::spawn(async move {
        while let Some((request, reply_to)) = rx.recv().await {
            let mut reply = RawEnvelope::new(&request.recipient, &request.sender, "reply");
            reply.thread = request.thread;
            let _ = reply_to.send(reply);
        }
    });
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let start = Instant::now();
        let (reply_tx, reply_rx) = oneshot::channel();
        tx.send((RawEnvelope::new("client", "server", "ask"), reply_tx)).await.expect("server");
        let reply = match timeout {
            Some(limit) => tokio::time::timeout(limit, reply_rx).await.expect("in time"),
            None => reply_rx.await,
        };
        black_box(reply.expect("reply"));
        samples.push(start.elapsed());
    }
    samples
}

struct Server;

impl Actor for Server {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ask$")?, Self::ask);
        Ok(())
    }
}

impl Server {
    async fn ask(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, [7_u8; 32]).send().await?;
        Ok(())
    }
}

async fn polyceph_round_trips() -> Vec<Duration> {
    let app = Application::builder().actor("server", Server).start().await.expect("start");
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let start = Instant::now();
        let reply = app.mail("server", "ask", [7_u8; 32]).request(Duration::from_secs(5)).await.expect("reply");
        black_box(reply);
        samples.push(start.elapsed());
    }
    app.shutdown().await;
    samples
}

// ------------------------------------------------------------- spawn + stop

async fn floor_spawn_stop() -> Duration {
    let start = Instant::now();
    let tracker = tokio_util::task::TaskTracker::new();
    let mut senders = Vec::with_capacity(SPAWNS);
    for _ in 0..SPAWNS {
        let (tx, mut rx) = mpsc::channel::<Box<RawEnvelope>>(CAPACITY);
        tracker.spawn(async move { while rx.recv().await.is_some() {} });
        senders.push(tx);
    }
    drop(senders);
    tracker.close();
    tracker.wait().await;
    start.elapsed()
}

#[derive(Clone, Copy)]
enum Stop {
    /// `poison(Address::Everyone)`: every actor stops on its own, concurrently.
    Poison,
    /// The same, for actors spawned with a factory and a restart policy.
    PoisonSupervised,
    /// `AppHandle::shutdown`: one at a time, in reverse start order.
    Shutdown,
}

async fn polyceph_spawn_stop(stop: Stop) -> Duration {
    // The names are the caller's input, made before the clock starts; turning
    // them into actor names is timed.
    let names: Vec<String> = (0..SPAWNS).map(|i| format!("idle-{i}")).collect();
    let start = Instant::now();
    let app = Application::builder().start().await.expect("start");
    for name in &names {
        match stop {
            Stop::PoisonSupervised => {
                app.spawn_with(name, || Idle, ActorOptions::new().restart(Restart::OnFailure)).expect("spawn")
            }
            Stop::Poison | Stop::Shutdown => app.spawn(name, Idle, ActorOptions::new()).expect("spawn"),
        }
    }
    match stop {
        Stop::Poison | Stop::PoisonSupervised => {
            app.poison(Address::Everyone).await.expect("poison");
            app.wait().await;
        }
        Stop::Shutdown => drop(app.shutdown().await),
    }
    let elapsed = start.elapsed();
    app.shutdown().await;
    elapsed
}

// ------------------------------------------------------------------- memory

/// Measures one kind in a fresh child process and returns bytes per actor.
fn memory_of(which: &str) -> u64 {
    let exe = std::env::current_exe().expect("current exe");
    let out = std::process::Command::new(exe).env("POLYCEPH_BENCH_MEMORY", which).output().expect("memory child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().unwrap_or_else(|_| panic!("memory child printed {text:?}, stderr {:?}", out.stderr))
}

fn memory_child(which: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let names: Vec<String> = (0..IDLE_ACTORS).map(|i| format!("idle-{i}")).collect();
    let per_actor = runtime.block_on(async {
        let mut keep: Vec<Box<dyn std::any::Any + Send>> = Vec::with_capacity(IDLE_ACTORS);
        // Warm up the runtime and the allocator before the first reading.
        let app = Application::builder().start().await.expect("start");
        tokio::task::yield_now().await;
        let before = resident_bytes();
        match which {
            "floor-by-value" => {
                for _ in 0..IDLE_ACTORS {
                    let (tx, mut rx) = mpsc::channel::<RawEnvelope>(CAPACITY);
                    tokio::spawn(async move { while rx.recv().await.is_some() {} });
                    keep.push(Box::new(tx));
                }
            }
            "floor-boxed" => {
                for _ in 0..IDLE_ACTORS {
                    let (tx, mut rx) = mpsc::channel::<Box<RawEnvelope>>(CAPACITY);
                    tokio::spawn(async move { while rx.recv().await.is_some() {} });
                    keep.push(Box::new(tx));
                }
            }
            "polyceph-supervised" => {
                for name in &names {
                    let options = ActorOptions::new().restart(Restart::OnFailure);
                    app.spawn_with(name, || Idle, options).expect("spawn");
                }
            }
            _ => {
                for name in &names {
                    app.spawn(name, Idle, ActorOptions::new()).expect("spawn");
                }
            }
        }
        // Let every task run to its first await (and allocate what it allocates).
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = resident_bytes();
        black_box(&keep);
        (after.saturating_sub(before)) / IDLE_ACTORS as u64
    });
    println!("{per_actor}");
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
    pages * 4096
}
