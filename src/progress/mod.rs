//! The Loop call-setup progress protocol: two parties ↔ a coordinator.
//!
//! - [`Client`]: one party's device.
//! - [`Server`]: the coordinator (many calls, many connections).
//! - Wire types: [`ClientMessage`], [`ServerMessage`], [`State`], [`Reason`].

mod client;
mod message;
mod server;

pub use client::{
    Client, ClientConfig, ClientEvent, ClientState, ClientTimer, ConnectRequest, Outcome,
    Output as ClientOutput, MAX_ALERTING,
};
pub use message::{ActionEvent, ClientMessage, DecodeError, RawJson, Reason, ServerMessage, State};
pub use server::{
    CallView, Output as ServerOutput, Role, Server, ServerConfig, ServerEvent, ServerTimer,
};
