//! Eight writer processes share one FIFO, 10,000 frames each, as fast as
//! they can: every frame arrives whole, none is lost, and each writer's
//! frames arrive in the order it sent them. Frames are at most `PIPE_BUF`
//! bytes, which the kernel writes atomically.
//!
//! The writers are this test binary, run again with an environment variable
//! that makes the test a writer.

mod support;

use std::process::Stdio;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_fifo::{FifoReader, FifoWriter, PIPE_BUF};
use support::{PATIENCE, fifo_path, next};

const WRITERS: u32 = 8;
const FRAMES: u32 = 10_000;
/// In a writer process: the FIFO to write to, and which writer it is.
const WRITE_TO: &str = "POLYCEPH_FIFO_TEST_WRITE_TO";
const WRITER: &str = "POLYCEPH_FIFO_TEST_WRITER";

/// What writer `w` sends as frame `n`: frames of many sizes, the largest
/// close to `PIPE_BUF`, with content that shows any corruption.
fn body(w: u32, n: u32) -> (u32, u32, String) {
    let len = ((n as usize * 37) + w as usize * 101) % 3_800;
    let filler = char::from(b'a' + ((w + n) % 26) as u8);
    (w, n, filler.to_string().repeat(len))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_writer_processes_never_tear_or_lose_a_frame() -> anyhow::Result<()> {
    if let Ok(path) = std::env::var(WRITE_TO) {
        return write_as_a_child(&path).await;
    }
    let (_dir, path) = fifo_path("shared.fifo");
    let (probe, mut recorded) = Probe::new();
    let reader = FifoReader::builder(&path, "tally").open()?;
    let counters = reader.counters();
    let app = Application::builder().actor("tally", probe).actor("in", reader).start().await?;

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let child = tokio::process::Command::new(std::env::current_exe()?)
            .args(["--exact", "eight_writer_processes_never_tear_or_lose_a_frame", "--nocapture"])
            .env(WRITE_TO, &path)
            .env(WRITER, w.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null()) // the harness's chatter; failures show on stderr
            .kill_on_drop(true)
            .spawn()?;
        writers.push(child);
    }

    let mut expected = vec![0_u32; WRITERS as usize];
    for _ in 0..WRITERS * FRAMES {
        let mail = next(&mut recorded).await;
        let (w, n, filler): (u32, u32, String) = mail.body()?;
        assert!(w < WRITERS, "unknown writer {w}");
        assert_eq!(n, expected[w as usize], "writer {w}'s frames arrive in order, none missing");
        assert_eq!((w, n, filler), body(w, n), "frame {n} of writer {w} arrives intact");
        expected[w as usize] += 1;
    }
    for mut writer in writers {
        let status = tokio::time::timeout(PATIENCE, writer.wait()).await??;
        assert!(status.success(), "a writer process failed: {status}");
    }
    assert_eq!(expected, vec![FRAMES; WRITERS as usize]);
    let stats = counters.snapshot();
    assert_eq!((stats.delivered, stats.malformed, stats.skipped_bytes), (u64::from(WRITERS * FRAMES), 0, 0));
    app.shutdown().await;
    Ok(())
}

/// A writer process: sends its frames, waiting when the pipe is full.
async fn write_as_a_child(path: &str) -> anyhow::Result<()> {
    let w: u32 = std::env::var(WRITER)?.parse()?;
    let writer = FifoWriter::open(path)?;
    for n in 0..FRAMES {
        let mail = Envelope::new(format!("writer{w}"), "tally", "frame", body(w, n));
        writer.send(&mail).await?;
    }
    let stats = writer.stats();
    assert_eq!(stats.sent, u64::from(FRAMES));
    assert!(stats.bytes / u64::from(FRAMES) < PIPE_BUF as u64);
    Ok(())
}
