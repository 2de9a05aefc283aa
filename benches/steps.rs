//! One *step* per machine — receive one frame, apply it, drain the outputs (the reply is
//! serialised by the machine) — against a floor: serde_json validating the same bytes
//! without building anything (`IgnoredAny`) plus serialising the same reply into a reused
//! buffer. Each case prints one line:
//!
//! `step <machine>/<case> ns=<median> floor_ns=<median> ratio=<ns/floor_ns> allocs=<per step>`
//!
//! then criterion measures the step again for its own report. `cargo bench --bench steps`;
//! `cargo bench --bench steps -- --quick-lines` prints the lines only; `--only <text>`
//! keeps the cases whose name contains it; `--profile <case>` runs one case untimed for a
//! profiler (`valgrind --tool=callgrind`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use callsig::callapi;
use callsig::progress;
use callsig::wtsp;
use callsig::{Machine, Timestamp};
use criterion::Criterion;
use serde::de::IgnoredAny;
use serde_json::{json, Value};

// ---- counting allocator -----------------------------------------------------------------

struct Counting;

// Per thread and without atomics: a locked add on every allocation and free cost about as
// much as the allocation itself on the project machine (three per allocation were a tenth
// of the state handshake's step), which is the harness's cost, not the library's. The
// steps and the scale runs are measured on the main thread. (Const-initialised cells with
// no destructor: reading them from the allocator never allocates.)
thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static LIVE_BYTES: Cell<u64> = const { Cell::new(0) };
}

fn count(allocs: u64, add: usize, sub: usize) {
    let _ = ALLOCS.try_with(|a| a.set(a.get() + allocs));
    let _ = LIVE_BYTES.try_with(|b| b.set((b.get() + add as u64).wrapping_sub(sub as u64)));
}

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

fn live_bytes() -> u64 {
    LIVE_BYTES.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(1, layout.size(), 0);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, 0, layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(1, new_size, layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---- measurement ------------------------------------------------------------------------

/// A benchmark case: a batch of `n` steps, prepared untimed, then run timed.
trait Case {
    /// Prepares a fresh batch (untimed).
    fn prepare(&mut self);
    /// Runs step `i` of the batch.
    fn step(&mut self, i: usize);
    /// Steps per batch.
    fn batch(&self) -> usize;
}

/// Runs one batch of `case`: nanoseconds per step and allocations in the batch.
fn batch(case: &mut dyn Case) -> (f64, u64) {
    let n = case.batch();
    case.prepare();
    let a0 = allocs();
    let t0 = Instant::now();
    for i in 0..n {
        case.step(i);
    }
    let dt = t0.elapsed();
    let allocs = allocs() - a0;
    (dt.as_nanos() as f64 / n as f64, allocs)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// Median nanoseconds per step of `case` and of `floor`, and heap allocations per step of
/// `case`. Batches of the two alternate, so a machine that slows down for a while slows
/// both alike and the ratio stays put.
fn measure(case: &mut dyn Case, floor: &mut dyn Case) -> (f64, f64, f64) {
    // Warm up.
    for _ in 0..3 {
        batch(case);
        batch(floor);
    }
    let (mut steps, mut floors) = (Vec::new(), Vec::new());
    let (mut allocs, mut n) = (0u64, 0u64);
    let started = Instant::now();
    while steps.len() < 15 || (started.elapsed() < Duration::from_millis(1200) && steps.len() < 400)
    {
        let (ns, a) = batch(case);
        steps.push(ns);
        allocs += a;
        n += case.batch() as u64;
        floors.push(batch(floor).0);
    }
    (median(steps), median(floors), allocs as f64 / n as f64)
}

/// The floor: validate the frame with `IgnoredAny`, then serialise the reply into a
/// reused buffer.
struct Floor {
    frame: String,
    reply: Option<Value>,
    buf: Vec<u8>,
}

impl Case for Floor {
    fn prepare(&mut self) {}
    fn step(&mut self, _: usize) {
        let _: IgnoredAny = serde_json::from_str(black_box(&self.frame)).unwrap();
        if let Some(r) = &self.reply {
            self.buf.clear();
            serde_json::to_writer(&mut self.buf, r).unwrap();
        }
        black_box(&self.buf);
    }
    fn batch(&self) -> usize {
        256
    }
}

fn report(name: &str, case: &mut dyn Case, frame: &str, reply: Option<Value>) {
    let mut floor = Floor {
        frame: frame.to_owned(),
        reply,
        buf: Vec::with_capacity(4096),
    };
    let (ns, floor_ns, allocs) = measure(case, &mut floor);
    println!(
        "step {name} ns={ns:.0} floor_ns={floor_ns:.0} ratio={:.2} allocs={allocs:.2}",
        ns / floor_ns
    );
}

// ---- WTSP ------------------------------------------------------------------------------

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// The drain rule, for any machine: every output is looked at (and dropped).
fn drain<M: Machine>(m: &mut M) {
    black_box(m.drain(|o| {
        black_box(o);
    }));
}

const KEEPALIVE: &str = r#"{"handshake":"keepalive","transaction":"transaction-123"}"#;

struct WtspKeepalive {
    server: wtsp::Server<u64>,
}

impl WtspKeepalive {
    fn new() -> Self {
        let mut server = wtsp::Server::new(wtsp::ServerConfig::default());
        server
            .handle_open(t(0), 1, "/signaling/v1?token=t", &["webtrit-protocol"])
            .unwrap();
        let attach = wtsp::Attach {
            account: "alice".into(),
            timestamp: 1,
            registration: None,
        };
        server.attach(t(0), &1, attach).unwrap();
        drain(&mut server);
        WtspKeepalive { server }
    }
}

impl Case for WtspKeepalive {
    fn prepare(&mut self) {}
    fn step(&mut self, i: usize) {
        let _ = self
            .server
            .handle_frame(t(i as u64), &1, black_box(KEEPALIVE));
        drain(&mut self.server);
    }
    fn batch(&self) -> usize {
        256
    }
}

fn ready_client(lines: &str) -> wtsp::Client {
    let mut config = wtsp::ClientConfig::new("wss://h", "t");
    config.max_pending_transactions = 100_000;
    let mut c = wtsp::Client::new(config);
    c.connect(t(0)).unwrap();
    c.handle_open(t(0)).unwrap();
    c.handle_frame(t(0), &format!(r#"{{"handshake":"state","keepalive_interval":30000,"timestamp":1,"registration":{{"status":"registered"}},"lines":{lines}}}"#));
    drain(&mut c);
    c
}

struct WtspAck {
    client: wtsp::Client,
    frames: Vec<String>,
}

impl Case for WtspAck {
    fn prepare(&mut self) {
        self.client = ready_client("[null]");
        self.frames.clear();
        for _ in 0..self.batch() {
            let kind = wtsp::RequestKind::PresenceUpdate {
                settings: json!({}),
            };
            let tx = self.client.request(t(0), None, None, kind).unwrap();
            self.frames
                .push(format!(r#"{{"response":"ack","transaction":"{tx}"}}"#));
        }
        drain(&mut self.client);
    }
    fn step(&mut self, i: usize) {
        self.client.handle_frame(t(1), black_box(&self.frames[i]));
        drain(&mut self.client);
    }
    fn batch(&self) -> usize {
        256
    }
}

fn sdp() -> String {
    let mut s = String::from(
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n",
    );
    s.push_str("m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n");
    while s.len() < 1500 {
        s.push_str("a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host generation 0\r\n");
    }
    s
}

struct WtspAccepted {
    client: wtsp::Client,
    frame: String,
}

impl Case for WtspAccepted {
    fn prepare(&mut self) {}
    fn step(&mut self, _: usize) {
        self.client.handle_frame(t(1), black_box(&self.frame));
        drain(&mut self.client);
    }
    fn batch(&self) -> usize {
        256
    }
}

struct WtspState {
    client: wtsp::Client,
    frame: String,
}

impl Case for WtspState {
    fn prepare(&mut self) {}
    fn step(&mut self, _: usize) {
        self.client.handle_frame(t(1), black_box(&self.frame));
        drain(&mut self.client);
    }
    fn batch(&self) -> usize {
        64
    }
}

fn state_frame() -> String {
    let log = |ts: u64, m: Value| json!([ts, m]);
    let jsep = json!({"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"});
    json!({
        "handshake": "state", "keepalive_interval": 30000, "timestamp": 1700000000000u64,
        "registration": {"status": "registered"},
        "lines": [
            {"call_id": "call-1", "call_logs": [
                log(1700000000300, json!({"event": "accepted"})),
                log(1700000000200, json!({"request": "accept", "transaction": "transaction-3", "jsep": jsep})),
                log(1700000000100, json!({"event": "incoming_call", "caller": "100", "callee": "200", "jsep": jsep}))]},
            {"call_id": "call-2", "call_logs": [
                log(1700000000500, json!({"event": "ringing"})),
                log(1700000000400, json!({"event": "calling"})),
                log(1700000000350, json!({"request": "outgoing_call", "transaction": "transaction-4", "number": "300", "jsep": jsep}))]},
            null
        ]
    })
    .to_string()
}

// ---- Loop ------------------------------------------------------------------------------

struct LoopMediaUp {
    server: progress::Server<u32>,
}

const MEDIA_UP: &str = r#"{"messageType":"action","event":"media-up"}"#;

impl Case for LoopMediaUp {
    fn prepare(&mut self) {
        let mut s = progress::Server::new(progress::ServerConfig::default());
        for i in 0..self.batch() as u32 {
            let id = format!("call-{i}");
            let (a, b) = (format!("a{i}"), format!("b{i}"));
            s.create_call(t(0), &id, &a, &b).unwrap();
            for (conn, auth) in [(2 * i, &a), (2 * i + 1, &b)] {
                s.handle_open(t(0), conn, Some(&id)).unwrap();
                let _ = s.handle_frame(
                    t(0),
                    &conn,
                    &format!(r#"{{"messageType":"hello","auth":"{auth}"}}"#),
                );
            }
            let _ = s.handle_frame(
                t(0),
                &(2 * i + 1),
                r#"{"messageType":"action","event":"accept"}"#,
            );
        }
        drain(&mut s);
        self.server = s;
    }
    fn step(&mut self, i: usize) {
        let _ = self
            .server
            .handle_frame(t(1), &(2 * i as u32), black_box(MEDIA_UP));
        drain(&mut self.server);
    }
    fn batch(&self) -> usize {
        256
    }
}

const PROGRESS: &str = r#"{"messageType":"progress","state":"alerting"}"#;

struct LoopProgress {
    client: progress::Client,
}

impl Case for LoopProgress {
    fn prepare(&mut self) {}
    fn step(&mut self, _: usize) {
        self.client.handle_frame(t(1), black_box(PROGRESS));
        drain(&mut self.client);
    }
    fn batch(&self) -> usize {
        256
    }
}

// ---- Call API --------------------------------------------------------------------------

struct CallStartRequest {
    server: callapi::Server,
    frames: Vec<String>,
}

impl Case for CallStartRequest {
    fn prepare(&mut self) {
        if self.frames.is_empty() {
            for i in 0..2 * self.batch() {
                self.frames.push(format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"CallStart","params":{{"caller":"sip:alice@10.0.0.10","callee":"sip:bob@10.0.0.11","cmd_id":"c{i}"}}}}"#));
            }
        }
        // A connection past its first commands: as many as a batch starts have run and
        // ended, so its tables have grown (a new connection's first commands grow them).
        let mut s = callapi::Server::new(callapi::ServerConfig::default());
        for frame in &self.frames[self.batch()..] {
            let _ = s.handle_frame(t(0), &(), frame);
        }
        for i in self.batch()..2 * self.batch() {
            s.end(t(0), &format!("c{i}")).unwrap();
        }
        drain(&mut s);
        self.server = s;
    }
    fn step(&mut self, i: usize) {
        self.server
            .handle_frame(t(1), &(), black_box(&self.frames[i]));
        drain(&mut self.server);
    }
    fn batch(&self) -> usize {
        256
    }
}

const NOTIFICATION: &str = r#"{"jsonrpc":"2.0","method":"CallStart","params":{"cmd_id":"cmd-1","event":"CallerAnswered","data":{"caller":"sip:alice@x","callee":"sip:bob@x"}}}"#;

struct CallApiNotification {
    client: callapi::Client,
}

impl Case for CallApiNotification {
    fn prepare(&mut self) {}
    fn step(&mut self, _: usize) {
        self.client.handle_frame(t(1), black_box(NOTIFICATION));
        drain(&mut self.client);
    }
    fn batch(&self) -> usize {
        256
    }
}

// ---- scale -----------------------------------------------------------------------------

/// Median ns of `f` over a few thousand calls.
fn median_ns(mut f: impl FnMut()) -> f64 {
    let mut samples = Vec::with_capacity(64);
    for _ in 0..64 {
        let t0 = Instant::now();
        for _ in 0..64 {
            f();
        }
        samples.push(t0.elapsed().as_nanos() as f64 / 64.0);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// 100 000 idle WTSP server connections, each attached to its own account.
fn scale_wtsp(n: u64) {
    let before = live_bytes();
    let mut config = wtsp::ServerConfig::default();
    config.max_connections = n as usize + 1;
    config.max_accounts = n as usize + 1;
    let mut server: wtsp::Server<u64> = wtsp::Server::new(config);
    for i in 0..n {
        let now = t(i / 100);
        server
            .handle_open(now, i, "/signaling/v1?token=t", &["webtrit-protocol"])
            .unwrap();
        let attach = wtsp::Attach {
            account: format!("account-{i}"),
            timestamp: 1,
            registration: None,
        };
        server.attach(now, &i, attach).unwrap();
        drain(&mut server);
    }
    let bytes = (live_bytes() - before) / n;
    let idle = median_ns(|| {
        black_box(server.poll_output());
    });
    // One connection's idle timer firing, among n armed ones: re-arm it and fire it.
    let mut k = 0u64;
    let timer = median_ns(|| {
        k += 1;
        let _ = server.handle_frame(t(0), &(k % n), KEEPALIVE);
        drain(&mut server);
    });
    println!("scale wtsp-server sessions={n} bytes_per_session={bytes} idle_poll_ns={idle:.0} timer_ns={timer:.0}");
}

/// 100 000 Loop calls waiting for their parties.
fn scale_progress(n: u64) {
    let before = live_bytes();
    let mut config = progress::ServerConfig::default();
    config.max_calls = n as usize + 1;
    config.supervisory = Duration::from_secs(3600);
    let mut server: progress::Server<u32> = progress::Server::new(config);
    for i in 0..n {
        server
            .create_call(
                t(0),
                &format!("call-{i}"),
                &format!("a{i}"),
                &format!("b{i}"),
            )
            .unwrap();
    }
    drain(&mut server);
    let bytes = (live_bytes() - before) / n;
    let idle = median_ns(|| {
        black_box(server.poll_output());
    });
    // A timer among n armed ones: a call created and its supervisory timer fired.
    let mut k = 0u64;
    let timer = median_ns(|| {
        k += 1;
        let id = format!("extra-{k}");
        let _ = server.create_call(t(0), &id, "x", "y");
        let _ = server.terminate_call(t(0), &id, progress::Reason::Cancel);
        let _ = server.remove_call(t(0), &id);
        drain(&mut server);
    });
    println!("scale progress-server sessions={n} bytes_per_session={bytes} idle_poll_ns={idle:.0} timer_ns={timer:.0}");
}

// ---- main ------------------------------------------------------------------------------

/// A named case with the frame and reply its floor uses.
struct Named(&'static str, Box<dyn Case>, String, Option<Value>);

fn cases() -> Vec<Named> {
    let mut v: Vec<Named> = Vec::new();
    v.push(Named(
        "wtsp-server/keepalive-echo",
        Box::new(WtspKeepalive::new()),
        KEEPALIVE.into(),
        Some(json!({"handshake": "keepalive", "transaction": "transaction-123"})),
    ));
    v.push(Named(
        "wtsp-client/ack",
        Box::new(WtspAck {
            client: ready_client("[null]"),
            frames: Vec::new(),
        }),
        r#"{"response":"ack","transaction":"transaction-100"}"#.into(),
        None,
    ));
    let mut client = ready_client("[null]");
    let offer = wtsp::RequestKind::OutgoingCall {
        number: "1".into(),
        jsep: wtsp::Jsep::offer("v=0"),
        from: None,
        refer_id: None,
        replaces: None,
    };
    client
        .request(
            t(0),
            Some(wtsp::Line::Index(0)),
            Some("call-1".into()),
            offer,
        )
        .unwrap();
    drain(&mut client);
    let accepted = json!({"event": "accepted", "line": 0, "call_id": "call-1", "jsep": {"type": "answer", "sdp": sdp()}}).to_string();
    v.push(Named(
        "wtsp-client/accepted-sdp",
        Box::new(WtspAccepted {
            client,
            frame: accepted.clone(),
        }),
        accepted,
        None,
    ));
    let state = state_frame();
    v.push(Named(
        "wtsp-client/state-3-lines",
        Box::new(WtspState {
            client: ready_client("[null,null,null]"),
            frame: state.clone(),
        }),
        state,
        None,
    ));
    v.push(Named(
        "progress-server/media-up",
        Box::new(LoopMediaUp {
            server: progress::Server::new(progress::ServerConfig::default()),
        }),
        MEDIA_UP.into(),
        Some(json!({"messageType": "progress", "state": "half-connected"})),
    ));
    let mut pc = progress::Client::new(progress::ClientConfig::new(progress::Role::Caller, "t"));
    pc.handle_open(t(0)).unwrap();
    pc.handle_frame(t(0), r#"{"messageType":"hello","state":"init"}"#);
    drain(&mut pc);
    v.push(Named(
        "progress-client/progress",
        Box::new(LoopProgress { client: pc }),
        PROGRESS.into(),
        None,
    ));
    v.push(Named(
        "callapi-server/callstart",
        Box::new(CallStartRequest { server: callapi::Server::new(callapi::ServerConfig::default()), frames: Vec::new() }),
        r#"{"jsonrpc":"2.0","id":100,"method":"CallStart","params":{"caller":"sip:alice@10.0.0.10","callee":"sip:bob@10.0.0.11","cmd_id":"c100"}}"#.into(),
        Some(json!({"jsonrpc": "2.0", "id": 100, "result": {"cmd_id": "c100", "event": "Started"}})),
    ));
    let mut cc = callapi::Client::new(callapi::ClientConfig::default());
    cc.start(
        t(0),
        &callapi::Command::CallStart {
            caller: "a".into(),
            callee: "b".into(),
        },
    )
    .unwrap();
    drain(&mut cc);
    v.push(Named(
        "callapi-client/notification",
        Box::new(CallApiNotification { client: cc }),
        NOTIFICATION.into(),
        None,
    ));
    v
}

/// `--profile <case>`: run only that case's steps, untimed, for a profiler such as
/// `valgrind --tool=callgrind` (the floor runs too when the name ends in `:floor`).
fn profile(which: &str) {
    let (name, floor) = match which.strip_suffix(":floor") {
        Some(n) => (n, true),
        None => (which, false),
    };
    for Named(n, mut case, frame, reply) in cases() {
        if n != name {
            continue;
        }
        let mut f = Floor {
            frame,
            reply,
            buf: Vec::with_capacity(4096),
        };
        let case: &mut dyn Case = if floor { &mut f } else { case.as_mut() };
        for _ in 0..20 {
            case.prepare();
            for i in 0..case.batch() {
                case.step(i);
            }
        }
        // For turning a profiler's totals into a cost per step.
        eprintln!("profiled steps={}", 20 * case.batch());
        return;
    }
    panic!("no case named {name}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        profile(&args[i + 1]);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick-lines");
    // `--only <text>`: only the cases whose name contains it, and no scale runs.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .map(|i| args[i + 1].clone());
    for Named(name, mut case, frame, reply) in cases() {
        if only.as_ref().is_none_or(|o| name.contains(o.as_str())) {
            report(name, case.as_mut(), &frame, reply);
        }
    }
    if only.is_some() {
        return;
    }
    scale_wtsp(100_000);
    scale_progress(100_000);
    if quick {
        return;
    }
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for Named(name, mut case, _, _) in cases() {
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let n = case.batch() as u64;
                let mut done = 0;
                while done < iters {
                    case.prepare();
                    let k = n.min(iters - done);
                    let t0 = Instant::now();
                    for i in 0..k as usize {
                        case.step(i);
                    }
                    total += t0.elapsed();
                    done += k;
                }
                total
            })
        });
    }
    c.final_summary();
}
