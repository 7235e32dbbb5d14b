//! Large bodies and raw frames are not copied out of the reader's buffer but
//! share it: mail held while the reader goes on reading must keep its own
//! bytes. Frames of every size class (copied, shared, larger than one read)
//! are written back to back, and every body is checked only once all of
//! them have arrived and are held at the same time.

mod support;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_fifo::{FifoReader, FifoWriter, RawFrame};
use support::{fifo_path, next};

/// Body sizes: copied (< 1 KiB), shared, and larger than a 64 KiB read.
const SIZES: [usize; 5] = [16, 900, 1024, 4096, 100 * 1024];

/// The bytes of message `n`: its own fill, so that one overwritten by a
/// later frame shows.
fn body(n: usize) -> Vec<u8> {
    vec![u8::try_from(n % 251).unwrap_or(0); SIZES[n % SIZES.len()]]
}

#[tokio::test]
async fn envelope_bodies_held_together_keep_their_own_bytes() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let (probe, mut recorded) = Probe::new();
    let reader = FifoReader::builder(&path, "main").open()?;
    let app = Application::builder().actor("main", probe).actor("in", reader.clone()).start().await?;
    let writer = FifoWriter::builder(&path).only_writer(true).open()?;

    let count = 60;
    for n in 0..count {
        writer.send(&Envelope::new("w", "main", "blob", Value::bytes(body(n))).with_header("n", n as i64)).await?;
    }
    let mut held = Vec::new();
    for _ in 0..count {
        held.push(next(&mut recorded).await);
    }
    for (n, mail) in held.iter().enumerate() {
        assert_eq!(mail.headers().get("n"), Some(&Value::Int(n as i64)), "in order");
        assert_eq!(mail.body::<Value>()?, Value::bytes(body(n)), "message {n}");
    }
    assert_eq!(reader.stats().malformed, 0);
    app.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn raw_frames_held_together_keep_their_own_bytes() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let (probe, mut recorded) = Probe::new();
    let reader = FifoReader::builder(&path, "main").raw("bytes").open()?;
    let app = Application::builder().actor("main", probe).actor("in", reader.clone()).start().await?;
    let writer = FifoWriter::builder(&path).only_writer(true).open()?;

    let count = 60;
    for n in 0..count {
        writer.send_raw(&body(n)).await?;
    }
    let mut held = Vec::new();
    for _ in 0..count {
        held.push(next(&mut recorded).await.into_body::<RawFrame>()?);
    }
    for (n, frame) in held.iter().enumerate() {
        assert_eq!(frame.as_bytes(), &body(n)[..], "frame {n}");
    }
    app.shutdown().await;
    Ok(())
}
