//! One party's device in a Loop call setup.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::progress::{
    ActionEvent, ClientMessage, DecodeError, RawJson, Reason, Role, ServerMessage, State,
};
use crate::timer::TimerQueue;
use crate::{CloseCode, ConnectRequest, Machine, Timestamp, UsageError};

mod api;
mod checkpoint;

pub use api::*;

/// The Loop progress client machine.
///
/// | input | on it |
/// |---|---|
/// | [`Client::handle_open`] | `hello` sent (with `callId` when configured), `response` timer |
/// | server `hello` / `progress` | state reported; a pending answer is counted; `alerting` starts the callee's alerting timer; `connected` or `terminated` end the setup |
/// | server `error` | reported; an error answering `hello` ends the setup as failed |
/// | unknown message type | `error` "unknown message" sent back; carry on |
/// | [`Client::accept`] (callee, `alerting`, once) | `action` `accept`, `response` timer |
/// | [`Client::media_up`] (`connecting`/`half-connected`) | `action` `media-up`, `response` and `media_setup` timers |
/// | [`Client::terminate`] (once the hello is sent) | `action` `terminate` with the reason |
/// | `response` or `media_setup` fires | close, setup failed |
/// | `alerting` fires (still alerting) | `action` `terminate` with `timeout` |
/// | the server closes before `connected`/`terminated` | setup failed |
///
/// A command the state does not allow is refused with [`UsageError`] and nothing is sent.
/// The setup ends exactly once ([`ClientEvent::Ended`]).
///
/// ```
/// use callsig::progress::{Client, ClientConfig, ClientOutput, Role};
/// use callsig::Timestamp;
///
/// let mut config = ClientConfig::new(Role::Callee, "tB");
/// config.call_id = Some("c1".into());
/// let mut client = Client::new(config);
/// client.handle_open(Timestamp::ZERO).unwrap();
/// let ClientOutput::Transmit { conn: (), text: hello } = client.poll_output() else { panic!() };
/// assert_eq!(hello, r#"{"messageType":"hello","auth":"tB","callId":"c1"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "checkpoint::Checkpoint")]
pub struct Client {
    config: ClientConfig,
    state: ClientState,
    /// Deadlines of the messages still waiting for an answer, oldest first.
    awaiting: VecDeque<Timestamp>,
    /// `accept` was sent: a second one would make the server fail the call.
    accept_sent: bool,
    timers: TimerQueue<ClientTimer>,
    out: VecDeque<ClientOutput>,
}

impl Client {
    /// A client waiting for its connection to open.
    pub fn new(mut config: ClientConfig) -> Self {
        config.alerting_timeout = config.alerting_timeout.map(|d| d.min(MAX_ALERTING));
        Client {
            config,
            state: ClientState::AwaitingOpen,
            awaiting: VecDeque::new(),
            accept_sent: false,
            timers: TimerQueue::new(),
            out: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Where the client stands.
    pub fn state(&self) -> &ClientState {
        &self.state
    }

    /// The earliest timer and its deadline.
    pub fn next_timer(&self) -> Option<(Timestamp, ClientTimer)> {
        self.timers.next().map(|(at, k)| (at, *k))
    }

    /// The next output. Call after every input until it returns [`ClientOutput::Timeout`].
    pub fn poll_output(&mut self) -> ClientOutput {
        self.out
            .pop_front()
            .unwrap_or_else(|| ClientOutput::Timeout(self.timers.next().map(|(at, _)| at)))
    }

    // ---- inputs: application -----------------------------------------------------------

    /// Asks the runtime to open the configured progress URL.
    pub fn connect(&mut self, now: Timestamp) -> Result<(), UsageError> {
        // Every input takes the time; this one does not need it.
        let _ = now;
        match (&self.state, &self.config.url) {
            (ClientState::AwaitingOpen, Some(url)) => {
                let url = url.clone();
                self.out.push_back(ClientOutput::Connect(ConnectRequest {
                    url,
                    protocols: Vec::new(),
                }));
                Ok(())
            }
            (ClientState::AwaitingOpen, None) => Err(UsageError::InvalidMessage {
                message: "connect".into(),
                field: "a configured url".into(),
            }),
            _ => Err(self.wrong_state("connect")),
        }
    }

    /// The callee answers (only while `alerting`).
    pub fn accept(&mut self, now: Timestamp) -> Result<(), UsageError> {
        if self.config.role != Role::Callee
            || self.state != ClientState::InCall(State::Alerting)
            || self.accept_sent
        {
            return Err(self.wrong_state("accept"));
        }
        self.accept_sent = true;
        self.timers.cancel(&ClientTimer::Alerting);
        self.action(now, ActionEvent::Accept, None);
        Ok(())
    }

    /// This party's media is up (only while `connecting` or `half-connected`).
    pub fn media_up(&mut self, now: Timestamp) -> Result<(), UsageError> {
        if !matches!(
            self.state,
            ClientState::InCall(State::Connecting | State::HalfConnected)
        ) {
            return Err(self.wrong_state("media-up"));
        }
        self.action(now, ActionEvent::MediaUp, None);
        self.timers
            .set(ClientTimer::MediaSetup, now.after(self.config.media_setup));
        Ok(())
    }

    /// Ends the setup (any time after the hello was sent, until it has ended).
    pub fn terminate(&mut self, now: Timestamp, reason: Option<Reason>) -> Result<(), UsageError> {
        if matches!(self.state, ClientState::AwaitingOpen | ClientState::Ended) {
            return Err(self.wrong_state("terminate"));
        }
        self.action(now, ActionEvent::Terminate, reason);
        Ok(())
    }

    /// Sends `echo` with a JSON value (answered by the server with the same value).
    pub fn echo(&mut self, now: Timestamp, echo: RawJson) -> Result<(), UsageError> {
        if matches!(self.state, ClientState::AwaitingOpen | ClientState::Ended) {
            return Err(self.wrong_state("echo"));
        }
        self.send_expecting(now, &ClientMessage::Echo { echo });
        Ok(())
    }

    // ---- inputs: transport -------------------------------------------------------------

    /// The connection opened: send `hello`.
    pub fn handle_open(&mut self, now: Timestamp) -> Result<(), UsageError> {
        if self.state != ClientState::AwaitingOpen {
            return Err(self.wrong_state("open"));
        }
        self.state = ClientState::AwaitingHello;
        let hello = ClientMessage::Hello {
            auth: self.config.auth.clone(),
            call_id: self.config.call_id.clone(),
        };
        self.send_expecting(now, &hello);
        Ok(())
    }

    /// The connection closed (or could not be opened). Its code and reason are not used:
    /// Loop gives close codes no meaning; a close before the end fails the setup either way.
    pub fn handle_close(&mut self, now: Timestamp, code: Option<CloseCode>, reason: &str) {
        // Every input takes the time and the close; this one needs neither.
        let _ = (now, code, reason);
        if !matches!(self.state, ClientState::Ended | ClientState::AwaitingOpen) {
            self.end(Outcome::Failed {
                why: "the server closed the connection before the setup ended".into(),
            });
        }
        self.timers = TimerQueue::new();
        self.awaiting.clear();
    }

    /// A text frame arrived.
    pub fn handle_frame(&mut self, now: Timestamp, text: &str) {
        match self.state {
            ClientState::AwaitingOpen => {
                return self.peer_error("frame before the connection opened".into())
            }
            ClientState::Ended => return self.peer_error("frame after the setup ended".into()),
            _ => {}
        }
        if text.len() > self.config.max_frame_len {
            return self.peer_error(format!("frame of {} bytes", text.len()));
        }
        match ServerMessage::decode(text) {
            Err(DecodeError::UnknownType(_)) => {
                if let Some(message) = RawJson::new(text) {
                    self.out
                        .push_back(ClientOutput::Event(ClientEvent::UnknownMessage { message }));
                }
                self.send(
                    now,
                    &ClientMessage::Error {
                        reason: "unknown message".into(),
                    },
                );
            }
            Err(e) => self.peer_error(e.to_string()),
            Ok(ServerMessage::Hello { state, reason })
            | Ok(ServerMessage::Progress { state, reason }) => {
                self.answered(now);
                self.on_state(now, state, reason);
            }
            Ok(ServerMessage::Error { reason }) => {
                self.answered(now);
                self.peer_error(format!("server error: {reason}"));
                if self.state == ClientState::AwaitingHello {
                    self.end(Outcome::Failed {
                        why: format!("hello refused: {reason}"),
                    });
                }
            }
            Ok(ServerMessage::Echo { echo }) => {
                self.answered(now);
                self.out
                    .push_back(ClientOutput::Event(ClientEvent::Echo { echo }));
            }
        }
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
                ClientTimer::Response => self.fail_and_close("no response from the server"),
                ClientTimer::MediaSetup => self.fail_and_close("media setup timed out"),
                ClientTimer::Alerting => {
                    if self.state == ClientState::InCall(State::Alerting) {
                        self.action(now, ActionEvent::Terminate, Some(Reason::Timeout));
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

    fn peer_error(&mut self, error: String) {
        self.out
            .push_back(ClientOutput::Event(ClientEvent::PeerError { error }));
    }

    fn send(&mut self, _now: Timestamp, m: &ClientMessage) {
        self.out.push_back(ClientOutput::Transmit {
            conn: (),
            text: m.encode(),
        });
    }

    /// Sends a message that the server answers, and times the answer.
    fn send_expecting(&mut self, now: Timestamp, m: &ClientMessage) {
        self.send(now, m);
        let deadline = now.after(self.config.response);
        self.awaiting.push_back(deadline);
        if self.timers.get(&ClientTimer::Response).is_none() {
            self.timers.set(ClientTimer::Response, deadline);
        }
    }

    fn action(&mut self, now: Timestamp, event: ActionEvent, reason: Option<Reason>) {
        self.send_expecting(now, &ClientMessage::Action { event, reason });
    }

    /// The server answered the oldest message still waiting.
    fn answered(&mut self, _now: Timestamp) {
        if self.awaiting.pop_front().is_none() {
            return;
        }
        match self.awaiting.front() {
            Some(next) => self.timers.set(ClientTimer::Response, *next),
            None => {
                self.timers.cancel(&ClientTimer::Response);
            }
        }
    }

    fn on_state(&mut self, now: Timestamp, state: State, reason: Option<Reason>) {
        if self.state == ClientState::Ended {
            return;
        }
        self.out
            .push_back(ClientOutput::Event(ClientEvent::StateChanged {
                state: state.clone(),
                reason: reason.clone(),
            }));
        if state == State::Alerting && self.state != ClientState::InCall(State::Alerting) {
            if let (Role::Callee, Some(d)) = (self.config.role, self.config.alerting_timeout) {
                self.timers.set(ClientTimer::Alerting, now.after(d));
            }
        } else if state != State::Alerting {
            self.timers.cancel(&ClientTimer::Alerting);
        }
        self.state = ClientState::InCall(state.clone());
        match state {
            State::Connected => self.end(Outcome::Connected),
            State::Terminated => self.end(Outcome::Terminated { reason }),
            _ => {}
        }
    }

    fn fail_and_close(&mut self, why: &str) {
        if self.state == ClientState::Ended {
            return;
        }
        self.out.push_back(ClientOutput::Close {
            conn: (),
            code: CloseCode::Normal,
            reason: why.to_owned(),
        });
        self.end(Outcome::Failed {
            why: why.to_owned(),
        });
    }

    /// The setup ended: report it once and stop every timer.
    fn end(&mut self, outcome: Outcome) {
        if self.state == ClientState::Ended {
            return;
        }
        self.state = ClientState::Ended;
        self.timers = TimerQueue::new();
        self.awaiting.clear();
        self.out
            .push_back(ClientOutput::Event(ClientEvent::Ended(outcome)));
    }
}

/// The transport inputs of [`Client`], as inherent methods take them.
impl Machine for Client {
    machine_inputs!(client, event ClientEvent, open |client, now| client.handle_open(now));
}
