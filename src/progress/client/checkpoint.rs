//! Restoring a client from a checkpoint: what a checkpoint holds, and the checks that it is
//! one a client could have written.

use std::collections::VecDeque;

use serde::Deserialize;

use super::{Client, ClientConfig, ClientOutput, ClientState, ClientTimer, MAX_ALERTING};
use crate::progress::{Role, State};
use crate::timer::TimerQueue;
use crate::Timestamp;

/// What a checkpoint holds, before it is checked.
#[derive(Deserialize)]
pub(super) struct Checkpoint {
    config: ClientConfig,
    state: ClientState,
    awaiting: VecDeque<Timestamp>,
    accept_sent: bool,
    timers: TimerQueue<ClientTimer>,
    out: VecDeque<ClientOutput>,
}

/// A checkpoint is untrusted: it restores only when a client could have written it (the
/// alerting timeout within its cap, nothing awaited or timed before the connection opened
/// or after the setup ended, every timer one its state arms, `accept` sent only by a
/// callee).
impl TryFrom<Checkpoint> for Client {
    type Error = String;

    fn try_from(c: Checkpoint) -> Result<Self, String> {
        if c.config.alerting_timeout.is_some_and(|d| d > MAX_ALERTING) {
            return Err("alerting_timeout past its cap".into());
        }
        let callee = c.config.role == Role::Callee;
        if c.accept_sent && !callee {
            return Err("accept sent by a caller".into());
        }
        let idle = matches!(c.state, ClientState::AwaitingOpen | ClientState::Ended);
        if idle && !c.awaiting.is_empty() {
            return Err(format!("answers awaited in state {}", c.state.name()));
        }
        for (timer, _) in c.timers.iter() {
            let ok = match timer {
                ClientTimer::Response => !c.awaiting.is_empty(),
                ClientTimer::MediaSetup => matches!(c.state, ClientState::InCall(_)),
                ClientTimer::Alerting => callee && c.state == ClientState::InCall(State::Alerting),
            };
            if idle || !ok {
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
            awaiting: c.awaiting,
            accept_sent: c.accept_sent,
            timers: c.timers,
            out: c.out,
        })
    }
}
