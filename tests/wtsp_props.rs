//! Invariants of the WTSP codec and machines under random inputs and schedules.

use std::collections::{BTreeMap, BTreeSet};

use callsig::wtsp::{
    Attach, Client, ClientConfig, ClientEvent, ClientOutput, Jsep, Line, Message, RequestKind,
    ResponseKind, Server, ServerConfig, ServerEvent, ServerOutput, TransactionId,
};
use callsig::CloseCode;
use callsig::Timestamp;
use proptest::prelude::*;

// ---- codec -----------------------------------------------------------------------------

const KEYS: &[&str] = &[
    "handshake",
    "request",
    "response",
    "event",
    "transaction",
    "line",
    "call_id",
    "number",
    "jsep",
    "candidate",
    "code",
    "reason",
    "lines",
    "registration",
    "data",
    "refer_id",
    "settings",
];
const NAMES: &[&str] = &[
    "state",
    "keepalive",
    "outgoing_call",
    "accept",
    "hangup",
    "ack",
    "error",
    "incoming_call",
    "hangup",
    "transfer",
    "ice_trickle",
    "x",
];

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        proptest::sample::select(NAMES).prop_map(serde_json::Value::from),
        ".{0,8}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                proptest::sample::select(KEYS).prop_map(String::from),
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn decoding_any_text_never_panics(text in ".{0,200}") {
        let _ = Message::decode(&text);
    }

    /// The reader's one-pass path takes members before the kind tag as raw text and reads
    /// them after it; whatever the order, a frame reads as the same message (or fails).
    /// (Can fail: with the members before the tag dropped, `{"line":0,"event":"x"}`
    /// loses its line.)
    #[test]
    fn member_order_does_not_change_what_a_frame_reads_as(
        others in prop::collection::btree_map(proptest::sample::select(KEYS), json_value(), 0..8),
        tag in proptest::sample::select(&KEYS[..4]),
        name in proptest::sample::select(NAMES),
        turn in 0usize..8,
    ) {
        let mut members: BTreeMap<&str, serde_json::Value> = others;
        members.insert(tag, name.into());
        let mut members: Vec<(String, serde_json::Value)> =
            members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let write = |members: &[(String, serde_json::Value)]| {
            let inner: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
                .collect();
            format!("{{{}}}", inner.join(","))
        };
        let sorted = Message::decode(&write(&members));
        if !members.is_empty() {
            let turn = turn % members.len();
            members.rotate_left(turn);
        }
        let turned = Message::decode(&write(&members));
        members.reverse();
        let reversed = Message::decode(&write(&members));
        prop_assert_eq!(sorted.is_ok(), turned.is_ok());
        prop_assert_eq!(sorted.is_ok(), reversed.is_ok());
        // An unknown event keeps its text as written, so messages are compared as written
        // back, as JSON trees (whose members have no order).
        let tree = |m: Message| serde_json::from_str::<serde_json::Value>(&m.encode()).unwrap();
        if let (Ok(a), Ok(b), Ok(c)) = (sorted, turned, reversed) {
            let a = tree(a);
            prop_assert_eq!(&a, &tree(b));
            prop_assert_eq!(&a, &tree(c));
        }
    }

    #[test]
    fn decoding_wtsp_shaped_json_never_panics_and_rereads_what_it_writes(v in json_value()) {
        if let Ok(m) = Message::decode(&v.to_string()) {
            let again = Message::decode(&m.encode()).expect("what the writer writes, the reader reads");
            prop_assert_eq!(again.encode(), m.encode());
        }
    }

    #[test]
    fn requests_round_trip(number in "[0-9+]{1,12}", call_id in "[a-z0-9-]{1,20}", sdp in ".{0,40}", tx in 0u64..1_000_000, line in prop::option::of(0u32..4)) {
        let line = line.map_or(Line::Guest, Line::Index);
        for kind in [
            RequestKind::OutgoingCall { number: number.clone(), jsep: Jsep::offer(sdp.clone()), from: None, refer_id: Some(tx.to_string()), replaces: None },
            RequestKind::Accept { jsep: Jsep::answer(sdp.clone()) },
            RequestKind::Transfer { number: number.clone(), replace_call_id: Some(call_id.clone()) },
            RequestKind::Hangup,
        ] {
            let m = Message::Request(callsig::wtsp::Request { transaction: format!("transaction-{tx}"), line: Some(line), call_id: Some(call_id.clone()), kind });
            prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }
    }
}

// ---- client ----------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum ClientOp {
    Connect,
    Open,
    Close(Option<u16>),
    Frame(String),
    Request(u8, u32),
    Disconnect,
    Wait(u64),
    Checkpoint,
}

fn server_frame() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r#"{"handshake":"state","keepalive_interval":30000,"timestamp":1,"registration":{"status":"registered"},"lines":[null,null]}"#.to_owned()),
        Just(r#"{"handshake":"state","timestamp":1,"registration":{"status":"registered"},"lines":[{"call_id":"c1","call_logs":[[1,{"event":"incoming_call"}]]},null]}"#.to_owned()),
        (1u64..12).prop_map(|n| format!(r#"{{"response":"ack","transaction":"transaction-{n}"}}"#)),
        (1u64..12).prop_map(|n| format!(r#"{{"response":"error","transaction":"transaction-{n}","code":503,"reason":"busy line"}}"#)),
        (1u64..12).prop_map(|n| format!(r#"{{"handshake":"keepalive","transaction":"transaction-{n}"}}"#)),
        (0u32..3, proptest::sample::select(&["incoming_call", "calling", "ringing", "accepted", "hangup", "hangingup", "x"][..]))
            .prop_map(|(l, e)| format!(r#"{{"event":"{e}","line":{l},"call_id":"c{l}"}}"#)),
        ".{0,30}",
        json_value().prop_map(|v| v.to_string()),
    ]
}

fn client_op() -> impl Strategy<Value = ClientOp> {
    prop_oneof![
        1 => Just(ClientOp::Connect),
        2 => Just(ClientOp::Open),
        1 => proptest::option::of(proptest::sample::select(&[1000u16, 1006, 4201, 4441, 4431, 4502][..])).prop_map(ClientOp::Close),
        5 => server_frame().prop_map(ClientOp::Frame),
        3 => (0u8..4, 0u32..3).prop_map(|(k, l)| ClientOp::Request(k, l)),
        1 => Just(ClientOp::Disconnect),
        4 => prop_oneof![0u64..100, 0u64..40_000].prop_map(ClientOp::Wait),
        1 => Just(ClientOp::Checkpoint),
    ]
}

fn request_kind(k: u8) -> RequestKind {
    match k {
        0 => RequestKind::OutgoingCall {
            number: "1".into(),
            jsep: Jsep::offer("v=0"),
            from: None,
            refer_id: None,
            replaces: None,
        },
        1 => RequestKind::Hangup,
        2 => RequestKind::Accept {
            jsep: Jsep::answer("v=0"),
        },
        _ => RequestKind::PresenceUpdate {
            settings: serde_json::json!({}),
        },
    }
}

/// Drains a client, recording transaction endings; returns the deadline.
fn drain_client(
    c: &mut Client,
    ended: &mut BTreeMap<TransactionId, usize>,
    log: &mut Vec<ClientOutput>,
) -> Option<Timestamp> {
    loop {
        let o = c.poll_output();
        if let ClientOutput::Event(ClientEvent::TransactionEnded { transaction, .. }) = &o {
            *ended.entry(*transaction).or_default() += 1;
        }
        if let ClientOutput::Timeout(d) = o {
            return d;
        }
        log.push(o);
    }
}

fn run_client(
    c: &mut Client,
    ops: &[ClientOp],
    now: &mut u64,
    issued: &mut BTreeSet<TransactionId>,
    ended: &mut BTreeMap<TransactionId, usize>,
    log: &mut Vec<ClientOutput>,
) -> Result<(), TestCaseError> {
    let mut deadline = drain_client(c, ended, log);
    for op in ops {
        match op {
            ClientOp::Connect => {
                let _ = c.connect(Timestamp::from_millis(*now));
            }
            ClientOp::Open => {
                let _ = c.handle_open(Timestamp::from_millis(*now));
            }
            ClientOp::Close(code) => {
                c.handle_close(Timestamp::from_millis(*now), code.map(CloseCode::from), "")
            }
            ClientOp::Frame(f) => c.handle_frame(Timestamp::from_millis(*now), f),
            ClientOp::Request(k, l) => {
                if let Ok(tx) = c.request(
                    Timestamp::from_millis(*now),
                    Some(Line::Index(*l)),
                    Some(format!("c{l}")),
                    request_kind(*k),
                ) {
                    prop_assert!(issued.insert(tx), "transaction ids are unique");
                }
            }
            ClientOp::Disconnect => c.disconnect(Timestamp::from_millis(*now)),
            ClientOp::Wait(dt) => {
                let target = *now + dt;
                while let Some(d) = deadline.filter(|d| d.as_millis() <= target) {
                    *now = d.as_millis().max(*now);
                    c.handle_timeout(Timestamp::from_millis(*now));
                    deadline = drain_client(c, ended, log);
                    prop_assert!(
                        deadline.is_none_or(|n| n.as_millis() > *now),
                        "the deadline moves past now"
                    );
                }
                *now = target;
                continue;
            }
            ClientOp::Checkpoint => {}
        }
        deadline = drain_client(c, ended, log);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn client_invariants(ops in prop::collection::vec(client_op(), 0..60), split in 0usize..60) {
        let mut c = Client::new(ClientConfig::new("wss://h", "t"));
        let (mut now, mut issued, mut ended, mut log) = (0, BTreeSet::new(), BTreeMap::new(), Vec::new());
        let split = split.min(ops.len());
        run_client(&mut c, &ops[..split], &mut now, &mut issued, &mut ended, &mut log)?;

        // Checkpoint → restore → the same future, byte for byte.
        let json = serde_json::to_string(&c).unwrap();
        let mut restored: Client = serde_json::from_str(&json).unwrap();
        let (mut now2, mut issued2, mut ended2, mut log2) = (now, issued.clone(), ended.clone(), Vec::new());
        run_client(&mut c, &ops[split..], &mut now, &mut issued, &mut ended, &mut log)?;
        run_client(&mut restored, &ops[split..], &mut now2, &mut issued2, &mut ended2, &mut log2)?;
        let tail = &log[log.len() - log2.len()..];
        prop_assert_eq!(tail, &log2[..]);

        // Every transaction ends at most once, and once the client is stopped and time
        // runs out, exactly once.
        c.disconnect(Timestamp::from_millis(now));
        run_client(&mut c, &[ClientOp::Wait(1_000_000)], &mut now, &mut issued, &mut ended, &mut log)?;
        for tx in &issued {
            prop_assert_eq!(ended.get(tx).copied(), Some(1), "{} ended {:?} times", tx, ended.get(tx));
        }
        prop_assert!(ended.values().all(|n| *n == 1));
    }
}

// ---- server ----------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum ServerOp {
    Open(u8, u8),
    Attach(u8, u8),
    Frame(u8, String),
    Respond(u8, u64, bool),
    Event(u8, String),
    Close(u8),
    Wait(u64),
}

fn client_frame() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u64..8).prop_map(|n| format!(r#"{{"handshake":"keepalive","transaction":"transaction-{n}"}}"#)),
        (1u64..8, 0u32..3, 0u8..3).prop_map(|(n, l, c)| format!(r#"{{"request":"outgoing_call","transaction":"transaction-{n}","line":{l},"call_id":"c{c}","number":"1","jsep":{{"type":"offer","sdp":""}}}}"#)),
        (1u64..8, 0u32..3, 0u8..3).prop_map(|(n, l, c)| format!(r#"{{"request":"hangup","transaction":"transaction-{n}","line":{l},"call_id":"c{c}"}}"#)),
        (1u64..8).prop_map(|n| format!(r#"{{"request":"presence_update","transaction":"transaction-{n}","settings":{{}}}}"#)),
        (1u64..8).prop_map(|n| format!(r#"{{"request":"warp","transaction":"transaction-{n}"}}"#)),
        ".{0,20}",
        json_value().prop_map(|v| v.to_string()),
    ]
}

fn server_op() -> impl Strategy<Value = ServerOp> {
    prop_oneof![
        2 => (0u8..3, 0u8..4).prop_map(|(c, u)| ServerOp::Open(c, u)),
        2 => (0u8..3, 0u8..2).prop_map(|(c, a)| ServerOp::Attach(c, a)),
        6 => (0u8..3, client_frame()).prop_map(|(c, f)| ServerOp::Frame(c, f)),
        3 => (0u8..3, 1u64..8, any::<bool>()).prop_map(|(c, n, ok)| ServerOp::Respond(c, n, ok)),
        2 => (0u8..2, (proptest::sample::select(&["incoming_call", "accepted", "hangup", "registered"][..]), 0u8..3))
            .prop_map(|(a, (e, c))| ServerOp::Event(a, format!(r#"{{"event":"{e}","call_id":"c{c}"}}"#))),
        1 => (0u8..3).prop_map(ServerOp::Close),
        3 => prop_oneof![0u64..100, 0u64..70_000].prop_map(ServerOp::Wait),
    ]
}

#[derive(Default)]
struct ServerWatch {
    open: BTreeSet<u8>,
    /// (conn, transaction) → responses sent, for requests the application was given.
    forwarded: BTreeMap<(u8, String), usize>,
    responses: BTreeMap<(u8, String), usize>,
}

fn drain_server(
    s: &mut Server<u8>,
    w: &mut ServerWatch,
) -> Result<Option<Timestamp>, TestCaseError> {
    loop {
        match s.poll_output() {
            ServerOutput::Timeout(d) => return Ok(d),
            ServerOutput::Transmit { conn, text } => {
                prop_assert!(
                    w.open.contains(&conn),
                    "nothing is sent to a closed connection"
                );
                if let Ok(Message::Response(r)) = Message::decode(&text) {
                    *w.responses.entry((conn, r.transaction)).or_default() += 1;
                }
            }
            ServerOutput::Close { conn, .. } => {
                w.open.remove(&conn);
            }
            ServerOutput::Event(ServerEvent::Request { conn, request, .. }) => {
                w.forwarded.insert((conn, request.transaction), 0);
            }
            ServerOutput::Event(ServerEvent::Closed { conn, .. }) => {
                w.open.remove(&conn);
                w.forwarded.retain(|(c, _), _| *c != conn);
                w.responses.retain(|(c, _), _| *c != conn);
            }
            ServerOutput::Event(_) => {}
            _ => {}
        }
    }
}

fn run_server(
    s: &mut Server<u8>,
    ops: &[ServerOp],
    now: &mut u64,
    w: &mut ServerWatch,
) -> Result<Vec<String>, TestCaseError> {
    let mut trace = Vec::new();
    let mut deadline = drain_server(s, w)?;
    for op in ops {
        let at = Timestamp::from_millis(*now);
        match op {
            ServerOp::Open(c, u) => {
                let url = [
                    "/signaling/v1?token=t",
                    "/signaling/v1?token=t&force=true",
                    "/nope",
                    "/signaling/v1",
                ][*u as usize];
                if s.handle_open(at, *c, url, &["webtrit-protocol"]).is_ok() {
                    w.open.insert(*c);
                }
            }
            ServerOp::Attach(c, a) => {
                let account = ["alice", "bob"][*a as usize].to_owned();
                let _ = s.attach(
                    at,
                    c,
                    Attach {
                        account,
                        timestamp: 1,
                        registration: None,
                    },
                );
            }
            ServerOp::Frame(c, f) => {
                // A request reusing a transaction id after its answer starts a new
                // transaction (a keepalive's transaction is not a request's).
                let tx = serde_json::from_str::<serde_json::Value>(f)
                    .ok()
                    .filter(|v| v.get("request").is_some())
                    .and_then(|v| {
                        v.get("transaction")
                            .and_then(|t| t.as_str())
                            .map(str::to_owned)
                    });
                if let Some(tx) = tx {
                    if !s.pending_requests(c).contains(&tx.as_str()) {
                        w.responses.remove(&(*c, tx));
                    }
                }
                let _ = s.handle_frame(at, c, f);
            }
            ServerOp::Respond(c, n, ok) => {
                let kind = if *ok {
                    ResponseKind::Ack
                } else {
                    ResponseKind::Error {
                        code: 486,
                        reason: "busy".into(),
                    }
                };
                let _ = s.respond(at, c, &format!("transaction-{n}"), kind);
            }
            ServerOp::Event(a, e) => {
                if let Ok(Message::Event(ev)) = Message::decode(e) {
                    let _ = s.send_event(at, ["alice", "bob"][*a as usize], ev);
                }
            }
            ServerOp::Close(c) => {
                let _ = s.handle_close(at, c, Some(CloseCode::from(1006)));
            }
            ServerOp::Wait(dt) => {
                let target = *now + dt;
                while let Some(d) = deadline.filter(|d| d.as_millis() <= target) {
                    *now = d.as_millis().max(*now);
                    s.handle_timeout(Timestamp::from_millis(*now));
                    deadline = drain_server(s, w)?;
                    prop_assert!(
                        deadline.is_none_or(|n| n.as_millis() > *now),
                        "the deadline moves past now"
                    );
                }
                *now = target;
                continue;
            }
        }
        deadline = drain_server(s, w)?;
        for (key, n) in &w.responses {
            prop_assert!(*n <= 1, "{:?} answered {} times", key, n);
        }
        trace.push(serde_json::to_string(&s).unwrap());
    }
    Ok(trace)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn server_invariants(ops in prop::collection::vec(server_op(), 0..60), split in 0usize..60) {
        let mut config = ServerConfig::default();
        config.lines = 2;
        let mut s: Server<u8> = Server::new(config);
        let mut w = ServerWatch::default();
        let mut now = 0;
        let split = split.min(ops.len());
        run_server(&mut s, &ops[..split], &mut now, &mut w)?;

        let mut restored: Server<u8> = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        prop_assert!(restored == s);
        // Every account taken out, through JSON, and put back: the same server.
        let mut moved = s.clone();
        let parts: Vec<String> = ["alice", "bob"]
            .iter()
            .filter_map(|a| moved.take_account(a).ok())
            .map(|p| serde_json::to_string(&p).unwrap())
            .collect();
        for p in parts {
            moved.put_account(serde_json::from_str(&p).unwrap()).unwrap();
        }
        prop_assert!(moved == s, "take_account then put_account changed the server");
        let mut w2 = ServerWatch { open: w.open.clone(), forwarded: w.forwarded.clone(), responses: w.responses.clone() };
        let mut w3 = ServerWatch { open: w.open.clone(), forwarded: w.forwarded.clone(), responses: w.responses.clone() };
        let (mut now2, mut now3) = (now, now);
        let a = run_server(&mut s, &ops[split..], &mut now, &mut w)?;
        let b = run_server(&mut restored, &ops[split..], &mut now2, &mut w2)?;
        let c = run_server(&mut moved, &ops[split..], &mut now3, &mut w3)?;
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &c);

        // Once the request timeout has passed, every forwarded request on an open
        // connection has had exactly one response.
        run_server(&mut s, &[ServerOp::Wait(10_000)], &mut now, &mut w)?;
        for key in w.forwarded.keys() {
            if w.open.contains(&key.0) {
                prop_assert_eq!(w.responses.get(key).copied(), Some(1), "{:?}", key);
            }
        }
    }
}
