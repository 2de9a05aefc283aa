//! The progress server's configuration, outputs, events and timers.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::progress::{Reason, State};

/// Server configuration. Durations default to the seed's values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerConfig {
    /// From creating a call until both parties must have said hello (10 s).
    pub supervisory: Duration,
    /// From opening until a connection must have said hello; after it the connection is
    /// answered `error` "hello expected" and closed (10 s).
    pub hello_timeout: Duration,
    /// From the callee's first hello until it must accept (30 s).
    pub ringing: Duration,
    /// From accept until the call must be connected (10 s).
    pub connection: Duration,
    /// How long an ended call is kept, so a late hello learns how it ended (30 s).
    pub ended_call_retention: Duration,
    /// Calls at most (100 000).
    pub max_calls: usize,
    /// Open connections at most; more are closed at once (200 000).
    pub max_connections: usize,
    /// Devices per party at most; more are refused (8).
    pub max_devices_per_party: usize,
    /// Largest frame read; a larger one is a malformed message (64 KiB).
    pub max_frame_len: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            supervisory: Duration::from_secs(10),
            hello_timeout: Duration::from_secs(10),
            ringing: Duration::from_secs(30),
            connection: Duration::from_secs(10),
            ended_call_retention: Duration::from_secs(30),
            max_calls: 100_000,
            max_connections: 200_000,
            max_devices_per_party: 8,
            max_frame_len: 64 << 10,
        }
    }
}

/// A party to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The calling party.
    Caller,
    /// The called party.
    Callee,
}

impl Role {
    pub(crate) fn index(self) -> usize {
        match self {
            Role::Caller => 0,
            Role::Callee => 1,
        }
    }

    pub(crate) fn other(self) -> Role {
        match self {
            Role::Caller => Role::Callee,
            Role::Callee => Role::Caller,
        }
    }
}

/// What the server tells the application.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerEvent<C> {
    /// A connection said a valid hello and joined its call.
    Joined {
        /// The connection.
        conn: C,
        /// The call (shared with the machine: handing it out copies nothing).
        call_id: Arc<str>,
        /// As which party.
        role: Role,
    },
    /// A call's state changed (sent to its connections as `progress`).
    StateChanged {
        /// The call (shared with the machine: handing it out copies nothing).
        call_id: Arc<str>,
        /// The new state.
        state: State,
        /// With `terminated`.
        reason: Option<Reason>,
    },
    /// The peer sent something the protocol refuses; the machine answered `error` (and
    /// closed the connection unless it was an `error` from the client).
    PeerError {
        /// The connection.
        conn: C,
        /// Its call, when it had joined one.
        call_id: Option<Arc<str>>,
        /// The reason sent, or what the client reported.
        error: String,
    },
    /// A message of a type this server does not know, kept as it came. It was answered
    /// `error` "unknown message" and the connection closed (a `PeerError` and `Closed`
    /// follow).
    UnknownMessage {
        /// The connection.
        conn: C,
        /// The message.
        message: crate::progress::RawJson,
    },
    /// The connection left the machine (closed by the peer, or by the machine).
    Closed {
        /// The connection.
        conn: C,
        /// Its call, when it had joined one.
        call_id: Option<Arc<str>>,
        /// Why.
        reason: String,
    },
    /// An ended call was forgotten after `ended_call_retention`.
    CallRemoved {
        /// The call (shared with the machine: handing it out copies nothing).
        call_id: Arc<str>,
    },
}

/// What the server asks of the runtime. See the crate root for the drain rule.
pub type ServerOutput<C> = crate::Output<C, ServerEvent<C>>;

/// The server's named timers, one of each per call.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerTimer<C> {
    /// This connection must have said hello.
    Hello(C),
    /// Both parties must have said hello.
    Supervisory(Arc<str>),
    /// The callee must have accepted.
    Ringing(Arc<str>),
    /// The call must be connected.
    Connection(Arc<str>),
    /// Forget the ended call.
    Purge(Arc<str>),
}

impl<C> ServerTimer<C> {
    /// The timer's name, for logs and transcripts.
    pub fn name(&self) -> &'static str {
        match self {
            ServerTimer::Hello(_) => "hello",
            ServerTimer::Supervisory(_) => "supervisory",
            ServerTimer::Ringing(_) => "ringing",
            ServerTimer::Connection(_) => "connection",
            ServerTimer::Purge(_) => "purge",
        }
    }
}

/// A read-only view of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallView<'a, C> {
    /// The call.
    pub call_id: &'a str,
    /// Its state.
    pub state: &'a State,
    /// Its termination reason.
    pub reason: Option<&'a Reason>,
    /// The connections of each party (caller, callee).
    pub devices: [Vec<&'a C>; 2],
}
