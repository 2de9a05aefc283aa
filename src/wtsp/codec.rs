//! Reading and writing WTSP messages: conversions between the typed messages and the wire
//! shapes of their kinds, and `Message`'s and `CallLog`'s readers and writers.

use std::borrow::Cow;

use serde_json::Value;

use super::event::{CallOffer, Event, EventKind};
use super::message::{DecodeError, Decoded, Handshake, Message, StateHandshake};
use super::request::{HoldDirection, Request, RequestGroup, RequestKind, Response, ResponseKind};
use super::values::{CallLog, IceCandidate, Jsep, Line};
use super::wire::{EventWire, HandshakeWire, RequestWire, ResponseWire, Wire};
use crate::RawJson;

pub(crate) fn own(v: Option<Cow<'_, str>>) -> Option<String> {
    v.map(Cow::into_owned)
}

pub(crate) fn b(v: &Option<String>) -> Option<Cow<'_, str>> {
    v.as_deref().map(Cow::Borrowed)
}

pub(crate) fn handshake_from(
    name: &str,
    f: &mut HandshakeWire<'_>,
) -> Result<Handshake, DecodeError> {
    let transaction = own(f.transaction.take());
    Ok(match name {
        "state" => Handshake::State(StateHandshake {
            keepalive_interval: f.keepalive_interval,
            timestamp: f.timestamp.unwrap_or(0),
            registration: f.registration.take().map(Cow::into_owned).ok_or_else(|| {
                DecodeError::MissingField {
                    message: name.to_owned(),
                    field: "registration",
                    transaction: None,
                }
            })?,
            lines: f.lines.take().map(Cow::into_owned).unwrap_or_default(),
            guest_line: f.guest_line.take().flatten().map(Cow::into_owned),
            user_active_calls: f.user_active_calls.take().map(|o| o.map(Cow::into_owned)),
            dialog_infos: f.dialog_infos.take().map(Cow::into_owned),
            presence_infos: f.presence_infos.take().map(Cow::into_owned),
        }),
        "keepalive" => Handshake::Keepalive {
            transaction: transaction.ok_or_else(|| DecodeError::MissingField {
                message: name.to_owned(),
                field: "transaction",
                transaction: None,
            })?,
        },
        _ => Handshake::Unknown {
            name: name.to_owned(),
            transaction,
        },
    })
}

pub(crate) fn handshake_to(h: &Handshake) -> HandshakeWire<'_> {
    match h {
        Handshake::State(s) => state_to(s),
        Handshake::Keepalive { transaction } => HandshakeWire {
            handshake: Some(Cow::Borrowed("keepalive")),
            transaction: Some(Cow::Borrowed(transaction)),
            ..HandshakeWire::default()
        },
        Handshake::Unknown { name, transaction } => HandshakeWire {
            handshake: Some(Cow::Borrowed(name)),
            transaction: b(transaction),
            ..HandshakeWire::default()
        },
    }
}

/// Whether a request of kind `name` reads: its transaction, the members its kind requires,
/// a known hold direction, and the `line` and `call_id` its group needs. The rules
/// [`request_from`] builds on, and all the call-log replay asks of a logged request.
pub(crate) fn request_check(name: &str, f: &RequestWire<'_>) -> Result<(), DecodeError> {
    let missing = |field: &'static str| DecodeError::MissingField {
        message: name.to_owned(),
        field,
        transaction: own(f.transaction.clone()),
    };
    if f.transaction.is_none() {
        return Err(missing("transaction"));
    }
    let required: &[(&'static str, bool)] = match name {
        "outgoing_call" => &[("number", f.number.is_some()), ("jsep", f.jsep.is_some())],
        "accept" | "update" => &[("jsep", f.jsep.is_some())],
        "transfer" => &[("number", f.number.is_some())],
        "ice_trickle" => &[("candidate", f.candidate.is_some())],
        "presence_update" => &[("settings", f.settings.is_some())],
        "hold" => {
            if let Some(other) = f
                .direction
                .as_deref()
                .filter(|d| hold_direction(Some(d)).is_none())
            {
                return Err(DecodeError::InvalidField {
                    message: Some(name.to_owned()),
                    detail: format!("hold direction {other:?}"),
                    transaction: own(f.transaction.clone()),
                });
            }
            &[]
        }
        _ => &[],
    };
    if let Some((field, _)) = required.iter().find(|(_, present)| !present) {
        return Err(missing(field));
    }
    let group = RequestKind::group_of(name);
    if group != RequestGroup::Session && f.line.is_none() {
        return Err(missing("line"));
    }
    if group == RequestGroup::Call && f.call_id.is_none() {
        return Err(missing("call_id"));
    }
    Ok(())
}

/// A hold direction by its wire name (absent: `sendonly`); `None` for another name.
fn hold_direction(name: Option<&str>) -> Option<HoldDirection> {
    match name {
        None | Some("sendonly") => Some(HoldDirection::Sendonly),
        Some("recvonly") => Some(HoldDirection::Recvonly),
        Some("inactive") => Some(HoldDirection::Inactive),
        Some(_) => None,
    }
}

/// A request of kind `name`, once [`request_check`] has found that it reads.
pub(crate) fn request_from(name: &str, f: &mut RequestWire<'_>) -> Result<Request, DecodeError> {
    request_check(name, f)?;
    // What the check required is there.
    let need = |v: Option<Cow<'_, str>>| own(v).unwrap_or_default();
    let jsep = |f: &mut RequestWire<'_>| {
        f.jsep
            .take()
            .map_or_else(|| Jsep::offer(""), Cow::into_owned)
    };
    let kind = match name {
        "outgoing_call" => RequestKind::OutgoingCall {
            number: need(f.number.take()),
            jsep: jsep(f),
            from: own(f.from.take()),
            refer_id: own(f.refer_id.take()),
            replaces: own(f.replaces.take()),
        },
        "accept" => RequestKind::Accept { jsep: jsep(f) },
        "decline" => RequestKind::Decline {
            refer_id: own(f.refer_id.take()),
        },
        "hangup" => RequestKind::Hangup,
        "hold" => RequestKind::Hold {
            direction: hold_direction(f.direction.as_deref()).unwrap_or(HoldDirection::Sendonly),
        },
        "unhold" => RequestKind::Unhold,
        "transfer" => RequestKind::Transfer {
            number: need(f.number.take()),
            replace_call_id: own(f.replace_call_id.take()),
        },
        "update" => RequestKind::Update { jsep: jsep(f) },
        "ice_trickle" => RequestKind::IceTrickle {
            candidate: IceCandidate::from_wire(f.candidate.take().unwrap_or(None)),
        },
        "presence_update" => RequestKind::PresenceUpdate {
            settings: f.settings.take().map(Cow::into_owned).unwrap_or_default(),
        },
        _ => RequestKind::Unknown {
            name: name.to_owned(),
        },
    };
    Ok(Request {
        transaction: need(f.transaction.take()),
        line: f.line.map(Line::from_wire),
        call_id: own(f.call_id.take()),
        kind,
    })
}

pub(crate) fn request_to(r: &Request) -> RequestWire<'_> {
    let mut f = RequestWire {
        request: Some(Cow::Borrowed(r.kind.name())),
        transaction: Some(Cow::Borrowed(&r.transaction)),
        line: r.line.map(Line::to_wire),
        call_id: b(&r.call_id),
        ..RequestWire::default()
    };
    match &r.kind {
        RequestKind::OutgoingCall {
            number,
            jsep,
            from,
            refer_id,
            replaces,
        } => {
            f.number = Some(Cow::Borrowed(number));
            f.jsep = Some(Cow::Borrowed(jsep));
            f.from = b(from);
            f.refer_id = b(refer_id);
            f.replaces = b(replaces);
        }
        RequestKind::Accept { jsep } | RequestKind::Update { jsep } => {
            f.jsep = Some(Cow::Borrowed(jsep));
        }
        RequestKind::Decline { refer_id } => f.refer_id = b(refer_id),
        RequestKind::Hold { direction } => f.direction = Some(Cow::Borrowed(direction.as_str())),
        RequestKind::Transfer {
            number,
            replace_call_id,
        } => {
            f.number = Some(Cow::Borrowed(number));
            f.replace_call_id = b(replace_call_id);
        }
        RequestKind::IceTrickle { candidate } => f.candidate = Some(candidate.to_wire()),
        RequestKind::PresenceUpdate { settings } => f.settings = Some(Cow::Borrowed(settings)),
        RequestKind::Hangup | RequestKind::Unhold | RequestKind::Unknown { .. } => {}
    }
    f
}

/// A response's kind from its `response` name and, for an error, its code and reason.
pub(crate) fn response_kind(
    name: &str,
    code: Option<i64>,
    reason: Option<Cow<'_, str>>,
) -> ResponseKind {
    match name {
        "ack" => ResponseKind::Ack,
        // Tolerant: an error without code or reason is still an error.
        "error" => ResponseKind::Error {
            code: code.unwrap_or(0),
            reason: own(reason).unwrap_or_default(),
        },
        _ => ResponseKind::Unknown {
            name: name.to_owned(),
        },
    }
}

pub(crate) fn response_from(name: &str, f: &mut ResponseWire<'_>) -> Result<Response, DecodeError> {
    let transaction = own(f.transaction.take()).ok_or_else(|| DecodeError::MissingField {
        message: name.to_owned(),
        field: "transaction",
        transaction: None,
    })?;
    let kind = response_kind(name, f.code, f.reason.take());
    Ok(Response {
        transaction,
        line: f.line.map(Line::from_wire),
        call_id: own(f.call_id.take()),
        kind,
    })
}

pub(crate) fn response_to(r: &Response) -> ResponseWire<'_> {
    let mut f = ResponseWire {
        transaction: Some(Cow::Borrowed(&r.transaction)),
        line: r.line.map(Line::to_wire),
        call_id: b(&r.call_id),
        ..ResponseWire::default()
    };
    match &r.kind {
        ResponseKind::Ack => f.response = Some(Cow::Borrowed("ack")),
        ResponseKind::Error { code, reason } => {
            f.response = Some(Cow::Borrowed("error"));
            f.code = Some(*code);
            f.reason = Some(Cow::Borrowed(reason));
        }
        ResponseKind::Unknown { name } => f.response = Some(Cow::Borrowed(name)),
    }
    f
}

pub(crate) fn offer_from(f: &mut EventWire<'_>) -> CallOffer {
    CallOffer {
        callee: own(f.callee.take()),
        caller: own(f.caller.take()),
        caller_display_name: own(f.caller_display_name.take()),
        referred_by: own(f.referred_by.take()),
        replace_call_id: own(f.replace_call_id.take()),
        is_focus: f.is_focus,
        jsep: f.jsep.take().map(Cow::into_owned),
    }
}

fn offer_to<'a>(f: &mut EventWire<'a>, o: &'a CallOffer) {
    f.callee = b(&o.callee);
    f.caller = b(&o.caller);
    f.caller_display_name = b(&o.caller_display_name);
    f.referred_by = b(&o.referred_by);
    f.replace_call_id = b(&o.replace_call_id);
    f.is_focus = o.is_focus;
    f.jsep = o.jsep.as_ref().map(Cow::Borrowed);
}

pub(crate) fn event_from(
    name: &str,
    f: &mut EventWire<'_>,
    raw: impl FnOnce() -> RawJson,
) -> Event {
    let kind = match name {
        "registering" => EventKind::Registering,
        "registered" => EventKind::Registered {
            phrase: own(f.phrase.take()),
        },
        "registration_failed" => EventKind::RegistrationFailed {
            code: f.code,
            reason: own(f.reason.take()),
        },
        "unregistering" => EventKind::Unregistering,
        "unregistered" => EventKind::Unregistered,
        "error" => EventKind::Error {
            code: f.code,
            reason: own(f.reason.take()),
        },
        "ice_trickle" => EventKind::IceTrickle {
            candidate: IceCandidate::from_wire(f.candidate.take().flatten()),
        },
        "ice_webrtcup" => EventKind::IceWebrtcup,
        "ice_media" => EventKind::IceMedia {
            media_type: own(f.media_type.take()),
            receiving: f.receiving,
            mid: own(f.mid.take()),
        },
        "ice_slowlink" => EventKind::IceSlowlink {
            media: own(f.media.take()),
            uplink: f.uplink,
            lost: f.lost,
            mid: own(f.mid.take()),
        },
        "ice_hangup" => EventKind::IceHangup {
            reason: own(f.reason.take()),
        },
        "transfer" => EventKind::Transfer {
            refer_id: own(f.refer_id.take()),
            refer_to: own(f.refer_to.take()),
            referred_by: own(f.referred_by.take()),
            replace_call_id: own(f.replace_call_id.take()),
        },
        "incoming_call" => EventKind::IncomingCall(offer_from(f)),
        "calling" => EventKind::Calling,
        "proceeding" => EventKind::Proceeding { code: f.code },
        "ringing" => EventKind::Ringing,
        "progress" => EventKind::Progress {
            callee: own(f.callee.take()),
            jsep: f.jsep.take().map(Cow::into_owned),
            is_focus: f.is_focus,
        },
        "accepting" => EventKind::Accepting,
        "accepted" => EventKind::Accepted {
            jsep: f.jsep.take().map(Cow::into_owned),
            callee: own(f.callee.take()),
            is_focus: f.is_focus,
        },
        "declining" => EventKind::Declining {
            code: f.code,
            refer_id: own(f.refer_id.take()),
        },
        "hangingup" => EventKind::Hangingup { code: f.code },
        "hangup" => EventKind::Hangup {
            code: f.code,
            reason: own(f.reason.take()),
        },
        "missed_call" => EventKind::MissedCall {
            callee: own(f.callee.take()),
            caller: own(f.caller.take()),
            caller_display_name: own(f.caller_display_name.take()),
        },
        "holding" => EventKind::Holding,
        "resuming" => EventKind::Resuming,
        "transferring" => EventKind::Transferring,
        "notify" => EventKind::Notify {
            notify: own(f.notify.take()),
            subscription_state: own(f.subscription_state.take()),
            content_type: own(f.content_type.take()),
            content: own(f.content.take()),
        },
        "updating_call" => EventKind::UpdatingCall(offer_from(f)),
        "updating" => EventKind::Updating,
        "updated" => EventKind::Updated,
        "number_presence_update" => EventKind::NumberPresenceUpdate {
            number: own(f.number.take()),
            presence_info: f.presence_info.take().map(Cow::into_owned),
        },
        "number_dialogs_update" => EventKind::NumberDialogsUpdate {
            number: own(f.number.take()),
            dialog_infos: f.dialog_infos.take().map(Cow::into_owned),
        },
        _ => EventKind::Unknown {
            raw: raw(),
            name: name.to_owned(),
        },
    };
    Event {
        transaction: own(f.transaction.take()),
        line: f.line.map(Line::from_wire),
        call_id: own(f.call_id.take()),
        kind,
    }
}

pub(crate) fn event_to(e: &Event) -> EventWire<'_> {
    let mut f = EventWire {
        event: Some(Cow::Borrowed(e.kind.name())),
        transaction: b(&e.transaction),
        line: e.line.map(Line::to_wire),
        call_id: b(&e.call_id),
        ..EventWire::default()
    };
    match &e.kind {
        EventKind::Registered { phrase } => f.phrase = b(phrase),
        EventKind::RegistrationFailed { code, reason }
        | EventKind::Error { code, reason }
        | EventKind::Hangup { code, reason } => {
            f.code = *code;
            f.reason = b(reason);
        }
        EventKind::IceTrickle { candidate } => f.candidate = Some(candidate.to_wire()),
        EventKind::IceMedia {
            media_type,
            receiving,
            mid,
        } => {
            f.media_type = b(media_type);
            f.receiving = *receiving;
            f.mid = b(mid);
        }
        EventKind::IceSlowlink {
            media,
            uplink,
            lost,
            mid,
        } => {
            f.media = b(media);
            f.uplink = *uplink;
            f.lost = *lost;
            f.mid = b(mid);
        }
        EventKind::IceHangup { reason } => f.reason = b(reason),
        EventKind::Transfer {
            refer_id,
            refer_to,
            referred_by,
            replace_call_id,
        } => {
            f.refer_id = b(refer_id);
            f.refer_to = b(refer_to);
            f.referred_by = b(referred_by);
            f.replace_call_id = b(replace_call_id);
        }
        EventKind::IncomingCall(o) | EventKind::UpdatingCall(o) => offer_to(&mut f, o),
        EventKind::Proceeding { code } | EventKind::Hangingup { code } => f.code = *code,
        EventKind::Progress {
            callee,
            jsep,
            is_focus,
        }
        | EventKind::Accepted {
            jsep,
            callee,
            is_focus,
        } => {
            f.callee = b(callee);
            f.jsep = jsep.as_ref().map(Cow::Borrowed);
            f.is_focus = *is_focus;
        }
        EventKind::Declining { code, refer_id } => {
            f.code = *code;
            f.refer_id = b(refer_id);
        }
        EventKind::MissedCall {
            callee,
            caller,
            caller_display_name,
        } => {
            f.callee = b(callee);
            f.caller = b(caller);
            f.caller_display_name = b(caller_display_name);
        }
        EventKind::Notify {
            notify,
            subscription_state,
            content_type,
            content,
        } => {
            f.notify = b(notify);
            f.subscription_state = b(subscription_state);
            f.content_type = b(content_type);
            f.content = b(content);
        }
        EventKind::NumberPresenceUpdate {
            number,
            presence_info,
        } => {
            f.number = b(number);
            f.presence_info = presence_info.as_ref().map(Cow::Borrowed);
        }
        EventKind::NumberDialogsUpdate {
            number,
            dialog_infos,
        } => {
            f.number = b(number);
            f.dialog_infos = dialog_infos.as_ref().map(Cow::Borrowed);
        }
        EventKind::Registering
        | EventKind::Unregistering
        | EventKind::Unregistered
        | EventKind::IceWebrtcup
        | EventKind::Calling
        | EventKind::Ringing
        | EventKind::Accepting
        | EventKind::Holding
        | EventKind::Resuming
        | EventKind::Transferring
        | EventKind::Updating
        | EventKind::Updated
        | EventKind::Unknown { .. } => {}
    }
    f
}

pub(crate) fn state_to(s: &StateHandshake) -> HandshakeWire<'_> {
    HandshakeWire {
        handshake: Some(Cow::Borrowed("state")),
        keepalive_interval: s.keepalive_interval,
        timestamp: Some(s.timestamp),
        registration: Some(Cow::Borrowed(&s.registration)),
        lines: Some(Cow::Borrowed(&s.lines)),
        guest_line: s.guest_line.as_ref().map(|g| Some(Cow::Borrowed(g))),
        user_active_calls: s
            .user_active_calls
            .as_ref()
            .map(|o| o.as_deref().map(Cow::Borrowed)),
        dialog_infos: s.dialog_infos.as_ref().map(Cow::Borrowed),
        presence_infos: s.presence_infos.as_ref().map(Cow::Borrowed),
        ..HandshakeWire::default()
    }
}

/// The wire types serialise as their wire JSON, so events and checkpoints that carry them
/// read like the protocol.
macro_rules! serde_as_wire {
    ($ty:ty, $variant:pat => $inner:ident, $what:literal, |$v:ident| $to:expr) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let $v = self;
                $to.serialize(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = Value::deserialize(d)?;
                match Message::decode(&value.to_string()) {
                    Ok($variant) => Ok($inner),
                    Ok(_) => Err(serde::de::Error::custom(concat!("not ", $what))),
                    Err(e) => Err(serde::de::Error::custom(e)),
                }
            }
        }
    };
}

/// Either the event's fields or, for an unknown event, its raw JSON.
// A short-lived stack value: boxing the large variant would cost an allocation per write.
#[allow(clippy::large_enum_variant)]
enum EventOut<'a> {
    Wire(EventWire<'a>),
    Raw(&'a RawJson),
}

impl serde::Serialize for EventOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EventOut::Wire(f) => f.serialize(s),
            EventOut::Raw(v) => v.serialize(s),
        }
    }
}

pub(crate) fn event_wire(e: &Event) -> impl serde::Serialize + '_ {
    match &e.kind {
        EventKind::Unknown { raw, .. } => EventOut::Raw(raw),
        _ => EventOut::Wire(event_to(e)),
    }
}

serde_as_wire!(Event, Message::Event(x) => x, "an event", |v| event_wire(v));
serde_as_wire!(Request, Message::Request(x) => x, "a request", |v| request_to(v));
serde_as_wire!(Response, Message::Response(x) => x, "a response", |v| response_to(v));
serde_as_wire!(StateHandshake, Message::Handshake(Handshake::State(x)) => x, "a state handshake", |v| state_to(v));

impl Message {
    /// Reads one text frame.
    pub fn decode(text: &str) -> Result<Message, DecodeError> {
        let raw = || RawJson::new(text).unwrap_or_else(|| RawJson::from_value(&Value::Null));
        match Wire::read(text, |w| Self::from_wire(w, raw)) {
            Ok(Some(m)) => m,
            Ok(None) => Err(DecodeError::UnknownKind),
            Err(e) => Err(Self::classify_error(text, e)),
        }
    }

    /// Reads a frame, first offering it (borrowed, in its kind's struct) to `take`; a
    /// frame `take` declines (`None`) is decoded as [`Message::decode`] decodes it.
    pub(crate) fn decode_with<T>(
        text: &str,
        mut take: impl FnMut(&mut Wire<'_, '_>) -> Option<T>,
    ) -> Decoded<T> {
        let raw = || RawJson::new(text).unwrap_or_else(|| RawJson::from_value(&Value::Null));
        match Wire::read(text, |mut w| match take(&mut w) {
            Some(t) => Decoded::Taken(t),
            None => Decoded::Message(Self::from_wire(w, raw)),
        }) {
            Ok(Some(read)) => read,
            Ok(None) => Decoded::Message(Err(DecodeError::UnknownKind)),
            Err(e) => Decoded::Message(Err(Self::classify_error(text, e))),
        }
    }

    /// Reads a frame as a server does: a keepalive is only recognised (the server echoes
    /// the frame as it came, so nothing of it needs copying); anything else is decoded.
    pub(crate) fn decode_at_server(text: &str) -> Result<Option<Message>, DecodeError> {
        let raw = || RawJson::new(text).unwrap_or_else(|| RawJson::from_value(&Value::Null));
        let read = Wire::read(text, |w| match w {
            Wire::Handshake(h)
                if h.handshake.as_deref() == Some("keepalive") && h.transaction.is_some() =>
            {
                Ok(None)
            }
            w => Self::from_wire(w, raw).map(Some),
        });
        match read {
            Ok(Some(m)) => m,
            Ok(None) => Err(DecodeError::UnknownKind),
            Err(e) => Err(Self::classify_error(text, e)),
        }
    }

    /// A frame that did not fit its kind's shape: tell "not JSON" and "not an object" apart from
    /// "a field of the wrong type", and keep the transaction for the latter so a server can
    /// answer it. This path re-reads the frame as a tree, which only bad input pays for.
    fn classify_error(text: &str, e: serde_json::Error) -> DecodeError {
        match serde_json::from_str::<Value>(text) {
            Err(e) => DecodeError::NotJson(crate::json::error_text(&e)),
            Ok(Value::Object(map)) => {
                let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
                let transaction = text("transaction");
                let message = ["request", "event", "response", "handshake"]
                    .into_iter()
                    .find_map(text);
                DecodeError::InvalidField {
                    message,
                    detail: crate::json::error_text(&e),
                    transaction,
                }
            }
            Ok(_) => DecodeError::NotAnObject,
        }
    }

    fn from_wire(
        wire: Wire<'_, '_>,
        raw: impl FnOnce() -> RawJson,
    ) -> Result<Message, DecodeError> {
        // The kind tag is taken out (still borrowed from the frame) so the typed message
        // can be built from the rest without copying the name.
        Ok(match wire {
            Wire::Handshake(f) => {
                let name = f.handshake.take().unwrap_or_default();
                Message::Handshake(handshake_from(&name, f)?)
            }
            Wire::Request(f) => {
                let name = f.request.take().unwrap_or_default();
                Message::Request(request_from(&name, f)?)
            }
            Wire::Response(f) => {
                let name = f.response.take().unwrap_or_default();
                Message::Response(response_from(&name, f)?)
            }
            Wire::Event(f) => {
                let name = f.event.take().unwrap_or_default();
                Message::Event(event_from(&name, f, raw))
            }
        })
    }

    /// Writes the message as compact JSON.
    pub fn encode(&self) -> String {
        let mut buf = Vec::with_capacity(128);
        self.encode_into(&mut buf);
        // serde_json writes only valid UTF-8.
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Appends the message as compact JSON to `buf`, so a caller can reuse one buffer.
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        // Writing plain data into a Vec cannot fail.
        let _ = match self {
            // An event we do not know is passed on as it came.
            Message::Event(e) => serde_json::to_writer(buf, &event_wire(e)),
            Message::Handshake(h) => serde_json::to_writer(buf, &handshake_to(h)),
            Message::Request(r) => serde_json::to_writer(buf, &request_to(r)),
            Message::Response(r) => serde_json::to_writer(buf, &response_to(r)),
        };
    }
}

impl CallLog {
    /// Reads the logged message as a typed message, with the `line` and `call_id` it was
    /// logged under put back (logs leave them out, and call requests need them).
    pub fn decode(&self, line: Line, call_id: &str) -> Result<Message, DecodeError> {
        let read = self.read_wire(line, call_id, |wire| {
            Message::from_wire(wire, || self.message.clone())
        });
        match read {
            Ok(Some(m)) => m,
            Ok(None) => Err(DecodeError::UnknownKind),
            Err(e) if self.message.get().trim_start().starts_with('{') => {
                Err(DecodeError::InvalidField {
                    message: None,
                    detail: crate::json::error_text(&e),
                    transaction: None,
                })
            }
            Err(_) => Err(DecodeError::NotAnObject),
        }
    }

    /// Reads the logged message's wire shape, borrowed from its text, with the `line` and
    /// `call_id` it was logged under put back, and lends it to `then`: [`CallLog::decode`]
    /// and the line model's replay read logs alike through it.
    pub(crate) fn read_wire<'a, R>(
        &'a self,
        line: Line,
        call_id: &'a str,
        mut then: impl FnMut(Wire<'_, 'a>) -> R,
    ) -> serde_json::Result<Option<R>> {
        let line = Some(match line {
            Line::Index(i) => Some(i),
            Line::Guest => None,
        });
        Wire::read(self.message.get(), |mut wire| {
            let (l, c) = match &mut wire {
                Wire::Handshake(_) => (&mut None, &mut None),
                Wire::Request(w) => (&mut w.line, &mut w.call_id),
                Wire::Response(w) => (&mut w.line, &mut w.call_id),
                Wire::Event(w) => (&mut w.line, &mut w.call_id),
            };
            if l.is_none() {
                *l = line;
            }
            if c.is_none() {
                *c = Some(Cow::Borrowed(call_id));
            }
            then(wire)
        })
    }
}
