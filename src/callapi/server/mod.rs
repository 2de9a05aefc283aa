//! The Call API daemon's side of one connection: strict JSON-RPC 2.0, commands started,
//! driven by the application and ended exactly once.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::jsonrpc::{
    read_incoming_raw, ErrorObject, Id, IncomingRaw, RequestRaw, Response, INVALID_PARAMS,
    INVALID_REQUEST, SERVER_ERROR,
};
use super::running::{Running, ServerTimer};
use super::{CallEvent, Command, ParamError};
use crate::{CloseCode, Machine, Routing, Timestamp, UsageError};
use read::{read_call, read_command, Parsed};
use std::sync::Arc;

mod read;

/// Server configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerConfig {
    /// A command the application has not ended by then fails with `Error "timeout"` (120 s).
    pub command_timeout: Duration,
    /// Commands running at once at most; more are refused with -32000 (1000).
    pub max_running: usize,
    /// Largest frame read; a larger one is refused with -32600 (1 MiB).
    pub max_frame_len: usize,
    /// Mixed into generated cmd_ids (0; its low 48 bits are used). Give every connection
    /// (and, in a cluster, every node) its own seed, and the cmd_ids the server makes differ
    /// across them: the machine draws no random numbers. With the default, every connection
    /// counts from the same first id.
    pub cmd_id_seed: u64,
    /// How a call command missing a parameter is answered ([`ParamErrors::JsonRpc`]).
    pub param_errors: ParamErrors,
    /// Requests in one batch at most (100); a larger batch gets one -32600 answer for the
    /// whole frame, so a reply stays within a small multiple of its frame.
    pub max_batch: usize,
}

/// How the server answers a call command that lacks a required parameter (or has it empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParamErrors {
    /// A JSON-RPC error, -32602 `missing parameter X`: the command never starts.
    #[default]
    JsonRpc,
    /// As the OpenSIPS call-api daemon does: the command starts (`Started`, with its
    /// cmd_id), then fails at once with an `Error` notification whose data is
    /// `X not specified`, then `Ended`. Clients written for the daemon wait for that
    /// `Error`/`Ended` and never read a -32602. Other bad params (not an object, a
    /// non-string value, a bad `leg`) are still JSON-RPC errors.
    Daemon,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            command_timeout: Duration::from_secs(120),
            max_running: 1000,
            max_frame_len: 1 << 20,
            cmd_id_seed: 0,
            param_errors: ParamErrors::JsonRpc,
            max_batch: 100,
        }
    }
}

/// What the server tells the application.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerEvent {
    /// A command started (`Started` was sent, unless it came as a notification): drive it
    /// with [`Server::notify`], [`Server::fail`] and [`Server::end`].
    CommandStarted {
        /// Its cmd_id.
        cmd_id: Arc<str>,
        /// The request's id (`None` for a notification).
        id: Option<Id>,
        /// What to do.
        command: Command,
    },
    /// The application did not end the command in time; `Error "timeout"` and `Ended` were
    /// sent.
    CommandTimedOut {
        /// The command.
        cmd_id: Arc<str>,
    },
    /// The connection closed while the command ran: clean up its SIP side.
    CommandCancelled {
        /// The command.
        cmd_id: Arc<str>,
    },
    /// A request was refused with a JSON-RPC error (sent, unless it came as a notification).
    RequestRejected {
        /// The request's id, when it had one.
        id: Option<Id>,
        /// The error code.
        code: i64,
        /// The error message.
        message: String,
    },
}

/// What the server asks of the runtime.
pub type ServerOutput = crate::Output<(), ServerEvent>;

/// Events the application cannot send as progress: the machine sends them.
const RESERVED: [&str; 3] = ["Started", "Ended", "Error"];

/// The Call API server machine for one connection.
///
/// | input | on it |
/// |---|---|
/// | not JSON | -32700, id null |
/// | not a valid request (version, method, params, id types), `[]` | -32600 |
/// | unknown method (exact, case-sensitive) | -32601 |
/// | bad params: not an object, a required one missing or empty, not a string, a bad `leg`, a non-string `cmd_id`, a `cmd_id` already running | -32602 naming the param |
/// | over `max_running` | -32000 |
/// | a valid command | `{"cmd_id", "event": "Started"}` (cmd_id given or generated), event `CommandStarted`, `command` timer |
/// | `Echo` | `Started`, then `Reply` with the params, then `Ended`, by the machine |
/// | a batch | one array of the answers (none for notifications), then the commands' notifications |
/// | [`Server::notify`] | a progress notification (not `Started`/`Ended`/`Error`) |
/// | [`Server::fail`] | `Error` with the text, then `Ended` |
/// | [`Server::end`] | `Ended` |
/// | `command` timer | `Error "timeout"`, `Ended`, event `CommandTimedOut` |
/// | [`Server::handle_close`] | every running command reported `CommandCancelled` |
///
/// A request without an `id` is a notification: it runs, but nothing answers it, not even
/// an error. Nothing is ever sent for a command after its `Ended`.
///
/// ```
/// use callsig::callapi::{Server, ServerConfig, ServerOutput};
/// use callsig::Timestamp;
///
/// let mut server = Server::new(ServerConfig::default());
/// server.handle_frame(Timestamp::ZERO, &(), r#"{"jsonrpc":"2.0","id":1,"method":"CallEnd","params":{"callid":"x","cmd_id":"c1"}}"#);
/// let ServerOutput::Transmit { text, .. } = server.poll_output() else { panic!() };
/// assert_eq!(text, r#"{"jsonrpc":"2.0","id":1,"result":{"cmd_id":"c1","event":"Started"}}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "super::checkpoint::ServerCheckpoint")]
pub struct Server {
    pub(super) config: ServerConfig,
    pub(super) closed: bool,
    pub(super) next_cmd: u64,
    /// Running commands with their `command` timers. Nothing is sent in the map's order:
    /// what iterates it sorts first, and a checkpoint writes it in cmd_id order.
    pub(super) running: Running,
    pub(super) out: VecDeque<ServerOutput>,
}

/// What one request of a frame produced: its answer (if any, written), then its
/// notifications and the application's event (at most one per request), which must follow
/// the answer.
struct Handled {
    response: Option<String>,
    notifications: Vec<String>,
    event: Option<ServerEvent>,
}

impl Server {
    /// A server for a newly opened connection.
    pub fn new(config: ServerConfig) -> Self {
        Server {
            config,
            closed: false,
            next_cmd: 1,
            running: Running::default(),
            out: VecDeque::new(),
        }
    }

    /// The commands running, by cmd_id (in cmd_id order), with their method.
    pub fn running(&self) -> impl Iterator<Item = (&str, &str)> {
        self.running.sorted().into_iter()
    }

    /// The earliest timer and its deadline.
    pub fn next_timer(&self) -> Option<(Timestamp, &ServerTimer)> {
        self.running.next_timer()
    }

    /// The next output. Call after every input until it returns [`ServerOutput::Timeout`].
    pub fn poll_output(&mut self) -> ServerOutput {
        self.out
            .pop_front()
            .unwrap_or_else(|| ServerOutput::Timeout(self.running.next_timer().map(|(at, _)| at)))
    }

    // ---- inputs ------------------------------------------------------------------------

    /// A text frame arrived. [`Routing::NotMine`] once the connection has closed.
    pub fn handle_frame(&mut self, now: Timestamp, conn: &(), text: &str) -> Routing {
        let () = conn;
        if self.closed {
            return Routing::NotMine;
        }
        let incoming = if text.len() > self.config.max_frame_len {
            IncomingRaw::Invalid(Response {
                id: Id::Null,
                outcome: Err(ErrorObject::new(
                    INVALID_REQUEST,
                    "invalid request: frame too large",
                )),
            })
        } else if let Some((id, parsed)) = read_call(text, self.daemon()) {
            // The hot path: a call command, its params read with the request.
            let h = self.run(now, id, parsed);
            self.answer(h);
            return Routing::Handled;
        } else {
            read_incoming_raw(text, self.config.max_batch)
        };
        match incoming {
            IncomingRaw::Invalid(r) => {
                self.transmit(r.encode());
                self.rejected(None, &r);
            }
            IncomingRaw::Single(item) => {
                let h = self.handle(now, item);
                self.answer(h);
            }
            IncomingRaw::Batch(items) => {
                let mut handled: Vec<Handled> =
                    items.into_iter().map(|i| self.handle(now, i)).collect();
                // The answers in one array (compact JSON: joined by commas); an array of
                // only notifications gets nothing at all.
                let mut array = String::new();
                for h in &mut handled {
                    if let Some(r) = h.response.take() {
                        array.push(if array.is_empty() { '[' } else { ',' });
                        array.push_str(&r);
                    }
                }
                if !array.is_empty() {
                    array.push(']');
                    self.transmit(array);
                }
                for h in handled {
                    self.follow_up(h);
                }
            }
        }
        Routing::Handled
    }

    /// The connection closed: every running command is cancelled. The close code is not
    /// used (the Call API gives close codes no meaning). [`Routing::NotMine`] when it had
    /// closed already.
    pub fn handle_close(&mut self, now: Timestamp, conn: &(), code: Option<CloseCode>) -> Routing {
        // Every input takes the time and the close; this one needs neither.
        let ((), _, _) = (conn, now, code);
        if self.closed {
            return Routing::NotMine;
        }
        self.closed = true;
        for cmd_id in self.running.take_all() {
            self.event(ServerEvent::CommandCancelled { cmd_id });
        }
        Routing::Handled
    }

    /// Fires every timer due at or before `now`. Safe to call early, late or twice.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        while let Some((cmd_id, method)) = self.running.pop_due(now) {
            let error = notification(
                &method,
                &cmd_id,
                "Error",
                Some(&Value::String("timeout".into())),
            );
            self.transmit(error);
            self.transmit(notification(&method, &cmd_id, "Ended", None));
            self.event(ServerEvent::CommandTimedOut { cmd_id });
        }
    }

    // ---- inputs: application -----------------------------------------------------------

    /// Sends a progress event of a running command by name, with its `data` as given
    /// ([`Server::notify_event`] sends a typed [`CallEvent`]).
    pub fn notify(
        &mut self,
        now: Timestamp,
        cmd_id: &str,
        event: &str,
        data: Option<Value>,
    ) -> Result<(), UsageError> {
        // Every input takes the time; this one does not need it.
        let _ = now;
        if RESERVED.contains(&event) {
            return Err(UsageError::InvalidMessage {
                message: "notify".into(),
                field: format!(
                    "an event other than {event} (Started, Ended and Error are the machine's)"
                ),
            });
        }
        let method = self.method_of(cmd_id)?;
        self.transmit(notification(&method, cmd_id, event, data.as_ref()));
        Ok(())
    }

    /// Sends a progress event of a running command, typed: the client reads it back as the
    /// same [`CallEvent`]. `Other` events named `Started`, `Ended` or `Error` are refused
    /// (those are the machine's), as by [`Server::notify`].
    ///
    /// ```
    /// use callsig::callapi::{CallEvent, Server, ServerConfig, ServerOutput};
    /// use callsig::Timestamp;
    ///
    /// let mut server = Server::new(ServerConfig::default());
    /// let now = Timestamp::ZERO;
    /// server.handle_frame(now, &(), r#"{"jsonrpc":"2.0","id":1,"method":"CallHold","params":{"callid":"c","cmd_id":"h1"}}"#);
    /// while !matches!(server.poll_output(), ServerOutput::Timeout(_)) {}
    /// server.notify_event(now, "h1", &CallEvent::CallHoldStart { leg: Some("caller".into()) }).unwrap();
    /// let ServerOutput::Transmit { conn: (), text: frame } = server.poll_output() else { panic!() };
    /// assert_eq!(frame, r#"{"jsonrpc":"2.0","method":"CallHold","params":{"cmd_id":"h1","event":"CallHoldStart","data":{"leg":"caller"}}}"#);
    /// ```
    pub fn notify_event(
        &mut self,
        now: Timestamp,
        cmd_id: &str,
        event: &CallEvent,
    ) -> Result<(), UsageError> {
        let (name, data) = event.to_wire();
        self.notify(now, cmd_id, name, data)
    }

    /// Fails a running command: `Error` with `message`, then `Ended`.
    pub fn fail(&mut self, now: Timestamp, cmd_id: &str, message: &str) -> Result<(), UsageError> {
        // Every input takes the time; this one does not need it.
        let _ = now;
        let method = self.method_of(cmd_id)?;
        self.finish(cmd_id);
        self.transmit(notification(
            &method,
            cmd_id,
            "Error",
            Some(&Value::String(message.to_owned())),
        ));
        self.transmit(notification(&method, cmd_id, "Ended", None));
        Ok(())
    }

    /// Ends a running command: `Ended`.
    pub fn end(&mut self, now: Timestamp, cmd_id: &str) -> Result<(), UsageError> {
        // Every input takes the time; this one does not need it.
        let _ = now;
        let method = self.method_of(cmd_id)?;
        self.finish(cmd_id);
        self.transmit(notification(&method, cmd_id, "Ended", None));
        Ok(())
    }

    // ---- internals ---------------------------------------------------------------------

    fn method_of(&self, cmd_id: &str) -> Result<Cow<'static, str>, UsageError> {
        if self.closed {
            return Err(UsageError::WrongState {
                action: "drive a command",
                state: "closed",
            });
        }
        self.running
            .method(cmd_id)
            .cloned()
            .ok_or_else(|| UsageError::UnknownCommand {
                cmd_id: cmd_id.to_owned(),
            })
    }

    fn finish(&mut self, cmd_id: &str) {
        self.running.finish(cmd_id);
    }

    fn transmit(&mut self, text: String) {
        self.out
            .push_back(ServerOutput::Transmit { conn: (), text });
    }

    fn event(&mut self, e: ServerEvent) {
        self.out.push_back(ServerOutput::Event(e));
    }

    fn rejected(&mut self, id: Option<Id>, r: &Response) {
        if let Some(e) = rejection(id, r) {
            self.event(e);
        }
    }

    /// A single request's outputs, in order: its answer, then the rest.
    fn answer(&mut self, mut h: Handled) {
        if let Some(r) = h.response.take() {
            self.transmit(r);
        }
        self.follow_up(h);
    }

    /// After a request's answer: its notifications, then what the application hears.
    fn follow_up(&mut self, h: Handled) {
        for n in h.notifications {
            self.transmit(n);
        }
        if let Some(e) = h.event {
            self.event(e);
        }
    }

    /// Handles one request of a frame. A notification's answer is dropped.
    fn handle(&mut self, now: Timestamp, item: Result<RequestRaw<'_>, Response>) -> Handled {
        let request = match item {
            Ok(r) => r,
            Err(r) => {
                let event = rejection(Some(r.id.clone()).filter(|id| *id != Id::Null), &r);
                return Handled {
                    response: Some(r.encode()),
                    notifications: Vec::new(),
                    event,
                };
            }
        };
        let parsed = read_command(&request.method, request.params, self.daemon());
        self.run(now, request.id, parsed)
    }

    fn daemon(&self) -> bool {
        self.config.param_errors == ParamErrors::Daemon
    }

    /// Starts a read command (or answers why it could not be read).
    fn run(
        &mut self,
        now: Timestamp,
        id: Option<Id>,
        parsed: Result<Parsed<'_>, ErrorObject>,
    ) -> Handled {
        let mut h = Handled {
            response: None,
            notifications: Vec::new(),
            event: None,
        };
        let outcome = parsed.and_then(|parsed| self.start(now, id.as_ref(), parsed, &mut h));
        if let Err(e) = outcome {
            h.event = Some(ServerEvent::RequestRejected {
                id: id.clone(),
                code: e.code,
                message: e.message.clone(),
            });
            h.response = id.map(|id| {
                Response {
                    id,
                    outcome: Err(e),
                }
                .encode()
            });
        }
        h
    }

    /// Starts a command: `Started` (for a request with an id), then what follows it.
    fn start(
        &mut self,
        now: Timestamp,
        id: Option<&Id>,
        parsed: Parsed<'_>,
        h: &mut Handled,
    ) -> Result<(), ErrorObject> {
        let given = match &parsed {
            Parsed::Command(_, given) | Parsed::Missing { given, .. } => given.as_deref(),
        };
        if let Some(c) = given {
            if self.running.contains(c) {
                return Err(ErrorObject::new(
                    INVALID_PARAMS,
                    format!("parameter cmd_id: command {c} is already running"),
                ));
            }
        }
        if self.running.len() >= self.config.max_running {
            return Err(ErrorObject::new(SERVER_ERROR, "too many running commands"));
        }
        let cmd_id: Arc<str> = match given {
            Some(c) => c.into(),
            None => self.generate_cmd_id().as_str().into(),
        };
        h.response = id.map(|id| Started::new(id, &cmd_id).encode());
        let command = match parsed {
            Parsed::Command(command, _) => command,
            Parsed::Missing { method, param, .. } => {
                // The daemon's way: started, failed, ended.
                let data = Value::String(format!("{param} not specified"));
                h.notifications
                    .push(notification(method, &cmd_id, "Error", Some(&data)));
                h.notifications
                    .push(notification(method, &cmd_id, "Ended", None));
                h.event = Some(ServerEvent::RequestRejected {
                    id: id.cloned(),
                    code: INVALID_PARAMS,
                    message: ParamError::Missing(param).to_string(),
                });
                return Ok(());
            }
        };
        let method = command.method();
        if let Command::Echo { params } = &command {
            h.notifications
                .push(notification(method, &cmd_id, "Reply", Some(params)));
            h.notifications
                .push(notification(method, &cmd_id, "Ended", None));
        } else {
            self.running.start(
                cmd_id.clone(),
                method,
                now.after(self.config.command_timeout),
            );
            h.event = Some(ServerEvent::CommandStarted {
                cmd_id,
                id: id.cloned(),
                command,
            });
        }
        Ok(())
    }

    /// A UUID-shaped id from the seed and a counter, skipping any that is running.
    fn generate_cmd_id(&mut self) -> GeneratedId {
        loop {
            let n = self.next_cmd;
            self.next_cmd = self.next_cmd.wrapping_add(1);
            let id = GeneratedId::new(self.config.cmd_id_seed, n);
            if !self.running.contains(id.as_str()) {
                return id;
            }
        }
    }
}

/// A generated cmd_id, `ssssssss-ssss-4000-8000-nnnnnnnnnnnn` (seed, then counter, in
/// lowercase hex), written on the stack: it is copied into the command's buffer.
struct GeneratedId([u8; 36]);

impl GeneratedId {
    fn new(seed: u64, n: u64) -> GeneratedId {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut b = *b"00000000-0000-4000-8000-000000000000";
        let mut put = |range: std::ops::Range<usize>, mut v: u64| {
            for i in range.rev() {
                b[i] = HEX[(v & 0xf) as usize];
                v >>= 4;
            }
        };
        put(0..8, seed & 0xffff_ffff);
        put(9..13, (seed >> 32) & 0xffff);
        put(24..36, n & 0xffff_ffff_ffff);
        GeneratedId(b)
    }

    fn as_str(&self) -> &str {
        // Hex digits and dashes only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The `Started` answer to a request, written straight from its cmd_id.
#[derive(Serialize)]
struct Started<'a> {
    jsonrpc: &'static str,
    id: &'a Id,
    result: StartedResult<'a>,
}

#[derive(Serialize)]
struct StartedResult<'a> {
    cmd_id: &'a str,
    event: &'static str,
}

impl<'a> Started<'a> {
    fn new(id: &'a Id, cmd_id: &'a str) -> Self {
        Started {
            jsonrpc: "2.0",
            id,
            result: StartedResult {
                cmd_id,
                event: "Started",
            },
        }
    }

    fn encode(&self) -> String {
        // With a plain id, written by hand: serde's map writer cost as much as reading the
        // request. (Same bytes: see the tests.)
        use crate::json_out::{str_to_string, u64_to_string};
        let (id, cmd_id) = (self.id, self.result.cmd_id);
        // The frame's fixed text is 64 bytes; an id of up to 20 digits, or a plain string
        // id, fits without growing.
        let id_len = match id {
            Id::String(s) => s.len() + 2,
            _ => 20,
        };
        let mut out = String::with_capacity(64 + id_len + cmd_id.len());
        out.push_str(r#"{"jsonrpc":"2.0","id":"#);
        match (id, id_u64(id)) {
            (_, Some(n)) => u64_to_string(&mut out, n),
            (Id::String(s), _) => str_to_string(&mut out, s),
            _ => return serde_json::to_string(self).unwrap_or_default(),
        }
        out.push_str(r#","result":{"cmd_id":"#);
        str_to_string(&mut out, cmd_id);
        out.push_str(r#","event":"Started"}}"#);
        out
    }
}

fn id_u64(id: &Id) -> Option<u64> {
    match id {
        Id::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn rejection(id: Option<Id>, r: &Response) -> Option<ServerEvent> {
    let e = r.outcome.as_ref().err()?;
    Some(ServerEvent::RequestRejected {
        id,
        code: e.code,
        message: e.message.clone(),
    })
}

/// A progress notification: `{"jsonrpc":"2.0","method":…,"params":{"cmd_id","event","data"?}}`.
pub(crate) fn notification(
    method: &str,
    cmd_id: &str,
    event: &str,
    data: Option<&Value>,
) -> String {
    #[derive(Serialize)]
    struct Params<'a> {
        cmd_id: &'a str,
        event: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<&'a Value>,
    }
    #[derive(Serialize)]
    struct N<'a> {
        jsonrpc: &'static str,
        method: &'a str,
        params: Params<'a>,
    }
    serde_json::to_string(&N {
        jsonrpc: "2.0",
        method,
        params: Params {
            cmd_id,
            event,
            data,
        },
    })
    .unwrap_or_default()
}

/// The transport inputs of [`Server`], as inherent methods take them. The server is made
/// for a connection already open, so `Open` does nothing.
impl Machine for Server {
    machine_inputs!(server, conn (), event ServerEvent,
        open |_server, _now, _conn, _url, _protocols| Ok::<(), UsageError>(()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Generated cmd_ids are `{:08x}-{:04x}-4000-8000-{:012x}` of the seed's parts and
        /// the counter.
        #[test]
        fn generated_ids_are_the_uuid_shape(seed in any::<u64>(), n in any::<u64>()) {
            let expected = format!(
                "{:08x}-{:04x}-4000-8000-{:012x}",
                seed & 0xffff_ffff,
                (seed >> 32) & 0xffff,
                n & 0xffff_ffff_ffff
            );
            let id = GeneratedId::new(seed, n);
            prop_assert_eq!(id.as_str(), expected);
        }
    }

    fn any_id() -> impl Strategy<Value = Id> {
        prop_oneof![
            any::<u64>().prop_map(|n| Id::Number(n.into())),
            any::<i64>().prop_map(|n| Id::Number(n.into())),
            ".{0,8}".prop_map(Id::String),
            Just(Id::Null),
            Just(Id::from_value(&serde_json::json!(1.5)).unwrap_or(Id::Null)),
        ]
    }

    proptest! {
        /// The hand-written `Started` is the bytes serde writes.
        #[test]
        fn started_is_written_as_serde_writes_it(id in any_id(), cmd_id in ".{0,12}") {
            let reply = Started::new(&id, &cmd_id);
            prop_assert_eq!(reply.encode(), serde_json::to_string(&reply).unwrap());
        }
    }
}
