//! Named timers inside, one deadline outside.
//!
//! Every machine keeps its timers in one [`TimerQueue`], keyed by a small enum that names
//! each timer (and the transaction, connection or call it belongs to). The outside sees only
//! the earliest deadline; it can ask which timer that is for logs and transcripts.
//!
//! The queue fires in `(deadline, key)` order, so timers that fall due together fire in a
//! deterministic order. Deadlines live in a map by key (the truth) and in a binary heap by
//! time (the index). Cancelling or re-arming only changes the map: the heap entry it
//! leaves behind is stale and is dropped when it reaches the top, or when stale entries
//! outnumber live ones and the heap is rebuilt. The top of the heap is always live, so
//! finding the next deadline is `O(1)`; setting and cancelling cost `O(log n)` with no
//! second ordered search, however many timers are armed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Timestamp;

/// A set of armed timers, each named by a key, at most one deadline per key.
#[derive(Clone)]
pub struct TimerQueue<K: Ord + Clone> {
    by_key: BTreeMap<K, Timestamp>,
    /// Every live `(deadline, key)`, and stale ones left by cancel and re-arm.
    by_time: BinaryHeap<Reverse<(Timestamp, K)>>,
}

impl<K: Ord + Clone> Default for TimerQueue<K> {
    fn default() -> Self {
        TimerQueue {
            by_key: BTreeMap::new(),
            by_time: BinaryHeap::new(),
        }
    }
}

/// Two queues are equal when the same timers are armed at the same deadlines.
impl<K: Ord + Clone> PartialEq for TimerQueue<K> {
    fn eq(&self, other: &Self) -> bool {
        self.by_key == other.by_key
    }
}

impl<K: Ord + Clone> Eq for TimerQueue<K> {}

impl<K: Ord + Clone + fmt::Debug> fmt::Debug for TimerQueue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.by_key.iter()).finish()
    }
}

impl<K: Ord + Clone> TimerQueue<K> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms `key` to fire at `at`, replacing any deadline it had. A deadline at the end of
    /// the clock ([`Timestamp::MAX`], where a huge duration saturates) is never reached: the
    /// key is disarmed instead, so no timer fires at the end of time again and again.
    pub fn set(&mut self, key: K, at: Timestamp) {
        if at == Timestamp::MAX {
            self.cancel(&key);
            return;
        }
        match self.by_key.insert(key.clone(), at) {
            // Already armed for then: its heap entry stands.
            Some(old) if old == at => return,
            Some(_) => self.stale_entry_left(),
            None => {}
        }
        self.by_time.push(Reverse((at, key)));
        self.prune();
    }

    /// Disarms `key`; returns the deadline it had.
    pub fn cancel(&mut self, key: &K) -> Option<Timestamp> {
        let at = self.by_key.remove(key)?;
        self.stale_entry_left();
        self.prune();
        Some(at)
    }

    /// The deadline of `key`, if armed.
    pub fn get(&self, key: &K) -> Option<Timestamp> {
        self.by_key.get(key).copied()
    }

    /// The earliest deadline and its timer.
    pub fn next(&self) -> Option<(Timestamp, &K)> {
        self.by_time.peek().map(|Reverse((at, k))| (*at, k))
    }

    /// Removes and returns the earliest timer whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, K)> {
        if self.by_time.peek()?.0 .0 > now {
            return None;
        }
        let Reverse((at, key)) = self.by_time.pop()?;
        self.by_key.remove(&key);
        self.prune();
        Some((at, key))
    }

    /// Every armed timer and its deadline, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Timestamp)> {
        self.by_key.iter()
    }

    /// How many timers are armed.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no timer is armed.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Disarms every timer for which `f` returns false.
    #[cfg(test)]
    pub fn retain(&mut self, mut f: impl FnMut(&K) -> bool) {
        self.by_key.retain(|k, _| f(k));
        self.rebuild();
    }

    /// A deadline was dropped from the map; its heap entry is now stale. When stale
    /// entries outnumber live ones the heap is rebuilt, so it stays within twice the live
    /// count (plus a little) and rebuilding costs `O(1)` per operation over time.
    fn stale_entry_left(&mut self) {
        if self.by_time.len() > 2 * self.by_key.len() + 32 {
            self.rebuild();
        }
    }

    fn rebuild(&mut self) {
        self.by_time = self
            .by_key
            .iter()
            .map(|(k, at)| Reverse((*at, k.clone())))
            .collect();
    }

    /// Drops stale entries from the top, so the top is always a live timer.
    fn prune(&mut self) {
        while let Some(Reverse((at, key))) = self.by_time.peek() {
            if self.by_key.get(key) == Some(at) {
                return;
            }
            self.by_time.pop();
        }
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
    fn a_deadline_at_the_end_of_the_clock_is_never_armed() {
        let mut q = TimerQueue::new();
        q.set(1u8, t(10));
        q.set(1u8, Timestamp::MAX);
        q.set(2u8, Timestamp::MAX);
        assert_eq!(q.next(), None);
        assert_eq!(q.len(), 0);
        assert_eq!(q.pop_due(Timestamp::MAX), None);
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

    #[derive(Clone, Debug)]
    enum Op {
        Set(u8, u16),
        Cancel(u8),
        PopDue(u16),
        Retain(u8),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (0u8..12, 0u16..50).prop_map(|(k, t)| Op::Set(k, t)),
            2 => (0u8..12).prop_map(Op::Cancel),
            2 => (0u16..60).prop_map(Op::PopDue),
            1 => (1u8..5).prop_map(Op::Retain),
        ]
    }

    proptest::proptest! {
        /// The queue behaves as a plain map scanned for its least `(deadline, key)`, and
        /// its heap never holds more than twice the armed timers (plus the slack).
        #[test]
        fn matches_a_scanned_map(ops in proptest::collection::vec(op(), 0..300)) {
            let mut q = TimerQueue::new();
            let mut model: BTreeMap<u8, Timestamp> = BTreeMap::new();
            let least = |m: &BTreeMap<u8, Timestamp>| {
                m.iter().map(|(k, at)| (*at, *k)).min()
            };
            for op in ops {
                match op {
                    Op::Set(k, at) => {
                        q.set(k, t(at.into()));
                        model.insert(k, t(at.into()));
                    }
                    Op::Cancel(k) => {
                        proptest::prop_assert_eq!(q.cancel(&k), model.remove(&k));
                    }
                    Op::PopDue(now) => {
                        let due = least(&model).filter(|(at, _)| *at <= t(now.into()));
                        if let Some((_, k)) = due {
                            model.remove(&k);
                        }
                        proptest::prop_assert_eq!(q.pop_due(t(now.into())), due);
                    }
                    Op::Retain(m) => {
                        q.retain(|k| k % m != 0);
                        model.retain(|k, _| k % m != 0);
                    }
                }
                proptest::prop_assert_eq!(q.next().map(|(a, k)| (a, *k)), least(&model));
                proptest::prop_assert_eq!(q.len(), model.len());
                proptest::prop_assert!(q.by_time.len() <= 2 * q.by_key.len() + 33);
            }
        }
    }
}
