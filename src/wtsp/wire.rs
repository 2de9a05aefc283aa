//! The flat JSON shape shared by every WTSP frame.
//!
//! Every WTSP message is one flat JSON object whose top-level key tells its kind. Rather
//! than buffer a frame into a `serde_json::Value` tree and dispatch on it, a frame is read
//! once into [`Fields`]: one struct with every field any message may carry, borrowing
//! strings from the frame where they need no unescaping. The typed messages in
//! `message.rs` are then built from it, which is also where mandatory fields are checked.
//! Writing goes the other way: typed message → borrowed `Fields` → JSON, so the writer
//! emits exactly the documented field names in a fixed order.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::message::{CallLog, Jsep, LineInfo, Registration};
use crate::json;

fn skip<T>(v: &Option<T>) -> bool {
    v.is_none()
}

/// Every field of every WTSP message, flat. `None` means absent; for the fields that may
/// be `null` on purpose, `Some(None)` means `null`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Fields<'a> {
    // The kind tags, written first.
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub handshake: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub request: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub response: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub event: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub transaction: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip", deserialize_with = "json::nullable")]
    pub line: Option<Option<u32>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub call_id: Option<Cow<'a, str>>,

    // Requests.
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub number: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub jsep: Option<Cow<'a, Jsep>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub from: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "string_or_number"
    )]
    pub refer_id: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub replaces: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub direction: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub replace_call_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip", deserialize_with = "json::nullable")]
    pub candidate: Option<Option<Cow<'a, Value>>>,
    #[serde(skip_serializing_if = "skip")]
    pub settings: Option<Cow<'a, Value>>,

    // Responses and errors.
    #[serde(skip_serializing_if = "skip")]
    pub code: Option<i64>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub reason: Option<Cow<'a, str>>,

    // Events.
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub phrase: Option<Cow<'a, str>>,
    #[serde(
        rename = "type",
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub media_type: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub receiving: Option<bool>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub mid: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub media: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub uplink: Option<bool>,
    #[serde(skip_serializing_if = "skip")]
    pub lost: Option<i64>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub refer_to: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub referred_by: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub callee: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub caller: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub caller_display_name: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub is_focus: Option<bool>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub notify: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub subscription_state: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub content_type: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "skip",
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub content: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub presence_info: Option<Cow<'a, Value>>,

    // The `state` handshake.
    #[serde(skip_serializing_if = "skip")]
    pub keepalive_interval: Option<u64>,
    #[serde(skip_serializing_if = "skip")]
    pub timestamp: Option<u64>,
    #[serde(skip_serializing_if = "skip")]
    pub registration: Option<Cow<'a, Registration>>,
    #[serde(skip_serializing_if = "skip")]
    pub lines: Option<Cow<'a, [Option<LineInfo>]>>,
    #[serde(skip_serializing_if = "skip", deserialize_with = "json::nullable")]
    pub guest_line: Option<Option<Cow<'a, LineInfo>>>,
    #[serde(skip_serializing_if = "skip", deserialize_with = "json::nullable")]
    pub user_active_calls: Option<Option<Cow<'a, [Value]>>>,
    #[serde(skip_serializing_if = "skip")]
    pub dialog_infos: Option<Cow<'a, Value>>,
    #[serde(skip_serializing_if = "skip")]
    pub presence_infos: Option<Cow<'a, Value>>,

    /// The obsolete 2022 format nested type-specific fields in `data`. Read only.
    #[serde(skip_serializing, borrow)]
    pub data: Option<Box<Fields<'a>>>,
}

/// `fn lift_data(&mut self)`: each listed member of a legacy `data` object (itself lifted
/// first) counts where the top level lacks it.
macro_rules! lift_data {
    ($($f:ident),* $(,)?) => {
        /// Treats the members of a legacy `data` object as top-level fields (the top
        /// level wins).
        pub fn lift_data(&mut self) {
            let Some(mut data) = self.data.take() else {
                return;
            };
            data.lift_data();
            $( if self.$f.is_none() { self.$f = data.$f.take(); } )*
        }
    };
}

impl<'a> Fields<'a> {
    /// Reads one frame, a legacy `data` object's members lifted to the top level.
    pub fn read(text: &'a str) -> serde_json::Result<Self> {
        let mut f: Fields<'a> = json::from_object(text)?;
        f.lift_data();
        Ok(f)
    }

    lift_data!(
        transaction,
        line,
        call_id,
        number,
        jsep,
        from,
        refer_id,
        replaces,
        direction,
        replace_call_id,
        candidate,
        settings,
        code,
        reason,
        phrase,
        media_type,
        receiving,
        mid,
        media,
        uplink,
        lost,
        refer_to,
        referred_by,
        callee,
        caller,
        caller_display_name,
        is_focus,
        notify,
        subscription_state,
        content_type,
        content,
        presence_info,
        keepalive_interval,
        timestamp,
        registration,
        lines,
        guest_line,
        user_active_calls,
        dialog_infos,
        presence_infos,
    );
}

/// `refer_id` is a string, but some documents say number: both are read, a number as its
/// text; `null` reads as absent.
fn string_or_number<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id<'a> {
        S(#[serde(borrow)] Cow<'a, str>),
        N(serde_json::Number),
    }
    Ok(match Option::<Id<'a>>::deserialize(d)? {
        None => None,
        Some(Id::S(s)) => Some(s),
        Some(Id::N(n)) => Some(Cow::Owned(n.to_string())),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> serde_json::Result<Fields<'_>> {
        Fields::read(text)
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
        let f = read(r#"{"event":"ringing","data":{"line":2,"call_id":"c"}}"#).unwrap();
        assert_eq!(f.line, Some(Some(2)));
        assert_eq!(f.call_id.as_deref(), Some("c"));
    }
}
