//! The server's running commands and their `command` timers, kept together.
//!
//! Every running command has exactly one timer, so the commands' map holds each one's
//! deadline, and a heap orders them. The heap is ordered by deadline, then by start
//! number: no two entries tie, so no cmd_id is ever compared (a general timer queue keyed
//! by cmd_id compared strings at every level of its tree and on every tie, which was a
//! quarter of a `CallStart`). An entry whose command has ended is stale: dropped when it
//! reaches the top, so the top is always live, and all at once when stale entries
//! outnumber live ones.

use std::borrow::Cow;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::id_map::IdMap;
use crate::Timestamp;
use std::sync::Arc;

/// The server's named timers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerTimer {
    /// This command must have ended.
    Command(Arc<str>),
}

impl ServerTimer {
    /// The timer's name, for logs and transcripts.
    pub fn name(&self) -> &'static str {
        "command"
    }
}

/// A running command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Command {
    method: Cow<'static, str>,
    /// When its `command` timer fires.
    deadline: Timestamp,
    /// Its start number: orders commands with the same deadline (by start), and tells a
    /// heap entry of an earlier command under the same cmd_id from the live one.
    seq: u64,
}

/// One `command` timer in the heap.
#[derive(Clone, Debug)]
struct Entry {
    at: Timestamp,
    seq: u64,
    timer: ServerTimer,
}

// Start numbers are unique, so `(at, seq)` orders entries totally; the timer is never
// looked at.
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Running commands by cmd_id, with their timers.
#[derive(Clone, Debug, Default)]
pub(super) struct Running {
    /// The key is the one copy of the cmd_id, shared with the heap and with events.
    /// Hashed: a lookup by id is one hash and a comparison.
    commands: IdMap<Arc<str>, Command>,
    deadlines: BinaryHeap<Reverse<Entry>>,
    /// The next start number.
    next_seq: u64,
}

impl Running {
    /// How many commands are running.
    pub(super) fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether `cmd_id` is running.
    pub(super) fn contains(&self, cmd_id: &str) -> bool {
        self.commands.contains_key(cmd_id)
    }

    /// The method of `cmd_id`, if it is running.
    pub(super) fn method(&self, cmd_id: &str) -> Option<&Cow<'static, str>> {
        self.commands.get(cmd_id).map(|c| &c.method)
    }

    /// The running commands and their methods, in cmd_id order.
    pub(super) fn sorted(&self) -> Vec<(&str, &str)> {
        let mut running: Vec<(&str, &str)> = self
            .commands
            .iter()
            .map(|(k, c)| (&**k, c.method.as_ref()))
            .collect();
        running.sort_unstable();
        running
    }

    /// Starts `cmd_id` (which must not be running), its timer firing at `deadline`.
    pub(super) fn start(&mut self, cmd_id: Arc<str>, method: &'static str, deadline: Timestamp) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        self.deadlines.push(Reverse(Entry {
            at: deadline,
            seq,
            timer: ServerTimer::Command(cmd_id.clone()),
        }));
        let command = Command {
            method: Cow::Borrowed(method),
            deadline,
            seq,
        };
        self.commands.insert(cmd_id, command);
        self.settle();
    }

    /// Ends `cmd_id`: its method, if it was running. Its timer is disarmed.
    pub(super) fn finish(&mut self, cmd_id: &str) -> Option<Cow<'static, str>> {
        let command = self.commands.remove(cmd_id)?;
        self.settle();
        Some(command.method)
    }

    /// Ends every command: their cmd_ids, in order.
    pub(super) fn take_all(&mut self) -> Vec<Arc<str>> {
        self.deadlines.clear();
        let mut all: Vec<Arc<str>> = std::mem::take(&mut self.commands).into_keys().collect();
        all.sort_unstable();
        all
    }

    /// The earliest timer and its deadline.
    pub(super) fn next_timer(&self) -> Option<(Timestamp, &ServerTimer)> {
        self.deadlines.peek().map(|Reverse(e)| (e.at, &e.timer))
    }

    /// Ends the command whose timer is earliest, if due at or before `now`: its cmd_id and
    /// method.
    pub(super) fn pop_due(&mut self, now: Timestamp) -> Option<(Arc<str>, Cow<'static, str>)> {
        if self.deadlines.peek()?.0.at > now {
            return None;
        }
        let Reverse(Entry {
            timer: ServerTimer::Command(cmd_id),
            ..
        }) = self.deadlines.pop()?;
        let command = self.commands.remove(&cmd_id);
        self.settle();
        // The top was live, so its command is there.
        command.map(|c| (cmd_id, c.method))
    }

    fn live(&self, e: &Entry) -> bool {
        let ServerTimer::Command(cmd_id) = &e.timer;
        self.commands.get(cmd_id).is_some_and(|c| c.seq == e.seq)
    }

    /// Keeps the heap's top live, and the heap within twice the live count (plus a
    /// little): rebuilding then costs `O(1)` per operation over time.
    fn settle(&mut self) {
        if self.deadlines.len() > 2 * self.commands.len() + 32 {
            self.rebuild();
            return;
        }
        while let Some(Reverse(top)) = self.deadlines.peek() {
            if self.live(top) {
                return;
            }
            self.deadlines.pop();
        }
    }

    /// The heap again from the live commands, in the same buffer (a long-lived connection
    /// does not allocate for it again).
    fn rebuild(&mut self) {
        let mut entries = std::mem::take(&mut self.deadlines).into_vec();
        entries.clear();
        entries.extend(self.commands.iter().map(|(cmd_id, c)| {
            Reverse(Entry {
                at: c.deadline,
                seq: c.seq,
                timer: ServerTimer::Command(cmd_id.clone()),
            })
        }));
        self.deadlines = BinaryHeap::from(entries);
    }
}

/// Two are equal when the same commands run with the same timers.
impl PartialEq for Running {
    fn eq(&self, other: &Self) -> bool {
        self.commands == other.commands && self.next_seq == other.next_seq
    }
}

/// A checkpoint holds the commands (in cmd_id order, each with its method, deadline and
/// start number) and the next start number; the heap is rebuilt on restore.
#[derive(Serialize, Deserialize)]
struct Checkpoint<M> {
    commands: M,
    next_seq: u64,
}

impl Serialize for Running {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Checkpoint {
            commands: crate::id_map::Sorted(&self.commands),
            next_seq: self.next_seq,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Running {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let c = Checkpoint::<IdMap<Arc<str>, Command>>::deserialize(d)?;
        if c.next_seq > u64::MAX / 2 {
            // No machine starts 2^63 commands: a checkpoint that says so was not written by
            // one, and start numbers must stay unique.
            return Err(serde::de::Error::custom("next_seq out of range"));
        }
        if c.commands.values().any(|cmd| cmd.seq >= c.next_seq) {
            return Err(serde::de::Error::custom(
                "a running command's start number is not below next_seq",
            ));
        }
        let mut running = Running {
            commands: c.commands,
            deadlines: BinaryHeap::new(),
            next_seq: c.next_seq,
        };
        running.rebuild();
        Ok(running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn timers_fire_by_deadline_then_start_and_not_after_finish() {
        let mut r = Running::default();
        r.start("b".into(), "CallEnd", t(20));
        r.start("a".into(), "CallEnd", t(20));
        r.start("c".into(), "CallHold", t(10));
        r.start("d".into(), "CallEnd", t(15));
        assert_eq!(r.finish("d").as_deref(), Some("CallEnd"));
        assert_eq!(
            r.next_timer(),
            Some((t(10), &ServerTimer::Command("c".into())))
        );
        assert_eq!(r.pop_due(t(9)), None);
        let fired: Vec<(Arc<str>, Cow<'static, str>)> =
            std::iter::from_fn(|| r.pop_due(t(20))).collect();
        assert_eq!(
            fired,
            [
                ("c".into(), "CallHold".into()),
                ("b".into(), "CallEnd".into()),
                ("a".into(), "CallEnd".into()),
            ]
        );
        assert_eq!(r.next_timer(), None);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn a_restarted_cmd_id_keeps_only_its_new_timer() {
        let mut r = Running::default();
        r.start("a".into(), "CallEnd", t(10));
        r.finish("a");
        r.start("a".into(), "CallHold", t(30));
        assert_eq!(
            r.next_timer(),
            Some((t(30), &ServerTimer::Command("a".into())))
        );
        assert_eq!(r.pop_due(t(10)), None);
        assert_eq!(r.pop_due(t(30)), Some(("a".into(), "CallHold".into())));
    }

    #[test]
    fn a_checkpoint_with_an_exhausted_start_number_is_refused() {
        let mut r = Running::default();
        r.start("a".into(), "CallEnd", t(10));
        let json = serde_json::to_string(&r).unwrap();
        assert!(serde_json::from_str::<Running>(&json).is_ok());
        let forged = json.replace("\"next_seq\":1", &format!("\"next_seq\":{}", u64::MAX));
        assert_ne!(forged, json);
        let e = serde_json::from_str::<Running>(&forged).unwrap_err();
        assert!(e.to_string().contains("next_seq out of range"), "{e}");
    }

    #[derive(Clone, Debug)]
    enum Op {
        Start(u8, u16),
        Finish(u8),
        Fire(u16),
        Restore,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..12, 0u16..100).prop_map(|(k, d)| Op::Start(k, d)),
            (0u8..12).prop_map(Op::Finish),
            (0u16..120).prop_map(Op::Fire),
            Just(Op::Restore),
        ]
    }

    proptest! {
        /// Against a plain list scanned for the earliest (deadline, start): the same timers
        /// fire in the same order, through checkpoints and restores, and the heap stays
        /// bounded.
        #[test]
        fn behaves_as_a_scanned_list(ops in proptest::collection::vec(op(), 0..200)) {
            let mut r = Running::default();
            // (cmd_id, method, deadline, start)
            let mut model: Vec<(String, &'static str, u64, u64)> = Vec::new();
            let mut started = 0u64;
            let mut now = 0u64;
            for op in ops {
                match op {
                    Op::Start(k, d) => {
                        let id = format!("c{k}");
                        if model.iter().any(|m| m.0 == id) {
                            continue;
                        }
                        let method = if d % 2 == 0 { "CallEnd" } else { "CallHold" };
                        r.start(id.as_str().into(), method, t(now + u64::from(d)));
                        model.push((id, method, now + u64::from(d), started));
                        started += 1;
                    }
                    Op::Finish(k) => {
                        let id = format!("c{k}");
                        let expected = model.iter().position(|m| m.0 == id).map(|i| model.remove(i).1);
                        let finished = r.finish(&id);
                        prop_assert_eq!(finished.as_deref(), expected);
                    }
                    Op::Fire(by) => {
                        now += u64::from(by);
                        loop {
                            let earliest = model
                                .iter()
                                .enumerate()
                                .filter(|(_, m)| m.2 <= now)
                                .min_by_key(|(_, m)| (m.2, m.3))
                                .map(|(i, _)| i);
                            let expected = earliest.map(|i| model.remove(i));
                            let got = r.pop_due(t(now));
                            prop_assert_eq!(
                                got.map(|(id, m)| (id.to_string(), m.into_owned())),
                                expected.map(|m| (m.0, m.1.to_owned()))
                            );
                            if earliest.is_none() {
                                break;
                            }
                        }
                    }
                    Op::Restore => {
                        let json = serde_json::to_string(&r).unwrap();
                        let restored: Running = serde_json::from_str(&json).unwrap();
                        prop_assert_eq!(&restored, &r);
                        r = restored;
                    }
                }
                let next = model.iter().min_by_key(|m| (m.2, m.3));
                prop_assert_eq!(
                    r.next_timer().map(|(at, ServerTimer::Command(id))| (at, id.to_string())),
                    next.map(|m| (t(m.2), m.0.clone()))
                );
                prop_assert_eq!(r.len(), model.len());
                prop_assert!(r.deadlines.len() <= 2 * model.len() + 32);
            }
        }
    }
}
