//! The call commands' params read in one pass from the frame, for the server's hot path.
//!
//! The tree-based reader ([`Command::from_params`]) stays the reference: it gives the
//! exact error for every malformed params object. This reader takes only the plain case —
//! an object whose members all have known names and string values, none repeated — and
//! hands anything else back, so both readers always agree.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::command::{Command, Leg};
use super::jsonrpc::Id;
use crate::members::{read_members, Str};
use crate::Text;

/// A string member; anything else (`null` too) fails the fast read.
struct StrictStr<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for StrictStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Str::deserialize(d).map(|s| StrictStr(Some(s.0)))
    }
}

#[derive(Default)]
struct Params<'a> {
    caller: Option<Cow<'a, str>>,
    callee: Option<Cow<'a, str>>,
    callid: Option<Cow<'a, str>>,
    leg: Option<Cow<'a, str>>,
    destination: Option<Cow<'a, str>>,
    callid_a: Option<Cow<'a, str>>,
    leg_a: Option<Cow<'a, str>>,
    callid_b: Option<Cow<'a, str>>,
    leg_b: Option<Cow<'a, str>>,
    cmd_id: Option<Cow<'a, str>>,
    unknown: bool,
}

read_members! {
    Params {
        "caller" => caller: StrictStr,
        "callee" => callee: StrictStr,
        "callid" => callid: StrictStr,
        "leg" => leg: StrictStr,
        "destination" => destination: StrictStr,
        "callidA" => callid_a: StrictStr,
        "legA" => leg_a: StrictStr,
        "callidB" => callid_b: StrictStr,
        "legB" => leg_b: StrictStr,
        "cmd_id" => cmd_id: StrictStr,
    }
    unknown => unknown
}

/// A call command (not `Echo`) read from plain params, its strings still in the frame;
/// `None` sends the caller to the tree-based reader.
pub(crate) fn read_plain<'a>(
    method: &str,
    params: Option<&'a RawValue>,
) -> Option<PlainCommand<'a>> {
    let mut p = Params::default();
    if let Some(raw) = params {
        p.read(raw.get()).ok()?;
    }
    command_from(method, p)
}

/// The call commands' kinds, as [`PlainCommand`] holds them.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Start,
    BlindTransfer,
    AttendedTransfer,
    Hold,
    Unhold,
    End,
}

/// A call command read from plain params, borrowing the frame: [`PlainCommand::build`]
/// makes the [`Command`] and its cmd_id with one allocation for all their strings.
#[derive(Debug)]
pub(crate) struct PlainCommand<'a> {
    kind: Kind,
    /// The command's strings in field order (`callid`s first; `""` when it has one).
    texts: [Cow<'a, str>; 2],
    legs: [Leg; 2],
    /// The non-empty `cmd_id` given, if any.
    pub cmd_id: Option<Cow<'a, str>>,
}

impl PlainCommand<'_> {
    /// The command and `cmd_id` as [`Text`]s cut from one buffer (staged in `scratch`).
    pub(crate) fn build(&self, cmd_id: &str, scratch: &mut String) -> (Command, Text) {
        let [cmd_id, a, b] = Text::join([cmd_id, &self.texts[0], &self.texts[1]], scratch);
        let [leg_a, leg_b] = self.legs;
        let command = match self.kind {
            Kind::Start => Command::CallStart {
                caller: a,
                callee: b,
            },
            Kind::BlindTransfer => Command::CallBlindTransfer {
                callid: a,
                leg: leg_a,
                destination: b,
            },
            Kind::AttendedTransfer => Command::CallAttendedTransfer {
                callid_a: a,
                leg_a,
                callid_b: b,
                leg_b,
            },
            Kind::Hold => Command::CallHold { callid: a },
            Kind::Unhold => Command::CallUnhold { callid: a },
            Kind::End => Command::CallEnd { callid: a },
        };
        (command, cmd_id)
    }
}

/// A single request with plain call-command params, read in one pass: envelope and params
/// together (rather than the params skipped as text, then read).
pub(crate) struct PlainRequest<'a> {
    pub id: Option<Id>,
    pub command: PlainCommand<'a>,
}

/// An id of the usual kinds, read in place: a non-negative integer, a string or `null`.
/// Any other (a negative or fractional number, a wrong type) fails the fast read, and the
/// general reader, which keeps such numbers as written, takes the frame.
struct PlainId(Id);

impl<'de> Deserialize<'de> for PlainId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PlainId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an id")
            }
            fn visit_u64<E>(self, n: u64) -> Result<PlainId, E> {
                Ok(PlainId(Id::Number(n.into())))
            }
            fn visit_str<E>(self, s: &str) -> Result<PlainId, E> {
                Ok(PlainId(Id::String(s.to_owned())))
            }
            fn visit_unit<E>(self) -> Result<PlainId, E> {
                Ok(PlainId(Id::Null))
            }
        }
        d.deserialize_any(V)
    }
}

/// A request's members, its params read as plain params.
#[derive(Default)]
struct Request<'a> {
    jsonrpc: Option<Cow<'a, str>>,
    id: Option<PlainId>,
    method: Option<Cow<'a, str>>,
    params: Option<Params<'a>>,
}

read_members! {
    Request {
        "jsonrpc" => jsonrpc: StrictStr,
        "id" => id: nullable,
        "method" => method: StrictStr,
        "params" => params: object,
    }
}

/// Reads a frame that is one valid request of a call command with plain params. `None`
/// for any other frame — a batch, an invalid request, `Echo`, odd params — which the
/// general reader then reads (and answers) as before, so this only ever saves work.
pub(crate) fn read_plain_request(text: &str) -> Option<PlainRequest<'_>> {
    // A batch is told by its first byte, before serde would build an error for it.
    if !crate::members::skip_json_ws(text).starts_with('{') {
        return None;
    }
    let mut r = Request::default();
    r.read_flat_first(text).ok()?;
    // What the general reader's envelope check accepts, on strings read in place.
    if r.jsonrpc.as_deref() != Some("2.0") {
        return None;
    }
    let command = command_from(&r.method?, r.params.unwrap_or_default())?;
    Some(PlainRequest {
        id: r.id.map(|PlainId(id)| id),
        command,
    })
}

fn command_from<'a>(method: &str, p: Params<'a>) -> Option<PlainCommand<'a>> {
    if p.unknown {
        return None;
    }
    let s = |v: Option<Cow<'a, str>>| v.filter(|s| !s.is_empty());
    let leg = |v: &Option<Cow<'_, str>>| v.as_deref().and_then(Leg::parse);
    // Unused slots: a leg is never read where the kind has none.
    let (kind, texts, legs) = match method {
        "CallStart" => (Kind::Start, [s(p.caller)?, s(p.callee)?], [Leg::Caller; 2]),
        "CallBlindTransfer" => (
            Kind::BlindTransfer,
            [s(p.callid)?, s(p.destination)?],
            [leg(&p.leg)?, Leg::Caller],
        ),
        "CallAttendedTransfer" => (
            Kind::AttendedTransfer,
            [s(p.callid_a)?, s(p.callid_b)?],
            [leg(&p.leg_a)?, leg(&p.leg_b)?],
        ),
        "CallHold" => (
            Kind::Hold,
            [s(p.callid)?, Cow::Borrowed("")],
            [Leg::Caller; 2],
        ),
        "CallUnhold" => (
            Kind::Unhold,
            [s(p.callid)?, Cow::Borrowed("")],
            [Leg::Caller; 2],
        ),
        "CallEnd" => (
            Kind::End,
            [s(p.callid)?, Cow::Borrowed("")],
            [Leg::Caller; 2],
        ),
        _ => return None,
    };
    let cmd_id = match p.cmd_id {
        None => None,
        Some(c) if !c.is_empty() => Some(c),
        Some(_) => return None,
    };
    Some(PlainCommand {
        kind,
        texts,
        legs,
        cmd_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The tree-based reading of the same params, as the server does it.
    fn reference(method: &str, params: &str) -> Option<(Command, Option<Text>)> {
        let v: Value = serde_json::from_str(params).unwrap();
        let cmd_id = match v.get("cmd_id") {
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(Text::from(s.as_str())),
            Some(_) => return None,
        };
        let command = Command::from_params(method, Some(&v))?.ok()?;
        Some((command, cmd_id))
    }

    /// The command a plain reading builds, and its cmd_id when one was given.
    fn built(plain: Option<PlainCommand<'_>>) -> Option<(Command, Option<Text>)> {
        let plain = plain?;
        let (command, cmd_id) =
            plain.build(plain.cmd_id.as_deref().unwrap_or("gen"), &mut String::new());
        if plain.cmd_id.is_none() {
            assert_eq!(cmd_id, "gen");
        }
        Some((command, plain.cmd_id.is_some().then_some(cmd_id)))
    }

    #[test]
    fn plain_params_read_as_the_tree_reader_reads_them() {
        let cases = [
            ("CallStart", r#"{"caller":"a","callee":"b"}"#),
            ("CallStart", r#"{"caller":"a","callee":"b","cmd_id":"c1"}"#),
            (
                "CallBlindTransfer",
                r#"{"callid":"x","leg":"callee","destination":"d"}"#,
            ),
            (
                "CallAttendedTransfer",
                r#"{"callidA":"x","legA":"caller","callidB":"y","legB":"callee"}"#,
            ),
            ("CallHold", r#"{"callid":"x"}"#),
            ("CallUnhold", r#"{"callid":"x","cmd_id":"u"}"#),
            ("CallEnd", r#"{"callid":"x\u0041"}"#),
        ];
        for (method, params) in cases {
            let raw: &RawValue = serde_json::from_str(params).unwrap();
            let fast = built(read_plain(method, Some(raw)));
            assert!(fast.is_some(), "{method} {params}");
            assert_eq!(fast, reference(method, params), "{method} {params}");
        }
    }

    #[test]
    fn anything_but_plain_params_goes_to_the_tree_reader() {
        let cases = [
            ("CallStart", r#"{"caller":"a"}"#),
            ("CallStart", r#"{"caller":"a","callee":""}"#),
            ("CallStart", r#"{"caller":"a","callee":"b","cmd_id":""}"#),
            ("CallStart", r#"{"caller":"a","callee":"b","cmd_id":7}"#),
            ("CallStart", r#"{"caller":"a","callee":null}"#),
            ("CallStart", r#"{"caller":"a","callee":"b","x":"y"}"#),
            ("CallStart", r#"{"caller":"a","callee":"b","caller":"c"}"#),
            ("CallStart", r#"["a","b"]"#),
            (
                "CallBlindTransfer",
                r#"{"callid":"x","leg":"middle","destination":"d"}"#,
            ),
            ("Echo", r#"{"x":1}"#),
            ("Nope", r#"{"callid":"x"}"#),
        ];
        for (method, params) in cases {
            let raw: &RawValue = serde_json::from_str(params).unwrap();
            assert!(read_plain(method, Some(raw)).is_none(), "{method} {params}");
        }
        assert!(read_plain("CallStart", None).is_none());
    }

    #[test]
    fn a_plain_request_is_read_in_one_pass_as_the_general_reader_reads_it() {
        let text =
            r#"{"jsonrpc":"2.0","id":7,"method":"CallHold","params":{"callid":"x","cmd_id":"h"}}"#;
        let plain = read_plain_request(text).unwrap();
        let super::super::jsonrpc::IncomingRaw::Single(Ok(general)) =
            super::super::jsonrpc::read_incoming_raw(text)
        else {
            panic!("a valid request")
        };
        assert_eq!(Some(plain.id), Some(general.id));
        assert_eq!(
            built(Some(plain.command)),
            built(read_plain(&general.method, general.params))
        );
    }

    proptest::proptest! {
        /// Whatever envelope the one-pass reader accepts, the general reader reads to the
        /// same id, method and command.
        #[test]
        fn one_pass_requests_agree_with_the_general_reader(
            id in proptest::prop_oneof![
                proptest::strategy::Just(""), proptest::strategy::Just(r#""id":7,"#),
                proptest::strategy::Just(r#""id":0,"#), proptest::strategy::Just(r#""id":-3,"#),
                proptest::strategy::Just(r#""id":1.5,"#), proptest::strategy::Just(r#""id":1e2,"#),
                proptest::strategy::Just(r#""id":18446744073709551615,"#),
                proptest::strategy::Just(r#""id":"sA","#), proptest::strategy::Just(r#""id":null,"#),
                proptest::strategy::Just(r#""id":true,"#),
            ],
            jsonrpc in proptest::prop_oneof![
                proptest::strategy::Just(r#""jsonrpc":"2.0","#),
                proptest::strategy::Just(r#""jsonrpc":"2.0","#),
                proptest::strategy::Just(r#""jsonrpc":2.0,"#),
                proptest::strategy::Just(""),
            ],
            method in proptest::prop_oneof![
                proptest::strategy::Just(r#""method":"CallHold""#),
                proptest::strategy::Just(r#""method":"CallHold""#),
                proptest::strategy::Just(r#""method":7"#),
            ],
        ) {
            let text = format!(r#"{{{jsonrpc}{id}{method},"params":{{"callid":"x"}}}}"#);
            let general = match super::super::jsonrpc::read_incoming_raw(&text) {
                super::super::jsonrpc::IncomingRaw::Single(Ok(r)) => Some(r),
                _ => None,
            };
            if let Some(plain) = read_plain_request(&text) {
                let general = general.expect("the general reader reads it too");
                proptest::prop_assert_eq!(&plain.id, &general.id);
                proptest::prop_assert_eq!(
                    built(Some(plain.command)),
                    built(read_plain(&general.method, general.params))
                );
            }
        }
    }

    #[test]
    fn other_frames_are_left_to_the_general_reader() {
        for text in [
            r#"[{"jsonrpc":"2.0","id":1,"method":"CallHold","params":{"callid":"x"}}]"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"CallHold","params":{"callid":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":[1],"method":"CallHold","params":{"callid":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"CallHold","params":null}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"CallHold","params":{"callid":"x","x":"y"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"CallHold","params":{"callid":1}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"CallHold"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"Echo","params":{"a":"b"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"CallHold","params":{"callid":"x"},"id":2}"#,
            "{",
        ] {
            assert!(read_plain_request(text).is_none(), "{text}");
        }
    }
}
