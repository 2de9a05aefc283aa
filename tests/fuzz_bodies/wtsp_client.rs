//! Arbitrary inputs and schedules for the WTSP client: no panic, the deadline always moves
//! past `now` once due timers have fired, and no transaction ends twice.

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use callsig::wtsp::{
    Client, ClientConfig, ClientEvent, ClientOutput, Jsep, Line, RequestKind, TransactionId,
};
use callsig::Timestamp;

use super::settle;

#[derive(Arbitrary, Debug)]
enum Op {
    Connect,
    Open,
    Close(Option<u16>),
    Frame(String),
    Request {
        kind: u8,
        line: Option<u8>,
        call: u8,
    },
    Disconnect,
    Wait(u16),
}

/// No transaction ends twice.
fn check(ended: &mut BTreeSet<TransactionId>, o: ClientOutput) {
    if let ClientOutput::Event(ClientEvent::TransactionEnded { transaction, .. }) = o {
        assert!(ended.insert(transaction), "a transaction ended twice");
    }
}

pub fn run(data: &[u8]) {
    let Ok(ops) = <Vec<Op> as Arbitrary>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut c = Client::new(ClientConfig::new("wss://h", "t"));
    let mut now = 0u64;
    let mut ended = BTreeSet::new();
    for op in ops {
        let at = Timestamp::from_millis(now);
        match op {
            Op::Connect => {
                let _ = c.connect(at);
            }
            Op::Open => {
                let _ = c.handle_open(at);
            }
            Op::Close(code) => settle::close(&mut c, at, &(), code),
            Op::Frame(f) => settle::frame(&mut c, at, &(), &f),
            Op::Request { kind, line, call } => {
                let kind = match kind % 4 {
                    0 => RequestKind::OutgoingCall {
                        number: "1".into(),
                        jsep: Jsep::offer(""),
                        from: None,
                        refer_id: None,
                        replaces: None,
                    },
                    1 => RequestKind::Hangup,
                    2 => RequestKind::Accept {
                        jsep: Jsep::answer(""),
                    },
                    _ => RequestKind::PresenceUpdate {
                        settings: serde_json::json!({}),
                    },
                };
                let line = line.map(|l| Line::Index(u32::from(l % 4)));
                let _ = c.request(at, line, Some(format!("c{}", call % 3)), kind);
            }
            Op::Disconnect => c.disconnect(at),
            Op::Wait(dt) => now += u64::from(dt) * 16,
        }
        settle::settle(&mut c, now, |_, o| check(&mut ended, o));
    }
}
