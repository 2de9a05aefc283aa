//! The app side of WTSP: one connection at a time, reconnecting on its own schedule.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::timer::TimerQueue;
use crate::wtsp::codec::response_kind;
use crate::wtsp::lines::{reconcile_lines, KnownCall, Lines, ReconcileAction};
use crate::wtsp::message::{Decoded, Handshake, Message, StateHandshake};
use crate::wtsp::request::{Request, RequestKind, Response, ResponseKind};
use crate::wtsp::values::{Line, Registration};
use crate::wtsp::wire::Wire;
use crate::wtsp::{Event, EventKind, RegistrationStatus};
use crate::{CloseCode, ConnectRequest, Machine};

mod api;
mod checkpoint;
mod transaction_id;
mod transactions;

use transactions::{Pending, Transactions};

use crate::{Timestamp, UsageError};
pub use api::*;
pub use transaction_id::TransactionId;

/// The shortest keepalive interval the client accepts from a server.
const MIN_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);

/// The WTSP client machine.
///
/// States, named after what the client waits for:
///
/// | state               | waits for                     | on it                                     |
/// |---------------------|-------------------------------|-------------------------------------------|
/// | `Idle`              | [`Client::connect`]           | → `AwaitingOpen`, output `Connect`        |
/// | `AwaitingOpen`      | [`Client::handle_open`]       | → `AwaitingState`                         |
/// | `AwaitingState`     | the `state` handshake         | → `Ready`, queued requests flushed        |
/// | `Ready`             | requests, responses, events   | keepalive runs                            |
/// | `AwaitingReconnect` | the `reconnect` timer         | → `AwaitingOpen`, output `Connect`        |
///
/// Any close (from the transport, or asked by the client on a keepalive or handshake
/// timeout) fails the transactions in flight and moves to `AwaitingReconnect`: after
/// `reconnect_delay` (doubling on each attempt that fails before `state`, up to
/// `reconnect_max_delay`), at once after close code 4441 (but without `force` until a
/// connection is ready again, so two forcing devices do not evict each other forever), and
/// never after 4201 (the session is gone) or [`Client::disconnect`], which go to `Idle`.
///
/// A keepalive interval under 1 s from the server is raised to 1 s.
///
/// When the client asks the runtime to close, it considers the connection gone at once: the
/// runtime need not report that close back (a report is ignored).
///
/// ```
/// use callsig::wtsp::{Client, ClientConfig, ClientOutput};
/// use callsig::Timestamp;
///
/// let mut client = Client::new(ClientConfig::new("https://core.example.com", "tok"));
/// let now = Timestamp::ZERO;
/// client.connect(now).unwrap();
/// let ClientOutput::Connect(req) = client.poll_output() else { panic!() };
/// assert_eq!(req.url, "wss://core.example.com/signaling/v1?token=tok&force=false");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "checkpoint::Checkpoint")]
pub struct Client {
    config: ClientConfig,
    state: ClientState,
    /// Consecutive connection attempts that closed before `state`.
    failures: u32,
    ever_ready: bool,
    /// Evicted by a newer `force=true` connection: reconnect without `force` until a
    /// connection is ready again, so two forcing devices do not evict each other forever.
    evicted: bool,
    next_transaction: u64,
    queued: VecDeque<(u64, Request)>,
    /// Requests sent and not yet answered (their timeouts included).
    pending: Transactions,
    keepalive_interval: Duration,
    keepalive_outstanding: Option<u64>,
    registration: Option<Registration>,
    lines: Lines,
    timers: TimerQueue<ClientTimer>,
    out: VecDeque<ClientOutput>,
}

impl Client {
    /// A client in `Idle`.
    pub fn new(config: ClientConfig) -> Self {
        Client {
            next_transaction: config.first_transaction,
            keepalive_interval: config.default_keepalive_interval,
            config,
            state: ClientState::Idle,
            failures: 0,
            ever_ready: false,
            evicted: false,
            queued: VecDeque::new(),
            pending: Transactions::default(),
            keepalive_outstanding: None,
            registration: None,
            lines: Lines::default(),
            timers: TimerQueue::new(),
            out: VecDeque::new(),
        }
    }

    // ---- views -------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Where the connection stands.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// The line model: the calls on each line, as of the last handshake, requests and events.
    pub fn lines(&self) -> &Lines {
        &self.lines
    }

    /// The SIP registration, from the handshake and registration events.
    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }

    /// The transactions waiting for a response, in order.
    pub fn pending_transactions(&self) -> impl Iterator<Item = TransactionId> + '_ {
        self.pending.numbers().map(TransactionId::new)
    }

    /// How many requests wait for the handshake.
    pub fn queued_requests(&self) -> usize {
        self.queued.len()
    }

    /// The earliest timer and its deadline.
    pub fn next_timer(&self) -> Option<(Timestamp, ClientTimer)> {
        // Transactions keep their own deadlines (oldest first); merged here in the order
        // one queue would give: by deadline, then by timer.
        let queued = self.timers.next().map(|(at, k)| (at, *k));
        let transaction = self
            .pending
            .next_deadline()
            .map(|(at, n)| (at, ClientTimer::Transaction(n)));
        match (queued, transaction) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reconciles the current line model (after a `Ready`) with the calls the application
    /// knows. See [`reconcile`](super::reconcile).
    pub fn reconcile(&self, known: &[KnownCall]) -> Vec<ReconcileAction> {
        reconcile_lines(&self.lines, known)
    }

    // ---- output ------------------------------------------------------------------------

    /// The next output. Call after every input until it returns [`ClientOutput::Timeout`].
    pub fn poll_output(&mut self) -> ClientOutput {
        self.out
            .pop_front()
            .unwrap_or_else(|| ClientOutput::Timeout(self.next_timer().map(|(at, _)| at)))
    }

    // ---- inputs: application -----------------------------------------------------------

    /// Starts connecting (from `Idle`): outputs [`ClientOutput::Connect`].
    pub fn connect(&mut self, now: Timestamp) -> Result<(), UsageError> {
        if self.state != ClientState::Idle {
            return Err(self.wrong_state("connect"));
        }
        self.failures = 0;
        self.evicted = false;
        self.start_connect(now);
        Ok(())
    }

    /// Closes the connection on purpose and stays `Idle`: no reconnect. Requests in flight
    /// or queued end with [`TransactionOutcome::ConnectionClosed`]. Harmless when `Idle`.
    pub fn disconnect(&mut self, now: Timestamp) {
        match self.state {
            ClientState::Idle => {}
            ClientState::AwaitingReconnect => {
                self.timers.cancel(&ClientTimer::Reconnect);
                self.fail_queued(TransactionOutcome::ConnectionClosed);
                self.state = ClientState::Idle;
            }
            ClientState::AwaitingOpen | ClientState::AwaitingState | ClientState::Ready => {
                self.out.push_back(ClientOutput::Close {
                    conn: (),
                    code: CloseCode::Normal,
                    reason: "disconnect".into(),
                });
                self.connection_gone(
                    now,
                    Some(CloseCode::Normal),
                    "disconnect",
                    Cause::Intentional,
                );
            }
        }
    }

    /// Sends a request (or queues it until the handshake) and returns its transaction id.
    ///
    /// Refused, with nothing sent, when `Idle`, when a limit is reached, or (once the lines
    /// are known) when `outgoing_call` names a busy line or a call request names a call
    /// that is not on its line.
    pub fn request(
        &mut self,
        now: Timestamp,
        line: Option<Line>,
        call_id: Option<String>,
        kind: RequestKind,
    ) -> Result<TransactionId, UsageError> {
        let ready = match self.state {
            ClientState::Idle => return Err(self.wrong_state("request")),
            ClientState::Ready => true,
            _ => false,
        };
        if ready {
            self.lines.check_request(line, call_id.as_deref(), &kind)?;
            if self.pending.len() >= self.config.max_pending_transactions {
                return Err(
                    self.limit("pending transactions", self.config.max_pending_transactions)
                );
            }
        } else if self.queued.len() >= self.config.max_queued_requests {
            return Err(self.limit("queued requests", self.config.max_queued_requests));
        }
        let n = self.take_transaction();
        let request = Request {
            transaction: TransactionId::new(n).to_wire(),
            line,
            call_id,
            kind,
        };
        let id = TransactionId::new(n);
        if ready {
            self.send_request(now, n, request);
        } else {
            self.timers.set(
                ClientTimer::Queued(n),
                now.after(self.config.transaction_timeout),
            );
            self.queued.push_back((n, request));
        }
        Ok(id)
    }

    // ---- inputs: transport -------------------------------------------------------------

    /// The connection asked for by [`ClientOutput::Connect`] is open.
    pub fn handle_open(&mut self, now: Timestamp) -> Result<(), UsageError> {
        // Every input takes the time; this one does not need it.
        let _ = now;
        if self.state != ClientState::AwaitingOpen {
            return Err(self.wrong_state("open"));
        }
        self.state = ClientState::AwaitingState;
        Ok(())
    }

    /// The connection closed (or could not be opened). Ignored when the client had
    /// already let the connection go.
    pub fn handle_close(&mut self, now: Timestamp, code: Option<CloseCode>, reason: &str) {
        if matches!(
            self.state,
            ClientState::AwaitingOpen | ClientState::AwaitingState | ClientState::Ready
        ) {
            let reason = if reason.is_empty() {
                "connection closed"
            } else {
                reason
            };
            self.connection_gone(now, code, reason, Cause::Peer);
        }
    }

    /// A text frame arrived.
    pub fn handle_frame(&mut self, now: Timestamp, text: &str) {
        if !matches!(self.state, ClientState::AwaitingState | ClientState::Ready) {
            self.event(ClientEvent::Unexpected {
                detail: format!("frame while {}", self.state.name()),
            });
            return;
        }
        if text.len() > self.config.max_frame_len {
            self.event(ClientEvent::Malformed {
                error: format!(
                    "frame of {} bytes exceeds the limit of {}",
                    text.len(),
                    self.config.max_frame_len
                ),
            });
            return;
        }
        // A response that closes an open transaction is matched on the frame's own
        // strings: nothing of it is copied.
        let read = Message::decode_with(text, |w| match w {
            Wire::Response(r) => {
                let n = r
                    .transaction
                    .as_deref()
                    .and_then(TransactionId::parse)?
                    .number();
                let p = self.pending.close(n)?;
                let name = r.response.take().unwrap_or_default();
                let kind = response_kind(&name, r.code, r.reason.take());
                Some((n, p, kind))
            }
            _ => None,
        });
        let decoded = match read {
            Decoded::Taken((n, p, kind)) => return self.end_transaction(n, p, kind),
            Decoded::Message(decoded) => decoded,
        };
        match decoded {
            Err(e) => self.event(ClientEvent::Malformed {
                error: e.to_string(),
            }),
            Ok(Message::Handshake(Handshake::State(state))) => self.on_state(now, state),
            Ok(Message::Handshake(Handshake::Keepalive { transaction })) => {
                let echoed = TransactionId::parse(&transaction).map(TransactionId::number);
                if echoed.is_some() && echoed == self.keepalive_outstanding {
                    self.keepalive_outstanding = None;
                    self.timers.cancel(&ClientTimer::KeepaliveEcho);
                } else {
                    self.event(ClientEvent::Unexpected {
                        detail: format!("keepalive echo for {transaction}, not outstanding"),
                    });
                }
            }
            Ok(Message::Handshake(Handshake::Unknown { name, .. })) => {
                self.event(ClientEvent::Unexpected {
                    detail: format!("unknown handshake {name}"),
                })
            }
            Ok(Message::Response(r)) => self.on_response(r),
            Ok(Message::Event(e)) => self.on_event(e),
            Ok(Message::Request(r)) => self.event(ClientEvent::Unexpected {
                detail: format!("request {} from the server", r.kind.name()),
            }),
        }
    }

    /// Fires every timer due at or before `now`. Safe to call early, late or twice.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        // Each armed timer fires at most once per call: one re-armed at a deadline not
        // after `now` (only a clock at its very end allows that) waits for the next call.
        for _ in 0..=self.timers.len() + self.pending.len() {
            let Some((_, timer)) = self.next_timer().filter(|(at, _)| *at <= now) else {
                break;
            };
            if !matches!(timer, ClientTimer::Transaction(_)) {
                self.timers.cancel(&timer);
            }
            match timer {
                ClientTimer::Handshake => {
                    self.close_dead(now, "handshake timeout");
                }
                ClientTimer::KeepaliveEcho => {
                    self.close_dead(now, "keepalive timeout");
                }
                ClientTimer::Keepalive => {
                    if self.state == ClientState::Ready && self.keepalive_outstanding.is_none() {
                        let n = self.take_transaction();
                        self.keepalive_outstanding = Some(n);
                        self.timers.set(
                            ClientTimer::KeepaliveEcho,
                            now.after(self.config.keepalive_timeout),
                        );
                        self.transmit(
                            now,
                            &Message::Handshake(Handshake::Keepalive {
                                transaction: TransactionId::new(n).to_wire(),
                            }),
                        );
                    }
                }
                ClientTimer::Reconnect => {
                    if self.state == ClientState::AwaitingReconnect {
                        self.start_connect(now);
                    }
                }
                ClientTimer::Transaction(n) => {
                    if let Some(p) = self.pending.close(n) {
                        if p.request == "outgoing_call" {
                            self.lines.on_request_failed(p.line, p.call_id.as_deref());
                        }
                        self.ended(n, p.request, TransactionOutcome::TimedOut);
                    }
                }
                ClientTimer::Queued(n) => {
                    if let Some(i) = self.queued.iter().position(|(q, _)| *q == n) {
                        if let Some((_, r)) = self.queued.remove(i) {
                            self.ended(n, r.kind.name_cow(), TransactionOutcome::Expired);
                        }
                    }
                }
            }
        }
    }

    // ---- internals ---------------------------------------------------------------------

    fn wrong_state(&self, action: &'static str) -> UsageError {
        UsageError::WrongState {
            action,
            state: self.state.name(),
        }
    }

    fn limit(&self, what: &'static str, limit: usize) -> UsageError {
        UsageError::LimitReached {
            what,
            limit,
            state: self.state.name(),
        }
    }

    fn take_transaction(&mut self) -> u64 {
        let n = self.next_transaction;
        self.next_transaction = self.next_transaction.wrapping_add(1);
        n
    }

    fn event(&mut self, e: ClientEvent) {
        self.out.push_back(ClientOutput::Event(e));
    }

    fn ended(&mut self, n: u64, request: Cow<'static, str>, outcome: TransactionOutcome) {
        self.event(ClientEvent::TransactionEnded {
            transaction: TransactionId::new(n),
            request,
            outcome,
        });
    }

    fn transmit(&mut self, now: Timestamp, msg: &Message) {
        self.out.push_back(ClientOutput::Transmit {
            conn: (),
            text: msg.encode(),
        });
        if self.state == ClientState::Ready {
            self.timers
                .set(ClientTimer::Keepalive, now.after(self.keepalive_interval));
        }
    }

    fn send_request(&mut self, now: Timestamp, n: u64, request: Request) {
        self.lines
            .on_request(request.line, request.call_id.as_deref(), &request.kind);
        self.transmit(now, &Message::Request(request.clone()));
        self.pending.open(
            n,
            now.after(self.config.transaction_timeout),
            Pending {
                request: request.kind.name_cow(),
                line: request.line,
                call_id: request.call_id,
            },
        );
    }

    fn start_connect(&mut self, now: Timestamp) {
        self.state = ClientState::AwaitingOpen;
        self.timers.set(
            ClientTimer::Handshake,
            now.after(self.config.handshake_timeout),
        );
        self.out.push_back(ClientOutput::Connect(ConnectRequest {
            url: self
                .config
                .connect_url_forcing(self.config.force && !self.evicted),
            protocols: vec![SUBPROTOCOL.into()],
        }));
    }

    fn on_state(&mut self, now: Timestamp, state: StateHandshake) {
        let reconnected = self.ever_ready;
        self.ever_ready = true;
        self.evicted = false;
        self.failures = 0;
        self.state = ClientState::Ready;
        self.timers.cancel(&ClientTimer::Handshake);
        // A zero or tiny interval from the server would make the client ping as fast as
        // the network answers: clamp it.
        self.keepalive_interval = state
            .keepalive_interval
            .map_or(
                self.config.default_keepalive_interval,
                Duration::from_millis,
            )
            .max(MIN_KEEPALIVE_INTERVAL);
        self.registration = Some(state.registration.clone());
        self.lines = Lines::from_handshake(&state);
        self.timers
            .set(ClientTimer::Keepalive, now.after(self.keepalive_interval));
        self.event(ClientEvent::Ready {
            reconnected,
            state: Box::new(state),
        });
        while let Some((n, request)) = self.queued.pop_front() {
            self.timers.cancel(&ClientTimer::Queued(n));
            match self
                .lines
                .check_request(request.line, request.call_id.as_deref(), &request.kind)
            {
                Ok(()) => self.send_request(now, n, request),
                Err(e) => self.ended(
                    n,
                    request.kind.name_cow(),
                    TransactionOutcome::Refused {
                        reason: e.to_string(),
                    },
                ),
            }
        }
    }

    fn on_response(&mut self, r: Response) {
        match self.close_transaction(&r.transaction) {
            Some((n, p)) => self.end_transaction(n, p, r.kind),
            None => self.event(ClientEvent::UnmatchedResponse { response: r }),
        }
    }

    /// Closes the open transaction a response names, if it names one.
    fn close_transaction(&mut self, transaction: &str) -> Option<(u64, Pending)> {
        let n = TransactionId::parse(transaction)?.number();
        self.pending.close(n).map(|p| (n, p))
    }

    fn end_transaction(&mut self, n: u64, p: Pending, kind: ResponseKind) {
        let outcome = match kind {
            ResponseKind::Ack => TransactionOutcome::Ack,
            ResponseKind::Error { code, reason } => {
                if p.request == "outgoing_call" {
                    self.lines.on_request_failed(p.line, p.call_id.as_deref());
                }
                TransactionOutcome::Error { code, reason }
            }
            ResponseKind::Unknown { name } => TransactionOutcome::Error {
                code: 0,
                reason: format!("unknown response {name}"),
            },
        };
        self.ended(n, p.request, outcome);
    }

    fn on_event(&mut self, e: Event) {
        self.lines.on_event(&e);
        let status = match &e.kind {
            EventKind::Registering => Some(RegistrationStatus::Registering),
            EventKind::Registered { .. } => Some(RegistrationStatus::Registered),
            EventKind::RegistrationFailed { .. } => Some(RegistrationStatus::RegistrationFailed),
            EventKind::Unregistering => Some(RegistrationStatus::Unregistering),
            EventKind::Unregistered => Some(RegistrationStatus::Unregistered),
            _ => None,
        };
        if let Some(status) = status {
            let (code, reason) = match &e.kind {
                EventKind::RegistrationFailed { code, reason } => (*code, reason.clone()),
                _ => (None, None),
            };
            self.registration = Some(Registration {
                status,
                code,
                reason,
            });
        }
        self.event(ClientEvent::Event { event: e });
    }

    fn fail_queued(&mut self, outcome: TransactionOutcome) {
        while let Some((n, r)) = self.queued.pop_front() {
            self.timers.cancel(&ClientTimer::Queued(n));
            self.ended(n, r.kind.name_cow(), outcome.clone());
        }
    }

    /// The client closes a connection it considers dead, then reconnects.
    fn close_dead(&mut self, now: Timestamp, reason: &str) {
        if matches!(
            self.state,
            ClientState::AwaitingOpen | ClientState::AwaitingState | ClientState::Ready
        ) {
            self.out.push_back(ClientOutput::Close {
                conn: (),
                code: CloseCode::Normal,
                reason: reason.into(),
            });
            self.connection_gone(now, Some(CloseCode::Normal), reason, Cause::Dead);
        }
    }

    /// The connection is gone: end what was in flight and decide about reconnecting.
    fn connection_gone(
        &mut self,
        now: Timestamp,
        code: Option<CloseCode>,
        reason: &str,
        cause: Cause,
    ) {
        let was_ready = self.state == ClientState::Ready;
        for open in self.pending.close_all() {
            self.ended(
                open.n,
                open.pending.request,
                TransactionOutcome::ConnectionClosed,
            );
        }
        self.keepalive_outstanding = None;
        for t in [
            ClientTimer::Handshake,
            ClientTimer::Keepalive,
            ClientTimer::KeepaliveEcho,
        ] {
            self.timers.cancel(&t);
        }
        self.failures = if was_ready {
            0
        } else {
            self.failures.saturating_add(1)
        };
        let delay = match (cause, code) {
            (Cause::Intentional, _) | (Cause::Peer, Some(CloseCode::SessionMissed)) => None,
            (Cause::Peer, Some(CloseCode::ForceAttachClose)) => {
                self.evicted = true;
                Some(Duration::ZERO)
            }
            _ => Some(self.backoff()),
        };
        // At once for no delay; else when the timer below fires.
        let reconnect_at = delay.map(|d| if d.is_zero() { now } else { now.after(d) });
        self.event(ClientEvent::Disconnected {
            code,
            reason: reason.into(),
            reconnect_at,
        });
        match delay {
            None => {
                self.fail_queued(TransactionOutcome::ConnectionClosed);
                self.state = ClientState::Idle;
            }
            Some(d) if d.is_zero() => self.start_connect(now),
            Some(d) => {
                self.state = ClientState::AwaitingReconnect;
                self.timers.set(ClientTimer::Reconnect, now.after(d));
            }
        }
    }

    /// `reconnect_delay`, doubled for each attempt in a row that failed before `state`.
    fn backoff(&self) -> Duration {
        let base = self.config.reconnect_delay;
        let steps = self.failures.saturating_sub(1).min(16);
        base.saturating_mul(1 << steps)
            .min(self.config.reconnect_max_delay.max(base))
    }
}

/// Why a connection went away; it steers the reconnect.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// The application disconnected.
    Intentional,
    /// The client closed a connection it found dead.
    Dead,
    /// The transport closed (the code, if any, is the server's).
    Peer,
}

/// The transport inputs of [`Client`], as inherent methods take them.
impl Machine for Client {
    machine_inputs!(client, event ClientEvent, open |client, now| client.handle_open(now));
}
