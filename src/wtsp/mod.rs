//! The WebTrit Signaling Protocol (WTSP): a phone app ↔ its signaling core.
//!
//! - Wire types: [`Message`] and the types it is made of.
//! - [`Client`]: the app side (one connection, reconnecting).
//! - [`Server`]: the core side (many connections, accounts and their lines).
//!
//! Every flow of this protocol is drawn as a sequence diagram by
//! [`transcript::mermaid`](crate::transcript::mermaid); the repository's `docs/flows/` has the
//! pictures of `wtsp-client-outgoing-call`, `wtsp-server-timeouts`, `wtsp-server-open-refusals`.

mod client;
mod codec;
mod event;
mod lines;
mod message;
mod request;
mod server;
mod url;
mod values;
pub use crate::RawJson;
mod wire;

pub use client::{
    Client, ClientConfig, ClientEvent, ClientOutput, ClientState, ClientTimer, TransactionId,
    TransactionOutcome, SUBPROTOCOL,
};
pub use event::{CallOffer, ErrorLevel, Event, EventKind};
pub use lines::{
    reconcile, reconcile_lines, CallPhase, Direction, KnownCall, LineCall, Lines, ReconcileAction,
};
pub use message::{DecodeError, Handshake, Message, StateHandshake};
pub use request::{HoldDirection, Request, RequestGroup, RequestKind, Response, ResponseKind};
pub use server::{
    code, AccountPartition, Attach, ConnState, Delivery, Server, ServerConfig, ServerEvent,
    ServerOutput, ServerTimer,
};
pub use url::{SignalingUrl, UrlError};
pub use values::{CallLog, IceCandidate, Jsep, Line, LineInfo, Registration, RegistrationStatus};

#[cfg(test)]
mod codec_tests;
#[cfg(test)]
mod lines_tests;
