//! A Call API client on one connection: commands it names itself, each ending exactly once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::command::method_name;
use super::jsonrpc::{
    params_text, read_from_server_ref, read_message_as, FromServerRef, Id, Request,
};
use super::{CallEvent, Command};
use crate::timer::TimerQueue;
use crate::{CloseCode, Machine, Timestamp, UsageError};

/// Client configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientConfig {
    /// A command with no outcome by then ends `timed_out` (130 s: a little longer than a
    /// default server's own timeout, so that its `Error` normally comes first).
    pub command_timeout: Duration,
    /// The cmd_ids the client gives its commands: this prefix and a counter (`cmd-`).
    pub cmd_id_prefix: String,
    /// The first request id and cmd_id number (1).
    pub first_id: u64,
    /// Commands live at once at most (1000).
    pub max_commands: usize,
    /// Notifications for unknown cmd_ids held while a command awaits its `Started` (64).
    pub max_early_notifications: usize,
    /// Largest frame read; a larger one is reported and dropped (1 MiB).
    pub max_frame_len: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            command_timeout: Duration::from_secs(130),
            cmd_id_prefix: "cmd-".into(),
            first_id: 1,
            max_commands: 1000,
            max_early_notifications: 64,
            max_frame_len: 1 << 20,
        }
    }
}

/// How a command ended. Every command ends exactly once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// `Ended`.
    Completed,
    /// `Error`, with its text (the `Ended` that follows is consumed quietly).
    Failed {
        /// The `Error` data, as text.
        message: String,
    },
    /// The request was answered with a JSON-RPC error.
    Rejected {
        /// The error code (the real daemon uses +32000).
        code: i64,
        /// The error message.
        message: String,
    },
    /// No outcome within `command_timeout`.
    TimedOut,
    /// The connection closed first.
    ConnectionClosed,
}

/// What the client tells the application.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientEvent {
    /// The server answered `Started`.
    Started {
        /// The command, as the client named it (shared with the machine).
        cmd_id: Arc<str>,
        /// The server's own cmd_id, when it chose a different one.
        server_cmd_id: Option<String>,
    },
    /// A progress event of a command.
    Progress {
        /// The command (shared with the machine: handing it out copies nothing).
        cmd_id: Arc<str>,
        /// Its method (borrowed for the catalog's methods).
        method: Cow<'static, str>,
        /// What happened.
        event: CallEvent,
    },
    /// A command ended.
    Ended {
        /// The command.
        cmd_id: Arc<str>,
        /// Its method.
        method: Cow<'static, str>,
        /// How.
        outcome: Outcome,
    },
    /// An error response for no command (e.g. the daemon's parse error with `"id": ""`).
    ServerError {
        /// The id as sent.
        id: Id,
        /// The code.
        code: i64,
        /// The message.
        message: String,
    },
    /// A response for no command the client is waiting on. Ignored.
    UnmatchedResponse {
        /// The id as sent.
        id: Id,
    },
    /// A notification for no live command, with its params as they came. Ignored.
    UnmatchedNotification {
        /// Its method.
        method: String,
        /// Its cmd_id, if any.
        cmd_id: Option<String>,
        /// Its event name, if any.
        event: Option<String>,
        /// Its params.
        params: Option<Value>,
    },
    /// A frame that could not be read. Ignored.
    Malformed {
        /// Why.
        error: String,
    },
}

/// What the client asks of the runtime.
pub type ClientOutput = crate::Output<(), ClientEvent>;

/// The client's named timers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientTimer {
    /// This command must have ended.
    Command(Arc<str>),
}

impl ClientTimer {
    /// The timer's name, for logs and transcripts.
    pub fn name(&self) -> &'static str {
        "command"
    }
}

/// Where a command stands, named after what it waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CommandState {
    /// Sent; waits for `Started` (notifications may overtake it).
    AwaitingStarted,
    /// Started; waits for `Ended`.
    AwaitingEnded,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Live {
    pub(super) method: Cow<'static, str>,
    pub(super) state: CommandState,
    pub(super) request_id: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Early {
    pub(super) method: String,
    pub(super) cmd_id: String,
    pub(super) event: String,
    /// The notification's `data` and `params`, as JSON text.
    pub(super) data: Option<String>,
    pub(super) params: Option<String>,
}

/// The Call API client machine for one connection.
///
/// Commands are named by the client (`params.cmd_id`), so notifications are routed even
/// when they overtake `Started`. A server that names commands itself is handled too: its
/// notifications are held (bounded) until the `Started` that names them.
///
/// | input | on it |
/// |---|---|
/// | [`Client::command`] | request sent with `id` and `params.cmd_id`, `command` timer |
/// | result `Started` | event `Started` (with the server's cmd_id when it differs) |
/// | error response | the command ends `rejected` |
/// | notification `Error` | the command ends `failed` with the text; the `Ended` after it is consumed quietly |
/// | notification `Ended` | the command ends `completed` |
/// | other notification | event `Progress` (typed; unknown names passed through) |
/// | `status` instead of `event` | read the same |
/// | response or notification for nothing live, `"id": ""` or `null` | reported, never fatal |
/// | `command` timer | the command ends `timed_out` |
/// | [`Client::handle_close`] | every live command ends `connection_closed` |
///
/// ```
/// use callsig::callapi::{Client, ClientConfig, ClientOutput, Command};
/// use callsig::Timestamp;
///
/// let mut client = Client::new(ClientConfig::default());
/// let cmd = Command::CallEnd { callid: "x".into() };
/// let cmd_id = client.start(Timestamp::ZERO, &cmd).unwrap();
/// assert_eq!(&*cmd_id, "cmd-1");
/// let ClientOutput::Transmit { text, .. } = client.poll_output() else { panic!() };
/// assert_eq!(text, r#"{"jsonrpc":"2.0","id":1,"method":"CallEnd","params":{"callid":"x","cmd_id":"cmd-1"}}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "super::checkpoint::ClientCheckpoint")]
pub struct Client {
    pub(super) config: ClientConfig,
    pub(super) closed: bool,
    pub(super) next: u64,
    /// By cmd_id; the key is the one copy of the id, shared by timers and events.
    pub(super) commands: BTreeMap<Arc<str>, Live>,
    /// Request id → the command it started, until its response.
    pub(super) requests: BTreeMap<u64, Arc<str>>,
    /// A server's own cmd_id → the client's.
    pub(super) aliases: BTreeMap<String, Arc<str>>,
    /// Failed commands whose `Ended` has not come yet (bounded like the commands).
    pub(super) failed: BTreeSet<String>,
    pub(super) early: VecDeque<Early>,
    pub(super) timers: TimerQueue<ClientTimer>,
    pub(super) out: VecDeque<ClientOutput>,
}

impl Client {
    /// A client for a newly opened connection.
    pub fn new(config: ClientConfig) -> Self {
        Client {
            next: config.first_id,
            config,
            closed: false,
            commands: BTreeMap::new(),
            requests: BTreeMap::new(),
            aliases: BTreeMap::new(),
            failed: BTreeSet::new(),
            early: VecDeque::new(),
            timers: TimerQueue::new(),
            out: VecDeque::new(),
        }
    }

    /// The live commands, by cmd_id, with their state.
    pub fn commands(&self) -> impl Iterator<Item = (&str, CommandState)> {
        self.commands.iter().map(|(k, v)| (&**k, v.state))
    }

    /// The earliest timer and its deadline.
    pub fn next_timer(&self) -> Option<(Timestamp, &ClientTimer)> {
        self.timers.next()
    }

    /// The next output. Call after every input until it returns [`ClientOutput::Timeout`].
    pub fn poll_output(&mut self) -> ClientOutput {
        self.out
            .pop_front()
            .unwrap_or_else(|| ClientOutput::Timeout(self.timers.next().map(|(at, _)| at)))
    }

    // ---- inputs: application -----------------------------------------------------------

    /// Sends a typed command; returns its cmd_id (the id every event of the command
    /// carries).
    pub fn start(&mut self, now: Timestamp, command: &Command) -> Result<Arc<str>, UsageError> {
        let Value::Object(params) = command.to_params(None) else {
            return Err(UsageError::InvalidMessage {
                message: command.method().into(),
                field: "params".into(),
            });
        };
        self.command(now, command.method(), params)
    }

    /// Sends any method with params (an object); returns its cmd_id. A string
    /// `params.cmd_id` names the command; otherwise the client names it.
    pub fn command(
        &mut self,
        now: Timestamp,
        method: &str,
        mut params: Map<String, Value>,
    ) -> Result<Arc<str>, UsageError> {
        if self.closed {
            return Err(UsageError::WrongState {
                action: "command",
                state: "closed",
            });
        }
        if self.commands.len() >= self.config.max_commands {
            return Err(UsageError::LimitReached {
                what: "commands",
                limit: self.config.max_commands,
                state: "open",
            });
        }
        let n = self.next;
        let cmd_id = match params.get("cmd_id") {
            None => format!("{}{n}", self.config.cmd_id_prefix),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => {
                return Err(UsageError::InvalidMessage {
                    message: method.into(),
                    field: "a non-empty string cmd_id".into(),
                })
            }
        };
        if self.commands.contains_key(cmd_id.as_str()) || self.aliases.contains_key(&cmd_id) {
            return Err(UsageError::InvalidMessage {
                message: method.into(),
                field: format!("a cmd_id not in use ({cmd_id} is)"),
            });
        }
        self.next = self.next.wrapping_add(1);
        params.insert("cmd_id".into(), Value::String(cmd_id.clone()));
        let request = Request {
            id: Some(Id::Number(n.into())),
            method: method.to_owned(),
            params: Some(Value::Object(params)),
        };
        self.out.push_back(ClientOutput::Transmit {
            conn: (),
            text: request.encode(),
        });
        let id: Arc<str> = cmd_id.as_str().into();
        self.requests.insert(n, id.clone());
        self.commands.insert(
            id.clone(),
            Live {
                method: method_name(method),
                state: CommandState::AwaitingStarted,
                request_id: n,
            },
        );
        self.timers.set(
            ClientTimer::Command(id.clone()),
            now.after(self.config.command_timeout),
        );
        Ok(id)
    }

    // ---- inputs: transport -------------------------------------------------------------

    /// A text frame arrived.
    pub fn handle_frame(&mut self, now: Timestamp, text: &str) {
        // Every input takes the time; this one does not need it.
        let _ = now;
        if self.closed {
            return;
        }
        if text.len() > self.config.max_frame_len {
            return self.event(ClientEvent::Malformed {
                error: format!("frame of {} bytes", text.len()),
            });
        }
        // The hot path: one message, a notification's params read with it.
        if let Some(m) = read_message_as::<CallParams<'_>>(text) {
            return match m {
                FromServerRef::Response { id, outcome } => self.on_response(id, outcome),
                FromServerRef::Notification { method, params } => {
                    let p = params.unwrap_or_default().settled();
                    // Only a notification for no live command needs the params as text.
                    self.on_notification(method, p, || params_text(text))
                }
            };
        }
        match read_from_server_ref(text) {
            Err(error) => self.event(ClientEvent::Malformed { error }),
            Ok(messages) => {
                for m in messages {
                    match m {
                        FromServerRef::Response { id, outcome } => self.on_response(id, outcome),
                        FromServerRef::Notification { method, params } => {
                            self.on_notification(method, CallParams::read(params), || params)
                        }
                    }
                }
            }
        }
    }

    /// The connection closed: every live command ends `connection_closed`. Its code and
    /// reason are not used (the Call API gives close codes no meaning).
    pub fn handle_close(&mut self, now: Timestamp, code: Option<CloseCode>, reason: &str) {
        // Every input takes the time and the close; this one needs neither.
        let _ = (now, code, reason);
        if self.closed {
            return;
        }
        self.closed = true;
        for cmd_id in self.commands.keys().cloned().collect::<Vec<_>>() {
            self.end(&cmd_id, Outcome::ConnectionClosed);
        }
        self.drop_early();
    }

    /// Fires every timer due at or before `now`. Safe to call early, late or twice.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        while let Some((_, ClientTimer::Command(cmd_id))) = self.timers.pop_due(now) {
            self.end(&cmd_id, Outcome::TimedOut);
        }
        if !self.awaiting_started() {
            self.drop_early();
        }
    }

    // ---- internals ---------------------------------------------------------------------

    fn event(&mut self, e: ClientEvent) {
        self.out.push_back(ClientOutput::Event(e));
    }

    fn awaiting_started(&self) -> bool {
        self.commands
            .values()
            .any(|c| c.state == CommandState::AwaitingStarted)
    }

    /// Ends a live command once: the outcome, and nothing more for it.
    fn end(&mut self, cmd_id: &str, outcome: Outcome) {
        let Some((id, live)) = self.commands.remove_entry(cmd_id) else {
            return;
        };
        self.timers.cancel(&ClientTimer::Command(id.clone()));
        if live.state == CommandState::AwaitingEnded {
            self.requests.remove(&live.request_id);
        } else {
            // The result may still come (notifications overtake it): keep its id so it is
            // recognised and consumed quietly. Bounded: the oldest go first.
            while self.requests.len() > self.config.max_commands.saturating_mul(2) {
                self.requests.pop_first();
            }
        }
        let names: Vec<String> = std::iter::once(cmd_id.to_owned())
            .chain(
                self.aliases
                    .iter()
                    .filter(|(_, ours)| ***ours == *cmd_id)
                    .map(|(theirs, _)| theirs.clone()),
            )
            .collect();
        self.aliases.retain(|_, ours| **ours != *cmd_id);
        if matches!(outcome, Outcome::Failed { .. }) {
            // Its Ended is still to come, under either name.
            self.failed.extend(names);
            while self.failed.len() > self.config.max_commands.saturating_mul(2) {
                self.failed.pop_first();
            }
        }
        self.event(ClientEvent::Ended {
            cmd_id: id,
            method: live.method,
            outcome,
        });
    }

    fn on_response(&mut self, id: Id, outcome: Result<&RawValue, super::jsonrpc::ErrorObject>) {
        let request = match &id {
            Id::Number(n) => n.as_u64(),
            Id::String(s) => s.parse::<u64>().ok(),
            Id::Null => None,
        };
        let Some(cmd_id) = request.and_then(|n| self.requests.remove(&n)) else {
            return match outcome {
                Err(e) => self.event(ClientEvent::ServerError {
                    id,
                    code: e.code,
                    message: e.message,
                }),
                Ok(_) => self.event(ClientEvent::UnmatchedResponse { id }),
            };
        };
        match outcome {
            Err(e) => self.end(
                &cmd_id,
                Outcome::Rejected {
                    code: e.code,
                    message: e.message,
                },
            ),
            Ok(result) => {
                let Some(live) = self.commands.get_mut(&cmd_id) else {
                    return;
                };
                live.state = CommandState::AwaitingEnded;
                #[derive(serde::Deserialize)]
                struct Started<'a> {
                    #[serde(borrow, default)]
                    #[serde(deserialize_with = "crate::json::opt_str")]
                    cmd_id: Option<Cow<'a, str>>,
                }
                let theirs = serde_json::from_str::<Started<'_>>(result.get())
                    .ok()
                    .and_then(|s| s.cmd_id)
                    .filter(|t| **t != *cmd_id)
                    .map(Cow::into_owned);
                if let Some(t) = &theirs {
                    self.aliases.insert(t.clone(), cmd_id.clone());
                }
                self.event(ClientEvent::Started {
                    cmd_id,
                    server_cmd_id: theirs.clone(),
                });
                if let Some(t) = theirs {
                    self.replay_early(&t);
                }
                if !self.awaiting_started() {
                    self.drop_early();
                }
            }
        }
    }

    /// A notification, its params read (`p`) and as text (`params`).
    fn on_notification<'a>(
        &mut self,
        method: Cow<'a, str>,
        p: CallParams<'a>,
        params: impl Fn() -> Option<&'a RawValue>,
    ) {
        let event = p.event;
        let as_value =
            |raw: Option<&RawValue>| raw.and_then(|r| serde_json::from_str(r.get()).ok());
        let (Some(cmd_id), Some(event)) = (p.cmd_id, event) else {
            return self.event(ClientEvent::UnmatchedNotification {
                method: method.into_owned(),
                cmd_id: None,
                event: None,
                params: as_value(params()),
            });
        };
        // Our name for the command: theirs unless the server named it (no string copied).
        let alias = self.aliases.get(cmd_id.as_ref()).cloned();
        let ours: &str = alias.as_deref().unwrap_or(&cmd_id);
        if self.commands.contains_key(ours) {
            return self.apply(ours, &event, p.data.map(RawValue::get));
        }
        if event == "Ended" && self.failed.remove(ours) {
            return; // The Ended that follows an Error: the command already ended.
        }
        if self.awaiting_started() {
            if self.early.len() >= self.config.max_early_notifications {
                if let Some(old) = self.early.pop_front() {
                    self.unmatched(old);
                }
            }
            self.early.push_back(Early {
                method: method.into_owned(),
                cmd_id: ours.to_owned(),
                event: event.into_owned(),
                data: p.data.map(|d| d.get().to_owned()),
                params: params().map(|d| d.get().to_owned()),
            });
            return;
        }
        self.event(ClientEvent::UnmatchedNotification {
            method: method.into_owned(),
            cmd_id: Some(ours.to_owned()),
            event: Some(event.into_owned()),
            params: as_value(params()),
        });
    }

    fn apply(&mut self, cmd_id: &str, event: &str, data: Option<&str>) {
        match event {
            "Ended" => self.end(cmd_id, Outcome::Completed),
            "Error" => {
                // The daemon's Error data is a string; anything else is kept as JSON text.
                let message = data.map_or_else(String::new, |d| {
                    serde_json::from_str::<String>(d).unwrap_or_else(|_| d.to_owned())
                });
                self.end(cmd_id, Outcome::Failed { message });
            }
            // Notifications may overtake the result; a Started notification changes nothing.
            "Started" => {}
            _ => {
                let Some((id, live)) = self.commands.get_key_value(cmd_id) else {
                    return;
                };
                let (cmd_id, method) = (id.clone(), live.method.clone());
                let event = CallEvent::from_raw(event, data);
                self.event(ClientEvent::Progress {
                    cmd_id,
                    method,
                    event,
                });
            }
        }
    }

    fn replay_early(&mut self, theirs: &str) {
        let (mine, rest): (Vec<Early>, Vec<Early>) = std::mem::take(&mut self.early)
            .into_iter()
            .partition(|e| e.cmd_id == theirs);
        self.early = rest.into();
        let ours = self.aliases.get(theirs).cloned();
        for e in mine {
            match &ours {
                Some(o) if self.commands.contains_key(o) => {
                    // Held as the text it was read as: valid JSON.
                    self.apply(o, &e.event, e.data.as_deref())
                }
                _ => self.unmatched(e),
            }
        }
    }

    fn unmatched(&mut self, e: Early) {
        self.event(ClientEvent::UnmatchedNotification {
            method: e.method,
            cmd_id: Some(e.cmd_id),
            event: Some(e.event),
            params: e.params.and_then(|p| serde_json::from_str(&p).ok()),
        });
    }

    fn drop_early(&mut self) {
        for e in std::mem::take(&mut self.early) {
            self.unmatched(e);
        }
    }
}

/// A call notification's params: `cmd_id`, and `event` (or the seed's stale name for it,
/// `status`), with `data` kept as text. Params that do not read so (not an object, a member
/// of another type, a repeated one) have neither, and the notification matches no command.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct CallParams<'a> {
    #[serde(borrow, deserialize_with = "crate::json::opt_str")]
    cmd_id: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "crate::json::opt_str")]
    event: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "crate::json::opt_str")]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "crate::json::present")]
    data: Option<&'a RawValue>,
}

impl<'a> CallParams<'a> {
    fn read(raw: Option<&'a RawValue>) -> Self {
        let p: CallParams<'a> = raw
            .and_then(|r| crate::json::from_object(r.get()).ok())
            .unwrap_or_default();
        p.settled()
    }

    /// `status` stands in for an absent `event`.
    fn settled(mut self) -> Self {
        if self.event.is_none() {
            self.event = self.status.take();
        }
        self
    }
}

/// The transport inputs of [`Client`], as inherent methods take them. The client is made
/// for a connection already open, so `Open` does nothing.
impl Machine for Client {
    machine_inputs!(client, event ClientEvent, open |_client, _now| Ok::<(), UsageError>(()));
}
