//! Loop call-progress wire types.
//!
//! Every frame is a JSON object with a `messageType`. A client reads [`ServerMessage`]s and
//! writes [`ClientMessage`]s; a server the other way round. Each frame is read once into a
//! flat borrowed struct and the typed message is built from it. Unknown fields are ignored;
//! unknown states, reasons and events are kept as strings.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::RawJson;
use crate::Secret;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $wire:literal, )* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )*
            /// A value this library does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// The wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Other(s) => s,
                }
            }

            /// How many values the protocol names (every variant but `Other`).
            #[allow(dead_code)]
            pub(crate) const NAMED: usize = [$($wire),*].len();

            /// The position of a named value in the protocol's list; `None` for `Other`.
            #[allow(dead_code)]
            pub(crate) fn named_index(&self) -> Option<usize> {
                #[allow(dead_code)]
                enum Position { $($variant,)* }
                match self {
                    $( $name::$variant => Some(Position::$variant as usize), )*
                    $name::Other(_) => None,
                }
            }

            /// Reads a wire name.
            pub fn parse(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok($name::parse(&Cow::<str>::deserialize(d)?))
            }
        }
    };
}

wire_enum! {
    /// A call-setup state.
    State {
        /// `init`: starting; the callee is not alerted yet.
        Init = "init",
        /// `alerting`: the callee is being alerted.
        Alerting = "alerting",
        /// `connecting`: the callee answered; media not confirmed.
        Connecting = "connecting",
        /// `half-connected`: one party reported media up.
        HalfConnected = "half-connected",
        /// `connected`: both parties reported media up. Final.
        Connected = "connected",
        /// `terminated`: setup ended. Final.
        Terminated = "terminated",
    }
}

impl State {
    /// `connected` or `terminated`: nothing follows.
    pub fn is_final(&self) -> bool {
        matches!(self, State::Connected | State::Terminated)
    }
}

wire_enum! {
    /// Why call setup terminated. Unknown reasons are copied through; a client shows them
    /// as a generic "call setup failed".
    Reason {
        /// `reject`: the callee declined.
        Reject = "reject",
        /// `busy`: the callee cannot answer now.
        Busy = "busy",
        /// `timeout`: a client's or the server's timer expired.
        Timeout = "timeout",
        /// `cancel`: the caller cancelled.
        Cancel = "cancel",
        /// `media-fail`: media could not be set up.
        MediaFail = "media-fail",
        /// `user-unknown`: no such user.
        UserUnknown = "user-unknown",
        /// `closed`: the other party's connection closed.
        Closed = "closed",
        /// `answered-elsewhere`: another device of the callee accepted.
        AnsweredElsewhere = "answered-elsewhere",
    }
}

wire_enum! {
    /// What an `action` reports.
    ActionEvent {
        /// `accept`: the callee answered.
        Accept = "accept",
        /// `media-up`: this party's media is up.
        MediaUp = "media-up",
        /// `terminate`: end the setup.
        Terminate = "terminate",
    }
}

/// A message a client sends.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientMessage {
    /// `hello`: identify the call and authenticate.
    Hello {
        /// The party's websocket token (redacted in `Debug`).
        auth: Secret,
        /// The call, when not given by the URL.
        call_id: Option<String>,
    },
    /// `action`: report this party's progress.
    Action {
        /// What happened.
        event: ActionEvent,
        /// With `terminate`.
        reason: Option<Reason>,
    },
    /// `error`: the client could not use a message.
    Error {
        /// Why.
        reason: String,
    },
    /// `echo`: answered with the same value.
    Echo {
        /// Any JSON value.
        echo: RawJson,
    },
}

/// A message a server sends.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerMessage {
    /// `hello`: the answer to a valid hello, with the state before it was applied.
    Hello {
        /// The call's state.
        state: State,
        /// With `terminated`.
        reason: Option<Reason>,
    },
    /// `progress`: the call's state changed.
    Progress {
        /// The new state.
        state: State,
        /// With `terminated`.
        reason: Option<Reason>,
    },
    /// `error`: the server refused a message.
    Error {
        /// Why (`unknown callId`, `invalid authentication`, `unauthorized`, …).
        reason: String,
    },
    /// `echo`: the value the client sent.
    Echo {
        /// Any JSON value.
        echo: RawJson,
    },
}

/// Why a frame could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not a JSON object, or a field of the wrong type: answered `malformed message`.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A `messageType` this side does not know: answered `unknown message`.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
}

#[derive(Serialize)]
struct Out<'a> {
    #[serde(rename = "messageType")]
    message_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<&'a str>,
    #[serde(rename = "callId", skip_serializing_if = "Option::is_none")]
    call_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    echo: Option<&'a RawJson>,
}

impl<'a> Out<'a> {
    fn new(message_type: &'a str) -> Self {
        Out {
            message_type,
            auth: None,
            call_id: None,
            state: None,
            event: None,
            reason: None,
            echo: None,
        }
    }

    fn encode(&self) -> String {
        let mut buf = Vec::with_capacity(64);
        self.write(&mut buf);
        // Only JSON text and valid strings were written.
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Writes exactly what serde_json writes for `Out`, without its machinery: Loop
    /// frames are a handful of short members, and serde's map writer cost more than
    /// reading the frame they answer.
    fn write(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(b"{\"messageType\":");
        crate::json_out::str_to_vec(buf, self.message_type);
        let members = [
            ("auth", self.auth),
            ("callId", self.call_id),
            ("state", self.state),
            ("event", self.event),
            ("reason", self.reason),
        ];
        for (name, value) in members {
            if let Some(v) = value {
                buf.push(b',');
                buf.push(b'"');
                buf.extend_from_slice(name.as_bytes());
                buf.extend_from_slice(b"\":");
                crate::json_out::str_to_vec(buf, v);
            }
        }
        if let Some(echo) = self.echo {
            buf.extend_from_slice(b",\"echo\":");
            buf.extend_from_slice(echo.get().as_bytes());
        }
        buf.push(b'}');
    }
}

impl ClientMessage {
    /// Reads a frame a client sent.
    pub fn decode(text: &str) -> Result<ClientMessage, DecodeError> {
        super::read::read(text)
    }

    /// Writes the message as compact JSON.
    pub fn encode(&self) -> String {
        match self {
            ClientMessage::Hello { auth, call_id } => Out {
                auth: Some(auth.expose()),
                call_id: call_id.as_deref(),
                ..Out::new("hello")
            }
            .encode(),
            ClientMessage::Action { event, reason } => Out {
                event: Some(event.as_str()),
                reason: reason.as_ref().map(Reason::as_str),
                ..Out::new("action")
            }
            .encode(),
            ClientMessage::Error { reason } => Out {
                reason: Some(reason),
                ..Out::new("error")
            }
            .encode(),
            ClientMessage::Echo { echo } => Out {
                echo: Some(echo),
                ..Out::new("echo")
            }
            .encode(),
        }
    }
}

impl ServerMessage {
    /// Reads a frame a server sent.
    pub fn decode(text: &str) -> Result<ServerMessage, DecodeError> {
        super::read::read(text)
    }

    /// Writes the message as compact JSON.
    pub fn encode(&self) -> String {
        self.out().encode()
    }

    fn out(&self) -> Out<'_> {
        match self {
            ServerMessage::Hello { state, reason } | ServerMessage::Progress { state, reason } => {
                let kind = if matches!(self, ServerMessage::Hello { .. }) {
                    "hello"
                } else {
                    "progress"
                };
                Out {
                    state: Some(state.as_str()),
                    reason: reason.as_ref().map(Reason::as_str),
                    ..Out::new(kind)
                }
            }
            ServerMessage::Error { reason } => Out {
                reason: Some(reason),
                ..Out::new("error")
            },
            ServerMessage::Echo { echo } => Out {
                echo: Some(echo),
                ..Out::new("echo")
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The hand-written writer writes what serde_json writes.
        #[test]
        fn out_is_written_as_serde_writes_it(
            kind in ".{0,8}",
            auth in proptest::option::of(".{0,12}"),
            state in proptest::option::of("[a-z\\-\"\\\\\u{0}-\u{1f}\u{7f}é]{0,12}"),
            reason in proptest::option::of(".{0,12}"),
        ) {
            let echo = RawJson::new(r#"{"a":[1,"x"]}"#);
            let out = Out {
                auth: auth.as_deref(),
                state: state.as_deref(),
                reason: reason.as_deref(),
                echo: echo.as_ref(),
                ..Out::new(&kind)
            };
            proptest::prop_assert_eq!(out.encode(), serde_json::to_string(&out).unwrap());
        }
    }

    #[test]
    fn seed_messages_parse() {
        assert_eq!(
            ClientMessage::decode(r#"{"messageType": "hello", "auth": "tok"}"#).unwrap(),
            ClientMessage::Hello {
                auth: "tok".into(),
                call_id: None
            }
        );
        assert_eq!(
            ServerMessage::decode(r#"{"messageType": "hello", "state": "alerting"}"#).unwrap(),
            ServerMessage::Hello {
                state: State::Alerting,
                reason: None
            }
        );
        assert_eq!(
            ServerMessage::decode(r#"{"messageType": "error", "reason": "unknown callId"}"#)
                .unwrap(),
            ServerMessage::Error {
                reason: "unknown callId".into()
            }
        );
        assert_eq!(
            ServerMessage::decode(
                r#"{"messageType": "progress", "state": "terminated", "reason": "rejected"}"#
            )
            .unwrap(),
            ServerMessage::Progress {
                state: State::Terminated,
                reason: Some(Reason::Other("rejected".into()))
            }
        );
        assert_eq!(
            ClientMessage::decode(r#"{"messageType": "action", "event": "accept"}"#).unwrap(),
            ClientMessage::Action {
                event: ActionEvent::Accept,
                reason: None
            }
        );
    }

    #[test]
    fn every_message_round_trips() {
        let echo = RawJson::new(r#"{"b":[1,2],"a":"x"}"#).unwrap();
        for m in [
            ClientMessage::Hello {
                auth: "t".into(),
                call_id: Some("c".into()),
            },
            ClientMessage::Action {
                event: ActionEvent::Terminate,
                reason: Some(Reason::MediaFail),
            },
            ClientMessage::Action {
                event: ActionEvent::Other("wave".into()),
                reason: None,
            },
            ClientMessage::Error {
                reason: "unknown message".into(),
            },
            ClientMessage::Echo { echo: echo.clone() },
        ] {
            assert_eq!(ClientMessage::decode(&m.encode()).unwrap(), m);
        }
        for m in [
            ServerMessage::Hello {
                state: State::Init,
                reason: None,
            },
            ServerMessage::Progress {
                state: State::HalfConnected,
                reason: None,
            },
            ServerMessage::Progress {
                state: State::Terminated,
                reason: Some(Reason::AnsweredElsewhere),
            },
            ServerMessage::Error {
                reason: "unauthorized".into(),
            },
            ServerMessage::Echo { echo },
        ] {
            assert_eq!(ServerMessage::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn echo_is_returned_byte_for_byte() {
        let m = ClientMessage::decode(r#"{"messageType":"echo","echo":{"z":1,"a":[true,null]}}"#)
            .unwrap();
        let ClientMessage::Echo { echo } = m else {
            panic!()
        };
        assert_eq!(
            ServerMessage::Echo { echo }.encode(),
            r#"{"messageType":"echo","echo":{"z":1,"a":[true,null]}}"#
        );
    }

    #[test]
    fn bad_frames_are_told_apart() {
        assert!(matches!(
            ClientMessage::decode("nope"),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            ClientMessage::decode("[1]"),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            ClientMessage::decode("{}"),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            ClientMessage::decode(r#"{"messageType":"hello"}"#),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(
            ClientMessage::decode(r#"{"messageType":"wave"}"#),
            Err(DecodeError::UnknownType("wave".into()))
        );
        assert_eq!(
            ServerMessage::decode(r#"{"messageType":"action","event":"accept"}"#),
            Err(DecodeError::UnknownType("action".into()))
        );
        // Unknown fields are ignored.
        assert!(ClientMessage::decode(r#"{"messageType":"hello","auth":"t","v":2}"#).is_ok());
    }

    #[test]
    fn each_kind_reads_its_own_members_wherever_messagetype_stands() {
        for text in [
            r#"{"messageType":"progress","state":"alerting"}"#,
            r#"{"state":"alerting","messageType":"progress"}"#,
            r#"{ "state" : "alerting" , "messageType" : "progress" , "x" : [1] }"#,
            // A member of another kind is not this kind's: ignored, as unknown ones are.
            r#"{"messageType":"progress","state":"alerting","auth":5}"#,
        ] {
            assert_eq!(
                ServerMessage::decode(text),
                Ok(ServerMessage::Progress {
                    state: State::Alerting,
                    reason: None
                }),
                "{text}"
            );
        }
        for text in [
            r#"{"messageType":"progress","messageType":"hello","state":"init"}"#,
            r#"{"state":"init","messageType":"progress","messageType":"hello"}"#,
            r#"{"messageType":"progress","state":5}"#,
            r#"{"state":5,"messageType":"progress"}"#,
            r#"{"messageType":7,"state":"init"}"#,
            r#"{"messageType":"progress","state":"init"} x"#,
        ] {
            assert!(
                matches!(ServerMessage::decode(text), Err(DecodeError::Malformed(_))),
                "{text}"
            );
        }
        assert_eq!(
            ClientMessage::decode(r#"{"auth":"t","messageType":"hello","callId":"c"}"#),
            Ok(ClientMessage::Hello {
                auth: "t".into(),
                call_id: Some("c".into())
            })
        );
    }
}
