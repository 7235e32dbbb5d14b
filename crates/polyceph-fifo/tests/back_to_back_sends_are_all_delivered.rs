//! Ten sends in a row all arrive, each whole and in order: the seed's
//! wrapper had no framing, so back-to-back messages ran together and were
//! lost.

mod support;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_fifo::{FifoReader, FifoWriter};
use support::{fifo_path, next};

#[tokio::test]
async fn ten_back_to_back_sends_are_all_delivered_in_order() -> anyhow::Result<()> {
    let (_dir, path) = fifo_path("in.fifo");
    let (probe, mut recorded) = Probe::new();
    let reader = FifoReader::builder(&path, "main").open()?;
    let counters = reader.counters();
    let app = Application::builder().actor("main", probe).actor("in", reader).start().await?;

    let writer = FifoWriter::open(&path)?;
    for n in 0..10_u32 {
        writer.send(&Envelope::new("sender", "anyone", "count", n).with_header("n", n)).await?;
    }

    for n in 0..10_u32 {
        let mail = next(&mut recorded).await;
        assert_eq!(mail.subject(), "count");
        assert_eq!(mail.body::<u32>()?, n);
        assert_eq!(mail.field("n").as_deref(), Some(n.to_string().as_str()), "headers are kept");
        assert_eq!(mail.sender().as_str(), "sender", "the sender is kept");
        assert_eq!(mail.recipient(), &Address::actor("main"), "readdressed to the reader's recipient");
        assert_eq!(mail.field("fifo").as_deref(), path.to_str(), "the fifo's path is in a header");
    }
    let stats = counters.snapshot();
    assert_eq!((stats.delivered, stats.malformed), (10, 0));
    assert_eq!(writer.stats().sent, 10);
    app.shutdown().await;
    Ok(())
}
