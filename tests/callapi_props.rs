//! Invariants of the Call API machines, and the server's batches against a reference model
//! of the JSON-RPC 2.0 specification.

use std::collections::{BTreeMap, BTreeSet};

use callsig::callapi::jsonrpc::{INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND};
use callsig::callapi::{
    Client, ClientConfig, ClientEvent, ClientOutput, Server, ServerConfig, ServerEvent,
    ServerOutput,
};
use callsig::Timestamp;
use proptest::prelude::*;
use serde_json::{json, Value};

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

// ---- batches against a reference model ---------------------------------------------------

fn element() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        (0u32..5).prop_map(|n| Some(json!(n))),
        "[a-c]{1,2}".prop_map(|s| Some(json!(s))),
        Just(Some(json!({"x": 1}))),
    ];
    let method = prop_oneof![
        Just(json!("Echo")),
        Just(json!("CallEnd")),
        Just(json!("Nope")),
        Just(json!(7))
    ];
    let params = prop_oneof![
        Just(None),
        Just(Some(json!({"callid": "c"}))),
        Just(Some(json!({}))),
        Just(Some(json!([1]))),
        Just(Some(json!("s"))),
    ];
    let version =
        prop_oneof![4 => Just(Some(json!("2.0"))), 1 => Just(Some(json!("1.0"))), 1 => Just(None)];
    prop_oneof![
        8 => (id, method, params, version).prop_map(|(id, method, params, version)| {
            let mut m = serde_json::Map::new();
            if let Some(v) = version { m.insert("jsonrpc".into(), v); }
            m.insert("method".into(), method);
            if let Some(p) = params { m.insert("params".into(), p); }
            if let Some(i) = id { m.insert("id".into(), i); }
            Value::Object(m)
        }),
        1 => Just(json!(1)),
        1 => Just(json!({"foo": "boo"})),
    ]
}

/// The specification's answer to one element: `None` for none, else (id, code or 0 for a
/// result).
fn reference(e: &Value) -> Option<(Value, i64)> {
    let Value::Object(m) = e else {
        return Some((Value::Null, INVALID_REQUEST));
    };
    let id = m.get("id");
    let valid_id = id.is_none_or(|i| i.is_string() || i.is_number() || i.is_null());
    if !valid_id {
        return Some((Value::Null, INVALID_REQUEST));
    }
    let reply_id = id.cloned().unwrap_or(Value::Null);
    let bad = m.get("jsonrpc") != Some(&json!("2.0"))
        || !m.get("method").is_some_and(Value::is_string)
        || m.get("params")
            .is_some_and(|p| !p.is_object() && !p.is_array());
    if bad {
        return Some((reply_id, INVALID_REQUEST));
    }
    id?;
    let code = match m["method"].as_str() {
        Some("Echo") => match m.get("params") {
            Some(Value::Array(_)) => INVALID_PARAMS,
            _ => 0,
        },
        Some("CallEnd") => match m.get("params") {
            Some(Value::Object(p)) if p.get("callid").is_some() => 0,
            _ => INVALID_PARAMS,
        },
        _ => METHOD_NOT_FOUND,
    };
    Some((reply_id, code))
}

fn answers(v: &Value) -> Vec<(Value, i64)> {
    let items = match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    items
        .into_iter()
        .map(|r| {
            let code = r
                .get("error")
                .and_then(|e| e.get("code"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            (r["id"].clone(), code)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn batch_answers_match_the_specification(batch in prop::collection::vec(element(), 0..8)) {
        let mut s = Server::new(ServerConfig::default());
        s.handle_frame(t(0), &(), &Value::Array(batch.clone()).to_string());
        let mut frames = Vec::new();
        loop {
            match s.poll_output() {
                ServerOutput::Timeout(_) => break,
                ServerOutput::Transmit { text, .. } => frames.push(serde_json::from_str::<Value>(&text).unwrap()),
                ServerOutput::Event(_) => {}
                _ => {}
            }
        }
        let mut expected: Vec<(Value, i64)> = batch.iter().filter_map(reference).collect();
        if batch.is_empty() {
            expected = vec![(Value::Null, INVALID_REQUEST)];
        }
        // The batch answer (if any) is the first frame; notifications follow.
        let mut got = match frames.first() {
            Some(Value::Array(_)) => answers(&frames[0]),
            Some(single) if single.get("method").is_none() => answers(single),
            _ => Vec::new(),
        };
        if batch.is_empty() {
            prop_assert!(!frames[0].is_array(), "[] is answered with a single error");
        }
        let key = |v: &(Value, i64)| (v.0.to_string(), v.1);
        expected.sort_by_key(key);
        got.sort_by_key(key);
        prop_assert_eq!(got, expected);
    }
}

// ---- every command ends exactly once ------------------------------------------------------

#[derive(Clone, Debug)]
enum SOp {
    Request(u8, bool),
    Notify(u8),
    Fail(u8),
    End(u8),
    Garbage(String),
    Wait(u64),
    Close,
}

fn sop() -> impl Strategy<Value = SOp> {
    prop_oneof![
        4 => (0u8..6, any::<bool>()).prop_map(|(c, id)| SOp::Request(c, id)),
        2 => (0u8..6).prop_map(SOp::Notify),
        2 => (0u8..6).prop_map(SOp::Fail),
        2 => (0u8..6).prop_map(SOp::End),
        1 => ".{0,20}".prop_map(SOp::Garbage),
        2 => prop_oneof![0u64..100, 0u64..200_000].prop_map(SOp::Wait),
        1 => Just(SOp::Close),
    ]
}

#[derive(Default)]
struct SWatch {
    started: BTreeSet<String>,
    ended: BTreeMap<String, usize>,
    cancelled: BTreeSet<String>,
}

fn drain_server(s: &mut Server, w: &mut SWatch) -> Result<Option<Timestamp>, TestCaseError> {
    loop {
        match s.poll_output() {
            ServerOutput::Timeout(d) => return Ok(d),
            ServerOutput::Transmit { text, .. } => {
                let v: Value = serde_json::from_str(&text).unwrap();
                for m in v.as_array().cloned().unwrap_or_else(|| vec![v.clone()]) {
                    if let Some(c) = m
                        .get("result")
                        .and_then(|r| r.get("cmd_id"))
                        .and_then(Value::as_str)
                    {
                        // A cmd_id may live again once ended: a new Started (or, for an
                        // Echo sent as a notification, its Reply) begins a new life.
                        w.started.insert(c.to_owned());
                        w.ended.remove(c);
                    }
                    let p = &m["params"];
                    if let (Some(c), Some(e)) = (p["cmd_id"].as_str(), p["event"].as_str()) {
                        if e == "Reply" {
                            w.ended.remove(c);
                        }
                        prop_assert!(!w.ended.contains_key(c), "{} sent after Ended", e);
                        if e == "Ended" {
                            w.ended.insert(c.to_owned(), 1);
                        }
                    }
                }
            }
            ServerOutput::Event(ServerEvent::CommandStarted { cmd_id, .. }) => {
                w.ended.remove(&*cmd_id);
                w.started.insert(cmd_id.to_string());
            }
            ServerOutput::Event(ServerEvent::CommandCancelled { cmd_id }) => {
                w.cancelled.insert(cmd_id.to_string());
            }
            ServerOutput::Event(_) => {}
            _ => {}
        }
    }
}

/// Feeds one op to the server (a `Wait` moves `now` on and fires timers).
fn apply_sop(s: &mut Server, op: &SOp, now: &mut u64) {
    let methods = [
        "CallEnd",
        "CallHold",
        "Echo",
        "CallStart",
        "CallUnhold",
        "CallEnd",
    ];
    let at = t(*now);
    match op {
        SOp::Request(c, with_id) => {
            let method = methods[*c as usize];
            let mut m = json!({"jsonrpc": "2.0", "method": method,
                "params": {"callid": "x", "caller": "a", "callee": "b", "cmd_id": format!("c{c}")}});
            if *with_id {
                m["id"] = json!(c);
            }
            let _ = s.handle_frame(at, &(), &m.to_string());
        }
        SOp::Notify(c) => {
            let _ = s.notify(at, &format!("c{c}"), "Progressing", None);
        }
        SOp::Fail(c) => {
            let _ = s.fail(at, &format!("c{c}"), "503");
        }
        SOp::End(c) => {
            let _ = s.end(at, &format!("c{c}"));
        }
        SOp::Garbage(g) => {
            let _ = s.handle_frame(at, &(), g);
        }
        SOp::Close => {
            let _ = s.handle_close(at, &(), None);
        }
        SOp::Wait(dt) => {
            *now += dt;
            s.handle_timeout(t(*now));
        }
    }
}

/// Every output up to and including the deadline.
fn outputs(s: &mut Server) -> Vec<ServerOutput> {
    let mut v = Vec::new();
    loop {
        let o = s.poll_output();
        let last = matches!(o, ServerOutput::Timeout(_));
        v.push(o);
        if last {
            return v;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn server_checkpoint_and_restore_give_the_same_future(
        ops in prop::collection::vec(sop(), 0..40),
        split in 0usize..40,
    ) {
        let mut config = ServerConfig::default();
        config.max_running = 4;
        let mut s = Server::new(config);
        let split = split.min(ops.len());
        let mut now = 0u64;
        for op in &ops[..split] {
            apply_sop(&mut s, op, &mut now);
            outputs(&mut s);
        }
        let mut r: Server = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        prop_assert_eq!(&r, &s);
        let mut r_now = now;
        for op in &ops[split..] {
            apply_sop(&mut s, op, &mut now);
            apply_sop(&mut r, op, &mut r_now);
            prop_assert_eq!(outputs(&mut r), outputs(&mut s), "after {:?}", op);
            prop_assert_eq!(r.next_timer(), s.next_timer());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn server_commands_end_exactly_once(ops in prop::collection::vec(sop(), 0..40)) {
        let mut config = ServerConfig::default();
        config.max_running = 4;
        let mut s = Server::new(config);
        let mut w = SWatch::default();
        let mut now = 0u64;
        for op in &ops {
            apply_sop(&mut s, op, &mut now);
            let d = drain_server(&mut s, &mut w)?;
            prop_assert!(d.is_none_or(|d| d.as_millis() > now) || !matches!(op, SOp::Wait(_)));
        }
        s.handle_close(t(now), &(), None);
        drain_server(&mut s, &mut w)?;
        // Every command ended (Ended sent) or was cancelled by the close.
        for c in s.running() {
            prop_assert!(false, "{:?} still running after close", c);
        }
        prop_assert!(s.next_timer().is_none());
        for c in &w.started {
            prop_assert!(w.ended.contains_key(c) || w.cancelled.contains(c), "{} never ended", c);
        }
    }
}

// ---- client: every command ends exactly once, checkpoint/restore ------------------------

#[derive(Clone, Debug)]
enum COp {
    Command(u8),
    Result(u8, bool),
    Error(u8),
    Notify(u8, u8, bool),
    Garbage(String),
    Wait(u64),
    Close,
}

fn cop() -> impl Strategy<Value = COp> {
    prop_oneof![
        3 => (0u8..4).prop_map(COp::Command),
        3 => (1u8..6, any::<bool>()).prop_map(|(n, own)| COp::Result(n, own)),
        1 => (0u8..6).prop_map(COp::Error),
        5 => (1u8..6, 0u8..5, any::<bool>()).prop_map(|(n, e, status)| COp::Notify(n, e, status)),
        1 => ".{0,20}".prop_map(COp::Garbage),
        2 => prop_oneof![0u64..100, 0u64..200_000].prop_map(COp::Wait),
        1 => Just(COp::Close),
    ]
}

fn run_client(
    c: &mut Client,
    ops: &[COp],
    now: &mut u64,
    issued: &mut Vec<String>,
    ended: &mut BTreeMap<String, usize>,
    log: &mut Vec<ClientOutput>,
) -> Result<(), TestCaseError> {
    let drain = |c: &mut Client,
                 ended: &mut BTreeMap<String, usize>,
                 log: &mut Vec<ClientOutput>|
     -> Option<Timestamp> {
        loop {
            match c.poll_output() {
                ClientOutput::Timeout(d) => return d,
                o => {
                    if let ClientOutput::Event(ClientEvent::Ended { cmd_id, .. }) = &o {
                        *ended.entry(cmd_id.to_string()).or_default() += 1;
                    }
                    log.push(o);
                }
            }
        }
    };
    drain(c, ended, log);
    for op in ops {
        let at = t(*now);
        match op {
            COp::Command(k) => {
                let method = ["CallStart", "CallEnd", "Echo", "CallHold"][*k as usize];
                if let Ok(id) = c.command(at, method, serde_json::Map::new()) {
                    issued.push(id.to_string());
                }
            }
            COp::Result(n, own) => {
                let cmd = if *own {
                    format!("cmd-{n}")
                } else {
                    format!("srv-{n}")
                };
                c.handle_frame(at, &json!({"jsonrpc": "2.0", "id": n, "result": {"cmd_id": cmd, "event": "Started"}}).to_string());
            }
            COp::Error(n) => c.handle_frame(
                at,
                &json!({"jsonrpc": "2.0", "id": n, "error": {"code": 32000, "message": "no"}})
                    .to_string(),
            ),
            COp::Notify(n, e, status) => {
                let event = ["Ended", "Error", "CallerAnswered", "Started", "Reply"][*e as usize];
                let key = if *status { "status" } else { "event" };
                let mut params = json!({"cmd_id": format!("cmd-{n}"), "data": "x"});
                params[key] = json!(event);
                c.handle_frame(
                    at,
                    &json!({"jsonrpc": "2.0", "method": "CallStart", "params": params}).to_string(),
                );
            }
            COp::Garbage(g) => c.handle_frame(at, g),
            COp::Close => c.handle_close(at, None, ""),
            COp::Wait(dt) => {
                *now += dt;
                c.handle_timeout(t(*now));
            }
        }
        let d = drain(c, ended, log);
        prop_assert!(d.is_none_or(|d| d.as_millis() > *now) || !matches!(op, COp::Wait(_)));
        prop_assert!(
            ended.values().all(|n| *n == 1),
            "a command ended twice: {:?}",
            ended
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn client_commands_end_exactly_once(ops in prop::collection::vec(cop(), 0..40), split in 0usize..40) {
        let mut c = Client::new(ClientConfig::default());
        let (mut now, mut issued, mut ended, mut log) = (0, Vec::new(), BTreeMap::new(), Vec::new());
        let split = split.min(ops.len());
        run_client(&mut c, &ops[..split], &mut now, &mut issued, &mut ended, &mut log)?;
        let mut r: Client = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        prop_assert_eq!(&r, &c);
        let (mut now2, mut issued2, mut ended2, mut log2) = (now, issued.clone(), ended.clone(), Vec::new());
        let before = log.len();
        run_client(&mut c, &ops[split..], &mut now, &mut issued, &mut ended, &mut log)?;
        run_client(&mut r, &ops[split..], &mut now2, &mut issued2, &mut ended2, &mut log2)?;
        prop_assert_eq!(&log[before..], &log2[..]);
        // Once the connection closes, every command has ended exactly once.
        run_client(&mut c, &[COp::Close], &mut now, &mut issued, &mut ended, &mut log)?;
        for id in &issued {
            prop_assert_eq!(ended.get(id).copied(), Some(1), "{}", id);
        }
    }
}

// ---- one pass and two passes -------------------------------------------------------------

/// A request frame as text, members in any order, params' members possibly repeated, of
/// another type, or not an object: written by hand, as serde_json would never repeat one.
fn request_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        4 => "[a-c]{0,3}".prop_map(|s| format!("{s:?}")),
        1 => Just(r#""s\"q""#.to_owned()),
        1 => Just("null".to_owned()),
        1 => Just("7".to_owned()),
        1 => Just(r#"{"x":[1,{"y":2}]}"#.to_owned()),
        1 => Just("[]".to_owned()),
    ];
    let name = prop::sample::select(vec![
        "caller",
        "callee",
        "callid",
        "callidA",
        "callidB",
        "cmd_id",
        "destination",
        "leg",
        "legA",
        "legB",
        "extra",
    ]);
    let leg = prop::sample::select(vec![r#""caller""#, r#""callee""#, r#""other""#]);
    let member = prop_oneof![
        4 => (name, value).prop_map(|(n, v)| format!("{n:?}:{v}")),
        1 => (prop::sample::select(vec!["leg", "legA", "legB"]), leg)
            .prop_map(|(n, v)| format!("{n:?}:{v}")),
    ];
    let params = prop_oneof![
        6 => prop::collection::vec(member, 0..7).prop_map(|m| format!("{{{}}}", m.join(","))),
        1 => Just("[1]".to_owned()),
        1 => Just(r#""s""#.to_owned()),
        1 => Just("null".to_owned()),
    ];
    let method = prop::sample::select(vec![
        r#""CallStart""#,
        r#""CallBlindTransfer""#,
        r#""CallAttendedTransfer""#,
        r#""CallHold""#,
        r#""CallUnhold""#,
        r#""CallEnd""#,
        r#""Echo""#,
        r#""Nope""#,
        "7",
    ]);
    let id = prop::sample::select(vec!["1", r#""a""#, "null", "-0", "1.50", "{}"]);
    let version = prop::sample::select(vec![r#""2.0""#, r#""1.0""#]);
    (
        method,
        prop::option::weighted(0.9, params),
        prop::option::weighted(0.9, id),
        prop::option::weighted(0.95, version),
        any::<prop::sample::Index>(),
        " ?",
    )
        .prop_map(|(method, params, id, version, order, space)| {
            let mut members = vec![format!(r#""method":{method}"#)];
            members.extend(params.map(|p| format!(r#""params":{p}"#)));
            members.extend(id.map(|i| format!(r#""id":{i}"#)));
            members.extend(version.map(|v| format!(r#""jsonrpc":{v}"#)));
            let len = members.len();
            members.rotate_left(order.index(len));
            format!("{{{}}}", members.join(&format!(",{space}")))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// A single request is read in one pass (its params with it) when it can be; the same
    /// request as the only element of a batch is read the general way (the envelope, then
    /// the params from their text). Both must be answered alike, events included.
    #[test]
    fn a_request_alone_is_answered_as_in_a_batch_of_one(text in request_text()) {
        let mut alone = Server::new(ServerConfig::default());
        let mut batch = Server::new(ServerConfig::default());
        alone.handle_frame(t(1), &(), &text);
        batch.handle_frame(t(1), &(), &format!("[{text}]"));
        let (a, mut b) = (outputs(&mut alone), outputs(&mut batch));
        if let Some(ServerOutput::Transmit { text: payload, .. }) = b.first_mut() {
            // The batch's answer array holds the one answer.
            if payload.starts_with('[') {
                *payload = payload[1..payload.len() - 1].to_owned();
            }
        }
        prop_assert_eq!(a, b, "{}", text);
    }
}

/// A message a server might send, as text: a notification whose params' members may be
/// repeated, of another type or missing, or a response (with a stray `params` at times).
fn message_text() -> impl Strategy<Value = String> {
    let cmd_id = prop::sample::select(vec![r#""cmd-1""#, r#""cmd-2""#, r#""srv-9""#, "7", "null"]);
    let event = prop::sample::select(vec![
        r#""CallerAnswered""#,
        r#""TransferStart""#,
        r#""CallHoldStart""#,
        r#""Ended""#,
        r#""Error""#,
        r#""Started""#,
        r#""Reply""#,
        r#""Odd""#,
        "7",
    ]);
    let data = prop::sample::select(vec![
        r#"{"caller":"a","callee":"b"}"#,
        r#"{"leg":"caller","extra":"e\"q"}"#,
        r#""x""#,
        r#"{"caller":7}"#,
        r#"{"x":{"y":[1]}}"#,
        "null",
        "[1]",
        r#"{"caller":"a","caller":"b"}"#,
    ]);
    let member = prop_oneof![
        2 => cmd_id.prop_map(|v| format!(r#""cmd_id":{v}"#)),
        2 => event.clone().prop_map(|v| format!(r#""event":{v}"#)),
        1 => event.prop_map(|v| format!(r#""status":{v}"#)),
        2 => data.prop_map(|v| format!(r#""data":{v}"#)),
        1 => Just(r#""other":[{}]"#.to_owned()),
    ];
    let params = prop_oneof![
        6 => prop::collection::vec(member, 0..5).prop_map(|m| format!("{{{}}}", m.join(","))),
        1 => Just("[1]".to_owned()),
        1 => Just("null".to_owned()),
    ];
    let method = prop::sample::select(vec![r#""CallStart""#, r#""CallEnd""#, "7"]);
    let notification = (method, prop::option::weighted(0.9, params)).prop_map(|(m, p)| match p {
        Some(p) => format!(r#"{{"jsonrpc":"2.0","method":{m},"params":{p}}}"#),
        None => format!(r#"{{"jsonrpc":"2.0","method":{m}}}"#),
    });
    let response = prop::sample::select(vec![
        r#"{"jsonrpc":"2.0","id":2,"result":{"cmd_id":"cmd-2","event":"Started"}}"#,
        r#"{"jsonrpc":"2.0","id":2,"result":{"cmd_id":"srv-9","event":"Started"}}"#,
        r#"{"params":{"cmd_id":"x"},"jsonrpc":"2.0","id":2,"result":{"cmd_id":"cmd-2"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"no"},"params":[1]}"#,
        r#"{"jsonrpc":"2.0","id":3}"#,
    ]);
    prop_oneof![4 => notification, 1 => response.prop_map(str::to_owned)]
}

/// A client with `cmd-1` started and `cmd-2` (id 2) awaiting its `Started`.
fn client_with_commands() -> Client {
    let mut c = Client::new(ClientConfig::default());
    for _ in 0..2 {
        c.command(t(0), "CallStart", serde_json::Map::new())
            .unwrap();
    }
    c.handle_frame(
        t(0),
        r#"{"jsonrpc":"2.0","id":1,"result":{"cmd_id":"cmd-1","event":"Started"}}"#,
    );
    while !matches!(c.poll_output(), ClientOutput::Timeout(_)) {}
    c
}

fn client_outputs(c: &mut Client) -> Vec<ClientOutput> {
    let mut v = Vec::new();
    loop {
        match c.poll_output() {
            ClientOutput::Timeout(d) => {
                v.push(ClientOutput::Timeout(d));
                return v;
            }
            o => v.push(o),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// A frame of one message is read in one pass (a notification's params with it) when
    /// it can be; the same message as the only element of a batch is read the general way.
    /// Both must be taken alike, notifications held for a command awaiting its `Started`
    /// included.
    #[test]
    fn a_message_alone_is_taken_as_in_a_batch_of_one(
        texts in prop::collection::vec(message_text(), 1..4),
    ) {
        let (mut alone, mut batch) = (client_with_commands(), client_with_commands());
        let last = r#"{"jsonrpc":"2.0","id":2,"result":{"cmd_id":"srv-9","event":"Started"}}"#;
        for text in texts.iter().map(String::as_str).chain([last]) {
            alone.handle_frame(t(1), text);
            batch.handle_frame(t(1), &format!("[{text}]"));
            prop_assert_eq!(client_outputs(&mut alone), client_outputs(&mut batch), "{}", text);
        }
    }
}
