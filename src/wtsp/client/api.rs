//! The client's configuration, outputs, events and timers.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Secret;

use crate::wtsp::{Event, Response, StateHandshake, TransactionId};
use crate::CloseCode;
use crate::Timestamp;

/// The WebSocket sub-protocol WTSP requires.
pub const SUBPROTOCOL: &str = "webtrit-protocol";

/// Client configuration. Durations default to the profile's values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Base URL of the core (`https://core.example.com`, `wss://…`, or a full
    /// `…/signaling/v1` URL). http becomes ws and https becomes wss.
    pub url: String,
    /// Session token (redacted in `Debug`).
    pub token: Secret,
    /// Take over from another connection of the same account (`force=true`).
    pub force: bool,
    /// Tenant id, put in the path as `/tenant/ID`.
    pub tenant: Option<String>,
    /// How long a request waits for its response (10 s).
    pub transaction_timeout: Duration,
    /// How long a keepalive waits for its echo before the connection counts as dead (10 s).
    pub keepalive_timeout: Duration,
    /// Keepalive interval when the handshake does not give one (30 s).
    pub default_keepalive_interval: Duration,
    /// How long from asking to connect until `state` must have arrived (10 s).
    pub handshake_timeout: Duration,
    /// Delay before reconnecting after an unexpected close (3 s).
    pub reconnect_delay: Duration,
    /// Upper bound of the reconnect backoff (60 s).
    pub reconnect_max_delay: Duration,
    /// How many requests may wait for the handshake (32). They age out after
    /// `transaction_timeout`.
    pub max_queued_requests: usize,
    /// How many requests may wait for their responses at once (256).
    pub max_pending_transactions: usize,
    /// Largest frame read; a larger one is reported and dropped (1 MiB).
    pub max_frame_len: usize,
    /// The number of the first transaction (`transaction-<n>`); a caller seed keeps ids
    /// unique across restarts (1).
    pub first_transaction: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            url: String::new(),
            token: Secret::default(),
            force: false,
            tenant: None,
            transaction_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(10),
            default_keepalive_interval: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            reconnect_delay: Duration::from_secs(3),
            reconnect_max_delay: Duration::from_secs(60),
            max_queued_requests: 32,
            max_pending_transactions: 256,
            max_frame_len: 1 << 20,
            first_transaction: 1,
        }
    }
}

impl ClientConfig {
    /// A configuration for `url` and `token` with every other value at its default.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Self {
        ClientConfig {
            url: url.into(),
            token: token.into().into(),
            ..Self::default()
        }
    }

    /// The URL to connect to: `ws[s]://HOST[/tenant/ID]/signaling/v1?token=…&force=…`.
    pub fn connect_url(&self) -> String {
        self.connect_url_forcing(self.force)
    }

    /// [`connect_url`](Self::connect_url) with `force` given.
    pub fn connect_url_forcing(&self, force: bool) -> String {
        let mut base = self.url.trim_end_matches('/').to_owned();
        if let Some(rest) = base.strip_prefix("https://") {
            base = format!("wss://{rest}");
        } else if let Some(rest) = base.strip_prefix("http://") {
            base = format!("ws://{rest}");
        }
        let prefix = base.strip_suffix("/signaling/v1").unwrap_or(&base);
        let mut url = prefix.to_owned();
        if let Some(tenant) = &self.tenant {
            url.push_str("/tenant/");
            percent_encode(tenant, &mut url);
        }
        url.push_str("/signaling/v1?token=");
        percent_encode(self.token.expose(), &mut url);
        url.push_str(if force { "&force=true" } else { "&force=false" });
        url
    }
}

pub(crate) fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// How a request ended. Every request ends exactly once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransactionOutcome {
    /// `ack`.
    Ack,
    /// `error` response.
    Error {
        /// Its code.
        code: i64,
        /// Its reason.
        reason: String,
    },
    /// No response within `transaction_timeout`.
    TimedOut,
    /// The connection closed before the response.
    ConnectionClosed,
    /// Queued before the handshake and aged out unsent.
    Expired,
    /// Queued before the handshake, and refused when the handshake showed the lines (a
    /// busy line, a call not on its line): never sent.
    Refused {
        /// Why.
        reason: String,
    },
}

/// What the client tells the application.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientEvent {
    /// The `state` handshake arrived; requests can flow. After a reconnect, reconcile with
    /// [`Client::reconcile`](crate::wtsp::Client::reconcile).
    Ready {
        /// Whether an earlier connection of this client had been ready.
        reconnected: bool,
        /// The handshake.
        state: Box<StateHandshake>,
    },
    /// A request ended.
    TransactionEnded {
        /// Its transaction.
        transaction: TransactionId,
        /// Its request name (borrowed for the catalog's requests: ending one copies
        /// nothing).
        request: Cow<'static, str>,
        /// How it ended.
        outcome: TransactionOutcome,
    },
    /// A response for no open transaction (late, or never ours). Ignored.
    UnmatchedResponse {
        /// The response.
        response: Response,
    },
    /// An event from the server, applied to the line model.
    Event {
        /// The event.
        event: Event,
    },
    /// A frame that could not be read. Ignored.
    Malformed {
        /// Why.
        error: String,
    },
    /// A message the client does not expect from a server (a request, a second keepalive
    /// echo…). Ignored.
    Unexpected {
        /// What.
        detail: String,
    },
    /// The connection is gone.
    Disconnected {
        /// Close code, when there was one.
        code: Option<CloseCode>,
        /// Close reason or what the client saw.
        reason: String,
        /// When the client will reconnect; `None`: it will not.
        reconnect_at: Option<Timestamp>,
    },
}

/// What the client asks of the runtime. See the crate root for the drain rule.
pub type ClientOutput = crate::Output<(), ClientEvent>;

/// The client's named timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientTimer {
    /// `state` must arrive by then.
    Handshake,
    /// Send a keepalive (re-armed by every outgoing message).
    Keepalive,
    /// The keepalive's echo must arrive by then.
    KeepaliveEcho,
    /// Reconnect.
    Reconnect,
    /// Transaction `n` times out.
    Transaction(u64),
    /// Queued request `n` ages out.
    Queued(u64),
}

impl ClientTimer {
    /// The timer's name, for logs and transcripts.
    pub fn name(&self) -> &'static str {
        match self {
            ClientTimer::Handshake => "handshake",
            ClientTimer::Keepalive => "keepalive",
            ClientTimer::KeepaliveEcho => "keepalive_echo",
            ClientTimer::Reconnect => "reconnect",
            ClientTimer::Transaction(_) => "transaction",
            ClientTimer::Queued(_) => "queued",
        }
    }
}

/// Where the client's connection stands, named after what it waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientState {
    /// Not connected and not going to: waits for [`Client::connect`](crate::wtsp::Client::connect).
    Idle,
    /// Asked the runtime to connect: waits for [`Client::handle_open`](crate::wtsp::Client::handle_open).
    AwaitingOpen,
    /// Connected: waits for the `state` handshake.
    AwaitingState,
    /// Handshake done: requests flow.
    Ready,
    /// Waits for the reconnect timer.
    AwaitingReconnect,
}

impl ClientState {
    /// The state's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            ClientState::Idle => "idle",
            ClientState::AwaitingOpen => "awaiting open",
            ClientState::AwaitingState => "awaiting state",
            ClientState::Ready => "ready",
            ClientState::AwaitingReconnect => "awaiting reconnect",
        }
    }
}
