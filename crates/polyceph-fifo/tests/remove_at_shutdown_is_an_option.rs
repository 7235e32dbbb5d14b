//! Removing the FIFO file at shutdown is an option, off by default.

mod support;

use polyceph::prelude::*;
use polyceph_fifo::{FifoReader, FifoWriter};
use support::fifo_path;

#[tokio::test]
async fn the_fifos_stay_unless_asked_to_go() -> anyhow::Result<()> {
    for remove in [false, true] {
        let (_dir, inbox) = fifo_path("in.fifo");
        let outbox = inbox.with_file_name("out.fifo");
        let reader = FifoReader::builder(&inbox, "out").remove_at_shutdown(remove).open()?;
        let writer = FifoWriter::builder(&outbox).remove_at_shutdown(remove).open()?;
        let app = Application::builder().actor("out", writer).actor("in", reader).start().await?;
        assert!(inbox.exists() && outbox.exists());
        assert!(app.shutdown().await.is_empty());
        assert_eq!((inbox.exists(), outbox.exists()), (!remove, !remove), "remove_at_shutdown({remove})");
    }
    Ok(())
}
