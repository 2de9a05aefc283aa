//! Replaying a `state` handshake's call logs onto the line model.
//!
//! Each log is read for what the line model needs, in one pass over its text and without
//! building the message: its kind tag, and the members that kind needs — a request's
//! `transaction`, `number`, `jsep` (and the others [`codec::request_complete`] asks
//! about), `refer_id`, and the offer of an `incoming_call`. Those members are checked as
//! the typed reader checks them (a string must be a string, a `jsep` must read as one);
//! members the line model does not need are skipped unread, so a malformed one does not
//! stop a replay, though [`CallLog::decode`](super::CallLog::decode) would refuse the log.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::codec::{self, RequestMembers};
use super::event::CallOffer;
use super::lines::{apply_event, apply_request, event_step, request_step, EventStep, LineCall};
use super::message::{CallLog, Jsep};
use crate::flat::{PlainObject, RawText};
use crate::members::{read_members, PlainValue};

/// A `jsep` checked as the typed reader checks it (an object with string `type` and
/// `sdp`), its strings kept as text: only an `incoming_call` needs their values.
#[derive(Deserialize)]
struct JsepText<'a> {
    #[serde(rename = "type", borrow)]
    kind: StrText<'a>,
    #[serde(borrow)]
    sdp: StrText<'a>,
}

/// A JSON string as it stands in the frame, quotes and escapes included.
struct StrText<'a>(&'a str);

impl<'a> StrText<'a> {
    fn new(text: &'a str) -> Option<Self> {
        text.starts_with('"').then_some(StrText(text))
    }

    /// Whether the string has a value: valid JSON text may still hold a lone surrogate
    /// (`"\ud800"`), which no string can (the typed reader refuses it). Other escapes in
    /// valid JSON always decode.
    fn decodes(&self) -> bool {
        !self.0.contains("\\u") || crate::flat::string(self.0).is_some()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StrText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let RawText(text) = RawText::deserialize(d)?;
        StrText::new(text).ok_or_else(|| serde::de::Error::custom("expected a string"))
    }
}

/// Off the bytes: `null`, or an object whose `type` and `sdp` are strings, once each;
/// anything else (an array, a missing or repeated member, whitespace) is left to the
/// scanner and the derived reader, which has the answer. Logs are `RawJson`, already
/// checked to be JSON, so a string is found by its closing quote alone (and checked for
/// lone surrogates by `replay_log`, when the log's text was not scanned).
impl<'de> PlainValue<'de> for Option<JsepText<'de>> {
    fn read_plain(obj: &mut PlainObject<'de>) -> Option<Self> {
        if obj.null() {
            return Some(None);
        }
        let mut inner = obj.object()?;
        let (mut kind, mut sdp) = (None, None);
        while let Some(name) = inner.next_name()? {
            let slot = match name {
                "type" => &mut kind,
                "sdp" => &mut sdp,
                _ => {
                    inner.skip()?;
                    continue;
                }
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(StrText::new(inner.checked_string_text()?)?);
        }
        obj.resume(inner)?;
        Some(Some(JsepText {
            kind: kind?,
            sdp: sdp?,
        }))
    }
}

impl JsepText<'_> {
    fn decodes(&self) -> bool {
        self.kind.decodes() && self.sdp.decodes()
    }

    fn to_jsep(&self) -> Option<Jsep> {
        Some(Jsep {
            kind: crate::flat::string(self.kind.0)?.into_owned(),
            sdp: crate::flat::string(self.sdp.0)?.into_owned(),
        })
    }
}

/// The members of a logged message the line model reads.
#[derive(Default)]
struct LogFields<'a> {
    handshake: Option<Cow<'a, str>>,
    request: Option<Cow<'a, str>>,
    response: Option<Cow<'a, str>>,
    event: Option<Cow<'a, str>>,
    transaction: Option<Cow<'a, str>>,
    number: Option<Cow<'a, str>>,
    jsep: Option<JsepText<'a>>,
    candidate: Option<Option<IgnoredAny>>,
    settings: Option<IgnoredAny>,
    direction: Option<Cow<'a, str>>,
    refer_id: Option<IgnoredAny>,
    callee: Option<Cow<'a, str>>,
    caller: Option<Cow<'a, str>>,
    caller_display_name: Option<Cow<'a, str>>,
    referred_by: Option<Cow<'a, str>>,
    replace_call_id: Option<Cow<'a, str>>,
    is_focus: Option<bool>,
    /// The obsolete 2022 format's `data` wrapper (see `Fields::lift_data`).
    data: Option<Box<LogFields<'a>>>,
}

read_members! {
    LogFields {
        "handshake" => handshake: str,
        "request" => request: str,
        "response" => response: str,
        "event" => event: str,
        "transaction" => transaction: str,
        "number" => number: str,
        "jsep" => jsep: custom,
        "candidate" => candidate: nullable,
        "settings" => settings: value,
        "direction" => direction: str,
        "refer_id" => refer_id: value,
        "callee" => callee: str,
        "caller" => caller: str,
        "caller_display_name" => caller_display_name: str,
        "referred_by" => referred_by: str,
        "replace_call_id" => replace_call_id: str,
        "is_focus" => is_focus: value,
    }
    nested "data" => data
}

impl<'a> LogFields<'a> {
    // As `Fields`.
    crate::members::lift_data!(
        transaction,
        number,
        jsep,
        candidate,
        settings,
        direction,
        refer_id,
        callee,
        caller,
        caller_display_name,
        referred_by,
        replace_call_id,
        is_focus,
    );

    fn request_members(&self) -> RequestMembers<'_> {
        RequestMembers {
            transaction: self.transaction.is_some(),
            number: self.number.is_some(),
            jsep: self.jsep.is_some(),
            candidate: self.candidate.is_some(),
            settings: self.settings.is_some(),
            direction: self.direction.as_deref(),
        }
    }

    /// The `incoming_call` offer; `None` when its `jsep` does not read as one.
    fn offer(&mut self) -> Option<CallOffer> {
        let own = |s: &mut Option<Cow<'_, str>>| s.take().map(Cow::into_owned);
        let jsep = match &self.jsep {
            Some(j) => Some(j.to_jsep()?),
            None => None,
        };
        Some(CallOffer {
            callee: own(&mut self.callee),
            caller: own(&mut self.caller),
            caller_display_name: own(&mut self.caller_display_name),
            referred_by: own(&mut self.referred_by),
            replace_call_id: own(&mut self.replace_call_id),
            is_focus: self.is_focus,
            jsep,
        })
    }
}

/// Replays one call log onto the call on its line (`slot`), whose id the line gives.
pub(super) fn replay_log(slot: &mut Option<LineCall>, call_id: &str, log: &CallLog) {
    let mut f = LogFields::default();
    if f.read_flat_first(log.message.get()).is_err() {
        return;
    }
    // A `jsep` must read as the typed reader reads one; a log the scanner checked has
    // no lone surrogate to refuse.
    if !log.message.strings_decode() {
        let jseps = [
            f.jsep.as_ref(),
            f.data.as_ref().and_then(|d| d.jsep.as_ref()),
        ];
        if jseps.into_iter().flatten().any(|j| !j.decodes()) {
            return;
        }
    }
    f.lift_data();
    // The first kind tag decides, as in `Message::from_fields`.
    if f.handshake.is_some() {
        return;
    }
    if let Some(name) = f.request.as_deref() {
        if codec::request_complete(name, f.request_members()) {
            apply_request(slot, call_id, request_step(name, f.refer_id.is_some()));
        }
        return;
    }
    if f.response.is_some() {
        return;
    }
    if let Some(name) = f.event.take() {
        let step = event_step(&name, f.refer_id.is_some());
        let offer = match step {
            EventStep::Offer => match f.offer() {
                Some(offer) => Some(offer),
                None => return,
            },
            _ => None,
        };
        apply_event(slot, call_id, step, || offer.unwrap_or_default());
    }
}
