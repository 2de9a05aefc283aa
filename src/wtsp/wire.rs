//! The JSON shapes of WTSP frames, one per kind.
//!
//! Every WTSP message is one flat JSON object whose kind tag (`handshake`, `request`,
//! `response` or `event`) says which members it may carry. Each kind has one
//! `#[derive(Deserialize)]` struct borrowing from the frame ([`HandshakeWire`],
//! [`RequestWire`], [`ResponseWire`], [`EventWire`]); members of other kinds are ignored,
//! as unknown members are. [`Wire::read`] dispatches on the tag: when it comes first, as
//! every implementation writes it, the rest of the object goes straight to the kind's
//! struct (one pass); otherwise a second pass reads the tags first. The typed messages in
//! `message.rs` are built from these structs (`codec.rs`), which is also where mandatory
//! members are checked. Writing goes the other way through the same structs, so the writer
//! emits exactly the documented member names in a fixed order, the tag first.

use std::borrow::Cow;

use serde::de::MapAccess;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::values::{Jsep, LineInfo, Registration};
use crate::json;

/// `fn lift_data(&mut self)`: each listed member of a legacy `data` object (itself lifted
/// first) counts where the top level lacks it.
macro_rules! lift_data {
    ($($f:ident),* $(,)?) => {
        /// Treats the members of a legacy `data` object as top-level members (the top
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

/// One frame just read, in its kind's struct, lent to [`Wire::read`]'s caller. (Lent
/// rather than returned: the structs are hundreds of bytes, and moving the largest kind's
/// worth through every layer of the reader cost more than reading a small frame.)
#[derive(Debug)]
pub(crate) enum Wire<'r, 'a> {
    Handshake(&'r mut HandshakeWire<'a>),
    Request(&'r mut RequestWire<'a>),
    Response(&'r mut ResponseWire<'a>),
    Event(&'r mut EventWire<'a>),
}

/// The kind tags, in the order they take precedence: a frame with two is of the first.
const TAGS: &[&str] = &["handshake", "request", "response", "event"];

/// The kind tags alone: the second pass of [`Wire::read`].
#[derive(Deserialize)]
struct Tags<'a> {
    #[serde(default, borrow, deserialize_with = "json::opt_str")]
    handshake: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "json::opt_str")]
    request: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "json::opt_str")]
    response: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "json::opt_str")]
    event: Option<Cow<'a, str>>,
}

impl<'r, 'a> Wire<'r, 'a> {
    /// Reads one frame and lends it to `then` (legacy `data` members lifted to the top
    /// level); `None` when it carries no kind tag.
    pub fn read<R>(
        text: &'a str,
        then: impl FnMut(Wire<'_, 'a>) -> R,
    ) -> serde_json::Result<Option<R>> {
        let mut reader = Reader(then);
        if let Some(mut ack) = plain_ack(text) {
            return Ok(Some(reader.lend(Wire::Response(&mut ack))));
        }
        Self::read_derived(text, reader)
    }

    /// [`Wire::read`] through the derived structs alone.
    fn read_derived<R>(
        text: &'a str,
        mut reader: Reader<impl FnMut(Wire<'_, 'a>) -> R>,
    ) -> serde_json::Result<Option<R>> {
        if let Some(read) = json::tag_first(text, &mut reader) {
            return Ok(Some(read));
        }
        let tags: Tags<'a> = json::from_object(text)?;
        Ok(Some(
            match [&tags.handshake, &tags.request, &tags.response, &tags.event]
                .iter()
                .position(|t| t.is_some())
            {
                Some(0) => reader.lend(Wire::Handshake(&mut json::from_object(text)?)),
                Some(1) => reader.lend(Wire::Request(&mut json::from_object(text)?)),
                Some(2) => reader.lend(Wire::Response(&mut json::from_object(text)?)),
                Some(_) => reader.lend(Wire::Event(&mut json::from_object(text)?)),
                None => return Ok(None),
            },
        ))
    }
}

/// The crate's one hand-read frame: the `ack` a server sends for almost every request,
/// written as every implementation writes it (`{"response":"ack","transaction":"ID"}`, no
/// whitespace, nothing to unescape in the id). It is the client's hottest frame and the
/// smallest, where the derived reader's fixed cost shows most. Anything else, however
/// close, goes to the derived reader; a property test checks the two agree.
fn plain_ack(text: &str) -> Option<ResponseWire<'_>> {
    let id = text
        .strip_prefix(r#"{"response":"ack","transaction":""#)?
        .strip_suffix(r#""}"#)?;
    if id.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        return None;
    }
    Some(ResponseWire {
        response: Some(Cow::Borrowed("ack")),
        transaction: Some(Cow::Borrowed(id)),
        ..ResponseWire::default()
    })
}

/// [`Wire::read`]'s first pass, and what it lends a frame to.
struct Reader<F>(F);

impl<F> Reader<F> {
    fn lend<'a, R>(&mut self, mut wire: Wire<'_, 'a>) -> R
    where
        F: FnMut(Wire<'_, 'a>) -> R,
    {
        match &mut wire {
            Wire::Handshake(w) => w.lift_data(),
            Wire::Request(w) => w.lift_data(),
            Wire::Response(w) => w.lift_data(),
            Wire::Event(w) => w.lift_data(),
        }
        (self.0)(wire)
    }
}

impl<'de, R, F: FnMut(Wire<'_, 'de>) -> R> json::Tagged<'de> for Reader<F> {
    type Value = R;
    const TAGS: &'static [&'static str] = TAGS;

    /// `None` when the rest repeats the tag or carries a stronger one: the second pass
    /// decides (and has the error to tell).
    fn read_rest<A: MapAccess<'de>>(
        &mut self,
        tag: usize,
        name: Cow<'de, str>,
        rest: A,
    ) -> Result<Option<R>, A::Error> {
        let rest = serde::de::value::MapAccessDeserializer::new(rest);
        macro_rules! kind {
            ($variant:ident, $wire:ident, $slot:ident) => {{
                let mut w = $wire::deserialize(rest)?;
                if w.tags()[..=tag].iter().any(|t| *t) {
                    return Ok(None);
                }
                w.$slot = Some(name);
                self.lend(Wire::$variant(&mut w))
            }};
        }
        Ok(Some(match tag {
            0 => kind!(Handshake, HandshakeWire, handshake),
            1 => kind!(Request, RequestWire, request),
            2 => kind!(Response, ResponseWire, response),
            _ => kind!(Event, EventWire, event),
        }))
    }
}

/// Declares one kind's struct: the four kind tags first (every one is read: a repeated or a
/// stronger tag sends the frame to [`Wire::read`]'s second pass; written, only its own),
/// then its members in the order they are written, then the legacy `data` wrapper. How
/// a member reads: `str`, a string borrowed from the frame, `null` as absent; `nullable
/// T`, a `T` where `null` is kept as `Some(None)`; `refer_id`, a string or a number; `value
/// T`, serde's own reading of `T` (`null` as absent). `name("wire")` renames a member.
macro_rules! wire_kind {
    ($(#[$doc:meta])* $name:ident {
        $($f:ident $(($wire:literal))?: $how:ident $($ty:ty)?,)*
    }) => {
        wire_kind!(@munch [$(#[$doc])* $name] []
            handshake: str, request: str, response: str, event: str,
            $($f $(($wire))?: $how $($ty)?,)*);

        impl $name<'_> {
            lift_data!($($f),*);

            /// Which kind tags the frame carries, in the order of [`TAGS`].
            fn tags(&self) -> [bool; 4] {
                [
                    self.handshake.is_some(),
                    self.request.is_some(),
                    self.response.is_some(),
                    self.event.is_some(),
                ]
            }
        }
    };
    (@munch [$(#[$doc:meta])* $name:ident] [$($acc:tt)*]) => {
        $(#[$doc])*
        #[derive(Debug, Default, Serialize, Deserialize)]
        pub(crate) struct $name<'a> {
            $($acc)*
            /// The obsolete 2022 format nested type-specific members in `data`. Read only.
            #[serde(skip_serializing, default, borrow)]
            pub data: Option<Box<$name<'a>>>,
        }
    };
    (@munch $head:tt [$($acc:tt)*] $f:ident $(($wire:literal))?: str, $($rest:tt)*) => {
        wire_kind!(@munch $head [$($acc)*
            #[serde($(rename = $wire,)? skip_serializing_if = "Option::is_none", default, borrow,
                    deserialize_with = "json::opt_str")]
            pub $f: Option<Cow<'a, str>>,
        ] $($rest)*);
    };
    (@munch $head:tt [$($acc:tt)*] $f:ident: refer_id, $($rest:tt)*) => {
        wire_kind!(@munch $head [$($acc)*
            #[serde(skip_serializing_if = "Option::is_none", default, borrow,
                    deserialize_with = "string_or_number")]
            pub $f: Option<Cow<'a, str>>,
        ] $($rest)*);
    };
    (@munch $head:tt [$($acc:tt)*] $f:ident: nullable $ty:ty, $($rest:tt)*) => {
        wire_kind!(@munch $head [$($acc)*
            #[serde(skip_serializing_if = "Option::is_none", default,
                    deserialize_with = "json::nullable")]
            pub $f: Option<Option<$ty>>,
        ] $($rest)*);
    };
    (@munch $head:tt [$($acc:tt)*] $f:ident: value $ty:ty, $($rest:tt)*) => {
        wire_kind!(@munch $head [$($acc)*
            #[serde(skip_serializing_if = "Option::is_none")]
            pub $f: Option<$ty>,
        ] $($rest)*);
    };
}

wire_kind! {
    /// A `handshake` frame: `state` and `keepalive`.
    HandshakeWire {
        transaction: str,
        keepalive_interval: value u64,
        timestamp: value u64,
        registration: value Cow<'a, Registration>,
        lines: value Cow<'a, [Option<LineInfo>]>,
        guest_line: nullable Cow<'a, LineInfo>,
        user_active_calls: nullable Cow<'a, [Value]>,
        dialog_infos: value Cow<'a, Value>,
        presence_infos: value Cow<'a, Value>,
    }
}

wire_kind! {
    /// A `request` frame.
    RequestWire {
        transaction: str,
        line: nullable u32,
        call_id: str,
        number: str,
        jsep: value Cow<'a, Jsep>,
        from: str,
        refer_id: refer_id,
        replaces: str,
        direction: str,
        replace_call_id: str,
        candidate: nullable Cow<'a, Value>,
        settings: value Cow<'a, Value>,
    }
}

wire_kind! {
    /// A `response` frame: `ack` and `error`.
    ResponseWire {
        transaction: str,
        line: nullable u32,
        call_id: str,
        code: value i64,
        reason: str,
    }
}

wire_kind! {
    /// An `event` frame.
    EventWire {
        transaction: str,
        line: nullable u32,
        call_id: str,
        number: str,
        jsep: value Cow<'a, Jsep>,
        refer_id: refer_id,
        replace_call_id: str,
        candidate: nullable Cow<'a, Value>,
        code: value i64,
        reason: str,
        phrase: str,
        media_type("type"): str,
        receiving: value bool,
        mid: str,
        media: str,
        uplink: value bool,
        lost: value i64,
        refer_to: str,
        referred_by: str,
        callee: str,
        caller: str,
        caller_display_name: str,
        is_focus: value bool,
        notify: str,
        subscription_state: str,
        content_type: str,
        content: str,
        presence_info: value Cow<'a, Value>,
        dialog_infos: value Cow<'a, Value>,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame read, taken out of the reader's hands.
    #[derive(Debug)]
    #[allow(dead_code, clippy::large_enum_variant)] // A test value, read through `Debug`.
    enum Owned<'a> {
        Handshake(HandshakeWire<'a>),
        Request(RequestWire<'a>),
        Response(ResponseWire<'a>),
        Event(EventWire<'a>),
    }

    fn read(text: &str) -> serde_json::Result<Option<Owned<'_>>> {
        use std::mem::take;
        Wire::read(text, |w| match w {
            Wire::Handshake(w) => Owned::Handshake(take(w)),
            Wire::Request(w) => Owned::Request(take(w)),
            Wire::Response(w) => Owned::Response(take(w)),
            Wire::Event(w) => Owned::Event(take(w)),
        })
    }

    fn event(text: &str) -> EventWire<'_> {
        match read(text) {
            Ok(Some(Owned::Event(e))) => e,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn request(text: &str) -> RequestWire<'_> {
        match read(text) {
            Ok(Some(Owned::Request(r))) => r,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        // Tag first (one pass) and tag later (two passes) alike.
        for text in [
            r#"{"request":"hangup","transaction":"t\"1","call_id":"c"}"#,
            r#"{"transaction":"t\"1","call_id":"c","request":"hangup"}"#,
        ] {
            let f = request(text);
            assert!(matches!(f.request, Some(Cow::Borrowed("hangup"))), "{text}");
            assert!(matches!(f.call_id, Some(Cow::Borrowed("c"))), "{text}");
            assert!(
                matches!(f.transaction, Some(Cow::Owned(ref t)) if t == "t\"1"),
                "{text}"
            );
        }
    }

    #[test]
    fn an_escaped_member_name_is_still_recognised() {
        assert_eq!(
            event(r#"{"\u0065vent":"ringing"}"#).event.as_deref(),
            Some("ringing")
        );
        assert_eq!(
            event(r#"{"event":"ringing","c\u0061ll_id":"c"}"#)
                .call_id
                .as_deref(),
            Some("c")
        );
    }

    #[test]
    fn null_reads_as_absent_except_where_null_means_something() {
        let f = event(r#"{"event":"x","line":null,"candidate":null,"code":null}"#);
        assert_eq!(f.code, None);
        assert_eq!(f.line, Some(None));
        assert_eq!(f.candidate, Some(None));
        assert_eq!(event(r#"{"event":"x"}"#).line, None);
        // A `null` tag is no tag.
        assert!(read(r#"{"event":null,"line":1}"#).unwrap().is_none());
    }

    #[test]
    fn refer_id_may_be_a_number() {
        assert_eq!(
            event(r#"{"event":"x","refer_id":17}"#).refer_id.as_deref(),
            Some("17")
        );
        assert_eq!(
            event(r#"{"event":"x","refer_id":"17"}"#)
                .refer_id
                .as_deref(),
            Some("17")
        );
    }

    #[test]
    fn a_repeated_member_is_an_error_but_unknown_ones_are_skipped() {
        for text in [
            r#"{"event":"a","event":"b"}"#,
            r#"{"line":1,"event":"a","event":"b"}"#,
            r#"{"event":"a","line":1,"line":2}"#,
        ] {
            let e = read(text).unwrap_err();
            assert!(e.to_string().contains("duplicate field"), "{text}: {e}");
        }
        let f = event(r#"{"x":{"y":[1,2]},"x":3,"event":"a"}"#);
        assert_eq!(f.event.as_deref(), Some("a"));
    }

    #[test]
    fn the_stronger_tag_decides_wherever_it_stands() {
        for text in [
            r#"{"event":"ringing","request":"hangup","transaction":"t"}"#,
            r#"{"request":"hangup","event":"ringing","transaction":"t"}"#,
            r#"{"transaction":"t","event":"ringing","request":"hangup"}"#,
        ] {
            assert_eq!(request(text).request.as_deref(), Some("hangup"), "{text}");
        }
        assert!(matches!(
            read(r#"{"response":"ack","handshake":"keepalive","transaction":"t"}"#),
            Ok(Some(Owned::Handshake(_)))
        ));
    }

    #[test]
    fn members_of_other_kinds_are_ignored() {
        // `settings` belongs to requests; an event does not read it.
        assert_eq!(
            event(r#"{"event":"x","settings":5,"line":0}"#).line,
            Some(Some(0))
        );
        // A member of the kind is checked.
        assert!(read(r#"{"event":"x","line":"zero"}"#).is_err());
    }

    #[test]
    fn only_an_object_is_read() {
        for text in [r#"["keepalive","t"]"#, "1", "null", r#""event""#] {
            assert!(read(text).is_err(), "{text}");
        }
        assert!(read(r#"{"event":"a"} x"#).is_err());
        assert!(read(r#"{"event":"a","line":1} x"#).is_err());
        assert!(read(r#"{"event":7}"#).is_err());
    }

    #[test]
    fn legacy_data_nests() {
        let f = event(r#"{"event":"ringing","data":{"line":2,"call_id":"c"}}"#);
        assert_eq!(f.line, Some(Some(2)));
        assert_eq!(f.call_id.as_deref(), Some("c"));
    }

    /// The hand-read `ack` agrees with the derived reader on every frame it takes, and it
    /// takes only the exact plain form.
    mod plain_ack_agrees {
        use super::*;
        use proptest::prelude::*;

        fn derived(text: &str) -> String {
            let owned = Wire::read_derived(
                text,
                Reader(|w: Wire<'_, '_>| match w {
                    Wire::Response(w) => format!("{:?}", std::mem::take(w)),
                    other => format!("{other:?}"),
                }),
            );
            format!("{owned:?}")
        }

        fn fast(text: &str) -> Option<String> {
            let mut w = plain_ack(text)?;
            Some(format!(
                "{:?}",
                Ok::<_, ()>(Some(format!("{:?}", std::mem::take(&mut w))))
            ))
        }

        proptest! {
            #[test]
            fn on_every_frame_it_takes(
                prefix in proptest::sample::select(&[
                    r#"{"response":"ack","transaction":""#,
                    r#"{"response": "ack","transaction":""#,
                    r#"{"response":"ack","transaction":"#,
                    r#"{"response":"error","transaction":""#,
                ][..]),
                id in prop_oneof![
                    "[a-zA-Z0-9 _./:-]{0,20}",
                    "\\PC{0,8}",
                    "[\"\\\\\u{0}-\u{1f}a]{0,4}",
                ],
                suffix in proptest::sample::select(&[r#""}"#, r#"" }"#, r#"","line":0}"#, r#"""#][..]),
            ) {
                let text = format!("{prefix}{id}{suffix}");
                if let Some(fast) = fast(&text) {
                    prop_assert_eq!(fast, derived(&text), "{}", text);
                }
            }
        }

        #[test]
        fn it_takes_the_plain_form_only() {
            assert!(plain_ack(r#"{"response":"ack","transaction":"transaction-1"}"#).is_some());
            assert!(plain_ack(r#"{"response":"ack","transaction":"t\"1"}"#).is_none());
            assert!(plain_ack(r#"{"response":"ack","transaction":"t","line":0}"#).is_none());
            assert!(plain_ack(r#"{"response":"ack", "transaction":"t"}"#).is_none());
        }
    }
}
