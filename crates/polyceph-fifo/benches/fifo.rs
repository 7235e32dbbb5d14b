//! Envelopes through one FIFO against raw frames of the same size through
//! the same FIFO, measured in one run.
//!
//! polyceph: a [`FifoWriter`] sends envelopes one after the other, one
//! `write` each; a [`FifoReader`] actor decodes them and delivers each to a
//! counting actor's mailbox. Timed from the first send until the counter
//! has them all. Two senders: one that makes a new envelope for every send,
//! as an application does, and one that sends the same envelope again and
//! again, which leaves only the bridge's own work.
//!
//! The floor: the same number of length-prefixed frames of the same size
//! (4-byte length, then bytes), one `write` each, read by a task that cuts
//! the frames out of 64 KiB reads and counts them. No envelope is made,
//! encoded, decoded or delivered.
//!
//! Writers and readers are tasks on one Tokio runtime (multi-thread, 2
//! workers) on both sides. Two sizes: a small body, and a 4 KiB body (its
//! frame is larger than `PIPE_BUF`, so that writer is the only writer). The
//! three run in turn for several rounds; medians are reported, with the
//! ratio of throughputs polyceph / floor (the target is at least 0.8).
//!
//! Beside throughput, the CPU time the whole process spent per message
//! (user + system, all threads, from `/proc/self/stat`): less sensitive to
//! other load on the machine than the wall clock.
//!
//! ```text
//! cargo bench -p polyceph-fifo --bench fifo
//! cargo bench -p polyceph-fifo --bench fifo -- 4KiB    # workloads whose name contains "4KiB"
//! POLYCEPH_BENCH_SIDE=polyceph cargo bench -p polyceph-fifo --bench fifo -- 4KiB   # one side only, for a profiler
//! ```
//!
//! With one side only (`floor`, `fresh` or `same`), the others are not run
//! and print as empty.

#[path = "../../polyceph/benches/support/cpu.rs"]
mod cpu;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use polyceph::prelude::*;
use polyceph_fifo::{FifoReader, FifoWriter, HEADER_LEN};
use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;
use tokio::sync::Notify;

const ROUNDS: usize = 7;

/// One workload: how many envelopes, with how large a body.
struct Workload {
    name: &'static str,
    messages: u64,
    body: usize,
}

const WORKLOADS: [Workload; 2] = [
    Workload { name: "small (32 B body)", messages: 200_000, body: 32 },
    Workload { name: "4KiB body", messages: 50_000, body: 4096 },
];

/// How the polyceph side gets its envelopes.
#[derive(Clone, Copy, PartialEq)]
enum Sender {
    /// A new envelope for every send.
    Fresh,
    /// One envelope, sent again and again.
    Same,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(measure(&filter))
}

async fn measure(filter: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    println!(
        "one FIFO; {ROUNDS} rounds, medians; frames include headers; ratio: throughput / floor's; µs: CPU per message"
    );
    println!(
        "{:<18} {:>7} {:>34} {:>38} {:>38}",
        "", "frame", "raw frames (floor)", "new envelope per send", "same envelope resent"
    );
    for workload in WORKLOADS.iter().filter(|w| filter.iter().all(|f| w.name.contains(f.as_str()))) {
        let path = dir.path().join(format!("bench-{}.fifo", workload.body));
        FifoWriter::open(&path)?; // makes the FIFO
        let frame = HEADER_LEN + envelope(workload.body).to_msgpack()?.len();
        let side = std::env::var("POLYCEPH_BENCH_SIDE").unwrap_or_default();
        let runs = |name: &str| side.is_empty() || side == name || (name == "fresh" && side == "polyceph");
        if !["", "floor", "fresh", "same", "polyceph"].contains(&side.as_str()) {
            return Err(format!("POLYCEPH_BENCH_SIDE is floor, polyceph (= fresh), fresh or same, not {side:?}").into());
        }
        let (mut floor, mut fresh, mut same) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            if runs("floor") {
                floor.push(raw_frames(&path, workload.messages, frame).await?);
            }
            if runs("fresh") {
                fresh.push(envelopes(&path, workload, Sender::Fresh).await?);
            }
            if runs("same") {
                same.push(envelopes(&path, workload, Sender::Same).await?);
            }
        }
        if !side.is_empty() {
            let took = median(if runs("floor") {
                &floor
            } else if runs("fresh") {
                &fresh
            } else {
                &same
            });
            println!("{:<18} {side}: {:?} wall, {:?} CPU", workload.name, took.wall, took.cpu);
            continue;
        }
        let (floor, fresh, same) = (median(&floor), median(&fresh), median(&same));
        let rate = |took: Sample| workload.messages as f64 / took.wall.as_secs_f64();
        let mb = |took: Sample| rate(took) * frame as f64 / 1e6;
        let cpu = |took: Sample| took.cpu.as_secs_f64() * 1e6 / workload.messages as f64;
        let ours = |took: Sample| {
            format!(
                "{:>9.0}/s {:>7.1} MB/s {:>5.2} {:>5.2} µs",
                rate(took),
                mb(took),
                took.wall.as_secs_f64().recip() / floor.wall.as_secs_f64().recip(),
                cpu(took)
            )
        };
        println!(
            "{:<18} {:>5} B {:>10.0}/s {:>7.1} MB/s {:>5.2} µs {:>38} {:>38}",
            workload.name,
            frame,
            rate(floor),
            mb(floor),
            cpu(floor),
            ours(fresh),
            ours(same),
        );
    }
    println!("target: ratio >= 0.8");
    Ok(())
}

fn envelope(body: usize) -> Envelope {
    Envelope::new("bench", "sink", "reading", Value::bytes(vec![7; body]))
}

/// Counts what it gets; says when it has `target`.
struct Sink {
    count: Arc<AtomicU64>,
    target: u64,
    done: Arc<Notify>,
}

impl Actor for Sink {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::any(), Self::count);
        Ok(())
    }
}

impl Sink {
    async fn count(&mut self, _ctx: &mut Context<Self>, _mail: Envelope) -> Result<()> {
        if self.count.fetch_add(1, Ordering::Relaxed) + 1 == self.target {
            self.done.notify_one();
        }
        Ok(())
    }
}

/// polyceph: envelopes through a writer, a reader actor, into a mailbox.
async fn envelopes(path: &Path, workload: &Workload, sender: Sender) -> Result<Sample, Box<dyn std::error::Error>> {
    let count = Arc::new(AtomicU64::new(0));
    let done = Arc::new(Notify::new());
    let sink = Sink { count: count.clone(), target: workload.messages, done: done.clone() };
    let reader = FifoReader::builder(path, "sink").open()?;
    let app = Application::builder().actor("sink", sink).actor("in", reader).start().await?;
    let writer = FifoWriter::builder(path).only_writer(true).open()?;
    let (messages, body) = (workload.messages, workload.body);

    let started = Instant::now();
    let cpu = cpu_time()?;
    let sending = tokio::spawn(async move {
        let same = envelope(body);
        for _ in 0..messages {
            match sender {
                Sender::Fresh => writer.send(&envelope(body)).await?,
                Sender::Same => writer.send(&same).await?,
            }
        }
        Ok::<_, polyceph_fifo::FifoError>(writer)
    });
    done.notified().await;
    let took = Sample { wall: started.elapsed(), cpu: cpu_time()? - cpu };

    assert_eq!(count.load(Ordering::Relaxed), workload.messages);
    sending.await??.close().await;
    app.shutdown().await;
    Ok(took)
}

/// The floor: length-prefixed frames of `frame` bytes, written and counted.
async fn raw_frames(path: &Path, messages: u64, frame: usize) -> Result<Sample, Box<dyn std::error::Error>> {
    let receiver = pipe::OpenOptions::new().read_write(true).open_receiver(path)?;
    let reader = tokio::spawn(async move {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        let mut frames = 0;
        while frames < messages {
            buf.reserve(64 * 1024);
            receiver.readable().await?;
            match receiver.try_read_buf(&mut buf) {
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(error) => return Err(error),
            }
            while buf.len() >= 4 {
                let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                if buf.len() < 4 + len {
                    break;
                }
                buf.advance(4 + len);
                frames += 1;
            }
        }
        Ok::<_, std::io::Error>(frames)
    });
    let mut sender = pipe::OpenOptions::new().open_sender(path)?;
    let mut bytes = vec![7_u8; frame];
    bytes[..4].copy_from_slice(&u32::try_from(frame - 4)?.to_be_bytes());

    let started = Instant::now();
    let cpu = cpu_time()?;
    let sending = tokio::spawn(async move {
        for _ in 0..messages {
            sender.write_all(&bytes).await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let frames = reader.await??;
    let took = Sample { wall: started.elapsed(), cpu: cpu_time()? - cpu };
    sending.await??;
    assert_eq!(frames, messages);
    Ok(took)
}

/// One run: how long it took, and how much CPU time the process spent.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

/// The medians of wall-clock and CPU time, each on its own.
fn median(samples: &[Sample]) -> Sample {
    let middle = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    Sample {
        wall: middle(samples.iter().map(|s| s.wall).collect()),
        cpu: middle(samples.iter().map(|s| s.cpu).collect()),
    }
}

/// The CPU time (user and system, all threads) this process has used.
fn cpu_time() -> std::io::Result<Duration> {
    cpu::cpu_time(std::process::id())
}
