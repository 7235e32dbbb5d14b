//! [`GroupBuffers`]: the latest N values per group and key, for many
//! writers and readers at once (the seeds' `ReceiveQueue`).

mod actor;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

pub use actor::{GroupBuffersActor, KeyFrom, SNAPSHOT, SNAPSHOT_GROUP};

use crate::error::BufferError;

/// Fixed-length rings of values, by group and key: health and telemetry
/// (the groups) per node (the keys), the latest ten of each.
///
/// * The groups are fixed at construction; a write or read naming another
///   group is a [`BufferError::UnknownGroup`].
/// * Inside a group, a key's ring is made by its first write. A full ring
///   drops its oldest value for the new one; drops are counted
///   ([`BufferStats::evicted`]).
/// * Reads are snapshots, oldest first: they copy and never consume. A key
///   never written reads as an empty snapshot.
///
/// Safe for any number of concurrent writers and readers: each ring has its
/// own lock, held only to push or to copy, and never together with another
/// lock, so nothing deadlocks; a lock poisoned by a panicking `T::clone` is
/// recovered (a ring is never left half-changed). Share it with an `Arc`.
///
/// # Examples
///
/// ```
/// use polyceph_multicast::GroupBuffers;
/// use polyceph_multicast::error::BufferError;
///
/// let buffers = GroupBuffers::new(["health", "telemetry"], 2)?;
/// buffers.push("health", "node-1", "booting")?;
/// buffers.push("health", "node-1", "ok")?;
/// assert_eq!(buffers.push("health", "node-1", "degraded")?, Some("booting"));
///
/// assert_eq!(buffers.snapshot("health", "node-1")?, ["ok", "degraded"]);
/// assert_eq!(buffers.snapshot("health", "node-9")?, Vec::<&str>::new());
/// assert_eq!(buffers.snapshot("power", "node-1"), Err(BufferError::UnknownGroup("power".into())));
/// assert_eq!(buffers.stats().evicted, 1);
/// # Ok::<(), BufferError>(())
/// ```
pub struct GroupBuffers<T> {
    /// Never changes after construction, so it needs no lock.
    groups: HashMap<String, Group<T>>,
    length: usize,
    written: AtomicU64,
    evicted: AtomicU64,
}

/// The rings of one group, made on first write.
struct Group<T> {
    rings: RwLock<HashMap<String, Arc<Mutex<VecDeque<T>>>>>,
}

/// A snapshot of a [`GroupBuffers`]' counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferStats {
    /// Values written.
    pub written: u64,
    /// Values dropped from a full ring to make room.
    pub evicted: u64,
}

impl<T> GroupBuffers<T> {
    /// Buffers for `groups`, each key's ring holding the latest `length` values.
    ///
    /// # Errors
    ///
    /// [`BufferError::ZeroLength`]; [`BufferError::DuplicateGroup`] if a
    /// group is named twice.
    pub fn new<S: Into<String>>(groups: impl IntoIterator<Item = S>, length: usize) -> Result<Self, BufferError> {
        if length == 0 {
            return Err(BufferError::ZeroLength);
        }
        let mut map = HashMap::new();
        for group in groups {
            let group = group.into();
            if map.contains_key(&group) {
                return Err(BufferError::DuplicateGroup(group));
            }
            map.insert(group, Group { rings: RwLock::default() });
        }
        Ok(Self { groups: map, length, written: AtomicU64::new(0), evicted: AtomicU64::new(0) })
    }

    /// Adds `value` to the ring of `key` in `group`, making the ring if
    /// needed; returns the value it evicted from a full ring.
    ///
    /// # Errors
    ///
    /// [`BufferError::UnknownGroup`].
    pub fn push(&self, group: &str, key: &str, value: T) -> Result<Option<T>, BufferError> {
        let group = self.group(group)?;
        let found = read(&group.rings).get(key).cloned();
        let ring = match found {
            Some(ring) => ring,
            None => write(&group.rings).entry(key.to_owned()).or_default().clone(),
        };
        let mut ring = lock(&ring);
        let evicted = if ring.len() >= self.length { ring.pop_front() } else { None };
        ring.push_back(value);
        drop(ring);
        self.written.fetch_add(1, Ordering::Relaxed);
        if evicted.is_some() {
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(evicted)
    }

    /// The keys of `group` that have a ring, sorted.
    ///
    /// # Errors
    ///
    /// [`BufferError::UnknownGroup`].
    pub fn keys(&self, group: &str) -> Result<Vec<String>, BufferError> {
        let mut keys: Vec<String> = read(&self.group(group)?.rings).keys().cloned().collect();
        keys.sort();
        Ok(keys)
    }

    /// Drops the ring of `key` in `group` (a node that left); returns its
    /// values, oldest first.
    ///
    /// # Errors
    ///
    /// [`BufferError::UnknownGroup`].
    pub fn remove(&self, group: &str, key: &str) -> Result<Vec<T>, BufferError> {
        let ring = write(&self.group(group)?.rings).remove(key);
        Ok(ring.map(|ring| lock(&ring).drain(..).collect()).unwrap_or_default())
    }

    /// The groups, in no particular order.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// How many values each ring holds.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The counters.
    pub fn stats(&self) -> BufferStats {
        BufferStats { written: self.written.load(Ordering::Relaxed), evicted: self.evicted.load(Ordering::Relaxed) }
    }

    fn group(&self, name: &str) -> Result<&Group<T>, BufferError> {
        self.groups.get(name).ok_or_else(|| BufferError::UnknownGroup(name.to_owned()))
    }

    fn ring(&self, group: &str, key: &str) -> Result<Option<Arc<Mutex<VecDeque<T>>>>, BufferError> {
        Ok(read(&self.group(group)?.rings).get(key).cloned())
    }
}

impl<T: Clone> GroupBuffers<T> {
    /// The values of `key` in `group`, oldest first; empty for a key never
    /// written. Does not consume.
    ///
    /// # Errors
    ///
    /// [`BufferError::UnknownGroup`].
    pub fn snapshot(&self, group: &str, key: &str) -> Result<Vec<T>, BufferError> {
        Ok(self.ring(group, key)?.map(|ring| lock(&ring).iter().cloned().collect()).unwrap_or_default())
    }

    /// The newest value of `key` in `group`.
    ///
    /// # Errors
    ///
    /// [`BufferError::UnknownGroup`].
    pub fn latest(&self, group: &str, key: &str) -> Result<Option<T>, BufferError> {
        Ok(self.ring(group, key)?.and_then(|ring| lock(&ring).back().cloned()))
    }

    /// Every key's values in `group`, oldest first. Each ring is copied at
    /// its own instant: a write during the call may show in one key and not
    /// in another.
    ///
    /// # Errors
    ///
    /// [`BufferError::UnknownGroup`].
    pub fn group_snapshot(&self, group: &str) -> Result<BTreeMap<String, Vec<T>>, BufferError> {
        let rings: Vec<_> =
            read(&self.group(group)?.rings).iter().map(|(key, ring)| (key.clone(), ring.clone())).collect();
        Ok(rings.into_iter().map(|(key, ring)| (key, lock(&ring).iter().cloned().collect())).collect())
    }
}

impl<T> fmt::Debug for GroupBuffers<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups: Vec<&str> = self.groups().collect();
        groups.sort_unstable();
        f.debug_struct("GroupBuffers")
            .field("groups", &groups)
            .field("length", &self.length)
            .field("stats", &self.stats())
            .finish()
    }
}

// The locks guard data that is never left half-changed: a panic while one
// is held (only `T::clone` can panic) leaves a consistent ring or map.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}
