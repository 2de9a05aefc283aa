//! WTSP client transitions: feed one input, assert the exact outputs.

use std::time::Duration;

use callsig::wtsp::{
    Client, ClientConfig, ClientEvent, ClientOutput, ClientState, ClientTimer, Line, Message,
    RequestKind, TransactionId, TransactionOutcome,
};
use callsig::CloseCode;
use callsig::{Machine, Timestamp, UsageError};

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// Every output up to and including the deadline.
fn drain(c: &mut Client) -> Vec<ClientOutput> {
    let mut v = Vec::new();
    loop {
        let o = c.poll_output();
        let done = matches!(o, ClientOutput::Timeout(_));
        v.push(o);
        if done {
            return v;
        }
    }
}

const STATE: &str = r#"{"handshake":"state","keepalive_interval":30000,"timestamp":1,"registration":{"status":"registered"},"lines":[null,null]}"#;

fn ready_client() -> Client {
    let mut c = Client::new(ClientConfig::new("wss://h", "t"));
    c.connect(t(0)).unwrap();
    c.handle_open(t(0)).unwrap();
    c.handle_frame(t(0), STATE);
    drain(&mut c);
    c
}

fn hangup() -> RequestKind {
    RequestKind::Hangup
}

fn offer() -> RequestKind {
    RequestKind::OutgoingCall {
        number: "100".into(),
        jsep: callsig::wtsp::Jsep::offer("v=0"),
        from: None,
        refer_id: None,
        replaces: None,
    }
}

#[test]
fn connect_asks_for_a_connection_and_arms_the_handshake_timer() {
    let mut c = Client::new(ClientConfig::new("http://h:8080/", "a b"));
    c.connect(t(5)).unwrap();
    let out = drain(&mut c);
    let [ClientOutput::Connect(req), ClientOutput::Timeout(Some(at))] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(req.url, "ws://h:8080/signaling/v1?token=a%20b&force=false");
    assert_eq!(req.protocols, ["webtrit-protocol"]);
    assert_eq!(*at, t(10_005));
    assert_eq!(c.next_timer(), Some((t(10_005), ClientTimer::Handshake)));
    assert_eq!(c.state(), ClientState::AwaitingOpen);
    assert!(matches!(
        c.connect(t(6)),
        Err(UsageError::WrongState {
            state: "awaiting open",
            ..
        })
    ));
}

#[test]
fn state_makes_the_client_ready_and_arms_the_keepalive() {
    let mut c = Client::new(ClientConfig::new("wss://h", "t"));
    c.connect(t(0)).unwrap();
    c.handle_open(t(1)).unwrap();
    drain(&mut c);
    c.handle_frame(t(2), STATE);
    let out = drain(&mut c);
    assert!(
        matches!(&out[0], ClientOutput::Event(ClientEvent::Ready { reconnected: false, state }) if state.lines.len() == 2)
    );
    assert_eq!(out[1], ClientOutput::Timeout(Some(t(30_002))));
    assert_eq!(c.next_timer(), Some((t(30_002), ClientTimer::Keepalive)));
    assert!(c.lines().is_free(Line::Index(1)));
    assert!(!c.lines().is_free(Line::Index(2)), "no such line");
}

#[test]
fn every_outgoing_message_rearms_the_keepalive() {
    let mut c = ready_client();
    c.request(
        t(10_000),
        None,
        None,
        RequestKind::PresenceUpdate {
            settings: serde_json::json!({}),
        },
    )
    .unwrap();
    let out = drain(&mut c);
    assert_eq!(out.len(), 2);
    // The transaction timer (20 000) is earlier than the re-armed keepalive (40 000).
    assert_eq!(out[1], ClientOutput::Timeout(Some(t(20_000))));
    c.handle_frame(
        t(10_001),
        r#"{"response":"ack","transaction":"transaction-1"}"#,
    );
    let out = drain(&mut c);
    assert_eq!(out.last(), Some(&ClientOutput::Timeout(Some(t(40_000)))));
}

#[test]
fn keepalive_sends_a_transaction_and_a_missing_echo_closes_and_reconnects() {
    let mut c = ready_client();
    c.handle_timeout(t(30_000));
    assert_eq!(
        drain(&mut c),
        [
            ClientOutput::Transmit {
                conn: (),
                text: r#"{"handshake":"keepalive","transaction":"transaction-1"}"#.into()
            },
            ClientOutput::Timeout(Some(t(40_000)))
        ]
    );
    c.handle_timeout(t(40_000));
    assert_eq!(
        drain(&mut c),
        [
            ClientOutput::Close {
                conn: (),
                code: CloseCode::Normal,
                reason: "keepalive timeout".into()
            },
            ClientOutput::Event(ClientEvent::Disconnected {
                code: Some(CloseCode::Normal),
                reason: "keepalive timeout".into(),
                reconnect_at: Some(t(43_000))
            }),
            ClientOutput::Timeout(Some(t(43_000)))
        ]
    );
    // The runtime's own report of that close changes nothing.
    c.handle_close(t(40_001), Some(CloseCode::from(1006)), "");
    assert_eq!(drain(&mut c), [ClientOutput::Timeout(Some(t(43_000)))]);
}

#[test]
fn handle_timeout_is_safe_early_late_and_twice() {
    let mut c = ready_client();
    c.handle_timeout(t(29_999));
    assert_eq!(drain(&mut c), [ClientOutput::Timeout(Some(t(30_000)))]);
    c.handle_timeout(t(35_000));
    let first = drain(&mut c);
    assert_eq!(first.len(), 2);
    c.handle_timeout(t(35_000));
    assert_eq!(drain(&mut c), [ClientOutput::Timeout(Some(t(45_000)))]);
}

#[test]
fn reconnect_backoff_doubles_and_is_bounded() {
    let mut config = ClientConfig::new("wss://h", "t");
    config.reconnect_max_delay = Duration::from_secs(20);
    let mut c = Client::new(config);
    c.connect(t(0)).unwrap();
    let mut now = 0;
    let mut delays = Vec::new();
    for _ in 0..6 {
        drain(&mut c);
        c.handle_close(t(now), Some(CloseCode::from(1006)), "refused");
        let Some(ClientOutput::Event(ClientEvent::Disconnected {
            reconnect_at: Some(at),
            ..
        })) = drain(&mut c).into_iter().next()
        else {
            panic!()
        };
        delays.push(at.as_millis() - now);
        now = at.as_millis();
        c.handle_timeout(at);
    }
    assert_eq!(delays, [3000, 6000, 12000, 20000, 20000, 20000]);
}

#[test]
fn close_4441_reconnects_at_once_and_4201_never() {
    let mut c = ready_client();
    c.handle_close(t(100), Some(CloseCode::from(4441)), "force attach close");
    let out = drain(&mut c);
    assert!(
        matches!(out[0], ClientOutput::Event(ClientEvent::Disconnected { reconnect_at: Some(at), .. }) if at == t(100))
    );
    assert!(matches!(out[1], ClientOutput::Connect(_)));
    c.handle_open(t(101)).unwrap();
    c.handle_frame(t(102), STATE);
    drain(&mut c);
    c.handle_close(t(200), Some(CloseCode::from(4201)), "session missed");
    let out = drain(&mut c);
    assert!(matches!(
        out[0],
        ClientOutput::Event(ClientEvent::Disconnected {
            reconnect_at: None,
            ..
        })
    ));
    assert_eq!(out[1], ClientOutput::Timeout(None));
    assert_eq!(c.state(), ClientState::Idle);
}

#[test]
fn a_request_ends_exactly_once_and_a_late_response_is_only_reported() {
    let mut c = ready_client();
    let tx = c
        .request(t(0), Some(Line::Index(0)), Some("c1".into()), offer())
        .unwrap();
    assert_eq!(tx, "transaction-1");
    drain(&mut c);
    c.handle_timeout(t(10_000));
    let out = drain(&mut c);
    assert_eq!(
        out[0],
        ClientOutput::Event(ClientEvent::TransactionEnded {
            transaction: tx,
            request: "outgoing_call".into(),
            outcome: TransactionOutcome::TimedOut
        })
    );
    assert!(
        c.lines().is_free(Line::Index(0)),
        "a timed-out outgoing_call frees its line"
    );
    c.handle_frame(
        t(10_001),
        r#"{"response":"ack","transaction":"transaction-1"}"#,
    );
    let out = drain(&mut c);
    assert!(
        matches!(&out[0], ClientOutput::Event(ClientEvent::UnmatchedResponse { response }) if response.transaction == tx)
    );
    assert_eq!(out.len(), 2);
}

#[test]
fn a_busy_line_is_refused_locally_and_nothing_is_sent() {
    let mut c = ready_client();
    c.request(t(0), Some(Line::Index(0)), Some("c1".into()), offer())
        .unwrap();
    drain(&mut c);
    let err = c
        .request(t(1), Some(Line::Index(0)), Some("c2".into()), offer())
        .unwrap_err();
    assert_eq!(
        err,
        UsageError::LineBusy {
            line: "0".into(),
            call_id: "c1".into()
        }
    );
    assert_eq!(err.to_string(), "line 0 is busy with call c1");
    assert_eq!(drain(&mut c), [ClientOutput::Timeout(Some(t(10_000)))]);
    let err = c
        .request(t(1), Some(Line::Index(1)), Some("c1".into()), hangup())
        .unwrap_err();
    assert!(matches!(err, UsageError::CallNotOnLine { .. }));
}

#[test]
fn an_error_response_to_outgoing_call_frees_the_line() {
    let mut c = ready_client();
    c.request(t(0), Some(Line::Index(0)), Some("c1".into()), offer())
        .unwrap();
    drain(&mut c);
    assert!(!c.lines().is_free(Line::Index(0)));
    c.handle_frame(
        t(5),
        r#"{"response":"error","transaction":"transaction-1","code":503,"reason":"busy line"}"#,
    );
    let out = drain(&mut c);
    assert_eq!(
        out[0],
        ClientOutput::Event(ClientEvent::TransactionEnded {
            transaction: TransactionId::parse("transaction-1").unwrap(),
            request: "outgoing_call".into(),
            outcome: TransactionOutcome::Error {
                code: 503,
                reason: "busy line".into()
            }
        })
    );
    assert!(c.lines().is_free(Line::Index(0)));
}

#[test]
fn limits_are_enforced() {
    let mut config = ClientConfig::new("wss://h", "t");
    config.max_pending_transactions = 1;
    config.max_frame_len = 10;
    let mut c = Client::new(config.clone());
    c.connect(t(0)).unwrap();
    c.handle_open(t(0)).unwrap();
    drain(&mut c);
    c.handle_frame(t(0), STATE);
    let out = drain(&mut c);
    assert!(
        matches!(&out[0], ClientOutput::Event(ClientEvent::Malformed { error }) if error.contains("exceeds"))
    );
    assert_eq!(c.state(), ClientState::AwaitingState);

    config.max_frame_len = 1 << 20;
    let mut c = Client::new(config);
    c.connect(t(0)).unwrap();
    c.handle_open(t(0)).unwrap();
    c.handle_frame(t(0), STATE);
    drain(&mut c);
    let presence = || RequestKind::PresenceUpdate {
        settings: serde_json::json!({}),
    };
    c.request(t(1), None, None, presence()).unwrap();
    assert!(matches!(
        c.request(t(1), None, None, presence()),
        Err(UsageError::LimitReached {
            what: "pending transactions",
            limit: 1,
            state: "ready"
        })
    ));
}

#[test]
fn checkpoint_and_restore_give_the_same_future() {
    let mut c = ready_client();
    c.request(t(1), Some(Line::Index(0)), Some("c1".into()), offer())
        .unwrap();
    c.handle_frame(t(2), r#"{"event":"ringing","line":0,"call_id":"c1"}"#);
    // Checkpoint with outputs still queued.
    let json = serde_json::to_string(&c).unwrap();
    let mut restored: Client = serde_json::from_str(&json).unwrap();
    assert_eq!(restored, c);
    for machine in [&mut c, &mut restored] {
        machine.handle_frame(t(3), r#"{"response":"ack","transaction":"transaction-1"}"#);
        machine.handle_timeout(t(100_000));
    }
    assert_eq!(drain(&mut c), drain(&mut restored));
}

#[test]
fn a_seeded_first_transaction_numbers_every_request() {
    let mut config = ClientConfig::new("wss://h", "t");
    config.first_transaction = 170_000;
    let mut c = Client::new(config);
    c.connect(t(0)).unwrap();
    drain(&mut c);
    let tx = c
        .request(
            t(0),
            None,
            None,
            RequestKind::PresenceUpdate {
                settings: serde_json::json!({}),
            },
        )
        .unwrap();
    assert_eq!(tx, "transaction-170000");
    c.handle_open(t(1)).unwrap();
    c.handle_frame(t(2), STATE);
    let out = drain(&mut c);
    let ClientOutput::Transmit { text, .. } = &out[1] else {
        panic!("{out:?}")
    };
    let Message::Request(r) = Message::decode(text).unwrap() else {
        panic!()
    };
    assert_eq!(r.transaction, "transaction-170000");
}

/// Zero durations in the config cannot make a timer fire again and again in one call: every
/// timer is armed at least 1 ms ahead, so a timeout always returns with a later deadline.
#[test]
fn zero_durations_never_spin_a_timeout() {
    let mut config = ClientConfig::new("wss://h", "t");
    config.handshake_timeout = std::time::Duration::ZERO;
    config.reconnect_delay = std::time::Duration::ZERO;
    config.reconnect_max_delay = std::time::Duration::ZERO;
    let mut c = Client::new(config);
    c.connect(t(0)).unwrap();
    c.handle_open(t(0)).unwrap();
    let mut now = t(0);
    for _ in 0..10 {
        let deadline = Machine::drain(&mut c, |_| {}).expect("a timer is armed");
        assert!(deadline > now, "{deadline:?} after {now:?}");
        now = deadline;
        c.handle_timeout(now);
        if c.state() == ClientState::AwaitingOpen {
            c.handle_open(now).unwrap();
        }
    }
}
