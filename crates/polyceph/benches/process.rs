//! Process mode against its floor, measured in one run.
//!
//! polyceph: `app.request` to a `Mode::Process` actor that replies with the
//! body it got, one request in flight. The floor: a raw ping-pong of the same
//! frames (the request envelope's length-delimited msgpack frame) over a Unix
//! socket to a child process that writes each frame straight back, on the
//! same Tokio runtime. Both run alternately for several rounds; the median
//! round trip is reported with the ratio polyceph / floor (time per round
//! trip; the target is at most 1.5).
//!
//! Beside the wall clock, the CPU time (user + system, all threads) both
//! processes of each side spent per round trip, from `/proc/<pid>/stat`:
//! on a VM whose wake-ups are slow or vary (the host's other guests), the
//! round trip's time is mostly waiting, and the CPU time is the steadier
//! measure of the work each side does.
//!
//! ```text
//! cargo bench -p polyceph --bench process
//! ```
//!
//! This binary is also the child of both: a process actor's child runs
//! `main` again and diverts into the application at `start`; the floor's
//! echo child is told by an environment variable.

use std::hint::black_box;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::SocketAddr;
use std::time::{Duration, Instant};

use polyceph::prelude::*;
use polyceph::wire::EnvelopeCodec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio_util::codec::Encoder;

#[path = "support/cpu.rs"]
mod cpu;
use cpu::cpu_time;

const ROUNDS: usize = 5;
const ROUND_TRIPS: usize = 20_000;
const ECHO_VAR: &str = "POLYCEPH_BENCH_ECHO";

struct Echo;

impl Actor for Echo {
    async fn birth(&mut self, ctx: &mut Context<Self>) -> Result<()> {
        ctx.on(Filter::subject("^ping$")?, Self::ping);
        ctx.on(Filter::subject("^pid$")?, Self::pid);
        Ok(())
    }
}

impl Echo {
    async fn ping(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, mail.body::<Vec<u64>>()?).send().await?;
        Ok(())
    }

    async fn pid(&mut self, ctx: &mut Context<Self>, mail: Envelope) -> Result<()> {
        ctx.reply(&mail, std::process::id()).send().await?;
        Ok(())
    }
}

fn application() -> polyceph::ActorBuilder {
    Application::builder().actor("echo", Echo).mode(Mode::Process)
}

fn body() -> Vec<u64> {
    vec![7; 4]
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    if polyceph::process::is_child() {
        runtime.block_on(application().start())?;
        unreachable!("a process actor's child never returns from start");
    }
    if let Ok(socket) = std::env::var(ECHO_VAR) {
        return runtime.block_on(echo(&socket));
    }
    runtime.block_on(measure())
}

/// The floor's child: writes every byte back as it comes.
async fn echo(socket: &str) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let stream = std::os::unix::net::UnixStream::connect_addr(&SocketAddr::from_abstract_name(socket)?)?;
    stream.set_nonblocking(true)?;
    let mut stream = UnixStream::from_std(stream)?;
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

async fn measure() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let app = application().start().await?;
    let (mut floor, mut child) = floor_link().await?;
    let mut frame = bytes::BytesMut::new();
    EnvelopeCodec::new().encode(&Envelope::new("$app", "echo", "ping", body()), &mut frame)?;

    let me = std::process::id();
    let actor: u32 = app.request("echo", "pid", (), Duration::from_secs(5)).await?.body()?;
    let echo = child.id().ok_or("the echo child is gone")?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut ours_cpu, mut theirs_cpu) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (started, cpu) = (Instant::now(), cpu_time(me)? + cpu_time(actor)?);
        for _ in 0..ROUND_TRIPS {
            let reply = app.request("echo", "ping", body(), Duration::from_secs(5)).await?;
            black_box(reply.body::<Vec<u64>>()?);
        }
        ours.push(started.elapsed() / ROUND_TRIPS as u32);
        ours_cpu.push((cpu_time(me)? + cpu_time(actor)?).saturating_sub(cpu) / ROUND_TRIPS as u32);

        let (started, cpu) = (Instant::now(), cpu_time(me)? + cpu_time(echo)?);
        let mut back = vec![0; frame.len()];
        for _ in 0..ROUND_TRIPS {
            floor.write_all(&frame).await?;
            floor.read_exact(&mut back).await?;
            black_box(&back);
        }
        theirs.push(started.elapsed() / ROUND_TRIPS as u32);
        theirs_cpu.push((cpu_time(me)? + cpu_time(echo)?).saturating_sub(cpu) / ROUND_TRIPS as u32);
    }
    drop(floor);
    child.wait().await?;
    app.shutdown().await;

    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    let (ours_cpu, theirs_cpu) = (median(&mut ours_cpu), median(&mut theirs_cpu));
    println!("process round trip ({ROUND_TRIPS} per round, {ROUNDS} rounds, median; frame {} bytes)", frame.len());
    println!("{:<28} {:>12} {:>14} {:>22}", "", "per trip", "round trips/s", "CPU per trip (both)");
    println!(
        "{:<28} {:>12.1?} {:>14.0} {:>22.1?}",
        "raw Unix socket (floor)",
        theirs,
        1.0 / theirs.as_secs_f64(),
        theirs_cpu
    );
    println!("{:<28} {:>12.1?} {:>14.0} {:>22.1?}", "polyceph process actor", ours, 1.0 / ours.as_secs_f64(), ours_cpu);
    println!("ratio polyceph / floor: {:.2} (target <= 1.5)", ours.as_secs_f64() / theirs.as_secs_f64());
    println!("ratio of CPU per trip: {:.2}", ours_cpu.as_secs_f64() / theirs_cpu.as_secs_f64());
    Ok(())
}

/// Starts the floor's echo child and connects to it.
async fn floor_link() -> std::io::Result<(UnixStream, tokio::process::Child)> {
    let name = format!("polyceph-bench-{}", std::process::id());
    let listener = std::os::unix::net::UnixListener::bind_addr(&SocketAddr::from_abstract_name(&name)?)?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::UnixListener::from_std(listener)?;
    let child =
        tokio::process::Command::new(std::env::current_exe()?).env(ECHO_VAR, &name).kill_on_drop(true).spawn()?;
    let (stream, _) = listener.accept().await?;
    Ok((stream, child))
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
