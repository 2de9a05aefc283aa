//! The Call API: JSON-RPC 2.0 over WebSocket to start, transfer, hold and end calls, each
//! command a lifecycle of notifications.
//!
//! - [`Client`]: commands on one connection, each ending exactly once.
//! - [`Server`]: the daemon's side of one connection.
//! - [`jsonrpc`]: the JSON-RPC 2.0 envelope, usable on its own.
//! - [`Command`], [`CallEvent`]: the catalog.
//!
//! Every flow of this protocol is drawn as a sequence diagram by
//! [`transcript::mermaid`](crate::transcript::mermaid); the repository's `docs/flows/` has the
//! pictures of `callapi-server-commands`, `callapi-server-timeout-and-close`, `callapi-server-jsonrpc`.

mod checkpoint;
mod client;
mod command;
mod id;
pub mod jsonrpc;
mod running;
mod server;

pub use client::{
    Client, ClientConfig, ClientEvent, ClientOutput, ClientTimer, CommandState, Outcome,
};
pub use command::{CallEvent, Command, Leg, ParamError, METHODS};
pub use running::ServerTimer;
pub use server::{ParamErrors, Server, ServerConfig, ServerEvent, ServerOutput};
