//! How the server reads a request into a command: the method and its params, or the error
//! to answer. A single request for a call command is read in one pass ([`read_call`]);
//! anything else the general way ([`read_command`], its params from their text). Both give
//! the same answers (a property test holds them to it).

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::Value;

use super::super::command::Params;
use super::super::jsonrpc::{read_request_as, ErrorObject, Id, INVALID_PARAMS, METHOD_NOT_FOUND};
use super::super::{Command, ParamError, METHODS};

/// A single request for a call command (not `Echo`, whose params are free-form) with an
/// object for params, read in one pass: what `read_incoming_raw` and [`read_command`] make
/// of it, without reading the params twice. `None` for any other frame.
pub(super) fn read_call(
    text: &str,
    daemon: bool,
) -> Option<(Option<Id>, Result<Parsed<'_>, ErrorObject>)> {
    read_request_as(text, |id, method, params: Option<Params<'_>>| {
        let method = METHODS
            .iter()
            .copied()
            .find(|m| *m == method && *m != "Echo")?;
        Some((id, call_command(method, params.unwrap_or_default(), daemon)))
    })
}

/// A request read: a command to start with the cmd_id given, or (with
/// [`ParamErrors::Daemon`](super::ParamErrors::Daemon)) a call command missing a parameter.
pub(super) enum Parsed<'a> {
    Command(Command, Option<Cow<'a, str>>),
    Missing {
        method: &'static str,
        param: &'static str,
        given: Option<Cow<'a, str>>,
    },
}

/// Reads a command and the `cmd_id` given from a request's method and params, or the
/// error to answer.
pub(super) fn read_command<'a>(
    method: &str,
    params: Option<&'a RawValue>,
    daemon: bool,
) -> Result<Parsed<'a>, ErrorObject> {
    let Some(method) = METHODS.iter().copied().find(|m| *m == method) else {
        return Err(ErrorObject::new(
            METHOD_NOT_FOUND,
            format!("method not found: {method}"),
        ));
    };
    if method == "Echo" {
        // Free-form params, echoed without `cmd_id`.
        let mut echoed = match params.map(|p| serde_json::from_str::<Value>(p.get())) {
            None => serde_json::Map::new(),
            Some(Ok(Value::Object(m))) => m,
            Some(_) => return Err(bad_params(ParamError::NotAnObject)),
        };
        let given = match echoed.remove("cmd_id") {
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(Cow::Owned(s)),
            Some(_) => return Err(bad_cmd_id()),
        };
        let params = Value::Object(echoed);
        return Ok(Parsed::Command(Command::Echo { params }, given));
    }
    let p = match params {
        None => Params::default(),
        Some(raw) => Params::read(raw.get()).map_err(bad_params)?,
    };
    call_command(method, p, daemon)
}

/// The -32602 answer to params a command refuses.
fn bad_params(e: ParamError) -> ErrorObject {
    ErrorObject::new(INVALID_PARAMS, e.to_string())
}

/// The -32602 answer to a `cmd_id` that is not a non-empty string.
fn bad_cmd_id() -> ErrorObject {
    ErrorObject::new(
        INVALID_PARAMS,
        "parameter cmd_id must be a non-empty string",
    )
}

/// Reads a call command (one of the catalog's but `Echo`) and the `cmd_id` given from its
/// params.
fn call_command<'a>(
    method: &'static str,
    mut p: Params<'a>,
    daemon: bool,
) -> Result<Parsed<'a>, ErrorObject> {
    let given = p.cmd_id().map_err(|()| bad_cmd_id())?;
    match p.command(method) {
        Ok(command) => Ok(Parsed::Command(command, given)),
        Err(ParamError::Missing(param)) if daemon => Ok(Parsed::Missing {
            method,
            param,
            given,
        }),
        Err(e) => Err(bad_params(e)),
    }
}
