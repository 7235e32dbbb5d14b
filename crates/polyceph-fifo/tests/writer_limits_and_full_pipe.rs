//! A writer keeps messages whole: over `PIPE_BUF` only as the only writer,
//! and a full pipe is either backpressure or an immediate `Full`, as the
//! caller chose.

mod support;

use std::time::Duration;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_fifo::{FifoError, FifoReader, FifoWriter, Framing, PIPE_BUF, WhenFull};
use support::{PATIENCE, fifo_path, next};
use tokio::net::unix::pipe;

#[tokio::test]
async fn a_frame_over_pipe_buf_is_refused_unless_this_is_the_only_writer() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let (probe, mut recorded) = Probe::new();
    let reader = FifoReader::builder(&path, "main").open()?;
    let counters = reader.counters();
    let app = Application::builder().actor("main", probe).actor("in", reader).start().await?;
    let large = Envelope::new("w", "main", "large", "x".repeat(100_000));

    let shared = FifoWriter::open(&path)?;
    let refused = shared.send(&large).await;
    assert!(matches!(refused, Err(FifoError::TooLarge { len, limit: PIPE_BUF }) if len > 100_000), "{refused:?}");
    assert_eq!(shared.stats().too_large, 1);

    let only = FifoWriter::builder(&path).only_writer(true).open()?;
    only.send(&large).await?;
    only.send(&Envelope::new("w", "main", "small", ())).await?;
    let mail = next(&mut recorded).await;
    assert_eq!((mail.subject(), mail.body::<String>()?.len()), ("large", 100_000));
    assert_eq!(next(&mut recorded).await.subject(), "small", "the refused frame wrote nothing");
    assert_eq!(counters.snapshot().malformed, 0);

    let over = FifoWriter::builder(&path).only_writer(true).max_frame(1_000).open()?;
    assert!(matches!(over.send(&large).await, Err(FifoError::TooLarge { limit: 1_006, .. })));
    app.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn records_and_lines_have_their_own_limits() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let records = FifoWriter::builder(&path).framing(Framing::Records).only_writer(true).open()?;
    let refused = records.send_raw(&[0; 4_091]).await;
    assert!(matches!(refused, Err(FifoError::TooLarge { len: 4_097, limit: 4_096 })), "{refused:?}");
    let lines = FifoWriter::builder(&path).framing(Framing::Lines).open()?;
    let refused = lines.send_raw(b"two\nlines").await;
    assert!(matches!(refused, Err(FifoError::LineBreak { at: 3 })), "{refused:?}");
    assert_eq!(lines.stats().failed, 1);
    Ok(())
}

#[tokio::test]
async fn a_full_pipe_fails_at_once_or_waits_as_chosen() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let frame = vec![7_u8; 4_000];
    let failing = FifoWriter::builder(&path).when_full(WhenFull::Fail).open()?;
    // A reader that reads nothing until told.
    let lazy = pipe::OpenOptions::new().open_receiver(&path)?;

    let mut accepted = 0;
    let full = loop {
        match failing.send_raw(&frame).await {
            Ok(()) => accepted += 1,
            Err(error) => break error,
        }
        assert!(accepted < 1_000, "the pipe never filled");
    };
    assert!(matches!(full, FifoError::Full { .. }), "{full:?}");
    assert_eq!(failing.stats().full, 1);

    let waiting = FifoWriter::open(&path)?;
    let send = waiting.send_raw(&frame);
    tokio::pin!(send);
    assert!(tokio::time::timeout(Duration::from_millis(100), &mut send).await.is_err(), "it waits for room");

    // The reader catches up: room, and the waiting send goes through.
    let drain = async {
        let mut buf = vec![0; 64 * 1024];
        loop {
            lazy.readable().await?;
            match lazy.try_read(&mut buf) {
                Err(error) if error.kind() != std::io::ErrorKind::WouldBlock => return Err::<(), _>(error),
                _ => {}
            }
        }
    };
    tokio::select! {
        sent = &mut send => sent?,
        drained = drain => drained?,
        () = tokio::time::sleep(PATIENCE) => panic!("the waiting send never went through"),
    }
    assert_eq!(waiting.stats().sent, 1);
    Ok(())
}
