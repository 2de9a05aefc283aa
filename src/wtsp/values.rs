//! The values that WTSP frames carry inside them: lines, session descriptions, ICE
//! candidates, registrations, and the `state` handshake's lines with their call logs. The
//! wire shapes (`wire.rs`) and the typed messages both use them.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

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

/// `CallLog` is written as the two-element array `[server_time_ms, message]`.
impl Serialize for CallLog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.timestamp, &self.message).serialize(s)
    }
}

impl<'de> Deserialize<'de> for CallLog {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (timestamp, message) = <(u64, crate::RawJson)>::deserialize(d)?;
        Ok(CallLog { timestamp, message })
    }
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
