//! WTSP server transitions: feed one input, assert the exact outputs.

use callsig::wtsp::{
    Attach, ConnState, Delivery, Event, EventKind, Line, Message, ResponseKind, Server,
    ServerConfig, ServerEvent, ServerOutput, ServerTimer,
};
use callsig::{CloseCode, Routing};
use callsig::{Timestamp, UsageError};

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

type S = Server<u32>;

fn drain(s: &mut S) -> Vec<ServerOutput<u32>> {
    let mut v = Vec::new();
    loop {
        let o = s.poll_output();
        let done = matches!(o, ServerOutput::Timeout(_));
        v.push(o);
        if done {
            return v;
        }
    }
}

fn attach(account: &str) -> Attach {
    Attach {
        account: account.into(),
        timestamp: 1_700_000_000_000,
        registration: None,
    }
}

fn open(s: &mut S, now: u64, conn: u32, force: bool) {
    let url = format!("/signaling/v1?token=tok&force={force}");
    s.handle_open(t(now), conn, &url, &["webtrit-protocol"])
        .unwrap();
}

fn attached(s: &mut S, conn: u32, account: &str) {
    open(s, 0, conn, false);
    s.attach(t(0), &conn, attach(account)).unwrap();
    drain(s);
}

fn event(kind: EventKind, call_id: &str) -> Event {
    Event {
        transaction: None,
        line: None,
        call_id: Some(call_id.into()),
        kind,
    }
}

fn sent(out: &[ServerOutput<u32>]) -> Vec<(u32, Message)> {
    out.iter()
        .filter_map(|o| match o {
            ServerOutput::Transmit { conn, text } => Some((*conn, Message::decode(text).unwrap())),
            _ => None,
        })
        .collect()
}

#[test]
fn open_reports_authenticate_and_arms_the_idle_timer() {
    let mut s = S::new(ServerConfig::default());
    open(&mut s, 10, 1, true);
    assert_eq!(
        drain(&mut s),
        [
            ServerOutput::Event(ServerEvent::Authenticate {
                conn: 1,
                token: "tok".into(),
                force: true,
                tenant: None
            }),
            ServerOutput::Timeout(Some(t(60_010)))
        ]
    );
    assert_eq!(s.next_timer(), Some((t(60_010), &ServerTimer::Idle(1))));
    assert!(matches!(
        s.connection(&1),
        Some(ConnState::AwaitingAuth { force: true, .. })
    ));
    assert!(matches!(
        s.handle_open(t(11), 1, "/signaling/v1?token=x", &["webtrit-protocol"]),
        Err(UsageError::ConnectionExists { .. })
    ));
}

#[test]
fn force_true_evicts_the_older_connection_with_4441() {
    let mut s = S::new(ServerConfig::default());
    attached(&mut s, 1, "alice");
    open(&mut s, 5, 2, true);
    drain(&mut s);
    s.attach(t(6), &2, attach("alice")).unwrap();
    let out = drain(&mut s);
    assert_eq!(
        out[0],
        ServerOutput::Close {
            conn: 1,
            code: CloseCode::ForceAttachClose,
            reason: "force attach close".into()
        }
    );
    assert!(matches!(
        &out[1],
        ServerOutput::Event(ServerEvent::Closed {
            conn: 1,
            code: Some(CloseCode::ForceAttachClose),
            ..
        })
    ));
    assert!(matches!(&out[2], ServerOutput::Transmit { conn: 2, .. }));
    assert_eq!(s.account_connection("alice"), Some(&2));
    assert_eq!(s.connection_count(), 1);
}

#[test]
fn force_false_is_refused_with_4431_while_another_is_attached() {
    let mut s = S::new(ServerConfig::default());
    attached(&mut s, 1, "alice");
    open(&mut s, 5, 2, false);
    drain(&mut s);
    s.attach(t(6), &2, attach("alice")).unwrap();
    let out = drain(&mut s);
    assert_eq!(
        out[0],
        ServerOutput::Close {
            conn: 2,
            code: CloseCode::ControllerAttached,
            reason: "controller attached".into()
        }
    );
    assert_eq!(s.account_connection("alice"), Some(&1));
}

#[test]
fn every_request_gets_exactly_one_response() {
    let mut s = S::new(ServerConfig::default());
    attached(&mut s, 1, "alice");
    assert_eq!(
        s.handle_frame(
            t(1),
            &1,
            r#"{"request":"presence_update","transaction":"transaction-1","settings":{}}"#
        ),
        Routing::Handled
    );
    drain(&mut s);
    assert_eq!(s.pending_requests(&1), ["transaction-1"]);
    s.respond(t(2), &1, "transaction-1", ResponseKind::Ack)
        .unwrap();
    let out = drain(&mut s);
    assert_eq!(sent(&out).len(), 1);
    assert!(matches!(
        s.respond(t(3), &1, "transaction-1", ResponseKind::Ack),
        Err(UsageError::UnknownTransaction { .. })
    ));
    // Unanswered: the machine answers at the request timeout, once.
    let _ = s.handle_frame(
        t(4),
        &1,
        r#"{"request":"presence_update","transaction":"transaction-2","settings":{}}"#,
    );
    drain(&mut s);
    s.handle_timeout(t(10_004));
    let out = drain(&mut s);
    let msgs = sent(&out);
    assert_eq!(msgs.len(), 1);
    let Message::Response(r) = &msgs[0].1 else {
        panic!()
    };
    assert_eq!(
        r.kind,
        ResponseKind::Error {
            code: 490,
            reason: "request execute timeout".into()
        }
    );
    s.handle_timeout(t(10_004));
    assert_eq!(sent(&drain(&mut s)).len(), 0);
}

#[test]
fn frames_for_unknown_connections_are_not_mine() {
    let mut s = S::new(ServerConfig::default());
    assert_eq!(s.handle_frame(t(0), &9, "{}"), Routing::NotMine);
    assert_eq!(s.handle_close(t(0), &9, None), Routing::NotMine);
    assert_eq!(drain(&mut s), [ServerOutput::Timeout(None)]);
}

#[test]
fn incoming_calls_take_the_first_free_line_then_become_missed_calls() {
    let mut config = ServerConfig::default();
    config.lines = 1;
    let mut s = S::new(config);
    attached(&mut s, 1, "alice");
    let offer = || {
        EventKind::IncomingCall(callsig::wtsp::CallOffer {
            caller: Some("2".into()),
            ..Default::default()
        })
    };
    assert_eq!(
        s.send_event(t(1), "alice", event(offer(), "c1")),
        Ok(Delivery::Sent {
            line: Some(Line::Index(0))
        })
    );
    drain(&mut s);
    assert_eq!(
        s.send_event(t(2), "alice", event(offer(), "c2")),
        Ok(Delivery::Missed)
    );
    let out = drain(&mut s);
    let msgs = sent(&out);
    assert!(
        matches!(&msgs[0].1, Message::Event(Event { kind: EventKind::MissedCall { caller, .. }, line: None, .. }) if caller.as_deref() == Some("2"))
    );
    assert!(
        out.contains(&ServerOutput::Event(ServerEvent::IncomingCallMissed {
            account: "alice".into(),
            call_id: "c2".into()
        }))
    );
    // Hangup frees the line.
    s.send_event(
        t(3),
        "alice",
        event(
            EventKind::Hangup {
                code: Some(200),
                reason: None,
            },
            "c1",
        ),
    )
    .unwrap();
    assert_eq!(s.account_lines("alice").unwrap(), [(Line::Index(0), None)]);
}

#[test]
fn events_for_a_detached_account_are_stored_for_its_next_state() {
    let mut s = S::new(ServerConfig::default());
    attached(&mut s, 1, "alice");
    let _ = s.handle_close(t(10), &1, Some(CloseCode::from(1006)));
    drain(&mut s);
    let offer = EventKind::IncomingCall(Default::default());
    assert_eq!(
        s.send_event(t(20), "alice", event(offer, "c1")),
        Ok(Delivery::Stored {
            line: Some(Line::Index(0))
        })
    );
    open(&mut s, 30, 2, false);
    s.attach(
        t(40),
        &2,
        Attach {
            account: "alice".into(),
            timestamp: 1_000_000,
            registration: None,
        },
    )
    .unwrap();
    let out = drain(&mut s);
    let msgs = sent(&out);
    let Message::Handshake(callsig::wtsp::Handshake::State(state)) = &msgs[0].1 else {
        panic!()
    };
    let line0 = state.lines[0].as_ref().unwrap();
    assert_eq!(line0.call_id.as_deref(), Some("c1"));
    // Logged 20 ms before the attach's wall clock.
    assert_eq!(line0.call_logs[0].timestamp, 1_000_000 - 20);
}

#[test]
fn limits_close_or_refuse_instead_of_growing() {
    let mut config = ServerConfig::default();
    config.max_connections = 1;
    config.max_accounts = 1;
    let mut s = S::new(config);
    attached(&mut s, 1, "alice");
    open(&mut s, 1, 2, false);
    assert_eq!(
        drain(&mut s)[0],
        ServerOutput::Close {
            conn: 2,
            code: CloseCode::TryAgainLater,
            reason: "too many connections".into()
        }
    );
    let _ = s.handle_close(t(2), &1, None);
    open(&mut s, 3, 3, false);
    drain(&mut s);
    // alice is detached and idle: forgotten to make room for bob.
    s.attach(t(4), &3, attach("bob")).unwrap();
    assert_eq!(s.account_connection("bob"), Some(&3));
    assert!(s.account_lines("alice").is_none());
}

#[test]
fn checkpoint_and_restore_give_the_same_future() {
    let mut s = S::new(ServerConfig::default());
    attached(&mut s, 1, "alice");
    let _ = s.handle_frame(t(1), &1, r#"{"request":"outgoing_call","transaction":"transaction-1","line":0,"call_id":"c","number":"1","jsep":{"type":"offer","sdp":"v=0"}}"#);
    let json = serde_json::to_string(&s).unwrap();
    let mut r: S = serde_json::from_str(&json).unwrap();
    assert_eq!(r, s);
    for m in [&mut s, &mut r] {
        m.handle_timeout(t(10_001));
        let _ = m.handle_frame(
            t(10_002),
            &1,
            r#"{"handshake":"keepalive","transaction":"transaction-2"}"#,
        );
        m.handle_timeout(t(200_000));
    }
    assert_eq!(drain(&mut s), drain(&mut r));
}

#[test]
fn an_error_answer_quotes_no_more_than_a_short_excerpt_of_the_frame() {
    let mut s = Server::new(ServerConfig::default());
    attached(&mut s, 1, "alice");
    // A field of the wrong type holding a long string: serde's message quotes the value.
    let long = "x".repeat(20_000);
    let frame = format!(
        r#"{{"request":"hangup","transaction":"transaction-1","line":"{long}","call_id":"c"}}"#
    );
    let _ = s.handle_frame(t(1), &1, &frame);
    let out = drain(&mut s);
    let answers: Vec<String> = out
        .iter()
        .filter_map(|o| match o {
            ServerOutput::Transmit { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(answers.len(), 1, "{out:?}");
    assert!(answers[0].contains("467"), "{}", answers[0]);
    assert!(answers[0].len() < 300, "{} bytes", answers[0].len());
    // Events say no more.
    assert!(format!("{out:?}").len() < 2_000);
}
