//! Accounts, their lines and call logs, as the server keeps them.

use crate::RawJson;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ConnState, ServerConfig};
use crate::wtsp::{
    CallLog, EventKind, Line, LineInfo, Registration, RegistrationStatus, StateHandshake,
};
use crate::{Timestamp, UsageError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct PendingRequest {
    pub(super) request: String,
    pub(super) line: Option<Line>,
    pub(super) call_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Conn {
    pub(super) state: ConnState,
    pub(super) pending: BTreeMap<String, PendingRequest>,
}

/// A call on a line, with its log (oldest first, monotonic times).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct LineCall {
    pub(super) call_id: String,
    pub(super) log: VecDeque<(Timestamp, RawJson)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Account<C> {
    pub(super) conn: Option<C>,
    pub(super) registration: Registration,
    pub(super) lines: Vec<Option<LineCall>>,
    pub(super) guest: Option<LineCall>,
}

pub(super) fn unknown_conn<C: Debug>(conn: &C) -> UsageError {
    UsageError::UnknownConnection {
        conn: format!("{conn:?}"),
    }
}

pub(super) fn line_name(line: Line) -> String {
    match line {
        Line::Index(i) => i.to_string(),
        Line::Guest => "guest".into(),
    }
}

pub(super) fn slot<C>(acc: &mut Account<C>, line: Line) -> Option<&mut Option<LineCall>> {
    match line {
        Line::Index(i) => acc.lines.get_mut(i as usize),
        Line::Guest => Some(&mut acc.guest),
    }
}

pub(super) fn find_line<C>(acc: &Account<C>, call_id: &str) -> Option<Line> {
    acc.lines
        .iter()
        .position(|c| c.as_ref().is_some_and(|c| c.call_id == call_id))
        .map(|i| Line::Index(i as u32))
        .or_else(|| {
            acc.guest
                .as_ref()
                .filter(|c| c.call_id == call_id)
                .map(|_| Line::Guest)
        })
}

pub(super) fn registration_of(kind: &EventKind) -> Registration {
    match kind {
        EventKind::Registering => Registration::new(RegistrationStatus::Registering),
        EventKind::Unregistering => Registration::new(RegistrationStatus::Unregistering),
        EventKind::Unregistered => Registration::new(RegistrationStatus::Unregistered),
        EventKind::RegistrationFailed { code, reason } => Registration {
            status: RegistrationStatus::RegistrationFailed,
            code: *code,
            reason: reason.clone(),
        },
        _ => Registration::new(RegistrationStatus::Registered),
    }
}

/// A message as logged: its wire JSON without `line` and `call_id`.
pub(super) fn log_entry(m: &impl Serialize) -> RawJson {
    // Through a tree (no copy of the message) to drop the two members, then kept as text:
    // every `state` sent later copies the text, not a tree.
    let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.remove("line");
        map.remove("call_id");
    }
    RawJson::from_value(&v)
}

pub(super) fn push_log(call: &mut LineCall, now: Timestamp, entry: RawJson, max: usize) {
    if max == 0 {
        return;
    }
    while call.log.len() >= max {
        call.log.pop_front();
    }
    call.log.push_back((now, entry));
}

/// What one call-log entry adds to a `state` beyond its message, at most:
/// `{"timestamp":` + 20 digits + `,"message":` + `}` + `,`.
const LOG_ENTRY_OVERHEAD: usize = 48;

/// Drops the account's oldest call-log entries (across its lines) until its `state`
/// handshake fits in `config.max_state_len`; returns how many went. The length is bounded
/// from above (the state without logs, written with the longest timestamp, plus each entry
/// and its wrapping), so the real `state` is never longer.
pub(super) fn trim_logs<C>(config: &ServerConfig, acc: &mut Account<C>) -> usize {
    let entries = |acc: &Account<C>| -> usize {
        acc.lines
            .iter()
            .chain(std::iter::once(&acc.guest))
            .flatten()
            .flat_map(|c| c.log.iter())
            .map(|(_, m)| m.get().len() + LOG_ENTRY_OVERHEAD)
            .sum()
    };
    let logged = entries(acc);
    if logged == 0 {
        return 0;
    }
    let base = {
        let mut bare = StateHandshake {
            keepalive_interval: None,
            timestamp: 0,
            registration: acc.registration.clone(),
            lines: Vec::new(),
            guest_line: None,
            user_active_calls: None,
            dialog_infos: None,
            presence_infos: None,
        };
        let empty = |c: &LineCall| LineInfo {
            call_id: Some(c.call_id.clone()),
            call_logs: Vec::new(),
        };
        bare.lines = acc.lines.iter().map(|c| c.as_ref().map(empty)).collect();
        bare.guest_line = config
            .guest_line
            .then(|| acc.guest.as_ref().map(empty).unwrap_or_default());
        bare.keepalive_interval = Some(u64::MAX);
        bare.timestamp = u64::MAX;
        crate::wtsp::Message::Handshake(crate::wtsp::Handshake::State(bare))
            .encode()
            .len()
    };
    let mut total = base + logged;
    let mut dropped = 0;
    while total > config.max_state_len {
        // The oldest entry of any line.
        let oldest = acc
            .lines
            .iter_mut()
            .chain(std::iter::once(&mut acc.guest))
            .flatten()
            .filter(|c| !c.log.is_empty())
            .min_by_key(|c| c.log.front().map(|(at, _)| *at));
        let Some((_, m)) = oldest.and_then(|c| c.log.pop_front()) else {
            break;
        };
        total -= m.get().len() + LOG_ENTRY_OVERHEAD;
        dropped += 1;
    }
    dropped
}

pub(super) fn line_info(call: &LineCall, now: Timestamp, wall: u64) -> LineInfo {
    LineInfo {
        call_id: Some(call.call_id.clone()),
        call_logs: call
            .log
            .iter()
            .rev()
            .map(|(at, message)| CallLog {
                timestamp: wall
                    .saturating_sub(u64::try_from((now - *at).as_millis()).unwrap_or(u64::MAX)),
                message: message.clone(),
            })
            .collect(),
    }
}

pub(super) fn state_of<C>(
    config: &ServerConfig,
    acc: &Account<C>,
    now: Timestamp,
    wall: u64,
) -> StateHandshake {
    StateHandshake {
        keepalive_interval: Some(
            u64::try_from(config.keepalive_interval.as_millis()).unwrap_or(u64::MAX),
        ),
        timestamp: wall,
        registration: acc.registration.clone(),
        lines: acc
            .lines
            .iter()
            .map(|c| c.as_ref().map(|c| line_info(c, now, wall)))
            .collect(),
        guest_line: config.guest_line.then(|| {
            acc.guest
                .as_ref()
                .map(|c| line_info(c, now, wall))
                .unwrap_or_default()
        }),
        user_active_calls: None,
        dialog_infos: None,
        presence_infos: None,
    }
}
