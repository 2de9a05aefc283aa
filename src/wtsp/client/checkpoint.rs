//! Restoring a client from a checkpoint: what a checkpoint holds, and the checks that it is
//! one a client could have written.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use serde::Deserialize;

use super::{
    Client, ClientConfig, ClientOutput, ClientState, ClientTimer, Lines, Registration, Request,
    Transactions, MIN_KEEPALIVE_INTERVAL,
};
use crate::timer::TimerQueue;

/// What a checkpoint holds, before it is checked.
#[derive(Deserialize)]
pub(super) struct Checkpoint {
    config: ClientConfig,
    state: ClientState,
    failures: u32,
    ever_ready: bool,
    evicted: bool,
    next_transaction: u64,
    queued: VecDeque<(u64, Request)>,
    pending: Transactions,
    keepalive_interval: Duration,
    keepalive_outstanding: Option<u64>,
    registration: Option<Registration>,
    lines: Lines,
    timers: TimerQueue<ClientTimer>,
    out: VecDeque<ClientOutput>,
}

/// A checkpoint is untrusted: it restores only when a client could have written it (queued
/// and pending requests within the config's limits and only in the states that keep them,
/// every transaction number used once and below the next one, every timer one its state
/// arms and belonging to a request that exists).
impl TryFrom<Checkpoint> for Client {
    type Error = String;

    fn try_from(c: Checkpoint) -> Result<Self, String> {
        use ClientState::*;
        if c.queued.len() > c.config.max_queued_requests
            || c.pending.len() > c.config.max_pending_transactions
        {
            return Err("more queued or pending requests than the config allows".into());
        }
        // No client sends 2^63 requests: numbers stay far from overflowing.
        if c.next_transaction > u64::MAX / 2 {
            return Err("next_transaction out of range".into());
        }
        let numbers = c
            .queued
            .iter()
            .map(|(n, _)| *n)
            .chain(c.pending.numbers())
            .chain(c.keepalive_outstanding);
        let mut seen = BTreeSet::new();
        for n in numbers {
            if n >= c.next_transaction || !seen.insert(n) {
                return Err(format!(
                    "transaction {n} is used twice or not below next_transaction"
                ));
            }
        }
        let ready = c.state == Ready;
        if (!ready && (c.pending.len() > 0 || c.keepalive_outstanding.is_some()))
            || (matches!(c.state, Idle | Ready) && !c.queued.is_empty())
        {
            return Err(format!(
                "requests queued or pending in state {}",
                c.state.name()
            ));
        }
        if ready && c.keepalive_interval < MIN_KEEPALIVE_INTERVAL {
            return Err("keepalive_interval under the minimum".into());
        }
        for (timer, _) in c.timers.iter() {
            let ok = match timer {
                ClientTimer::Handshake => matches!(c.state, AwaitingOpen | AwaitingState),
                ClientTimer::Keepalive => ready,
                ClientTimer::KeepaliveEcho => ready && c.keepalive_outstanding.is_some(),
                ClientTimer::Reconnect => c.state == AwaitingReconnect,
                ClientTimer::Transaction(n) => c.pending.numbers().any(|p| p == *n),
                ClientTimer::Queued(n) => c.queued.iter().any(|(q, _)| q == n),
            };
            if !ok {
                return Err(format!(
                    "timer {} armed in state {}",
                    timer.name(),
                    c.state.name()
                ));
            }
        }
        Ok(Client {
            config: c.config,
            state: c.state,
            failures: c.failures,
            ever_ready: c.ever_ready,
            evicted: c.evicted,
            next_transaction: c.next_transaction,
            queued: c.queued,
            pending: c.pending,
            keepalive_interval: c.keepalive_interval,
            keepalive_outstanding: c.keepalive_outstanding,
            registration: c.registration,
            lines: c.lines,
            timers: c.timers,
            out: c.out,
        })
    }
}
