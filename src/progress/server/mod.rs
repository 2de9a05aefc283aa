//! The Loop coordinator: many calls, each with two parties on any number of devices.

use crate::Secret;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Debug;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::id_map::IdMap;
use crate::progress::{ActionEvent, ClientMessage, DecodeError, Reason, ServerMessage, State};
use crate::timer::TimerQueue;
use crate::{CloseCode, Machine, Routing, Timestamp, UsageError};

mod api;
mod checkpoint;
mod encoder;
mod partition;

use encoder::Encoder;

pub use api::*;
pub use partition::CallPartition;

/// Close code for every close the server makes: the protocol has none of its own.
/// The longest termination reason accepted from a client.
const MAX_REASON_LEN: usize = 64;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "C: Serialize", deserialize = "C: Deserialize<'de> + Ord"))]
struct Call<C: Ord> {
    auth: [Secret; 2],
    state: State,
    reason: Option<Reason>,
    /// Whether each party (caller, callee) has said hello.
    hello: [bool; 2],
    /// Whether each party has reported media up.
    media_up: [bool; 2],
    /// Each party's connections.
    devices: [BTreeSet<C>; 2],
}

/// Where a connection stands, named after what it waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ConnState {
    /// Opened; waits for `hello`. The call id may come from the URL.
    AwaitingHello { url_call_id: Option<String> },
    /// Joined a call as a party. (Shared: every frame on the connection needs it while
    /// the server changes.)
    Joined { call_id: Arc<str>, role: Role },
}

/// The Loop progress server machine, generic over the caller's connection id `C`.
///
/// | input | on it |
/// |---|---|
/// | [`Server::create_call`] | call in `init`; `supervisory` timer armed |
/// | `hello`, unknown call | `error` "unknown callId", close |
/// | `hello`, token of no call | `error` "invalid authentication", close |
/// | `hello`, token of another call | `error` "unauthorized", close |
/// | `hello` on a connected or terminated call | `hello` with that state (and reason), close |
/// | `hello`, valid | `hello` with the state *before* it; the callee's first starts `ringing`; the second party's first turns `init` into `alerting` (sent as `progress` to all) |
/// | `action` `accept` (callee, `alerting`) | other callee devices get `terminated`/`answered-elsewhere` and are closed; `ringing` stops, `connection` starts; → `connecting` |
/// | `action` `media-up` (`connecting`/`half-connected`) | first party → `half-connected`, second → `connected`; a repeat gets the current state, to the sender only |
/// | `action` `terminate` (reason 1–64 of `A-Za-z0-9-`, or none) | → `terminated` with the reason copied |
/// | any other action, an action before hello, a second hello | `error`, close |
/// | `echo` | the same value back |
/// | not a JSON object | `error` "malformed message", close |
/// | unknown `messageType` | `error` "unknown message", close |
/// | a party's last connection leaves, call not final | → `terminated`/`closed` |
/// | `hello` fires (no hello `hello_timeout` after opening) | `error` "hello expected", close |
/// | `supervisory` fires, a party has not said hello | → `terminated`/`timeout` |
/// | `ringing` fires before accept | → `terminated`/`timeout` |
/// | `connection` fires before connected | → `terminated`/`timeout` |
///
/// Every state change is sent as `progress` to every connection of the call; after
/// `connected` or `terminated` every connection is closed, and the call is kept for
/// `ended_call_retention` so a late hello learns how it ended.
///
/// ```
/// use callsig::progress::{Server, ServerConfig, ServerOutput};
/// use callsig::Timestamp;
///
/// let mut server: Server<u32> = Server::new(ServerConfig::default());
/// let now = Timestamp::ZERO;
/// server.create_call(now, "c1", "tA", "tB").unwrap();
/// server.handle_open(now, 1, None).unwrap();
/// let _ = server.handle_frame(now, &1, r#"{"messageType":"hello","auth":"tA","callId":"c1"}"#);
/// let ServerOutput::Transmit { text, .. } = server.poll_output() else { panic!() };
/// assert_eq!(&*text, r#"{"messageType":"hello","state":"init"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    bound(
        serialize = "C: Serialize",
        deserialize = "C: Deserialize<'de> + Ord + Clone"
    ),
    try_from = "checkpoint::Checkpoint<C>"
)]
pub struct Server<C: Ord + Clone> {
    config: ServerConfig,
    /// By id; the key is the one copy of the id, shared by connections, timers, events.
    #[serde(serialize_with = "crate::id_map::sorted")]
    calls: IdMap<Arc<str>, Call<C>>,
    #[serde(with = "crate::serde_pairs")]
    conns: BTreeMap<C, ConnState>,
    /// How many calls each token belongs to, to tell "unauthorized" from "invalid". Made
    /// from the calls, never restored: a count a checkpoint could set is a count that
    /// could overflow or never reach zero.
    #[serde(skip_serializing)]
    tokens: BTreeMap<Secret, u32>,
    timers: TimerQueue<ServerTimer<C>>,
    out: VecDeque<ServerOutput<C>>,
    #[serde(skip)]
    encoder: Encoder,
}

/// Counts a call's two tokens (a token may belong to several calls).
fn count_tokens(tokens: &mut BTreeMap<Secret, u32>, auth: &[Secret; 2]) {
    for t in auth {
        let n = tokens.entry(t.clone()).or_default();
        *n = n.saturating_add(1);
    }
}

fn valid_reason(r: &Reason) -> bool {
    let s = r.as_str();
    !s.is_empty()
        && s.len() <= MAX_REASON_LEN
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl<C: Ord + Clone + Debug> Server<C> {
    /// A server with no calls.
    pub fn new(config: ServerConfig) -> Self {
        Server {
            config,
            calls: IdMap::default(),
            conns: BTreeMap::new(),
            tokens: BTreeMap::new(),
            timers: TimerQueue::new(),
            out: VecDeque::new(),
            encoder: Encoder::default(),
        }
    }

    // ---- views -------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// A call's state and devices.
    pub fn call(&self, call_id: &str) -> Option<CallView<'_, C>> {
        let (id, c) = self.calls.get_key_value(call_id)?;
        Some(CallView {
            call_id: id,
            state: &c.state,
            reason: c.reason.as_ref(),
            devices: [c.devices[0].iter().collect(), c.devices[1].iter().collect()],
        })
    }

    /// How many calls the machine holds (live or recently ended).
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// How many connections are open.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// The call and role a connection joined.
    pub fn connection(&self, conn: &C) -> Option<(&str, Role)> {
        match self.conns.get(conn)? {
            ConnState::Joined { call_id, role } => Some((call_id, *role)),
            ConnState::AwaitingHello { .. } => None,
        }
    }

    /// The earliest timer and its deadline.
    pub fn next_timer(&self) -> Option<(Timestamp, &ServerTimer<C>)> {
        self.timers.next()
    }

    /// The next output. Call after every input until it returns [`ServerOutput::Timeout`].
    pub fn poll_output(&mut self) -> ServerOutput<C> {
        self.out
            .pop_front()
            .unwrap_or_else(|| ServerOutput::Timeout(self.timers.next().map(|(at, _)| at)))
    }

    // ---- inputs: application -----------------------------------------------------------

    /// Creates a call with one websocket token per party, and starts its supervisory timer.
    pub fn create_call(
        &mut self,
        now: Timestamp,
        call_id: &str,
        caller_auth: &str,
        callee_auth: &str,
    ) -> Result<(), UsageError> {
        if self.calls.contains_key(call_id) {
            return Err(UsageError::CallExists {
                call_id: call_id.to_owned(),
            });
        }
        if self.calls.len() >= self.config.max_calls {
            return Err(UsageError::LimitReached {
                what: "calls",
                limit: self.config.max_calls,
                state: "serving",
            });
        }
        let auth: [Secret; 2] = [caller_auth.into(), callee_auth.into()];
        count_tokens(&mut self.tokens, &auth);
        let id: Arc<str> = call_id.into();
        self.calls.insert(
            id.clone(),
            Call {
                auth,
                state: State::Init,
                reason: None,
                hello: [false; 2],
                media_up: [false; 2],
                devices: [BTreeSet::new(), BTreeSet::new()],
            },
        );
        self.timers.set(
            ServerTimer::Supervisory(id),
            now.after(self.config.supervisory),
        );
        Ok(())
    }

    /// Ends a live call from the application's side (e.g. the caller's REST `DELETE`).
    pub fn terminate_call(
        &mut self,
        now: Timestamp,
        call_id: &str,
        reason: Reason,
    ) -> Result<(), UsageError> {
        match self.calls.get_key_value(call_id) {
            None => Err(UsageError::UnknownCall {
                call_id: call_id.to_owned(),
            }),
            Some((_, c)) if c.state.is_final() => Err(UsageError::WrongState {
                action: "terminate call",
                state: "ended",
            }),
            Some((id, _)) => {
                let id = id.clone();
                self.set_state(now, &id, State::Terminated, Some(reason));
                Ok(())
            }
        }
    }

    /// Forgets a call now, closing any connection it still has.
    pub fn remove_call(&mut self, now: Timestamp, call_id: &str) -> Result<(), UsageError> {
        // Every input takes the time; this one does not need it.
        let _ = now;
        let Some((id, call)) = self.calls.get_key_value(call_id) else {
            return Err(UsageError::UnknownCall {
                call_id: call_id.to_owned(),
            });
        };
        let id = id.clone();
        let devices: Vec<C> = call.devices.iter().flatten().cloned().collect();
        for conn in devices {
            self.drop_conn(&conn, true, "call removed");
        }
        self.forget_call(&id);
        Ok(())
    }

    // ---- inputs: transport -------------------------------------------------------------

    /// A connection opened; `call_id` is the call its URL names, if any.
    pub fn handle_open(
        &mut self,
        now: Timestamp,
        conn: C,
        call_id: Option<&str>,
    ) -> Result<(), UsageError> {
        if self.conns.contains_key(&conn) {
            return Err(UsageError::ConnectionExists {
                conn: format!("{conn:?}"),
            });
        }
        if self.conns.len() >= self.config.max_connections {
            let reason = "too many connections".to_owned();
            self.out.push_back(ServerOutput::Close {
                conn: conn.clone(),
                code: CloseCode::TryAgainLater,
                reason: reason.clone(),
            });
            self.event(ServerEvent::Closed {
                conn,
                call_id: None,
                reason,
            });
            return Ok(());
        }
        self.timers.set(
            ServerTimer::Hello(conn.clone()),
            now.after(self.config.hello_timeout),
        );
        self.conns.insert(
            conn,
            ConnState::AwaitingHello {
                url_call_id: call_id.map(str::to_owned),
            },
        );
        Ok(())
    }

    /// The transport closed a connection. The close code is not used (Loop gives close
    /// codes no meaning).
    pub fn handle_close(&mut self, now: Timestamp, conn: &C, code: Option<CloseCode>) -> Routing {
        let _ = code;
        if !self.conns.contains_key(conn) {
            return Routing::NotMine;
        }
        self.leave(now, conn, false, "closed by peer");
        Routing::Handled
    }

    /// A text frame arrived.
    pub fn handle_frame(&mut self, now: Timestamp, conn: &C, text: &str) -> Routing {
        let Some(state) = self.conns.get(conn) else {
            return Routing::NotMine;
        };
        let decoded = if text.len() > self.config.max_frame_len {
            Err(DecodeError::Malformed(format!(
                "frame of {} bytes",
                text.len()
            )))
        } else {
            ClientMessage::decode(text)
        };
        // `media-up` on a connecting call, the most frequent action, is served with the
        // connection's entry borrowed: cloning its shared call id costs two atomic
        // operations, as much as the rest of the step's bookkeeping.
        if let (
            Ok(ClientMessage::Action {
                event: ActionEvent::MediaUp,
                ..
            }),
            ConnState::Joined { call_id, role },
        ) = (&decoded, state)
        {
            if let Some(call) = self.calls.get_mut(call_id) {
                if matches!(call.state, State::Connecting | State::HalfConnected) {
                    let (out, encoder) = (&mut self.out, &mut self.encoder);
                    if let Some(last) = media_up(out, encoder, conn, call_id, call, *role) {
                        // The second party's: a final state needs the whole server.
                        let call_id = call_id.clone();
                        self.set_state(now, &call_id, last, None);
                    }
                    return Routing::Handled;
                }
            }
        }
        let state = state.clone(); // a shared call id
        match (decoded, state) {
            (Err(DecodeError::UnknownType(_)), _) => {
                if let Some(message) = crate::progress::RawJson::new(text) {
                    self.event(ServerEvent::UnknownMessage {
                        conn: conn.clone(),
                        message,
                    });
                }
                self.refuse(now, conn, "unknown message");
            }
            (Err(_), _) => self.refuse(now, conn, "malformed message"),
            (Ok(ClientMessage::Echo { echo }), _) => {
                self.send(conn, &ServerMessage::Echo { echo });
            }
            (Ok(ClientMessage::Error { reason }), state) => {
                let call_id = match state {
                    ConnState::Joined { call_id, .. } => Some(call_id),
                    ConnState::AwaitingHello { .. } => None,
                };
                self.event(ServerEvent::PeerError {
                    conn: conn.clone(),
                    call_id,
                    error: format!("client error: {reason}"),
                });
            }
            (
                Ok(ClientMessage::Hello { auth, call_id }),
                ConnState::AwaitingHello { url_call_id },
            ) => {
                self.on_hello(now, conn, auth.expose(), call_id.or(url_call_id));
            }
            (Ok(ClientMessage::Hello { .. }), ConnState::Joined { .. }) => {
                self.refuse(now, conn, "unexpected hello");
            }
            (Ok(ClientMessage::Action { .. }), ConnState::AwaitingHello { .. }) => {
                self.refuse(now, conn, "hello expected");
            }
            (Ok(ClientMessage::Action { event, reason }), ConnState::Joined { call_id, role }) => {
                self.on_action(now, conn, &call_id, role, event, reason);
            }
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
                ServerTimer::Hello(conn) => {
                    if matches!(self.conns.get(&conn), Some(ConnState::AwaitingHello { .. })) {
                        self.refuse(now, &conn, "hello expected");
                    }
                }
                ServerTimer::Supervisory(id) => {
                    if self
                        .calls
                        .get(&id)
                        .is_some_and(|c| !c.state.is_final() && !c.hello.iter().all(|h| *h))
                    {
                        self.set_state(now, &id, State::Terminated, Some(Reason::Timeout));
                    }
                }
                ServerTimer::Ringing(id) => {
                    if self
                        .calls
                        .get(&id)
                        .is_some_and(|c| matches!(c.state, State::Init | State::Alerting))
                    {
                        self.set_state(now, &id, State::Terminated, Some(Reason::Timeout));
                    }
                }
                ServerTimer::Connection(id) => {
                    if self.calls.get(&id).is_some_and(|c| !c.state.is_final()) {
                        self.set_state(now, &id, State::Terminated, Some(Reason::Timeout));
                    }
                }
                ServerTimer::Purge(id) => {
                    if self.calls.get(&id).is_some_and(|c| c.state.is_final()) {
                        self.forget_call(&id);
                        self.event(ServerEvent::CallRemoved { call_id: id });
                    }
                }
            }
        }
    }

    // ---- internals ---------------------------------------------------------------------

    fn event(&mut self, e: ServerEvent<C>) {
        self.out.push_back(ServerOutput::Event(e));
    }

    fn send(&mut self, conn: &C, m: &ServerMessage) {
        let text = self.encoder.encode(m);
        self.out.push_back(ServerOutput::Transmit {
            conn: conn.clone(),
            text,
        });
    }

    /// Answers `error` and closes the connection (which may end its call, §2.5).
    fn refuse(&mut self, now: Timestamp, conn: &C, reason: &str) {
        let call_id = match self.conns.get(conn) {
            Some(ConnState::Joined { call_id, .. }) => Some(call_id.clone()),
            _ => None,
        };
        self.send(
            conn,
            &ServerMessage::Error {
                reason: reason.to_owned(),
            },
        );
        self.event(ServerEvent::PeerError {
            conn: conn.clone(),
            call_id,
            error: reason.to_owned(),
        });
        self.leave(now, conn, true, reason);
    }

    fn on_hello(&mut self, now: Timestamp, conn: &C, auth: &str, call_id: Option<String>) {
        let Some((call_id, call)) = call_id.and_then(|id| self.calls.get_key_value(id.as_str()))
        else {
            return self.refuse(now, conn, "unknown callId");
        };
        let call_id = call_id.clone();
        let role = if call.auth[0].expose() == auth {
            Role::Caller
        } else if call.auth[1].expose() == auth {
            Role::Callee
        } else if self.tokens.contains_key(auth) {
            return self.refuse(now, conn, "unauthorized");
        } else {
            return self.refuse(now, conn, "invalid authentication");
        };
        if call.state.is_final() {
            let (state, reason) = (call.state.clone(), call.reason.clone());
            let why = state.as_str().to_owned();
            self.send(conn, &ServerMessage::Hello { state, reason });
            return self.drop_conn(conn, true, &why);
        }
        if call.devices[role.index()].len() >= self.config.max_devices_per_party {
            return self.refuse(now, conn, "too many devices");
        }
        let before = call.state.clone();
        self.send(
            conn,
            &ServerMessage::Hello {
                state: before,
                reason: None,
            },
        );
        self.timers.cancel(&ServerTimer::Hello(conn.clone()));
        self.conns.insert(
            conn.clone(),
            ConnState::Joined {
                call_id: call_id.clone(),
                role,
            },
        );
        self.event(ServerEvent::Joined {
            conn: conn.clone(),
            call_id: call_id.clone(),
            role,
        });
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        call.devices[role.index()].insert(conn.clone());
        let first = !call.hello[role.index()];
        call.hello[role.index()] = true;
        let both = call.hello[0] && call.hello[1];
        let alert = both && call.state == State::Init;
        if role == Role::Callee && first {
            self.timers.set(
                ServerTimer::Ringing(call_id.clone()),
                now.after(self.config.ringing),
            );
        }
        if both {
            self.timers
                .cancel(&ServerTimer::Supervisory(call_id.clone()));
        }
        if alert {
            self.set_state(now, &call_id, State::Alerting, None);
        }
    }

    fn on_action(
        &mut self,
        now: Timestamp,
        conn: &C,
        call_id: &Arc<str>,
        role: Role,
        event: ActionEvent,
        reason: Option<Reason>,
    ) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return self.refuse(now, conn, "unknown callId");
        };
        let state = call.state.clone();
        match event {
            ActionEvent::Accept if role == Role::Callee && state == State::Alerting => {
                let others: Vec<C> = call.devices[Role::Callee.index()]
                    .iter()
                    .filter(|c| *c != conn)
                    .cloned()
                    .collect();
                for other in others {
                    self.send(
                        &other,
                        &ServerMessage::Progress {
                            state: State::Terminated,
                            reason: Some(Reason::AnsweredElsewhere),
                        },
                    );
                    self.drop_conn(&other, true, "answered-elsewhere");
                }
                self.timers.cancel(&ServerTimer::Ringing(call_id.clone()));
                self.timers.set(
                    ServerTimer::Connection(call_id.clone()),
                    now.after(self.config.connection),
                );
                self.set_state(now, call_id, State::Connecting, None);
            }
            ActionEvent::Terminate => match reason {
                Some(r) if !valid_reason(&r) => self.refuse(now, conn, "invalid reason"),
                reason => self.set_state(now, call_id, State::Terminated, reason),
            },
            ActionEvent::Other(_) => self.refuse(now, conn, "unknown event"),
            _ => self.refuse(now, conn, "action not allowed"),
        }
    }

    /// Moves a call to `state`: `progress` to all its connections, then, for a final state,
    /// every connection closed and the call kept until purged.
    fn set_state(
        &mut self,
        now: Timestamp,
        call_id: &Arc<str>,
        state: State,
        reason: Option<Reason>,
    ) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let devices: Vec<C> = if state.is_final() {
            call.devices.iter().flatten().cloned().collect()
        } else {
            Vec::new()
        };
        announce(
            &mut self.out,
            &mut self.encoder,
            call_id,
            call,
            state.clone(),
            reason,
        );
        if state.is_final() {
            for t in [
                ServerTimer::Supervisory(call_id.clone()),
                ServerTimer::Ringing(call_id.clone()),
                ServerTimer::Connection(call_id.clone()),
            ] {
                self.timers.cancel(&t);
            }
            for conn in &devices {
                self.drop_conn(conn, true, state.as_str());
            }
            self.timers.set(
                ServerTimer::Purge(call_id.clone()),
                now.after(self.config.ended_call_retention),
            );
        }
    }

    /// A connection leaves; if it was its party's last, a live call ends with `closed`.
    fn leave(&mut self, now: Timestamp, conn: &C, by_server: bool, reason: &str) {
        let joined = match self.conns.get(conn) {
            Some(ConnState::Joined { call_id, role }) => Some((call_id.clone(), *role)),
            _ => None,
        };
        self.drop_conn(conn, by_server, reason);
        let Some((call_id, role)) = joined else {
            return;
        };
        let gone = self
            .calls
            .get(&*call_id)
            .is_some_and(|c| !c.state.is_final() && c.devices[role.index()].is_empty());
        if gone {
            self.set_state(now, &call_id, State::Terminated, Some(Reason::Closed));
        }
    }

    /// Forgets a connection (telling the runtime to close it when the server decides).
    fn drop_conn(&mut self, conn: &C, by_server: bool, reason: &str) {
        let Some(state) = self.conns.remove(conn) else {
            return;
        };
        self.timers.cancel(&ServerTimer::Hello(conn.clone()));
        let call_id = match state {
            ConnState::Joined { call_id, role } => {
                if let Some(c) = self.calls.get_mut(&*call_id) {
                    c.devices[role.index()].remove(conn);
                }
                Some(call_id)
            }
            ConnState::AwaitingHello { .. } => None,
        };
        if by_server {
            self.out.push_back(ServerOutput::Close {
                conn: conn.clone(),
                code: CloseCode::Normal,
                reason: reason.to_owned(),
            });
        }
        self.event(ServerEvent::Closed {
            conn: conn.clone(),
            call_id,
            reason: reason.to_owned(),
        });
    }

    fn forget_call(&mut self, call_id: &Arc<str>) {
        let Some(call) = self.calls.remove(call_id) else {
            return;
        };
        for t in [
            ServerTimer::Supervisory(call_id.clone()),
            ServerTimer::Ringing(call_id.clone()),
            ServerTimer::Connection(call_id.clone()),
            ServerTimer::Purge(call_id.clone()),
        ] {
            self.timers.cancel(&t);
        }
        for token in &call.auth {
            if let Some(n) = self.tokens.get_mut(token) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.tokens.remove(token);
                }
            }
        }
    }
}

/// `media-up` from `role`'s connection `conn` on a connecting call: a repeat is answered
/// with the state as it is; a first one half-connects the call (announced here) unless
/// the other party's came already: then `Connected` is returned, for the caller to set
/// (a final state closes connections, which needs the whole server).
fn media_up<C: Ord + Clone>(
    out: &mut VecDeque<ServerOutput<C>>,
    encoder: &mut Encoder,
    conn: &C,
    call_id: &Arc<str>,
    call: &mut Call<C>,
    role: Role,
) -> Option<State> {
    if call.media_up[role.index()] {
        // Nothing changes; the sender still gets its answer.
        let text = encoder.progress(&call.state, None);
        out.push_back(ServerOutput::Transmit {
            conn: conn.clone(),
            text,
        });
        return None;
    }
    call.media_up[role.index()] = true;
    if call.media_up[role.other().index()] {
        return Some(State::Connected);
    }
    announce(out, encoder, call_id, call, State::HalfConnected, None);
    None
}

/// Records a call's new state, sends `progress` to each of its devices and tells the application. Takes the server's parts rather than the server, so
/// a caller holding the call need not look it up again.
fn announce<C: Ord + Clone>(
    out: &mut VecDeque<ServerOutput<C>>,
    encoder: &mut Encoder,
    call_id: &Arc<str>,
    call: &mut Call<C>,
    state: State,
    reason: Option<Reason>,
) {
    // Each device gets a copy; the last takes the text itself.
    let mut text = Some(encoder.progress(&state, reason.as_ref()));
    let devices = call.devices[0].len() + call.devices[1].len();
    for (i, conn) in call.devices.iter().flatten().enumerate() {
        let shared = if i + 1 == devices {
            text.take()
        } else {
            text.clone()
        };
        if let Some(text) = shared {
            out.push_back(ServerOutput::Transmit {
                conn: conn.clone(),
                text,
            });
        }
    }
    call.state = state.clone();
    call.reason = reason.clone();
    out.push_back(ServerOutput::Event(ServerEvent::StateChanged {
        call_id: call_id.clone(),
        state,
        reason,
    }));
}

/// The transport inputs of [`Server`], as inherent methods take them. `Open` reads the
/// call id from the URL as [`call_id_from_url`](crate::progress::call_id_from_url) does;
/// the sub-protocols are not looked at.
impl<C: Ord + Clone + Debug> Machine for Server<C> {
    machine_inputs!(server, conn C, event ServerEvent<C>,
    open |server, now, conn, url, _protocols| {
        let call_id = crate::progress::call_id_from_url(url);
        server.handle_open(now, conn.clone(), call_id.as_deref())
    });
}
