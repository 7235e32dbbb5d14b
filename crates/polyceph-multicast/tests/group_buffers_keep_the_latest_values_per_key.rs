//! Proves the group buffers' contract: a ring per key made on first write,
//! the oldest value evicted (and counted) when full, snapshots oldest first
//! that do not consume, whole-group snapshots, an unknown group as a typed
//! error and an unknown key as an empty snapshot.

use std::collections::BTreeMap;

use polyceph_multicast::GroupBuffers;
use polyceph_multicast::error::BufferError;

#[test]
fn a_full_ring_evicts_its_oldest_value() -> Result<(), BufferError> {
    let buffers = GroupBuffers::new(["health", "telemetry"], 3)?;
    let mut evicted = Vec::new();
    for value in 1..=5 {
        evicted.push(buffers.push("health", "node-1", value)?);
    }
    assert_eq!(evicted, [None, None, None, Some(1), Some(2)]);
    assert_eq!(buffers.snapshot("health", "node-1")?, [3, 4, 5], "oldest first");
    assert_eq!(buffers.latest("health", "node-1")?, Some(5));
    let stats = buffers.stats();
    assert_eq!((stats.written, stats.evicted), (5, 2));
    Ok(())
}

#[test]
fn snapshots_do_not_consume_and_keys_are_independent() -> Result<(), BufferError> {
    let buffers = GroupBuffers::new(["health", "telemetry"], 10)?;
    buffers.push("health", "node-1", "a")?;
    buffers.push("health", "node-2", "b")?;
    buffers.push("telemetry", "node-1", "c")?;
    for _ in 0..2 {
        assert_eq!(buffers.snapshot("health", "node-1")?, ["a"]);
    }
    assert_eq!(buffers.snapshot("telemetry", "node-1")?, ["c"], "groups are independent");
    assert_eq!(buffers.keys("health")?, ["node-1", "node-2"]);
    let whole: BTreeMap<String, Vec<&str>> =
        [("node-1".into(), vec!["a"]), ("node-2".into(), vec!["b"])].into_iter().collect();
    assert_eq!(buffers.group_snapshot("health")?, whole);
    assert_eq!(buffers.remove("health", "node-2")?, ["b"]);
    assert_eq!(buffers.keys("health")?, ["node-1"]);
    Ok(())
}

#[test]
fn an_unknown_group_is_an_error_and_an_unknown_key_is_empty() -> Result<(), BufferError> {
    let buffers = GroupBuffers::new(["health"], 10)?;
    let unknown = Err(BufferError::UnknownGroup("power".into()));
    assert_eq!(buffers.push("power", "node-1", 1), unknown.clone().map(|()| None));
    assert_eq!(buffers.snapshot("power", "node-1"), unknown.clone().map(|()| vec![]));
    assert_eq!(buffers.group_snapshot("power"), unknown.clone().map(|()| BTreeMap::new()));
    assert_eq!(buffers.latest("power", "node-1"), unknown.clone().map(|()| None));
    assert_eq!(buffers.keys("power"), unknown.map(|()| vec![]));
    assert_eq!(buffers.snapshot("health", "never-written")?, Vec::<i32>::new());
    assert_eq!(buffers.latest("health", "never-written")?, None);
    assert_eq!(buffers.stats().written, 0, "a refused write is not written");
    Ok(())
}

#[test]
fn construction_refuses_a_zero_length_and_a_group_named_twice() {
    assert_eq!(GroupBuffers::<u8>::new(["a"], 0).err(), Some(BufferError::ZeroLength));
    assert_eq!(GroupBuffers::<u8>::new(["a", "b", "a"], 1).err(), Some(BufferError::DuplicateGroup("a".into())));
}
