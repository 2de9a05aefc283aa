//! The server's configuration, outputs, events and timers.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::wtsp::{Line, Registration, Request};
use crate::CloseCode;

/// Response error codes the server machine uses.
pub mod code {
    /// Unknown request.
    pub const UNKNOWN_REQUEST: i64 = 453;
    /// Missing mandatory element.
    pub const MISSING_MANDATORY_ELEMENT: i64 = 456;
    /// The call is not on the line the request names.
    pub const CALL_NOT_FOUND: i64 = 458;
    /// Invalid element type (wrong JSON type, no such line).
    pub const INVALID_ELEMENT_TYPE: i64 = 467;
    /// The application did not answer in time, or too many requests are open.
    pub const UNKNOWN_ERROR: i64 = 490;
    /// `outgoing_call` on a busy line.
    pub const BUSY_LINE: i64 = 503;
}

/// Server configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Lines per account (2; at most [`MAX_LINES`](crate::wtsp::Server::MAX_LINES), a
    /// larger value is taken as that).
    pub lines: usize,
    /// Offer a guest line in `state` (false).
    pub guest_line: bool,
    /// Keepalive interval announced in `state` (30 s); a connection silent for twice this
    /// long is closed with 4502.
    pub keepalive_interval: Duration,
    /// How long the application has to answer a request before the machine answers
    /// `error` 490 itself (10 s).
    pub request_timeout: Duration,
    /// Entries kept per line's call log; the oldest go first (64).
    pub call_log_len: usize,
    /// Open connections at most; more are closed with 1013 (100 000).
    pub max_connections: usize,
    /// Accounts kept at most; detached idle accounts are forgotten to make room (100 000).
    pub max_accounts: usize,
    /// Unanswered requests per connection; more are answered `error` 490 (64).
    pub max_pending_requests: usize,
    /// Largest frame read; larger closes the connection with 1009 (1 MiB).
    pub max_frame_len: usize,
    /// Largest `state` handshake sent (1 MiB: what the default client reads). An account's
    /// call logs are kept within it: when a new entry would make the `state` longer, the
    /// oldest entries of the account go first (reported by [`ServerEvent::CallLogsTrimmed`]),
    /// so a client that reads frames this long can always attach.
    pub max_state_len: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            lines: 2,
            guest_line: false,
            keepalive_interval: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            call_log_len: 64,
            max_connections: 100_000,
            max_accounts: 100_000,
            max_pending_requests: 64,
            max_frame_len: 1 << 20,
            max_state_len: 1 << 20,
        }
    }
}

/// What the server tells the application.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerEvent<C> {
    /// A connection presented a token: [`Server::attach`](crate::wtsp::Server::attach) it to an account or
    /// [`Server::reject`](crate::wtsp::Server::reject) it.
    Authenticate {
        /// The connection.
        conn: C,
        /// The session token from the URL (redacted in `Debug`).
        token: crate::Secret,
        /// `force` from the URL.
        force: bool,
        /// The tenant from the URL.
        tenant: Option<String>,
    },
    /// The connection is attached and has been sent `state`.
    Attached {
        /// The connection.
        conn: C,
        /// Its account.
        account: String,
    },
    /// A valid request: answer it with [`Server::respond`](crate::wtsp::Server::respond).
    Request {
        /// The connection.
        conn: C,
        /// Its account.
        account: String,
        /// The request.
        request: Request,
    },
    /// The application did not answer in time; the machine answered `error` 490.
    RequestTimedOut {
        /// The connection.
        conn: C,
        /// The transaction.
        transaction: String,
    },
    /// The account's call logs were over `max_state_len`: its oldest entries were dropped
    /// (the calls stay on their lines).
    CallLogsTrimmed {
        /// The account.
        account: String,
        /// How many entries were dropped.
        dropped: usize,
    },
    /// An incoming call found no free line: the client was sent `missed_call`; reject the
    /// SIP call (486 Busy Here).
    IncomingCallMissed {
        /// The account.
        account: String,
        /// The call.
        call_id: String,
    },
    /// The machine answered a request with an `error` response itself (unknown request,
    /// missing or invalid field, busy line, call not on its line, too many requests).
    RequestRefused {
        /// The connection.
        conn: C,
        /// The transaction.
        transaction: String,
        /// The request name, when it could be read.
        request: Option<String>,
        /// The error code sent.
        code: i64,
        /// The reason sent.
        reason: String,
    },
    /// The peer sent something wrong that has no answer but a close (a `Closed` event
    /// follows) or none at all (a duplicate transaction).
    PeerError {
        /// The connection.
        conn: C,
        /// What was wrong.
        error: String,
    },
    /// The connection has left the machine (closed by the peer, or closed by the machine
    /// with `code`).
    Closed {
        /// The connection.
        conn: C,
        /// Its account, when it was attached.
        account: Option<String>,
        /// Close code.
        code: Option<CloseCode>,
        /// Why.
        reason: String,
    },
}

/// What the server asks of the runtime. See the crate root for the drain rule.
pub type ServerOutput<C> = crate::Output<C, ServerEvent<C>>;

/// The server's named timers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerTimer<C> {
    /// The connection has been silent for 2 × keepalive interval.
    Idle(C),
    /// The application has not answered this transaction.
    Request(C, String),
}

impl<C> ServerTimer<C> {
    /// The timer's name, for logs and transcripts.
    pub fn name(&self) -> &'static str {
        match self {
            ServerTimer::Idle(_) => "idle",
            ServerTimer::Request(..) => "request",
        }
    }
}

/// Where a connection stands, named after what it waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConnState {
    /// Waits for the application to attach or reject it.
    AwaitingAuth {
        /// Token from the URL (redacted in `Debug`).
        token: crate::Secret,
        /// `force` from the URL.
        force: bool,
    },
    /// Attached to an account; `state` sent.
    Attached {
        /// The account.
        account: String,
    },
}

/// What the application gives when attaching a connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attach {
    /// The account the token belongs to.
    pub account: String,
    /// The server's wall clock now, in ms, for the `state` handshake.
    pub timestamp: u64,
    /// The account's SIP registration; `None` keeps what the account had (`registered`
    /// for a new account).
    pub registration: Option<Registration>,
}

/// Where an application event went.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// Sent to the account's connection (and logged on its line, if any).
    Sent {
        /// The line the event was placed on.
        line: Option<Line>,
    },
    /// The account has no connection now; logged on its line for the next `state`.
    Stored {
        /// The line the event was placed on.
        line: Option<Line>,
    },
    /// `incoming_call` with no free line: `missed_call` was sent instead.
    Missed,
}
