//! Arbitrary inputs and schedules for the WTSP server: no panic, nothing is sent to a
//! connection the machine has closed, and the deadline always moves past `now`.

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use callsig::wtsp::{
    Attach, Message, ResponseKind, Server, ServerConfig, ServerEvent, ServerOutput,
};
use callsig::Timestamp;

use super::settle;

#[derive(Arbitrary, Debug)]
enum Op {
    Open {
        conn: u8,
        url: String,
        protocol: bool,
    },
    Attach {
        conn: u8,
        account: u8,
    },
    Reject {
        conn: u8,
        code: u16,
    },
    Frame {
        conn: u8,
        text: String,
    },
    Respond {
        conn: u8,
        transaction: u8,
        ack: bool,
    },
    Event {
        account: u8,
        text: String,
    },
    Close {
        conn: u8,
    },
    Wait(u16),
}

/// Nothing is sent to a closed connection.
fn check(open: &mut BTreeSet<u8>, o: ServerOutput<u8>) {
    match o {
        ServerOutput::Transmit { conn, .. } => {
            assert!(open.contains(&conn), "sent to a closed connection");
        }
        ServerOutput::Close { conn, .. }
        | ServerOutput::Event(ServerEvent::Closed { conn, .. }) => {
            open.remove(&conn);
        }
        _ => {}
    }
}

pub fn run(data: &[u8]) {
    let Ok(ops) = <Vec<Op> as Arbitrary>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut config = ServerConfig::default();
    config.max_connections = 4;
    config.max_pending_requests = 4;
    let mut s: Server<u8> = Server::new(config);
    let mut open = BTreeSet::new();
    let mut now = 0u64;
    for op in ops {
        let at = Timestamp::from_millis(now);
        match op {
            Op::Open {
                conn,
                url,
                protocol,
            } => {
                let protocols: &[&str] = if protocol { &["webtrit-protocol"] } else { &[] };
                let url = if url.is_empty() {
                    "/signaling/v1?token=t".to_owned()
                } else {
                    url
                };
                if s.handle_open(at, conn % 4, &url, protocols).is_ok() {
                    open.insert(conn % 4);
                }
            }
            Op::Attach { conn, account } => {
                let account = format!("a{}", account % 3);
                let _ = s.attach(
                    at,
                    &(conn % 4),
                    Attach {
                        account,
                        timestamp: now,
                        registration: None,
                    },
                );
            }
            Op::Reject { conn, code } => {
                let _ = s.reject(at, &(conn % 4), code.into(), "");
            }
            Op::Frame { conn, text } => {
                settle::frame(&mut s, at, &(conn % 4), &text);
            }
            Op::Respond {
                conn,
                transaction,
                ack,
            } => {
                let kind = if ack {
                    ResponseKind::Ack
                } else {
                    ResponseKind::Error {
                        code: 486,
                        reason: String::new(),
                    }
                };
                let _ = s.respond(at, &(conn % 4), &format!("transaction-{transaction}"), kind);
            }
            Op::Event { account, text } => {
                if let Ok(Message::Event(e)) = Message::decode(&text) {
                    let _ = s.send_event(at, &format!("a{}", account % 3), e);
                }
            }
            Op::Close { conn } => {
                settle::close(&mut s, at, &(conn % 4), None);
            }
            Op::Wait(dt) => now += u64::from(dt) * 16,
        }
        settle::settle(&mut s, now, |_, o| check(&mut open, o));
    }
}
