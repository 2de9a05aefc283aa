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
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::message::{CallLog, Jsep, LineInfo, Registration};
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

/// A `handshake` frame: `state` and `keepalive`. Every kind tag is read (a repeated or a stronger one sends the frame to
/// [`Wire::read`]'s second pass); written, only its own.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct HandshakeWire<'a> {
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub handshake: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub request: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub response: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub event: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub transaction: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keepalive_interval: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<Cow<'a, Registration>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Cow<'a, [Option<LineInfo>]>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "json::nullable"
    )]
    pub guest_line: Option<Option<Cow<'a, LineInfo>>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "json::nullable"
    )]
    pub user_active_calls: Option<Option<Cow<'a, [Value]>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialog_infos: Option<Cow<'a, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_infos: Option<Cow<'a, Value>>,
    /// The obsolete 2022 format nested type-specific members in `data`. Read only.
    #[serde(skip_serializing, default, borrow)]
    pub data: Option<Box<HandshakeWire<'a>>>,
}

impl HandshakeWire<'_> {
    lift_data!(
        transaction,
        keepalive_interval,
        timestamp,
        registration,
        lines,
        guest_line,
        user_active_calls,
        dialog_infos,
        presence_infos
    );

    /// Which kind tags the frame carries besides the one it was dispatched on.
    fn tags(&self) -> [bool; 4] {
        [
            self.handshake.is_some(),
            self.request.is_some(),
            self.response.is_some(),
            self.event.is_some(),
        ]
    }
}

/// A `request` frame. Every kind tag is read (a repeated or a stronger one sends the frame to
/// [`Wire::read`]'s second pass); written, only its own.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct RequestWire<'a> {
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub handshake: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub request: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub response: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub event: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub transaction: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "json::nullable"
    )]
    pub line: Option<Option<u32>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub call_id: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub number: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jsep: Option<Cow<'a, Jsep>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub from: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "string_or_number"
    )]
    pub refer_id: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub replaces: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub direction: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub replace_call_id: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "json::nullable"
    )]
    pub candidate: Option<Option<Cow<'a, Value>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Cow<'a, Value>>,
    /// The obsolete 2022 format nested type-specific members in `data`. Read only.
    #[serde(skip_serializing, default, borrow)]
    pub data: Option<Box<RequestWire<'a>>>,
}

impl RequestWire<'_> {
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
        settings
    );

    /// Which kind tags the frame carries besides the one it was dispatched on.
    fn tags(&self) -> [bool; 4] {
        [
            self.handshake.is_some(),
            self.request.is_some(),
            self.response.is_some(),
            self.event.is_some(),
        ]
    }
}

/// A `response` frame: `ack` and `error`. Every kind tag is read (a repeated or a stronger one sends the frame to
/// [`Wire::read`]'s second pass); written, only its own.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ResponseWire<'a> {
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub handshake: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub request: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub response: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub event: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub transaction: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "json::nullable"
    )]
    pub line: Option<Option<u32>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub call_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub reason: Option<Cow<'a, str>>,
    /// The obsolete 2022 format nested type-specific members in `data`. Read only.
    #[serde(skip_serializing, default, borrow)]
    pub data: Option<Box<ResponseWire<'a>>>,
}

impl ResponseWire<'_> {
    lift_data!(transaction, line, call_id, code, reason);

    /// Which kind tags the frame carries besides the one it was dispatched on.
    fn tags(&self) -> [bool; 4] {
        [
            self.handshake.is_some(),
            self.request.is_some(),
            self.response.is_some(),
            self.event.is_some(),
        ]
    }
}

/// An `event` frame. Every kind tag is read (a repeated or a stronger one sends the frame to
/// [`Wire::read`]'s second pass); written, only its own.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct EventWire<'a> {
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub handshake: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub request: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub response: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub event: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub transaction: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "json::nullable"
    )]
    pub line: Option<Option<u32>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub call_id: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub number: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jsep: Option<Cow<'a, Jsep>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "string_or_number"
    )]
    pub refer_id: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub replace_call_id: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        deserialize_with = "json::nullable"
    )]
    pub candidate: Option<Option<Cow<'a, Value>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub reason: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub phrase: Option<Cow<'a, str>>,
    #[serde(
        rename = "type",
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub media_type: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiving: Option<bool>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub mid: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub media: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uplink: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<i64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub refer_to: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub referred_by: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub callee: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub caller: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub caller_display_name: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_focus: Option<bool>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub notify: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub subscription_state: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub content_type: Option<Cow<'a, str>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        default,
        borrow,
        deserialize_with = "json::opt_str"
    )]
    pub content: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_info: Option<Cow<'a, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialog_infos: Option<Cow<'a, Value>>,
    /// The obsolete 2022 format nested type-specific members in `data`. Read only.
    #[serde(skip_serializing, default, borrow)]
    pub data: Option<Box<EventWire<'a>>>,
}

impl EventWire<'_> {
    lift_data!(
        transaction,
        line,
        call_id,
        number,
        jsep,
        refer_id,
        replace_call_id,
        candidate,
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
        dialog_infos
    );

    /// Which kind tags the frame carries besides the one it was dispatched on.
    fn tags(&self) -> [bool; 4] {
        [
            self.handshake.is_some(),
            self.request.is_some(),
            self.response.is_some(),
            self.event.is_some(),
        ]
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
}
