//! Reading a frame into [`Fields`] in place (see `crate::members` for why not derived).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};

use crate::flat::PlainObject;
use crate::members::{read_members, OptStr, PlainValue, Str};
use crate::RawJson;

use super::message::{CallLog, LineInfo};
use super::wire::Fields;

/// `refer_id` is a string, but some documents say number: accept both.
struct StringOrNumber<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for StringOrNumber<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Id<'a> {
            S(#[serde(borrow)] Cow<'a, str>),
            N(serde_json::Number),
        }
        Ok(StringOrNumber(match Option::<Id<'de>>::deserialize(d)? {
            None => None,
            Some(Id::S(s)) => Some(s),
            Some(Id::N(n)) => Some(Cow::Owned(n.to_string())),
        }))
    }
}

read_members! {
    Fields {
        "handshake" => handshake: str,
        "request" => request: str,
        "response" => response: str,
        "event" => event: str,
        "transaction" => transaction: str,
        "line" => line: nullable,
        "call_id" => call_id: str,
        "number" => number: str,
        "jsep" => jsep: value,
        "from" => from: str,
        "refer_id" => refer_id: StringOrNumber,
        "replaces" => replaces: str,
        "direction" => direction: str,
        "replace_call_id" => replace_call_id: str,
        "candidate" => candidate: nullable,
        "settings" => settings: value,
        "code" => code: value,
        "reason" => reason: str,
        "phrase" => phrase: str,
        "type" => media_type: str,
        "receiving" => receiving: value,
        "mid" => mid: str,
        "media" => media: str,
        "uplink" => uplink: value,
        "lost" => lost: value,
        "refer_to" => refer_to: str,
        "referred_by" => referred_by: str,
        "callee" => callee: str,
        "caller" => caller: str,
        "caller_display_name" => caller_display_name: str,
        "is_focus" => is_focus: value,
        "notify" => notify: str,
        "subscription_state" => subscription_state: str,
        "content_type" => content_type: str,
        "content" => content: str,
        "presence_info" => presence_info: value,
        "keepalive_interval" => keepalive_interval: value,
        "timestamp" => timestamp: value,
        "registration" => registration: value,
        "lines" => lines: custom,
        "guest_line" => guest_line: nullable,
        "user_active_calls" => user_active_calls: nullable,
        "dialog_infos" => dialog_infos: value,
        "presence_infos" => presence_infos: value,
    }
    nested "data" => data
}

/// `lines` off the bytes, as the derived readers read it: `null`, or an array of `null`s
/// and line objects — `call_id` a plain string or `null`, `call_logs` an array of
/// `[timestamp, message]` (the message checked by the scanner and kept as its text),
/// other members skipped. Anything else (whitespace, an escaped `call_id`, a repeated
/// member, a log of another shape) gives up, for the scanner to read the whole frame.
/// (Through the scanner, the derived readers' visitors cost as much as checking the logs.)
impl<'de> PlainValue<'de> for Option<Cow<'de, [Option<LineInfo>]>> {
    fn read_plain(obj: &mut PlainObject<'de>) -> Option<Self> {
        if obj.null() {
            return Some(None);
        }
        let mut items = obj.array()?;
        let mut lines = Vec::new();
        while items.next_item()? {
            if items.null() {
                lines.push(None);
                continue;
            }
            let mut line = items.object()?;
            lines.push(Some(read_line(&mut line)?));
            items.resume_object(line)?;
        }
        obj.resume_array(items)?;
        Some(Some(Cow::Owned(lines)))
    }
}

/// One line object's members, to its closing brace.
fn read_line(line: &mut PlainObject<'_>) -> Option<LineInfo> {
    // The nesting of a log's message: frame, lines, line, call_logs, log.
    const MESSAGE_DEPTH: u32 = 5;
    let mut info = LineInfo::default();
    let (mut call_id_seen, mut logs_seen) = (false, false);
    while let Some(name) = line.next_name()? {
        match name {
            "call_id" => {
                if std::mem::replace(&mut call_id_seen, true) {
                    return None;
                }
                info.call_id = line.opt_str()?.map(str::to_owned);
            }
            "call_logs" => {
                if std::mem::replace(&mut logs_seen, true) {
                    return None;
                }
                let mut logs = line.array()?;
                while logs.next_item()? {
                    let mut log = logs.array()?;
                    if !log.next_item()? {
                        return None;
                    }
                    let timestamp = log.u64()?;
                    if !log.next_item()? {
                        return None;
                    }
                    let message = RawJson::from_scanned(log.raw(MESSAGE_DEPTH)?);
                    // Exactly two items.
                    if log.next_item()? {
                        return None;
                    }
                    logs.resume_array(log)?;
                    info.call_logs.push(CallLog { timestamp, message });
                }
                line.resume_array(logs)?;
            }
            _ => line.skip()?,
        }
    }
    Some(info)
}

/// A response's members, read by [`read_response`].
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ResponseFields<'a> {
    pub response: Cow<'a, str>,
    pub transaction: Cow<'a, str>,
    pub line: Option<Option<u32>>,
    pub call_id: Option<Cow<'a, str>>,
    pub code: Option<i64>,
    pub reason: Option<Cow<'a, str>>,
}

/// A response as servers write one: compact (no whitespace), `response` first, values
/// plain — strings without escapes, small integers, `null` — read straight off the bytes.
/// (Through the scanner, the general machinery cost several times the frame's own few
/// strings.) It takes a subset of what [`read_response`]'s scanner path takes, with the
/// same result (proptest); anything else is `None`, for that path.
fn read_plain_response(text: &str) -> Option<ResponseFields<'_>> {
    let (response, mut rest) = plain_string(text.strip_prefix(r#"{"response":"#)?)?;
    let mut f = ResponseFields {
        response: Cow::Borrowed(response),
        ..ResponseFields::default()
    };
    let mut transaction = None;
    let mut seen = 0u8;
    while rest != "}" {
        let name;
        (name, rest) = plain_string(rest.strip_prefix(',')?)?;
        rest = rest.strip_prefix(':')?;
        let bit = match name {
            "transaction" => {
                let s;
                (s, rest) = plain_string(rest)?;
                transaction = Some(Cow::Borrowed(s));
                1
            }
            "line" => {
                // Nine digits at most: always a `u32`.
                let n;
                (n, rest) = null_or(rest, |r| integer(r, false, 9))?;
                f.line = Some(n.map(|n| n as u32));
                2
            }
            "call_id" => {
                let s;
                (s, rest) = null_or(rest, plain_string)?;
                f.call_id = s.map(Cow::Borrowed);
                4
            }
            "code" => {
                (f.code, rest) = null_or(rest, |r| integer(r, true, 18))?;
                8
            }
            "reason" => {
                let s;
                (s, rest) = null_or(rest, plain_string)?;
                f.reason = s.map(Cow::Borrowed);
                16
            }
            _ => return None,
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
    }
    f.transaction = transaction?;
    Some(f)
}

// These few helpers repeat what `flat::PlainObject` does, on purpose: reading a response
// through that cursor (its member bookkeeping, its general `null` handling) measured
// ~180 instructions more per `ack`, a ratio of about 2.0 instead of 1.6.

/// The plain string `text` starts with (quotes included), and the text after it.
fn plain_string(text: &str) -> Option<(&str, &str)> {
    crate::flat::split_plain_string(text.strip_prefix('"')?)
}

/// `null` (as `None`) or what `read` reads, and the text after it.
fn null_or<'a, T>(
    text: &'a str,
    read: impl FnOnce(&'a str) -> Option<(T, &'a str)>,
) -> Option<(Option<T>, &'a str)> {
    match text.strip_prefix("null") {
        Some(rest) => Some((None, rest)),
        None => read(text).map(|(v, rest)| (Some(v), rest)),
    }
}

/// An integer of 1 to `max_digits` digits (no leading zero; a `-` first if `signed`, not
/// `-0`) that no fraction or exponent follows, and the text after it.
fn integer(text: &str, signed: bool, max_digits: usize) -> Option<(i64, &str)> {
    let (negative, digits_on) = match text.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        Some(_) => return None,
        None => (false, text),
    };
    let digits = digits_on.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &digits_on[digits..];
    if digits == 0
        || digits > max_digits
        || (digits > 1 && digits_on.starts_with('0'))
        || rest.starts_with(['.', 'e', 'E'])
    {
        return None;
    }
    let n: i64 = digits_on[..digits].parse().ok()?;
    if negative && n == 0 {
        return None;
    }
    Some((if negative { -n } else { n }, rest))
}

/// The kind tag comes first in every frame WTSP implementations write. A frame whose
/// first member is `response` is read here into a small struct; one whose first member is
/// anything else is given up at once, having cost a look at its first bytes; so is a
/// response with members beyond a response's, a repeated member, or no `transaction`.
/// Every frame given up (`None`) goes to the general reader, which also has every error
/// to tell. A response laid out as servers write them is read off its bytes first
/// ([`read_plain_response`]); any other layout through the scanner.
pub(crate) fn read_response(text: &str) -> Option<ResponseFields<'_>> {
    read_plain_response(text).or_else(|| read_scanned_response(text))
}

/// [`read_response`] through the scanner (or serde_json): any layout.
fn read_scanned_response(text: &str) -> Option<ResponseFields<'_>> {
    // Looked at on the bytes: giving up through serde would build an error value.
    let inside = crate::members::skip_json_ws(text).strip_prefix('{')?;
    if !crate::members::skip_json_ws(inside).starts_with("\"response\"") {
        return None;
    }
    struct First<'x, 'de>(&'x mut ResponseFields<'de>, &'x mut bool);
    impl<'de> serde::de::Visitor<'de> for First<'_, 'de> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a response")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            use serde::de::Error as _;
            let give_up = || A::Error::custom("not a plain response");
            let f = self.0;
            if map
                .next_key::<Str<'de>>()?
                .is_none_or(|k| k.0 != "response")
            {
                return Err(give_up());
            }
            f.response = map.next_value::<Str<'de>>()?.0;
            let mut transaction = None;
            let mut seen = 0u8;
            while let Some(Str(name)) = map.next_key::<Str<'de>>()? {
                let bit = match name.as_ref() {
                    "transaction" => {
                        transaction = Some(map.next_value::<Str<'de>>()?.0);
                        1
                    }
                    "line" => {
                        f.line = Some(map.next_value()?);
                        2
                    }
                    "call_id" => {
                        f.call_id = map.next_value::<OptStr<'de>>()?.0;
                        4
                    }
                    "code" => {
                        f.code = map.next_value()?;
                        8
                    }
                    "reason" => {
                        f.reason = map.next_value::<OptStr<'de>>()?.0;
                        16
                    }
                    _ => return Err(give_up()),
                };
                if seen & bit != 0 {
                    return Err(give_up());
                }
                seen |= bit;
            }
            f.transaction = transaction.ok_or_else(give_up)?;
            *self.1 = true;
            Ok(())
        }
    }
    let mut f = ResponseFields::default();
    let mut complete = false;
    if crate::flat::visit(text, First(&mut f, &mut complete)).is_some() {
        return complete.then_some(f);
    }
    (f, complete) = (ResponseFields::default(), false);
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(First(&mut f, &mut complete)).ok()?;
    de.end().ok()?;
    complete.then_some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    fn read(text: &str) -> serde_json::Result<Fields<'_>> {
        let mut f = Fields::default();
        f.read(text).map(|()| f)
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let f = read(r#"{"request":"hangup","transaction":"t\"1","call_id":"c"}"#).unwrap();
        assert!(matches!(f.request, Some(Cow::Borrowed("hangup"))));
        assert!(matches!(f.transaction.as_deref(), Some("t\"1")));
        assert!(matches!(f.transaction, Some(Cow::Owned(_))));
    }

    #[test]
    fn an_escaped_member_name_is_still_recognised() {
        let f = read(r#"{"\u0065vent":"ringing"}"#).unwrap();
        assert_eq!(f.event.as_deref(), Some("ringing"));
    }

    #[test]
    fn null_reads_as_absent_except_where_null_means_something() {
        let f = read(r#"{"event":null,"line":null,"candidate":null,"code":null}"#).unwrap();
        assert_eq!(f.event, None);
        assert_eq!(f.code, None);
        assert_eq!(f.line, Some(None));
        assert_eq!(f.candidate, Some(None));
        let f = read(r#"{"event":"x"}"#).unwrap();
        assert_eq!(f.line, None);
    }

    #[test]
    fn refer_id_may_be_a_number() {
        assert_eq!(
            read(r#"{"refer_id":17}"#).unwrap().refer_id.as_deref(),
            Some("17")
        );
        assert_eq!(
            read(r#"{"refer_id":"17"}"#).unwrap().refer_id.as_deref(),
            Some("17")
        );
    }

    #[test]
    fn a_repeated_member_is_an_error_but_unknown_ones_are_skipped() {
        let e = read(r#"{"event":"a","event":"b"}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate field `event`"), "{e}");
        let f = read(r#"{"x":{"y":[1,2]},"x":3,"event":"a"}"#).unwrap();
        assert_eq!(f.event.as_deref(), Some("a"));
    }

    #[test]
    fn only_an_object_is_read() {
        for text in [r#"["keepalive","t"]"#, "1", "null", r#""event""#] {
            assert!(read(text).is_err(), "{text}");
        }
        assert!(read(r#"{"event":"a"} x"#).is_err());
    }

    #[test]
    fn legacy_data_nests() {
        let mut f = read(r#"{"event":"ringing","data":{"line":2,"call_id":"c"}}"#).unwrap();
        f.lift_data();
        assert_eq!(f.line, Some(Some(2)));
        assert_eq!(f.call_id.as_deref(), Some("c"));
    }

    #[test]
    fn a_plain_response_is_read_by_the_small_reader() {
        let r = read_response(
            r#"{"response":"error","transaction":"t-1","code":486,"reason":"Busy","line":null}"#,
        )
        .unwrap();
        assert_eq!(r.response, "error");
        assert_eq!(r.transaction, "t-1");
        assert_eq!(
            (r.code, r.reason.as_deref(), r.line),
            (Some(486), Some("Busy"), Some(None))
        );
        assert!(matches!(r.transaction, Cow::Borrowed(_)));
    }

    #[test]
    fn anything_else_goes_to_the_general_reader() {
        for text in [
            r#"{"transaction":"t","response":"ack"}"#,
            r#"{"event":"ringing","line":0}"#,
            r#"{"response":"ack"}"#,
            r#"{"response":"ack","transaction":"t","data":{}}"#,
            r#"{"response":"ack","transaction":"t","transaction":"u"}"#,
            r#"{"response":"ack","transaction":7}"#,
            r#"{"response":"ack","transaction":"t"} x"#,
            r#"["response","ack"]"#,
            "",
        ] {
            assert_eq!(read_response(text), None, "{text}");
        }
    }

    fn response_value() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            r#""ack""#,
            r#""error""#,
            r#""transaction-7""#,
            r#""""#,
            r#""a\"b""#,
            r#""\u00e9t\u00e9""#,
            "\"caf\u{e9}\"",
            "null",
            "0",
            "7",
            "-3",
            "-0",
            "01",
            "1.5",
            "1e3",
            "999999999",
            "4294967295",
            "4294967296",
            "1000000000",
            "123456789012345678",
            "-123456789012345678",
            "1234567890123456789",
            "true",
            "{}",
            "[1]",
        ])
    }

    /// A member named `key`: mostly with a value of its kind (edge cases included), now
    /// and then any.
    fn member(
        key: &'static str,
    ) -> impl proptest::strategy::Strategy<Value = (&'static str, &'static str)> {
        let fitting = match key {
            "line" => vec![
                "0",
                "7",
                "null",
                "999999999",
                "4294967296",
                "01",
                "-1",
                "1.5",
            ],
            "code" => vec![
                "-32601",
                "7",
                "null",
                "0",
                "-0",
                "01",
                "1e3",
                "123456789012345678",
                "-1234567890123456789",
            ],
            _ => vec![
                r#""t1""#,
                r#""transaction-7""#,
                "null",
                r#""a\"b""#,
                "\"caf\u{e9}\"",
            ],
        };
        proptest::prop_oneof![
            3 => proptest::sample::select(fitting),
            1 => response_value(),
        ]
        .prop_map(move |v| (key, v))
    }

    fn any_member() -> impl proptest::strategy::Strategy<Value = (&'static str, &'static str)> {
        proptest::sample::select(vec![
            "transaction",
            "line",
            "call_id",
            "code",
            "reason",
            "response",
            "x",
        ])
        .prop_flat_map(member)
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(1024))]

        /// The plain reader takes a subset of what the scanner path takes, with the same
        /// members; whatever it refuses, the scanner path still reads as before.
        #[test]
        fn plain_responses_read_as_the_scanner_reads_them(
            first in proptest::prop_oneof![
                3 => proptest::sample::select(vec![r#""ack""#, r#""error""#]),
                1 => response_value(),
            ],
            members in (
                proptest::collection::vec(any_member(), 0..4),
                member("transaction"),
                proptest::bool::weighted(0.9),
            ).prop_flat_map(|(mut members, tx, with_tx)| {
                if with_tx {
                    members.push(tx);
                }
                proptest::strategy::Just(members).prop_shuffle()
            }),
            space in proptest::sample::select(vec!["", "", "", " "]),
        ) {
            let mut text = format!(r#"{{"response":{space}{first}"#);
            for (k, v) in &members {
                text.push_str(&format!(r#","{k}":{v}"#));
            }
            text.push('}');
            if let Some(plain) = read_plain_response(&text) {
                proptest::prop_assert_eq!(Some(plain), read_scanned_response(&text), "{}", text);
            }
        }
    }

    #[test]
    fn acks_as_servers_write_them_are_read_plain() {
        for text in [
            r#"{"response":"ack","transaction":"transaction-1"}"#,
            r#"{"response":"ack","line":0,"call_id":"c1","transaction":"t"}"#,
            r#"{"response":"error","transaction":"t","code":-32601,"reason":"no such method"}"#,
            r#"{"response":"ack","line":null,"call_id":null,"transaction":"t"}"#,
        ] {
            let plain = read_plain_response(text);
            assert!(plain.is_some(), "{text}");
            assert_eq!(plain, read_scanned_response(text), "{text}");
        }
        for text in [
            r#"{ "response":"ack","transaction":"t"}"#,
            r#"{"response":"ack","transaction":"t\u0031"}"#,
            r#"{"transaction":"t","response":"ack"}"#,
            r#"{"response":"ack","transaction":"t","transaction":"u"}"#,
            r#"{"response":"ack","line":4294967296,"transaction":"t"}"#,
            r#"{"response":"ack"}"#,
        ] {
            assert_eq!(read_plain_response(text), None, "{text}");
        }
    }

    /// A `[timestamp, message]` log: as servers write them, and of every other shape.
    fn call_log() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            r#"[1700000000300,{"event":"accepted"}]"#,
            r#"[0,{"jsep":{"sdp":"v=0\r\n","type":"offer"},"request":"accept"}]"#,
            r#"[7,{"a":[1, {"b":"\u00e9"}]}]"#,
            r#"[1,"text"]"#,
            r#"[1.5,{}]"#,
            r#"[-1,{}]"#,
            r#"[01,{}]"#,
            r#"[1]"#,
            r#"[]"#,
            r#"[1,{},2]"#,
            r#"[123456789012345678,{}]"#,
            r#"[18446744073709551615,{}]"#,
            r#"[1, {}]"#,
            r#"{"t":1}"#,
            "null",
        ])
    }

    /// A line: `null`, or an object with a `call_id` and logs of any shape.
    fn line() -> impl proptest::strategy::Strategy<Value = String> {
        let call_id = proptest::sample::select(vec![
            r#""call-1""#,
            r#""call-1""#,
            r#""c\"1""#,
            "null",
            "7",
            r#""""#,
        ]);
        let extra = proptest::sample::select(vec![
            "",
            "",
            r#","x":[1,{"y":"z\n"}]"#,
            r#","call_id":"dup""#,
            r#","call_logs":[]"#,
        ]);
        proptest::prop_oneof![
            1 => proptest::strategy::Just("null".to_string()),
            6 => (
                proptest::option::weighted(0.9, call_id),
                proptest::option::weighted(0.9, proptest::collection::vec(call_log(), 0..4)),
                extra,
            )
                .prop_map(|(call_id, logs, extra)| {
                    let mut members = Vec::new();
                    if let Some(c) = call_id {
                        members.push(format!(r#""call_id":{c}"#));
                    }
                    if let Some(logs) = logs {
                        members.push(format!(r#""call_logs":[{}]"#, logs.join(",")));
                    }
                    format!("{{{}{}}}", members.join(","), if members.is_empty() { "" } else { extra })
                }),
        ]
    }

    proptest::proptest! {
        /// `lines` read off the bytes is what the scanner and serde_json read: the same
        /// lines and logs, or the same error.
        #[test]
        fn lines_read_plain_as_the_general_reader_reads_them(
            lines in proptest::prop_oneof![
                8 => proptest::collection::vec(line(), 0..4).prop_map(|l| format!("[{}]", l.join(","))),
                1 => proptest::sample::select(vec!["null".to_string(), "{}".to_string(), "7".to_string()]),
            ],
            space in proptest::sample::select(vec!["", "", "", " "]),
        ) {
            let text = format!(r#"{{"handshake":"state","lines":{space}{lines},"timestamp":1}}"#);
            let (mut fast, mut general) = (Fields::default(), Fields::default());
            let fast_result = fast.read_flat_first(&text).map_err(|e| e.to_string());
            let general_result = general.read(&text).map_err(|e| e.to_string());
            proptest::prop_assert_eq!(&fast_result, &general_result, "{}", text);
            proptest::prop_assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{}", text);
            // What the plain reader takes, it reads as the general reader does.
            let mut plain = Fields::default();
            if plain.read_plain(&text).is_some() {
                proptest::prop_assert!(general_result.is_ok(), "{}", text);
                proptest::prop_assert_eq!(format!("{plain:?}"), format!("{general:?}"), "{}", text);
            }
        }
    }

    #[test]
    fn state_lines_as_servers_write_them_are_read_plain() {
        let text = r#"{"handshake":"state","lines":[{"call_id":"call-1","call_logs":[[2,{"event":"accepted"}],[1,{"event":"incoming_call","jsep":{"sdp":"v=0\r\n","type":"offer"}}]]},null],"timestamp":1}"#;
        let mut plain = Fields::default();
        assert!(plain.read_plain(text).is_some());
        let lines = plain.lines.unwrap();
        assert_eq!(lines.len(), 2);
        let line = lines[0].as_ref().unwrap();
        assert_eq!(line.call_id.as_deref(), Some("call-1"));
        assert_eq!(line.call_logs[0].timestamp, 2);
        assert_eq!(
            line.call_logs[1].message.get(),
            r#"{"event":"incoming_call","jsep":{"sdp":"v=0\r\n","type":"offer"}}"#
        );
        assert_eq!(lines[1], None);
    }
}
