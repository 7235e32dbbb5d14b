//! Polls per second of one host, against the floor, measured in one run.
//!
//! The host is libvirt's test hypervisor, in this process, with 1 and with
//! 50 running domains (a private node file per run, see `node`).
//!
//! The floor: a plain loop on one thread making the calls of a poll, on one
//! connection: `list_all_domains`, then `info`, `name` and `uuid` of each
//! domain into a struct.
//!
//! polyceph: a `LibvirtPoller` asked to `poll` the host by request, with
//! `IN_FLIGHT` requests outstanding at a time, so that the host's queue of
//! calls never runs dry: the throughput of one host. Each poll is the whole
//! path: the request, the call on the host's blocking thread, the
//! completion and wake-up, the state comparison, the `domains` mail to a
//! recipient that drops it, and the reply.
//!
//! Floor and polyceph run alternately for `ROUNDS` rounds; the medians are
//! reported with the ratio polyceph / floor (polls per second; the target is
//! at least 0.9).
//!
//! ```text
//! cargo bench -p polyceph-libvirt --bench poll
//! POLYCEPH_BENCH_SIDE=polyceph cargo bench -p polyceph-libvirt --bench poll   # one side only, for a profiler
//! ```

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use polyceph::prelude::*;
use polyceph_libvirt::{HostRef, LibvirtPoller, Reply, subjects};
use uuid::Uuid;
use virt::connect::Connect;

const ROUNDS: usize = 5;
const IN_FLIGHT: usize = 16;
/// `floor` or `polyceph`: run one side only, for a profiler.
const SIDE: &str = "POLYCEPH_BENCH_SIDE";

/// What the floor keeps of each domain: what the poller's `DomainInfo` holds.
#[expect(dead_code, reason = "built and dropped, as a poll builds its `DomainInfo`s")]
struct Seen {
    name: String,
    uuid: Uuid,
    state: u32,
    max_memory_kib: u64,
    memory_kib: u64,
    vcpus: u32,
    cpu_time_ns: u64,
}

/// Drops every envelope: the poller's recipient.
struct Sink;

impl Actor for Sink {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.fallback(Self::drop_it);
        Ok(())
    }
}

impl Sink {
    async fn drop_it(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        Ok(())
    }
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    virt::error::clear_error_callback();
    let side = std::env::var(SIDE).ok();
    let side = side.as_deref();
    println!(
        "| domains | polls per round | floor (plain loop) | polyceph (`poll` requests, {IN_FLIGHT} in flight) | ratio |"
    );
    println!("|---|---|---|---|---|");
    // `cargo bench … -- 50` runs only the sizes named (by domain count).
    let sizes: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    for (domains, polls) in [(1, 100_000), (50, 5_000)] {
        if !sizes.is_empty() && !sizes.contains(&domains.to_string()) {
            continue;
        }
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("node.xml");
        std::fs::write(&path, node(domains))?;
        let uri = format!("test://{}", path.display());
        let mut floor = Vec::new();
        let mut ours = Vec::new();
        for _ in 0..ROUNDS {
            if side != Some("polyceph") {
                floor.push(plain_loop(&uri, domains, polls)?);
            }
            if side != Some("floor") {
                ours.push(runtime.block_on(poller(&uri, polls))?);
            }
        }
        if side.is_some() {
            let took = median(if floor.is_empty() { ours } else { floor });
            println!("| {domains} | {polls} | {side:?} only: {:.2} µs per poll |", per_poll(took, polls));
            continue;
        }
        let (floor, ours) = (median(floor), median(ours));
        let rate = |took: Duration| polls as f64 / took.as_secs_f64();
        println!(
            "| {domains} | {polls} | {:.0}/s ({:.2} µs) | {:.0}/s ({:.2} µs) | **{:.2}** |",
            rate(floor),
            per_poll(floor, polls),
            rate(ours),
            per_poll(ours, polls),
            rate(ours) / rate(floor),
        );
    }
    Ok(())
}

/// The floor: `polls` polls in a plain loop.
fn plain_loop(uri: &str, domains: usize, polls: usize) -> std::result::Result<Duration, virt::error::Error> {
    let conn = Connect::open(Some(uri))?;
    let start = Instant::now();
    for _ in 0..polls {
        let listed = conn.list_all_domains(0)?;
        let mut seen = Vec::with_capacity(listed.len());
        for domain in &listed {
            let info = domain.info()?;
            seen.push(Seen {
                name: domain.name()?,
                uuid: domain.uuid()?,
                state: info.state.to_raw(),
                max_memory_kib: info.max_mem,
                memory_kib: info.memory,
                vcpus: info.nr_virt_cpu,
                cpu_time_ns: info.cpu_time,
            });
        }
        assert_eq!(seen.len(), domains);
        black_box(&seen);
    }
    let took = start.elapsed();
    drop(conn);
    Ok(took)
}

/// polyceph: `polls` polls by request, `IN_FLIGHT` at a time.
async fn poller(uri: &str, polls: usize) -> std::result::Result<Duration, Box<dyn std::error::Error>> {
    // The schedule's own polls: one at the start, none during the run.
    let poller = LibvirtPoller::builder().host("bench", uri).recipient("sink").frequency(0.001).build()?;
    let status = poller.status();
    let app = Application::builder().actor("sink", Sink).actor("libvirt", poller).start().await?;
    // Connected and warmed up, and the schedule's first poll counted: it is
    // due at the start, but may be handled after the first requests, so
    // requests go on until the count shows one poll more than they made.
    let mut asked = 0_u64;
    let before = loop {
        poll(&app, 1).await?;
        asked += 1;
        let polled = status.stats("bench").ok_or("no host")?.polls;
        if polled > asked {
            break polled;
        }
        if asked == 10_000 {
            return Err("the scheduled poll never came".into());
        }
    };
    let start = Instant::now();
    let mut askers = tokio::task::JoinSet::new();
    for asker in 0..IN_FLIGHT {
        let (app, share) = (app.clone(), polls / IN_FLIGHT + usize::from(asker < polls % IN_FLIGHT));
        askers.spawn(async move { poll(&app, share).await.map_err(|e| e.to_string()) });
    }
    while let Some(done) = askers.join_next().await {
        done??;
    }
    let took = start.elapsed();
    let stats = status.stats("bench").ok_or("no host")?;
    assert_eq!(stats.polls - before, polls as u64, "every request polled");
    assert_eq!(stats.mail_dropped, 0, "the sink kept up");
    app.shutdown().await;
    Ok(took)
}

async fn poll(app: &AppHandle, times: usize) -> std::result::Result<(), Box<dyn std::error::Error>> {
    for _ in 0..times {
        let reply = app.request("libvirt", subjects::POLL, HostRef::new("bench"), Duration::from_secs(10)).await?;
        reply.body::<Reply<()>>()??;
    }
    Ok(())
}

/// A node file with `count` running domains.
fn node(count: usize) -> String {
    let mut xml = String::from("<node>\n");
    for i in 0..count {
        let _ = writeln!(
            xml,
            "<domain type='test'><name>vm{i}</name><uuid>00000000-0000-4000-8000-{i:012}</uuid>\
             <memory>1048576</memory><currentMemory>524288</currentMemory><vcpu>2</vcpu>\
             <os><type>hvm</type></os></domain>"
        );
    }
    xml.push_str("</node>\n");
    xml
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort_unstable();
    runs[runs.len() / 2]
}

fn per_poll(took: Duration, polls: usize) -> f64 {
    took.as_secs_f64() * 1e6 / polls as f64
}
