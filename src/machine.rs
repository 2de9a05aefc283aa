//! The one interface all six machines share: [`Machine`], its [`Input`] and [`Output`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CloseCode, Routing, Timestamp, UsageError};

/// What a machine asks of its runtime, or tells its application. Every machine's output
/// type is this enum (`wtsp::ClientOutput` is `Output<(), wtsp::ClientEvent>`, and so on);
/// `C` is how the runtime names a connection (`()` on a client, which has one) and `E` the
/// machine's events.
///
/// The five variants are the whole driving contract and stay as they are: what a protocol
/// adds later comes as new events, so a `match` over these is exhaustive for good.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output<C, E> {
    /// Send this text frame on the connection.
    Transmit {
        /// The connection.
        conn: C,
        /// The frame.
        text: String,
    },
    /// Close the connection with this code and reason. The machine has already forgotten it:
    /// do not report its close back.
    Close {
        /// The connection.
        conn: C,
        /// The close code.
        code: CloseCode,
        /// The close reason.
        reason: String,
    },
    /// Open a connection (clients only), then feed [`Input::Open`] — or [`Input::Closed`]
    /// if it cannot be opened.
    Connect(ConnectRequest),
    /// Something for the application.
    Event(E),
    /// Nothing more is queued: feed [`Input::Timeout`] at this time (`None`: only an input
    /// can wake the machine). Always the last output of a drain.
    Timeout(Option<Timestamp>),
}

/// A connection a client asks its runtime to open. Its `Debug` shows the URL with any
/// token redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectRequest {
    /// The URL (a WTSP URL carries the session token).
    pub url: String,
    /// The WebSocket sub-protocols to offer (none for a Loop progress connection).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<String>,
}

impl fmt::Debug for ConnectRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectRequest")
            .field("url", &crate::secret::redact_url(&self.url))
            .field("protocols", &self.protocols)
            .finish()
    }
}

/// What the transport tells a machine. `C` is the machine's connection name (`()` on a
/// client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input<'a, C> {
    /// A connection opened: on a client, the one its [`Output::Connect`] asked for; on a
    /// server, a new one, accepted with this request URL (path and query, or a whole URL)
    /// and these offered WebSocket sub-protocols (a client passes `""` and `&[]`).
    Open {
        /// The connection.
        conn: &'a C,
        /// The request URL.
        url: &'a str,
        /// The sub-protocols offered.
        protocols: &'a [&'a str],
    },
    /// A text frame arrived.
    Frame {
        /// The connection.
        conn: &'a C,
        /// The frame.
        text: &'a str,
    },
    /// The connection closed, or could not be opened: the peer's close code, if one came,
    /// and its reason (`""` if none).
    Closed {
        /// The connection.
        conn: &'a C,
        /// The peer's close code.
        code: Option<CloseCode>,
        /// The peer's close reason.
        reason: &'a str,
    },
    /// The deadline of the last [`Output::Timeout`] passed (early, late or twice is safe).
    Timeout,
}

/// A protocol machine: transport inputs in, outputs out, nothing else. All six machines
/// implement it, so one loop drives any of them (see the crate root for the drain rule);
/// what only one protocol has (`connect`, `request`, `attach`, `notify`, …) stays an
/// inherent method of its machine. Each machine also has the inputs as inherent methods
/// with the same arguments (`handle_frame`, `handle_close`, …).
pub trait Machine {
    /// How the runtime names a connection: `()` on a client (it has one at a time), the
    /// application's own id type on a server.
    type Conn: Clone + fmt::Debug;
    /// What the machine tells the application.
    type Event: fmt::Debug;

    /// Feeds one transport input at `now`. [`Routing::NotMine`]: a server holds no such
    /// connection (already closed, or never opened), and nothing was done. An error: the
    /// input makes no sense in the machine's state (e.g. `Open` on a client that asked for
    /// no connection, or a server connection opened twice); nothing was done either.
    fn handle_input(
        &mut self,
        now: Timestamp,
        input: Input<'_, Self::Conn>,
    ) -> Result<Routing, UsageError>;

    /// The next output; [`Output::Timeout`] when nothing is queued.
    fn poll_output(&mut self) -> Output<Self::Conn, Self::Event>;

    /// The deadline the machine waits for (what a drained [`Output::Timeout`] carries).
    fn next_deadline(&self) -> Option<Timestamp>;

    /// Polls until [`Output::Timeout`], handing every other output to `each` in order, and
    /// returns the deadline: the drain rule, for runtimes that only need to pass outputs on.
    fn drain(&mut self, mut each: impl FnMut(Output<Self::Conn, Self::Event>)) -> Option<Timestamp>
    where
        Self: Sized,
    {
        loop {
            match self.poll_output() {
                Output::Timeout(deadline) => return deadline,
                other => each(other),
            }
        }
    }
}

/// The items of a [`Machine`] impl for a machine whose inherent inputs have its side's
/// uniform signatures (`handle_frame`, `handle_close`, `handle_timeout`, `poll_output`,
/// `next_timer`). `open` says how `Input::Open` is fed to it; it gives
/// `Result<(), UsageError>`.
macro_rules! machine_inputs {
    (client, event $event:ty, open |$m:ident, $now:ident| $open:expr) => {
        type Conn = ();
        type Event = $event;

        fn handle_input(
            &mut self,
            now: $crate::Timestamp,
            input: $crate::Input<'_, ()>,
        ) -> Result<$crate::Routing, $crate::UsageError> {
            match input {
                $crate::Input::Open { .. } => {
                    let ($m, $now) = (&mut *self, now);
                    $open?;
                }
                $crate::Input::Frame { text, .. } => self.handle_frame(now, text),
                $crate::Input::Closed { code, reason, .. } => {
                    self.handle_close(now, code, reason)
                }
                $crate::Input::Timeout => self.handle_timeout(now),
            }
            Ok($crate::Routing::Handled)
        }

        machine_inputs!(@outputs (), $event);
    };
    (server, conn $conn:ty, event $event:ty,
     open |$m:ident, $now:ident, $c:ident, $url:ident, $protocols:ident| $open:expr) => {
        type Conn = $conn;
        type Event = $event;

        fn handle_input(
            &mut self,
            now: $crate::Timestamp,
            input: $crate::Input<'_, $conn>,
        ) -> Result<$crate::Routing, $crate::UsageError> {
            Ok(match input {
                $crate::Input::Open {
                    conn,
                    url,
                    protocols,
                } => {
                    let ($m, $now, $c, $url, $protocols) = (&mut *self, now, conn, url, protocols);
                    $open?;
                    $crate::Routing::Handled
                }
                $crate::Input::Frame { conn, text } => self.handle_frame(now, conn, text),
                $crate::Input::Closed { conn, code, .. } => self.handle_close(now, conn, code),
                $crate::Input::Timeout => {
                    self.handle_timeout(now);
                    $crate::Routing::Handled
                }
            })
        }

        machine_inputs!(@outputs $conn, $event);
    };
    (@outputs $conn:ty, $event:ty) => {
        fn poll_output(&mut self) -> $crate::Output<$conn, $event> {
            // The inherent method: it is the one with the queue.
            Self::poll_output(self)
        }

        fn next_deadline(&self) -> Option<$crate::Timestamp> {
            self.next_timer().map(|(at, _)| at)
        }
    };
}
