//! # callsig
//!
//! Pure, deterministic, sans-IO state machines for three WebSocket/JSON call-signaling
//! protocols:
//!
//! | module   | protocol                                  | machines                      |
//! |----------|-------------------------------------------|-------------------------------|
//! | [`wtsp`] | WebTrit Signaling Protocol (app ↔ core)   | [`wtsp::Client`], [`wtsp::Server`] |
//! | [`progress`] | Loop call-setup progress (parties ↔ coordinator) | [`progress::Client`], [`progress::Server`] |
//! | [`callapi`] | JSON-RPC 2.0 Call API (commands ↔ daemon) | [`callapi::Client`], [`callapi::Server`] |
//!
//! A machine takes text frames, connection events, application commands and timestamps
//! in, and gives frames, close/connect requests, application events and its next deadline
//! out. It never touches a socket, a clock, a thread or a random number generator: the same
//! inputs give the same outputs, byte for byte, and its whole state is
//! `Clone + Serialize + Deserialize` so it can be checkpointed and resumed elsewhere.
//!
//! ## One interface: [`Machine`]
//!
//! All six machines implement [`Machine`]: transport inputs go in through
//! [`Machine::handle_input`] as an [`Input`] (`Open`, `Frame`, `Closed`, `Timeout`, each
//! naming its connection: `()` on a client, the application's own id on a server), and
//! every output comes out of [`Machine::poll_output`] as one [`Output`] type whose five
//! variants are the same for every machine: `Transmit` a frame, `Close` a connection,
//! `Connect` one (clients), an `Event` for the application, and last the `Timeout` to
//! wake at. Each machine also has the inputs as inherent methods taking `now` first
//! (`handle_open`, `handle_frame`, `handle_close`, `handle_timeout`), with the same
//! arguments on every client and on every server, and its protocol's own application
//! commands (`connect`, `request`, `attach`, `create_call`, `start`, `notify`, …), which
//! return `Result<_, `[`UsageError`]`>` when the application asks for something the
//! protocol or the state does not allow (nothing is sent then).
//!
//! A server's `handle_frame` and `handle_close` return [`Routing`]: `NotMine` when the
//! machine holds no such connection (it closed it already, or never opened it), so a
//! runtime serving several machines can offer the input to the next. (A client has one
//! connection: its inputs are always its own.)
//!
//! What the *peer* gets wrong is never an error of these methods: the machine answers as
//! the protocol says (an error frame, an error response, a close code) and reports it as an
//! event. No input, however malformed, panics the machine or grows its memory without bound;
//! every limit is in the machine's config.
//!
//! ## The drain rule
//!
//! **After every input, call `poll_output()` until it returns `Timeout`.** Then sleep
//! until that deadline or the next input, whichever comes first, and feed
//! `Input::Timeout` (or call `handle_timeout(now)`) when the deadline passes. A timeout is
//! safe early, late or twice; after it the deadline is later than `now` or absent.
//! [`Machine::drain`] is that loop for a runtime that only passes outputs on.
//!
//! Two machines wired to each other in-process, no runtime at all: a Call API client
//! starts a command, the server's application ends it, and every frame of one is fed to
//! the other by one generic function.
//!
//! ```
//! use callsig::callapi::{self, ClientEvent, Command, Outcome, ServerEvent};
//! use callsig::{Input, Machine, Output, Timestamp};
//!
//! /// Drains `from`, feeding its frames to `to`; returns `from`'s events.
//! fn relay<A, B>(now: Timestamp, from: &mut A, to: &mut B) -> Vec<A::Event>
//! where
//!     A: Machine<Conn = ()>,
//!     B: Machine<Conn = ()>,
//! {
//!     let (mut frames, mut events) = (Vec::new(), Vec::new());
//!     from.drain(|output| match output {
//!         Output::Transmit { text, .. } => frames.push(text),
//!         Output::Event(e) => events.push(e),
//!         _ => {}
//!     });
//!     for text in &frames {
//!         to.handle_input(now, Input::Frame { conn: &(), text }).unwrap();
//!     }
//!     events
//! }
//!
//! let now = Timestamp::ZERO;
//! let mut client = callapi::Client::new(callapi::ClientConfig::default());
//! let mut server = callapi::Server::new(callapi::ServerConfig::default());
//!
//! client.start(now, &Command::CallEnd { callid: "a84b4c76e66710".into() }).unwrap();
//! relay(now, &mut client, &mut server);
//! // The server's application hears of the command and ends it.
//! for event in relay(now, &mut server, &mut client) {
//!     if let ServerEvent::CommandStarted { cmd_id, .. } = event {
//!         server.end(now, &cmd_id).unwrap();
//!     }
//! }
//! relay(now, &mut server, &mut client);
//! // The client heard `Started`, then `Ended`.
//! let events = relay(now, &mut client, &mut server);
//! assert!(matches!(
//!     events.last(),
//!     Some(ClientEvent::Ended { outcome: Outcome::Completed, .. })
//! ));
//! ```
//!
//! ## Timers
//!
//! Each machine keeps its timers in a small table of named timers; the outside sees only
//! the earliest deadline and may ask which timer it is (`next_timer()`) for logs.
//!
//! ## Transcripts
//!
//! [`transcript`] replays a JSON Lines script against any machine and records what it does:
//! it is public for your own tools and tests (snapshot a protocol exchange as text);
//! `cargo run --example replay -- FILE` exposes it.
//!
//! ## Panic policy
//!
//! The machines never panic on any input from the network or the application. The crate
//! has `#![forbid(unsafe_code)]`.
#![forbid(unsafe_code)]
// A default built on every call (`unwrap_or(String::from(..))`) allocates on hot paths.
#![warn(clippy::or_fun_call)]
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

#[macro_use]
mod machine;

pub mod callapi;
mod close_code;
mod error;
mod id_map;
mod json;
mod json_out;
pub mod progress;
mod raw_json;
mod routing;
mod secret;
mod serde_pairs;
mod time;
mod timer;
pub mod transcript;
pub mod wtsp;

pub use close_code::CloseCode;
pub use error::UsageError;
pub use machine::{ConnectRequest, Input, Machine, Output};
pub use raw_json::RawJson;
pub use routing::Routing;
pub use secret::Secret;

/// The README's example is compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use time::Timestamp;
