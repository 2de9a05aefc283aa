//! The Call API catalog: the seven commands with typed parameters, and the typed events
//! of their lifecycles.

use serde::{Deserialize, Serialize};

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::json::{self, Lenient};

/// Which party of a dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Leg {
    /// `caller`
    Caller,
    /// `callee`
    Callee,
}

impl Leg {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Caller => "caller",
            Leg::Callee => "callee",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Leg> {
        match s {
            "caller" => Some(Leg::Caller),
            "callee" => Some(Leg::Callee),
            _ => None,
        }
    }
}

/// The members of a call event's `data`, each read tolerantly (another type reads as
/// absent).
#[derive(Default, Deserialize)]
#[serde(default)]
struct DataFields<'a> {
    #[serde(borrow, deserialize_with = "json::lenient_str")]
    caller: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "json::lenient_str")]
    callee: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "json::lenient_str")]
    callid: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "json::lenient_str")]
    destination: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "json::lenient_str")]
    extra: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "json::lenient_str")]
    leg: Option<Cow<'a, str>>,
}

/// The params the catalog's call commands take, each as sent (a string or another value,
/// which the command refuses); members the catalog does not name are ignored.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct Params<'a> {
    #[serde(borrow, deserialize_with = "json::present")]
    callee: Option<Lenient<'a>>,
    #[serde(borrow, deserialize_with = "json::present")]
    caller: Option<Lenient<'a>>,
    #[serde(borrow, deserialize_with = "json::present")]
    callid: Option<Lenient<'a>>,
    #[serde(rename = "callidA", borrow, deserialize_with = "json::present")]
    callid_a: Option<Lenient<'a>>,
    #[serde(rename = "callidB", borrow, deserialize_with = "json::present")]
    callid_b: Option<Lenient<'a>>,
    #[serde(borrow, deserialize_with = "json::present")]
    cmd_id: Option<Lenient<'a>>,
    #[serde(borrow, deserialize_with = "json::present")]
    destination: Option<Lenient<'a>>,
    #[serde(borrow, deserialize_with = "json::present")]
    leg: Option<Lenient<'a>>,
    #[serde(rename = "legA", borrow, deserialize_with = "json::present")]
    leg_a: Option<Lenient<'a>>,
    #[serde(rename = "legB", borrow, deserialize_with = "json::present")]
    leg_b: Option<Lenient<'a>>,
}

impl<'a> Params<'a> {
    /// Reads a params object.
    pub(crate) fn read(text: &'a str) -> Result<Self, ParamError> {
        json::from_object(text).map_err(|e| {
            if text.trim_start().starts_with('{') {
                ParamError::Unreadable(json::error_text(&e))
            } else {
                ParamError::NotAnObject
            }
        })
    }

    /// The `cmd_id` given: `Ok(None)` when absent, an error when not a non-empty string.
    pub(crate) fn cmd_id(&mut self) -> Result<Option<Cow<'a, str>>, ()> {
        match self.cmd_id.take() {
            None => Ok(None),
            Some(Lenient::Str(s)) if !s.is_empty() => Ok(Some(s)),
            Some(_) => Err(()),
        }
    }

    /// The call command `method` (one of the catalog's, not `Echo`) names.
    pub(crate) fn command(self, method: &str) -> Result<Command, ParamError> {
        // All param values of the call commands are strings; checked in name order.
        let members = [
            ("callee", &self.callee),
            ("caller", &self.caller),
            ("callid", &self.callid),
            ("callidA", &self.callid_a),
            ("callidB", &self.callid_b),
            ("cmd_id", &self.cmd_id),
            ("destination", &self.destination),
            ("leg", &self.leg),
            ("legA", &self.leg_a),
            ("legB", &self.leg_b),
        ];
        if let Some((name, _)) = members
            .iter()
            .find(|(_, v)| matches!(v, Some(Lenient::Other)))
        {
            return Err(ParamError::NotAString((*name).to_owned()));
        }
        let text = |v: Option<Lenient<'a>>, name: &'static str| match v.and_then(Lenient::str) {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ParamError::Missing(name)),
        };
        let s = |v, name| text(v, name).map(Cow::into_owned);
        let leg =
            |v, name: &'static str| Leg::parse(&text(v, name)?).ok_or(ParamError::BadLeg(name));
        Ok(match method {
            "CallStart" => Command::CallStart {
                caller: s(self.caller, "caller")?,
                callee: s(self.callee, "callee")?,
            },
            "CallBlindTransfer" => Command::CallBlindTransfer {
                callid: s(self.callid, "callid")?,
                leg: leg(self.leg, "leg")?,
                destination: s(self.destination, "destination")?,
            },
            "CallAttendedTransfer" => Command::CallAttendedTransfer {
                callid_a: s(self.callid_a, "callidA")?,
                leg_a: leg(self.leg_a, "legA")?,
                callid_b: s(self.callid_b, "callidB")?,
                leg_b: leg(self.leg_b, "legB")?,
            },
            "CallHold" => Command::CallHold {
                callid: s(self.callid, "callid")?,
            },
            "CallUnhold" => Command::CallUnhold {
                callid: s(self.callid, "callid")?,
            },
            _ => Command::CallEnd {
                callid: s(self.callid, "callid")?,
            },
        })
    }
}

/// A Call API command with its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method")]
#[non_exhaustive]
pub enum Command {
    /// Call `caller`, then connect them to `callee`.
    CallStart {
        /// SIP URI of the first party.
        caller: String,
        /// SIP URI of the second party.
        callee: String,
    },
    /// Transfer one leg of a dialog to a new destination.
    CallBlindTransfer {
        /// SIP Call-ID of the dialog.
        callid: String,
        /// The party to transfer.
        leg: Leg,
        /// SIP URI of the transfer target.
        destination: String,
    },
    /// Join a leg of one dialog to a leg of another.
    CallAttendedTransfer {
        /// SIP Call-ID of dialog #1.
        #[serde(rename = "callidA")]
        callid_a: String,
        /// The party of dialog #1.
        #[serde(rename = "legA")]
        leg_a: Leg,
        /// SIP Call-ID of dialog #2.
        #[serde(rename = "callidB")]
        callid_b: String,
        /// The party of dialog #2.
        #[serde(rename = "legB")]
        leg_b: Leg,
    },
    /// Put both legs of a dialog on hold.
    CallHold {
        /// SIP Call-ID of the dialog.
        callid: String,
    },
    /// Resume both legs of a dialog.
    CallUnhold {
        /// SIP Call-ID of the dialog.
        callid: String,
    },
    /// End a dialog.
    CallEnd {
        /// SIP Call-ID of the dialog.
        callid: String,
    },
    /// Answered with `Reply` carrying the params as received.
    Echo {
        /// Any params.
        params: Value,
    },
}

/// A method name, without a copy when it is the catalog's.
pub(crate) fn method_name(method: &str) -> std::borrow::Cow<'static, str> {
    match METHODS.iter().find(|m| **m == method) {
        Some(m) => std::borrow::Cow::Borrowed(m),
        None => method.to_owned().into(),
    }
}

/// The progress events whose `data` members the catalog types (read by
/// [`CallEvent::from_fields`]); `Reply` and unknown events keep their data as a value.
const TYPED_EVENTS: [&str; 12] = [
    "CallerAnswered",
    "Transferring",
    "TransferStart",
    "TransferPending",
    "CalleeAnswered",
    "TransferSuccessful",
    "CallHolding",
    "CallHoldStart",
    "CallHoldSuccessful",
    "CallUnholding",
    "CallUnholdStart",
    "CallUnholdSuccessful",
];

/// The method names, in the catalog's order.
pub const METHODS: [&str; 7] = [
    "CallStart",
    "CallBlindTransfer",
    "CallAttendedTransfer",
    "CallHold",
    "CallUnhold",
    "CallEnd",
    "Echo",
];

/// Why a command's params were refused (the server answers -32602 with this text).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// Params were an array, or not given where the command needs some.
    #[error("params must be an object")]
    NotAnObject,
    /// A required param is missing or empty.
    #[error("missing parameter {0}")]
    Missing(&'static str),
    /// A param is not a string.
    #[error("parameter {0} must be a string")]
    NotAString(String),
    /// A `leg` param is neither `caller` nor `callee`.
    #[error("parameter {0} must be caller or callee")]
    BadLeg(&'static str),
    /// The params object could not be read (a repeated member, say).
    #[error("params unreadable: {0}")]
    Unreadable(String),
}

impl Command {
    /// The method name.
    pub fn method(&self) -> &'static str {
        match self {
            Command::CallStart { .. } => "CallStart",
            Command::CallBlindTransfer { .. } => "CallBlindTransfer",
            Command::CallAttendedTransfer { .. } => "CallAttendedTransfer",
            Command::CallHold { .. } => "CallHold",
            Command::CallUnhold { .. } => "CallUnhold",
            Command::CallEnd { .. } => "CallEnd",
            Command::Echo { .. } => "Echo",
        }
    }

    /// Reads a command from its method and params (without `cmd_id`, which the caller
    /// takes out first). `None` for an unknown method.
    pub fn from_params(
        method: &str,
        params: Option<&Value>,
    ) -> Option<Result<Command, ParamError>> {
        if !METHODS.contains(&method) {
            return None;
        }
        Some(Self::read(method, params))
    }

    fn read(method: &str, params: Option<&Value>) -> Result<Command, ParamError> {
        if method == "Echo" {
            let mut echoed = match params {
                None => Map::new(),
                Some(Value::Object(m)) => m.clone(),
                Some(_) => return Err(ParamError::NotAnObject),
            };
            echoed.remove("cmd_id");
            return Ok(Command::Echo {
                params: Value::Object(echoed),
            });
        }
        let p = match params {
            None => Params::default(),
            Some(v @ Value::Object(_)) => {
                Params::deserialize(v).map_err(|e| ParamError::Unreadable(json::error_text(&e)))?
            }
            Some(_) => return Err(ParamError::NotAnObject),
        };
        p.command(method)
    }

    /// The params object, with `cmd_id` when given.
    pub fn to_params(&self, cmd_id: Option<&str>) -> Value {
        let mut map = Map::new();
        let mut put = |k: &str, v: &str| {
            map.insert(k.to_owned(), Value::String(v.to_owned()));
        };
        match self {
            Command::CallStart { caller, callee } => {
                put("caller", caller);
                put("callee", callee);
            }
            Command::CallBlindTransfer {
                callid,
                leg,
                destination,
            } => {
                put("callid", callid);
                put("leg", leg.as_str());
                put("destination", destination);
            }
            Command::CallAttendedTransfer {
                callid_a,
                leg_a,
                callid_b,
                leg_b,
            } => {
                put("callidA", callid_a);
                put("legA", leg_a.as_str());
                put("callidB", callid_b);
                put("legB", leg_b.as_str());
            }
            Command::CallHold { callid }
            | Command::CallUnhold { callid }
            | Command::CallEnd { callid } => put("callid", callid),
            Command::Echo { params } => {
                if let Value::Object(m) = params {
                    map.extend(m.clone());
                }
            }
        }
        if let Some(id) = cmd_id {
            map.insert("cmd_id".into(), Value::String(id.to_owned()));
        }
        Value::Object(map)
    }
}

/// A progress event of a command, typed where the catalog knows it. Fields are optional:
/// events are read tolerantly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event")]
#[non_exhaustive]
pub enum CallEvent {
    /// CallStart: the caller answered.
    CallerAnswered {
        /// The caller.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<String>,
        /// The callee reached next.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        callee: Option<String>,
    },
    /// The transfer was accepted (CallStart: the caller is reaching the callee).
    Transferring {
        /// The caller (CallStart).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<String>,
        /// The destination.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination: Option<String>,
    },
    /// The new call started.
    TransferStart {
        /// Call-ID of the new call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        callid: Option<String>,
        /// The caller (CallStart).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<String>,
        /// The callee (CallStart).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        callee: Option<String>,
        /// The destination (transfers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination: Option<String>,
    },
    /// Provisional information about the new call.
    TransferPending {
        /// Call-ID of the new call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        callid: Option<String>,
        /// The caller (CallStart).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<String>,
        /// The callee (CallStart).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        callee: Option<String>,
        /// The destination (transfers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination: Option<String>,
        /// A SIP status fragment such as `180 Ringing`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra: Option<String>,
    },
    /// CallStart: the callee answered.
    CalleeAnswered {
        /// Call-ID of the new call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        callid: Option<String>,
        /// The caller.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<String>,
        /// The callee.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        callee: Option<String>,
    },
    /// A transfer completed.
    TransferSuccessful {
        /// Call-ID of the new call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        callid: Option<String>,
        /// The destination.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        destination: Option<String>,
    },
    /// CallHold received.
    CallHolding,
    /// Hold sent to a leg.
    CallHoldStart {
        /// The leg.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leg: Option<String>,
    },
    /// A leg is held.
    CallHoldSuccessful {
        /// The leg.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leg: Option<String>,
    },
    /// CallUnhold received.
    CallUnholding,
    /// Resume sent to a leg.
    CallUnholdStart {
        /// The leg.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leg: Option<String>,
    },
    /// A leg resumed.
    CallUnholdSuccessful {
        /// The leg.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leg: Option<String>,
    },
    /// Echo's answer: the params as received.
    Reply {
        /// The params.
        data: Value,
    },
    /// An event this catalog does not name (including the seed's older `Calling`,
    /// `CallStart`, `CallAnswered`), with its data.
    Other {
        /// The event name.
        name: String,
        /// Its data.
        data: Option<Value>,
    },
}

impl CallEvent {
    /// Reads an event from its name and data. `Started`, `Ended` and `Error` are not
    /// progress events; they come back as `Other`.
    pub fn parse(name: &str, data: Option<&Value>) -> CallEvent {
        let text = data.map(Value::to_string);
        Self::from_raw(name, text.as_deref())
    }

    /// Reads an event from its name and its `data` as JSON text (valid JSON: read by one of
    /// the readers already), borrowing where it can.
    pub(crate) fn from_raw(name: &str, data: Option<&str>) -> CallEvent {
        let value = || data.and_then(|d| serde_json::from_str::<Value>(d).ok());
        if !TYPED_EVENTS.contains(&name) {
            return match name {
                "Reply" => CallEvent::Reply {
                    data: value().unwrap_or(Value::Null),
                },
                other => CallEvent::Other {
                    name: other.to_owned(),
                    data: value(),
                },
            };
        }
        // Fields of another type than the catalog's are read tolerantly: as absent.
        let f = data
            .and_then(|d| json::from_object(d).ok())
            .unwrap_or_default();
        Self::from_fields(name, f)
    }

    /// A typed event (one of [`TYPED_EVENTS`]) from its data's members, read already.
    fn from_fields(name: &str, f: DataFields<'_>) -> CallEvent {
        let own = |v: Option<Cow<'_, str>>| v.map(Cow::into_owned);
        match name {
            "CallerAnswered" => CallEvent::CallerAnswered {
                caller: own(f.caller),
                callee: own(f.callee),
            },
            "Transferring" => CallEvent::Transferring {
                caller: own(f.caller),
                destination: own(f.destination),
            },
            "TransferStart" => CallEvent::TransferStart {
                callid: own(f.callid),
                caller: own(f.caller),
                callee: own(f.callee),
                destination: own(f.destination),
            },
            "TransferPending" => CallEvent::TransferPending {
                callid: own(f.callid),
                caller: own(f.caller),
                callee: own(f.callee),
                destination: own(f.destination),
                extra: own(f.extra),
            },
            "CalleeAnswered" => CallEvent::CalleeAnswered {
                callid: own(f.callid),
                caller: own(f.caller),
                callee: own(f.callee),
            },
            "TransferSuccessful" => CallEvent::TransferSuccessful {
                callid: own(f.callid),
                destination: own(f.destination),
            },
            "CallHolding" => CallEvent::CallHolding,
            "CallHoldStart" => CallEvent::CallHoldStart { leg: own(f.leg) },
            "CallHoldSuccessful" => CallEvent::CallHoldSuccessful { leg: own(f.leg) },
            "CallUnholding" => CallEvent::CallUnholding,
            "CallUnholdStart" => CallEvent::CallUnholdStart { leg: own(f.leg) },
            "CallUnholdSuccessful" => CallEvent::CallUnholdSuccessful { leg: own(f.leg) },
            other => CallEvent::Other {
                name: other.to_owned(),
                data: None,
            },
        }
    }

    /// The event's name and its `data`, as a notification carries them: a catalog event's
    /// members as an object (absent when it has none), `Reply`'s and an unknown event's
    /// data as they are. What [`CallEvent::parse`] reads back.
    pub fn to_wire(&self) -> (&str, Option<Value>) {
        match self {
            CallEvent::Reply { data } => ("Reply", Some(data.clone())),
            CallEvent::Other { name, data } => (name, data.clone()),
            typed => {
                // Internally tagged: the tag and the members in one object.
                let data = match serde_json::to_value(typed) {
                    Ok(Value::Object(mut members)) => {
                        members.remove("event");
                        (!members.is_empty()).then_some(Value::Object(members))
                    }
                    _ => None,
                };
                (typed.name(), data)
            }
        }
    }

    /// The event's name on the wire.
    pub fn name(&self) -> &str {
        match self {
            CallEvent::CallerAnswered { .. } => "CallerAnswered",
            CallEvent::Transferring { .. } => "Transferring",
            CallEvent::TransferStart { .. } => "TransferStart",
            CallEvent::TransferPending { .. } => "TransferPending",
            CallEvent::CalleeAnswered { .. } => "CalleeAnswered",
            CallEvent::TransferSuccessful { .. } => "TransferSuccessful",
            CallEvent::CallHolding => "CallHolding",
            CallEvent::CallHoldStart { .. } => "CallHoldStart",
            CallEvent::CallHoldSuccessful { .. } => "CallHoldSuccessful",
            CallEvent::CallUnholding => "CallUnholding",
            CallEvent::CallUnholdStart { .. } => "CallUnholdStart",
            CallEvent::CallUnholdSuccessful { .. } => "CallUnholdSuccessful",
            CallEvent::Reply { .. } => "Reply",
            CallEvent::Other { name, .. } => name,
        }
    }

    /// For `TransferPending`: the SIP status code at the start of `extra`, if any. A code
    /// of 300 or more means the transfer failed.
    pub fn pending_status(&self) -> Option<u16> {
        match self {
            CallEvent::TransferPending {
                extra: Some(extra), ..
            } => extra.split_whitespace().next()?.parse().ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod typed_event_tests {
    use super::*;

    #[test]
    fn every_typed_event_is_read_from_fields_and_no_other() {
        for name in TYPED_EVENTS {
            let e = CallEvent::from_fields(name, DataFields::default());
            assert!(!matches!(e, CallEvent::Other { .. }), "{name}");
        }
        for name in ["Reply", "Started", "Ended", "Error", "Nope"] {
            let e = CallEvent::from_fields(name, DataFields::default());
            assert!(matches!(e, CallEvent::Other { .. }), "{name}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_command_round_trips_through_its_params() {
        for c in [
            Command::CallStart {
                caller: "sip:alice@10.0.0.10".into(),
                callee: "sip:bob@10.0.0.11".into(),
            },
            Command::CallBlindTransfer {
                callid: "431fc357.a3e3.49c2@127.0.0.1".into(),
                leg: Leg::Callee,
                destination: "sip:cindy@10.0.0.11".into(),
            },
            Command::CallAttendedTransfer {
                callid_a: "a".into(),
                leg_a: Leg::Caller,
                callid_b: "b".into(),
                leg_b: Leg::Callee,
            },
            Command::CallHold { callid: "c".into() },
            Command::CallUnhold { callid: "c".into() },
            Command::CallEnd { callid: "c".into() },
            Command::Echo {
                params: json!({"test": "echo", "n": [1]}),
            },
        ] {
            let params = c.to_params(Some("cmd-1"));
            assert_eq!(params["cmd_id"], "cmd-1");
            let back = Command::from_params(c.method(), Some(&params))
                .unwrap()
                .unwrap();
            assert_eq!(back, c);
        }
    }

    #[test]
    fn params_are_checked_and_errors_name_the_param() {
        let e = |m: &str, p: Value| {
            Command::from_params(m, Some(&p))
                .unwrap()
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("CallStart", json!({"caller": "a"})),
            "missing parameter callee"
        );
        assert_eq!(
            e("CallStart", json!({"caller": "a", "callee": ""})),
            "missing parameter callee"
        );
        assert_eq!(
            e("CallStart", json!({"caller": "a", "callee": 5})),
            "parameter callee must be a string"
        );
        assert_eq!(e("CallHold", json!([1])), "params must be an object");
        assert_eq!(
            e(
                "CallBlindTransfer",
                json!({"callid": "c", "leg": "both", "destination": "d"})
            ),
            "parameter leg must be caller or callee"
        );
        assert_eq!(
            Command::from_params("CallEnd", None).unwrap().unwrap_err(),
            ParamError::Missing("callid")
        );
        assert!(
            Command::from_params("callstart", None).is_none(),
            "methods are case-sensitive"
        );
        assert!(matches!(
            Command::from_params("Echo", None),
            Some(Ok(Command::Echo { .. }))
        ));
    }

    #[test]
    fn events_are_typed_and_tolerant() {
        let e = CallEvent::parse(
            "TransferPending",
            Some(&json!({"callid": "x", "extra": "486 Busy Here"})),
        );
        assert_eq!(e.pending_status(), Some(486));
        assert_eq!(
            CallEvent::parse("CallHoldStart", Some(&json!({"leg": "caller"}))),
            CallEvent::CallHoldStart {
                leg: Some("caller".into())
            }
        );
        assert_eq!(
            CallEvent::parse("CallerAnswered", None),
            CallEvent::CallerAnswered {
                caller: None,
                callee: None
            }
        );
        assert!(
            matches!(CallEvent::parse("Calling", Some(&json!({"a": 1}))), CallEvent::Other { name, data: Some(_) } if name == "Calling")
        );
    }
}
