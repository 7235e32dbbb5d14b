//! Reassembly of fragmented messages.
//!
//! Fragments are keyed by the sender's socket address and the message id,
//! so two messages in flight from one sender (or the same id from two
//! senders) never mix. Fragments may come in any order. A message still
//! incomplete after the timeout expires; when the fragments held exceed the
//! memory limit, the oldest incomplete messages are evicted. Both are counted.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use crate::datagram::{Header, Kind};
use crate::stats::{Counters, Stat};

type Key = (SocketAddr, u64);

/// What each expected fragment costs before it arrives (its slot).
const SLOT: usize = std::mem::size_of::<Option<Vec<u8>>>();

/// A reassembled message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Assembled {
    pub(crate) kind: Kind,
    pub(crate) topic: Option<String>,
    pub(crate) payload: Vec<u8>,
}

/// The incomplete messages of one listener.
#[derive(Debug)]
pub(crate) struct Reassembly {
    partials: HashMap<Key, Partial>,
    /// The incomplete messages, oldest first, by serial number.
    order: BTreeMap<u64, Key>,
    next_serial: u64,
    /// Bytes held: fragments and slots.
    held: usize,
    limit: usize,
    timeout: Duration,
}

#[derive(Debug)]
struct Partial {
    serial: u64,
    started: Instant,
    kind: Kind,
    topic: Option<String>,
    message_len: u32,
    fragments: Vec<Option<Vec<u8>>>,
    missing: usize,
    held: usize,
}

impl Partial {
    fn matches(&self, header: &Header<'_>) -> bool {
        self.kind == header.kind
            && self.message_len == header.message_len
            && self.fragments.len() == usize::from(header.count)
            && self.topic.as_deref() == header.topic
    }
}

impl Reassembly {
    pub(crate) fn new(limit: usize, timeout: Duration) -> Self {
        Self { partials: HashMap::new(), order: BTreeMap::new(), next_serial: 0, held: 0, limit, timeout }
    }

    /// Takes one fragment of a message of several; returns the message once
    /// its last fragment is in. Counts what it drops in `counters`.
    pub(crate) fn insert(
        &mut self,
        header: &Header<'_>,
        payload: &[u8],
        source: SocketAddr,
        now: Instant,
        counters: &Counters,
    ) -> Option<Assembled> {
        let key = (source, header.message_id);
        let index = usize::from(header.index);
        let needed = match self.partials.get(&key) {
            Some(partial) if !partial.matches(header) => {
                counters.bump(Stat::Malformed);
                tracing::warn!(%source, id = header.message_id, "fragment disagrees with its message's other fragments");
                return None;
            }
            Some(partial) if partial.fragments[index].is_some() => {
                counters.bump(Stat::DuplicateFragments);
                tracing::debug!(%source, id = header.message_id, index, "duplicate fragment dropped");
                return None;
            }
            Some(_) => payload.len(),
            None => payload.len() + usize::from(header.count) * SLOT,
        };
        if !self.make_room(needed, key, counters) {
            // Alone over the limit: this message cannot be held.
            self.evict(key, counters);
            return None;
        }
        let partial = self.partials.entry(key).or_insert_with(|| {
            let serial = self.next_serial;
            self.next_serial += 1;
            self.order.insert(serial, key);
            Partial {
                serial,
                started: now,
                kind: header.kind,
                topic: header.topic.map(str::to_owned),
                message_len: header.message_len,
                fragments: vec![None; usize::from(header.count)],
                missing: usize::from(header.count),
                held: 0,
            }
        });
        partial.fragments[index] = Some(payload.to_vec());
        partial.missing -= 1;
        partial.held += needed;
        self.held += needed;
        if partial.missing > 0 {
            return None;
        }
        let partial = self.remove(key)?;
        let payload: Vec<u8> = partial.fragments.into_iter().flatten().flatten().collect();
        if payload.len() != partial.message_len as usize {
            counters.bump(Stat::Malformed);
            tracing::warn!(%source, id = header.message_id, "fragments do not add up to their message's length");
            return None;
        }
        Some(Assembled { kind: partial.kind, topic: partial.topic, payload })
    }

    /// Expires the incomplete messages older than the timeout.
    pub(crate) fn expire(&mut self, now: Instant, counters: &Counters) {
        while let Some((_, &key)) = self.order.first_key_value() {
            let Some(partial) = self.partials.get(&key) else { break };
            if partial.started + self.timeout > now {
                break;
            }
            let missing = partial.missing;
            self.remove(key);
            counters.bump(Stat::FragmentsExpired);
            tracing::warn!(source = %key.0, id = key.1, missing, timeout = ?self.timeout, "incomplete message expired");
        }
    }

    /// When the oldest incomplete message expires.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        let (_, key) = self.order.first_key_value()?;
        Some(self.partials.get(key)?.started + self.timeout)
    }

    /// Evicts the oldest incomplete messages other than `keep` until `needed`
    /// more bytes fit; `false` if they do not fit even then.
    fn make_room(&mut self, needed: usize, keep: Key, counters: &Counters) -> bool {
        while self.held + needed > self.limit {
            let oldest = self.order.values().copied().find(|&key| key != keep);
            match oldest {
                Some(key) => self.evict(key, counters),
                None => return false,
            }
        }
        true
    }

    fn evict(&mut self, key: Key, counters: &Counters) {
        let held = self.remove(key).map_or(0, |p| p.held);
        counters.bump(Stat::ReassemblyEvicted);
        tracing::warn!(source = %key.0, id = key.1, held, limit = self.limit, "incomplete message evicted: reassembly memory full");
    }

    fn remove(&mut self, key: Key) -> Option<Partial> {
        let partial = self.partials.remove(&key)?;
        self.order.remove(&partial.serial);
        self.held -= partial.held;
        Some(partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "127.0.0.1:4000";

    fn header(id: u64, index: u16, count: u16, message_len: u32) -> Header<'static> {
        Header { kind: Kind::Raw, message_id: id, index, count, message_len, topic: Some("t") }
    }

    fn feed(r: &mut Reassembly, c: &Counters, id: u64, index: u16, chunk: &[u8]) -> Option<Vec<u8>> {
        let h = header(id, index, 3, 9);
        r.insert(&h, chunk, SOURCE.parse().unwrap(), Instant::now(), c).map(|m| m.payload)
    }

    #[test]
    fn fragments_in_any_order_and_interleaved_messages_reassemble() {
        let (mut r, c) = (Reassembly::new(1 << 20, Duration::from_secs(5)), Counters::default());
        assert_eq!(feed(&mut r, &c, 1, 2, b"ghi"), None);
        assert_eq!(feed(&mut r, &c, 2, 1, b"DEF"), None);
        assert_eq!(feed(&mut r, &c, 1, 0, b"abc"), None);
        assert_eq!(feed(&mut r, &c, 2, 0, b"ABC"), None);
        assert_eq!(feed(&mut r, &c, 2, 0, b"ABC"), None, "a duplicate");
        assert_eq!(feed(&mut r, &c, 1, 1, b"def").as_deref(), Some(&b"abcdefghi"[..]));
        assert_eq!(feed(&mut r, &c, 2, 2, b"GHI").as_deref(), Some(&b"ABCDEFGHI"[..]));
        assert_eq!(c.get(Stat::DuplicateFragments), 1);
        assert_eq!((r.partials.len(), r.order.len(), r.held), (0, 0, 0));
    }

    #[test]
    fn over_the_limit_the_oldest_incomplete_message_is_evicted() {
        let per_message = 3 + 3 * SLOT;
        let (mut r, c) = (Reassembly::new(2 * per_message, Duration::from_secs(5)), Counters::default());
        feed(&mut r, &c, 1, 0, b"abc");
        feed(&mut r, &c, 2, 0, b"abc");
        feed(&mut r, &c, 3, 0, b"abc");
        assert_eq!(c.get(Stat::ReassemblyEvicted), 1);
        assert!(!r.partials.contains_key(&(SOURCE.parse().unwrap(), 1)), "the oldest went");
        assert!(r.held <= r.limit);
    }

    #[tokio::test(start_paused = true)]
    async fn incomplete_messages_expire_after_the_timeout() {
        let (mut r, c) = (Reassembly::new(1 << 20, Duration::from_secs(5)), Counters::default());
        feed(&mut r, &c, 1, 0, b"abc");
        let expiry = r.next_expiry().unwrap();
        tokio::time::advance(Duration::from_secs(4)).await;
        r.expire(Instant::now(), &c);
        assert_eq!(c.get(Stat::FragmentsExpired), 0);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(Instant::now(), expiry);
        r.expire(Instant::now(), &c);
        assert_eq!(c.get(Stat::FragmentsExpired), 1);
        assert_eq!((r.partials.len(), r.held, r.next_expiry()), (0, 0, None));
    }

    #[test]
    fn a_fragment_that_disagrees_is_malformed() {
        let (mut r, c) = (Reassembly::new(1 << 20, Duration::from_secs(5)), Counters::default());
        feed(&mut r, &c, 1, 0, b"abc");
        let other = header(1, 1, 4, 12);
        assert_eq!(r.insert(&other, b"def", SOURCE.parse().unwrap(), Instant::now(), &c), None);
        assert_eq!(c.get(Stat::Malformed), 1);
        assert_eq!(feed(&mut r, &c, 1, 1, b"de"), None);
        assert_eq!(feed(&mut r, &c, 1, 2, b"ghi"), None, "8 bytes of 9: dropped");
        assert_eq!(c.get(Stat::Malformed), 2);
    }
}
