//! Transcripts: replay a JSON Lines script against one machine and record what it does.
//!
//! The format is `../shared/transcripts.md` of the project; in short:
//!
//! - line 1 names the machine and its configuration:
//!   `{"machine": "wtsp-server", "config": {"lines": 2}}`;
//! - every other line is a step: `"at"` (ms, never decreasing), an optional `"conn"`, and at
//!   most one verb: `open`, `recv`, `recv_raw`, `closed`, `app`, or none (time passes);
//! - before a step at `T`, every timer due at or before `T` fires at its own deadline;
//! - each output is one JSON line: `send`, `close`, `connect`, `event`, `wake` (the next
//!   deadline changed) or `error` (the step was refused).
//!
//! Blank lines are skipped. A malformed transcript (not JSON Lines, unknown machine,
//! unknown config key, unknown verb or application call, more than one verb, time going
//! backwards) is a [`TranscriptError`] naming its line.
//!
//! The machines' configuration keys and application vocabulary are listed on each driver
//! module: [`wtsp`], [`progress`], [`callapi`]. [`mermaid`] draws a transcript as a
//! sequence diagram.
//!
//! ```
//! let script = r#"{"machine": "wtsp-client", "config": {"url": "wss://h", "token": "t"}}
//! {"at": 0, "app": {"connect": {}}}"#;
//! let out = callsig::transcript::run(script);
//! assert!(out.error.is_none());
//! assert_eq!(out.lines[0], r#"{"at":0,"connect":{"url":"wss://h/signaling/v1?token=t&force=false","protocols":["webtrit-protocol"]}}"#);
//! assert_eq!(out.lines[1], r#"{"at":0,"wake":10000}"#);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::{Input, Machine, Output, Timestamp};

/// Reads config keys into a machine's config: `value` keys as they are, `millis` keys as
/// durations in milliseconds, `option` keys into an `Option` field.
macro_rules! read_config {
    ($c:ident, $config:ident, $( $kind:ident $key:literal => $field:ident ),* $(,)?) => {
        $( read_config!(@one $c, $config, $kind $key => $field); )*
    };
    (@one $c:ident, $config:ident, value $key:literal => $field:ident) => {
        if let Some(v) = $c.take($key)? {
            $config.$field = v;
        }
    };
    (@one $c:ident, $config:ident, option $key:literal => $field:ident) => {
        $config.$field = $c.take($key)?;
    };
    (@one $c:ident, $config:ident, millis $key:literal => $field:ident) => {
        if let Some(v) = $c.millis($key)? {
            $config.$field = v;
        }
    };
}

pub mod callapi;
mod diagram;
pub mod progress;
pub mod wtsp;

pub use diagram::mermaid;

/// A transcript that cannot be replayed: the 1-based line and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TranscriptError {
    /// The line of the transcript.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// What a whole replay gives: every output line produced, and the error that stopped it,
/// if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayOutput {
    /// The output lines, in order.
    pub lines: Vec<String>,
    /// Set when the transcript is malformed; `lines` then holds what came before.
    pub error: Option<TranscriptError>,
}

/// Replays a whole transcript.
pub fn run(input: &str) -> ReplayOutput {
    let mut out = ReplayOutput::default();
    let mut replay: Option<Replay> = None;
    for (i, text) in input.lines().enumerate() {
        let line = i + 1;
        if text.trim().is_empty() {
            continue;
        }
        let result = match replay.as_mut() {
            None => Replay::start(line, text).map(|r| {
                replay = Some(r);
            }),
            Some(r) => r.step(line, text, &mut out.lines),
        };
        if let Err(e) = result {
            out.error = Some(e);
            return out;
        }
    }
    if replay.is_none() {
        out.error = Some(TranscriptError {
            line: 1,
            message: "empty transcript: line 1 must name the machine".into(),
        });
    }
    out
}

/// A step's single verb.
#[derive(Debug)]
pub(crate) enum Verb<'a> {
    Open(&'a RawValue),
    Recv(String),
    Closed(&'a RawValue),
    App(&'a str, &'a RawValue),
    None,
}

/// How a driver says a step went.
pub(crate) enum StepError {
    /// The machine refused it: an `error` output line.
    Refused(String),
    /// The transcript is malformed: replay stops.
    Malformed(String),
}

impl From<crate::UsageError> for StepError {
    fn from(e: crate::UsageError) -> Self {
        StepError::Refused(e.to_string())
    }
}

/// One machine behind the transcript format.
pub(crate) trait Driver {
    fn step(&mut self, now: Timestamp, conn: Option<&str>, verb: Verb<'_>)
        -> Result<(), StepError>;
    fn handle_timeout(&mut self, now: Timestamp);
    /// Writes every queued output as lines stamped `at`; returns the next deadline.
    fn drain(&mut self, at: Timestamp, out: &mut Vec<String>) -> Option<Timestamp>;
}

/// How a transcript names a machine's connections: a client's one connection (and a Call
/// API server's) has no name; a server's are the steps' `"conn"` strings.
pub(crate) trait TranscriptConn: Sized {
    /// The connection a step names (`what`: the verb, for the error).
    fn from_step(conn: Option<&str>, what: &str) -> Result<Self, StepError>;
    /// The name written on output lines.
    fn name(&self) -> Option<&str>;
}

impl TranscriptConn for () {
    fn from_step(_: Option<&str>, _: &str) -> Result<(), StepError> {
        Ok(())
    }
    fn name(&self) -> Option<&str> {
        None
    }
}

impl TranscriptConn for String {
    fn from_step(conn: Option<&str>, what: &str) -> Result<String, StepError> {
        conn.map(str::to_owned)
            .ok_or_else(|| StepError::Refused(format!("{what} needs conn")))
    }
    fn name(&self) -> Option<&str> {
        Some(self)
    }
}

/// `open`'s arguments: what a server is told of the connection (a client ignores them).
#[derive(serde::Deserialize, Default)]
pub(crate) struct OpenArgs {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub protocols: Vec<String>,
    /// A Loop server's call, when the step names it rather than a URL.
    pub call_id: Option<String>,
}

/// `closed`'s arguments, both optional.
#[derive(serde::Deserialize, Default)]
struct ClosedArgs {
    code: Option<u16>,
    #[serde(default)]
    reason: String,
}

/// A machine with the transcript verbs only it has; the transport verbs, timers and
/// outputs go through [`Machine`] the same way for every machine.
pub(crate) trait Drive {
    type M: Machine<Conn: TranscriptConn, Event: Serialize>;

    fn machine(&mut self) -> &mut Self::M;

    /// An `app` step.
    fn app(
        &mut self,
        now: Timestamp,
        conn: Option<&str>,
        name: &str,
        raw: &RawValue,
    ) -> Result<(), StepError>;

    /// An `open` step: [`Input::Open`] unless the machine reads it its own way.
    fn open(
        &mut self,
        now: Timestamp,
        conn: &<Self::M as Machine>::Conn,
        o: OpenArgs,
    ) -> Result<(), StepError> {
        let protocols: Vec<&str> = o.protocols.iter().map(String::as_str).collect();
        let open = Input::Open {
            conn,
            url: &o.url,
            protocols: &protocols,
        };
        // An open is never for another machine's connection.
        let _: crate::Routing = self.machine().handle_input(now, open)?;
        Ok(())
    }

    /// Lines the driver writes itself before the machine's outputs (answers to
    /// application calls that are not outputs).
    fn replies(&mut self, at: Timestamp, out: &mut Vec<String>) {
        let _ = (at, out);
    }
}

impl<D: Drive> Driver for D {
    fn step(
        &mut self,
        now: Timestamp,
        conn: Option<&str>,
        verb: Verb<'_>,
    ) -> Result<(), StepError> {
        type Conn<D> = <<D as Drive>::M as Machine>::Conn;
        let routed = |r: Result<crate::Routing, crate::UsageError>| match r? {
            crate::Routing::Handled => Ok(()),
            crate::Routing::NotMine => Err(StepError::Refused(match conn {
                Some(c) => format!("connection {c:?} is not open"),
                None => "the connection is not open".to_owned(),
            })),
        };
        match verb {
            Verb::None => Ok(()),
            Verb::Open(raw) => {
                let o: OpenArgs = args("open", raw)?;
                let c = Conn::<D>::from_step(conn, "open")?;
                self.open(now, &c, o)
            }
            Verb::Recv(text) => {
                let c = Conn::<D>::from_step(conn, "recv")?;
                let frame = Input::Frame {
                    conn: &c,
                    text: &text,
                };
                routed(self.machine().handle_input(now, frame))
            }
            Verb::Closed(raw) => {
                let a: ClosedArgs = args("closed", raw)?;
                let c = Conn::<D>::from_step(conn, "closed")?;
                let closed = Input::Closed {
                    conn: &c,
                    code: a.code.map(Into::into),
                    reason: &a.reason,
                };
                routed(self.machine().handle_input(now, closed))
            }
            Verb::App(name, raw) => self.app(now, conn, name, raw),
        }
    }

    fn handle_timeout(&mut self, now: Timestamp) {
        // A timeout is never refused.
        let _ = self.machine().handle_input(now, Input::Timeout);
    }

    fn drain(&mut self, at: Timestamp, out: &mut Vec<String>) -> Option<Timestamp> {
        self.replies(at, out);
        self.machine().drain(|o| {
            out.push(match o {
                Output::Transmit { conn, text } => send_line(at, &text, conn.name()),
                Output::Close { conn, code, reason } => close_line(at, code, &reason, conn.name()),
                Output::Connect(request) => connect_line(at, &request),
                Output::Event(e) => event_line(at, &e),
                Output::Timeout(_) => return,
            })
        })
    }
}

/// A replay in progress.
pub struct Replay {
    driver: Box<dyn Driver>,
    last_at: Option<u64>,
    deadline: Option<Timestamp>,
}

impl fmt::Debug for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replay")
            .field("last_at", &self.last_at)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

fn malformed(line: usize, message: impl Into<String>) -> TranscriptError {
    TranscriptError {
        line,
        message: message.into(),
    }
}

impl Replay {
    /// Reads line 1 (`{"machine": …, "config": {…}}`) and builds the machine.
    pub fn start(line: usize, text: &str) -> Result<Replay, TranscriptError> {
        let head: Map<String, Value> = serde_json::from_str(text)
            .map_err(|e| malformed(line, format!("not a JSON object: {e}")))?;
        for key in head.keys() {
            if key != "machine" && key != "config" {
                return Err(malformed(
                    line,
                    format!("unknown key {key:?} in the header"),
                ));
            }
        }
        let machine = head
            .get("machine")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(line, "the header needs \"machine\""))?;
        let config = match head.get("config") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(malformed(line, "\"config\" must be an object")),
        };
        let config = Config::new(config);
        let driver: Box<dyn Driver> = match machine {
            "wtsp-client" => {
                Box::new(wtsp::ClientDriver::new(config).map_err(|e| malformed(line, e))?)
            }
            "wtsp-server" => {
                Box::new(wtsp::ServerDriver::new(config).map_err(|e| malformed(line, e))?)
            }
            "progress-client" => {
                Box::new(progress::ClientDriver::new(config).map_err(|e| malformed(line, e))?)
            }
            "progress-server" => {
                Box::new(progress::ServerDriver::new(config).map_err(|e| malformed(line, e))?)
            }
            "callapi-client" => {
                Box::new(callapi::ClientDriver::new(config).map_err(|e| malformed(line, e))?)
            }
            "callapi-server" => {
                Box::new(callapi::ServerDriver::new(config).map_err(|e| malformed(line, e))?)
            }
            other => return Err(malformed(line, format!("unknown machine {other:?}"))),
        };
        Ok(Replay {
            driver,
            last_at: None,
            deadline: None,
        })
    }

    /// Applies one step line, appending the output lines it produces.
    pub fn step(
        &mut self,
        line: usize,
        text: &str,
        out: &mut Vec<String>,
    ) -> Result<(), TranscriptError> {
        self.step_counting_timers(line, text, out).map(drop)
    }

    /// [`Replay::step`], saying how many of the lines it appended came from timers that
    /// fired before the step's own input.
    pub(crate) fn step_counting_timers(
        &mut self,
        line: usize,
        text: &str,
        out: &mut Vec<String>,
    ) -> Result<usize, TranscriptError> {
        let fields: BTreeMap<&str, &RawValue> = serde_json::from_str(text)
            .map_err(|e| malformed(line, format!("not a JSON object: {e}")))?;
        let at: u64 = match fields.get("at") {
            Some(v) => serde_json::from_str(v.get())
                .map_err(|_| malformed(line, "\"at\" must be a non-negative integer"))?,
            None => return Err(malformed(line, "the step needs \"at\"")),
        };
        if self.last_at.is_some_and(|last| at < last) {
            return Err(malformed(line, format!("time goes backwards to {at}")));
        }
        self.last_at = Some(at);
        let conn: Option<String> = match fields.get("conn") {
            Some(v) => Some(
                serde_json::from_str(v.get())
                    .map_err(|_| malformed(line, "\"conn\" must be a string"))?,
            ),
            None => None,
        };
        let mut verb = Verb::None;
        for (key, value) in &fields {
            let v = match *key {
                "at" | "conn" => continue,
                "open" => Verb::Open(value),
                "recv" => Verb::Recv(minify(value.get())),
                "recv_raw" => Verb::Recv(
                    serde_json::from_str::<String>(value.get())
                        .map_err(|_| malformed(line, "\"recv_raw\" must be a string"))?,
                ),
                "closed" => Verb::Closed(value),
                "app" => {
                    let call: BTreeMap<&str, &RawValue> = serde_json::from_str(value.get())
                        .map_err(|_| malformed(line, "\"app\" must be an object"))?;
                    let mut it = call.into_iter();
                    match (it.next(), it.next()) {
                        (Some((name, args)), None) => Verb::App(name, args),
                        _ => return Err(malformed(line, "\"app\" must name exactly one call")),
                    }
                }
                other => return Err(malformed(line, format!("unknown step verb {other:?}"))),
            };
            if !matches!(verb, Verb::None) {
                return Err(malformed(line, "a step has at most one verb"));
            }
            verb = v;
        }
        let now = Timestamp::from_millis(at);
        let before = out.len();
        self.fire_timers(now, out);
        let fired = out.len() - before;
        match self.driver.step(now, conn.as_deref(), verb) {
            Ok(()) => {}
            Err(StepError::Refused(e)) => out.push(error_line(now, &e)),
            Err(StepError::Malformed(e)) => return Err(malformed(line, e)),
        }
        self.drain(now, out);
        Ok(fired)
    }

    /// Fires every timer due at or before `now`, each at its own deadline.
    fn fire_timers(&mut self, now: Timestamp, out: &mut Vec<String>) {
        while let Some(at) = self.deadline.filter(|d| *d <= now) {
            self.driver.handle_timeout(at);
            self.drain(at, out);
            if self.deadline.is_some_and(|d| d <= at) {
                // A machine must move its deadline past `at`; never spin if one does not.
                break;
            }
        }
    }

    fn drain(&mut self, at: Timestamp, out: &mut Vec<String>) {
        let deadline = self.driver.drain(at, out);
        if deadline != self.deadline {
            self.deadline = deadline;
            out.push(format!(
                "{{\"at\":{},\"wake\":{}}}",
                at.as_millis(),
                deadline.map_or_else(|| "null".to_owned(), |d| d.as_millis().to_string())
            ));
        }
    }
}

/// Removes the white space between JSON tokens (not inside strings), so a frame taken
/// from a transcript line is sent as compact JSON with its members in their order.
pub(crate) fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !c.is_whitespace() {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
    }
    out
}

fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

pub(crate) fn error_line(at: Timestamp, message: &str) -> String {
    format!("{{\"at\":{},\"error\":{}}}", at.as_millis(), json(message))
}

/// A frame as an output value: the frame's own JSON, compact, members in their order; a
/// frame that is not JSON is shown as a string.
fn frame_value(text: &str) -> String {
    if serde_json::from_str::<&RawValue>(text).is_ok() {
        minify(text)
    } else {
        json(text)
    }
}

pub(crate) fn send_line(at: Timestamp, text: &str, conn: Option<&str>) -> String {
    match conn {
        Some(c) => format!(
            "{{\"at\":{},\"send\":{},\"conn\":{}}}",
            at.as_millis(),
            frame_value(text),
            json(c)
        ),
        None => format!(
            "{{\"at\":{},\"send\":{}}}",
            at.as_millis(),
            frame_value(text)
        ),
    }
}

pub(crate) fn close_line(
    at: Timestamp,
    code: impl Into<u16>,
    reason: &str,
    conn: Option<&str>,
) -> String {
    let code: u16 = code.into();
    let close = format!("{{\"code\":{code},\"reason\":{}}}", json(reason));
    match conn {
        Some(c) => format!(
            "{{\"at\":{},\"close\":{close},\"conn\":{}}}",
            at.as_millis(),
            json(c)
        ),
        None => format!("{{\"at\":{},\"close\":{close}}}", at.as_millis()),
    }
}

pub(crate) fn connect_line<T: Serialize>(at: Timestamp, request: &T) -> String {
    format!(
        "{{\"at\":{},\"connect\":{}}}",
        at.as_millis(),
        json(request)
    )
}

pub(crate) fn event_line<T: Serialize>(at: Timestamp, event: &T) -> String {
    format!("{{\"at\":{},\"event\":{}}}", at.as_millis(), json(event))
}

/// A machine's configuration from the header, read key by key; keys left unread at the
/// end are unknown and make the transcript malformed.
pub(crate) struct Config {
    map: Map<String, Value>,
}

impl Config {
    fn new(map: Map<String, Value>) -> Self {
        Config { map }
    }

    pub(crate) fn take<T: serde::de::DeserializeOwned>(
        &mut self,
        key: &str,
    ) -> Result<Option<T>, String> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| format!("config key {key:?}: {e}")),
        }
    }

    pub(crate) fn millis(&mut self, key: &str) -> Result<Option<std::time::Duration>, String> {
        Ok(self.take::<u64>(key)?.map(std::time::Duration::from_millis))
    }

    pub(crate) fn finish(self) -> Result<(), String> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(k) => Err(format!("unknown config key {k:?}")),
        }
    }
}

/// Reads a verb's arguments.
pub(crate) fn args<T: serde::de::DeserializeOwned>(
    verb: &str,
    raw: &RawValue,
) -> Result<T, StepError> {
    serde_json::from_str(raw.get()).map_err(|e| StepError::Refused(format!("{verb}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_keeps_strings_and_order() {
        assert_eq!(
            minify("{ \"b\" : 1,\n \"a\": \" x \\\" y \" }"),
            "{\"b\":1,\"a\":\" x \\\" y \"}"
        );
    }

    #[test]
    fn malformed_transcripts_name_their_line() {
        let cases = [
            ("", 1, "empty"),
            ("{\"machine\":\"fax\"}", 1, "unknown machine"),
            (
                "{\"machine\":\"wtsp-client\",\"config\":{\"colour\":1}}",
                1,
                "unknown config key",
            ),
            (
                "{\"machine\":\"wtsp-client\"}\nnot json",
                2,
                "not a JSON object",
            ),
            (
                "{\"machine\":\"wtsp-client\"}\n{\"at\":5}\n{\"at\":4}",
                3,
                "backwards",
            ),
            (
                "{\"machine\":\"wtsp-client\"}\n{\"at\":5,\"fly\":{}}",
                2,
                "unknown step verb",
            ),
            (
                "{\"machine\":\"wtsp-client\"}\n{\"at\":5,\"open\":{},\"closed\":{}}",
                2,
                "at most one verb",
            ),
            (
                "{\"machine\":\"wtsp-client\"}\n{\"open\":{}}",
                2,
                "needs \"at\"",
            ),
            (
                "{\"machine\":\"wtsp-client\"}\n{\"at\":1,\"app\":{\"fly\":{}}}",
                2,
                "unknown application call",
            ),
        ];
        for (script, line, words) in cases {
            let out = run(script);
            let e = out.error.unwrap_or_else(|| panic!("{script:?} replayed"));
            assert_eq!(e.line, line, "{script:?}: {e}");
            assert!(e.message.contains(words), "{script:?}: {e}");
        }
    }
}
