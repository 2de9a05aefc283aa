//! Reading Loop frames.
//!
//! A frame is read once into a struct that holds every member its side reads, whatever the
//! kind, each as sent (a string, or any other value); the message is then built from the
//! members of the frame's kind. When that leaves any doubt (a member of the kind of another
//! type or `null`, a repeated member, not an object, no `messageType`), the frame is read
//! again the general way: `messageType` first, then the kind's own members by a struct of
//! that kind's, which has the error to tell. Members of other kinds are ignored either way,
//! as unknown ones are. Both ways give the same message (a property test holds them to it);
//! the first is what almost every frame takes, in one plain derived pass.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::message::{ActionEvent, ClientMessage, DecodeError, Reason, ServerMessage, State};
use crate::json::{self, Lenient};
use crate::RawJson;

/// `messageType` alone, read first by the general reader (declared so that a repeat is
/// seen).
#[derive(Deserialize)]
struct KindIn<'a> {
    #[serde(
        rename = "messageType",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    message_type: Option<Cow<'a, str>>,
}

/// Declares the members of one kind of frame, for the general reader once `messageType`
/// is read: each a string borrowed from the frame (`null` as absent) unless said otherwise.
macro_rules! loop_kind {
    ($name:ident { $($field:ident $(($wire:literal))?),* $(; $raw:ident)? }) => {
        #[derive(Deserialize)]
        struct $name<'a> {
            $(
                #[serde($(rename = $wire,)? default, borrow, deserialize_with = "json::opt_str")]
                $field: Option<Cow<'a, str>>,
            )*
            $(
                #[serde(default, borrow)]
                $raw: Option<&'a RawValue>,
            )?
        }
    };
}

loop_kind!(HelloIn { auth, call_id("callId") });
loop_kind!(ActionIn { event, reason });
loop_kind!(StateIn { state, reason });
loop_kind!(ErrorIn { reason });
loop_kind!(EchoIn { ; echo });

/// Declares every member one side reads, of any kind, for the one-pass reader:
/// `messageType` (a string), `echo` (any value) and the others each as sent.
macro_rules! loop_side {
    ($name:ident { $($field:ident $(($wire:literal))?),* }) => {
        #[derive(Deserialize)]
        pub(super) struct $name<'a> {
            #[serde(rename = "messageType", default, borrow, deserialize_with = "json::opt_str")]
            message_type: Option<Cow<'a, str>>,
            $(
                #[serde($(rename = $wire,)? default, borrow, deserialize_with = "json::present")]
                $field: Option<Lenient<'a>>,
            )*
            #[serde(default, borrow)]
            echo: Option<&'a RawValue>,
        }
    };
}

loop_side!(ClientAll { auth, call_id("callId"), event, reason });
loop_side!(ServerAll { state, reason });

/// A member the kind requires, when it is a string; `None` leaves it to the general reader.
fn required(v: Option<Lenient<'_>>) -> Option<Cow<'_, str>> {
    v.and_then(Lenient::str)
}

/// An optional member: absent, or a string; `None` (for `null` or another type) leaves it
/// to the general reader.
fn optional(v: Option<Lenient<'_>>) -> Option<Option<Cow<'_, str>>> {
    match v {
        None => Some(None),
        Some(Lenient::Str(s)) => Some(Some(s)),
        Some(Lenient::Other) => None,
    }
}

/// The messages one side reads, each kind from its own members.
pub(super) trait Incoming: Sized {
    /// The kinds only this side reads (both read `error` and `echo`).
    const OWN: &'static [&'static str];

    /// Every member this side reads.
    type All<'a>: Deserialize<'a>;

    /// The message the one-pass read makes, when its members leave no doubt; `None` sends
    /// the frame to the general reader.
    fn from_all(all: Self::All<'_>) -> Option<Result<Self, DecodeError>>;

    /// Reads the members of a frame of one of [`Incoming::OWN`]'s kinds from `d`.
    fn read_own<'de, D: Deserializer<'de>>(
        kind: &str,
        d: D,
    ) -> Result<Result<Self, DecodeError>, D::Error>;

    /// `error`.
    fn error(reason: String) -> Self;

    /// `echo`.
    fn echo(echo: RawJson) -> Self;

    /// [`Incoming::from_all`] for the kinds both sides read and for unknown ones (`None`
    /// for this side's own kinds too).
    fn common(
        kind: &str,
        reason: Option<Lenient<'_>>,
        echo: Option<&RawValue>,
    ) -> Option<Result<Self, DecodeError>> {
        Some(match kind {
            "error" => Ok(Self::error(
                optional(reason)?.map(Cow::into_owned).unwrap_or_default(),
            )),
            "echo" => Ok(Self::echo(RawJson::from_raw(echo?))),
            own if Self::OWN.contains(&own) => return None,
            other => Err(DecodeError::UnknownType(other.to_owned())),
        })
    }

    /// Reads the members of a frame of kind `kind`, as [`Incoming::read_own`] does.
    fn read<'de, D: Deserializer<'de>>(
        kind: &str,
        d: D,
    ) -> Result<Result<Self, DecodeError>, D::Error> {
        Ok(match kind {
            "error" => {
                let f = ErrorIn::deserialize(d)?;
                Ok(Self::error(
                    f.reason.map(Cow::into_owned).unwrap_or_default(),
                ))
            }
            "echo" => {
                need(EchoIn::deserialize(d)?.echo, "echo").map(|e| Self::echo(RawJson::from_raw(e)))
            }
            own if Self::OWN.contains(&own) => return Self::read_own(own, d),
            other => return unknown(other, d),
        })
    }
}

/// A kind this side does not read (the frame was read already, with its `messageType`).
fn unknown<'de, D: Deserializer<'de>, M>(
    kind: &str,
    d: D,
) -> Result<Result<M, DecodeError>, D::Error> {
    serde::de::IgnoredAny::deserialize(d)?;
    Ok(Err(DecodeError::UnknownType(kind.to_owned())))
}

/// Reads one frame as `M`: in one pass when it can, otherwise the general way.
// Inlined, as both `from_all`s are: without it a `progress` step took 129–139 ns against
// 114–120 ns, at the same instruction count (benches/README.md).
#[inline]
pub(super) fn read<M: Incoming>(text: &str) -> Result<M, DecodeError> {
    if let Ok(all) = json::from_object::<M::All<'_>>(text) {
        if let Some(read) = M::from_all(all) {
            return read;
        }
    }
    read_general(text)
}

/// Reads one frame as `M` the general way: `messageType` first, then the kind's members.
fn read_general<M: Incoming>(text: &str) -> Result<M, DecodeError> {
    let malformed = |e: serde_json::Error| DecodeError::Malformed(json::error_text(&e));
    let kind: KindIn<'_> = json::from_object(text).map_err(malformed)?;
    let kind = need(kind.message_type, "messageType")?;
    let mut de = serde_json::Deserializer::from_str(text);
    let read = M::read(&kind, &mut de).map_err(malformed)?;
    de.end().map_err(malformed)?;
    read
}

fn need<T>(v: Option<T>, what: &str) -> Result<T, DecodeError> {
    v.ok_or_else(|| DecodeError::Malformed(format!("no {what}")))
}

impl Incoming for ClientMessage {
    const OWN: &'static [&'static str] = &["hello", "action"];

    type All<'a> = ClientAll<'a>;

    #[inline]
    fn from_all(f: ClientAll<'_>) -> Option<Result<Self, DecodeError>> {
        let kind = f.message_type?;
        Some(Ok(match &*kind {
            "hello" => ClientMessage::Hello {
                auth: required(f.auth)?.into_owned().into(),
                call_id: optional(f.call_id)?.map(Cow::into_owned),
            },
            "action" => ClientMessage::Action {
                event: ActionEvent::parse(&required(f.event)?),
                reason: optional(f.reason)?.map(|r| Reason::parse(&r)),
            },
            other => return Self::common(other, f.reason, f.echo),
        }))
    }

    fn error(reason: String) -> Self {
        ClientMessage::Error { reason }
    }

    fn echo(echo: RawJson) -> Self {
        ClientMessage::Echo { echo }
    }

    fn read_own<'de, D: Deserializer<'de>>(
        kind: &str,
        d: D,
    ) -> Result<Result<Self, DecodeError>, D::Error> {
        Ok(match kind {
            "hello" => {
                let f = HelloIn::deserialize(d)?;
                need(f.auth, "auth").map(|auth| ClientMessage::Hello {
                    auth: auth.into_owned().into(),
                    call_id: f.call_id.map(Cow::into_owned),
                })
            }
            "action" => {
                let f = ActionIn::deserialize(d)?;
                need(f.event, "event").map(|event| ClientMessage::Action {
                    event: ActionEvent::parse(&event),
                    reason: f.reason.map(|r| Reason::parse(&r)),
                })
            }
            // Only `OWN`'s kinds come here.
            other => return unknown(other, d),
        })
    }
}

impl Incoming for ServerMessage {
    const OWN: &'static [&'static str] = &["hello", "progress"];

    type All<'a> = ServerAll<'a>;

    #[inline]
    fn from_all(f: ServerAll<'_>) -> Option<Result<Self, DecodeError>> {
        let kind = f.message_type?;
        if kind != "hello" && kind != "progress" {
            return Self::common(&kind, f.reason, f.echo);
        }
        let state = State::parse(&required(f.state)?);
        let reason = optional(f.reason)?.map(|r| Reason::parse(&r));
        Some(Ok(state_message(&kind, state, reason)))
    }

    fn error(reason: String) -> Self {
        ServerMessage::Error { reason }
    }

    fn echo(echo: RawJson) -> Self {
        ServerMessage::Echo { echo }
    }

    fn read_own<'de, D: Deserializer<'de>>(
        kind: &str,
        d: D,
    ) -> Result<Result<Self, DecodeError>, D::Error> {
        Ok(match kind {
            "hello" | "progress" => {
                let f = StateIn::deserialize(d)?;
                let reason = f.reason.as_deref().map(Reason::parse);
                need(f.state.as_deref().map(State::parse), "state")
                    .map(|state| state_message(kind, state, reason))
            }
            // Only `OWN`'s kinds come here.
            other => return unknown(other, d),
        })
    }
}

/// `hello` or `progress`: the same members.
fn state_message(kind: &str, state: State, reason: Option<Reason>) -> ServerMessage {
    if kind == "hello" {
        ServerMessage::Hello { state, reason }
    } else {
        ServerMessage::Progress { state, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A frame as text: members of every kind and unknown ones, of any type, in any order,
    /// repeated at times.
    fn frame() -> impl Strategy<Value = String> {
        let kind = prop::sample::select(vec![
            r#""hello""#,
            r#""action""#,
            r#""progress""#,
            r#""error""#,
            r#""echo""#,
            r#""wave""#,
            r#""pro\u0067ress""#,
            "7",
            "null",
        ]);
        let value = prop::sample::select(vec![
            r#""alerting""#,
            r#""media-up""#,
            r#""t""#,
            r#""a\"b""#,
            r#""""#,
            "null",
            "5",
            "[1,{}]",
            r#"{"a":"b"}"#,
            "true",
        ]);
        let name = prop::sample::select(vec![
            "auth", "callId", "event", "reason", "state", "echo", "x",
        ]);
        let member = prop_oneof![
            1 => kind.prop_map(|k| format!(r#""messageType":{k}"#)),
            4 => (name, value).prop_map(|(n, v)| format!("{n:?}:{v}")),
        ];
        prop_oneof![
            12 => (prop::collection::vec(member, 0..6), " ?", " ?").prop_map(|(m, lead, space)| {
                format!("{lead}{{{space}{}}}", m.join(&format!(",{space}")))
            }),
            1 => Just("[1]".to_owned()),
            1 => Just(r#"{"messageType":"hello","auth":"t"} x"#.to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        /// What the one-pass reader makes of a frame is what the general reader makes of
        /// it, on both sides, errors included.
        #[test]
        fn one_pass_reads_as_the_general_reader(text in frame()) {
            prop_assert_eq!(read::<ClientMessage>(&text), read_general::<ClientMessage>(&text), "{}", text);
            prop_assert_eq!(read::<ServerMessage>(&text), read_general::<ServerMessage>(&text), "{}", text);
        }
    }

    #[test]
    fn the_frames_implementations_write_take_one_pass() {
        let client = |text| {
            json::from_object::<ClientAll<'_>>(text)
                .ok()
                .and_then(ClientMessage::from_all)
        };
        let server = |text| {
            json::from_object::<ServerAll<'_>>(text)
                .ok()
                .and_then(ServerMessage::from_all)
        };
        for text in [
            r#"{"messageType":"hello","auth":"t","callId":"c"}"#,
            r#"{"messageType":"action","event":"terminate","reason":"busy"}"#,
            r#"{"messageType":"error","reason":"x"}"#,
            r#"{"messageType":"echo","echo":[1]}"#,
            r#"{"messageType":"wave"}"#,
        ] {
            assert!(client(text).is_some(), "{text}");
        }
        for text in [
            r#"{"messageType":"hello","state":"init"}"#,
            r#"{"state":"terminated","reason":"busy","messageType":"progress"}"#,
            r#"{"messageType":"error"}"#,
        ] {
            assert!(server(text).is_some(), "{text}");
        }
        // Left to the general reader, which has the error to tell.
        for text in [
            r#"{"messageType":"progress","state":5}"#,
            r#"{"messageType":"progress","state":"init","state":"init"}"#,
            r#"{"messageType":"progress","reason":null,"state":"init"}"#,
            r#"{"state":"init"}"#,
        ] {
            assert!(server(text).is_none(), "{text}");
        }
    }
}
