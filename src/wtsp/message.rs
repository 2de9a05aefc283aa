//! WTSP wire types: one Rust type per message, named after the protocol's own words.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codec::{
    event_from, event_wire, handshake_from, handshake_to, request_from, request_to, response_from,
    response_to,
};
use super::event::Event;
use super::request::{Request, Response};
use super::wire::Wire;
use crate::RawJson;

/// Which line a request or event is about.
///
/// In events and checkpoints (not on the wire) a line is written as its number, or
/// `"guest"` for the guest line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Line {
    /// One of the account's configured lines, numbered from 0.
    Index(u32),
    /// The guest line (`"line": null` on the wire).
    #[serde(with = "guest")]
    Guest,
}

mod guest {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("guest")
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        match <&str>::deserialize(d)? {
            "guest" => Ok(()),
            other => Err(serde::de::Error::custom(format!("not a line: {other:?}"))),
        }
    }
}

impl Line {
    pub(crate) fn to_wire(self) -> Option<u32> {
        match self {
            Line::Index(i) => Some(i),
            Line::Guest => None,
        }
    }

    pub(crate) fn from_wire(v: Option<u32>) -> Line {
        v.map_or(Line::Guest, Line::Index)
    }
}

/// A WebRTC session description (`{"type": "offer", "sdp": "…"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jsep {
    /// `offer` or `answer`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The SDP text.
    pub sdp: String,
}

impl Jsep {
    /// An SDP offer.
    pub fn offer(sdp: impl Into<String>) -> Self {
        Jsep {
            kind: "offer".into(),
            sdp: sdp.into(),
        }
    }

    /// An SDP answer.
    pub fn answer(sdp: impl Into<String>) -> Self {
        Jsep {
            kind: "answer".into(),
            sdp: sdp.into(),
        }
    }
}

/// An ICE candidate as trickled in `ice_trickle`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IceCandidate {
    /// A candidate object (`{candidate, sdpMid, sdpMLineIndex}`), kept as sent.
    Candidate(Value),
    /// `{"completed": true}`: gathering finished.
    Completed,
    /// `null`: end of candidates.
    End,
}

impl IceCandidate {
    pub(crate) fn from_wire(v: Option<Cow<'_, Value>>) -> IceCandidate {
        match v {
            None => IceCandidate::End,
            Some(v) if v.get("completed") == Some(&Value::Bool(true)) => IceCandidate::Completed,
            Some(v) => IceCandidate::Candidate(v.into_owned()),
        }
    }

    pub(crate) fn to_wire(&self) -> Option<Cow<'_, Value>> {
        match self {
            IceCandidate::Candidate(v) => Some(Cow::Borrowed(v)),
            IceCandidate::Completed => Some(Cow::Owned(serde_json::json!({"completed": true}))),
            IceCandidate::End => None,
        }
    }
}

/// SIP registration status, as in the `state` handshake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegistrationStatus {
    /// `registering`
    Registering,
    /// `registered`
    Registered,
    /// `registration_failed`
    RegistrationFailed,
    /// `unregistering`
    Unregistering,
    /// `unregistered`
    Unregistered,
    /// A status this library does not know, kept as sent.
    #[serde(untagged)]
    Other(String),
}

/// The `registration` object of the `state` handshake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The registration status.
    pub status: RegistrationStatus,
    /// Failure code, with `registration_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Failure reason, with `registration_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Registration {
    /// A registration with only a status.
    pub fn new(status: RegistrationStatus) -> Self {
        Registration {
            status,
            code: None,
            reason: None,
        }
    }
}

/// One entry of a line's `call_logs`: `[server_time_ms, message]`. The message is a
/// request, response or event as logged, without `line` and `call_id`.
#[derive(Clone, Debug, PartialEq)]
pub struct CallLog {
    /// Server wall-clock time of the entry, in milliseconds.
    pub timestamp: u64,
    /// The logged message, as the server wrote it (read it with [`CallLog::decode`]).
    pub message: RawJson,
}

impl CallLog {
    /// Reads the logged message as a typed message, with the `line` and `call_id` it was
    /// logged under put back (logs leave them out, and call requests need them).
    pub fn decode(&self, line: Line, call_id: &str) -> Result<Message, DecodeError> {
        // Read from the text as sent, borrowing its strings.
        let text = self.message.get();
        let line = Some(match line {
            Line::Index(i) => Some(i),
            Line::Guest => None,
        });
        let call_id = Some(std::borrow::Cow::Borrowed(call_id));
        let read = Wire::read(text, |mut wire| {
            let (l, c) = match &mut wire {
                Wire::Handshake(_) => (&mut None, &mut None),
                Wire::Request(w) => (&mut w.line, &mut w.call_id),
                Wire::Response(w) => (&mut w.line, &mut w.call_id),
                Wire::Event(w) => (&mut w.line, &mut w.call_id),
            };
            if l.is_none() {
                *l = line;
            }
            if c.is_none() {
                *c = call_id.clone();
            }
            Message::from_wire(wire, || self.message.clone())
        });
        match read {
            Ok(Some(m)) => m,
            Ok(None) => Err(DecodeError::UnknownKind),
            Err(e) if text.trim_start().starts_with('{') => Err(DecodeError::InvalidField {
                message: None,
                detail: e.to_string(),
                transaction: None,
            }),
            Err(_) => Err(DecodeError::NotAnObject),
        }
    }
}

/// What [`Message::decode_with`] made of a frame.
// A short-lived return value: boxing the message would cost an allocation per frame.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Decoded<T> {
    /// What its `take` took.
    Taken(T),
    /// The frame decoded (or why not).
    Message(Result<Message, DecodeError>),
}

/// One line of the `state` handshake: the call on it and its log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LineInfo {
    /// The call on the line; `None` (`null`) when idle.
    #[serde(default)]
    pub call_id: Option<String>,
    /// The call's log, newest first.
    #[serde(default)]
    pub call_logs: Vec<CallLog>,
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

impl Message {
    /// Reads one text frame.
    pub fn decode(text: &str) -> Result<Message, DecodeError> {
        let raw = || RawJson::new(text).unwrap_or_else(|| RawJson::from_value(&Value::Null));
        match Wire::read(text, |w| Self::from_wire(w, raw)) {
            Ok(Some(m)) => m,
            Ok(None) => Err(DecodeError::UnknownKind),
            Err(e) => Err(Self::classify_error(text, e)),
        }
    }

    /// Reads a frame, first offering it (borrowed, in its kind's struct) to `take`; a
    /// frame `take` declines (`None`) is decoded as [`Message::decode`] decodes it.
    pub(crate) fn decode_with<T>(
        text: &str,
        mut take: impl FnMut(&mut Wire<'_, '_>) -> Option<T>,
    ) -> Decoded<T> {
        let raw = || RawJson::new(text).unwrap_or_else(|| RawJson::from_value(&Value::Null));
        match Wire::read(text, |mut w| match take(&mut w) {
            Some(t) => Decoded::Taken(t),
            None => Decoded::Message(Self::from_wire(w, raw)),
        }) {
            Ok(Some(read)) => read,
            Ok(None) => Decoded::Message(Err(DecodeError::UnknownKind)),
            Err(e) => Decoded::Message(Err(Self::classify_error(text, e))),
        }
    }

    /// Reads a frame as a server does: a keepalive is only recognised (the server echoes
    /// the frame as it came, so nothing of it needs copying); anything else is decoded.
    pub(crate) fn decode_at_server(text: &str) -> Result<Option<Message>, DecodeError> {
        let raw = || RawJson::new(text).unwrap_or_else(|| RawJson::from_value(&Value::Null));
        let read = Wire::read(text, |w| match w {
            Wire::Handshake(h)
                if h.handshake.as_deref() == Some("keepalive") && h.transaction.is_some() =>
            {
                Ok(None)
            }
            w => Self::from_wire(w, raw).map(Some),
        });
        match read {
            Ok(Some(m)) => m,
            Ok(None) => Err(DecodeError::UnknownKind),
            Err(e) => Err(Self::classify_error(text, e)),
        }
    }

    /// A frame that did not fit its kind's shape: tell "not JSON" and "not an object" apart from
    /// "a field of the wrong type", and keep the transaction for the latter so a server can
    /// answer it. This path re-reads the frame as a tree, which only bad input pays for.
    fn classify_error(text: &str, e: serde_json::Error) -> DecodeError {
        match serde_json::from_str::<Value>(text) {
            Err(e) => DecodeError::NotJson(e.to_string()),
            Ok(Value::Object(map)) => {
                let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
                let transaction = text("transaction");
                let message = ["request", "event", "response", "handshake"]
                    .into_iter()
                    .find_map(text);
                DecodeError::InvalidField {
                    message,
                    detail: e.to_string(),
                    transaction,
                }
            }
            Ok(_) => DecodeError::NotAnObject,
        }
    }

    fn from_wire(
        wire: Wire<'_, '_>,
        raw: impl FnOnce() -> RawJson,
    ) -> Result<Message, DecodeError> {
        // The kind tag is taken out (still borrowed from the frame) so the typed message
        // can be built from the rest without copying the name.
        Ok(match wire {
            Wire::Handshake(f) => {
                let name = f.handshake.take().unwrap_or_default();
                Message::Handshake(handshake_from(&name, f)?)
            }
            Wire::Request(f) => {
                let name = f.request.take().unwrap_or_default();
                Message::Request(request_from(&name, f)?)
            }
            Wire::Response(f) => {
                let name = f.response.take().unwrap_or_default();
                Message::Response(response_from(&name, f)?)
            }
            Wire::Event(f) => {
                let name = f.event.take().unwrap_or_default();
                Message::Event(event_from(&name, f, raw))
            }
        })
    }

    /// Writes the message as compact JSON.
    pub fn encode(&self) -> String {
        let mut buf = Vec::with_capacity(128);
        self.encode_into(&mut buf);
        // serde_json writes only valid UTF-8.
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Appends the message as compact JSON to `buf`, so a caller can reuse one buffer.
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        // Writing plain data into a Vec cannot fail.
        let _ = match self {
            // An event we do not know is passed on as it came.
            Message::Event(e) => serde_json::to_writer(buf, &event_wire(e)),
            Message::Handshake(h) => serde_json::to_writer(buf, &handshake_to(h)),
            Message::Request(r) => serde_json::to_writer(buf, &request_to(r)),
            Message::Response(r) => serde_json::to_writer(buf, &response_to(r)),
        };
    }
}
