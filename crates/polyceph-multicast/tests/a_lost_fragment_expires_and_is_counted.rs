//! Proves that a message whose fragment never comes expires after the
//! fragment timeout and is counted, that reassembly memory stays within its
//! bound by evicting the oldest incomplete message (counted), and that the
//! listener goes on delivering.

mod support;

use std::time::Duration;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_multicast::MulticastListener;
use support::{RAW, config, datagram, next, pattern, raw_sender, single, stats_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_message_expires() -> anyhow::Result<()> {
    let config = config();
    let (probe, mut recorded) = Probe::new();
    let listener =
        MulticastListener::builder(config.clone(), "probe").fragment_timeout(Duration::from_millis(100)).build()?;
    let stats = listener.stats();
    let app = Application::builder().actor("probe", probe).actor("listener", listener).start().await?;

    let socket = raw_sender(&config);
    let payload = pattern(2_000, 5);
    // Fragment 0 of 2; fragment 1 is "lost".
    socket.send(&datagram(RAW, 1, 0, 2, 2_000, "", &payload[..1_000])).await?;

    let stats_now = stats_until(&stats, |s| s.fragments_expired == 1).await;
    assert_eq!((stats_now.received, stats_now.messages, stats_now.delivered), (1, 0, 0));

    // The late fragment alone is a new incomplete message, which expires too.
    socket.send(&datagram(RAW, 1, 1, 2, 2_000, "", &payload[1_000..])).await?;
    socket.send(&single(2, "", b"after")).await?;
    assert_eq!(next(&mut recorded).await.body::<Vec<u8>>()?, b"after");
    let stats_now = stats_until(&stats, |s| s.fragments_expired == 2).await;
    assert_eq!((stats_now.received, stats_now.messages, stats_now.delivered), (3, 1, 1));

    app.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_memory_bound_the_oldest_incomplete_message_is_evicted() -> anyhow::Result<()> {
    let config = config();
    let (probe, mut recorded) = Probe::new();
    let listener =
        MulticastListener::builder(config.clone(), "probe").max_message(4_000).reassembly_limit(5_000).build()?;
    let stats = listener.stats();
    let app = Application::builder().actor("probe", probe).actor("listener", listener).start().await?;

    let socket = raw_sender(&config);
    let (first, second) = (pattern(4_000, 1), pattern(4_000, 2));
    // Half of each: 2 × 2,000 bytes held, then the second's rest needs more
    // than the bound allows with the first still held.
    socket.send(&datagram(RAW, 1, 0, 2, 4_000, "", &first[..2_000])).await?;
    socket.send(&datagram(RAW, 2, 0, 2, 4_000, "", &second[..2_000])).await?;
    socket.send(&datagram(RAW, 2, 1, 2, 4_000, "", &second[2_000..])).await?;
    // The first's rest now starts a new incomplete message, never completed.
    socket.send(&datagram(RAW, 1, 1, 2, 4_000, "", &first[2_000..])).await?;

    assert_eq!(next(&mut recorded).await.body::<Vec<u8>>()?, second);
    let stats = stats_until(&stats, |s| s.received == 4).await;
    assert_eq!((stats.reassembly_evicted, stats.delivered), (1, 1));
    app.shutdown().await;
    Ok(())
}
