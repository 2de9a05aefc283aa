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

fn skip<T>(v: &Option<T>) -> bool {
    v.is_none()
}

/// Every field of every WTSP message, flat. `None` means absent; for the fields that may
/// be `null` on purpose, `Some(None)` means `null`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Fields<'a> {
    // The kind tags, written first.
    #[serde(skip_serializing_if = "skip")]
    pub handshake: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub request: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub response: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub event: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub transaction: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub line: Option<Option<u32>>,
    #[serde(skip_serializing_if = "skip")]
    pub call_id: Option<Cow<'a, str>>,

    // Requests.
    #[serde(skip_serializing_if = "skip")]
    pub number: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub jsep: Option<Cow<'a, Jsep>>,
    #[serde(skip_serializing_if = "skip")]
    pub from: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub refer_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub replaces: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub direction: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub replace_call_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub candidate: Option<Option<Cow<'a, Value>>>,
    #[serde(skip_serializing_if = "skip")]
    pub settings: Option<Cow<'a, Value>>,

    // Responses and errors.
    #[serde(skip_serializing_if = "skip")]
    pub code: Option<i64>,
    #[serde(skip_serializing_if = "skip")]
    pub reason: Option<Cow<'a, str>>,

    // Events.
    #[serde(skip_serializing_if = "skip")]
    pub phrase: Option<Cow<'a, str>>,
    #[serde(rename = "type", skip_serializing_if = "skip")]
    pub media_type: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub receiving: Option<bool>,
    #[serde(skip_serializing_if = "skip")]
    pub mid: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub media: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub uplink: Option<bool>,
    #[serde(skip_serializing_if = "skip")]
    pub lost: Option<i64>,
    #[serde(skip_serializing_if = "skip")]
    pub refer_to: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub referred_by: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub callee: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub caller: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub caller_display_name: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub is_focus: Option<bool>,
    #[serde(skip_serializing_if = "skip")]
    pub notify: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub subscription_state: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
    pub content_type: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "skip")]
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
    #[serde(skip_serializing_if = "skip")]
    pub guest_line: Option<Option<Cow<'a, LineInfo>>>,
    #[serde(skip_serializing_if = "skip")]
    pub user_active_calls: Option<Option<Cow<'a, [Value]>>>,
    #[serde(skip_serializing_if = "skip")]
    pub dialog_infos: Option<Cow<'a, Value>>,
    #[serde(skip_serializing_if = "skip")]
    pub presence_infos: Option<Cow<'a, Value>>,

    /// The obsolete 2022 format nested type-specific fields in `data`. Read only.
    #[serde(skip_serializing)]
    pub data: Option<Box<Fields<'a>>>,
}

impl Fields<'_> {
    crate::members::lift_data!(
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
