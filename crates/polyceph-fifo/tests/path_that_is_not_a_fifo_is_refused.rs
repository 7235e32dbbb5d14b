//! A path that exists and is not a FIFO is refused with a typed error, and
//! left alone.

mod support;

use polyceph_fifo::{FifoError, FifoReader, FifoWriter};
use support::fifo_path;

#[test]
fn a_regular_file_or_a_directory_is_not_a_fifo() {
    let (dir, file) = fifo_path("notes.txt");
    std::fs::write(&file, b"keep me").unwrap();
    for path in [file.as_path(), dir.path()] {
        let writer = FifoWriter::open(path);
        assert!(matches!(&writer, Err(FifoError::NotAFifo { path: p }) if p == path), "{writer:?}");
        let reader = FifoReader::builder(path, "main").open();
        assert!(matches!(&reader, Err(FifoError::NotAFifo { path: p }) if p == path), "{reader:?}");
        assert_eq!(
            FifoWriter::open(path).unwrap_err().to_string(),
            format!("{} exists and is not a fifo", path.display())
        );
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}

#[tokio::test]
async fn a_fifo_replaced_by_a_file_is_refused_when_the_writer_reconnects() {
    let (_dir, path) = fifo_path("in.fifo");
    let writer = FifoWriter::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"").unwrap();
    let sent = writer.send_raw(b"x").await;
    assert!(matches!(sent, Err(FifoError::NotAFifo { .. })), "{sent:?}");
    assert_eq!(writer.stats().failed, 1);
}
