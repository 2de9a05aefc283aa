//! Mutated checkpoints of all six machines, and mutated partitions (a Loop call, a WTSP
//! account) put into a running server: a checkpoint or partition is untrusted, so whatever
//! bytes or edits of a real one deserialise must give a machine that runs its script and
//! its timers without panicking (overflow checks on), with deadlines that move forward.
//!
//! The first byte picks the machine (6: a call partition, 7: an account partition). If the rest starts with `{` it is the checkpoint's
//! JSON text itself; otherwise it is a list of edits applied to the JSON tree of a real
//! checkpoint (replace a node, copy one node over another, remove one).

use arbitrary::{Arbitrary, Unstructured};
use callsig::{Input, Machine, Output, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// A machine whose checkpoints are fuzzed: one in an interesting state, and a script that
/// exercises what a checkpoint restores.
pub trait Subject: Machine + Serialize + DeserializeOwned {
    /// A machine mid-flow, whose checkpoint is the one edited.
    fn seed() -> Self;
    /// Inputs to a restored machine, before its timers run out.
    fn drive(&mut self);
}

/// Drains, then fires timers one by one (at most 64, each at its own deadline), draining
/// after each: the deadline must move forward every time.
pub fn run_out<M: Machine>(m: &mut M) {
    let drain = |m: &mut M| loop {
        if let Output::Timeout(d) = m.poll_output() {
            return d;
        }
    };
    let mut deadline = drain(m);
    for _ in 0..64 {
        let Some(d) = deadline else { break };
        m.handle_input(d, Input::Timeout)
            .expect("a timeout is never refused");
        deadline = drain(m);
        assert!(deadline.is_none_or(|n| n > d), "the deadline did not move");
    }
}

/// The values an edit puts in place of a node.
pub fn hostile() -> Vec<Value> {
    vec![
        json!(0),
        json!(1),
        json!(u32::MAX),
        json!(u64::MAX),
        json!(-1),
        json!(""),
        json!("x"),
        json!(null),
        json!(true),
        json!([]),
        json!({}),
    ]
}

/// Every node of `v`, as a JSON pointer (the root first).
pub fn pointers(v: &Value, here: String, out: &mut Vec<String>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(c, format!("{here}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{here}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[derive(Arbitrary, Debug)]
enum Edit {
    /// Node `at` becomes one of the hostile values.
    Hostile { at: u16, value: u8 },
    /// Node `at` becomes this number.
    Number { at: u16, value: u64 },
    /// Node `at` becomes this string.
    Text { at: u16, value: String },
    /// Node `to` becomes a copy of node `from`.
    Copy { from: u16, to: u16 },
    /// Node `at` leaves its array or object.
    Remove { at: u16 },
}

fn pick(paths: &[String], i: u16) -> &str {
    &paths[usize::from(i) % paths.len()]
}

fn apply(v: &mut Value, edit: Edit) {
    let mut paths = Vec::new();
    pointers(v, String::new(), &mut paths);
    let (at, new) = match edit {
        Edit::Hostile { at, value } => {
            let all = hostile();
            (at, all[usize::from(value) % all.len()].clone())
        }
        Edit::Number { at, value } => (at, json!(value)),
        Edit::Text { at, value } => (at, json!(value)),
        Edit::Copy { from, to } => {
            let copy = v
                .pointer(pick(&paths, from))
                .cloned()
                .unwrap_or(Value::Null);
            (to, copy)
        }
        Edit::Remove { at } => {
            let path = pick(&paths, at);
            let Some((parent, key)) = path.rsplit_once('/') else {
                return;
            };
            match v.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&key.replace("~1", "/").replace("~0", "~"));
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                }
                _ => {}
            }
            return;
        }
    };
    if let Some(node) = v.pointer_mut(pick(&paths, at)) {
        *node = new;
    }
}

/// The most JSON nodes an edited checkpoint may have: a few times the largest seed's.
pub const MAX_NODES: usize = 4096;

/// How many nodes `v` has, counting stops a little past `MAX_NODES`.
pub fn nodes(v: &Value) -> usize {
    fn walk(v: &Value, n: &mut usize) {
        *n += 1;
        if *n > MAX_NODES {
            return;
        }
        match v {
            Value::Object(m) => m.values().for_each(|c| walk(c, n)),
            Value::Array(a) => a.iter().for_each(|c| walk(c, n)),
            _ => {}
        }
    }
    let mut n = 0;
    walk(v, &mut n);
    n
}

/// Reads a `T` from `data`: its JSON text, or edits of the JSON tree of `seed`'s.
fn restore<T: Serialize + DeserializeOwned>(data: &[u8], seed: impl FnOnce() -> T) -> Option<T> {
    if data.first() == Some(&b'{') {
        return serde_json::from_slice::<T>(data).ok();
    }
    let edits = Vec::<Edit>::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    let mut v = serde_json::to_value(seed()).expect("a checkpoint serialises");
    for e in edits.into_iter().take(16) {
        apply(&mut v, e);
        // Copying a node into its own subtree doubles the tree: sixteen such edits would
        // make the harness, not the machine, the thing that runs out of memory.
        if nodes(&v) > MAX_NODES {
            return None;
        }
    }
    serde_json::from_value::<T>(v).ok()
}

/// Restores `M` from `data` (text or edits of its seed) and, when it restores, drives it:
/// whether it restored.
fn one<M: Subject>(data: &[u8]) -> bool {
    let Some(mut m) = restore(data, M::seed) else {
        return false;
    };
    m.drive();
    run_out(&mut m);
    true
}

/// The Loop seed server's call `c1`, taken out.
pub fn call_seed() -> callsig::progress::CallPartition<u32> {
    let mut s = <callsig::progress::Server<u32> as Subject>::seed();
    s.take_call("c1").expect("the seed's call")
}

/// The WTSP seed server's account `alice`, taken out.
pub fn account_seed() -> callsig::wtsp::AccountPartition<u32> {
    let mut s = <callsig::wtsp::Server<u32> as Subject>::seed();
    s.take_account("alice").expect("the seed's account")
}

/// A Loop call partition from `data`, put into a server that has its own call and
/// connections, then driven: whether it restored.
fn call_partition(data: &[u8]) -> bool {
    let Some(p) = restore(data, call_seed) else {
        return false;
    };
    let mut s = <callsig::progress::Server<u32> as Subject>::seed();
    let _ = s.take_call("c1");
    if s.put_call(p).is_ok() {
        s.drive();
    }
    run_out(&mut s);
    true
}

/// A WTSP account partition from `data`, put into a server that has another account and
/// connections, then driven: whether it restored.
fn account_partition(data: &[u8]) -> bool {
    let Some(p) = restore(data, account_seed) else {
        return false;
    };
    let mut s = <callsig::wtsp::Server<u32> as Subject>::seed();
    let _ = s.take_account("alice");
    if s.put_account(p).is_ok() {
        s.drive();
    }
    run_out(&mut s);
    true
}

pub fn run(data: &[u8]) {
    restores(data);
}

/// Runs `data` as `run` does: whether its checkpoint restored.
pub fn restores(data: &[u8]) -> bool {
    let Some((&which, rest)) = data.split_first() else {
        return false;
    };
    match which % 8 {
        0 => one::<callsig::progress::Server<u32>>(rest),
        1 => one::<callsig::progress::Client>(rest),
        2 => one::<callsig::wtsp::Server<u32>>(rest),
        3 => one::<callsig::wtsp::Client>(rest),
        4 => one::<callsig::callapi::Server>(rest),
        5 => one::<callsig::callapi::Client>(rest),
        6 => call_partition(rest),
        _ => account_partition(rest),
    }
}

/// The seed checkpoint of each machine, as `run` takes it: the machine's byte, then its
/// JSON text.
pub fn seeds() -> Vec<Vec<u8>> {
    fn with<M: Subject>(which: u8) -> Vec<u8> {
        text(which, M::seed())
    }
    fn text<T: Serialize>(which: u8, t: T) -> Vec<u8> {
        let mut v = vec![which];
        v.extend(serde_json::to_vec(&t).expect("a checkpoint serialises"));
        v
    }
    vec![
        with::<callsig::progress::Server<u32>>(0),
        with::<callsig::progress::Client>(1),
        with::<callsig::wtsp::Server<u32>>(2),
        with::<callsig::wtsp::Client>(3),
        with::<callsig::callapi::Server>(4),
        with::<callsig::callapi::Client>(5),
        text(6, call_seed()),
        text(7, account_seed()),
    ]
}

impl Subject for callsig::progress::Server<u32> {
    fn seed() -> Self {
        use callsig::progress::ServerConfig;
        let mut s = Self::new(ServerConfig::default());
        s.create_call(t(0), "c1", "tA", "tB").unwrap();
        s.create_call(t(0), "c2", "tC", "tD").unwrap();
        for (conn, auth) in [(1, "tA"), (2, "tB"), (3, "tB")] {
            s.handle_open(t(0), conn, Some("c1")).unwrap();
            let hello = format!(r#"{{"messageType":"hello","auth":"{auth}"}}"#);
            let _ = s.handle_frame(t(1), &conn, &hello);
        }
        s.handle_open(t(2), 4, None).unwrap();
        s.drain(|_| {});
        s
    }

    fn drive(&mut self) {
        for conn in 1..=4u32 {
            let accept = r#"{"messageType":"action","event":"accept"}"#;
            let _ = self.handle_frame(t(5), &conn, accept);
            let media_up = r#"{"messageType":"action","event":"media-up"}"#;
            let _ = self.handle_frame(t(6), &conn, media_up);
        }
        let _ = self.terminate_call(t(7), "c2", callsig::progress::Reason::Cancel);
        let _ = self.remove_call(t(8), "c1");
        let _ = self.create_call(t(9), "c3", "tA", "tB");
        let _ = self.handle_close(t(10), &1, None);
    }
}

impl Subject for callsig::progress::Client {
    fn seed() -> Self {
        use callsig::progress::{ClientConfig, Role};
        let mut c = Self::new(ClientConfig::new(Role::Callee, "t"));
        c.handle_open(t(0)).unwrap();
        c.handle_frame(t(1), r#"{"messageType":"hello","state":"alerting"}"#);
        c.drain(|_| {});
        c
    }

    fn drive(&mut self) {
        let _ = self.accept(t(2));
        self.handle_frame(t(3), r#"{"messageType":"progress","state":"connecting"}"#);
        let _ = self.media_up(t(4));
    }
}

impl Subject for callsig::wtsp::Server<u32> {
    fn seed() -> Self {
        use callsig::wtsp::{Attach, ServerConfig};
        let mut s = Self::new(ServerConfig::default());
        for (conn, account) in [(1, "alice"), (2, "bob")] {
            s.handle_open(t(0), conn, "/signaling/v1?token=t", &["webtrit-protocol"])
                .unwrap();
            let attach = Attach {
                account: account.into(),
                timestamp: 1_700_000_000_000,
                registration: None,
            };
            s.attach(t(0), &conn, attach).unwrap();
        }
        let _ = s.handle_frame(
            t(1),
            &1,
            r#"{"request":"outgoing_call","transaction":"transaction-1","line":0,"call_id":"k","number":"1","jsep":{"type":"offer","sdp":"v=0"}}"#,
        );
        s.handle_open(t(2), 3, "/signaling/v1?token=t", &["webtrit-protocol"])
            .unwrap();
        s.drain(|_| {});
        s
    }

    fn drive(&mut self) {
        for conn in 1..=3u32 {
            let hangup =
                r#"{"request":"hangup","transaction":"transaction-9","line":0,"call_id":"k"}"#;
            let _ = self.handle_frame(t(5), &conn, hangup);
            let ack = callsig::wtsp::ResponseKind::Ack;
            let _ = self.respond(t(6), &conn, "transaction-1", ack);
        }
        let _ = self.handle_close(t(10), &1, None);
    }
}

impl Subject for callsig::wtsp::Client {
    fn seed() -> Self {
        use callsig::wtsp::{ClientConfig, Jsep, Line, RequestKind};
        let mut c = Self::new(ClientConfig::new("wss://h", "t"));
        c.connect(t(0)).unwrap();
        c.handle_open(t(0)).unwrap();
        c.handle_frame(
            t(1),
            r#"{"handshake":"state","keepalive_interval":30000,"timestamp":1,"registration":{"status":"registered"},"lines":[null,null]}"#,
        );
        let offer = RequestKind::OutgoingCall {
            number: "1".into(),
            jsep: Jsep::offer("v=0"),
            from: None,
            refer_id: None,
            replaces: None,
        };
        c.request(t(2), Some(Line::Index(0)), Some("k".into()), offer)
            .unwrap();
        c.drain(|_| {});
        c
    }

    fn drive(&mut self) {
        self.handle_frame(t(5), r#"{"response":"ack","transaction":"transaction-1"}"#);
        self.handle_frame(t(6), r#"{"event":"accepted","line":0,"call_id":"k"}"#);
        self.handle_close(t(7), None, "");
    }
}

impl Subject for callsig::callapi::Server {
    fn seed() -> Self {
        use callsig::callapi::ServerConfig;
        let mut s = Self::new(ServerConfig::default());
        let _ = s.handle_frame(
            t(0),
            &(),
            r#"{"jsonrpc":"2.0","id":1,"method":"CallStart","params":{"caller":"a","callee":"b","cmd_id":"c1"}}"#,
        );
        let _ = s.handle_frame(
            t(0),
            &(),
            r#"{"jsonrpc":"2.0","id":2,"method":"CallEnd","params":{"callid":"x","cmd_id":"c2"}}"#,
        );
        s.drain(|_| {});
        s
    }

    fn drive(&mut self) {
        let _ = self.notify(t(1), "c1", "CallerAnswered", None);
        let _ = self.end(t(2), "c2");
        let _ = self.handle_frame(
            t(3),
            &(),
            r#"{"jsonrpc":"2.0","id":3,"method":"CallEnd","params":{"callid":"y"}}"#,
        );
    }
}

impl Subject for callsig::callapi::Client {
    fn seed() -> Self {
        use callsig::callapi::{ClientConfig, Command};
        let mut c = Self::new(ClientConfig::default());
        c.start(t(0), &Command::CallEnd { callid: "x".into() })
            .unwrap();
        c.start(t(0), &Command::CallHold { callid: "y".into() })
            .unwrap();
        c.handle_frame(
            t(1),
            r#"{"jsonrpc":"2.0","id":1,"result":{"cmd_id":"cmd-1","event":"Started"}}"#,
        );
        c.drain(|_| {});
        c
    }

    fn drive(&mut self) {
        self.handle_frame(
            t(2),
            r#"{"jsonrpc":"2.0","method":"CallEnd","params":{"cmd_id":"cmd-1","event":"Ended"}}"#,
        );
        self.handle_frame(
            t(3),
            r#"{"jsonrpc":"2.0","id":2,"result":{"cmd_id":"srv","event":"Started"}}"#,
        );
    }
}
