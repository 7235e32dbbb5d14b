//! Helpers shared by the integration tests.
//!
//! Every group here is made by [`config`]: host-local (joined and sent on
//! 127.0.0.1, TTL 0), so nothing leaves this host, with a group address and
//! port of its own so that tests running in parallel never hear each other.
//! Tests wait on mail and on the listener's counters, never on sleeps; the
//! timeouts are upper bounds only.

#![allow(dead_code, unreachable_pub)]

use std::net::Ipv4Addr;
use std::time::Duration;

use polyceph::Envelope;
use polyceph::testing::Recorded;
use polyceph_multicast::{ListenerStats, MulticastConfig, StatsHandle};
use tokio::net::UdpSocket;

/// How long anything may take before the test fails: an upper bound, never
/// something waited for.
pub const WAIT: Duration = Duration::from_secs(10);

/// A host-local group no other test uses: a random group in 239.255.0.0/16
/// (the IPv4 local scope) on a port that was free a moment ago.
pub fn config() -> MulticastConfig {
    let random = uuid::Uuid::new_v4().as_u64_pair().0.to_be_bytes();
    let group = Ipv4Addr::new(239, 255, random[0], random[1].max(1));
    MulticastConfig::host_local(group, free_port()).expect("a valid host-local group")
}

/// A UDP port nobody was bound to a moment ago.
pub fn free_port() -> u16 {
    let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("an ephemeral port");
    socket.local_addr().expect("a bound socket has an address").port()
}

/// A raw socket that sends to the group of `config` with its settings
/// (host-local in these tests), for datagrams written by hand.
pub fn raw_sender(config: &MulticastConfig) -> UdpSocket {
    UdpSocket::from_std(config.bind_sender().expect("a sender socket")).expect("inside a runtime")
}

/// Waits until the counters satisfy `done`; fails the test with the counters
/// if they do not within [`WAIT`].
pub async fn stats_until(stats: &StatsHandle, done: impl FnMut(&ListenerStats) -> bool) -> ListenerStats {
    match tokio::time::timeout(WAIT, stats.wait_until(done)).await {
        Ok(stats) => stats,
        Err(_) => panic!("the listener's counters did not get there: {:?}", stats.get()),
    }
}

/// The next envelope a probe got; fails the test if none comes in time.
pub async fn next(recorded: &mut Recorded) -> Envelope {
    recorded.next(WAIT).await.expect("the probe got mail")
}

/// Kinds of payload, as the datagram format numbers them.
pub const ENVELOPE: u8 = 1;
pub const RAW: u8 = 2;

/// One datagram, written from the specification in `docs/multicast.md`
/// (not with the crate's own encoder): the 21-byte header, the topic, the
/// payload bytes.
pub fn datagram(kind: u8, id: u64, index: u16, count: u16, message_len: u32, topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"PM");
    out.push(1);
    out.push(kind);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&message_len.to_be_bytes());
    out.push(u8::try_from(topic.len()).expect("a short topic"));
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// A whole raw message in one datagram.
pub fn single(id: u64, topic: &str, payload: &[u8]) -> Vec<u8> {
    datagram(RAW, id, 0, 1, u32::try_from(payload.len()).expect("a small payload"), topic, payload)
}

/// Payload bytes that differ from position to position, so misplaced
/// fragments show.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}
