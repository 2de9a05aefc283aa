//! Transcripts as pictures: a Mermaid `sequenceDiagram` of what a replay did.

use serde_json::{Map, Value};

use super::{malformed, Replay, TranscriptError};

/// Renders a transcript as a Mermaid `sequenceDiagram`, replaying it to get the machine's
/// side. Participants: the application, the machine, and its peer (a client's server) or
/// each of its connections (a server's). Frames are arrows labelled with their kind and
/// key members; application calls and events are arrows to and from the application;
/// timers firing, the next deadline and refused steps are notes; closes show their codes.
///
/// ```
/// let script = r#"{"machine": "progress-client", "config": {"role": "caller", "auth": "t"}}
/// {"at": 0, "open": {}}"#;
/// let diagram = callsig::transcript::mermaid(script).unwrap();
/// assert!(diagram.starts_with("sequenceDiagram\n"));
/// assert!(diagram.contains("M->>P: hello"));
/// ```
pub fn mermaid(input: &str) -> Result<String, TranscriptError> {
    let lines: Vec<(usize, &str)> = input
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let Some(&(first, header)) = lines.first() else {
        return Err(malformed(
            1,
            "empty transcript: line 1 must name the machine",
        ));
    };
    let mut replay = Replay::start(first, header)?;
    let head: Value = serde_json::from_str(header).unwrap_or_default();
    let machine = head["machine"].as_str().unwrap_or("machine").to_owned();
    // Servers of many connections draw each; the Call API server has one.
    let server = machine == "wtsp-server" || machine == "progress-server";

    // Every step's input, then the lines it produced (those of timers first).
    let mut steps: Vec<(Value, Vec<String>, usize)> = Vec::new();
    for &(line, text) in &lines[1..] {
        let mut out = Vec::new();
        let fired = replay.step_counting_timers(line, text, &mut out)?;
        let step = serde_json::from_str(text).unwrap_or_default();
        steps.push((step, out, fired));
    }

    let mut d = Diagram {
        text: String::from("sequenceDiagram\n"),
        conns: Vec::new(),
        server,
        at: None,
    };
    d.text.push_str("    participant App as application\n");
    d.text
        .push_str(&format!("    participant M as {machine}\n"));
    if server {
        for (step, out, _) in &steps {
            d.note_conn(step.get("conn"));
            for o in out {
                d.note_conn(
                    serde_json::from_str::<Value>(o)
                        .unwrap_or_default()
                        .get("conn"),
                );
            }
        }
        for c in d.conns.clone() {
            d.text
                .push_str(&format!("    participant {} as conn {c}\n", d.id(&c)));
        }
    } else {
        let peer = match machine.as_str() {
            "wtsp-client" => "core",
            "callapi-client" => "daemon",
            "callapi-server" => "client",
            _ => "coordinator",
        };
        d.text.push_str(&format!("    participant P as {peer}\n"));
    }
    for (step, out, fired) in &steps {
        let at = step["at"].as_u64().unwrap_or(0);
        let (timers, rest) = out.split_at(*fired);
        if !timers.is_empty() {
            let first = serde_json::from_str::<Value>(&timers[0]).unwrap_or_default();
            let t = first["at"].as_u64().unwrap_or(at);
            d.time(t);
            d.line(format!("Note over M: timer fires at {t} ms"));
            for o in timers {
                d.output(o);
            }
        }
        d.time(at);
        d.input(step);
        for o in rest {
            d.output(o);
        }
    }
    Ok(d.text)
}

struct Diagram {
    text: String,
    /// A server's connections, in order of first appearance.
    conns: Vec<String>,
    server: bool,
    at: Option<u64>,
}

impl Diagram {
    fn line(&mut self, l: String) {
        self.text.push_str("    ");
        self.text.push_str(&l);
        self.text.push('\n');
    }

    fn note_conn(&mut self, conn: Option<&Value>) {
        if let Some(c) = conn.and_then(Value::as_str) {
            if !self.conns.iter().any(|k| k == c) {
                self.conns.push(c.to_owned());
            }
        }
    }

    /// A connection's participant id (its name may hold anything).
    fn id(&self, conn: &str) -> String {
        let i = self.conns.iter().position(|k| k == conn).unwrap_or(0);
        format!("C{i}")
    }

    /// Who sits at the other end of the wire for this line.
    fn peer(&self, conn: Option<&Value>) -> String {
        match conn.and_then(Value::as_str) {
            Some(c) if self.server => self.id(c),
            _ if self.server => "M".into(),
            _ => "P".into(),
        }
    }

    fn time(&mut self, at: u64) {
        if self.at != Some(at) {
            self.at = Some(at);
            self.line(format!("Note over App,M: {at} ms"));
        }
    }

    fn input(&mut self, step: &Value) {
        let Some(obj) = step.as_object() else { return };
        let peer = self.peer(obj.get("conn"));
        for (k, v) in obj {
            let text = match k.as_str() {
                "open" => format!("{peer}->>M: open {}", open_text(v)),
                "recv" => format!("{peer}->>M: {}", frame(v)),
                "recv_raw" => format!("{peer}->>M: {}", frame(&raw(v))),
                "closed" => format!("{peer}-xM: closed {}", close_text(v)),
                "app" => format!("App->>M: {}", call_text(v)),
                _ => continue,
            };
            self.line(clean(text));
        }
    }

    fn output(&mut self, line: &str) {
        let v: Value = serde_json::from_str(line).unwrap_or_default();
        let peer = self.peer(v.get("conn"));
        let text = if let Some(f) = v.get("send") {
            format!("M->>{peer}: {}", frame(f))
        } else if let Some(c) = v.get("close") {
            format!("M-x{peer}: close {}", close_text(c))
        } else if let Some(c) = v.get("connect") {
            let url = c["url"].as_str().unwrap_or_default();
            format!(
                "M->>{peer}: connect {}",
                url.split('?').next().unwrap_or(url)
            )
        } else if let Some(e) = v.get("event") {
            format!("M-->>App: {}", members(e, "type"))
        } else if let Some(w) = v.get("wake") {
            match w.as_u64() {
                Some(t) => format!("Note right of M: next deadline {t} ms"),
                None => "Note right of M: no deadline".into(),
            }
        } else if let Some(e) = v.get("error") {
            format!(
                "Note over App,M: refused: {}",
                e.as_str().unwrap_or_default()
            )
        } else {
            return;
        };
        self.line(clean(text));
    }
}

/// A `recv_raw` string as the frame it is, if it is JSON.
fn raw(v: &Value) -> Value {
    let s = v.as_str().unwrap_or_default();
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned()))
}

/// A frame's label: its kind and the members that say most about it.
fn frame(v: &Value) -> String {
    match v {
        Value::Object(o) if o.contains_key("jsonrpc") => jsonrpc(o),
        Value::Object(o) => {
            let mut parts: Vec<String> = Vec::new();
            for tag in ["messageType", "handshake", "request", "response", "event"] {
                if let Some(t) = o.get(tag).and_then(Value::as_str) {
                    parts.push(t.to_owned());
                }
            }
            for key in ["state", "event", "reason", "code", "line"] {
                if let Some(s) = o.get(key).filter(|s| !s.is_object() && !s.is_array()) {
                    let value = scalar(s);
                    if parts.contains(&value) {
                        continue;
                    }
                    // A Loop action's event is what the action is.
                    parts.push(if key == "event" {
                        value
                    } else {
                        format!("{key} {value}")
                    });
                }
            }
            if parts.is_empty() {
                "object without a kind".into()
            } else {
                parts.join(" ")
            }
        }
        Value::Array(a) => match a.first() {
            Some(Value::Object(o)) if o.contains_key("jsonrpc") => {
                format!("batch of {}: {} …", a.len(), jsonrpc(o))
            }
            _ => format!("array of {}", a.len()),
        },
        Value::String(s) => format!("text {}", short(s)),
        other => format!("JSON {}", short(&other.to_string())),
    }
}

fn jsonrpc(o: &Map<String, Value>) -> String {
    let id = o
        .get("id")
        .map(|i| format!(" id {}", scalar(i)))
        .unwrap_or_default();
    if let Some(m) = o.get("method").and_then(Value::as_str) {
        let event = o.get("params").and_then(|p| p["event"].as_str());
        return match event {
            Some(e) => format!("{m} {e}"),
            None => format!("{m}{id}"),
        };
    }
    if let Some(r) = o.get("result") {
        return format!("result{id} {}", r["event"].as_str().unwrap_or_default());
    }
    if let Some(e) = o.get("error") {
        return format!(
            "error{id} {} {}",
            scalar(&e["code"]),
            short(e["message"].as_str().unwrap_or_default())
        );
    }
    "JSON-RPC without method, result or error".into()
}

/// An object's `first` member, then up to two other scalar members as `key value`.
fn members(v: &Value, first: &str) -> String {
    let Some(o) = v.as_object() else {
        return short(&v.to_string());
    };
    let mut parts = vec![o.get(first).map(scalar).unwrap_or_default()];
    for (k, m) in o {
        if k != first && !m.is_object() && !m.is_array() && !m.is_null() && parts.len() < 3 {
            parts.push(format!("{k} {}", scalar(m)));
        }
    }
    parts.join(" ")
}

fn call_text(v: &Value) -> String {
    match v.as_object().and_then(|o| o.iter().next()) {
        Some((name, args)) => {
            // A call that hands the machine a message (a WTSP request or event) shows it as
            // a frame; any other, its first arguments.
            let message = ["request", "event", "handshake", "response"]
                .iter()
                .any(|t| args.get(t).is_some_and(Value::is_string));
            let args = if message {
                frame(args)
            } else {
                members(args, "")
            };
            format!(
                "{name}{}",
                if args.trim().is_empty() {
                    String::new()
                } else {
                    format!(" ({})", args.trim())
                }
            )
        }
        None => "call".into(),
    }
}

fn open_text(v: &Value) -> String {
    let url = v["url"]
        .as_str()
        .map(|u| u.split('?').next().unwrap_or(u).to_owned());
    let call = v["call_id"].as_str().map(|c| format!("call {c}"));
    url.or(call).unwrap_or_default()
}

fn close_text(v: &Value) -> String {
    let code = v.get("code").map(scalar).unwrap_or_default();
    let reason = v["reason"].as_str().unwrap_or_default();
    format!("{code} {}", short(reason)).trim().to_owned()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => short(s),
        other => short(&other.to_string()),
    }
}

/// At most 40 characters.
fn short(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Mermaid reads `;`, `#` and quotes in a message as syntax, and a message is one line.
fn clean(s: String) -> String {
    s.replace([';', '\n', '\r'], " ")
        .replace('"', "'")
        .replace('#', "no. ")
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_exchange_is_drawn_with_its_peer_and_deadlines() {
        let script = "{\"machine\": \"progress-client\", \"config\": {\"role\": \"caller\", \"auth\": \"t\"}}\n\
            {\"at\": 0, \"open\": {}}\n\
            {\"at\": 5, \"recv\": {\"messageType\": \"hello\", \"state\": \"init\"}}\n\
            {\"at\": 40000}";
        let d = mermaid(script).unwrap();
        let expected = "sequenceDiagram
    participant App as application
    participant M as progress-client
    participant P as coordinator
    Note over App,M: 0 ms
    P->>M: open
    M->>P: hello
    Note right of M: next deadline 5000 ms
    Note over App,M: 5 ms
    P->>M: hello state init
    M-->>App: state_changed state init
    Note right of M: no deadline
    Note over App,M: 40000 ms
";
        assert_eq!(d, expected, "{d}");
    }

    #[test]
    fn a_server_draws_each_connection_and_fired_timers() {
        let script = "{\"machine\": \"wtsp-server\", \"config\": {}}\n\
            {\"at\": 0, \"conn\": \"a\", \"open\": {\"url\": \"/signaling/v1?token=t\", \"protocols\": [\"chat\"]}}";
        let d = mermaid(script).unwrap();
        assert!(d.contains("participant C0 as conn a\n"), "{d}");
        assert!(d.contains("C0->>M: open /signaling/v1\n"), "{d}");
        assert!(d.contains("M-xC0: close 1002"), "{d}");
    }

    #[test]
    fn labels_never_carry_mermaid_syntax() {
        assert_eq!(clean("a;b#c\"d".into()), "a bno. c'd");
        assert_eq!(short(&"x".repeat(50)).chars().count(), 41);
    }

    #[test]
    fn a_malformed_transcript_is_refused() {
        assert!(mermaid("").is_err());
        assert!(mermaid("{\"machine\": \"fax\"}").is_err());
    }
}
