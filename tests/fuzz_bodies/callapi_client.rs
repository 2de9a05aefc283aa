//! Arbitrary frames, commands and schedules for the Call API client: no panic, every
//! command ends at most once, deadlines that move forward.

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use callsig::callapi::{Client, ClientConfig, ClientEvent, ClientOutput};
use callsig::Timestamp;

use super::settle;

#[derive(Arbitrary, Debug)]
enum Op {
    Command(u8),
    Frame(String),
    Result { id: u8, own: bool },
    Notify { cmd: u8, event: u8, status: bool },
    Close,
    Wait(u16),
}

/// Every command ends at most once.
fn check(ended: &mut BTreeSet<String>, o: ClientOutput) {
    if let ClientOutput::Event(ClientEvent::Ended { cmd_id, .. }) = o {
        assert!(ended.insert(cmd_id.to_string()), "a command ended twice");
    }
}

pub fn run(data: &[u8]) {
    let Ok(ops) = <Vec<Op> as Arbitrary>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut config = ClientConfig::default();
    config.max_commands = 4;
    config.max_early_notifications = 3;
    let mut c = Client::new(config);
    let mut ended = BTreeSet::new();
    let mut now = 0u64;
    for op in ops {
        let at = Timestamp::from_millis(now);
        match op {
            Op::Command(m) => {
                let method = callsig::callapi::METHODS[(m % 7) as usize];
                let _ = c.command(at, method, serde_json::Map::new());
            }
            Op::Frame(f) => settle::frame(&mut c, at, &(), &f),
            Op::Result { id, own } => {
                let cmd = if own {
                    format!("cmd-{}", id % 8)
                } else {
                    format!("s{}", id % 8)
                };
                settle::frame(
                    &mut c,
                    at,
                    &(),
                    &serde_json::json!({"jsonrpc": "2.0", "id": id % 8, "result": {"cmd_id": cmd}})
                        .to_string(),
                );
            }
            Op::Notify { cmd, event, status } => {
                let event = ["Ended", "Error", "Reply", "Started", "X"][(event % 5) as usize];
                let key = if status { "status" } else { "event" };
                let mut params = serde_json::json!({"cmd_id": format!("cmd-{}", cmd % 8)});
                params[key] = serde_json::json!(event);
                settle::frame(
                    &mut c,
                    at,
                    &(),
                    &serde_json::json!({"jsonrpc": "2.0", "method": "CallStart", "params": params})
                        .to_string(),
                );
            }
            Op::Close => settle::close(&mut c, at, &(), None),
            Op::Wait(dt) => now += u64::from(dt) * 64,
        }
        settle::settle(&mut c, now, |_, o| check(&mut ended, o));
    }
}
