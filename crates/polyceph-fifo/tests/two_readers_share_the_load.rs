//! Two readers on one FIFO share its messages: with records (frames padded
//! to `PIPE_BUF`, one per `read`), each of 1,000 messages reaches exactly
//! one of them, whole. Load sharing, not broadcast.

mod support;

use std::collections::BTreeSet;

use polyceph::prelude::*;
use polyceph::testing::{Probe, Recorded};
use polyceph_fifo::{FifoReader, FifoWriter, Framing, ReaderCounters};
use support::{PATIENCE, fifo_path};

const MESSAGES: u32 = 1_000;

/// An application with one records reader on `path`, delivering to a probe.
async fn reading_app(path: &std::path::Path) -> anyhow::Result<(AppHandle, Recorded, ReaderCounters)> {
    let (probe, recorded) = Probe::new();
    let reader = FifoReader::builder(path, "worker").framing(Framing::Records).open()?;
    let counters = reader.counters();
    let app = Application::builder().actor("worker", probe).actor("in", reader).start().await?;
    Ok((app, recorded, counters))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_readers_get_each_of_1000_messages_exactly_once() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("work.fifo");
    let (app_a, mut got_a, counters_a) = reading_app(&path).await?;
    let (app_b, mut got_b, counters_b) = reading_app(&path).await?;

    let writer = FifoWriter::builder(&path).framing(Framing::Records).open()?;
    for n in 0..MESSAGES {
        writer.send(&Envelope::new("boss", "worker", "job", (n, "x".repeat(n as usize % 3_000)))).await?;
    }

    let (mut seen, mut by_a, mut by_b) = (BTreeSet::new(), 0, 0);
    while seen.len() < MESSAGES as usize {
        let mail = tokio::select! {
            mail = got_a.next(PATIENCE) => { by_a += 1; mail? }
            mail = got_b.next(PATIENCE) => { by_b += 1; mail? }
        };
        let (n, filler): (u32, String) = mail.body()?;
        assert_eq!(filler, "x".repeat(n as usize % 3_000), "message {n} arrives whole");
        assert!(seen.insert(n), "message {n} arrived twice");
    }
    assert_eq!(seen, (0..MESSAGES).collect::<BTreeSet<_>>());
    let (a, b) = (counters_a.snapshot(), counters_b.snapshot());
    assert_eq!(a.delivered + b.delivered, u64::from(MESSAGES), "no message arrived at both");
    assert_eq!((a.malformed, b.malformed), (0, 0));
    println!("reader a took {by_a}, reader b took {by_b}");
    app_a.shutdown().await;
    app_b.shutdown().await;
    Ok(())
}
