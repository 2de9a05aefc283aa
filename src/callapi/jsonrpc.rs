//! The JSON-RPC 2.0 envelope, usable on its own: ids, requests and notifications, responses
//! and error objects, batches, the reserved error codes, and a strict reader for servers.
//!
//! ```
//! use callsig::callapi::jsonrpc::{read_incoming, Id, Incoming};
//!
//! let Incoming::Single(Ok(req)) = read_incoming(r#"{"jsonrpc":"2.0","id":7,"method":"Echo","params":{}}"#) else { panic!() };
//! assert_eq!(req.id, Some(Id::Number(7u64.into())));
//! assert_eq!(req.method, "Echo");
//! ```

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

pub use super::id::{Id, IdNumber};
use crate::json;

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid Request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal JSON-RPC error.
pub const INTERNAL_ERROR: i64 = -32603;
/// The first of the codes reserved for implementation-defined server errors
/// (-32000 to -32099).
pub const SERVER_ERROR: i64 = -32000;

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code.
    pub code: i64,
    /// A short description.
    pub message: String,
    /// More about the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with a code and a message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }
}

/// A request (with an `id`) or a notification (without).
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// `None`: a notification, never answered.
    pub id: Option<Id>,
    /// The method.
    pub method: String,
    /// The params, when present: an object or an array.
    pub params: Option<Value>,
}

impl Request {
    /// Writes the request as compact JSON.
    pub fn encode(&self) -> String {
        #[derive(Serialize)]
        struct W<'a> {
            jsonrpc: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            id: Option<&'a Id>,
            method: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            params: Option<&'a Value>,
        }
        serde_json::to_string(&W {
            jsonrpc: "2.0",
            id: self.id.as_ref(),
            method: &self.method,
            params: self.params.as_ref(),
        })
        .unwrap_or_default()
    }
}

/// A response: the request's id and exactly one of a result or an error.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// The request's id (`null` when it could not be read).
    pub id: Id,
    /// The result, or the error.
    pub outcome: Result<Value, ErrorObject>,
}

impl Response {
    /// Writes the response as compact JSON.
    pub fn encode(&self) -> String {
        serde_json::to_string(&self.wire()).unwrap_or_default()
    }

    fn wire(&self) -> ResponseWire<'_> {
        let (result, error) = match &self.outcome {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        ResponseWire {
            jsonrpc: "2.0",
            id: &self.id,
            result,
            error,
        }
    }

    /// Writes a batch of responses as one JSON array.
    pub fn encode_batch(responses: &[Response]) -> String {
        let wires: Vec<ResponseWire<'_>> = responses.iter().map(Response::wire).collect();
        serde_json::to_string(&wires).unwrap_or_default()
    }
}

/// Written as the specification's response object (what [`Response::encode`] writes).
impl Serialize for Response {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.wire().serialize(s)
    }
}

#[derive(Serialize)]
struct ResponseWire<'a> {
    jsonrpc: &'static str,
    id: &'a Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorObject>,
}

/// What a server reads from one frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// One message: a valid request or notification, or the error answer to an invalid one.
    Single(Result<Request, Response>),
    /// A batch: one entry per element, in order.
    Batch(Vec<Result<Request, Response>>),
    /// A frame that is answered with a single error response (not JSON, or `[]`).
    Invalid(Response),
}

fn invalid(id: Id, message: &str) -> Response {
    Response {
        id,
        outcome: Err(ErrorObject::new(INVALID_REQUEST, message)),
    }
}

/// The members of a request as sent, checked after reading (so that a bad one is answered
/// with the id, when it could be read): `jsonrpc` and `method` a string or another value,
/// `id` and `params` as their JSON text (`null` included: `"id": null` is a request, not a
/// notification). `params` is read as `P`: JSON text, or what the caller reads in place.
#[derive(Deserialize)]
#[serde(bound(deserialize = "P: Deserialize<'de>"))]
struct RequestRef<'a, P> {
    #[serde(default, borrow, deserialize_with = "json::present")]
    jsonrpc: Option<json::Lenient<'a>>,
    #[serde(default, borrow, deserialize_with = "json::present")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "json::present")]
    method: Option<json::Lenient<'a>>,
    #[serde(default, deserialize_with = "json::present")]
    params: Option<P>,
}

/// A checked request, borrowing from the frame; its params stay JSON text until the
/// command reads them. The server's hot path; [`Request`] is its owned form.
pub(crate) struct RequestRaw<'a> {
    pub id: Option<Id>,
    pub method: std::borrow::Cow<'a, str>,
    pub params: Option<&'a RawValue>,
}

impl RequestRaw<'_> {
    /// The params as a tree (an object or an array, checked when read).
    pub fn params_value(&self) -> Option<Value> {
        self.params
            .and_then(|p| serde_json::from_str::<Value>(p.get()).ok())
    }

    fn into_owned(self) -> Request {
        let params = self.params_value();
        Request {
            id: self.id,
            method: self.method.into_owned(),
            params,
        }
    }
}

/// A single request whose params are an object read as `P` in the same pass, as a server
/// reads the requests it knows the params of, handed to `f` where it was read (a params
/// struct is large to move). `None` for any other frame (a batch, an invalid request,
/// params of another shape), or when `f` declines: [`read_incoming_raw`] then reads it and
/// has the answer to give. What `f` is given is what [`read_incoming_raw`] returns with `P`
/// read from the params' text (a property test holds them to it).
pub(crate) fn read_request_as<'a, P: Deserialize<'a>, R>(
    text: &'a str,
    f: impl FnOnce(Option<Id>, &str, Option<P>) -> Option<R>,
) -> Option<R> {
    let m: RequestRef<'a, json::Object<P>> = json::from_object(text).ok()?;
    let (id, method) = check_envelope(m.jsonrpc, m.id, m.method).ok()?;
    f(id, &method, m.params.map(|p| p.0))
}

/// [`Incoming`], borrowing from the frame.
pub(crate) enum IncomingRaw<'a> {
    Single(Result<RequestRaw<'a>, Response>),
    Batch(Vec<Result<RequestRaw<'a>, Response>>),
    Invalid(Response),
}

/// Checks one element of a frame strictly as the JSON-RPC 2.0 specification says.
fn check_request<'a>(m: RequestRef<'a, &'a RawValue>) -> Result<RequestRaw<'a>, Response> {
    let (id, method) = check_envelope(m.jsonrpc, m.id, m.method)?;
    let params = match m.params {
        Some(p) if !p.get().starts_with(['{', '[']) => {
            return Err(invalid(
                id.unwrap_or(Id::Null),
                "invalid request: params must be an object or an array",
            ))
        }
        params => params,
    };
    Ok(RequestRaw { id, method, params })
}

/// Checks a request's `jsonrpc`, `id` and `method` (each as its JSON text): its id and
/// method, or the error answer.
fn check_envelope<'a>(
    jsonrpc: Option<json::Lenient<'a>>,
    id: Option<&'a RawValue>,
    method: Option<json::Lenient<'a>>,
) -> Result<(Option<Id>, std::borrow::Cow<'a, str>), Response> {
    let id = match id {
        None => None,
        Some(v) => match Id::from_raw(v) {
            Ok(id) => Some(id),
            Err(_) => {
                return Err(invalid(
                    Id::Null,
                    "invalid request: id must be a string, a number or null",
                ))
            }
        },
    };
    let reply_id = || id.clone().unwrap_or(Id::Null);
    let text = |v: Option<json::Lenient<'a>>| v.and_then(json::Lenient::str);
    if text(jsonrpc).as_deref() != Some("2.0") {
        return Err(invalid(
            reply_id(),
            "invalid request: jsonrpc must be \"2.0\"",
        ));
    }
    let Some(method) = text(method) else {
        return Err(invalid(
            reply_id(),
            "invalid request: method must be a string",
        ));
    };
    Ok((id, method))
}

/// Reads one element of a batch.
fn read_element(raw: &RawValue) -> Result<RequestRaw<'_>, Response> {
    match json::from_object(raw.get()) {
        Ok(m) => check_request(m),
        Err(e) => Err(unreadable(raw.get(), &e)),
    }
}

/// The answer to valid JSON that is not a readable request: not an object, or an object
/// that repeats a member (the error names the member, never the peer's values).
fn unreadable(text: &str, e: &serde_json::Error) -> Response {
    if json::skip_ws(text).starts_with('{') {
        invalid(
            Id::Null,
            &format!("invalid request: {}", json::error_text(e)),
        )
    } else {
        invalid(Id::Null, "invalid request: not an object")
    }
}

/// [`read_incoming`], borrowing from the frame. A single request is read in one pass.
pub(crate) fn read_incoming_raw(text: &str, max_batch: usize) -> IncomingRaw<'_> {
    let parse_error = || {
        IncomingRaw::Invalid(Response {
            id: Id::Null,
            outcome: Err(ErrorObject::new(PARSE_ERROR, "parse error")),
        })
    };
    if json::skip_ws(text).starts_with('[') {
        let Ok(raw) = serde_json::from_str::<&RawValue>(text) else {
            return parse_error();
        };
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) else {
            return IncomingRaw::Invalid(invalid(Id::Null, "invalid request"));
        };
        if items.is_empty() {
            return IncomingRaw::Invalid(invalid(Id::Null, "invalid request: empty batch"));
        }
        if items.len() > max_batch {
            // One answer for the whole batch, as for `[]`: answering each element would
            // let a small frame ask for a reply many times its size.
            let why = format!(
                "invalid request: batch of {} requests, more than {max_batch}",
                items.len()
            );
            return IncomingRaw::Invalid(invalid(Id::Null, &why));
        }
        return IncomingRaw::Batch(items.into_iter().map(read_element).collect());
    }
    match json::from_object(text) {
        Ok(m) => IncomingRaw::Single(check_request(m)),
        // Only bad input pays for telling "not JSON" from "not a request object".
        Err(_) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() => parse_error(),
        Err(e) => IncomingRaw::Single(Err(unreadable(text, &e))),
    }
}

/// Reads one frame as a server must: a single request, a batch, or what to answer.
pub fn read_incoming(text: &str) -> Incoming {
    match read_incoming_raw(text, usize::MAX) {
        IncomingRaw::Single(r) => Incoming::Single(r.map(RequestRaw::into_owned)),
        IncomingRaw::Batch(items) => Incoming::Batch(
            items
                .into_iter()
                .map(|r| r.map(RequestRaw::into_owned))
                .collect(),
        ),
        IncomingRaw::Invalid(r) => Incoming::Invalid(r),
    }
}

/// What a client reads: a response or a notification from the server. Tolerant: the id
/// may be `""`, `null`, any type; `result` and `error` are taken as they come.
#[derive(Clone, Debug, PartialEq)]
pub enum FromServer {
    /// A response.
    Response {
        /// The id as sent (`Null` when absent).
        id: Id,
        /// Its result or error (an error when it had neither).
        outcome: Result<Value, ErrorObject>,
    },
    /// A notification (or a request the server sent, which a client does not answer).
    Notification {
        /// The method.
        method: String,
        /// The params.
        params: Option<Value>,
    },
}

/// Reads one frame from a server: one message or a batch of them.
pub fn read_from_server(text: &str) -> Result<Vec<FromServer>, String> {
    let owned = |raw: &RawValue| serde_json::from_str::<Value>(raw.get()).unwrap_or(Value::Null);
    Ok(read_from_server_ref(text)?
        .map(|m| match m {
            FromServerRef::Response { id, outcome } => FromServer::Response {
                id,
                outcome: outcome.map(owned),
            },
            FromServerRef::Notification { method, params } => FromServer::Notification {
                method: method.into_owned(),
                params: params.map(owned),
            },
        })
        .collect())
}

/// [`FromServer`], borrowing from the frame: what the client machine reads. A
/// notification's params are JSON text, or `P` when read with the message.
pub(crate) enum FromServerRef<'a, P = &'a RawValue> {
    Response {
        id: Id,
        outcome: Result<&'a RawValue, ErrorObject>,
    },
    Notification {
        method: std::borrow::Cow<'a, str>,
        /// As text: the client reads a call notification's members from it.
        params: Option<P>,
    },
}

/// The members of one message from a server, borrowed from the frame; `params` read as `P`.
#[derive(Deserialize)]
#[serde(bound(deserialize = "P: Deserialize<'de>"))]
struct MessageRef<'a, P> {
    #[serde(default, borrow, deserialize_with = "json::opt_str")]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "json::present")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "json::present")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
    #[serde(default)]
    params: Option<P>,
}

/// The messages of one frame: most frames hold one, which needs no list.
pub(crate) type Messages<'a> = std::iter::Chain<
    std::option::IntoIter<FromServerRef<'a>>,
    std::vec::IntoIter<FromServerRef<'a>>,
>;

/// Reads one frame from a server without building trees: the client's hot path. Each
/// message's params, result and error stay JSON text until used.
pub(crate) fn read_from_server_ref(text: &str) -> Result<Messages<'_>, String> {
    if json::skip_ws(text).starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(text)
            .map_err(|e| format!("not JSON: {}", json::error_text(&e)))?;
        let batch = items
            .into_iter()
            .map(|raw| {
                json::from_object(raw.get())
                    .map_err(|_| "not a JSON object".to_owned())
                    .and_then(one_from_message)
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(None.into_iter().chain(batch));
    }
    let m = json::from_object(text).map_err(|e| {
        // Only bad input pays for telling "not JSON" from "not a message".
        match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Err(_) => format!("not JSON: {}", json::error_text(&e)),
            Ok(_) => "not a JSON object".to_owned(),
        }
    })?;
    Ok(Some(one_from_message::<&RawValue>(m)?)
        .into_iter()
        .chain(Vec::new()))
}

/// The params of a frame of one message, as JSON text.
pub(crate) fn params_text(text: &str) -> Option<&RawValue> {
    json::from_object::<MessageRef<'_, &RawValue>>(text)
        .ok()?
        .params
}

/// A frame of one message whose params, if any, are an object read as `P` in the same
/// pass, as a client reads the notifications it knows the params of. `None` for any
/// other frame (a batch, params of another shape, not a message): [`read_from_server_ref`]
/// then reads it and has the answer to give. What it returns is what
/// [`read_from_server_ref`] returns with `P` read from the params' text (a property test
/// holds them to it).
pub(crate) fn read_message_as<'a, P: Deserialize<'a>>(
    text: &'a str,
) -> Option<FromServerRef<'a, P>> {
    let m: MessageRef<'a, json::Object<P>> = json::from_object(text).ok()?;
    match one_from_message(m).ok()? {
        FromServerRef::Response { id, outcome } => Some(FromServerRef::Response { id, outcome }),
        FromServerRef::Notification { method, params } => Some(FromServerRef::Notification {
            method,
            params: params.map(|p| p.0),
        }),
    }
}

fn one_from_message<P>(m: MessageRef<'_, P>) -> Result<FromServerRef<'_, P>, String> {
    if let Some(method) = m.method {
        return Ok(FromServerRef::Notification {
            method,
            params: m.params,
        });
    }
    let id = m.id.and_then(|i| Id::from_raw(i).ok()).unwrap_or(Id::Null);
    let outcome = match (m.result, m.error) {
        (_, Some(e)) => Err(
            serde_json::from_str::<ErrorObject>(e.get()).unwrap_or_else(|_| {
                // Tolerant: an error object with odd members still says something.
                let v: Value = serde_json::from_str(e.get()).unwrap_or(Value::Null);
                ErrorObject {
                    code: v
                        .get("code")
                        .and_then(Value::as_i64)
                        .unwrap_or(INTERNAL_ERROR),
                    message: v.get("message").map_or_else(
                        || v.to_string(),
                        |m| m.as_str().map_or_else(|| m.to_string(), str::to_owned),
                    ),
                    data: None,
                }
            }),
        ),
        (Some(r), None) => Ok(r),
        (None, None) => return Err("neither a response nor a notification".into()),
    };
    Ok(FromServerRef::Response { id, outcome })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Every id that is a JSON number is written back with the text it was read with:
        /// big, negative, fractional, with an exponent, `-0`.
        #[test]
        fn number_ids_are_written_back_digit_for_digit(
            text in "-?(0|[1-9][0-9]{0,40})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?",
            space in proptest::sample::select(vec!["", " ", "\n"]),
        ) {
            let frame = format!(r#"{{"jsonrpc":"2.0","method":"a","id":{space}{text}{space}}}"#);
            let Incoming::Single(Ok(r)) = read_incoming(&frame) else {
                return Err(proptest::test_runner::TestCaseError::fail(frame));
            };
            let id = r.id.unwrap();
            let written = Response { id, outcome: Ok(Value::Null) }.encode();
            let expected = format!(r#"{{"jsonrpc":"2.0","id":{text},"result":null}}"#);
            proptest::prop_assert_eq!(&written, &expected);
        }
    }

    #[test]
    fn the_ids_that_went_through_floats_are_written_as_read() {
        for text in [
            "-0",
            "18446744073709551616",
            "100000000000000000000000000001",
            "1.50",
        ] {
            let frame = format!(r#"{{"jsonrpc":"2.0","method":"a","id":{text}}}"#);
            let Incoming::Single(Ok(r)) = read_incoming(&frame) else {
                panic!()
            };
            let written = Response {
                id: r.id.unwrap(),
                outcome: Ok(Value::Null),
            }
            .encode();
            assert!(written.contains(&format!(r#""id":{text},"#)), "{written}");
        }
    }
    use serde_json::json;

    fn answers(text: &str) -> Vec<Response> {
        match read_incoming(text) {
            Incoming::Invalid(r) => vec![r],
            Incoming::Single(Err(r)) => vec![r],
            Incoming::Single(Ok(_)) => vec![],
            Incoming::Batch(items) => items.into_iter().filter_map(Result::err).collect(),
        }
    }

    fn code(r: &Response) -> i64 {
        r.outcome.as_ref().unwrap_err().code
    }

    // The examples of the JSON-RPC 2.0 specification, section 7.
    #[test]
    fn specification_examples() {
        let Incoming::Single(Ok(r)) = read_incoming(
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
        ) else {
            panic!()
        };
        assert_eq!(r.params, Some(json!([42, 23])));
        let Incoming::Single(Ok(r)) =
            read_incoming(r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#)
        else {
            panic!()
        };
        assert_eq!(r.id, None, "a notification");
        let a = answers(r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#);
        assert_eq!((code(&a[0]), &a[0].id), (PARSE_ERROR, &Id::Null));
        let a = answers(r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#);
        assert_eq!((code(&a[0]), &a[0].id), (INVALID_REQUEST, &Id::Null));
        let a = answers(
            r#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"}, {"jsonrpc": "2.0", "method""#,
        );
        assert_eq!(code(&a[0]), PARSE_ERROR);
        let a = answers("[]");
        assert_eq!((a.len(), code(&a[0])), (1, INVALID_REQUEST));
        let a = answers("[1]");
        assert_eq!((a.len(), code(&a[0])), (1, INVALID_REQUEST));
        let a = answers("[1,2,3]");
        assert_eq!(a.len(), 3);
        assert!(a
            .iter()
            .all(|r| code(r) == INVALID_REQUEST && r.id == Id::Null));
        let Incoming::Batch(items) = read_incoming(
            r#"[
            {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
            {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
            {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
            {"foo": "boo"},
            {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
            {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
        ]"#,
        ) else {
            panic!()
        };
        assert_eq!(items.len(), 6);
        assert!(items[3].is_err());
        assert_eq!(items.iter().filter(|i| i.is_ok()).count(), 5);
    }

    #[test]
    fn strict_envelope_rules() {
        for (text, why) in [
            (r#"{"jsonrpc":"1.0","method":"a","id":1}"#, "wrong version"),
            (r#"{"method":"a","id":1}"#, "no version"),
            (
                r#"{"jsonrpc":2.0,"method":"a","id":1}"#,
                "version as a number",
            ),
            (
                r#"{"jsonrpc":"2.0","method":"a","id":1,"params":"x"}"#,
                "params a string",
            ),
            (
                r#"{"jsonrpc":"2.0","method":"a","id":{"x":1}}"#,
                "id an object",
            ),
            (r#"{"jsonrpc":"2.0","id":1}"#, "no method"),
        ] {
            let a = answers(text);
            assert_eq!(a.len(), 1, "{why}");
            assert_eq!(code(&a[0]), INVALID_REQUEST, "{why}");
        }
        // The id of an invalid request is echoed when it could be read.
        assert_eq!(
            answers(r#"{"jsonrpc":"1.0","method":"a","id":"q"}"#)[0].id,
            Id::String("q".into())
        );
        // "id": null is a request, not a notification.
        let Incoming::Single(Ok(r)) = read_incoming(r#"{"jsonrpc":"2.0","method":"a","id":null}"#)
        else {
            panic!()
        };
        assert_eq!(r.id, Some(Id::Null));
    }

    #[test]
    fn writing() {
        let r = Response {
            id: Id::Number(1u64.into()),
            outcome: Err(ErrorObject::new(METHOD_NOT_FOUND, "method not found")),
        };
        assert_eq!(
            r.encode(),
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"method not found"}}"#
        );
        let r = Response {
            id: Id::String("a".into()),
            outcome: Ok(json!({"cmd_id": "x"})),
        };
        assert_eq!(
            Response::encode_batch(&[r]),
            r#"[{"jsonrpc":"2.0","id":"a","result":{"cmd_id":"x"}}]"#
        );
        let q = Request {
            id: None,
            method: "m".into(),
            params: None,
        };
        assert_eq!(q.encode(), r#"{"jsonrpc":"2.0","method":"m"}"#);
        // Big and fractional number ids are written back exactly.
        let Incoming::Single(Ok(r)) =
            read_incoming(r#"{"jsonrpc":"2.0","method":"a","id":12345678901234567890}"#)
        else {
            panic!()
        };
        let resp = Response {
            id: r.id.unwrap(),
            outcome: Ok(Value::Null),
        };
        assert!(resp.encode().contains(r#""id":12345678901234567890"#));
    }

    #[test]
    fn the_client_reader_is_tolerant() {
        let m = read_from_server(
            r#"{"jsonrpc":"2.0","id":"","error":{"code":32000,"message":"parse error"}}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            [FromServer::Response {
                id: Id::String(String::new()),
                outcome: Err(ErrorObject::new(32000, "parse error"))
            }]
        );
        let m = read_from_server(r#"{"id":null,"error":{"code":"x","message":7}}"#).unwrap();
        assert!(matches!(&m[0], FromServer::Response { outcome: Err(e), .. } if e.message == "7"));
        let m =
            read_from_server(r#"[{"method":"CallStart","params":{"cmd_id":"a","event":"Ended"}}]"#)
                .unwrap();
        assert!(matches!(&m[0], FromServer::Notification { method, .. } if method == "CallStart"));
        assert!(read_from_server("nope").is_err());
        assert!(read_from_server(r#"{"jsonrpc":"2.0"}"#).is_err());
    }
}
