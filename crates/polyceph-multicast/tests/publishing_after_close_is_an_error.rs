//! Proves that a closed broadcaster (and every clone of it) refuses to
//! publish with a typed error, as do a too-long topic and a too-large
//! message, and that refusals are counted.

mod support;

use polyceph::Envelope;
use polyceph_multicast::error::PublishError;
use polyceph_multicast::{MAX_TOPIC_LEN, MulticastBroadcaster};
use support::config;

#[tokio::test]
async fn a_closed_broadcaster_refuses_every_kind_of_publish() -> anyhow::Result<()> {
    let broadcaster = MulticastBroadcaster::builder(config()).topic("t").build()?;
    let clone = broadcaster.clone();
    broadcaster.publish(b"before").await?;
    broadcaster.close();
    assert!(clone.is_closed());

    assert!(matches!(clone.publish(b"after").await, Err(PublishError::Closed)));
    assert!(matches!(clone.publish_to("other", b"after").await, Err(PublishError::Closed)));
    let envelope = Envelope::new("a", "b", "c", ());
    assert!(matches!(clone.publish_envelope(&envelope).await, Err(PublishError::Closed)));
    assert!(matches!(clone.typed::<u32>().publish(&7).await, Err(PublishError::Closed)));

    let stats = broadcaster.stats();
    assert_eq!((stats.published, stats.datagrams, stats.failed), (1, 1, 4));
    Ok(())
}

#[tokio::test]
async fn long_topics_and_large_messages_are_refused() -> anyhow::Result<()> {
    let broadcaster = MulticastBroadcaster::builder(config()).max_message(1000).build()?;
    let long = "t".repeat(MAX_TOPIC_LEN + 1);
    match broadcaster.publish_to(&long, b"x").await {
        Err(PublishError::TopicTooLong { len }) => assert_eq!(len, MAX_TOPIC_LEN + 1),
        other => panic!("expected TopicTooLong, got {other:?}"),
    }
    match broadcaster.publish(&[0; 1001]).await {
        Err(PublishError::TooLarge { len: 1001, max: 1000 }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    broadcaster.publish(&[0; 1000]).await?;
    assert_eq!((broadcaster.stats().published, broadcaster.stats().failed), (1, 2));
    Ok(())
}
