//! WTSP messages: one Rust type per message, named after the protocol's own words. They
//! are read and written by `codec.rs`.

use serde_json::Value;

use super::event::Event;
use super::request::{Request, Response};
use super::values::{LineInfo, Registration};

/// What [`Message::decode_with`] made of a frame.
// A short-lived return value: boxing the message would cost an allocation per frame.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Decoded<T> {
    /// What its `take` took.
    Taken(T),
    /// The frame decoded (or why not).
    Message(Result<Message, DecodeError>),
}

/// The `state` handshake: what the server has for this session.
#[derive(Clone, Debug, PartialEq)]
pub struct StateHandshake {
    /// Keepalive interval in milliseconds; clients use 30000 when it is missing.
    pub keepalive_interval: Option<u64>,
    /// Server wall clock, ms.
    pub timestamp: u64,
    /// SIP registration.
    pub registration: Registration,
    /// One entry per configured line: `None` when idle.
    pub lines: Vec<Option<LineInfo>>,
    /// The guest line, when the server has one.
    pub guest_line: Option<LineInfo>,
    /// `user_active_calls`: absent (`None`), `null` (`Some(None)`) or a list.
    pub user_active_calls: Option<Option<Vec<Value>>>,
    /// `dialog_infos` from newer servers, kept raw.
    pub dialog_infos: Option<Value>,
    /// `presence_infos` from newer servers, kept raw.
    pub presence_infos: Option<Value>,
}

/// A handshake message.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Handshake {
    /// `state`, server → client, first and once.
    State(StateHandshake),
    /// `keepalive`, client → server and echoed back verbatim.
    Keepalive {
        /// The keepalive's transaction id.
        transaction: String,
    },
    /// A handshake this library does not know.
    Unknown {
        /// Its `handshake` value.
        name: String,
        /// Its `transaction`, if any.
        transaction: Option<String>,
    },
}

/// One WTSP message.
///
/// Read with [`Message::decode`], write with [`Message::encode`] (or
/// [`Message::encode_into`] to reuse a buffer).
///
/// The reader is tolerant, as the profile asks: unknown fields are ignored, a legacy `data`
/// object is read as if its members were top-level fields, `refer_id` may be a number or a
/// string, and an event with an unknown name is kept as [`EventKind::Unknown`](super::EventKind::Unknown) with the raw
/// JSON. Requests are read strictly (their mandatory fields are checked), because a server
/// must answer a bad request with the right error code. The writer is exact: always the
/// flat format, only the documented field names.
///
/// ```
/// use callsig::wtsp::{Message, EventKind};
///
/// let msg = Message::decode(r#"{"event":"ringing","line":0,"call_id":"c1"}"#).unwrap();
/// let Message::Event(ev) = &msg else { panic!() };
/// assert_eq!(ev.kind, EventKind::Ringing);
/// assert_eq!(msg.encode(), r#"{"event":"ringing","line":0,"call_id":"c1"}"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// `handshake`
    Handshake(Handshake),
    /// `request`
    Request(Request),
    /// `response`
    Response(Response),
    /// `event`
    Event(Event),
}

/// Why a frame could not be read as a WTSP message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not JSON.
    #[error("frame is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("frame is not a JSON object")]
    NotAnObject,
    /// An object with none of `handshake`, `request`, `response`, `event`.
    #[error("frame has none of handshake, request, response, event")]
    UnknownKind,
    /// A mandatory field is missing (a server answers `error` 456, or closes 4501 when the
    /// missing field is `transaction`).
    #[error("{message} is missing mandatory element {field}")]
    MissingField {
        /// The message name (`outgoing_call`, `error`, …).
        message: String,
        /// The missing field.
        field: &'static str,
        /// The transaction, when the frame had one.
        transaction: Option<String>,
    },
    /// A field has the wrong type or an invalid value (a server answers `error` 467).
    #[error("invalid element: {detail}")]
    InvalidField {
        /// The message name, when it could be read.
        message: Option<String>,
        /// What is wrong.
        detail: String,
        /// The transaction, when the frame had one.
        transaction: Option<String>,
    },
}

impl DecodeError {
    /// The transaction of the frame, when it could be read.
    pub fn transaction(&self) -> Option<&str> {
        match self {
            DecodeError::MissingField { transaction, .. }
            | DecodeError::InvalidField { transaction, .. } => transaction.as_deref(),
            _ => None,
        }
    }
}
