//! A bad writer cannot wedge or crash the reader: bytes that are no frame,
//! a garbage length, a frame that is no envelope, a bad line or a torn
//! record are skipped to the next good message, counted and logged, and
//! the good messages after them are delivered.

mod support;

use polyceph::prelude::*;
use polyceph::testing::{Probe, Recorded};
use polyceph_fifo::{FifoReader, FifoWriter, Framing, MAGIC, ReaderBuilder, ReaderCounters};
use support::{fifo_path, next};
use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;

async fn reading_app(reader: ReaderBuilder) -> anyhow::Result<(AppHandle, Recorded, ReaderCounters)> {
    let (probe, recorded) = Probe::new();
    let reader = reader.open()?;
    let counters = reader.counters();
    let app = Application::builder().actor("main", probe).actor("in", reader).start().await?;
    Ok((app, recorded, counters))
}

#[tokio::test]
async fn garbage_and_bad_frames_between_good_frames_are_skipped() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let (app, mut recorded, counters) = reading_app(FifoReader::builder(&path, "main")).await?;
    let writer = FifoWriter::open(&path)?;
    // A second writer for bytes that are not frames.
    let mut raw = pipe::OpenOptions::new().open_sender(&path)?;
    let good = |n: u32| Envelope::new("w", "main", "good", n);

    writer.send(&good(0)).await?;
    // 1. Text someone echoed into the fifo.
    raw.write_all(b"hello, is anybody there?\n").await?;
    writer.send(&good(1)).await?;
    // 2. A marker with a length of 2 GiB, then a few bytes: the reader must
    //    not wait for 2 GiB, nor skip the frames behind it.
    let mut huge = MAGIC.to_vec();
    huge.extend_from_slice(&0x8000_0000_u32.to_be_bytes());
    huge.extend_from_slice(b"junk");
    raw.write_all(&huge).await?;
    writer.send(&good(2)).await?;
    // 3. A well-formed frame whose payload is no envelope.
    writer.send_raw(b"\x93\x01\x02\x03").await?;
    writer.send(&good(3)).await?;
    // 4. An envelope of a future format version.
    let mut future = good(99).to_msgpack()?;
    let v = future.iter().position(|&b| b == b'v').expect("the version key") + 1;
    future[v] = 2;
    writer.send_raw(&future).await?;
    writer.send(&good(4)).await?;

    for n in 0..5_u32 {
        let mail = next(&mut recorded).await;
        assert_eq!((mail.subject(), mail.body::<u32>()?), ("good", n));
    }
    let stats = counters.snapshot();
    assert_eq!((stats.delivered, stats.malformed), (5, 4), "{stats:?}");
    let bad_bytes = 25 + huge.len() + (6 + 4) + (6 + future.len());
    assert_eq!(stats.skipped_bytes, bad_bytes as u64);

    // A writer that dies in the middle of a frame: its rest never comes.
    let mut cut = MAGIC.to_vec();
    cut.extend_from_slice(&100_u32.to_be_bytes());
    cut.extend_from_slice(b"only ten b");
    raw.write_all(&cut).await?;
    drop(raw);
    writer.close().await;
    let stats = support::stats_until(&counters, |s| s.writers_gone == 1).await;
    assert_eq!((stats.malformed, stats.skipped_bytes), (5, (bad_bytes + cut.len()) as u64));

    let writer = FifoWriter::open(&path)?;
    writer.send(&good(5)).await?;
    assert_eq!(next(&mut recorded).await.body::<u32>()?, 5, "the next writer is read from a clean start");
    app.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bad_lines_are_skipped_and_good_lines_delivered() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let reader = FifoReader::builder(&path, "main").framing(Framing::Lines).max_frame(100);
    let (app, mut recorded, counters) = reading_app(reader).await?;
    let writer = FifoWriter::builder(&path).framing(Framing::Lines).open()?;

    writer.send_raw(b"one\t1").await?;
    writer.send_raw(b"{\"not\": \"an envelope\"}").await?; // JSON, but no envelope
    writer.send_raw(b"\tno subject").await?;
    writer.send_raw(&[b'x'; 150]).await?; // over the limit
    writer.send_raw(b"\xff\xfe not utf-8").await?;
    writer.send_raw(b"").await?; // blank: nothing to deliver, nothing wrong
    writer.send_raw(b"two\t2").await?;

    for (subject, n) in [("one", 1), ("two", 2)] {
        let mail = next(&mut recorded).await;
        assert_eq!((mail.subject(), mail.body::<u32>()?), (subject, n));
    }
    let stats = counters.snapshot();
    assert_eq!((stats.delivered, stats.malformed), (2, 4), "{stats:?}");
    app.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_short_write_among_records_costs_only_the_records_it_tore() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let reader = FifoReader::builder(&path, "main").framing(Framing::Records);
    // Everything is in the pipe before the reader starts, so that its reads
    // straddle a rogue writer's short frame and the records behind it.
    let rogue = FifoWriter::open(&path)?;
    let hold = pipe::OpenOptions::new().open_receiver(&path)?;
    rogue.send(&Envelope::new("rogue", "main", "short", ())).await?;
    let records = FifoWriter::builder(&path).framing(Framing::Records).open()?;
    for n in 0..6_u32 {
        records.send(&Envelope::new("w", "main", "record", n)).await?;
    }
    let short = rogue.stats().bytes;
    let (app, mut recorded, counters) = reading_app(reader).await?;
    drop(hold);

    // The short frame and the record it shifted are lost; the reader
    // realigns and the rest arrive whole.
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(next(&mut recorded).await.body::<u32>()?);
    }
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    let stats = counters.snapshot();
    assert_eq!((stats.delivered, stats.malformed), (5, 1), "{stats:?}");
    // The read that straddled, then the rest of the record it cut.
    assert_eq!(stats.skipped_bytes, 4096 + short);
    app.shutdown().await;
    Ok(())
}
