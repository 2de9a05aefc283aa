//! A call notification's params, read in the same pass as the frame around them.
//!
//! `{"cmd_id", "event", "data"}` is what nearly every frame a client reads carries. Kept as
//! JSON text, they cost a pass to skip and another to read; read here, while the frame is
//! read, they cost one. Params that do not fit (a member of the wrong type, a repeated one,
//! not an object, no `cmd_id` or event) are marked [`ParamsSlot::Misfit`]: the caller reads
//! the frame again the tolerant way, which only odd frames pay for.

use std::borrow::Cow;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::flat::RawText;
use crate::members::{AnyStr, Str};

/// The members of a call notification's params.
#[derive(Debug, Default)]
pub(crate) struct CallParams<'a> {
    pub cmd_id: Option<Cow<'a, str>>,
    /// `event`, or the seed's stale name for it, `status`.
    pub event: Option<Cow<'a, str>>,
    /// `data` as its JSON text.
    pub data: Option<&'a str>,
}

/// The `params` member as the one-pass reader leaves it.
#[derive(Debug)]
pub(crate) enum ParamsSlot<'a> {
    /// `null`: as if absent.
    Null,
    /// A call notification's params.
    Call(CallParams<'a>),
    /// Anything else: read the frame again.
    Misfit,
}

impl<'de> Deserialize<'de> for ParamsSlot<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ParamsSlot<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(ParamsSlot::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ParamsSlot::Misfit)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(ParamsSlot::Misfit)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(ParamsSlot::Misfit)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ParamsSlot::Misfit)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ParamsSlot::Misfit)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ParamsSlot::Misfit)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut p = CallParams::default();
                let (mut status, mut misfit, mut seen) = (None, false, 0u8);
                while let Some(Str(name)) = map.next_key::<Str<'de>>()? {
                    let (slot, bit) = match name.as_ref() {
                        "cmd_id" => (&mut p.cmd_id, 1),
                        "event" => (&mut p.event, 2),
                        "status" => (&mut status, 4),
                        "data" => {
                            misfit |= seen & 8 != 0;
                            seen |= 8;
                            p.data = Some(map.next_value::<RawText<'de>>()?.0);
                            continue;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    misfit |= seen & bit != 0;
                    seen |= bit;
                    match map.next_value::<AnyStr<'de>>()? {
                        AnyStr::Str(s) => *slot = Some(s),
                        AnyStr::Null => *slot = None,
                        AnyStr::Other => misfit = true,
                    }
                }
                p.event = p.event.or(status);
                if misfit || p.cmd_id.is_none() || p.event.is_none() {
                    return Ok(ParamsSlot::Misfit);
                }
                Ok(ParamsSlot::Call(p))
            }
        }
        d.deserialize_any(V)
    }
}

/// A call notification as servers write one — compact, `method` a plain string, `params`
/// an object whose `cmd_id`, `event` (or `status`) and other members are plain strings or
/// `null` and whose `data` is a plain string, `null` or an object of those — read straight
/// off the bytes: its method and params. `None` for anything else (a response, a repeated
/// member, no `cmd_id` or event...), which the one-pass reader then reads; it agrees with
/// the tolerant reader on every frame this takes (proptest).
pub(crate) fn read_plain_notification(text: &str) -> Option<(Cow<'_, str>, CallParams<'_>)> {
    let mut o = crate::flat::PlainObject::new(text)?;
    let (mut method, mut params) = (None, None);
    while let Some(name) = o.next_name()? {
        match name {
            "method" if method.is_none() => method = Some(o.str()?),
            "params" if params.is_none() => {
                let mut inner = o.object()?;
                params = Some(read_plain_params(&mut inner)?);
                o.resume(inner)?;
            }
            // A response's members, or a repeated one: not for this reader.
            "method" | "params" | "id" | "result" | "error" => return None,
            _ => {
                o.opt_str()?;
            }
        }
    }
    o.end()?;
    Some((Cow::Borrowed(method?), params?))
}

fn read_plain_params<'a>(o: &mut crate::flat::PlainObject<'a>) -> Option<CallParams<'a>> {
    let mut p = CallParams::default();
    let (mut status, mut seen) = (None, 0u8);
    while let Some(name) = o.next_name()? {
        let bit = match name {
            "cmd_id" => {
                p.cmd_id = o.opt_str()?.map(Cow::Borrowed);
                1
            }
            "event" => {
                p.event = o.opt_str()?.map(Cow::Borrowed);
                2
            }
            "status" => {
                status = o.opt_str()?.map(Cow::Borrowed);
                4
            }
            "data" => {
                p.data = Some(o.raw_value()?);
                8
            }
            _ => {
                o.opt_str()?;
                0
            }
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
    }
    p.event = p.event.or(status);
    (p.cmd_id.is_some() && p.event.is_some()).then_some(p)
}

impl<'a> CallParams<'a> {
    /// Reads params kept as text the tolerant way: params that do not fit read as no
    /// members at all (the notification then matches no command).
    pub fn from_raw(raw: Option<&'a RawValue>) -> CallParams<'a> {
        match raw.and_then(|r| serde_json::from_str::<ParamsSlot<'a>>(r.get()).ok()) {
            Some(ParamsSlot::Call(p)) => p,
            _ => CallParams::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy as _;

    fn slot(text: &str) -> ParamsSlot<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn call_params_are_read_borrowed_with_data_as_text() {
        let ParamsSlot::Call(p) =
            slot(r#"{"cmd_id":"c1","event":"CallerAnswered","x":[1],"data":{"caller":"a"}}"#)
        else {
            panic!("a call notification's params")
        };
        assert!(matches!(p.cmd_id, Some(Cow::Borrowed("c1"))));
        assert_eq!(p.event.as_deref(), Some("CallerAnswered"));
        assert_eq!(p.data, Some(r#"{"caller":"a"}"#));
        let ParamsSlot::Call(p) = slot(r#"{"status":"Ended","cmd_id":"c1"}"#) else {
            panic!("status is the seed's name for event")
        };
        assert_eq!(p.event.as_deref(), Some("Ended"));
    }

    #[test]
    fn params_that_do_not_fit_are_misfits() {
        for text in [
            r#"{"cmd_id":"c1"}"#,
            r#"{"event":"Ended"}"#,
            r#"{"cmd_id":7,"event":"Ended"}"#,
            r#"{"cmd_id":"c1","event":"Ended","event":"Error"}"#,
            r#"{"cmd_id":"c1","event":"Ended","data":1,"data":2}"#,
            r#"["c1","Ended"]"#,
            r#""c1""#,
            "3",
        ] {
            assert!(matches!(slot(text), ParamsSlot::Misfit), "{text}");
            let raw: &RawValue = serde_json::from_str(text).unwrap();
            let p = CallParams::from_raw(Some(raw));
            assert!(p.cmd_id.is_none() && p.event.is_none(), "{text}");
        }
        assert!(matches!(slot("null"), ParamsSlot::Null));
    }

    fn params_value() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            r#""c1""#,
            r#""CallerAnswered""#,
            r#""Ended""#,
            "null",
            "3",
            r#""a\"b""#,
            r#"{"caller":"a","callee":null}"#,
            r#"{"caller":{"x":"y"}}"#,
            r#"{"a":1}"#,
            "[]",
            r#"{}"#,
            "\"\u{e9}\"",
        ])
    }

    proptest::proptest! {
        /// What the plain reader takes, the tolerant reader reads alike: method, cmd_id,
        /// event and data text.
        #[test]
        fn plain_notifications_read_as_the_tolerant_reader_reads_them(
            envelope in proptest::collection::vec((
                proptest::sample::select(vec!["jsonrpc", "method", "params", "id", "x"]),
                proptest::sample::select(vec![r#""2.0""#, r#""CallStart""#, "null", "1", "P"]),
            ), 0..4).prop_map(|mut v| {
                v.push(("method", r#""CallStart""#));
                v.push(("params", "P"));
                v
            }).prop_shuffle(),
            params in proptest::collection::vec((
                proptest::sample::select(vec!["cmd_id", "event", "status", "data", "x"]),
                params_value(),
            ), 0..3).prop_map(|mut v| {
                v.push(("cmd_id", r#""c1""#));
                v.push(("event", r#""CallerAnswered""#));
                v.push(("data", r#"{"caller":"a"}"#));
                v
            }).prop_shuffle(),
        ) {
            let body = |members: &[(&str, &str)]| -> String {
                members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(",")
            };
            let params_text = format!("{{{}}}", body(&params));
            let envelope: Vec<(&str, String)> = envelope
                .iter()
                .map(|(k, v)| (*k, if *v == "P" { params_text.clone() } else { (*v).to_owned() }))
                .collect();
            let text = format!("{{{}}}", envelope.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(","));
            if let Some((method, p)) = read_plain_notification(&text) {
                let mut messages = crate::callapi::jsonrpc::read_from_server_ref(&text, false)
                    .expect("a message");
                let Some(crate::callapi::jsonrpc::FromServerRef::Notification { method: m, params: crate::callapi::jsonrpc::NoteParams::Raw(raw) }) = messages.next() else {
                    return Err(proptest::test_runner::TestCaseError::fail(format!("not a notification: {text}")));
                };
                let reference = CallParams::from_raw(raw);
                proptest::prop_assert_eq!(method, m, "{}", text);
                proptest::prop_assert_eq!(p.cmd_id, reference.cmd_id, "{}", text);
                proptest::prop_assert_eq!(p.event, reference.event, "{}", text);
                proptest::prop_assert_eq!(p.data, reference.data, "{}", text);
            }
        }
    }
}
