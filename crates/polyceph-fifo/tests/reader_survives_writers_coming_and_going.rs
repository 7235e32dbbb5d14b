//! Writers come and go; the reader stays. When every writer has closed it
//! waits for the next one without spinning and without growing, and a
//! writer's last line or frame is not lost for want of a terminator.

mod support;

use std::time::Duration;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_fifo::{FifoReader, FifoWriter, Framing};
use support::{fifo_path, next, stats_until};

#[tokio::test]
async fn a_new_writer_is_read_after_the_last_one_closed() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let (probe, mut recorded) = Probe::new();
    let reader = FifoReader::builder(&path, "main").open()?;
    let counters = reader.counters();
    let app = Application::builder().actor("main", probe).actor("in", reader).start().await?;

    let first = FifoWriter::open(&path)?;
    for n in 0..5_u32 {
        first.send(&Envelope::new("first", "main", "n", n)).await?;
    }
    for n in 0..5_u32 {
        assert_eq!(next(&mut recorded).await.body::<u32>()?, n);
    }
    first.close().await;
    drop(first);
    stats_until(&counters, |s| s.writers_gone == 1).await;

    // No writer now. A reader that spun on the end of the input would see
    // it again and again; this one waits for bytes.
    let again = tokio::time::timeout(Duration::from_millis(200), counters.wait_for(|s| s.writers_gone > 1)).await;
    assert!(again.is_err(), "the end of input was seen again with no writer: {:?}", counters.snapshot());

    let second = FifoWriter::open(&path)?;
    for n in 5..10_u32 {
        second.send(&Envelope::new("second", "main", "n", n)).await?;
    }
    for n in 5..10_u32 {
        let mail = next(&mut recorded).await;
        assert_eq!((mail.sender().as_str(), mail.body::<u32>()?), ("second", n));
    }
    let stats = counters.snapshot();
    assert_eq!((stats.delivered, stats.malformed, stats.writers_gone), (10, 0, 1));
    app.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_last_line_without_a_newline_is_read_when_its_writer_closes() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let (probe, mut recorded) = Probe::new();
    let reader = FifoReader::builder(&path, "main").framing(Framing::Lines).open()?;
    let app = Application::builder().actor("main", probe).actor("in", reader).start().await?;

    for word in ["one", "two"] {
        // `printf` adds no newline; the shell closes the fifo when done.
        let status = std::process::Command::new("sh")
            .args(["-c", r#"printf 'say\t%s' "$1" > "$0""#])
            .arg(&path)
            .arg(word)
            .status()?;
        assert!(status.success());
        let mail = next(&mut recorded).await;
        assert_eq!((mail.subject(), mail.body::<String>()?.as_str()), ("say", word));
    }
    app.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn the_reader_keeps_reading_the_fifo_it_opened_whatever_becomes_of_its_path() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let (probe, mut recorded) = Probe::new();
    let reader = FifoReader::builder(&path, "main").open()?;
    let counters = reader.counters();
    let app = Application::builder().actor("main", probe).actor("in", reader).start().await?;
    // A second name for the same FIFO.
    let link = path.with_file_name("link.fifo");
    std::fs::hard_link(&path, &link)?;

    let first = FifoWriter::open(&path)?;
    first.send(&Envelope::new("first", "main", "n", 1_u32)).await?;
    assert_eq!(next(&mut recorded).await.body::<u32>()?, 1);
    first.close().await;
    stats_until(&counters, |s| s.writers_gone == 1).await;

    // The path now names a regular file; the FIFO lives on under the link.
    std::fs::remove_file(&path)?;
    std::fs::write(&path, b"not a fifo")?;
    let second = FifoWriter::open(&link)?;
    second.send(&Envelope::new("second", "main", "n", 2_u32)).await?;
    assert_eq!(next(&mut recorded).await.body::<u32>()?, 2);
    assert!(app.is_running("in"));
    app.shutdown().await;
    Ok(())
}
