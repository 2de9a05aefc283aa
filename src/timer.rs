//! Named timers inside, one deadline outside.
//!
//! Every machine keeps its timers in one [`TimerQueue`], keyed by a small enum that names
//! each timer (and the transaction, connection or call it belongs to). The outside sees only
//! the earliest deadline; it can ask which timer that is for logs and transcripts.
//!
//! The queue is ordered by `(deadline, key)`, so timers that fall due together fire in a
//! deterministic order, and setting, cancelling and finding the next one cost `O(log n)`
//! however many timers are armed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Timestamp;

/// A set of armed timers, each named by a key, at most one deadline per key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerQueue<K: Ord + Clone> {
    by_key: BTreeMap<K, Timestamp>,
    by_time: BTreeSet<(Timestamp, K)>,
}

impl<K: Ord + Clone> Default for TimerQueue<K> {
    fn default() -> Self {
        TimerQueue {
            by_key: BTreeMap::new(),
            by_time: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone> TimerQueue<K> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms `key` to fire at `at`, replacing any deadline it had.
    pub fn set(&mut self, key: K, at: Timestamp) {
        if let Some(old) = self.by_key.insert(key.clone(), at) {
            self.by_time.remove(&(old, key.clone()));
        }
        self.by_time.insert((at, key));
    }

    /// Disarms `key`; returns the deadline it had.
    pub fn cancel(&mut self, key: &K) -> Option<Timestamp> {
        let at = self.by_key.remove(key)?;
        self.by_time.remove(&(at, key.clone()));
        Some(at)
    }

    /// The deadline of `key`, if armed.
    pub fn get(&self, key: &K) -> Option<Timestamp> {
        self.by_key.get(key).copied()
    }

    /// The earliest deadline and its timer.
    pub fn next(&self) -> Option<(Timestamp, &K)> {
        self.by_time.first().map(|(at, k)| (*at, k))
    }

    /// Removes and returns the earliest timer whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, K)> {
        let (at, _) = self.by_time.first()?;
        if *at > now {
            return None;
        }
        let (at, key) = self.by_time.pop_first()?;
        self.by_key.remove(&key);
        Some((at, key))
    }

    /// How many timers are armed.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Disarms every timer for which `f` returns false.
    pub fn retain(&mut self, mut f: impl FnMut(&K) -> bool) {
        self.by_key.retain(|k, _| f(k));
        self.by_time.retain(|(_, k)| f(k));
    }
}

// A checkpoint holds the queue as a plain list of `[key, deadline]` pairs: JSON object keys
// must be strings, and the time index is rebuilt on restore.
impl<K: Ord + Clone + Serialize> Serialize for TimerQueue<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.by_key.iter())
    }
}

impl<'de, K: Ord + Clone + Deserialize<'de>> Deserialize<'de> for TimerQueue<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs: Vec<(K, Timestamp)> = Vec::deserialize(d)?;
        let mut q = TimerQueue::new();
        for (k, at) in pairs {
            q.set(k, at);
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn fires_in_deadline_then_key_order() {
        let mut q = TimerQueue::new();
        q.set("b", t(10));
        q.set("a", t(10));
        q.set("c", t(5));
        assert_eq!(q.next(), Some((t(5), &"c")));
        assert_eq!(q.pop_due(t(4)), None);
        assert_eq!(q.pop_due(t(10)), Some((t(5), "c")));
        assert_eq!(q.pop_due(t(10)), Some((t(10), "a")));
        assert_eq!(q.pop_due(t(10)), Some((t(10), "b")));
        assert!(q.is_empty());
    }

    #[test]
    fn rearming_replaces_the_deadline() {
        let mut q = TimerQueue::new();
        q.set(1u8, t(10));
        q.set(1u8, t(20));
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_due(t(15)), None);
        assert_eq!(q.cancel(&1), Some(t(20)));
        assert_eq!(q.next(), None);
    }

    #[test]
    fn checkpoint_round_trip() {
        let mut q = TimerQueue::new();
        q.set((1u32, 2u32), t(7));
        q.set((0, 9), t(3));
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(json, "[[[0,9],3],[[1,2],7]]");
        let back: TimerQueue<(u32, u32)> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, q);
    }
}
