//! End-to-end WTSP: a client and a server joined in memory with a virtual clock.

mod common;

use callsig::wtsp::{
    CallPhase, ClientConfig, ClientEvent, ClientState, Jsep, KnownCall, Line, ReconcileAction,
    RequestKind, ServerConfig, ServerEvent, TransactionOutcome,
};
use callsig::CloseCode;
use callsig::Timestamp;
use common::Net;

const CALL: &str = "qwertyuiopasdfghjklzxcvbnm";

fn connected() -> (Net, usize) {
    let mut net = Net::new(ServerConfig::default());
    let c = net.add_client(ClientConfig::new("wss://core.example.com", "tok"));
    let now = net.now;
    net.client(c).connect(now).unwrap();
    net.settle();
    assert_eq!(net.client(c).state(), ClientState::Ready);
    (net, c)
}

fn ended(events: &[ClientEvent]) -> Vec<(String, TransactionOutcome)> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::TransactionEnded {
                request, outcome, ..
            } => Some((request.to_string(), outcome.clone())),
            _ => None,
        })
        .collect()
}

fn phase(net: &mut Net, c: usize) -> Option<CallPhase> {
    net.client(c).lines().get(Line::Index(0)).map(|l| l.phase)
}

#[test]
fn outgoing_call_from_dial_to_hangup() {
    let (mut net, c) = connected();
    let now = net.now;
    let offer = RequestKind::OutgoingCall {
        number: "1234567890".into(),
        jsep: Jsep::offer("v=0"),
        from: None,
        refer_id: None,
        replaces: None,
    };
    net.client(c)
        .request(now, Some(Line::Index(0)), Some(CALL.into()), offer)
        .unwrap();
    net.settle();
    assert_eq!(phase(&mut net, c), Some(CallPhase::Dialing));
    assert_eq!(
        net.server.account_lines("alice").unwrap()[0],
        (Line::Index(0), Some(CALL))
    );
    net.advance_by(50);
    net.server_event(&format!(r#"{{"event":"calling","call_id":"{CALL}"}}"#));
    assert_eq!(phase(&mut net, c), Some(CallPhase::Calling));
    net.advance_by(1000);
    net.server_event(&format!(r#"{{"event":"ringing","call_id":"{CALL}"}}"#));
    assert_eq!(phase(&mut net, c), Some(CallPhase::Ringing));
    net.advance_by(3000);
    net.server_event(&format!(
        r#"{{"event":"accepted","call_id":"{CALL}","jsep":{{"type":"answer","sdp":"v=0"}}}}"#
    ));
    assert_eq!(phase(&mut net, c), Some(CallPhase::Accepted));
    // A minute of conversation: keepalives flow and nothing breaks.
    net.advance_by(60_000);
    assert_eq!(net.client(c).state(), ClientState::Ready);
    let now = net.now;
    net.client(c)
        .request(
            now,
            Some(Line::Index(0)),
            Some(CALL.into()),
            RequestKind::Hangup,
        )
        .unwrap();
    net.settle();
    assert_eq!(phase(&mut net, c), Some(CallPhase::HangingUp));
    net.server_event(&format!(
        r#"{{"event":"hangingup","call_id":"{CALL}","code":200}}"#
    ));
    net.server_event(&format!(
        r#"{{"event":"hangup","call_id":"{CALL}","code":200,"reason":"to BYE"}}"#
    ));
    assert_eq!(phase(&mut net, c), None);
    assert_eq!(
        net.server.account_lines("alice").unwrap()[0],
        (Line::Index(0), None)
    );
    let events = net.peers[c].events.clone();
    assert_eq!(
        ended(&events),
        [
            ("outgoing_call".to_owned(), TransactionOutcome::Ack),
            ("hangup".to_owned(), TransactionOutcome::Ack)
        ]
    );
}

#[test]
fn incoming_call_accepted_then_remote_hangup() {
    let (mut net, c) = connected();
    net.server_event(r#"{"event":"incoming_call","call_id":"in-1","caller":"200","callee":"100","jsep":{"type":"offer","sdp":"v=0"}}"#);
    assert_eq!(phase(&mut net, c), Some(CallPhase::Incoming));
    let now = net.now;
    net.client(c)
        .request(
            now,
            Some(Line::Index(0)),
            Some("in-1".into()),
            RequestKind::Accept {
                jsep: Jsep::answer("v=0"),
            },
        )
        .unwrap();
    net.settle();
    net.server_event(r#"{"event":"accepted","call_id":"in-1"}"#);
    assert_eq!(phase(&mut net, c), Some(CallPhase::Accepted));
    net.server_event(r#"{"event":"hangup","call_id":"in-1","code":200}"#);
    assert_eq!(phase(&mut net, c), None);
}

#[test]
fn keepalive_loss_closes_and_the_client_reconnects() {
    let (mut net, c) = connected();
    net.up = false;
    // Keepalive at 30 s, no echo by 40 s: the client closes and plans a reconnect at 43 s.
    net.advance(Timestamp::from_millis(40_000));
    let last = net.peers[c].events.last().cloned();
    assert!(
        matches!(last, Some(ClientEvent::Disconnected { reconnect_at: Some(at), .. }) if at == Timestamp::from_millis(43_000)),
        "{last:?}"
    );
    // Attempts fail while the network is down; backoff grows.
    net.advance(Timestamp::from_millis(70_000));
    assert_eq!(net.client(c).state(), ClientState::AwaitingReconnect);
    net.up = true;
    net.advance(Timestamp::from_millis(200_000));
    assert_eq!(net.client(c).state(), ClientState::Ready);
    assert!(net.peers[c].events.iter().any(|e| matches!(
        e,
        ClientEvent::Ready {
            reconnected: true,
            ..
        }
    )));
    // The server let the old connection go (the client closed it).
    assert_eq!(net.server.connection_count(), 1);
}

#[test]
fn server_closes_a_silent_connection_with_4502() {
    let mut net = Net::new(ServerConfig::default());
    let mut cfg = ClientConfig::new("wss://h", "t");
    // The client would wait two minutes for its keepalive echo: the server notices first.
    cfg.keepalive_timeout = std::time::Duration::from_secs(120);
    let c = net.add_client(cfg);
    let now = net.now;
    net.client(c).connect(now).unwrap();
    net.settle();
    net.up = false;
    net.advance(Timestamp::from_millis(60_000));
    assert!(net.server_events.iter().any(|e| matches!(
        e,
        ServerEvent::Closed {
            code: Some(CloseCode::KeepaliveTimeout),
            ..
        }
    )));
    let last = net.peers[c].events.last().cloned();
    assert!(
        matches!(last, Some(ClientEvent::Disconnected { code: Some(CloseCode::KeepaliveTimeout), reconnect_at: Some(at), .. }) if at == Timestamp::from_millis(63_000)),
        "{last:?}"
    );
}

#[test]
fn force_takeover_evicts_the_first_device() {
    let (mut net, phone) = connected();
    let mut cfg = ClientConfig::new("wss://h", "tok");
    cfg.force = true;
    let laptop = net.add_client(cfg);
    let now = net.now;
    net.client(laptop).connect(now).unwrap();
    net.settle();
    assert_eq!(net.client(laptop).state(), ClientState::Ready);
    // The phone was closed with 4441, reconnected at once with force=false, and was
    // refused with 4431 because the laptop holds the account.
    let codes: Vec<Option<CloseCode>> = net.peers[phone]
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Disconnected { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(
        codes,
        [
            Some(CloseCode::ForceAttachClose),
            Some(CloseCode::ControllerAttached)
        ]
    );
    assert_eq!(net.client(phone).state(), ClientState::AwaitingReconnect);
    assert_eq!(
        net.server.account_connection("alice"),
        Some(&net.peers[laptop].conn.unwrap())
    );
}

#[test]
fn a_reconnect_restores_the_call_in_progress() {
    let (mut net, c) = connected();
    net.server_event(r#"{"event":"incoming_call","call_id":"in-1","caller":"200","callee":"100"}"#);
    let now = net.now;
    net.client(c)
        .request(
            now,
            Some(Line::Index(0)),
            Some("in-1".into()),
            RequestKind::Accept {
                jsep: Jsep::answer("v=0"),
            },
        )
        .unwrap();
    net.settle();
    net.server_event(r#"{"event":"accepted","call_id":"in-1"}"#);
    // The transport drops under both sides.
    let conn = net.peers[c].conn.take().unwrap();
    let now = net.now;
    let _ = net
        .server
        .handle_close(now, &conn, Some(CloseCode::Abnormal));
    net.client(c)
        .handle_close(now, Some(CloseCode::Abnormal), "");
    net.settle();
    // While it is away the call goes on, and media events are logged.
    net.server_event(r#"{"event":"ice_media","call_id":"in-1","type":"audio","receiving":true}"#);
    net.advance_by(3_000);
    assert_eq!(net.client(c).state(), ClientState::Ready);
    let state = net.peers[c]
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            ClientEvent::Ready {
                reconnected: true,
                state,
            } => Some(state.clone()),
            _ => None,
        })
        .expect("a second Ready");
    let logs = &state.lines[0].as_ref().unwrap().call_logs;
    assert_eq!(logs.len(), 4, "incoming_call, accept, accepted, ice_media");
    assert_eq!(
        logs[0].message.to_value()["event"],
        "ice_media",
        "newest first"
    );
    assert_eq!(
        net.client(c).reconcile(&[KnownCall {
            call_id: "in-1".into()
        }]),
        [ReconcileAction::Restore {
            line: Line::Index(0),
            call_id: "in-1".into(),
            phase: CallPhase::Accepted
        }]
    );
}

#[test]
fn two_forcing_devices_do_not_evict_each_other_forever() {
    let mut net = Net::new(ServerConfig::default());
    let mut cfg = ClientConfig::new("wss://h", "tok");
    cfg.force = true;
    let a = net.add_client(cfg.clone());
    let b = net.add_client(cfg);
    let now = net.now;
    net.client(a).connect(now).unwrap();
    net.settle();
    net.client(b).connect(now).unwrap();
    net.settle();
    net.advance(Timestamp::from_millis(120_000));
    let evictions: usize = net
        .server_events
        .iter()
        .filter(|e| {
            matches!(
                e,
                ServerEvent::Closed {
                    code: Some(CloseCode::ForceAttachClose),
                    ..
                }
            )
        })
        .count();
    assert_eq!(evictions, 1, "only the first takeover evicts");
    assert_eq!(
        net.server.account_connection("alice"),
        net.peers[b].conn.as_ref()
    );
    assert_eq!(net.client(b).state(), ClientState::Ready);
    assert_ne!(net.client(a).state(), ClientState::Ready);
}

/// Large SDPs fill the call logs past what the default client reads in one frame; the
/// default server trims them so the `state` still fits, and the client reconnects instead
/// of refusing the handshake, timing out and trying again for ever.
#[test]
fn call_logs_never_push_the_state_past_what_the_default_client_reads() {
    let (mut net, c) = connected();
    let sdp = |n: usize| format!("v=0\r\n{}", "a=x\r\n".repeat(n));
    let now = net.now;
    let offer = RequestKind::OutgoingCall {
        number: "100".into(),
        jsep: Jsep::offer(sdp(60_000)),
        from: None,
        refer_id: None,
        replaces: None,
    };
    net.client(c)
        .request(now, Some(Line::Index(0)), Some(CALL.into()), offer)
        .unwrap();
    net.settle();
    for _ in 0..5 {
        net.advance_by(10);
        let now = net.now;
        let update = RequestKind::Update {
            jsep: Jsep::offer(sdp(60_000)),
        };
        net.client(c)
            .request(now, Some(Line::Index(0)), Some(CALL.into()), update)
            .unwrap();
        net.settle();
    }
    // About 1.8 MB were logged; the oldest went.
    let trimmed: usize = net
        .server_events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::CallLogsTrimmed { account, dropped } if account == "alice" => {
                Some(*dropped)
            }
            _ => None,
        })
        .sum();
    assert!(trimmed >= 2, "{trimmed}");
    // The connection drops; the client comes back and reads its state.
    net.up = false;
    net.advance_by(40_000);
    net.up = true;
    net.advance_by(120_000);
    assert_eq!(net.client(c).state(), ClientState::Ready);
    let state = net
        .wire
        .iter()
        .rev()
        .find(|l| l.contains(r#"← {"handshake":"state""#))
        .unwrap();
    let frame = &state[state.find('{').unwrap()..];
    assert!(frame.len() <= 1 << 20, "{}", frame.len());
    // The call is still on its line, with what was left of its log.
    assert_eq!(
        net.server.account_lines("alice").unwrap()[0],
        (Line::Index(0), Some(CALL))
    );
    assert!(phase(&mut net, c).is_some());
}
