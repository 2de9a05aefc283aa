//! The core side of WTSP: many connections, their accounts, and each account's lines.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;

use serde::{Deserialize, Serialize};

use crate::timer::TimerQueue;
use crate::wtsp::client::SUBPROTOCOL;
use crate::wtsp::message::{Handshake, Message};
use crate::wtsp::request::ResponseKind;
use crate::wtsp::url::SignalingUrl;
use crate::wtsp::values::{Line, Registration, RegistrationStatus};
use crate::wtsp::{Event, EventKind};
use crate::{CloseCode, Machine, Routing};

mod account;
mod api;
mod partition;
mod requests;

use crate::{Timestamp, UsageError};
use account::*;
pub use api::*;
pub use partition::AccountPartition;

/// The WTSP server machine, generic over the caller's connection id `C`.
///
/// A connection goes `AwaitingAuth` → `Attached`:
///
/// | input                                  | on it                                                   |
/// |----------------------------------------|---------------------------------------------------------|
/// | [`Server::handle_open`]                | no `webtrit-protocol`: close 1002; bad path: close 1008; no token: close 4201; else event `Authenticate` |
/// | [`Server::attach`] (`AwaitingAuth`)    | force rules (old closed 4441, or new refused 4431), then `state` sent |
/// | [`Server::reject`]                     | close with the application's code                       |
/// | frame: `keepalive`                     | echoed verbatim                                         |
/// | frame: not a JSON object, no kind, a response/event/other handshake, a request before `state`, a request without `transaction` | close 4501 |
/// | frame: unknown request                 | `error` 453                                             |
/// | frame: missing mandatory field         | `error` 456                                             |
/// | frame: field of the wrong type, line out of range | `error` 467                                  |
/// | frame: `outgoing_call` on a busy line  | `error` 503 "busy line"                                 |
/// | frame: call request, call not on line  | `error` 458 "call not found on line"                    |
/// | frame: valid request                   | event `Request`; the application must [`Server::respond`] |
/// | `request` timer                        | `error` 490 "request execute timeout", event `RequestTimedOut` |
/// | `idle` timer (2 × keepalive_interval with no frame) | close 4502                                 |
/// | [`Server::handle_close`]               | event `Closed`                                          |
///
/// Every connection that leaves the machine, for whatever reason, is reported once as
/// `Closed`. Every request with a transaction gets exactly one response.
///
/// Accounts outlive their connections, so a client that reconnects finds its calls and
/// their `call_logs` in the `state` handshake. Call-log times are wall-clock: the machine
/// has only the application's `timestamp` of each attach, and dates each entry that long
/// before it as the entry is older on the machine's monotonic clock.
///
/// ```
/// use callsig::wtsp::{Server, ServerConfig, ServerOutput, ServerEvent, Attach};
/// use callsig::Timestamp;
///
/// let mut server: Server<u32> = Server::new(ServerConfig::default());
/// let now = Timestamp::ZERO;
/// let _ = server.handle_open(now, 7, "/signaling/v1?token=t", &["webtrit-protocol"]);
/// let ServerOutput::Event(ServerEvent::Authenticate { token, .. }) = server.poll_output() else { panic!() };
/// assert_eq!(token.expose(), "t");
/// server.attach(now, &7, Attach { account: "alice".into(), timestamp: 1, registration: None }).unwrap();
/// let ServerOutput::Transmit { text, .. } = server.poll_output() else { panic!() };
/// assert!(text.starts_with(r#"{"handshake":"state""#));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(
        serialize = "C: Serialize",
        deserialize = "C: Deserialize<'de> + Ord + Clone"
    ),
    try_from = "Checkpoint<C>"
)]
pub struct Server<C: Ord + Clone> {
    config: ServerConfig,
    #[serde(with = "crate::serde_pairs")]
    conns: BTreeMap<C, Conn>,
    accounts: BTreeMap<String, Account<C>>,
    timers: TimerQueue<ServerTimer<C>>,
    out: VecDeque<ServerOutput<C>>,
}

/// What a checkpoint holds, before it is checked.
#[derive(Deserialize)]
#[serde(bound(deserialize = "C: Deserialize<'de> + Ord + Clone"))]
struct Checkpoint<C: Ord + Clone> {
    config: ServerConfig,
    #[serde(with = "crate::serde_pairs")]
    conns: BTreeMap<C, Conn>,
    accounts: BTreeMap<String, Account<C>>,
    timers: TimerQueue<ServerTimer<C>>,
    out: VecDeque<ServerOutput<C>>,
}

/// A checkpoint is untrusted: it restores only when a server could have written it (an
/// attached connection and its account name each other, every account has the configured
/// lines and logs within their bounds, every timer belongs to a connection or a pending
/// request that exists, every count within the config's limits).
impl<C: Ord + Clone> TryFrom<Checkpoint<C>> for Server<C> {
    type Error = String;

    fn try_from(c: Checkpoint<C>) -> Result<Self, String> {
        let limits = &c.config;
        if limits.lines > Server::<C>::MAX_LINES {
            return Err("more lines than MAX_LINES".into());
        }
        if c.conns.len() > limits.max_connections || c.accounts.len() > limits.max_accounts {
            return Err("more connections or accounts than the config allows".into());
        }
        for (conn, state) in &c.conns {
            if state.pending.len() > limits.max_pending_requests {
                return Err("more pending requests than the config allows".into());
            }
            if let ConnState::Attached { account } = &state.state {
                if c.accounts.get(account).and_then(|a| a.conn.as_ref()) != Some(conn) {
                    return Err(format!(
                        "a connection is attached to {account:?}, which is not attached to it"
                    ));
                }
            } else if !state.pending.is_empty() {
                return Err("requests pending on a connection not attached".into());
            }
        }
        for (name, acc) in &c.accounts {
            if let Some(conn) = &acc.conn {
                let attached = matches!(
                    c.conns.get(conn).map(|s| &s.state),
                    Some(ConnState::Attached { account }) if account == name
                );
                if !attached {
                    return Err(format!(
                        "account {name:?} names a connection not attached to it"
                    ));
                }
            }
            if acc.lines.len() != limits.lines || (acc.guest.is_some() && !limits.guest_line) {
                return Err(format!("account {name:?} has other lines than the config"));
            }
            let calls = acc
                .lines
                .iter()
                .chain(std::iter::once(&acc.guest))
                .flatten();
            if calls
                .into_iter()
                .any(|call| call.log.len() > limits.call_log_len)
            {
                return Err(format!("account {name:?} has a call log past call_log_len"));
            }
        }
        for (timer, _) in c.timers.iter() {
            let ok = match timer {
                ServerTimer::Idle(conn) => c.conns.contains_key(conn),
                ServerTimer::Request(conn, tx) => c
                    .conns
                    .get(conn)
                    .is_some_and(|s| s.pending.contains_key(tx)),
            };
            if !ok {
                return Err(format!("a {} timer for nothing", timer.name()));
            }
        }
        Ok(Server {
            config: c.config,
            conns: c.conns,
            accounts: c.accounts,
            timers: c.timers,
            out: c.out,
        })
    }
}

impl<C: Ord + Clone> Server<C> {
    /// The most lines an account can have.
    pub const MAX_LINES: usize = 256;
}

impl<C: Ord + Clone + Debug> Server<C> {
    /// A server with no connections and no accounts.
    pub fn new(mut config: ServerConfig) -> Self {
        // Every account holds this many line slots: a huge value would be a huge
        // allocation per login.
        config.lines = config.lines.min(Self::MAX_LINES);
        Server {
            config,
            conns: BTreeMap::new(),
            accounts: BTreeMap::new(),
            timers: TimerQueue::new(),
            out: VecDeque::new(),
        }
    }

    // ---- views -------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// A connection's state.
    pub fn connection(&self, conn: &C) -> Option<&ConnState> {
        self.conns.get(conn).map(|c| &c.state)
    }

    /// How many connections are open.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// The connection attached to an account.
    pub fn account_connection(&self, account: &str) -> Option<&C> {
        self.accounts.get(account)?.conn.as_ref()
    }

    /// The call on each of an account's lines (numbered lines, then the guest line).
    pub fn account_lines(&self, account: &str) -> Option<Vec<(Line, Option<&str>)>> {
        let a = self.accounts.get(account)?;
        let mut v: Vec<_> = a
            .lines
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    Line::Index(i as u32),
                    c.as_ref().map(|c| c.call_id.as_str()),
                )
            })
            .collect();
        if self.config.guest_line {
            v.push((Line::Guest, a.guest.as_ref().map(|c| c.call_id.as_str())));
        }
        Some(v)
    }

    /// The transactions a connection waits on the application for.
    pub fn pending_requests(&self, conn: &C) -> Vec<&str> {
        self.conns
            .get(conn)
            .map(|c| c.pending.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The connections on which `transaction` waits for the application's answer.
    pub fn connections_awaiting(&self, transaction: &str) -> Vec<&C> {
        self.conns
            .iter()
            .filter(|(_, c)| c.pending.contains_key(transaction))
            .map(|(conn, _)| conn)
            .collect()
    }

    /// The earliest timer and its deadline.
    pub fn next_timer(&self) -> Option<(Timestamp, &ServerTimer<C>)> {
        self.timers.next()
    }

    // ---- output ------------------------------------------------------------------------

    /// The next output. Call after every input until it returns [`ServerOutput::Timeout`].
    pub fn poll_output(&mut self) -> ServerOutput<C> {
        self.out
            .pop_front()
            .unwrap_or_else(|| ServerOutput::Timeout(self.timers.next().map(|(at, _)| at)))
    }

    // ---- inputs: transport -------------------------------------------------------------

    /// A WebSocket connection was accepted with this request URL (path and query, or a full
    /// URL) and these offered sub-protocols.
    pub fn handle_open<P: AsRef<str>>(
        &mut self,
        now: Timestamp,
        conn: C,
        url: &str,
        protocols: &[P],
    ) -> Result<(), UsageError> {
        if self.conns.contains_key(&conn) {
            return Err(UsageError::ConnectionExists {
                conn: format!("{conn:?}"),
            });
        }
        let refuse = |s: &mut Self, conn: C, code: CloseCode, reason: String| {
            s.out.push_back(ServerOutput::Close {
                conn: conn.clone(),
                code,
                reason: reason.clone(),
            });
            s.event(ServerEvent::Closed {
                conn,
                account: None,
                code: Some(code),
                reason,
            });
        };
        if self.conns.len() >= self.config.max_connections {
            refuse(
                self,
                conn,
                CloseCode::TryAgainLater,
                "too many connections".into(),
            );
            return Ok(());
        }
        if !protocols.iter().any(|p| p.as_ref() == SUBPROTOCOL) {
            let reason = format!("sub-protocol {SUBPROTOCOL} required");
            refuse(self, conn, CloseCode::ProtocolError, reason);
            return Ok(());
        }
        let url = match SignalingUrl::parse(url) {
            Ok(u) => u,
            Err(e @ super::url::UrlError::NoToken) => {
                refuse(self, conn, CloseCode::SessionMissed, e.to_string());
                return Ok(());
            }
            Err(e) => {
                refuse(self, conn, CloseCode::PolicyViolation, e.to_string());
                return Ok(());
            }
        };
        self.conns.insert(
            conn.clone(),
            Conn {
                state: ConnState::AwaitingAuth {
                    token: url.token.clone(),
                    force: url.force,
                },
                pending: BTreeMap::new(),
            },
        );
        self.arm_idle(now, &conn);
        self.event(ServerEvent::Authenticate {
            conn,
            token: url.token,
            force: url.force,
            tenant: url.tenant,
        });
        Ok(())
    }

    /// The transport closed the connection.
    pub fn handle_close(&mut self, now: Timestamp, conn: &C, code: Option<CloseCode>) -> Routing {
        // Every input takes the time; this one does not need it.
        let _ = now;
        if !self.conns.contains_key(conn) {
            return Routing::NotMine;
        }
        self.drop_conn(conn, code, "closed by peer".into());
        Routing::Handled
    }

    /// A text frame arrived on a connection.
    pub fn handle_frame(&mut self, now: Timestamp, conn: &C, text: &str) -> Routing {
        let Some(c) = self.conns.get(conn) else {
            return Routing::NotMine;
        };
        let attached = matches!(c.state, ConnState::Attached { .. });
        self.arm_idle(now, conn);
        if text.len() > self.config.max_frame_len {
            let reason = format!("frame of {} bytes", text.len());
            self.close_for(conn, CloseCode::MessageTooBig, reason);
            return Routing::Handled;
        }
        match Message::decode_at_server(text) {
            // A keepalive is echoed verbatim.
            Ok(None) => {
                self.transmit(conn, text.to_owned());
            }
            Ok(Some(Message::Request(r))) if attached => self.on_request(now, conn, r),
            Ok(Some(Message::Request(_))) => self.close_for(
                conn,
                CloseCode::SignalingMessageError,
                "request before state".into(),
            ),
            Ok(Some(other)) => {
                let what = match other {
                    Message::Handshake(_) => "handshake",
                    Message::Response(_) => "response",
                    _ => "event",
                };
                let reason = format!("unexpected {what} from client");
                self.close_for(conn, CloseCode::SignalingMessageError, reason);
            }
            Err(e) => self.on_bad_frame(conn, attached, e),
        }
        Routing::Handled
    }

    /// Fires every timer due at or before `now`. Safe to call early, late or twice.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        // Each armed timer fires at most once per call: one re-armed at a deadline not
        // after `now` (only a clock at its very end allows that) waits for the next call.
        for _ in 0..=self.timers.len() {
            let Some((_, timer)) = self.timers.pop_due(now) else {
                break;
            };
            match timer {
                ServerTimer::Idle(conn) => {
                    self.close_for(
                        &conn,
                        CloseCode::KeepaliveTimeout,
                        "keepalive timeout".into(),
                    );
                }
                ServerTimer::Request(conn, transaction) => {
                    if self.answer(
                        &conn,
                        &transaction,
                        ResponseKind::Error {
                            code: code::UNKNOWN_ERROR,
                            reason: "request execute timeout".into(),
                        },
                    ) {
                        self.event(ServerEvent::RequestTimedOut { conn, transaction });
                    }
                }
            }
        }
    }

    // ---- inputs: application -----------------------------------------------------------

    /// Attaches an authenticated connection to its account and sends `state`.
    ///
    /// Another connection of the account is closed with 4441 when this one asked
    /// `force=true`; otherwise this one is refused with 4431.
    pub fn attach(&mut self, now: Timestamp, conn: &C, attach: Attach) -> Result<(), UsageError> {
        let Some(c) = self.conns.get(conn) else {
            return Err(unknown_conn(conn));
        };
        let ConnState::AwaitingAuth { force, .. } = c.state else {
            return Err(UsageError::WrongState {
                action: "attach",
                state: "attached",
            });
        };
        if !self.accounts.contains_key(&attach.account) && !self.make_room_for_account() {
            self.close_for(conn, CloseCode::TryAgainLater, "too many accounts".into());
            return Ok(());
        }
        let lines = self.config.lines;
        let account = self
            .accounts
            .entry(attach.account.clone())
            .or_insert_with(|| Account {
                conn: None,
                registration: Registration::new(RegistrationStatus::Registered),
                lines: vec![None; lines],
                guest: None,
            });
        if let Some(old) = account.conn.clone() {
            if force {
                self.close_for(
                    &old,
                    CloseCode::ForceAttachClose,
                    "force attach close".into(),
                );
            } else {
                self.close_for(
                    conn,
                    CloseCode::ControllerAttached,
                    "controller attached".into(),
                );
                return Ok(());
            }
        }
        let Some(account) = self.accounts.get_mut(&attach.account) else {
            return Ok(());
        };
        account.conn = Some(conn.clone());
        if let Some(r) = attach.registration {
            account.registration = r;
        }
        let state = state_of(&self.config, account, now, attach.timestamp);
        if let Some(c) = self.conns.get_mut(conn) {
            c.state = ConnState::Attached {
                account: attach.account.clone(),
            };
        }
        self.transmit(conn, Message::Handshake(Handshake::State(state)).encode());
        self.event(ServerEvent::Attached {
            conn: conn.clone(),
            account: attach.account,
        });
        Ok(())
    }

    /// Refuses an authenticating connection (or closes an attached one) with `code`.
    pub fn reject(
        &mut self,
        now: Timestamp,
        conn: &C,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), UsageError> {
        // Every input takes the time; this one does not need it.
        let _ = now;
        if !self.conns.contains_key(conn) {
            return Err(unknown_conn(conn));
        }
        self.close_for(conn, code, reason.to_owned());
        Ok(())
    }

    /// Answers a request. Each transaction is answered once: a second answer, or one after
    /// the machine answered on timeout, is refused.
    pub fn respond(
        &mut self,
        now: Timestamp,
        conn: &C,
        transaction: &str,
        kind: ResponseKind,
    ) -> Result<(), UsageError> {
        // Every input takes the time; this one does not need it.
        let _ = now;
        if !self.conns.contains_key(conn) {
            return Err(unknown_conn(conn));
        }
        if self.answer(conn, transaction, kind) {
            Ok(())
        } else {
            Err(UsageError::UnknownTransaction {
                transaction: transaction.to_owned(),
                conn: format!("{conn:?}"),
            })
        }
    }

    /// Sends an event to an account's client, keeping its lines and call logs.
    ///
    /// `incoming_call` without a line takes the first free line; with none free the client
    /// gets `missed_call` and the application [`ServerEvent::IncomingCallMissed`]. A call
    /// event without a line goes to the line that carries its call. `hangup` frees the line.
    pub fn send_event(
        &mut self,
        now: Timestamp,
        account: &str,
        mut event: Event,
    ) -> Result<Delivery, UsageError> {
        let lines = self.config.lines;
        let guest_line = self.config.guest_line;
        let log_len = self.config.call_log_len;
        let Some(acc) = self.accounts.get_mut(account) else {
            return Err(UsageError::UnknownAccount {
                account: account.to_owned(),
            });
        };
        if let Some(Line::Index(i)) = event.line {
            if i as usize >= lines {
                return Err(UsageError::NoSuchLine {
                    line: i.to_string(),
                    lines,
                });
            }
        }
        if event.line == Some(Line::Guest) && !guest_line {
            return Err(UsageError::NoSuchLine {
                line: "guest".into(),
                lines,
            });
        }
        if let (EventKind::IncomingCall(offer), Some(call_id)) = (&event.kind, &event.call_id) {
            let line = match event.line {
                Some(l) => {
                    if let Some(busy) = slot(acc, l).and_then(|s| s.as_ref()) {
                        if busy.call_id != *call_id {
                            return Err(UsageError::LineBusy {
                                line: line_name(l),
                                call_id: busy.call_id.clone(),
                            });
                        }
                    }
                    Some(l)
                }
                None => acc
                    .lines
                    .iter()
                    .position(Option::is_none)
                    .map(|i| Line::Index(i as u32)),
            };
            let Some(line) = line else {
                let missed = Event {
                    transaction: None,
                    line: None,
                    call_id: Some(call_id.clone()),
                    kind: EventKind::MissedCall {
                        callee: offer.callee.clone(),
                        caller: offer.caller.clone(),
                        caller_display_name: offer.caller_display_name.clone(),
                    },
                };
                let call_id = call_id.clone();
                if let Some(conn) = acc.conn.clone() {
                    self.transmit(&conn, Message::Event(missed).encode());
                }
                self.event(ServerEvent::IncomingCallMissed {
                    account: account.to_owned(),
                    call_id,
                });
                return Ok(Delivery::Missed);
            };
            if let Some(s) = slot(acc, line) {
                if s.is_none() {
                    *s = Some(LineCall {
                        call_id: call_id.clone(),
                        log: VecDeque::new(),
                    });
                }
            }
            event.line = Some(line);
        } else if event.line.is_none() {
            if let Some(call_id) = &event.call_id {
                event.line = find_line(acc, call_id);
            }
        }
        if let (Some(line), Some(call_id)) = (event.line, event.call_id.clone()) {
            if let Some(s) = slot(acc, line) {
                if let Some(call) = s.as_mut().filter(|c| c.call_id == call_id) {
                    push_log(call, now, log_entry(&event), log_len);
                    if matches!(event.kind, EventKind::Hangup { .. }) {
                        *s = None;
                    }
                }
            }
        }
        let line = event.line;
        if let EventKind::Registering
        | EventKind::Registered { .. }
        | EventKind::RegistrationFailed { .. }
        | EventKind::Unregistering
        | EventKind::Unregistered = &event.kind
        {
            acc.registration = registration_of(&event.kind);
        }
        let dropped = trim_logs(&self.config, acc);
        let delivery = match acc.conn.clone() {
            Some(conn) => {
                self.transmit(&conn, Message::Event(event).encode());
                Delivery::Sent { line }
            }
            None => Delivery::Stored { line },
        };
        self.logs_trimmed(account, dropped);
        Ok(delivery)
    }

    /// Tells the application that an account's oldest call-log entries went.
    fn logs_trimmed(&mut self, account: &str, dropped: usize) {
        if dropped > 0 {
            self.event(ServerEvent::CallLogsTrimmed {
                account: account.to_owned(),
                dropped,
            });
        }
    }

    /// Forgets an account with no connection (its lines and logs go with it).
    pub fn forget_account(&mut self, account: &str) -> Result<(), UsageError> {
        match self.accounts.get(account) {
            None => Err(UsageError::UnknownAccount {
                account: account.to_owned(),
            }),
            Some(a) if a.conn.is_some() => Err(UsageError::WrongState {
                action: "forget account",
                state: "attached",
            }),
            Some(_) => {
                self.accounts.remove(account);
                Ok(())
            }
        }
    }

    // ---- internals ---------------------------------------------------------------------

    fn event(&mut self, e: ServerEvent<C>) {
        self.out.push_back(ServerOutput::Event(e));
    }

    fn transmit(&mut self, conn: &C, text: String) {
        self.out.push_back(ServerOutput::Transmit {
            conn: conn.clone(),
            text,
        });
    }

    fn arm_idle(&mut self, now: Timestamp, conn: &C) {
        let at = now.after(self.config.keepalive_interval.saturating_mul(2));
        self.timers.set(ServerTimer::Idle(conn.clone()), at);
    }

    /// Room for one more account: true if there is, possibly after forgetting a detached
    /// account with no calls.
    fn make_room_for_account(&mut self) -> bool {
        if self.accounts.len() < self.config.max_accounts {
            return true;
        }
        let idle = self
            .accounts
            .iter()
            .find(|(_, a)| {
                a.conn.is_none() && a.lines.iter().all(Option::is_none) && a.guest.is_none()
            })
            .map(|(k, _)| k.clone());
        match idle {
            Some(k) => {
                self.accounts.remove(&k);
                true
            }
            None => false,
        }
    }

    /// The machine closes a connection: tell the runtime, then forget it.
    fn close_for(&mut self, conn: &C, code: CloseCode, reason: String) {
        if !self.conns.contains_key(conn) {
            return;
        }
        self.out.push_back(ServerOutput::Close {
            conn: conn.clone(),
            code,
            reason: reason.clone(),
        });
        self.drop_conn(conn, Some(code), reason);
    }

    fn drop_conn(&mut self, conn: &C, code: Option<CloseCode>, reason: String) {
        let Some(c) = self.conns.remove(conn) else {
            return;
        };
        self.timers.cancel(&ServerTimer::Idle(conn.clone()));
        for transaction in c.pending.into_keys() {
            self.timers
                .cancel(&ServerTimer::Request(conn.clone(), transaction));
        }
        let account = match c.state {
            ConnState::Attached { account } => {
                if let Some(a) = self.accounts.get_mut(&account) {
                    if a.conn.as_ref() == Some(conn) {
                        a.conn = None;
                    }
                }
                Some(account)
            }
            ConnState::AwaitingAuth { .. } => None,
        };
        self.event(ServerEvent::Closed {
            conn: conn.clone(),
            account,
            code,
            reason,
        });
    }
}

/// The transport inputs of [`Server`], as inherent methods take them.
impl<C: Ord + Clone + Debug> Machine for Server<C> {
    machine_inputs!(server, conn C, event ServerEvent<C>,
        open |server, now, conn, url, protocols| server.handle_open(now, conn.clone(), url, protocols));
}
