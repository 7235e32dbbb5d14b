//! Proves that the datagram format as `docs/multicast.md` specifies it is
//! enough for another language: `tests/python/datagram_client.py` (standard
//! library only) publishes a message and a fragmented one, which a listener
//! delivers. Without `python3` the test says why it skips.

mod support;

use std::process::Command;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_multicast::{MulticastListener, header};
use support::{WAIT, config, next};

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/datagram_client.py");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_publishes_to_a_listener() -> anyhow::Result<()> {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: python3 is not installed");
        return Ok(());
    }
    let config = config();
    let (probe, mut recorded) = Probe::new();
    let listener = MulticastListener::builder(config.clone(), "probe").topic("py").build()?;
    let app = Application::builder().actor("probe", probe).actor("listener", listener).start().await?;

    let client = tokio::process::Command::new("python3")
        .arg(CLIENT)
        .arg(config.group().to_string())
        .arg(config.port().to_string())
        .output();
    let output = tokio::time::timeout(WAIT, client).await??;
    assert!(output.status.success(), "the client failed: {}", String::from_utf8_lossy(&output.stderr));

    let hello = next(&mut recorded).await;
    assert_eq!((hello.subject(), hello.body::<Vec<u8>>()?), ("py", b"hello from python".to_vec()));
    assert_eq!(header::topic(&hello), Some("py"));
    let fragmented = next(&mut recorded).await;
    let expected: Vec<u8> = (0..10).flat_map(|_| 0..=255_u8).collect();
    assert_eq!(fragmented.body::<Vec<u8>>()?, expected, "three fragments, sent last first");
    app.shutdown().await;
    Ok(())
}
