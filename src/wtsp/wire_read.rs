//! Reading a frame into [`Fields`] in place (see `crate::members` for why not derived).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};

use crate::members::read_members;

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
        "lines" => lines: value,
        "guest_line" => guest_line: nullable,
        "user_active_calls" => user_active_calls: nullable,
        "dialog_infos" => dialog_infos: value,
        "presence_infos" => presence_infos: value,
    }
    nested "data" => data
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
