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
//! ## Inputs
//!
//! Every input is a method that takes `now` (a [`Timestamp`] on the caller's monotonic
//! clock) first:
//!
//! - transport: `handle_open`, `handle_frame`, `handle_close`;
//! - time: `handle_timeout`;
//! - the application's commands (`connect`, `request`, `attach`, `respond`, …), which
//!   return `Result<_, `[`UsageError`]`>` when the application asks for something the
//!   protocol or the state does not allow (nothing is sent then).
//!
//! What the *peer* gets wrong is never an error of these methods: the machine answers as
//! the protocol says (an error frame, an error response, a close code) and reports it as an
//! event. No input, however malformed, panics the machine or grows its memory without bound;
//! every limit is in the machine's config.
//!
//! ## Outputs and the drain rule
//!
//! Outputs come from one method, `poll_output()`, which returns one enum: a frame to send,
//! a connection to close, a connection to open (clients), an event for the application,
//! or — last, when nothing else is queued — `Timeout(Option<Timestamp>)`, the next
//! deadline.
//!
//! **After every input, call `poll_output()` until it returns `Timeout`.** Then sleep
//! until that deadline or the next input, whichever comes first, and call
//! `handle_timeout(now)` when the deadline passes. `handle_timeout` is safe to call early,
//! late or twice; after it the deadline is later than `now` or absent.
//!
//! ```
//! use callsig::wtsp::{Client, ClientConfig, ClientOutput, ClientEvent};
//! use callsig::Timestamp;
//!
//! let mut client = Client::new(ClientConfig::new("wss://core.example.com", "token"));
//! let mut now = Timestamp::ZERO;
//! client.connect(now).unwrap();
//!
//! // A runtime's loop, with the network and the clock played by hand.
//! let mut from_server = vec![
//!     r#"{"handshake":"state","keepalive_interval":30000,"timestamp":1700000000000,
//!        "registration":{"status":"registered"},"lines":[null,null]}"#,
//! ];
//! let mut sent = Vec::new();
//! loop {
//!     // Drain.
//!     let deadline = loop {
//!         match client.poll_output() {
//!             ClientOutput::Connect(_req) => client.handle_open(now).unwrap(),
//!             ClientOutput::Transmit(text) => sent.push(text),
//!             ClientOutput::Close { .. } => {}
//!             ClientOutput::Event(ClientEvent::Ready { .. }) => println!("ready"),
//!             ClientOutput::Event(_) => {}
//!             ClientOutput::Timeout(deadline) => break deadline,
//!             // Outputs a later version adds (the enum is `#[non_exhaustive]`).
//!             _ => {}
//!         }
//!     };
//!     // Wait for the next input: here, a frame if one is left, else the deadline.
//!     if let Some(frame) = from_server.pop() {
//!         client.handle_frame(now, frame);
//!     } else if let Some(at) = deadline {
//!         now = at;
//!         client.handle_timeout(now);
//!         break;
//!     }
//! }
//! // The 30 s keepalive fired and sent a keepalive transaction.
//! assert_eq!(now, Timestamp::from_millis(30_000));
//! assert!(client.poll_output() != ClientOutput::Timeout(None));
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

pub mod callapi;
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

pub use error::UsageError;
pub use raw_json::RawJson;
pub use routing::Routing;
pub use secret::Secret;

/// The README's example is compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use time::Timestamp;
