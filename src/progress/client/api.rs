//! The progress client's configuration, outputs, events and timers.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Secret;

use crate::progress::{RawJson, Reason, Role, State};

/// The longest alerting timer the protocol allows.
pub const MAX_ALERTING: Duration = Duration::from_secs(30);

/// Client configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Which party this device is.
    pub role: Role,
    /// The party's websocket token, sent in `hello` (redacted in `Debug`).
    pub auth: Secret,
    /// The call, sent in `hello` (leave out when the progress URL names it).
    pub call_id: Option<String>,
    /// The progress URL, for [`Client::connect`](crate::progress::Client::connect).
    pub url: Option<String>,
    /// How long a message waits for the server's answer (5 s).
    pub response: Duration,
    /// From sending `media-up` until `connected` (10 s).
    pub media_setup: Duration,
    /// Callee only: how long to let the call ring before terminating it with `timeout`
    /// (none; at most 30 s, longer values are cut to 30 s).
    pub alerting_timeout: Option<Duration>,
    /// Largest frame read; a larger one is reported and dropped (64 KiB).
    pub max_frame_len: usize,
}

impl ClientConfig {
    /// A configuration for one party with every other value at its default.
    pub fn new(role: Role, auth: impl Into<String>) -> Self {
        ClientConfig {
            role,
            auth: auth.into().into(),
            call_id: None,
            url: None,
            response: Duration::from_secs(5),
            media_setup: Duration::from_secs(10),
            alerting_timeout: None,
            max_frame_len: 64 << 10,
        }
    }
}

/// How a call setup ended, from this device's side. Reported exactly once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Both parties' media is up.
    Connected,
    /// The server terminated the setup, with its reason (an unknown reason means "call
    /// setup failed").
    Terminated {
        /// The reason, if the server gave one.
        reason: Option<Reason>,
    },
    /// The setup failed on this side: a timer expired, the server refused the hello, or
    /// the connection closed early.
    Failed {
        /// What happened.
        why: String,
    },
}

/// What the client tells the application.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientEvent {
    /// The call's state, from the server's `hello` or `progress`.
    StateChanged {
        /// The state.
        state: State,
        /// With `terminated`.
        reason: Option<Reason>,
    },
    /// The setup ended (once).
    Ended(Outcome),
    /// The server sent something this client could not use, or an `error`.
    PeerError {
        /// What.
        error: String,
    },
    /// A message of a type this client does not know, kept as it came; `error` "unknown
    /// message" was sent back and the setup carries on.
    UnknownMessage {
        /// The message.
        message: RawJson,
    },
    /// The server's answer to an `echo`.
    Echo {
        /// The value.
        echo: RawJson,
    },
}

/// What the client asks of the runtime. See the crate root for the drain rule.
pub type ClientOutput = crate::Output<(), ClientEvent>;

/// The client's named timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientTimer {
    /// The server must answer the oldest unanswered message.
    Response,
    /// `connected` must arrive after `media-up`.
    MediaSetup,
    /// Stop ringing (callee).
    Alerting,
}

impl ClientTimer {
    /// The timer's name, for logs and transcripts.
    pub fn name(&self) -> &'static str {
        match self {
            ClientTimer::Response => "response",
            ClientTimer::MediaSetup => "media_setup",
            ClientTimer::Alerting => "alerting",
        }
    }
}

/// Where the client stands, named after what it waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientState {
    /// Waits for the transport to open (then sends `hello`).
    AwaitingOpen,
    /// `hello` sent; waits for the server's `hello`.
    AwaitingHello,
    /// In the call; waits for progress. The last state the server reported.
    InCall(State),
    /// The setup ended; waits for nothing (the server closes the connection).
    Ended,
}

impl ClientState {
    /// The state's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            ClientState::AwaitingOpen => "awaiting open",
            ClientState::AwaitingHello => "awaiting hello",
            ClientState::InCall(State::Init) => "init",
            ClientState::InCall(State::Alerting) => "alerting",
            ClientState::InCall(State::Connecting) => "connecting",
            ClientState::InCall(State::HalfConnected) => "half-connected",
            ClientState::InCall(_) => "in call",
            ClientState::Ended => "ended",
        }
    }
}
