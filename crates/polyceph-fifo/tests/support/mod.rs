//! Helpers shared by the integration tests: FIFOs in temporary directories,
//! and waiting on mail with a generous upper bound (never on sleeps).

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::time::Duration;

use polyceph::Envelope;
use polyceph::testing::Recorded;
use polyceph_fifo::{ReaderCounters, ReaderStats};
use tempfile::TempDir;

/// An upper bound for anything the tests wait for: real I/O is quick, and a
/// test that waits for mail that never comes fails here instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A temporary directory (removed when dropped) and a FIFO path in it.
pub fn fifo_path(name: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    (dir, path)
}

/// The next envelope a probe recorded.
pub async fn next(recorded: &mut Recorded) -> Envelope {
    recorded.next(PATIENCE).await.expect("the probe got mail in time")
}

/// Waits until the reader's counters satisfy `done`.
pub async fn stats_until(counters: &ReaderCounters, done: impl FnMut(&ReaderStats) -> bool) -> ReaderStats {
    tokio::time::timeout(PATIENCE, counters.wait_for(done)).await.expect("the reader's counters got there in time")
}
