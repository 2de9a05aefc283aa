//! A call taken out of one server and put into another: the unit a cluster of servers
//! stores and moves between nodes.

use std::fmt::Debug;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{count_tokens, Call, ConnState, Role, Server, ServerTimer};
use crate::{Timestamp, UsageError};

/// One call with everything of the server that belongs to it: its parties' tokens, state,
/// hellos and media, the connections joined to it (its devices) and its timers. Taken out
/// of a server with [`Server::take_call`], serialised to any store, and put into the same
/// or another server with [`Server::put_call`], it goes on as if it had never moved.
///
/// Connections still waiting for their `hello` belong to no call and stay with the server
/// that holds their socket. A partition is untrusted like a checkpoint: deserialising
/// refuses a connection that is a device of both parties, and [`Server::put_call`]
/// refuses one that does not fit the server (its limits, its connections, its calls).
///
/// In a cluster, the partition a frame belongs to is known before stepping: the call id
/// of a connection's URL ([`call_id_from_url`](crate::progress::call_id_from_url)) or of
/// its `hello` ([`ClientMessage::decode`](crate::progress::ClientMessage::decode)), and
/// afterwards [`Server::connection`]. Timestamps must then come from one clock all nodes
/// share (wall-clock milliseconds), since a call's deadlines move with it.
///
/// A hello whose token belongs to no call this server holds is refused as "invalid
/// authentication": a server holding only some of a cluster's calls cannot tell it from
/// "unauthorized" (a token of another call).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(
        serialize = "C: Serialize",
        deserialize = "C: Deserialize<'de> + Ord + Clone"
    ),
    try_from = "Unchecked<C>"
)]
pub struct CallPartition<C: Ord + Clone> {
    call_id: Arc<str>,
    call: Call<C>,
    timers: CallTimers,
}

/// The deadlines of a call's own timers (a partition holds no other).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct CallTimers {
    supervisory: Option<Timestamp>,
    ringing: Option<Timestamp>,
    connection: Option<Timestamp>,
    purge: Option<Timestamp>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "C: Deserialize<'de> + Ord + Clone"))]
struct Unchecked<C: Ord + Clone> {
    call_id: Arc<str>,
    call: Call<C>,
    timers: CallTimers,
}

impl<C: Ord + Clone> TryFrom<Unchecked<C>> for CallPartition<C> {
    type Error = String;

    fn try_from(p: Unchecked<C>) -> Result<Self, String> {
        let [caller, callee] = &p.call.devices;
        if caller.intersection(callee).next().is_some() {
            return Err(format!("call {}: a device of both parties", p.call_id));
        }
        Ok(CallPartition {
            call_id: p.call_id,
            call: p.call,
            timers: p.timers,
        })
    }
}

impl<C: Ord + Clone> CallPartition<C> {
    /// The call's id.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The connections joined to the call, each with its party.
    pub fn devices(&self) -> impl Iterator<Item = (&C, Role)> {
        let [caller, callee] = &self.call.devices;
        (caller.iter().map(|c| (c, Role::Caller))).chain(callee.iter().map(|c| (c, Role::Callee)))
    }

    /// The earliest deadline among the call's timers: when a cluster must bring the call
    /// back into a server (and call `handle_timeout`) even if no frame comes.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let t = &self.timers;
        [t.supervisory, t.ringing, t.connection, t.purge]
            .into_iter()
            .flatten()
            .min()
    }
}

impl<C: Ord + Clone + Debug> Server<C> {
    /// Takes a call out of the server with its devices and timers (see
    /// [`CallPartition`]); the server no longer knows it or its connections.
    ///
    /// Refused while outputs are queued (drain first: they may be for the call's devices)
    /// and for a call the server does not hold.
    pub fn take_call(&mut self, call_id: &str) -> Result<CallPartition<C>, UsageError> {
        if !self.out.is_empty() {
            return Err(UsageError::WrongState {
                action: "take_call",
                state: "outputs not drained",
            });
        }
        let Some((id, call)) = self.calls.get_key_value(call_id) else {
            return Err(UsageError::UnknownCall {
                call_id: call_id.to_owned(),
            });
        };
        let (id, call) = (id.clone(), call.clone());
        let timers = CallTimers {
            supervisory: self.timers.get(&ServerTimer::Supervisory(id.clone())),
            ringing: self.timers.get(&ServerTimer::Ringing(id.clone())),
            connection: self.timers.get(&ServerTimer::Connection(id.clone())),
            purge: self.timers.get(&ServerTimer::Purge(id.clone())),
        };
        for conn in call.devices.iter().flatten() {
            self.conns.remove(conn);
        }
        self.forget_call(&id);
        Ok(CallPartition {
            call_id: id,
            call,
            timers,
        })
    }

    /// Puts a call taken out of this or another server in, with its devices and timers.
    ///
    /// Refused, changing nothing, when the server already holds a call of that id or
    /// one of its devices as a connection, or when the call would pass `max_calls`,
    /// `max_connections` or `max_devices_per_party`.
    pub fn put_call(&mut self, partition: CallPartition<C>) -> Result<(), UsageError> {
        let CallPartition {
            call_id,
            call,
            timers,
        } = partition;
        if self.calls.contains_key(&call_id) {
            return Err(UsageError::CallExists {
                call_id: call_id.to_string(),
            });
        }
        if let Some(conn) = call
            .devices
            .iter()
            .flatten()
            .find(|c| self.conns.contains_key(c))
        {
            return Err(UsageError::ConnectionExists {
                conn: format!("{conn:?}"),
            });
        }
        let devices: usize = call.devices.iter().map(|d| d.len()).sum();
        let limits = [
            ("calls", self.calls.len() + 1, self.config.max_calls),
            (
                "connections",
                self.conns.len() + devices,
                self.config.max_connections,
            ),
            (
                "devices per party",
                call.devices.iter().map(|d| d.len()).max().unwrap_or(0),
                self.config.max_devices_per_party,
            ),
        ];
        if let Some((what, _, limit)) = limits.into_iter().find(|(_, n, max)| n > max) {
            return Err(UsageError::LimitReached {
                what,
                limit,
                state: "serving",
            });
        }
        for (role, devices) in [Role::Caller, Role::Callee].into_iter().zip(&call.devices) {
            for conn in devices {
                let joined = ConnState::Joined {
                    call_id: call_id.clone(),
                    role,
                };
                self.conns.insert(conn.clone(), joined);
            }
        }
        for (timer, at) in [
            (
                ServerTimer::Supervisory(call_id.clone()),
                timers.supervisory,
            ),
            (ServerTimer::Ringing(call_id.clone()), timers.ringing),
            (ServerTimer::Connection(call_id.clone()), timers.connection),
            (ServerTimer::Purge(call_id.clone()), timers.purge),
        ] {
            if let Some(at) = at {
                self.timers.set(timer, at);
            }
        }
        count_tokens(&mut self.tokens, &call.auth);
        self.calls.insert(call_id, call);
        Ok(())
    }
}
