//! Loop progress transitions: feed one input, assert the exact outputs.

use callsig::progress::{
    Client, ClientConfig, ClientEvent, ClientOutput, ClientState, ClientTimer, Outcome, Reason,
    Role, Server, ServerConfig, ServerEvent, ServerOutput, ServerTimer, State,
};
use callsig::{Routing, Timestamp, UsageError};

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn drain_server(s: &mut Server<u8>) -> Vec<ServerOutput<u8>> {
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

fn drain_client(c: &mut Client) -> Vec<ClientOutput> {
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

fn tx(conn: u8, text: &str) -> ServerOutput<u8> {
    ServerOutput::Transmit {
        conn,
        text: text.into(),
    }
}

/// A call `c1` with the caller on connection 1 and the callee on 2, alerting.
fn alerting() -> Server<u8> {
    let mut s = Server::new(ServerConfig::default());
    s.create_call(t(0), "c1", "tA", "tB").unwrap();
    for (conn, auth) in [(1, "tA"), (2, "tB")] {
        s.handle_open(t(0), conn, Some("c1")).unwrap();
        let _ = s.handle_frame(
            t(0),
            &conn,
            &format!(r#"{{"messageType":"hello","auth":"{auth}"}}"#),
        );
    }
    drain_server(&mut s);
    s
}

#[test]
fn the_second_partys_hello_gets_init_then_everyone_gets_alerting() {
    let mut s = Server::new(ServerConfig::default());
    s.create_call(t(0), "c1", "tA", "tB").unwrap();
    s.handle_open(t(1), 1, Some("c1")).unwrap();
    let _ = s.handle_frame(t(1), &1, r#"{"messageType":"hello","auth":"tA"}"#);
    drain_server(&mut s);
    s.handle_open(t(2), 2, None).unwrap();
    assert_eq!(
        s.handle_frame(
            t(2),
            &2,
            r#"{"messageType":"hello","auth":"tB","callId":"c1"}"#
        ),
        Routing::Handled
    );
    assert_eq!(
        drain_server(&mut s),
        [
            tx(2, r#"{"messageType":"hello","state":"init"}"#),
            ServerOutput::Event(ServerEvent::Joined {
                conn: 2,
                call_id: "c1".into(),
                role: Role::Callee
            }),
            tx(1, r#"{"messageType":"progress","state":"alerting"}"#),
            tx(2, r#"{"messageType":"progress","state":"alerting"}"#),
            ServerOutput::Event(ServerEvent::StateChanged {
                call_id: "c1".into(),
                state: State::Alerting,
                reason: None
            }),
            ServerOutput::Timeout(Some(t(30_002))),
        ]
    );
    assert_eq!(
        s.next_timer(),
        Some((t(30_002), &ServerTimer::Ringing("c1".into())))
    );
}

#[test]
fn terminate_copies_the_reason_and_closes_everyone() {
    let mut s = alerting();
    let _ = s.handle_frame(
        t(5),
        &2,
        r#"{"messageType":"action","event":"terminate","reason":"reject"}"#,
    );
    let out = drain_server(&mut s);
    assert_eq!(
        out[0],
        tx(
            1,
            r#"{"messageType":"progress","state":"terminated","reason":"reject"}"#
        )
    );
    assert_eq!(
        out[1],
        tx(
            2,
            r#"{"messageType":"progress","state":"terminated","reason":"reject"}"#
        )
    );
    assert!(out.contains(&ServerOutput::Close {
        conn: 1,
        code: callsig::CloseCode::Normal,
        reason: "terminated".into()
    }));
    assert!(out.contains(&ServerOutput::Close {
        conn: 2,
        code: callsig::CloseCode::Normal,
        reason: "terminated".into()
    }));
    assert_eq!(s.connection_count(), 0);
    assert_eq!(*s.call("c1").unwrap().state, State::Terminated);
    assert_eq!(s.call("c1").unwrap().reason, Some(&Reason::Reject));
}

#[test]
fn a_reason_that_is_too_long_or_has_other_characters_is_refused() {
    for reason in ["", "has space", "ünïcode", &"x".repeat(65)] {
        let mut s = alerting();
        let frame =
            serde_json::json!({"messageType": "action", "event": "terminate", "reason": reason})
                .to_string();
        let _ = s.handle_frame(t(5), &2, &frame);
        let out = drain_server(&mut s);
        assert_eq!(
            out[0],
            tx(2, r#"{"messageType":"error","reason":"invalid reason"}"#),
            "{reason:?}"
        );
    }
    let mut s = alerting();
    let frame = serde_json::json!({"messageType": "action", "event": "terminate", "reason": "x".repeat(64)}).to_string();
    let _ = s.handle_frame(t(5), &2, &frame);
    assert!(
        matches!(&drain_server(&mut s)[0], ServerOutput::Transmit { conn: 1, text } if text.contains("terminated"))
    );
}

#[test]
fn server_limits_and_misuse() {
    let mut config = ServerConfig::default();
    config.max_calls = 1;
    let mut s: Server<u8> = Server::new(config);
    s.create_call(t(0), "c1", "a", "b").unwrap();
    assert_eq!(
        s.create_call(t(0), "c1", "a", "b"),
        Err(UsageError::CallExists {
            call_id: "c1".into()
        })
    );
    assert!(matches!(
        s.create_call(t(0), "c2", "a", "b"),
        Err(UsageError::LimitReached { what: "calls", .. })
    ));
    assert_eq!(s.handle_frame(t(0), &9, "{}"), Routing::NotMine);
    assert_eq!(s.handle_close(t(0), &9, None), Routing::NotMine);
}

#[test]
fn server_checkpoint_and_restore_give_the_same_future() {
    let mut s = alerting();
    let _ = s.handle_frame(t(5), &2, r#"{"messageType":"action","event":"accept"}"#);
    let json = serde_json::to_string(&s).unwrap();
    let mut r: Server<u8> = serde_json::from_str(&json).unwrap();
    assert_eq!(r, s);
    for m in [&mut s, &mut r] {
        let _ = m.handle_frame(t(6), &1, r#"{"messageType":"action","event":"media-up"}"#);
        m.handle_timeout(t(100_000));
    }
    assert_eq!(drain_server(&mut s), drain_server(&mut r));
}

#[test]
fn a_restored_server_counts_its_tokens_itself() {
    let s = alerting();
    let json = serde_json::to_string(&s).unwrap();
    // The counts are not in the checkpoint: they are made from the calls.
    assert!(!json.contains("\"tokens\""), "{json}");
    // A checkpoint that brings its own counts (one that would overflow, one that would
    // never reach zero) restores to the same server.
    for forged in [r#"{"tA":4294967295}"#, r#"{"tB":0,"tX":7}"#] {
        let with = json.replacen('{', &format!("{{\"tokens\":{forged},"), 1);
        let mut r: Server<u8> = serde_json::from_str(&with).unwrap();
        assert_eq!(r, s);
        // Calls come and go on the counts made here: nothing overflows or underflows.
        r.terminate_call(t(1), "c1", Reason::Cancel).unwrap();
        r.remove_call(t(2), "c1").unwrap();
        r.create_call(t(3), "c2", "tA", "tB").unwrap();
        r.remove_call(t(4), "c2").unwrap();
        drain_server(&mut r);
    }
}

fn callee() -> Client {
    let mut config = ClientConfig::new(Role::Callee, "tB");
    config.alerting_timeout = Some(std::time::Duration::from_secs(20));
    let mut c = Client::new(config);
    c.handle_open(t(0)).unwrap();
    drain_client(&mut c);
    c
}

#[test]
fn the_hello_answer_stops_the_response_timer_and_alerting_starts_the_alerting_timer() {
    let mut c = callee();
    assert_eq!(c.next_timer(), Some((t(5_000), ClientTimer::Response)));
    c.handle_frame(t(10), r#"{"messageType":"hello","state":"alerting"}"#);
    assert_eq!(
        drain_client(&mut c),
        [
            ClientOutput::Event(ClientEvent::StateChanged {
                state: State::Alerting,
                reason: None
            }),
            ClientOutput::Timeout(Some(t(20_010))),
        ]
    );
    assert_eq!(*c.state(), ClientState::InCall(State::Alerting));
}

#[test]
fn accept_sends_the_action_and_times_the_answer() {
    let mut c = callee();
    c.handle_frame(t(10), r#"{"messageType":"hello","state":"alerting"}"#);
    drain_client(&mut c);
    c.accept(t(100)).unwrap();
    assert_eq!(
        drain_client(&mut c),
        [
            ClientOutput::Transmit {
                conn: (),
                text: r#"{"messageType":"action","event":"accept"}"#.into()
            },
            ClientOutput::Timeout(Some(t(5_100))),
        ]
    );
    // A second accept would make the server fail the call: refused locally.
    assert!(matches!(
        c.accept(t(101)),
        Err(UsageError::WrongState {
            action: "accept",
            ..
        })
    ));
    assert_eq!(
        drain_client(&mut c),
        [ClientOutput::Timeout(Some(t(5_100)))]
    );
}

#[test]
fn the_setup_ends_exactly_once() {
    let mut c = callee();
    c.handle_frame(
        t(10),
        r#"{"messageType":"progress","state":"terminated","reason":"cancel"}"#,
    );
    c.handle_close(t(11), None, "");
    c.handle_timeout(t(100_000));
    let ended: Vec<_> = drain_client(&mut c)
        .into_iter()
        .filter(|o| matches!(o, ClientOutput::Event(ClientEvent::Ended(_))))
        .collect();
    assert_eq!(
        ended,
        [ClientOutput::Event(ClientEvent::Ended(
            Outcome::Terminated {
                reason: Some(Reason::Cancel)
            }
        ))]
    );
}

#[test]
fn client_checkpoint_and_restore_give_the_same_future() {
    let mut c = callee();
    c.handle_frame(t(10), r#"{"messageType":"hello","state":"alerting"}"#);
    let mut r: Client = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(r, c);
    for m in [&mut c, &mut r] {
        m.handle_timeout(t(20_010));
        m.handle_timeout(t(30_000));
    }
    assert_eq!(drain_client(&mut c), drain_client(&mut r));
}
