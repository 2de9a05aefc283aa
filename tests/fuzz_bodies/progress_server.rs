//! Arbitrary inputs and schedules for the Loop server: no panic, nothing sent to a closed
//! connection, every connection of an ended call closed, deadlines that move forward.

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use callsig::progress::{Reason, Server, ServerConfig, ServerEvent, ServerOutput};
use callsig::Timestamp;

use super::settle;

#[derive(Arbitrary, Debug)]
enum Op {
    Create {
        call: u8,
    },
    Open {
        conn: u8,
        call: Option<u8>,
    },
    Hello {
        conn: u8,
        auth: u8,
        call: Option<u8>,
    },
    Action {
        conn: u8,
        event: u8,
        reason: Option<String>,
    },
    Frame {
        conn: u8,
        text: String,
    },
    Close {
        conn: u8,
    },
    Terminate {
        call: u8,
    },
    Remove {
        call: u8,
    },
    Wait(u16),
}

/// Nothing is sent to a closed connection; an ended call keeps no connection.
fn check(s: &Server<u8>, open: &mut BTreeSet<u8>, o: ServerOutput<u8>) {
    match o {
        ServerOutput::Transmit { conn, .. } => {
            assert!(open.contains(&conn), "sent to a closed connection")
        }
        ServerOutput::Close { conn, .. }
        | ServerOutput::Event(ServerEvent::Closed { conn, .. }) => {
            open.remove(&conn);
        }
        ServerOutput::Event(ServerEvent::StateChanged { call_id, state, .. })
            if state.is_final() =>
        {
            // Its connections are closed before the event.
            let left = s
                .call(&call_id)
                .map_or(0, |c| c.devices.iter().map(Vec::len).sum());
            assert_eq!(left, 0, "connections left on an ended call");
        }
        _ => {}
    }
}

pub fn run(data: &[u8]) {
    let Ok(ops) = <Vec<Op> as Arbitrary>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut config = ServerConfig::default();
    config.max_calls = 4;
    config.max_connections = 6;
    config.max_devices_per_party = 2;
    let mut s: Server<u8> = Server::new(config);
    let mut open = BTreeSet::new();
    let mut now = 0u64;
    for op in ops {
        let at = Timestamp::from_millis(now);
        match op {
            Op::Create { call } => {
                let c = call % 5;
                let _ = s.create_call(at, &format!("c{c}"), &format!("a{c}"), &format!("b{c}"));
            }
            Op::Open { conn, call } => {
                let id = call.map(|c| format!("c{}", c % 5));
                if s.handle_open(at, conn % 8, id.as_deref()).is_ok() {
                    open.insert(conn % 8);
                }
            }
            Op::Hello { conn, auth, call } => {
                let who = ["a", "b", "x"][(auth % 3) as usize];
                let mut hello = format!(r#"{{"messageType":"hello","auth":"{who}{}""#, auth % 5);
                if let Some(c) = call {
                    hello.push_str(&format!(r#","callId":"c{}""#, c % 5));
                }
                hello.push('}');
                settle::frame(&mut s, at, &(conn % 8), &hello);
            }
            Op::Action {
                conn,
                event,
                reason,
            } => {
                let event = ["accept", "media-up", "terminate", "other"][(event % 4) as usize];
                let m =
                    serde_json::json!({"messageType": "action", "event": event, "reason": reason});
                settle::frame(&mut s, at, &(conn % 8), &m.to_string());
            }
            Op::Frame { conn, text } => {
                settle::frame(&mut s, at, &(conn % 8), &text);
            }
            Op::Close { conn } => {
                settle::close(&mut s, at, &(conn % 8), None);
            }
            Op::Terminate { call } => {
                let _ = s.terminate_call(at, &format!("c{}", call % 5), Reason::Cancel);
            }
            Op::Remove { call } => {
                let _ = s.remove_call(at, &format!("c{}", call % 5));
            }
            Op::Wait(dt) => now += u64::from(dt) * 16,
        }
        settle::settle(&mut s, now, |s, o| check(s, &mut open, o));
    }
}
