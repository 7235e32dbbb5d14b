//! When the reader goes away the writer says `NoReader` (it never blocks),
//! and reopens when a reader is back; the new reader gets whole frames only,
//! never the rest of a frame the old one left.

mod support;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_fifo::{FifoError, FifoReader, FifoWriter};
use support::{fifo_path, next};
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

async fn reading_app(path: &std::path::Path) -> anyhow::Result<(AppHandle, polyceph::testing::Recorded, FifoReader)> {
    let (probe, recorded) = Probe::new();
    let reader = FifoReader::builder(path, "main").open()?;
    let app = Application::builder().actor("main", probe).actor("in", reader.clone()).start().await?;
    Ok((app, recorded, reader))
}

#[tokio::test]
async fn the_writer_sees_no_reader_between_two_readers_and_then_reaches_the_second() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let writer = FifoWriter::open(&path)?;

    let (app, mut recorded, _) = reading_app(&path).await?;
    for n in 0..3_u32 {
        writer.send(&Envelope::new("w", "main", "n", n)).await?;
        assert_eq!(next(&mut recorded).await.body::<u32>()?, n);
    }
    app.shutdown().await;

    // The first write after the reader left finds the pipe broken, the
    // next finds no reader to open it with: both say so at once.
    for n in 3..5_u32 {
        let sent = writer.send(&Envelope::new("w", "main", "n", n)).await;
        assert!(matches!(sent, Err(FifoError::NoReader { .. })), "{sent:?}");
    }

    let (app, mut recorded, reader) = reading_app(&path).await?;
    for n in 5..8_u32 {
        writer.send(&Envelope::new("w", "main", "n", n)).await?;
    }
    for n in 5..8_u32 {
        assert_eq!(next(&mut recorded).await.body::<u32>()?, n);
    }
    let stats = writer.stats();
    assert_eq!((stats.sent, stats.no_reader, stats.opened), (6, 2, 2));
    let read = reader.stats();
    assert_eq!((read.delivered, read.malformed), (3, 0));
    app.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_reader_that_leaves_in_the_middle_of_a_large_frame_leaves_nothing_for_the_next() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let writer = FifoWriter::builder(&path).only_writer(true).open()?;
    let large = Envelope::new("w", "main", "large", vec![7_u8; 256 * 1024]);

    // A reader that takes a little of the large frame and leaves.
    let mut quitter = pipe::OpenOptions::new().open_receiver(&path)?;
    let sending = tokio::spawn({
        let writer = writer.clone();
        async move { writer.send(&large).await }
    });
    let mut some = vec![0; 10_000];
    quitter.read_exact(&mut some).await?;
    drop(quitter);
    let sent = sending.await?;
    assert!(matches!(sent, Err(FifoError::NoReader { .. })), "{sent:?}");

    let (app, mut recorded, reader) = reading_app(&path).await?;
    writer.send(&Envelope::new("w", "main", "small", "whole")).await?;
    let mail = next(&mut recorded).await;
    assert_eq!((mail.subject(), mail.body::<String>()?.as_str()), ("small", "whole"));
    assert_eq!(reader.stats().malformed, 0, "no rest of the large frame came before it");
    app.shutdown().await;
    Ok(())
}
