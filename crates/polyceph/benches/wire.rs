//! The wire format against its floor, measured in one run.
//!
//! The floor is rmp-serde on the bare body struct: `rmp_serde::to_vec_named`
//! to encode, `rmp_serde::from_slice` to decode — what a program would pay to
//! put the body alone on the wire, with no envelope around it. polyceph
//! encodes and decodes a whole [`Envelope`] carrying that body (two UUIDs, a
//! timestamp, sender, recipient, subject, priority, an empty header map).
//!
//! Two bodies:
//!
//! - small: `Reading { sensor: "thermo-1", celsius, seq }`;
//! - 4 KiB: `Blob { data }`, 4096 bytes as msgpack `bin` (`serde_bytes`);
//! - on request only (an argument containing `u32`): `Numbers { data }`,
//!   1024 `u32`s as a msgpack array of integers, which the envelope decoder
//!   must walk value by value to find where the body ends.
//!
//! Each workload runs floor and polyceph alternately, several rounds; the
//! median is reported with the ratio polyceph / floor in time per item
//! (below 1.0: polyceph is faster; the target is ≤ 1.5). Throughput in MB/s
//! counts the bytes each side writes or reads: the whole envelope for
//! polyceph, the bare body for the floor.
//!
//! The target is judged on the codec's own work: encoding, and decoding an
//! envelope with its body left as bytes. Two kinds of row are context:
//! decoding a 4 KiB body out of borrowed bytes (`from_msgpack` must copy it;
//! a reader of frames shares it, the `decode-shared` row), and decoding the
//! body too (`decode+body`: that part is rmp-serde, the floor itself).
//!
//! ```text
//! cargo bench -p polyceph --bench wire             # everything
//! cargo bench -p polyceph --bench wire -- decode   # workloads whose name contains "decode"
//! cargo bench -p polyceph --bench wire -- 4k       # the 4 KiB body only
//! cargo bench -p polyceph --bench wire -- u32      # the 1024 × u32 body (not run by default)
//! POLYCEPH_BENCH_SIDE=polyceph cargo bench -p polyceph --bench wire -- decode+body   # one side only, for a profiler
//! POLYCEPH_BENCH_ITEMS=10000 ...                                                     # fewer items per round (callgrind)
//! ```
//!
//! Like `runtime.rs`, a plain `harness = false` binary: it needs two
//! implementations side by side and their ratio from one run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use polyceph::Envelope;
use polyceph::wire::EnvelopeCodec;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::codec::Encoder;

const ROUNDS: usize = 7;
/// Items per round for the small body.
const SMALL_ITEMS: usize = 500_000;
/// Items per round for the 4 KiB body.
const LARGE_ITEMS: usize = 200_000;
/// Items per round for the 1024 × u32 body.
const NUMBERS_ITEMS: usize = 10_000;
/// The target: polyceph's time per item within 1.5× the floor's.
const TARGET: f64 = 1.5;

/// The small body: a sensor reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    celsius: f64,
    seq: u64,
}

/// The 4 KiB body: opaque bytes, as msgpack `bin`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Blob {
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

/// The 4 KiB body as an array: 1024 integers, most of them `u32` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Numbers {
    data: Vec<u32>,
}

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));

    let reading = Reading { sensor: "thermo-1".to_owned(), celsius: 21.5, seq: 1_234_567 };
    let blob = Blob { data: (0..4096_u32).map(|i| (i * 31 % 251) as u8).collect() };

    println!(
        "| workload | floor (rmp-serde, bare body) | polyceph (envelope) | ratio polyceph/floor (time) | target ≤ {TARGET} |"
    );
    println!("|---|---|---|---|---|");
    // `POLYCEPH_BENCH_ITEMS=n` sets the items per round of every workload
    // (fewer for callgrind).
    let items = std::env::var("POLYCEPH_BENCH_ITEMS").ok().and_then(|n| n.parse().ok());
    run_body(&wanted, "small", reading, items.unwrap_or(SMALL_ITEMS));
    run_body(&wanted, "4k", blob, items.unwrap_or(LARGE_ITEMS));
    if filter.iter().any(|f| f.contains("u32")) {
        let numbers = Numbers { data: (0..1024_u32).map(|i| i.wrapping_mul(2_654_435_761) % 100_000).collect() };
        run_body(&wanted, "u32x1024", numbers, items.unwrap_or(NUMBERS_ITEMS));
    }
}

/// Every workload for one body.
fn run_body<T>(wanted: &dyn Fn(&str) -> bool, label: &str, body: T, items: usize)
where
    T: Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static,
{
    let envelope = Envelope::new("sensor", "logger", "reading", body.clone());
    let body_bytes = rmp_serde::to_vec_named(&body).expect("body encodes");
    let envelope_bytes = envelope.to_msgpack().expect("envelope encodes");
    // Check what is measured before measuring it.
    let decoded = Envelope::from_msgpack(&envelope_bytes).expect("envelope decodes");
    assert_eq!(decoded.body::<T>().expect("body decodes"), body);
    assert_eq!(rmp_serde::from_slice::<T>(&body_bytes).expect("floor decodes"), body);
    let sizes = Sizes { body: body_bytes.len(), envelope: envelope_bytes.len(), items };

    let name = format!("encode {label}: `to_msgpack` (fresh Vec) vs `to_vec_named`");
    if wanted(&name) {
        let (floor, ours) = alternate(
            || time(items, || drop(black_box(rmp_serde::to_vec_named(black_box(&body)).expect("encode")))),
            || time(items, || drop(black_box(black_box(&envelope).to_msgpack().expect("encode")))),
        );
        row(&name, floor, ours, sizes, true);
    }

    let name = format!("encode-codec {label}: `EnvelopeCodec` (reused BytesMut, 4-byte frame) vs `to_vec_named`");
    if wanted(&name) {
        let mut codec = EnvelopeCodec::new();
        let mut buf = BytesMut::new();
        let (floor, ours) = alternate(
            || time(items, || drop(black_box(rmp_serde::to_vec_named(black_box(&body)).expect("encode")))),
            || {
                time(items, || {
                    codec.encode(black_box(&envelope), &mut buf).expect("encode");
                    black_box(&buf);
                    buf.clear();
                })
            },
        );
        row(&name, floor, ours, sizes, true);
    }

    // Context: the floor given the codec's advantage, a reused buffer.
    let name = format!("encode-codec-reuse {label}: `EnvelopeCodec` vs `encode::write_named` into a reused Vec");
    if wanted(&name) {
        let mut codec = EnvelopeCodec::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let (floor, ours) = alternate(
            || {
                time(items, || {
                    rmp_serde::encode::write_named(&mut out, black_box(&body)).expect("encode");
                    black_box(&out);
                    out.clear();
                })
            },
            || {
                time(items, || {
                    codec.encode(black_box(&envelope), &mut buf).expect("encode");
                    black_box(&buf);
                    buf.clear();
                })
            },
        );
        row(&name, floor, ours, sizes, false);
    }

    let name = format!("decode {label}: `from_msgpack` (body left as bytes) vs `from_slice`");
    if wanted(&name) {
        let (floor, ours) = alternate(
            || time(items, || drop(black_box(rmp_serde::from_slice::<T>(black_box(&body_bytes)).expect("decode")))),
            || time(items, || drop(black_box(Envelope::from_msgpack(black_box(&envelope_bytes)).expect("decode")))),
        );
        // A body this large is copied out of the borrowed bytes into an
        // allocation of its own; readers of frames share it instead (the
        // next row, the codec's path), so the target is judged there.
        row(&name, floor, ours, sizes, body_bytes.len() < polyceph::wire::SHARE_FROM);
    }

    // What a stream reader does (`EnvelopeCodec`, the FIFO reader): the
    // frame is a `Bytes`, and a large body stays in it.
    let name = format!("decode-shared {label}: `from_msgpack_bytes` (a frame's `Bytes`) vs `from_slice`");
    if wanted(&name) {
        let frame = bytes::Bytes::from(envelope_bytes.clone());
        let (floor, ours) = alternate(
            || time(items, || drop(black_box(rmp_serde::from_slice::<T>(black_box(&body_bytes)).expect("decode")))),
            || time(items, || drop(black_box(Envelope::from_msgpack_bytes(black_box(&frame)).expect("decode")))),
        );
        row(&name, floor, ours, sizes, true);
    }

    let name = format!("decode+body {label}: `from_msgpack` + `body::<T>()` vs `from_slice`");
    if wanted(&name) {
        let (floor, ours) = alternate(
            || time(items, || drop(black_box(rmp_serde::from_slice::<T>(black_box(&body_bytes)).expect("decode")))),
            || {
                time(items, || {
                    let envelope = Envelope::from_msgpack(black_box(&envelope_bytes)).expect("decode");
                    drop(black_box(envelope.body::<T>().expect("body")));
                    drop(black_box(envelope));
                })
            },
        );
        // Context: the body's own decoding is rmp-serde, the floor itself,
        // so this row is one plus the envelope's share by construction.
        row(&name, floor, ours, sizes, false);
    }
}

/// Times `items` calls of `op`.
fn time(items: usize, mut op: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..items {
        op();
    }
    start.elapsed()
}

/// Runs both sides `ROUNDS` times, alternating, after one warm-up round
/// each, and returns their medians.
///
/// `POLYCEPH_BENCH_SIDE=floor` or `=polyceph` runs one side only (for a
/// profiler); the other then reads as zero.
fn alternate(mut floor: impl FnMut() -> Duration, mut ours: impl FnMut() -> Duration) -> (Duration, Duration) {
    let side = std::env::var("POLYCEPH_BENCH_SIDE").unwrap_or_default();
    let mut f = Vec::with_capacity(ROUNDS);
    let mut o = Vec::with_capacity(ROUNDS);
    for round in 0..=ROUNDS {
        let a = if side == "polyceph" { Duration::ZERO } else { floor() };
        let b = if side == "floor" { Duration::ZERO } else { ours() };
        if round > 0 {
            f.push(a);
            o.push(b);
        }
    }
    (median(f), median(o))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[derive(Clone, Copy)]
struct Sizes {
    /// The bare body's msgpack bytes (the floor's item).
    body: usize,
    /// The whole envelope's msgpack bytes (polyceph's item, without the
    /// codec's 4-byte frame header).
    envelope: usize,
    items: usize,
}

fn row(name: &str, floor: Duration, ours: Duration, sizes: Sizes, targeted: bool) {
    let per_item = |d: Duration| d.as_secs_f64() * 1e9 / sizes.items as f64;
    let rate = |d: Duration| sizes.items as f64 / d.as_secs_f64() / 1e6;
    let mb = |d: Duration, bytes: usize| (sizes.items * bytes) as f64 / d.as_secs_f64() / 1e6;
    let ratio = ours.as_secs_f64() / floor.as_secs_f64();
    let verdict = match (targeted, ratio <= TARGET) {
        (false, _) => "(context)",
        (true, true) => "met",
        (true, false) => "**not met**",
    };
    println!(
        "| {name} | {:.0} ns ({:.2} M/s, {:.0} MB/s of {} B) | {:.0} ns ({:.2} M/s, {:.0} MB/s of {} B) | **{ratio:.2}** | {verdict} |",
        per_item(floor),
        rate(floor),
        mb(floor, sizes.body),
        sizes.body,
        per_item(ours),
        rate(ours),
        mb(ours, sizes.envelope),
        sizes.envelope,
    );
}
