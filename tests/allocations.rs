//! Heap allocations per step on the hot paths the benchmark measures (`benches/steps.rs`),
//! held as limits so a change that adds one fails here rather than in a later bench run.
//! Counts are exact and do not depend on the machine; the timings stay in the bench.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use callsig::{callapi, progress, wtsp, Timestamp};

struct Counting;

thread_local! {
    // Per thread, so tests running side by side do not count each other.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f`, the most over a few runs after a warm-up (so buffers that
/// grow once do not count, and one that grows every time does).
fn allocations(mut f: impl FnMut()) -> u64 {
    for _ in 0..4 {
        f();
    }
    (0..8)
        .map(|_| {
            let before = ALLOCS.with(Cell::get);
            f();
            ALLOCS.with(Cell::get) - before
        })
        .max()
        .unwrap_or(0)
}

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[test]
fn wtsp_server_keepalive_echo_allocates_only_the_echo() {
    let mut server = wtsp::Server::new(wtsp::ServerConfig::default());
    server
        .handle_open(t(0), 1u32, "/signaling/v1?token=t", &["webtrit-protocol"])
        .unwrap();
    let attach = wtsp::Attach {
        account: "alice".into(),
        timestamp: 1,
        registration: None,
    };
    server.attach(t(0), &1, attach).unwrap();
    while !matches!(server.poll_output(), wtsp::ServerOutput::Timeout(_)) {}
    let frame = r#"{"handshake":"keepalive","transaction":"transaction-123"}"#;
    let mut now = 0;
    let n = allocations(|| {
        now += 1;
        let _ = server.handle_frame(t(now), &1, frame);
        while !matches!(server.poll_output(), wtsp::ServerOutput::Timeout(_)) {}
    });
    assert_eq!(n, 1);
}

#[test]
fn wtsp_client_ack_allocates_nothing() {
    let mut config = wtsp::ClientConfig::new("wss://h", "t");
    config.max_pending_transactions = 1000;
    let mut c = wtsp::Client::new(config);
    c.connect(t(0)).unwrap();
    c.handle_open(t(0)).unwrap();
    c.handle_frame(
        t(0),
        r#"{"handshake":"state","keepalive_interval":30000,"timestamp":1,"registration":{"status":"registered"},"lines":[null]}"#,
    );
    let mut frames = Vec::new();
    for _ in 0..20 {
        let kind = wtsp::RequestKind::PresenceUpdate {
            settings: serde_json::json!({}),
        };
        let tx = c.request(t(0), None, None, kind).unwrap();
        frames.push(format!(r#"{{"response":"ack","transaction":"{tx}"}}"#));
    }
    while !matches!(c.poll_output(), wtsp::ClientOutput::Timeout(_)) {}
    // Frames made up front: taking one allocates nothing.
    let mut frames = frames.into_iter();
    let n = allocations(|| {
        let frame = frames.next().unwrap();
        c.handle_frame(t(1), &frame);
        while !matches!(c.poll_output(), wtsp::ClientOutput::Timeout(_)) {}
    });
    // A response that closes an open transaction is matched on the frame's own strings;
    // the event's transaction id is a number, and its request name moves out of the
    // transaction.
    assert_eq!(n, 0);
}

#[test]
fn loop_server_state_change_allocates_only_its_frames() {
    let mut s: progress::Server<u32> = progress::Server::new(progress::ServerConfig::default());
    let calls = 12u32;
    for i in 0..calls {
        let id = format!("call-{i}");
        let (a, b) = (format!("a{i}"), format!("b{i}"));
        s.create_call(t(0), &id, &a, &b).unwrap();
        for (conn, auth) in [(2 * i, &a), (2 * i + 1, &b)] {
            s.handle_open(t(0), conn, Some(&id)).unwrap();
            let hello = format!(r#"{{"messageType":"hello","auth":"{auth}"}}"#);
            let _ = s.handle_frame(t(0), &conn, &hello);
        }
        let _ = s.handle_frame(
            t(0),
            &(2 * i + 1),
            r#"{"messageType":"action","event":"accept"}"#,
        );
    }
    while !matches!(s.poll_output(), progress::ServerOutput::Timeout(_)) {}
    let mut i = 0;
    let n = allocations(|| {
        let _ = s.handle_frame(
            t(1),
            &(2 * i),
            r#"{"messageType":"action","event":"media-up"}"#,
        );
        while !matches!(s.poll_output(), progress::ServerOutput::Timeout(_)) {}
        i += 1;
    });
    // One `progress` frame per device, each its own copy of the frame written once (in the
    // warm-up); the event's call id is the machine's own shared copy.
    assert_eq!(n, 2);
}

#[test]
fn loop_client_progress_allocates_nothing() {
    let mut c = progress::Client::new(progress::ClientConfig::new(progress::Role::Caller, "t"));
    c.handle_open(t(0)).unwrap();
    c.handle_frame(t(0), r#"{"messageType":"hello","state":"init"}"#);
    while !matches!(c.poll_output(), progress::ClientOutput::Timeout(_)) {}
    let n = allocations(|| {
        c.handle_frame(t(1), r#"{"messageType":"progress","state":"alerting"}"#);
        while !matches!(c.poll_output(), progress::ClientOutput::Timeout(_)) {}
    });
    assert_eq!(n, 0);
}

#[test]
fn call_api_notification_allocates_only_its_events_strings() {
    let mut c = callapi::Client::new(callapi::ClientConfig::default());
    c.start(
        t(0),
        &callapi::Command::CallStart {
            caller: "a".into(),
            callee: "b".into(),
        },
    )
    .unwrap();
    while !matches!(c.poll_output(), callapi::ClientOutput::Timeout(_)) {}
    let frame = r#"{"jsonrpc":"2.0","method":"CallStart","params":{"cmd_id":"cmd-1","event":"CallerAnswered","data":{"caller":"sip:alice@x","callee":"sip:bob@x"}}}"#;
    let n = allocations(|| {
        c.handle_frame(t(1), frame);
        while !matches!(c.poll_output(), callapi::ClientOutput::Timeout(_)) {}
    });
    // The data's caller and callee. The params are read with the message (serde_json
    // allocates a bracket stack to skip a nested object kept as text); the cmd_id is
    // shared and the method a catalog name.
    assert_eq!(n, 2);
}

fn callstart(i: usize) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{i},"method":"CallStart","params":{{"caller":"sip:alice@10.0.0.10","callee":"sip:bob@10.0.0.11","cmd_id":"c{i}"}}}}"#
    )
}

/// Each frame's allocations, fed once each.
fn callstart_allocations(s: &mut callapi::Server, frames: &[String]) -> Vec<u64> {
    frames
        .iter()
        .map(|frame| {
            let before = ALLOCS.with(Cell::get);
            let _ = s.handle_frame(t(1), &(), frame);
            while !matches!(s.poll_output(), callapi::ServerOutput::Timeout(_)) {}
            ALLOCS.with(Cell::get) - before
        })
        .collect()
}

#[test]
fn call_api_callstart_allocates_the_event_and_the_reply() {
    let mut s = callapi::Server::new(callapi::ServerConfig::default());
    let frames: Vec<String> = (0..16).map(callstart).collect();
    let counts = callstart_allocations(&mut s, &frames);
    // Every step, four: the cmd_id (shared by the running map, the timer and the event),
    // the command's caller and callee, and the reply. (The request id is a number held
    // inline; the method name is static.) On a new connection the map, the timer heap and
    // the output queue grow now and then (the first frame creates them).
    let least = counts.iter().min().copied().unwrap_or(0);
    assert_eq!(least, 4, "{counts:?}");
    assert!(counts[0] <= least + 6, "{counts:?}");
    assert!(counts[1..].iter().all(|n| *n <= least + 1), "{counts:?}");
}

#[test]
fn call_api_callstart_on_a_connection_that_has_run_commands_allocates_four() {
    let mut s = callapi::Server::new(callapi::ServerConfig::default());
    // Commands started and ended (in another order than they started) leave the tables
    // grown, and nothing to prune.
    let warm: Vec<String> = (100..164).map(callstart).collect();
    callstart_allocations(&mut s, &warm);
    for i in (100..164).rev() {
        s.end(t(2), &format!("c{i}")).unwrap();
    }
    while !matches!(s.poll_output(), callapi::ServerOutput::Timeout(_)) {}
    let frames: Vec<String> = (0..64).map(callstart).collect();
    let counts = callstart_allocations(&mut s, &frames);
    assert!(counts.iter().all(|n| *n == 4), "{counts:?}");
}

fn ready_wtsp_client(lines: &str) -> wtsp::Client {
    let mut c = wtsp::Client::new(wtsp::ClientConfig::new("wss://h", "t"));
    c.connect(t(0)).unwrap();
    c.handle_open(t(0)).unwrap();
    c.handle_frame(
        t(0),
        &format!(
            r#"{{"handshake":"state","keepalive_interval":30000,"timestamp":1,"registration":{{"status":"registered"}},"lines":{lines}}}"#
        ),
    );
    while !matches!(c.poll_output(), wtsp::ClientOutput::Timeout(_)) {}
    c
}

#[test]
fn wtsp_client_accepted_with_sdp_allocates_only_the_events_strings() {
    let mut c = ready_wtsp_client(r#"[{"call_id":"call-1","call_logs":[]}]"#);
    let sdp =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
    let frame = serde_json::json!({"event": "accepted", "line": 0, "call_id": "call-1",
        "jsep": {"type": "answer", "sdp": sdp}})
    .to_string();
    let n = allocations(|| {
        c.handle_frame(t(1), &frame);
        while !matches!(c.poll_output(), wtsp::ClientOutput::Timeout(_)) {}
    });
    // The event's call id and its jsep's type and SDP, and what building the typed event
    // from the derived reader's fields copies. This frame's members are in name order:
    // the two before the tag are kept as raw text and read after it, in the same pass.
    // (Measured; the budget for frames of this size is on time, not allocations.)
    assert_eq!(n, 7);
}

#[test]
fn wtsp_client_state_handshake_allocates_what_it_hands_over() {
    let mut c = ready_wtsp_client("[null]");
    let jsep = serde_json::json!({"type": "offer", "sdp": "v=0\r\ns=-\r\n"});
    let frame = serde_json::json!({
        "handshake": "state", "keepalive_interval": 30000, "timestamp": 2,
        "registration": {"status": "registered"},
        "lines": [{"call_id": "call-1", "call_logs": [
            [3, {"event": "accepted"}],
            [2, {"request": "accept", "transaction": "transaction-3", "jsep": jsep}],
            [1, {"event": "incoming_call", "caller": "100", "callee": "200", "jsep": jsep}]]}]
    })
    .to_string();
    let n = allocations(|| {
        c.handle_frame(t(1), &frame);
        while !matches!(c.poll_output(), wtsp::ClientOutput::Timeout(_)) {}
    });
    // Handed to the application: the box, the lines, the call id, the log list and each
    // log's text (7). The line model: its lines, the call's id and its offer's caller,
    // callee, jsep type and SDP (6; the logged offer moves into the model). The rest (7)
    // is the replay reading each log's wire shape apart from the frame (no typed message
    // is built): a jsep is read whole (its type and SDP) whether the model keeps it or
    // not, and serde_json's buffers for the logs it reads in readers of their own.
    // Measured; before the replay stopped building typed messages, 12.
    assert_eq!(n, 20);
}
