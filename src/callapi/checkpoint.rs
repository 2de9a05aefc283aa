//! Restoring the Call API machines from checkpoints: what a checkpoint holds, and the
//! checks that it is one a machine could have written.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::Deserialize;

use super::client::{Client, ClientConfig, ClientOutput, ClientTimer, CommandState, Early, Live};
use super::running::Running;
use super::server::{Server, ServerConfig, ServerOutput};
use crate::timer::TimerQueue;

/// What a client checkpoint holds, before it is checked.
#[derive(Deserialize)]
pub(super) struct ClientCheckpoint {
    config: ClientConfig,
    closed: bool,
    next: u64,
    commands: BTreeMap<Arc<str>, Live>,
    requests: BTreeMap<u64, Arc<str>>,
    aliases: BTreeMap<String, Arc<str>>,
    failed: BTreeSet<String>,
    early: VecDeque<Early>,
    timers: TimerQueue<ClientTimer>,
    out: VecDeque<ClientOutput>,
}

/// A client checkpoint is untrusted: it restores only when a client could have written it
/// (every count within the bounds the client keeps, every command awaiting `Started` found
/// by its request id, every server name and timer belonging to a live command, nothing live
/// on a closed connection).
impl TryFrom<ClientCheckpoint> for Client {
    type Error = String;

    fn try_from(c: ClientCheckpoint) -> Result<Self, String> {
        let max = c.config.max_commands;
        if c.commands.len() > max
            || c.aliases.len() > max
            || c.requests.len() > max.saturating_mul(3)
            || c.failed.len() > max.saturating_mul(2)
            || c.early.len() > c.config.max_early_notifications
        {
            return Err("more commands, requests or held names than the config allows".into());
        }
        if c.closed && !(c.commands.is_empty() && c.early.is_empty()) {
            return Err("commands live on a closed connection".into());
        }
        for (id, live) in &c.commands {
            let found = c.requests.get(&live.request_id) == Some(id);
            if live.state == CommandState::AwaitingStarted && !found {
                return Err(format!("command {id} awaits Started for no request"));
            }
        }
        for (n, id) in &c.requests {
            if c.commands.get(id).is_some_and(|live| live.request_id != *n) {
                return Err(format!("request {n} names command {id}, sent as another"));
            }
        }
        if let Some((theirs, _)) = c
            .aliases
            .iter()
            .find(|(_, ours)| !c.commands.contains_key(*ours))
        {
            return Err(format!("server name {theirs:?} for no live command"));
        }
        for (ClientTimer::Command(id), _) in c.timers.iter() {
            if !c.commands.contains_key(id) {
                return Err(format!("a command timer for {id}, not live"));
            }
        }
        Ok(Client {
            config: c.config,
            closed: c.closed,
            next: c.next,
            commands: c.commands,
            requests: c.requests,
            aliases: c.aliases,
            failed: c.failed,
            early: c.early,
            timers: c.timers,
            out: c.out,
        })
    }
}

/// What a server checkpoint holds, before it is checked.
#[derive(Deserialize)]
pub(super) struct ServerCheckpoint {
    config: ServerConfig,
    closed: bool,
    next_cmd: u64,
    running: Running,
    out: VecDeque<ServerOutput>,
}

/// A server checkpoint is untrusted: its running commands (each checked as it is read)
/// stay within `max_running`, and none runs on a closed connection.
impl TryFrom<ServerCheckpoint> for Server {
    type Error = String;

    fn try_from(c: ServerCheckpoint) -> Result<Self, String> {
        if c.running.len() > c.config.max_running {
            return Err("more running commands than the config allows".into());
        }
        if c.closed && c.running.len() > 0 {
            return Err("commands running on a closed connection".into());
        }
        Ok(Server {
            config: c.config,
            closed: c.closed,
            next_cmd: c.next_cmd,
            running: c.running,
            out: c.out,
        })
    }
}
