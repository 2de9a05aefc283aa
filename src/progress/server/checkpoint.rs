//! Restoring a server from a checkpoint: what a checkpoint holds, and the checks that it is
//! one a server could have written.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::Deserialize;

use super::{Call, ConnState, Encoder, Role, Server, ServerConfig, ServerOutput, ServerTimer};
use crate::id_map::IdMap;
use crate::timer::TimerQueue;
use crate::Secret;

/// What a checkpoint holds: the server without its token counts (made again from the
/// calls).
#[derive(Deserialize)]
#[serde(bound(deserialize = "C: Deserialize<'de> + Ord + Clone"))]
pub(super) struct Checkpoint<C: Ord + Clone> {
    config: ServerConfig,
    calls: IdMap<Arc<str>, Call<C>>,
    #[serde(with = "crate::serde_pairs")]
    conns: BTreeMap<C, ConnState>,
    timers: TimerQueue<ServerTimer<C>>,
    out: VecDeque<ServerOutput<C>>,
}

/// A checkpoint is untrusted: it restores only when it is one a server could have written
/// (every joined connection is a device of its call and every device a connection joined to
/// it as that party, every timer belongs to something that exists, every count within the
/// config's limits). Token counts are made from the calls.
impl<C: Ord + Clone> TryFrom<Checkpoint<C>> for Server<C> {
    type Error = String;

    fn try_from(c: Checkpoint<C>) -> Result<Self, String> {
        let limits = &c.config;
        if c.calls.len() > limits.max_calls || c.conns.len() > limits.max_connections {
            return Err("more calls or connections than the config allows".into());
        }
        for (id, call) in c.calls.iter() {
            for (role, devices) in [Role::Caller, Role::Callee].iter().zip(&call.devices) {
                if devices.len() > limits.max_devices_per_party {
                    return Err(format!("call {id}: more devices than the config allows"));
                }
                for d in devices {
                    match c.conns.get(d) {
                        Some(ConnState::Joined { call_id, role: r })
                            if call_id == id && r == role => {}
                        _ => return Err(format!("call {id}: a device is not joined to it")),
                    }
                }
            }
        }
        for (conn, state) in &c.conns {
            if let ConnState::Joined { call_id, role } = state {
                let device = c
                    .calls
                    .get(call_id.as_ref())
                    .is_some_and(|call| call.devices[role.index()].contains(conn));
                if !device {
                    return Err(format!(
                        "a connection is joined to call {call_id} but is not its device"
                    ));
                }
            }
        }
        for (timer, _) in c.timers.iter() {
            let ok = match timer {
                ServerTimer::Hello(conn) => {
                    matches!(c.conns.get(conn), Some(ConnState::AwaitingHello { .. }))
                }
                ServerTimer::Supervisory(id)
                | ServerTimer::Ringing(id)
                | ServerTimer::Connection(id)
                | ServerTimer::Purge(id) => c.calls.contains_key(id.as_ref()),
            };
            if !ok {
                return Err(format!("a {} timer for nothing", timer.name()));
            }
        }
        let mut tokens: BTreeMap<Secret, u32> = BTreeMap::new();
        for call in c.calls.values() {
            super::count_tokens(&mut tokens, &call.auth);
        }
        Ok(Server {
            config: c.config,
            calls: c.calls,
            conns: c.conns,
            tokens,
            timers: c.timers,
            out: c.out,
            encoder: Encoder::default(),
        })
    }
}
