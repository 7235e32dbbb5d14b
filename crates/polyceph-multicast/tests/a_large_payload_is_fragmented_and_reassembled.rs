//! Proves fragmentation: a 200 KB payload crosses as several datagrams and
//! arrives whole; fragments out of order and two large messages in flight
//! from one sender at once reassemble without mixing; the same message id
//! from two senders stays two messages.

mod support;

use polyceph::prelude::*;
use polyceph::testing::Probe;
use polyceph_multicast::{MulticastBroadcaster, MulticastListener, header};
use support::{RAW, config, datagram, next, pattern, raw_sender, stats_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_kb_payload_arrives_whole() -> anyhow::Result<()> {
    let config = config();
    let (probe, mut recorded) = Probe::new();
    let listener = MulticastListener::builder(config.clone(), "probe").build()?;
    let stats = listener.stats();
    let app = Application::builder().actor("probe", probe).actor("listener", listener).start().await?;

    let broadcaster = MulticastBroadcaster::builder(config).topic("bulk").build()?;
    let payload = pattern(200_000, 7);
    broadcaster.publish(&payload).await?;
    let envelope = Envelope::new("node", "x", "bulk", pattern(150_000, 9));
    broadcaster.publish_envelope(&envelope).await?;

    let got = next(&mut recorded).await;
    assert_eq!(got.body::<Vec<u8>>()?, payload);
    assert_eq!(header::topic(&got), Some("bulk"));
    let got = next(&mut recorded).await;
    assert_eq!((got.id(), got.body::<Vec<u8>>()?), (envelope.id(), pattern(150_000, 9)));

    // 200,000 bytes at 60,000 per datagram: 4; the envelope is larger than 150,000 bytes: 3 or more.
    let sent = broadcaster.stats().datagrams;
    assert!(sent >= 7, "{sent} datagrams");
    let stats = stats_until(&stats, |s| s.delivered == 2).await;
    assert_eq!((stats.received, stats.messages), (sent, 2));
    app.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_and_reordered_fragments_never_mix() -> anyhow::Result<()> {
    let config = config();
    let (probe, mut recorded) = Probe::new();
    let listener = MulticastListener::builder(config.clone(), "probe").build()?;
    let stats = listener.stats();
    let app = Application::builder().actor("probe", probe).actor("listener", listener).start().await?;

    // Two messages of three 1,000-byte fragments from one socket, and a
    // third from another socket with the first one's id.
    let (first, second, third) = (pattern(3_000, 1), pattern(3_000, 2), pattern(3_000, 3));
    let fragment = |id: u64, payload: &[u8], index: u16| {
        let chunk = &payload[usize::from(index) * 1_000..][..1_000];
        datagram(RAW, id, index, 3, 3_000, "bulk", chunk)
    };
    let (one, other) = (raw_sender(&config), raw_sender(&config));
    for (socket, id, payload, index) in [
        (&one, 10, &first, 2),
        (&one, 11, &second, 1),
        (&other, 10, &third, 0),
        (&one, 10, &first, 0),
        (&one, 11, &second, 2),
        (&other, 10, &third, 2),
        (&one, 11, &second, 0),
        (&one, 10, &first, 1),
        (&other, 10, &third, 1),
    ] {
        socket.send(&fragment(id, payload, index)).await?;
    }

    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next(&mut recorded).await.body::<Vec<u8>>()?);
    }
    assert_eq!(got, [second, first, third], "in the order they completed");
    let stats = stats_until(&stats, |s| s.delivered == 3).await;
    assert_eq!((stats.received, stats.malformed, stats.duplicate_fragments), (9, 0, 0));
    app.shutdown().await;
    Ok(())
}
