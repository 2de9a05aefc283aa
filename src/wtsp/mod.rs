//! The WebTrit Signaling Protocol (WTSP): a phone app ↔ its signaling core.
//!
//! - Wire types: [`Message`] and the types it is made of.
//! - [`Client`]: the app side (one connection, reconnecting).
//! - [`Server`]: the core side (many connections, accounts and their lines).

mod codec;
mod event;
mod message;
mod request;
mod wire;

pub use event::{CallOffer, Event, EventKind};
pub use message::{
    CallLog, DecodeError, Handshake, IceCandidate, Jsep, Line, LineInfo, Message, Registration,
    RegistrationStatus, StateHandshake,
};
pub use request::{HoldDirection, Request, RequestGroup, RequestKind, Response, ResponseKind};

#[cfg(test)]
mod codec_tests;
