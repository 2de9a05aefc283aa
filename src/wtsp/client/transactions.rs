//! The client's requests in flight.
//!
//! Transaction numbers are handed out in order, requests are sent in that order, and every
//! transaction has the same timeout: so the open transactions, kept in the order they were
//! sent, are also in number order and in deadline order. The oldest is the next to time
//! out, and a response (nearly always for one of the oldest) is found by a binary search
//! and usually removed from the front. No timer per transaction, no ordered map.

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::wtsp::values::Line;
use crate::Timestamp;

/// What the client remembers of a request it sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Pending {
    pub request: Cow<'static, str>,
    pub line: Option<Line>,
    pub call_id: Option<String>,
}

/// One open transaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Open {
    pub n: u64,
    pub deadline: Timestamp,
    pub pending: Pending,
}

/// The open transactions, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Transactions(VecDeque<Open>);

impl Transactions {
    /// How many are open.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Their numbers, oldest first.
    pub fn numbers(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().map(|o| o.n)
    }

    /// Opens transaction `n`, the newest. Its deadline is kept no earlier than the one
    /// before it, so the order holds even for a caller whose clock stepped back.
    pub fn open(&mut self, n: u64, deadline: Timestamp, pending: Pending) {
        let deadline = self.0.back().map_or(deadline, |b| b.deadline.max(deadline));
        self.0.push_back(Open {
            n,
            deadline,
            pending,
        });
    }

    /// Closes `n`; what it was.
    pub fn close(&mut self, n: u64) -> Option<Pending> {
        let i = self.find(n)?;
        self.0.remove(i).map(|o| o.pending)
    }

    /// The oldest: the next to time out, and when.
    pub fn next_deadline(&self) -> Option<(Timestamp, u64)> {
        self.0.front().map(|o| (o.deadline, o.n))
    }

    /// Closes all, oldest first.
    pub fn close_all(&mut self) -> VecDeque<Open> {
        std::mem::take(&mut self.0)
    }

    fn find(&self, n: u64) -> Option<usize> {
        let first = self.0.front()?.n;
        if first == n {
            // Answers come mostly in order.
            return Some(0);
        }
        // Numbers count up from the oldest (wrapping, like the counter that hands them
        // out), so the distance from it orders them.
        let i = self
            .0
            .partition_point(|o| o.n.wrapping_sub(first) < n.wrapping_sub(first));
        if self.0.get(i).is_some_and(|o| o.n == n) {
            return Some(i);
        }
        // Out of order only if numbers were handed out out of order: still found.
        self.0.iter().position(|o| o.n == n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str) -> Pending {
        Pending {
            request: name.to_owned().into(),
            line: None,
            call_id: None,
        }
    }

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn oldest_first_found_anywhere_and_across_the_wrap() {
        let mut q = Transactions::default();
        for (i, n) in [u64::MAX - 1, u64::MAX, 0, 1, 5].into_iter().enumerate() {
            q.open(n, t(i as u64), p(&format!("r{n}")));
        }
        assert_eq!(q.next_deadline(), Some((t(0), u64::MAX - 1)));
        assert_eq!(q.close(0).map(|p| p.request), Some("r0".into()));
        assert!(q.find(0).is_none() && q.find(5).is_some() && q.find(4).is_none());
        assert_eq!(
            q.close(u64::MAX - 1).map(|p| p.request),
            Some(format!("r{}", u64::MAX - 1).into())
        );
        assert_eq!(q.next_deadline(), Some((t(1), u64::MAX)));
        assert_eq!(q.numbers().collect::<Vec<_>>(), [u64::MAX, 1, 5]);
    }

    #[test]
    fn deadlines_stay_in_order_when_the_clock_steps_back() {
        let mut q = Transactions::default();
        q.open(1, t(100), p("a"));
        q.open(2, t(50), p("b"));
        q.close(1);
        assert_eq!(q.next_deadline(), Some((t(100), 2)));
    }

    #[test]
    fn numbers_out_of_order_are_still_found() {
        let mut q = Transactions::default();
        q.open(7, t(1), p("a"));
        q.open(3, t(2), p("b"));
        q.open(9, t(3), p("c"));
        assert_eq!(q.close(3).map(|p| p.request), Some("b".into()));
        assert_eq!(q.close(9).map(|p| p.request), Some("c".into()));
        assert_eq!(q.len(), 1);
    }
}
