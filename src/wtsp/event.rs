//! Events (server → client).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::values::{IceCandidate, Jsep, Line};
use crate::RawJson;

/// The fields of `incoming_call` and `updating_call`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallOffer {
    /// Called number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee: Option<String>,
    /// Calling number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// Caller's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_display_name: Option<String>,
    /// Who referred this call (transfers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referred_by: Option<String>,
    /// The call this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_call_id: Option<String>,
    /// Whether the remote is a conference focus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_focus: Option<bool>,
    /// SDP offer; absent when the INVITE had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsep: Option<Jsep>,
}

/// What an event reports, with its type-specific fields. Fields are optional: events are
/// read tolerantly.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// `registering`
    Registering,
    /// `registered`
    Registered {
        /// SIP reason phrase.
        phrase: Option<String>,
    },
    /// `registration_failed`
    RegistrationFailed {
        /// Failure code.
        code: Option<i64>,
        /// Failure reason.
        reason: Option<String>,
    },
    /// `unregistering`
    Unregistering,
    /// `unregistered`
    Unregistered,
    /// `error`: call-level with `line` and `call_id`, line-level with `line` only,
    /// session-level otherwise.
    Error {
        /// Janus SIP plugin code (440–454, 499) or SIP response code.
        code: Option<i64>,
        /// Reason.
        reason: Option<String>,
    },
    /// `ice_trickle`: a remote ICE candidate.
    IceTrickle {
        /// The candidate.
        candidate: IceCandidate,
    },
    /// `ice_webrtcup`
    IceWebrtcup,
    /// `ice_media`
    IceMedia {
        /// `type`: audio or video.
        media_type: Option<String>,
        /// Whether media is flowing.
        receiving: Option<bool>,
        /// Media id.
        mid: Option<String>,
    },
    /// `ice_slowlink`
    IceSlowlink {
        /// audio or video.
        media: Option<String>,
        /// Whether the uplink is affected.
        uplink: Option<bool>,
        /// Packets lost.
        lost: Option<i64>,
        /// Media id.
        mid: Option<String>,
    },
    /// `ice_hangup`
    IceHangup {
        /// Reason.
        reason: Option<String>,
    },
    /// `transfer`: the remote asks this client to call another number.
    Transfer {
        /// Id to quote in the following `outgoing_call` or `decline`.
        refer_id: Option<String>,
        /// Transfer target.
        refer_to: Option<String>,
        /// Who asked.
        referred_by: Option<String>,
        /// The call to replace (attended transfer).
        replace_call_id: Option<String>,
    },
    /// `incoming_call`
    IncomingCall(CallOffer),
    /// `calling`
    Calling,
    /// `proceeding`
    Proceeding {
        /// SIP code.
        code: Option<i64>,
    },
    /// `ringing`
    Ringing,
    /// `progress`: early media.
    Progress {
        /// Called number.
        callee: Option<String>,
        /// SDP answer for early media.
        jsep: Option<Jsep>,
        /// Conference focus.
        is_focus: Option<bool>,
    },
    /// `accepting`
    Accepting,
    /// `accepted`
    Accepted {
        /// SDP answer.
        jsep: Option<Jsep>,
        /// Called number.
        callee: Option<String>,
        /// Conference focus.
        is_focus: Option<bool>,
    },
    /// `declining`
    Declining {
        /// SIP code.
        code: Option<i64>,
        /// The declined transfer.
        refer_id: Option<String>,
    },
    /// `hangingup`
    Hangingup {
        /// SIP code.
        code: Option<i64>,
    },
    /// `hangup`: the call is over.
    Hangup {
        /// SIP code.
        code: Option<i64>,
        /// Reason.
        reason: Option<String>,
    },
    /// `missed_call`
    MissedCall {
        /// Called number.
        callee: Option<String>,
        /// Calling number.
        caller: Option<String>,
        /// Caller's display name.
        caller_display_name: Option<String>,
    },
    /// `holding`
    Holding,
    /// `resuming`
    Resuming,
    /// `transferring`
    Transferring,
    /// `notify`: a SIP NOTIFY (e.g. transfer progress).
    Notify {
        /// Event package.
        notify: Option<String>,
        /// Subscription-State.
        subscription_state: Option<String>,
        /// Content-Type.
        content_type: Option<String>,
        /// Body.
        content: Option<String>,
    },
    /// `updating_call`: the remote re-offers.
    UpdatingCall(CallOffer),
    /// `updating`
    Updating,
    /// `updated`
    Updated,
    /// `number_presence_update`
    NumberPresenceUpdate {
        /// The number.
        number: Option<String>,
        /// Presence, raw.
        presence_info: Option<Value>,
    },
    /// `number_dialogs_update`
    NumberDialogsUpdate {
        /// The number.
        number: Option<String>,
        /// Dialogs, raw.
        dialog_infos: Option<Value>,
    },
    /// An event this library does not know, with the whole message as received.
    Unknown {
        /// Its `event` value.
        name: String,
        /// The whole message, as it was written (written back so, byte for byte).
        raw: RawJson,
    },
}

/// An event, server → client.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The transaction of the request that caused it, if any.
    pub transaction: Option<String>,
    /// The line it is about.
    pub line: Option<Line>,
    /// The call it is about.
    pub call_id: Option<String>,
    /// What happened.
    pub kind: EventKind,
}

impl EventKind {
    /// The event's name on the wire.
    pub fn name(&self) -> &str {
        match self {
            EventKind::Registering => "registering",
            EventKind::Registered { .. } => "registered",
            EventKind::RegistrationFailed { .. } => "registration_failed",
            EventKind::Unregistering => "unregistering",
            EventKind::Unregistered => "unregistered",
            EventKind::Error { .. } => "error",
            EventKind::IceTrickle { .. } => "ice_trickle",
            EventKind::IceWebrtcup => "ice_webrtcup",
            EventKind::IceMedia { .. } => "ice_media",
            EventKind::IceSlowlink { .. } => "ice_slowlink",
            EventKind::IceHangup { .. } => "ice_hangup",
            EventKind::Transfer { .. } => "transfer",
            EventKind::IncomingCall(_) => "incoming_call",
            EventKind::Calling => "calling",
            EventKind::Proceeding { .. } => "proceeding",
            EventKind::Ringing => "ringing",
            EventKind::Progress { .. } => "progress",
            EventKind::Accepting => "accepting",
            EventKind::Accepted { .. } => "accepted",
            EventKind::Declining { .. } => "declining",
            EventKind::Hangingup { .. } => "hangingup",
            EventKind::Hangup { .. } => "hangup",
            EventKind::MissedCall { .. } => "missed_call",
            EventKind::Holding => "holding",
            EventKind::Resuming => "resuming",
            EventKind::Transferring => "transferring",
            EventKind::Notify { .. } => "notify",
            EventKind::UpdatingCall(_) => "updating_call",
            EventKind::Updating => "updating",
            EventKind::Updated => "updated",
            EventKind::NumberPresenceUpdate { .. } => "number_presence_update",
            EventKind::NumberDialogsUpdate { .. } => "number_dialogs_update",
            EventKind::Unknown { name, .. } => name,
        }
    }
}

/// What an `error` event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorLevel {
    /// It has `line` and `call_id`: one call failed.
    Call,
    /// It has `line` only: the line failed.
    Line,
    /// It has neither: the session failed.
    Session,
}

impl Event {
    /// For an `error` event, what it is about; `None` for other events.
    ///
    /// ```
    /// use callsig::wtsp::{ErrorLevel, Message};
    /// let Message::Event(e) = Message::decode(r#"{"event":"error","line":1,"code":499}"#).unwrap() else { panic!() };
    /// assert_eq!(e.error_level(), Some(ErrorLevel::Line));
    /// ```
    pub fn error_level(&self) -> Option<ErrorLevel> {
        match (&self.kind, self.line, &self.call_id) {
            (EventKind::Error { .. }, Some(_), Some(_)) => Some(ErrorLevel::Call),
            (EventKind::Error { .. }, Some(_), None) => Some(ErrorLevel::Line),
            (EventKind::Error { .. }, None, _) => Some(ErrorLevel::Session),
            _ => None,
        }
    }
}
