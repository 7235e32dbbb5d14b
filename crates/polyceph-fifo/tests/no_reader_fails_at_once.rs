//! With nobody reading the FIFO, a send fails at once with `NoReader`: it
//! never waits for a reader (the seed's wrapper returned `False`; ours says
//! why, and fast).

mod support;

use std::time::{Duration, Instant};

use polyceph::Envelope;
use polyceph_fifo::{FifoError, FifoWriter};
use support::fifo_path;

#[tokio::test]
async fn a_send_without_a_reader_fails_with_no_reader_in_under_10_ms() {
    let (_dir, path) = fifo_path("nobody.fifo");
    let writer = FifoWriter::open(&path).expect("the fifo is made");
    let mail = Envelope::new("sensor", "logger", "reading", 21.5);

    for attempt in 0..3 {
        let started = Instant::now();
        let sent = writer.send(&mail).await;
        let took = started.elapsed();
        assert!(matches!(&sent, Err(FifoError::NoReader { path: p }) if *p == path), "attempt {attempt}: {sent:?}");
        // The bound; it takes microseconds.
        assert!(took < Duration::from_millis(10), "attempt {attempt} took {took:?}");
    }
    let stats = writer.stats();
    assert_eq!((stats.no_reader, stats.sent, stats.opened), (3, 0, 0));
}

#[tokio::test]
async fn a_raw_send_without_a_reader_fails_the_same_way() {
    let (_dir, path) = fifo_path("nobody.fifo");
    let writer = FifoWriter::open(&path).expect("the fifo is made");
    assert!(matches!(writer.send_raw(b"bytes").await, Err(FifoError::NoReader { .. })));
}
