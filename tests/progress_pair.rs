//! End-to-end Loop call setup: two parties' clients and the server, in memory, with a
//! virtual clock.

mod common;

use std::time::Duration;

use callsig::progress::{ClientConfig, Outcome, Reason, Role, ServerConfig, State};
use callsig::Timestamp;
use common::progress::LoopNet;

fn ms(n: u64) -> Timestamp {
    Timestamp::from_millis(n)
}

fn party(role: Role, auth: &str) -> ClientConfig {
    let mut c = ClientConfig::new(role, auth);
    c.call_id = Some("c1".into());
    c
}

/// A call created, both parties connected and alerting.
fn alerting(callee: ClientConfig) -> (LoopNet, usize, usize) {
    let mut net = LoopNet::new(ServerConfig::default());
    net.server.create_call(net.now, "c1", "tA", "tB").unwrap();
    let a = net.add(party(Role::Caller, "tA"));
    let b = net.add(callee);
    net.open_call(a, None);
    net.advance_by(100);
    net.open_call(b, None);
    (net, a, b)
}

fn terminated(reason: Reason) -> Option<Outcome> {
    Some(Outcome::Terminated {
        reason: Some(reason),
    })
}

#[test]
fn a_full_call_setup_connects_both_parties() {
    let (mut net, a, b) = alerting(party(Role::Callee, "tB"));
    assert_eq!(net.states(b), [State::Init, State::Alerting]);
    let now = net.now;
    net.peers[b].client.accept(now).unwrap();
    net.settle();
    net.peers[a].client.media_up(now).unwrap();
    net.settle();
    net.peers[b].client.media_up(now).unwrap();
    net.settle();
    for p in [a, b] {
        assert_eq!(net.outcome(p), Some(&Outcome::Connected));
        assert_eq!(
            net.peers[p].conn, None,
            "the server closed every connection"
        );
    }
    // Both parties saw the same states (the caller also saw init before alerting).
    assert_eq!(
        net.states(a),
        [
            State::Init,
            State::Alerting,
            State::Connecting,
            State::HalfConnected,
            State::Connected
        ]
    );
    assert_eq!(net.states(b), net.states(a));
}

#[test]
fn the_supervisory_timer_ends_a_call_the_callee_never_joins() {
    let mut net = LoopNet::new(ServerConfig::default());
    net.server.create_call(net.now, "c1", "tA", "tB").unwrap();
    let a = net.add(party(Role::Caller, "tA"));
    net.open_call(a, None);
    net.advance(ms(9_999));
    assert_eq!(net.outcome(a), None);
    net.advance(ms(10_000));
    assert_eq!(net.outcome(a).cloned(), terminated(Reason::Timeout));
}

#[test]
fn the_ringing_timer_ends_an_unanswered_call() {
    let (mut net, a, b) = alerting(party(Role::Callee, "tB"));
    // The callee said hello at 100: ringing runs until 30 100.
    net.advance(ms(30_099));
    assert_eq!(net.outcome(a), None);
    net.advance(ms(30_100));
    for p in [a, b] {
        assert_eq!(net.outcome(p).cloned(), terminated(Reason::Timeout));
    }
}

#[test]
fn the_connection_timer_ends_a_call_whose_media_never_comes_up() {
    let (mut net, a, b) = alerting(party(Role::Callee, "tB"));
    net.advance(ms(1_000));
    net.peers[b].client.accept(ms(1_000)).unwrap();
    net.settle();
    net.peers[a].client.media_up(ms(1_000)).unwrap();
    net.settle();
    // The caller's own media-setup timer (10 s from its media-up) and the server's
    // connection timer (10 s from accept) fall due together at 11 000; the server's
    // `terminated` or the client's own failure ends the caller's setup, once.
    net.advance(ms(11_000));
    assert_eq!(net.outcome(b).cloned(), terminated(Reason::Timeout));
    assert!(net.outcome(a).is_some());
    assert_eq!(
        net.peers[a]
            .events
            .iter()
            .filter(|e| matches!(e, callsig::progress::ClientEvent::Ended(_)))
            .count(),
        1
    );
}

#[test]
fn the_callee_alerting_timer_terminates_with_timeout() {
    let mut callee = party(Role::Callee, "tB");
    callee.alerting_timeout = Some(Duration::from_secs(5));
    let (mut net, a, b) = alerting(callee);
    net.advance(ms(5_100));
    for p in [a, b] {
        assert_eq!(net.outcome(p).cloned(), terminated(Reason::Timeout));
    }
}

#[test]
fn a_party_leaving_ends_the_call_with_closed() {
    let (mut net, a, b) = alerting(party(Role::Callee, "tB"));
    let conn = net.peers[b].conn.take().unwrap();
    let _ = net.server.handle_close(net.now, &conn, None);
    net.settle();
    assert_eq!(net.outcome(a).cloned(), terminated(Reason::Closed));
}

#[test]
fn a_silent_server_fails_the_setup_after_the_response_timer() {
    let mut net = LoopNet::new(ServerConfig::default());
    net.server.create_call(net.now, "c1", "tA", "tB").unwrap();
    net.up = false;
    let a = net.add(party(Role::Caller, "tA"));
    net.open_call(a, None);
    net.advance(ms(5_000));
    assert!(matches!(net.outcome(a), Some(Outcome::Failed { why }) if why.contains("no response")));
}

#[test]
fn when_one_callee_device_accepts_the_others_are_answered_elsewhere() {
    let (mut net, a, phone) = alerting(party(Role::Callee, "tB"));
    let laptop = net.add(party(Role::Callee, "tB"));
    net.open_call(laptop, None);
    let now = net.now;
    net.peers[laptop].client.accept(now).unwrap();
    net.settle();
    assert_eq!(
        net.outcome(phone).cloned(),
        terminated(Reason::AnsweredElsewhere)
    );
    for p in [a, laptop] {
        net.peers[p].client.media_up(now).unwrap();
        net.settle();
    }
    assert_eq!(net.outcome(a), Some(&Outcome::Connected));
    assert_eq!(net.outcome(laptop), Some(&Outcome::Connected));
}
