//! Requests (client → server) and responses (server → client).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::values::{IceCandidate, Jsep, Line};

/// Hold direction for `hold`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldDirection {
    /// `sendonly` (the default).
    #[default]
    Sendonly,
    /// `recvonly`
    Recvonly,
    /// `inactive`
    Inactive,
}

impl HoldDirection {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HoldDirection::Sendonly => "sendonly",
            HoldDirection::Recvonly => "recvonly",
            HoldDirection::Inactive => "inactive",
        }
    }
}

/// What a request asks for, with its type-specific fields.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RequestKind {
    /// `outgoing_call`: place a call.
    OutgoingCall {
        /// Number to call.
        number: String,
        /// SDP offer.
        jsep: Jsep,
        /// Caller identity (guest line only).
        from: Option<String>,
        /// The `refer_id` of the `transfer` event this call follows.
        refer_id: Option<String>,
        /// The call this one replaces.
        replaces: Option<String>,
    },
    /// `accept`: answer an incoming call.
    Accept {
        /// SDP answer.
        jsep: Jsep,
    },
    /// `decline`: refuse an incoming call, or a transfer.
    Decline {
        /// Declines the transfer with this id.
        refer_id: Option<String>,
    },
    /// `hangup`: end the call.
    Hangup,
    /// `hold`
    Hold {
        /// Media direction while held.
        direction: HoldDirection,
    },
    /// `unhold`
    Unhold,
    /// `transfer`: blind, or attended with `replace_call_id`.
    Transfer {
        /// Transfer target.
        number: String,
        /// The call to replace (attended transfer).
        replace_call_id: Option<String>,
    },
    /// `update`: a new offer, or the answer to `updating_call`.
    Update {
        /// SDP.
        jsep: Jsep,
    },
    /// `ice_trickle`: a local ICE candidate.
    IceTrickle {
        /// The candidate.
        candidate: IceCandidate,
    },
    /// `presence_update`
    PresenceUpdate {
        /// Presence settings, kept raw.
        settings: Value,
    },
    /// A request this library does not know (a server answers it with `error` 453).
    Unknown {
        /// Its `request` value.
        name: String,
    },
}

/// The group a request belongs to, which decides which of `line` and `call_id` it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestGroup {
    /// Needs `line` and `call_id`.
    Call,
    /// Needs `line`; `call_id` optional.
    Line,
    /// Needs neither.
    Session,
}

impl RequestKind {
    /// The request's name on the wire.
    pub fn name(&self) -> &str {
        self.catalog_name().unwrap_or_else(|| match self {
            RequestKind::Unknown { name } => name,
            _ => "",
        })
    }

    /// The name, without a copy unless the request is not in the catalog.
    pub(crate) fn name_cow(&self) -> std::borrow::Cow<'static, str> {
        match self.catalog_name() {
            Some(name) => name.into(),
            None => self.name().to_owned().into(),
        }
    }

    fn catalog_name(&self) -> Option<&'static str> {
        Some(match self {
            RequestKind::OutgoingCall { .. } => "outgoing_call",
            RequestKind::Accept { .. } => "accept",
            RequestKind::Decline { .. } => "decline",
            RequestKind::Hangup => "hangup",
            RequestKind::Hold { .. } => "hold",
            RequestKind::Unhold => "unhold",
            RequestKind::Transfer { .. } => "transfer",
            RequestKind::Update { .. } => "update",
            RequestKind::IceTrickle { .. } => "ice_trickle",
            RequestKind::PresenceUpdate { .. } => "presence_update",
            RequestKind::Unknown { .. } => return None,
        })
    }

    /// The request's group.
    pub fn group(&self) -> RequestGroup {
        match self {
            RequestKind::Unknown { .. } => RequestGroup::Session,
            known => Self::group_of(known.name()),
        }
    }

    /// The group of the request named `name` (a name not in the catalog: a session
    /// request).
    pub(crate) fn group_of(name: &str) -> RequestGroup {
        match name {
            "ice_trickle" => RequestGroup::Line,
            "outgoing_call" | "accept" | "decline" | "hangup" | "hold" | "unhold" | "transfer"
            | "update" => RequestGroup::Call,
            _ => RequestGroup::Session,
        }
    }
}

/// A request, client → server.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Transaction id (`transaction-<digits>` from this library's client).
    pub transaction: String,
    /// The line; `None` when absent (session requests).
    pub line: Option<Line>,
    /// The call, for call requests (optional for `ice_trickle`).
    pub call_id: Option<String>,
    /// What is asked.
    pub kind: RequestKind,
}

/// What a response says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseKind {
    /// `ack`
    Ack,
    /// `error` with `code` and `reason`.
    Error {
        /// Error code.
        code: i64,
        /// Error reason.
        reason: String,
    },
    /// A response type this library does not know.
    Unknown {
        /// Its `response` value.
        name: String,
    },
}

/// A response, server → client: the answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The request's transaction.
    pub transaction: String,
    /// Echoed from the request.
    pub line: Option<Line>,
    /// Echoed from the request.
    pub call_id: Option<String>,
    /// Ack or error.
    pub kind: ResponseKind,
}
