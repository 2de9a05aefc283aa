//! Arbitrary frames, application calls and schedules for the Call API server: no panic,
//! nothing sent for a command after its `Ended`, deadlines that move forward.

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use callsig::callapi::{Server, ServerConfig, ServerOutput};
use callsig::Timestamp;

use super::settle;

#[derive(Arbitrary, Debug)]
enum Op {
    Frame(String),
    Command { method: u8, cmd: u8, id: bool },
    Notify { cmd: u8, event: String },
    Fail { cmd: u8 },
    End { cmd: u8 },
    Close,
    Wait(u16),
}

/// Nothing is sent for a command after its `Ended`.
fn check(ended: &mut BTreeSet<String>, o: ServerOutput) {
    if let ServerOutput::Transmit { text, .. } = o {
        let v: serde_json::Value = serde_json::from_str(&text).expect("the server writes JSON");
        let p = &v["params"];
        if let (Some(c), Some(e)) = (p["cmd_id"].as_str(), p["event"].as_str()) {
            assert!(!ended.contains(c), "{e} after Ended");
            if e == "Ended" {
                ended.insert(c.to_owned());
            }
        }
    }
}

pub fn run(data: &[u8]) {
    let Ok(ops) = <Vec<Op> as Arbitrary>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut config = ServerConfig::default();
    config.max_running = 3;
    let mut s = Server::new(config);
    let mut ended = BTreeSet::new();
    let mut now = 0u64;
    for op in ops {
        let at = Timestamp::from_millis(now);
        match op {
            Op::Frame(f) => settle::frame(&mut s, at, &(), &f),
            Op::Command { method, cmd, id } => {
                let method = callsig::callapi::METHODS[(method % 7) as usize];
                let cmd = format!("c{}", cmd % 4);
                if !s.running().any(|(r, _)| r == cmd) {
                    ended.remove(&cmd);
                }
                let mut m = serde_json::json!({"jsonrpc": "2.0", "method": method, "params": {
                    "caller": "a", "callee": "b", "callid": "x", "callidA": "a", "callidB": "b",
                    "leg": "caller", "legA": "caller", "legB": "callee", "destination": "d", "cmd_id": cmd}});
                if id {
                    m["id"] = serde_json::json!(1);
                }
                settle::frame(&mut s, at, &(), &m.to_string());
            }
            Op::Notify { cmd, event } => {
                let _ = s.notify(at, &format!("c{}", cmd % 4), &event, None);
            }
            Op::Fail { cmd } => {
                let _ = s.fail(at, &format!("c{}", cmd % 4), "500");
            }
            Op::End { cmd } => {
                let _ = s.end(at, &format!("c{}", cmd % 4));
            }
            Op::Close => settle::close(&mut s, at, &(), None),
            Op::Wait(dt) => now += u64::from(dt) * 16,
        }
        settle::settle(&mut s, now, |_, o| check(&mut ended, o));
    }
}
